"""One rule for what an hourly rollup keeps (`rollup_spec`), whoever builds the hour: hours written by the
`rollup` command (local engine and Spark) are read by the console as they are (it builds nothing), and a
0/1 flag and a few-valued float feature, counted by value because their drift test compares counts, give
the same category keys, counts and scores as hours the console builds itself.

The log is four days of one model as Parquet by day: `x` (float32-exact, normed Wasserstein on KLL
sketches), `flag` (int64 0/1), `level` (four float values, 1e7 and 1e16 among them, whose text differs
between Java and Polars), `vip` (boolean) and `c` (text). The reference holds the same columns.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.spatial import distance

from console import rollup_sources, rollup_spec
from console import store_rollups as ro
from console.cli import main
from console.config import parse_file
from console.service import Service

START = datetime(2026, 5, 1)
END = datetime(2026, 5, 5)
NOW = datetime(2026, 5, 4, 17, 23)  # mid-hour: a partial first hour and an open hour from raw rows
SPAN = timedelta(hours=72)
LEVELS = [0.0, 2.5, 1e7, 1e16]
LEVEL_KEYS = ["0.0", "2.5", "10000000.0", "1e+16"]  # the text of each float value, as the keys are written
COUNTED = ("flag", "level", "vip", "c")


def _f32(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32).astype(np.float64)


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    """(folder with logs/ and reference.parquet, every logged row as columns, the reference columns)."""
    root = tmp_path_factory.mktemp("rollup-spec")
    rng = np.random.default_rng(17)
    rows: dict[str, list] = {k: [] for k in ("ts", "x", "flag", "level", "vip", "c")}
    for day in range(4):
        n = 3000
        ts = [START + timedelta(days=day, seconds=int(s)) for s in np.sort(rng.integers(0, 86400, n))]
        cols = {"x": _f32(rng.normal(0.1 * day, 1, n)),
                "flag": (rng.random(n) < 0.3 + 0.05 * day).astype(np.int64),
                "level": rng.choice(LEVELS, n, p=[0.4, 0.3, 0.2, 0.1] if day < 2 else [0.3, 0.3, 0.2, 0.2]),
                "vip": rng.random(n) < 0.1 + 0.02 * day,
                "c": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])}
        path = root / "logs" / f"date={(START + timedelta(days=day)).date()}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({
            "ts": pa.array(ts, pa.timestamp("us")), "model": ["m"] * n, "version": ["1"] * n,
            "environment": ["production"] * n, "request_id": [f"d{day}-{i}" for i in range(n)],
            "latency_ms": np.full(n, 20.0), "prediction": ["1"] * n, **cols}), path)
        rows["ts"].extend(ts)
        for k, v in cols.items():
            rows[k].extend(list(v))
    ref = {"x": _f32(rng.normal(0, 1, 5000)), "flag": (rng.random(5000) < 0.3).astype(np.int64),
           "level": rng.choice(LEVELS, 5000, p=[0.4, 0.3, 0.2, 0.1]), "vip": rng.random(5000) < 0.1,
           "c": rng.choice(["a", "b", "c"], 5000, p=[0.5, 0.3, 0.2])}
    pq.write_table(pa.table(ref), root / "reference.parquet")
    return root, {k: np.array(v) for k, v in rows.items()}, ref


def _workspace(src: Path, dest: Path) -> Path:
    """A copy of the logs and the reference with its own store; the config's path."""
    dest.mkdir(parents=True)
    shutil.copytree(src / "logs", dest / "logs")
    shutil.copy(src / "reference.parquet", dest)
    config = dest / "console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n'
                      '[models.m]\ntask = "classification"\nreference = "reference.parquet"\n'
                      'features = ["x", "flag", "level", "vip", "c"]\n'
                      '[rollups]\nmin_rows = 0\n', encoding="utf-8")  # read from the rollups, as a large fleet is
    return config


def _drift(config: Path) -> tuple[dict, dict, list]:
    """The console's 72 h drift (feature -> ColumnDrift), the window's merged counts, what it built."""
    svc = Service(parse_file(config), clock=lambda: NOW)
    try:
        svc.refresh()
        report = svc.drift("m", "72h", series=False, target=False)
        sd = svc.monitor.sketch_drift
        cur = sd.current("m", NOW - SPAN, NOW, "production", sd.spec("m"), list(COUNTED))
        return {c.column: c for c in report.dataset.columns}, cur.counts, list(sd.built)
    finally:
        svc.close()


@pytest.fixture(scope="module")
def self_built(log, tmp_path_factory):
    """The console's scores over hours it built itself from its store."""
    root, _, _ = log
    scores, counts, built = _drift(_workspace(root, tmp_path_factory.mktemp("self") / "ws"))
    assert built and min(s for _, s, _ in built) == datetime(2026, 5, 1, 18)  # the window's first whole hour
    return scores, counts


