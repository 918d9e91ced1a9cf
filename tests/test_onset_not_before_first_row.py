"""An incident's onset is never before the log's first row. A model whose log starts already failing (or already
drifted) breaches in its first window with evidence, and with no change point inside it the onset was that window's
start (rates: `change_point`'s fallback) or the grid point before it (drift): 06:00 for a log starting at 06:20, 12:00
for one starting at 13:20, a time no row was logged at. The onset is now the first row of evidence, on the raw path
and from rollups. Hand-placed first rows; the onsets checked against them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console.cli import main

AT = "2026-03-10T12:00Z"
RATE_FIRST = datetime(2026, 3, 10, 6, 20, 18)  # the first of 200 requests an hour from 06:20, every 12th failing
DRIFT_FIRST = datetime(2026, 3, 9, 13, 20)  # the first of a row a minute from 13:20, x 3 standard deviations off
ROLLUPS = ["", "[rollups]\nmin_rows = 10\n"]


def _write(tmp: Path, rows: list[dict], extra: str, model: str) -> Path:
    (tmp / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n' + extra + model)
    return cfg


def _incidents(cfg: Path, capsys, kind: str) -> list[dict]:
    main(["--config", str(cfg), "--at", AT, "check", "--all", "--format", "json"])
    return [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["kind"] == kind]


def _onset(i: dict) -> datetime:
    return datetime.fromisoformat(i["onset"].rstrip("Z"))


@pytest.mark.parametrize("extra", ROLLUPS, ids=["raw", "rollups"])
def test_a_log_failing_from_its_first_row(tmp_path, capsys, extra):
    rows = [{"ts": f"{RATE_FIRST + timedelta(seconds=18 * i):%Y-%m-%dT%H:%M:%S}Z", "model": "m", "version": "1",
             "request_id": f"r{i}", "prediction": "1", "latency_ms": 20.0, "status": "error" if i % 12 == 11 else "ok"}
            for i in range(1140)]  # to 11:59:30: 8.3 % failing against a 1 % budget
    cfg = _write(tmp_path, rows, extra, '[models.m]\ntask = "classification"\n[models.m.slo]\nerror_rate = 0.01\n')
    (burn,) = _incidents(cfg, capsys, "burn_rate")
    assert burn["firing"], burn
    # the first window with evidence, (06:00, 07:00], holds 133 requests from 06:20:18: the onset is its first row
    assert _onset(burn) == RATE_FIRST and burn["id"] == "m:default: SLO burn:20260310T0620", burn


@pytest.mark.parametrize("extra", ROLLUPS, ids=["raw", "rollups"])
def test_a_log_drifted_from_its_first_row(tmp_path, capsys, extra):
    rng = np.random.default_rng(3)
    n = int((datetime(2026, 3, 10, 12) - DRIFT_FIRST).total_seconds() // 60) + 1
    rows = [{"ts": f"{DRIFT_FIRST + timedelta(minutes=i):%Y-%m-%dT%H:%M:%S}Z", "model": "d", "request_id": f"r{i}",
             "version": "1", "latency_ms": 10.0, "status": "ok", "prediction": "0",
             "features": {"x": round(float(x), 3)}} for i, x in enumerate(rng.normal(80, 10, n))]
    pq.write_table(pa.table({"x": np.round(rng.normal(50, 10, 3000), 3)}), tmp_path / "ref.parquet")
    cfg = _write(tmp_path, rows, extra, '[models.d]\ntask = "classification"\nreference = "ref.parquet"\n'
                                        'features = ["x"]\n')
    (drift,) = _incidents(cfg, capsys, "drift_share")
    assert drift["firing"], drift
    # the grid point before the first breach (March 10, 00:00, 640 rows) is March 9, 12:00, before any row
    assert _onset(drift) == DRIFT_FIRST and drift["detected"] == "2026-03-10T00:00:00Z", drift
