"""Two workers asking the monitor for the same rows at once read them once: the second waits for the first
worker's read (on a busy console the incident pass and a screen opened meanwhile wanted the same week), and
a read that fails leaves the waiter to read for itself."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta

from console.config import Config, LogSource
from console.service import Service

NOW = datetime(2026, 11, 25, 12, 0)


def service(tmp_path) -> Service:
    log = tmp_path / "p.jsonl"
    log.write_text("".join(json.dumps({
        "ts": (NOW - timedelta(minutes=i)).isoformat() + "Z", "model": "m", "version": "1",
        "request_id": f"r{i}", "latency_ms": 10 + i % 7}) + "\n" for i in range(500)))
    svc = Service(Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(log)),)), clock=lambda: NOW)
    svc.refresh()
    return svc


def test_a_read_in_flight_is_waited_for_not_repeated(tmp_path):
    svc = service(tmp_path)
    mon = svc.monitor
    real, calls, go = mon.typed_rows, [], threading.Event()

    def counted(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            go.wait(30)  # the first read is slow: the second worker arrives while it runs
        return real(*args, **kwargs)

    mon.typed_rows = counted
    since = NOW - timedelta(days=7)
    out = {}
    workers = [threading.Thread(target=lambda i=i: out.__setitem__(i, mon.predictions("m", since, NOW)))
               for i in range(2)]
    workers[0].start()
    while not calls:
        time.sleep(0.01)
    workers[1].start()
    deadline = time.monotonic() + 1.0
    while len(calls) < 2 and time.monotonic() < deadline:  # a second read would show here at once
        time.sleep(0.01)
    go.set()
    for w in workers:
        w.join(30)
    assert len(calls) == 1
    assert out[0].height == out[1].height == 500
    svc.close()


def test_a_failed_read_leaves_the_waiter_to_read(tmp_path):
    svc = service(tmp_path)
    mon = svc.monitor
    real, calls, go = mon.typed_rows, [], threading.Event()

    def failing_first(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            go.wait(30)
            raise RuntimeError("interrupted")
        return real(*args, **kwargs)

    mon.typed_rows = failing_first
    since = NOW - timedelta(days=7)
    out, errors = {}, []

    def first():
        try:
            mon.predictions("m", since, NOW)
        except RuntimeError as exc:
            errors.append(exc)

    a = threading.Thread(target=first)
    b = threading.Thread(target=lambda: out.__setitem__("b", mon.predictions("m", since, NOW)))
    a.start()
    while not calls:
        time.sleep(0.01)
    b.start()
    time.sleep(0.2)
    go.set()
    a.join(30)
    b.join(30)
    assert len(errors) == 1 and out["b"].height == 500 and len(calls) == 2
    svc.close()


def test_a_feature_never_logged_reads_as_nulls_wide_and_streamed(tmp_path):
    """A configured feature no row carries is a column of nulls in a wide read and in each streamed batch
    alike (drift then says "no data" for it), not a missing column in one of them."""
    from dataclasses import replace

    from console.config import ModelConfig

    svc = service(tmp_path)
    cfg = replace(svc.cfg, models={"m": ModelConfig(name="m", features=("latency_ms", "ghost"))})
    svc.monitor.cfg = cfg
    since = NOW - timedelta(days=1)
    wide = svc.monitor.typed_rows("m", since, NOW)
    batches = list(svc.monitor.feature_batches("m", since, NOW, ["ghost"]))
    assert wide["ghost"].null_count() == wide.height == 500
    assert sum(b.height for b in batches) == 500 and all(b["ghost"].null_count() == b.height for b in batches)
    svc.close()


def test_rows_read_over_ranges_are_those_in_the_ranges(tmp_path):
    """`typed_rows(..., ranges=...)` (the rules' edge hours in one scan, eight ranges a query) gives the rows
    of the ranges, ends as (a, b]: counted by hand from the log's minutes, over more ranges than one query takes."""
    svc = service(tmp_path)
    mon = svc.monitor
    m = timedelta(minutes=1)
    # rows at NOW - i minutes, i in 0..499; range k holds minutes (NOW - (40k + 10)m, NOW - 40k m]
    ranges = [(NOW - (40 * k + 10) * m, NOW - 40 * k * m) for k in range(11)][::-1]
    got = mon.typed_rows("m", ranges[0][0], ranges[-1][1], columns=["ts", "latency_ms"], ranges=ranges)
    want = sorted(NOW - i * m for k in range(11) for i in range(40 * k, 40 * k + 10))
    assert got["ts"].to_list() == want  # 110 rows, time order, the end of each range in and its start out
    assert got.columns == ["ts", "latency_ms"]
    assert mon.typed_rows("m", NOW - m, NOW, ranges=[]).height == 0