def _hand_counts(rows: dict) -> dict[str, dict[str, int]]:
    keep = (rows["ts"] > np.datetime64(NOW - SPAN)) & (rows["ts"] <= np.datetime64(NOW))
    flag, level, vip, c = (rows[k][keep] for k in ("flag", "level", "vip", "c"))
    return {"flag": {"0.0": int((flag == 0).sum()), "1.0": int((flag == 1).sum())},
            "level": {key: int((level == v).sum()) for v, key in zip(LEVELS, LEVEL_KEYS)},
            "vip": {"0.0": int((~vip).sum()), "1.0": int(vip.sum())},
            "c": {k: int((c == k).sum()) for k in ("a", "b", "c")}}


def _check_read_as_built(log, self_built, config: Path) -> None:
    root, rows, ref = log
    scores, counts, built = _drift(config)
    assert built == []  # every closed hour of the window came from the command's files
    mine, their_counts = self_built
    hand = _hand_counts(rows)
    for f in COUNTED:
        assert counts[f] == their_counts[f] == {k: v for k, v in hand[f].items() if v}, f
        assert scores[f].method == "sketch" and scores[f].bound == 0, f
        assert scores[f].score == pytest.approx(mine[f].score, rel=1e-12, abs=1e-15), f
        assert scores[f].n_cur == mine[f].n_cur == sum(hand[f].values()), f
    # the flag's score equals scipy's Jensen-Shannon over the hand counts (the exact engine's test by value)
    assert scores["flag"].test == "jensenshannon"
    n = len(ref["flag"])
    shares = [np.array([(ref["flag"] == 0).sum(), (ref["flag"] == 1).sum()]) / n,
              np.array([hand["flag"]["0.0"], hand["flag"]["1.0"]]) / sum(hand["flag"].values())]
    assert scores["flag"].score == pytest.approx(distance.jensenshannon(*shares), rel=1e-9)
    # x is sketched on both sides: KLL is randomised, so two builds agree within their bounds
    assert scores["x"].n_cur == mine["x"].n_cur
    assert abs(scores["x"].score - mine["x"].score) <= scores["x"].bound + mine["x"].bound


def _rollup(config: Path, *engine: str) -> None:
    assert main(["rollup", "--config", str(config), "--since", START.isoformat(), "--until", END.isoformat(),
                 *engine]) == 0


def test_the_command_and_the_console_decide_one_spec(log, tmp_path):
    root, _, _ = log
    config = _workspace(root, tmp_path / "ws")
    cfg = parse_file(config)
    schema = rollup_sources.open_all(rollup_sources.sources(cfg.logs))[0].schema
    spec = rollup_spec.specs(cfg.models, schema)["m"]
    assert spec.numeric == ("x",) and spec.categorical == ("flag", "level", "vip", "c")
    assert spec.by_value == ("flag", "level", "vip")
    svc = Service(cfg, clock=lambda: NOW)
    try:
        assert svc.monitor.sketch_drift.spec("m") == spec
    finally:
        svc.close()
    # without a reference the log's types decide: the int64 flag is a number, the boolean is counted as text
    plain = rollup_spec.spec(cfg.models["m"], None, rollup_spec.feature_columns(schema))
    assert plain.numeric == ("x", "flag", "level") and plain.categorical == ("vip", "c") and plain.by_value == ()


def test_category_keys_are_the_float_value_whatever_the_logged_type():
    import polars as pl

    for values in ([0, 1, None], [0.0, 1.0, float("nan")], [False, True, None], ["0", "1.0", "x"], [-0.0, 1.0, None]):
        got = ro.category_text(pl.Series("v", values), by_value=True).to_list()
        assert got == ["0.0", "1.0", None], values
    assert ro.category_text(pl.Series("v", [1, 2]), by_value=False).to_list() == ["1", "2"]


def test_hours_the_rollup_command_built_are_read_as_they_are(log, self_built, tmp_path):
    root, _, _ = log
    config = _workspace(root, tmp_path / "ws")
    _rollup(config)
    files = list((tmp_path / "ws" / "store" / "rollups" / "m").glob("*.parquet"))
    assert files and all({"cat__flag", "cat__level", "num__x"} <= set(pq.read_schema(f).names)
                         and "num__flag" not in pq.read_schema(f).names for f in files)
    _check_read_as_built(log, self_built, config)


def test_hours_the_spark_rollup_built_are_read_as_they_are(log, self_built, tmp_path):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    root, _, _ = log
    config = _workspace(root, tmp_path / "ws")
    _rollup(config, "--engine", "spark", "--master", "local[1]")
    _check_read_as_built(log, self_built, config)
