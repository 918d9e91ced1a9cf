"""Every window the rollup path's rules evaluate holds exactly the rows of `(lo, hi]`, counted by hand, on a batch log
whose rows all sit on hours' first instants (`test_hour_boundary_rows`' log): for long and short histories, `since`
and `now` on and off the hour, windows grown back by whole hours. A history shorter than an hour whose start and end
straddle an hour (`since` 01:40, `now` 02:20) read the rows on 02:00 twice: the history's first raw piece ends on
that instant, and the open hour's first instant was added again (`RollupRules._between`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from console.config import parse_file
from console.rollup_rules import RollupRules
from console.service import Service
from test_hour_boundary_rows import _workspace, batches

D = datetime(2026, 8, 1)
HISTORIES = [(D + timedelta(hours=1, minutes=40), D + timedelta(hours=2, minutes=20)),
             (D + timedelta(hours=1), D + timedelta(hours=2)),
             (D + timedelta(hours=1, minutes=30), D + timedelta(hours=2)),
             (D + timedelta(hours=2), D + timedelta(hours=2, minutes=20)),
             (D - timedelta(hours=22, minutes=20), D + timedelta(hours=2)),
             (D - timedelta(hours=22), D + timedelta(hours=2, minutes=20)),
             (D - timedelta(days=2, minutes=1), D + timedelta(hours=5, seconds=1))]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    preds, labels = batches()
    cfg = _workspace(tmp_path_factory.mktemp("rule-windows") / "ws", preds, labels, 10)
    svc = Service(parse_file(cfg), clock=lambda: D + timedelta(hours=6))
    svc.refresh()
    yield preds, svc.monitor
    svc.close()


def _hand(preds: pl.DataFrame, lo: datetime, hi: datetime) -> int:
    return preds.filter((pl.col("ts") > lo) & (pl.col("ts") <= hi)).height


@pytest.mark.parametrize("since,now", HISTORIES)
def test_each_window_holds_the_rows_of_its_span(fleet, since, now):
    preds, mon = fleet
    src = RollupRules(mon, "m", since, now)
    seen = 0
    for span in (timedelta(hours=1), timedelta(hours=3), timedelta(hours=24)):
        for min_rows in (1, 2000):  # 2000: windows grown back by whole hours
            for w in src.windows(span, min_rows):
                assert w.rows == _hand(preds, w.lo, w.hi), (span, min_rows, w.lo, w.hi)
                seen += 1
    assert seen


def test_a_history_within_two_hours_reads_the_hours_instant_once(fleet):
    preds, mon = fleet
    since, now = D + timedelta(hours=1, minutes=40), D + timedelta(hours=2, minutes=20)
    src = RollupRules(mon, "m", since, now)
    parts = src._between(D + timedelta(hours=1), D + timedelta(hours=2))  # (since, 02:00]: the first piece alone
    assert sum(p.rows for p in parts) == _hand(preds, since, D + timedelta(hours=2)) > 0
