"""The `rollup` command keeps the rows the store keeps. It built rollups of rows the store sets aside (an empty
model, no version, a latency of 1e400 or `true`, a negative one), so a rollup folder read without this store (a
pushed `s3://` folder, a side box) counted 4 rows in 5,000 the console did not; the counts are now equal, and the
bad rows are neither in the rollups nor in the store's rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import duckdb

from console import rollup_engine
from console.config import parse_file
from console.service import Service

START = datetime(2026, 12, 1)


def test_the_rollup_counts_the_rows_the_store_keeps(tmp_path):
    rows = [{"ts": f"{START + timedelta(minutes=i):%Y-%m-%dT%H:%M:%SZ}", "model": "m1", "version": "1",
             "request_id": f"r{i}", "latency_ms": 20.0} for i in range(200)]
    bad = [{"model": ""}, {"version": None}, {"latency_ms": "1e400"}, {"latency_ms": True}, {"latency_ms": -3.0},
           {"request_id": ""}]
    for i, change in enumerate(bad):
        rows[10 * (i + 1)] = {**rows[10 * (i + 1)], **change}
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "c.toml").write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n',
                                     encoding="utf-8")
    svc = Service(parse_file(tmp_path / "c.toml"), clock=lambda: START + timedelta(days=1))
    try:
        svc.refresh()
        kept = svc.snapshot(refresh=False).counts["predictions"]
    finally:
        svc.close()
    assert kept == 200 - len(bad)
    out = rollup_engine.catch_up([str(tmp_path / "p.jsonl")], [], tmp_path / "rollups", now=START + timedelta(days=1),
                                 since=START)
    built = duckdb.sql(f"SELECT sum(rows) FROM read_parquet('{tmp_path}/rollups/**/*.parquet', union_by_name=true) "
                       "WHERE segment IS NULL").fetchall()[0][0]
    assert out.rows == built == kept
