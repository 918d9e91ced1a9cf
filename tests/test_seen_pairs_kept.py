"""The (model, environment) pairs the Overview lists are kept with the store's facts under the rows they were read
from, as the models seen are: a `snapshot` at a new `--at` over 10M rows of Parquet scanned every row's model and
environment twice for them (0.2 s of its 2.5 s). Checked against a hand count of the files, and against a process
that cannot run the query at all."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console.config import Config, LogSource
from console.warehouse import Warehouse

START = datetime(2026, 11, 20, 6, 0)


def _write(path, pairs: list[tuple[str, str | None]], start: datetime) -> None:
    n = len(pairs)
    pq.write_table(pa.table({
        "ts": pa.array([start + timedelta(minutes=i) for i in range(n)], pa.timestamp("us")),
        "model": [m for m, _ in pairs], "version": ["1"] * n, "environment": [e for _, e in pairs],
        "request_id": [f"{path.stem}-{i}" for i in range(n)], "latency_ms": [1.0] * n}), path)


def _store(tmp_path) -> Warehouse:
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(tmp_path / "logs"), "parquet"),))
    wh = Warehouse(cfg, database=tmp_path / "store")
    wh.refresh()
    return wh


def test_seen_pairs_are_kept_for_the_same_rows_and_read_again_for_new_ones(tmp_path, monkeypatch):
    (tmp_path / "logs").mkdir()
    first = [("a", "production")] * 30 + [("a", "staging")] * 5 + [("b", "production")] * 20 + [("c", None)] * 3
    _write(tmp_path / "logs" / "p1.parquet", first, START)
    first = [(m, e or "production") for m, e in first]  # a row without an environment is production's
    wh = _store(tmp_path)
    try:
        assert wh.seen_pairs() == set(first)
    finally:
        wh.close()

    # a new process over the same rows answers without the query
    wh = _store(tmp_path)
    originals = {m: getattr(Warehouse, m) for m in ("rows", "_rows_here")}

    def refusing(method):
        def run(self, name, *a, **kw):
            if name == "overview_seen":
                raise AssertionError("overview_seen read again over rows it was kept for")
            return originals[method](self, name, *a, **kw)
        return run

    try:
        for m in originals:
            monkeypatch.setattr(Warehouse, m, refusing(m))
        assert wh.seen_pairs() == set(first)
    finally:
        wh.close()

    # new rows (a new file): read again, the new pair included
    _write(tmp_path / "logs" / "p2.parquet", [("b", "shadow")] * 4, START + timedelta(hours=2))
    wh = _store(tmp_path)
    try:
        with pytest.raises(AssertionError, match="overview_seen"):
            wh.seen_pairs()
        for m, run in originals.items():
            monkeypatch.setattr(Warehouse, m, run)
        assert wh.seen_pairs() == set(first) | {("b", "shadow")}
    finally:
        wh.close()
