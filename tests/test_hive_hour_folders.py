"""Hive folders `dt=YYYY-MM-DD/hour=HH/` (Spark's and Hive's usual layout): DuckDB types a partition key from
one file's folder name, `hour=09` as text and `hour=10` as a number, so every command said "field 'hour' holds
values of more than one type across its Parquet files" (probe A, twenty-ninth session), of a key no file holds.
The rows are all read and no note is said; a column that does change type between files still is."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from console.config import Config, LogSource
from console.warehouse import Warehouse


def _write(root, day: int, hour: int, x) -> None:
    folder = root / "logs" / f"dt=2026-11-{day:02d}" / f"hour={hour:02d}"
    folder.mkdir(parents=True)
    n = 5
    pq.write_table(pa.table({"ts": pa.array([datetime(2026, 11, day, hour, i) for i in range(n)], pa.timestamp("us")),
                             "model": ["m"] * n, "version": ["1"] * n,
                             "request_id": [f"{day}-{hour}-{i}" for i in range(n)], "latency_ms": [10.0] * n,
                             "x": x}), folder / "part-0.parquet")


def test_hour_folders_are_read_without_a_type_note(tmp_path):
    for hour in range(24):
        _write(tmp_path, 29, hour, [0.5] * 5)
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(tmp_path / "logs" / "**" / "*.parquet")),))
    w = Warehouse(cfg, tmp_path / "store")
    notes = w.refresh().notes
    assert not [n for n in notes if "more than one type" in n], notes
    with w.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM predictions").fetchone() == (120,)
    _write(tmp_path, 30, 0, ["a"] * 5)  # a field that does change type is still said
    notes = w.refresh().notes
    assert [n for n in notes if "more than one type" in n and "'x'" in n], notes
    assert not [n for n in notes if "'hour'" in n], notes
