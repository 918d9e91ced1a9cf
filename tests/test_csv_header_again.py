"""A CSV log whose writer restarted in append mode writes its header again mid-file. That line was read as a row: set
aside as "ts is not a timestamp", and its names made every number column it fell in text for the rows parsed with it
("field 'amount' holds values of more than one type; kept, as text" though every value kept was a number). It is
now set aside alone, said as what it is, and the columns keep their types."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa

from console.store import parse

SRC = str(Path(__file__).resolve().parents[1] / "src")
HEADER = "ts,model,version,request_id,latency_ms,amount"


def _rows(tag: str, n: int, minute: int) -> str:
    return "".join(f"2026-11-29T10:{minute:02d}:{i % 60:02d}Z,m,1,{tag}{i},12.5,{i}.5\n" for i in range(n))


def test_the_header_written_again_is_set_aside_alone_and_types_stay():
    body = (_rows("a", 100, 0) + HEADER + "\n" + _rows("b", 100, 1) + HEADER + "\r\n" + _rows("c", 10, 2)).encode()
    tables, rejected = parse.csv_lines(body, header=HEADER, source="p.csv", first_line=2)
    assert sum(t.num_rows for t in tables) == 210  # by hand: every row written, neither header
    assert [(r.loc, r.reason) for r in rejected] == [(102, parse.HEADER_AGAIN), (203, parse.HEADER_AGAIN)]
    assert {t.schema.field("amount").type for t in tables} == {pa.float64()}
    locs = [loc for t in tables for loc in t.column("loc").to_pylist()]
    assert locs == [*range(2, 102), *range(103, 203), *range(204, 214)]  # each row keeps its own line


def test_many_restarts_cost_only_their_lines():
    body = "".join(_rows(f"r{k}-", 3, k % 60) + HEADER + "\n" for k in range(1500)).encode()
    tables, rejected = parse.csv_lines(body, header=HEADER, source="p.csv", first_line=2)
    assert sum(t.num_rows for t in tables) == 4500 and len(rejected) == 1500


def test_snapshot_counts_the_rows_and_names_the_line(tmp_path):
    (tmp_path / "p.csv").write_text(HEADER + "\n" + _rows("a", 100, 0) + HEADER + "\n" + _rows("b", 100, 1))
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "p.csv"\n[store]\npath = "store"\n')
    res = subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), "--at", "2026-11-30T00:00Z",
                          "snapshot", "--format", "json"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": SRC})
    out = json.loads(res.stdout)
    assert out["counts"]["predictions"] == 200 and out["malformed"] == 1
    assert [(r["reason"], r["first_location"]) for r in out["malformed_by"]] == [(parse.HEADER_AGAIN, "102")]
    assert not any("more than one type" in n for n in out["log_notes"]), out["log_notes"]
