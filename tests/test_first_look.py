"""The first frame's quick look: the Overview's numbers over the last 24 h of what the store holds, read before
the first refresh, without checking any Parquet log (a file not checked yet is read with its rules applied per
row), and computed by a forked helper while the UI starts. Its numbers equal a hand count over the files and
the full snapshot's; a model seen only before the window joins with the full snapshot.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from console.config import Config, LogSource
from console.service import Service
from console.ui.app import ConsoleApp
from console.ui.first_look import FirstLook
from console.ui.messages import SnapshotReady
from ui_fixtures import until

SRC = str(Path(__file__).resolve().parents[1] / "src")  # the child imports the code under test, as this process does

NOW = datetime(2026, 11, 25, 12, 0)


def _day(rng, day: datetime, n: int, models: list[str]) -> pl.DataFrame:
    ts = [day + timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, 86_400, n))]
    latency = rng.gamma(2.0, 40.0, n)
    latency[rng.choice(n, 5, replace=False)] = np.nan  # refused: "latency_ms is not finite"
    model = rng.choice(models, n).astype(object)
    model[rng.choice(n, 3, replace=False)] = None  # refused: "missing model"
    return pl.DataFrame({
        "ts": pl.Series(ts, dtype=pl.Datetime("us")), "model": model.tolist(), "version": ["3"] * n,
        "request_id": [f"{day:%d}-{i}" for i in range(n)],
        "environment": rng.choice(["production", "staging"], n, p=[0.8, 0.2]).tolist(),
        "latency_ms": latency, "status": rng.choice([200, 200, 200, 503], n).tolist(),
        "cost_usd": rng.uniform(0, 0.01, n)})


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Hive-partitioned Parquet logs: `legacy` only three days before NOW, two models in the last two days."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    rng = np.random.default_rng(8)
    frames = []
    for day, models in ((datetime(2026, 11, 22), ["legacy"]), (datetime(2026, 11, 24), ["fraud", "eta"]),
                        (datetime(2026, 11, 25), ["fraud", "eta"])):
        frame = _day(rng, day, 4000, models)
        if day.day == 25:
            frame = frame.filter(pl.col("ts") <= NOW)
        folder = tmp_path / "logs" / f"date={day:%Y-%m-%d}"
        folder.mkdir(parents=True)
        frame.write_parquet(folder / "part-0.parquet")
        frames.append(frame)
    cfg = Config(source=tmp_path / "console.toml", root=tmp_path,
                 logs=(LogSource("predictions", str(tmp_path / "logs"), "parquet"),))
    return cfg, pl.concat(frames)


def _expected(rows: pl.DataFrame) -> dict:
    """The Overview's numbers by hand: kept rows only (model present, latency finite), window (now-24h, now]."""
    kept = rows.filter(pl.col("model").is_not_null() & pl.col("latency_ms").is_finite())
    out = {}
    for (model, env), g in kept.group_by(["model", "environment"]):
        day = g.filter((pl.col("ts") > NOW - timedelta(hours=24)) & (pl.col("ts") <= NOW))
        hour = day.filter(pl.col("ts") > NOW - timedelta(hours=1))
        if day.height == 0:
            continue
        lat = hour["latency_ms"].to_numpy()
        out[(model, env)] = {
            "requests": day.height, "requests_1h": hour.height,
            "p95": float(np.percentile(lat, 95)) if len(lat) else None,
            "errors": float((hour["status"] >= 500).mean()) if hour.height else None,
            "cost": float(day.filter(pl.col("ts") >= datetime(2026, 11, 25))["cost_usd"].sum())}
    return out


def _numbers(snap) -> dict:
    return {(r.name, r.environment): {"requests": r.requests, "requests_1h": r.requests_1h, "p95": r.p95_latency_ms,
                                      "errors": r.error_rate, "cost": r.cost_usd}
            for r in snap.rows}


