"""An operator's seventh pass (qa7): logs built from sklearn's bundled datasets and numpy, written as a real
team writes them (pandas' Parquet, CSV, JSONL), run through the installed command, each number checked
against a direct computation over the files the test wrote.

- A Hive Parquet log written by pandas from float seconds holds nanosecond timestamps that are not whole
  microseconds; pyarrow turns such a row-group statistic into a datetime only when pandas happens to be
  imported, and the console does not import pandas, so every command died with "ValueError: Nanosecond
  resolution temporal type ... is not safely convertible to microseconds".
- A store whose disk filled while a refresh wrote into it made every command exit 4 ("OSError: [Errno 28]
  Error writing bytes to file"); and a store that could not be written at all (a read-only home) was replaced
  by a temporary one without a word to the operator (the note existed, nothing printed it).
- The text form of `fairness` printed each segment's counts and none of its metrics, and `quality` the
  window's counts and not its accuracy: a nested record was dropped from the text (JSON had them).
- `--from 2026-07-01 --to 2026-08-01` left out a row at exactly 2026-07-01T00:00:00 and took one at
  2026-08-01T00:00:00, while `--window 2026-07` did the opposite, both saying "from 2026-07-01T00:00:00Z"; the
  README gives them as the same window. --from/--to is now [from, to), as a calendar period.
- `ack` on a console with logs and no registry exited 4 ("no registry configured"): an acknowledgement is an
  audit record, but the action orchestrator was made with the registry, so a known incident kept a cron
  `check` exiting 1 with no way to say it was known.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
T0_NS = 1_781_913_600_000_000_000  # 2026-06-20T00:00:00Z


def _cli(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def _ns_parquet(tmp: Path, days: int = 3, per_day: int = 400) -> tuple[Path, np.ndarray, np.ndarray]:
    """Hive Parquet as pandas writes it: ts timestamp[ns, UTC], times at random nanoseconds (float seconds)."""
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    rng = np.random.default_rng(3)
    all_ts, all_lat = [], []
    for d in range(days):
        ts = np.sort(T0_NS + d * 86_400_000_000_000
                     + (rng.uniform(0, 86_400, per_day) * 1e9).astype(np.int64)) + 123  # never whole us
        rows = rng.integers(0, len(data.target), per_day)
        lat = rng.lognormal(4.0, 0.3, per_day)
        table = pa.table({"ts": pa.array(ts, pa.timestamp("ns", tz="UTC")),
                          "model": ["diabetes-reg"] * per_day, "version": ["1"] * per_day,
                          "request_id": [f"r{d}-{i}" for i in range(per_day)],
                          "bmi": data.data[rows, 2], "prediction": [str(v) for v in data.target[rows]],
                          "latency_ms": lat, "status": ["ok"] * per_day})
        folder = tmp / "logs" / f"date=2026-06-{20 + d:02d}"
        folder.mkdir(parents=True)
        pq.write_table(table, folder / "part-0.parquet")
        all_ts.append(ts)
        all_lat.append(lat)
    cfg = tmp / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "logs/"\nformat = "parquet"\n'
                   '[models.diabetes-reg]\ntask = "regression"\nfeatures = ["bmi"]\n[store]\npath = "store"\n')
    return cfg, np.concatenate(all_ts), np.concatenate(all_lat)


def test_nanosecond_parquet_is_read(tmp_path):
    cfg, ts, lat = _ns_parquet(tmp_path)
    out = _cli(cfg, "snapshot", "--at", "latest", "--format", "json")
    assert out.returncode == 0, out.stderr
    snap = json.loads(out.stdout)
    (row,) = snap["models"]
    newest = ts.max()
    assert snap["counts"]["predictions"] == len(ts)
    assert row["requests"] == int(((ts > newest - 86_400 * 10**9) & (ts <= newest)).sum())
    last_hour = (ts > newest - 3_600 * 10**9) & (ts <= newest)
    assert row["requests_1h"] == int(last_hour.sum())
    assert abs(row["p95_latency_ms"] - float(np.percentile(lat[last_hour], 95))) < 1e-9


def _jsonl_workspace(tmp: Path, store: str, n: int = 20_000) -> tuple[Path, np.ndarray]:
    """breast_cancer's rows as a JSONL prediction log of `n` rows, one a minute, ending 2026-07-20."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    rng = np.random.default_rng(5)
    rows = rng.integers(0, len(data.target), n)
    lat = rng.lognormal(3.5, 0.4, n)
    first = datetime(2026, 7, 20) - timedelta(minutes=n)
    with open(tmp / "pred.jsonl", "w") as fh:
        for i in range(n):
            fh.write(json.dumps({"ts": f"{first + timedelta(minutes=i):%Y-%m-%dT%H:%M:%S}Z", "model": "cancer",
                                 "version": "2", "request_id": f"r{i}",
                                 "features": {"radius": float(data.data[rows[i], 0])},
                                 "latency_ms": float(lat[i]), "status": "ok"}) + "\n")
    cfg = tmp / "mlops-console.toml"
    cfg.write_text(f'[[logs]]\nkind = "predictions"\npath = "pred.jsonl"\n[store]\npath = "{store}"\n')
    return cfg, lat


