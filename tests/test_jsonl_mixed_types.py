"""A field whose JSON type changes from line to line (`ts` as epoch milliseconds from one writer and ISO text
from another, in one log) is read in one piece, typed as text, and every row keeps its instant. Arrow's reader
refuses such a piece, and halving it down to pieces of one type cut a log alternating types into hundreds of
64-line tables, each conformed on its own: 60,000 rows took 65 s to ingest instead of 3 s. A name logged as an
object in such a piece still costs only its own row."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl

from console.config import parse_file
from console.service import Service
from console.store import parse

START = datetime(2026, 11, 20, tzinfo=UTC)
N = 3_000


def _line(i: int, model: object = "m") -> bytes:
    t = START + timedelta(seconds=i)
    ts = int(t.timestamp() * 1000) if i % 2 else t.strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"ts": ts, "model": model, "version": "1", "request_id": f"r{i}", "latency_ms": 10.0 + i % 5}).encode() + b"\n"


def test_alternating_types_are_one_piece_with_every_row():
    body = b"".join(_line(i) for i in range(N))
    tables, rejected = parse.jsonl(body, source="p.jsonl", first_line=1)
    assert not rejected and len(tables) == 1 and tables[0].num_rows == N
    ts = tables[0].column("ts").to_pylist()
    assert ts[0] == "2026-11-20T00:00:00Z" and ts[1] == str(int((START + timedelta(seconds=1)).timestamp() * 1000))


def test_an_object_as_a_name_among_mixed_types_costs_its_own_row():
    lines = [_line(i) for i in range(N)]
    lines[1500] = _line(1500, model={"a": 1})
    tables, rejected = parse.jsonl(b"".join(lines), source="p.jsonl", first_line=1)
    assert [r.loc for r in rejected] == [1501] and "model is an object" in rejected[0].reason
    assert sum(t.num_rows for t in tables) == N - 1


def test_the_store_keeps_every_instant(tmp_path):
    (tmp_path / "p.jsonl").write_bytes(b"".join(_line(i) for i in range(N)))
    (tmp_path / "c.toml").write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
                                     '[models.m]\ntask = "classification"\n', encoding="utf-8")
    end = START.replace(tzinfo=None) + timedelta(seconds=N)
    svc = Service(parse_file(tmp_path / "c.toml"), clock=lambda: end)
    try:
        svc.refresh()
        rows = svc.monitor.typed_rows("m", START.replace(tzinfo=None) - timedelta(seconds=1), end, None,
                                      columns=["ts", "request_id"])
    finally:
        svc.close()
    want = pl.Series([START.replace(tzinfo=None) + timedelta(seconds=i) for i in range(N)]).cast(pl.Datetime("us"))
    assert rows.height == N
    assert rows.sort("ts")["ts"].to_list() == want.to_list()