def _assert_equal(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for key, w in want.items():
        for name, value in w.items():
            assert got[key][name] == pytest.approx(value, rel=1e-9, abs=1e-12), (key, name)


def test_quick_look_reads_the_window_without_checking_the_logs(workspace):
    cfg, rows = workspace
    svc = Service(cfg, clock=lambda: NOW)
    try:
        quick = svc.snapshot(refresh=False, quick=True, wait_for_registry=False, monitoring=False)
        assert not (svc.warehouse.dir / "inplace-facts.json").exists()  # no Parquet log was scanned to check it
        want = _expected(rows)
        _assert_equal(_numbers(quick), want)
        assert not any(r.name == "legacy" for r in quick.rows)  # seen only before the window: not yet listed

        full = svc.snapshot(wait_for_registry=False, monitoring=False)
        assert (svc.warehouse.dir / "inplace-facts.json").exists()  # the refresh checked every file
        got = _numbers(full)
        legacy = {k: v for k, v in got.items() if k[0] == "legacy"}
        assert set(legacy) == {("legacy", "production"), ("legacy", "staging")}
        assert all(v["requests"] == 0 for v in legacy.values())
        _assert_equal({k: v for k, v in got.items() if k[0] != "legacy"}, want)
        assert full.malformed == rows.filter(pl.col("model").is_null() | pl.col("latency_ms").is_nan()).height
    finally:
        svc.close()


HELPER = """
import pickle, sys
from datetime import datetime
from console.config import Config, LogSource
from console.ui.first_look import FirstLook
cfg = Config(source=sys.argv[1], root=sys.argv[2], logs=(LogSource("predictions", sys.argv[3], "parquet"),))
look = FirstLook.start(cfg, clock=lambda: datetime.fromisoformat(sys.argv[4]))
assert look is not None  # as `ui.run` calls it: nothing loaded yet that a fork would break
snap = look.result(timeout=120)
# the answer is read here, in the UI's process, without the store's libraries (they would delay the first frame)
heavy = {"duckdb", "pyarrow", "numpy", "polars", "console.service", "console.warehouse"} & set(sys.modules)
assert not heavy, heavy
sys.stdout.buffer.write(pickle.dumps(snap))
"""


def test_the_helper_process_answers_the_same_quick_look(workspace):
    import os
    import pickle
    import subprocess
    import sys

    cfg, _ = workspace
    assert FirstLook.start(cfg, clock=lambda: NOW) is None  # this process has DuckDB and Polars loaded: no fork
    out = subprocess.run([sys.executable, "-c", HELPER, str(cfg.source), str(cfg.root), cfg.logs[0].path,
                          NOW.isoformat()], capture_output=True, env=dict(os.environ, PYTHONPATH=SRC), timeout=300,
                         check=True)
    got = pickle.loads(out.stdout)  # noqa: S301 - written by the test's own child
    svc = Service(cfg, clock=lambda: NOW)
    try:
        here = svc.snapshot(refresh=False, quick=True, wait_for_registry=False, monitoring=False)
    finally:
        svc.close()
    assert got is not None and got.rows == here.rows and got.counts == here.counts


class HeldService(Service):
    """The real service; a refreshing snapshot waits for `gate`, so the quick look is seen while it is held."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()

    def snapshot(self, refresh: bool = True, **kwargs):
        if refresh:
            self.gate.wait(120)
        return super().snapshot(refresh=refresh, **kwargs)


def test_the_first_frame_is_the_quick_look_then_the_full_list(workspace):
    cfg, rows = workspace
    svc = HeldService(cfg, clock=lambda: NOW)
    messages: list = []

    async def run() -> None:
        app = ConsoleApp(cfg, service=svc, poll=False)  # (no helper here: the app reads the quick look itself)
        async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
            await until(pilot, lambda: app.snapshot is not None, "the quick look")
            assert not svc.gate.is_set()  # the refresh is still held: this frame is the helper's
            _assert_equal(_numbers(app.snapshot), _expected(rows))
            svc.gate.set()
            await until(pilot, lambda: any(r.name == "legacy" for r in app.snapshot.rows), "the full list")

    try:
        asyncio.run(run())
    finally:
        svc.gate.set()
        svc.close()
    ready = [m for m in messages if isinstance(m, SnapshotReady)]
    assert ready[0].first and not ready[-1].first


def test_an_answer_that_is_not_a_snapshot_is_refused_and_a_snapshot_taken():
    import os
    import pickle
    import subprocess
    from datetime import datetime as dt

    from console.snapshot import ModelRow, RegistryState, Snapshot

    snap = Snapshot(workspace="w", now=dt(2026, 11, 25, 12), registry=RegistryState("connecting"),
                    rows=(ModelRow("m", "production", True, None, {}, "", 1.0, 10, 2, 3.5, 0.1, "-", None, 0),),
                    malformed=0, counts={"predictions": 10, "last_prediction": dt(2026, 11, 25, 11)},
                    logs_configured=True)
    for answer, want in ((snap, snap), (pytest.approx, None), (Config(source=None, root=Path(".")), None)):
        r, w = os.pipe()
        os.write(w, pickle.dumps(answer))
        os.close(w)
        child = subprocess.Popen(["true"])  # (the helper it stands for: reaped by `result`)
        assert FirstLook(child.pid, r).result(timeout=10) == want
