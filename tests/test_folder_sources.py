"""A folder given as a log's path is a Parquet dataset, to the store and to the rollup alike (`files.parquet_under`).

Before, the store read a folder's `*.parquet` files only (not `.pq`: 100 rows here), while the rollup also read its
JSONL and CSV files (131 rows here): the two counted different rows of one configuration. Counts are hand counts.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from console.cli import main
from console.sources.files import parquet_under

T0 = datetime(2026, 11, 20)


def _table(lo: int, hi: int) -> pa.Table:
    return pa.table({"ts": pa.array([T0 + timedelta(minutes=i) for i in range(lo, hi)], pa.timestamp("us")),
                     "model": ["m"] * (hi - lo), "version": ["1"] * (hi - lo),
                     "request_id": [f"r{i}" for i in range(lo, hi)], "latency_ms": [10.0] * (hi - lo)})


def test_a_folder_is_its_parquet_files_to_the_store_and_the_rollup(tmp_path, capsys):
    logs = tmp_path / "logs"
    (logs / "date=2026-11-20").mkdir(parents=True)
    (logs / ".staging").mkdir()
    pq.write_table(_table(0, 100), logs / "date=2026-11-20" / "part-0.parquet")
    pq.write_table(_table(100, 130), logs / "date=2026-11-20" / "part-1.pq")
    pq.write_table(_table(500, 600), logs / ".staging" / "part-9.parquet")  # a writer's, not yet moved in
    (logs / "date=2026-11-20" / "notes.jsonl").write_text(
        json.dumps({"ts": "2026-11-20T05:00:00Z", "model": "m", "version": "1", "request_id": "j"}) + "\n")
    (logs / "date=2026-11-20" / "_SUCCESS").write_text("")
    assert [p.rsplit("/", 1)[1] for p in parquet_under(str(logs))] == ["part-0.parquet", "part-1.pq"]

    toml = tmp_path / "console.toml"
    toml.write_text(f'[[logs]]\nkind = "predictions"\npath = "{logs}"\n[models.m]\ntask = "classification"\n')
    assert main(["snapshot", "--config", str(toml), "--at", "latest", "--format", "json"]) == 0
    snap = json.loads(capsys.readouterr().out)
    assert (snap["counts"]["predictions"], snap["malformed"]) == (130, 0), snap
    rc = main(["rollup", "--config", str(toml), "--path", str(tmp_path / "rollups"), "--until", "2026-11-21T00:00:00",
               "--no-ready", "--format", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert json.loads(out.out)["rows"] == 130
