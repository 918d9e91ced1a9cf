"""A read of a few hours binds only the files that may hold them (`Views._narrowed`), and gives the rows the
full views give: checked against a hand count of a Hive-partitioned log's files (4 files a day, 6 hours each)
and against the same query run over every file."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from console.config import parse_file
from console.monitoring import CONTRACT_COLUMNS
from console.service import Service
from console.sql import load_query

START = datetime(2026, 5, 1)
DAYS = 5
US = timedelta(microseconds=1)


def _write(path: Path, ts: list[datetime], tag: str, rng) -> None:
    n = len(ts)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({
        "ts": pa.array(ts, pa.timestamp("us")), "model": rng.choice(["m", "n"], n).tolist(), "version": ["1"] * n,
        "environment": ["production"] * n, "request_id": [f"{tag}-{i}" for i in range(n)],
        "latency_ms": np.full(n, 20.0), "prediction": ["1"] * n, "x": rng.normal(0, 1, n)}), path)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A service over 5 days of 4 files a day (part-k holds hours 6k to 6k+6 of its day), and one file whose ts
    is text (its span is unknown: every read must bind it)."""
    root = tmp_path_factory.mktemp("narrowed")
    rng = np.random.default_rng(7)
    for day in range(DAYS):
        for k in range(4):
            lo = START + timedelta(days=day, hours=6 * k)
            ts = sorted(lo + timedelta(seconds=int(s)) for s in rng.integers(0, 6 * 3600, 300))
            _write(root / "logs" / f"date={lo.date()}" / f"part-{k}.parquet", ts, f"{day}-{k}", rng)
    text = root / "logs" / "date=text" / "part-0.parquet"
    text.parent.mkdir(parents=True)
    pq.write_table(pa.table({"ts": ["2026-05-02T05:30:00Z", "2026-05-04T23:59:00Z"], "model": ["m", "m"],
                             "version": ["1", "1"], "environment": ["production"] * 2, "request_id": ["t0", "t1"],
                             "latency_ms": [20.0, 20.0], "prediction": ["1", "1"], "x": [0.5, 1.5]}), text)
    cfg = root / "console.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n'
                   '[models.m]\ntask = "classification"\nfeatures = ["x"]\n', encoding="utf-8")
    svc = Service(parse_file(cfg), clock=lambda: START + timedelta(days=DAYS))
    svc.refresh()
    yield svc, root
    svc.close()


def _bound(sql: str) -> set[str]:
    """The Parquet logs a query's text lists (the store's own skeletons aside)."""
    return {p for p in re.findall(r"'([^']+\.parquet)'", sql) if "skeleton-" not in p}


def _hand(root: Path, ranges: list[tuple[datetime, datetime]]) -> set[str]:
    """The files that may hold a row in the ranges (a, b], by the layout alone: part-k of day d holds
    [d + 6k h, d + 6k h + 6 h), and the file of text ts any hour."""
    out = {str(root / "logs" / "date=text" / "part-0.parquet")}
    for day in range(DAYS):
        for k in range(4):
            lo = START + timedelta(days=day, hours=6 * k)
            if any(lo <= b and lo + timedelta(hours=6) > a for a, b in ranges):
                out.add(str(root / "logs" / f"date={lo.date()}" / f"part-{k}.parquet"))
    return out


@pytest.mark.parametrize("ranges", [
    [(datetime(2026, 5, 3, 13) - US, datetime(2026, 5, 3, 14) - US)],  # one hour: one file (and the text one)
    [(datetime(2026, 5, 1, 5, 30), datetime(2026, 5, 1, 6, 30))],  # across two files
    [(datetime(2026, 5, 1, 23) - US, datetime(2026, 5, 2) - US),  # a window's two edges and a baseline's
     (datetime(2026, 5, 5, 20) - US, datetime(2026, 5, 5, 20, 40)),
     (datetime(2026, 5, 2, 11) - US, datetime(2026, 5, 2, 12) - US)],
    [(datetime(2026, 6, 1), datetime(2026, 6, 2))],  # no file holds it
])
def test_a_ranged_read_binds_the_files_of_its_hours_and_gives_the_full_read_s_rows(store, ranges):
    svc, root = store
    wh, mon = svc.monitor.wh, svc.monitor
    sql = wh._narrowed(load_query("model_predictions_ranges"), ranges)
    want = _hand(root, ranges)
    if len(want) == 1:  # a list cut to nothing keeps one file (its columns), whose row groups are skipped
        assert len(_bound(sql) - want) == 1
    else:
        assert _bound(sql) == want, sorted(_bound(sql) ^ want)
    every = [(START, START + timedelta(days=DAYS))]
    assert len(_bound(wh._narrowed(load_query("model_predictions_ranges"), every))) == 4 * DAYS + 1
    cols = ["ts", *CONTRACT_COLUMNS, "x"]
    ranges = sorted(ranges)
    for model in ("m", "n"):
        got = mon.typed_rows(model, ranges[0][0], ranges[-1][1], None, columns=cols, ranges=ranges)
        # the same query over every file (no `within`); unused ranges empty, (t, t]
        pad = ranges + [(ranges[0][0], ranges[0][0])] * (8 - len(ranges))
        params = {"models": [model], "environment": None, **{f"a{i}": a for i, (a, _) in enumerate(pad)},
                  **{f"b{i}": b for i, (_, b) in enumerate(pad)}}
        full = wh.frame("model_predictions_ranges", params, columns=cols).sort("ts", maintain_order=True)
        assert_frame_equal(got.select(full.columns), full.with_columns(
            full.get_column("ts").set_sorted()), check_dtypes=False)
        # and against a count by hand of the rows in those ranges
        assert got.height == sum(mon.typed_rows(model, a, b, None, columns=["ts"]).height for a, b in ranges)


def test_a_window_s_row_count_and_a_single_range_read_are_narrowed_too(store):
    """`model_rows_upto` (whether a window is read from rollups) and a plain (since, until] read bind only the
    files of their range, and count what the full views count."""
    svc, root = store
    wh = svc.monitor.wh
    a, b = datetime(2026, 5, 2, 7), datetime(2026, 5, 2, 19)
    assert _bound(wh._narrowed(load_query("model_rows_upto"), [(a, b)])) == _hand(root, [(a, b)])
    params = {"model": "m", "since": a, "until": b, "environment": None}
    counted = wh.one("model_rows_upto", {**params, "cap": 10**9}, within=[(a, b)])
    assert counted == wh.one("model_rows_upto", {**params, "cap": 10**9})
    got = wh.frame("model_predictions", params, within=[(a, b)]).sort("request_id")
    assert got.height == counted[0]
    assert_frame_equal(got, wh.frame("model_predictions", params).sort("request_id"))
    assert got.height > 0


def test_a_file_s_span_is_kept_across_processes(store):
    """The span of a log read in place is a footer fact kept with its version: a new process knows it unread."""
    svc, root = store
    path = str(root / "logs" / "date=2026-05-02" / "part-1.parquet")
    span = svc.monitor.wh.file_span(path)
    assert span[0] >= datetime(2026, 5, 2, 6) and span[1] < datetime(2026, 5, 2, 12)
    svc.monitor.wh._facts.save()
    other = Service(parse_file(root / "console.toml"), clock=lambda: START + timedelta(days=DAYS))
    try:
        assert other.monitor.wh._footer_fact(path, "ts_span") is not None
        assert other.monitor.wh.file_span(path) == span
        text = str(root / "logs" / "date=text" / "part-0.parquet")
        assert other.monitor.wh.file_span(text) == (None, None)
    finally:
        other.close()