def _agrees(out: subprocess.CompletedProcess, n: int) -> None:
    assert out.returncode == 0, out.stderr
    snap = json.loads(out.stdout)
    assert snap["counts"]["predictions"] == n and snap["models"][0]["requests"] == 1440, snap["counts"]
    assert "cannot be written" in out.stderr and "working in a temporary store" in out.stderr, out.stderr


def test_a_store_that_cannot_be_created_says_so(tmp_path):
    (tmp_path / "home").write_text("a file where the store's folder would be")
    cfg, _ = _jsonl_workspace(tmp_path, str(tmp_path / "home" / "store"), n=3000)
    _agrees(_cli(cfg, "snapshot", "--at", "latest", "--format", "json"), 3000)


def test_a_disk_that_fills_during_the_refresh(tmp_path):
    """A real full disk: a 256 KiB tmpfs holds the store's skeletons and its first files, not 20,000 rows."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        cfg, _ = _jsonl_workspace(tmp_path, str(disk / "store"))
        for command in ("snapshot", "check"):
            out = _cli(cfg, command, "--at", "latest", "--format", "json")
            if command == "snapshot":
                _agrees(out, 20_000)
            else:
                assert out.returncode in (0, 1) and "No space left" in out.stderr, out.stderr
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_fairness_and_quality_text_carry_the_metrics(tmp_path):
    """breast_cancer through a logistic regression, a channel segment, every label logged an hour later."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    x, y = load_breast_cancer(return_X_y=True)
    pred = LogisticRegression(max_iter=5000).fit(x[:, :3], y).predict(x[:, :3])
    rng = np.random.default_rng(11)
    channel = rng.choice(["web", "app", "partner_api"], len(y))
    first = datetime(2026, 7, 4)
    with open(tmp_path / "pred.jsonl", "w") as fh, open(tmp_path / "labels.csv", "w") as lab:
        lab.write("request_id,label,ts\n")
        for i in range(len(y)):
            t = first + timedelta(minutes=2 * i)
            fh.write(json.dumps({"ts": f"{t:%Y-%m-%dT%H:%M:%S}Z", "model": "cancer", "version": "1",
                                 "request_id": f"r{i}", "radius": float(x[i, 0]), "channel": channel[i],
                                 "prediction": str(pred[i]), "latency_ms": 20.0, "status": "ok"}) + "\n")
            lab.write(f"r{i},{y[i]},{t + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z\n")
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "pred.jsonl"\n[[logs]]\nkind = "labels"\n'
                   'path = "labels.csv"\n[models.cancer]\nfeatures = ["radius"]\nsegments = ["channel"]\n'
                   '[store]\npath = "store"\n')
    # 2026-07-04 and 05 hold every row (569 rows two minutes apart); --window 2026-W27 is 29 June to 5 July
    out = _cli(cfg, "fairness", "cancer", "--window", "2026-W27")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    header = next(ln for ln in lines if ln.strip().startswith("COLUMN"))
    assert "ACCURACY" in header.split(), header
    col = header.split().index("ACCURACY")
    for group in ("web", "app", "partner_api"):
        (row,) = [ln.split() for ln in lines if ln.split()[:2] == ["channel", group]]
        sel = channel == group
        assert row[col] == f"{float((pred[sel] == y[sel]).mean()):.4g}", (group, row)
    out = _cli(cfg, "quality", "cancer", "--window", "2026-W27")
    assert out.returncode == 0, out.stderr
    (now,) = [ln for ln in out.stdout.splitlines() if ln.startswith("now: ")]
    assert f"accuracy={float((pred == y).mean()):.4g}" in now and f"n={len(y)}," in now, now


