"""The store's own segments' footers read in two queries for all of them (`Footers.read_segment_footers`) say what
reading each one alone says: columns and their types, rows, ts span, newest ts. A kept answer over a store of 40
segments spent 0.15-0.2 s on a query or three per segment before. The per-file readings are the oracle: PyArrow's
schema and row-group statistics (`footers.ts_span`), DuckDB's count."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pyarrow.parquet as pq

from console.config import Config, LogSource
from console.store.footers import ts_span
from console.warehouse import Warehouse

START = datetime(2026, 11, 20)


def test_footers_read_together_equal_each_read_alone(tmp_path):
    log = tmp_path / "p.jsonl"
    log.write_text("")
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(log)),))
    w = Warehouse(cfg, tmp_path / "store")
    w.merge_in_background = False
    for k in range(5):  # a segment per refresh; the third brings a new feature of another type
        with open(log, "a") as fh:
            for i in range(40 + k):
                row = {"ts": (START + timedelta(hours=k, seconds=37 * i)).isoformat() + "Z", "model": "m",
                       "version": "1", "request_id": f"r{k}-{i}", "latency_ms": 10 + i, "x": i * 0.5,
                       "ok": i % 2 == 0}
                if k >= 2:
                    row["n"] = i
                fh.write(json.dumps(row) + "\n")
        w.refresh()
    names = w.manifest.segments["predictions"]
    w.close()
    assert len(names) == 5

    fresh = Warehouse(cfg, tmp_path / "store")
    fresh._parquet_meta.clear()
    fresh.read_segment_footers(names)
    for n in names:
        path = str(fresh.dir / n)
        table = pq.read_table(path)
        assert fresh._parquet_meta[("schema", path)] == tuple((f.name, str(f.type)) for f in pq.read_schema(path))
        assert fresh._parquet_meta[("segment", n)] == table.num_rows
        span = ts_span(path)
        assert fresh._parquet_meta[("span", path)] == span
        assert fresh._parquet_meta[("segment-newest", n)] == span[1] == max(table["ts"].to_pylist())
    assert any(c == "n" for c, _ in fresh._parquet_meta[("schema", str(fresh.dir / names[-1]))])
    fresh._parquet_meta.clear()  # one segment alone (a span asked for by `file_span`) is read the same way
    fresh.read_segment_footers(names[:1])
    assert fresh._parquet_meta[("span", str(fresh.dir / names[0]))] == ts_span(str(fresh.dir / names[0]))
    fresh.close()
