"""Quitting interrupts the store's queries in flight, including those on a worker's cursor (interrupting
DuckDB's base connection alone does not reach them)."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb

from console.config import Config
from console.warehouse import Warehouse


def test_interrupt_stops_a_query_running_on_a_cursor(tmp_path):
    w = Warehouse(Config(source=None, root=Path(tmp_path), logs=()), database=tmp_path / "store")
    started, outcome = threading.Event(), []

    def worker():
        with w.cursor() as cur:
            started.set()
            try:  # hours of work unless interrupted
                cur.execute("SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3").fetchall()
                outcome.append("finished")
            except duckdb.InterruptException:
                outcome.append("interrupted")

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    started.wait(10)
    for _ in range(100):  # until it lets go (a query just starting may miss the first interrupt)
        w.interrupt()
        t.join(0.2)
        if outcome:
            break
    t.join(5)
    assert outcome == ["interrupted"]
    w.close()