def test_from_to_is_the_calendar_period_at_its_edges(tmp_path):
    """Rows on the edges of July, to the microsecond; wine's alcohol as latency so each row is known."""
    from sklearn.datasets import load_wine

    alcohol = load_wine().data[:7, 0]
    edges = ["2026-06-30T23:59:59.999999Z", "2026-07-01T00:00:00Z", "2026-07-01T00:00:00.000001Z",
             "2026-07-15T12:00:00Z", "2026-07-31T23:59:59.999999Z", "2026-08-01T00:00:00Z", "2026-08-01T00:00:01Z"]
    with open(tmp_path / "pred.jsonl", "w") as fh:
        for i, ts in enumerate(edges):
            fh.write(json.dumps({"ts": ts, "model": "wine", "version": "1", "request_id": f"r{i}",
                                 "latency_ms": float(alcohol[i]), "status": "ok"}) + "\n")
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "pred.jsonl"\n[store]\npath = "store"\n')
    july = alcohol[1:5]  # 2026-07-01T00:00:00 up to 2026-07-31T23:59:59.999999
    got = {}
    for args in (("--window", "2026-07"), ("--from", "2026-07-01", "--to", "2026-08-01"),
                 ("--from", "2026-07-01T00:00:00Z", "--to", "2026-08-01T00:00:00Z")):
        out = _cli(cfg, "health", "wine", *args, "--format", "json")
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        (row,) = data["table"]
        assert row["requests"] == len(july), (args, row)
        assert row["p50_ms"] == pytest.approx(float(np.percentile(july, 50)), rel=1e-12), args
        got[args] = (data["window"], data["from"], data["to"])
    assert len(set(got.values())) == 1, got
    out = _cli(cfg, "health", "wine", "--from", "2026-07-01T00:00:00.000001Z", "--to", "2026-07-31T23:59:59.999999Z",
               "--format", "json")
    assert json.loads(out.stdout)["table"][0]["requests"] == 2, out.stdout  # [.000001, 23:59:59.999999)


def test_ack_without_a_registry(tmp_path):
    """A p95 rule over latencies drawn from diabetes' targets (all above 25 ms): it fires; `ack` records it in
    the audit trail with no registry configured, and `check` then exits 0 on it."""
    from sklearn.datasets import load_diabetes

    target = load_diabetes().target
    first = datetime(2026, 7, 19)
    with open(tmp_path / "pred.jsonl", "w") as fh:
        for i, y in enumerate(target):
            fh.write(json.dumps({"ts": f"{first + timedelta(seconds=30 * i):%Y-%m-%dT%H:%M:%S}Z", "model": "diab",
                                 "version": "1", "request_id": f"r{i}", "latency_ms": float(y),
                                 "status": "ok"}) + "\n")
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "pred.jsonl"\n[store]\npath = "store"\n'
                   '[audit]\npath = "audit/audit.jsonl"\n[[alerts]]\nname = "slow"\nmetric = "p95_ms"\nop = ">"\n'
                   'threshold = 20\nwindow = "1h"\nseverity = "critical"\n')
    at = ("--at", "2026-07-19T03:00Z")
    out = _cli(cfg, "check", *at, "--format", "json")
    assert out.returncode == 1, out.stderr
    (slow,) = [i for i in json.loads(out.stdout)["incidents"] if i["rule"] == "slow" and i["firing"]]
    ack = _cli(cfg, *at, "ack", slow["id"], "--reason", "known: batch scoring")
    assert ack.returncode == 0, ack.stderr
    records = [json.loads(ln) for ln in (tmp_path / "audit" / "audit.jsonl").read_text().splitlines()]
    assert [(r["phase"], r["incident"]) for r in records] == [("ack", slow["id"])]
    again = _cli(cfg, "check", *at, "--format", "json")
    assert again.returncode == 0, again.stdout
