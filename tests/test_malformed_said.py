"""`snapshot` says why rows were set aside, not only how many (qa: a Hive Parquet log written without `version`
showed "malformed rows 200" and an empty table, and nothing an operator could act on)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _workspace(tmp: Path) -> Path:
    """Two days of Parquet, 100 rows each, the first without `version`; one JSONL line that is not JSON."""
    for day, with_version in (("2026-11-28", False), ("2026-11-29", True)):
        base = datetime.fromisoformat(day)
        cols = {"ts": [base + timedelta(minutes=10 * i) for i in range(100)], "model": ["m"] * 100,
                "request_id": [f"{day}-{i}" for i in range(100)], "latency_ms": [10.0] * 100, "prediction": ["1"] * 100}
        if with_version:
            cols["version"] = ["2"] * 100
        (tmp / f"logs/date={day}").mkdir(parents=True)
        pq.write_table(pa.table(cols), tmp / f"logs/date={day}/part-0.parquet")
    good = {"ts": "2026-11-29T20:00:00Z", "model": "m", "version": "2", "request_id": "j1"}
    (tmp / "live.jsonl").write_text(json.dumps(good) + "\n{not json\n")
    cfg = tmp / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n'
                   '[[logs]]\nkind = "predictions"\npath = "live.jsonl"\n[store]\npath = "store"\n')
    return cfg


def _snapshot(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), "--at", "2026-11-30T00:00Z",
                           "snapshot", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": SRC})


def test_snapshot_lists_the_rows_set_aside_by_file_and_reason(tmp_path):
    cfg = _workspace(tmp_path)
    out = json.loads(_snapshot(cfg, "--format", "json").stdout)
    assert out["malformed"] == 101  # by hand: 100 rows without version, one line that is not JSON
    by = {(Path(r["source"]).parent.name + "/" + Path(r["source"]).name, r["reason"].split(":")[0]): r["n"]
          for r in out["malformed_by"]}
    assert by == {("date=2026-11-28/part-0.parquet", "missing version"): 100, (tmp_path.name + "/live.jsonl", "invalid JSON"): 1}
    # the rows kept are still counted: REQ 24H is (00:00, 24:00], so day 2's 99 after midnight and j1
    assert [m["requests"] for m in out["models"]] == [99 + 1]
    text = _snapshot(cfg).stdout
    assert "malformed rows set aside (101), by file and reason:" in text
    line = next(t for t in text.splitlines() if "missing version" in t)
    assert line.split()[0] == "100" and line.endswith("date=2026-11-28/part-0.parquet:1 (first)"), text


def test_no_list_when_nothing_was_set_aside(tmp_path):
    cfg = _workspace(tmp_path)
    (tmp_path / "live.jsonl").write_text("")
    for day in ("2026-11-28",):
        p = tmp_path / f"logs/date={day}/part-0.parquet"
        t = pq.read_table(p)
        pq.write_table(t.append_column("version", pa.array(["1"] * t.num_rows)), p)
    out = json.loads(_snapshot(cfg, "--format", "json").stdout)
    assert out["malformed"] == 0 and "malformed_by" not in out
    assert "set aside" not in _snapshot(cfg).stdout


def test_rows_set_aside_in_a_lake_are_counted_not_listed(tmp_path):
    """A Delta table's rejected rows are in the count; the list names the local ones only (finding a lake's would
    scan every object on each snapshot), and the text says the rest is counted, not listed."""
    from deltalake import write_deltalake

    cfg = _workspace(tmp_path)
    base = datetime(2026, 11, 29, 12)
    write_deltalake(str(tmp_path / "lake"), pa.table({
        "ts": [base + timedelta(minutes=i) for i in range(10)], "model": ["m"] * 10,
        "version": [None, None] + ["2"] * 8, "request_id": [f"d{i}" for i in range(10)]}))
    cfg.write_text(cfg.read_text() + '[[logs]]\nkind = "predictions"\npath = "lake"\nformat = "delta"\n')
    out = json.loads(_snapshot(cfg, "--format", "json").stdout)
    assert out["malformed"] == 101 + 2  # by hand: the two Delta rows without version
    assert sum(r["n"] for r in out["malformed_by"]) == 101
    assert not [r for r in out["malformed_by"] if str(tmp_path / "lake") in r["source"]]
    assert "rows set aside in lake tables and S3 objects are counted, not listed" in _snapshot(cfg).stdout
