"""A JSONL piece parsed on the fast path comes out one chunk a column: the ingest's later passes (conforming, the
segment write's per-model filter, the Parquet writer) pay per chunk, and Polars' reader hands out ~1,000-row ones."""

import json

from console.store import parse


def test_a_parsed_piece_is_one_chunk_a_column_and_keeps_every_row_in_order():
    rows = [{"ts": f"2026-07-01T00:{i // 3600 % 60:02d}:{i % 60:02d}Z", "model": f"m{i % 3}", "prediction": i % 2,
             "latency_ms": i / 7, "f0": i * 0.5, "c0": "abc"[i % 3]} for i in range(60_000)]
    body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows).encode()
    tables, rejected = parse.jsonl(body, source="p.jsonl", first_line=1)
    assert rejected == [] and len(tables) == 1
    table = tables[0]
    assert table.num_rows == 60_000
    assert {table[c].num_chunks for c in table.column_names} == {1}
    assert table["latency_ms"].to_pylist() == [r["latency_ms"] for r in rows]
    assert table["model"].to_pylist() == [r["model"] for r in rows]
