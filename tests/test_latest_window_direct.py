"""`evidence.latest_window` finds the newest window directly and is `windows(..., limit=None)[-1]` exactly.

It built every grid window of the history to take the last (a window with no row of its own carries the start of the
last one with rows, `carried_from`), on every refresh of the SLO panels. Checked against that definition over
generated histories: stopped sources (no row in the last spans), sparse rows, rows and ends on grid boundaries and at
a span's edge, duplicates, rows before `start` read back to `reach`, spans shorter than the grid's step (where the
newest row can lie between two points' spans), and an end not after `start` (both raise). Two cases by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.analytics import evidence as ev

T0 = datetime(2026, 3, 1)
H, M = timedelta(hours=1), timedelta(minutes=1)
SPANS = [10 * M, 30 * M, H, 90 * M, 2 * H, 6 * H, 24 * H, 3 * 24 * H]


def series(times: list[datetime]) -> pl.Series:
    return pl.Series("ts", times, dtype=pl.Datetime("us"))


def both(times, end, span, min_rows, start, reach=None):
    """(the direct answer, the definition's), or the exception type each raised."""
    ts = series(times)
    out = []
    for f in (lambda: ev.latest_window(ts, end, span, min_rows, start, reach=reach),
              lambda: ev.windows(ts, end, span, min_rows, start, limit=None, reach=reach)[-1]):
        try:
            out.append(f())
        except IndexError:
            out.append(IndexError)
    return out


@st.composite
def histories(draw):
    span = draw(st.sampled_from(SPANS))
    on_hour = draw(st.booleans())
    end = T0 + (H * draw(st.integers(0, 24 * 14)) if on_hour else M * draw(st.integers(0, 24 * 60 * 14)))
    # rows: minutes or whole hours (grid boundaries) before the end, some at its edges, some after it
    unit = draw(st.sampled_from([M, H, 7 * M]))
    times = [end - unit * k for k in draw(st.lists(st.integers(-30, 24 * 60 * 3), min_size=1, max_size=60))]
    times += draw(st.lists(st.sampled_from([end, end - span, end - span + timedelta(microseconds=1)]), max_size=3))
    if draw(st.booleans()):  # a source that stopped: nothing in the last few spans (or hours)
        gap = draw(st.sampled_from([span, 2 * span, 5 * span, 6 * H, 30 * H]))
        times = [t for t in times if t <= end - gap]
    if draw(st.booleans()):  # a busy stretch long ago
        at = end - H * draw(st.integers(1, 24 * 10))
        times += [at - M * k for k in range(draw(st.integers(0, 300)))]
    back = draw(st.integers(-3, 0)) if draw(st.integers(0, 7)) == 7 else draw(st.integers(1, 24 * 20))
    start = end - H * back - M * draw(st.sampled_from([0, 0, 17]))  # (back <= 0: an end not after the start)
    reach = None if draw(st.booleans()) else start - H * draw(st.integers(0, 24 * 5))
    min_rows = draw(st.sampled_from([1, 2, 5, 20, 100, 250]))
    return times, end, span, min_rows, start, reach


@settings(max_examples=600, deadline=None)
@given(histories())
def test_latest_window_is_the_last_of_windows(h):
    direct, defined = both(*h)
    assert direct == defined


@pytest.mark.parametrize("span", SPANS)
def test_a_stopped_source_carries_the_last_window_with_rows(span):
    end = datetime(2026, 3, 10, 12, 30)
    times = [end - 40 * H + M * k for k in range(0, 600, 3)]  # 200 rows ending 30 h before the end
    direct, defined = both(times, end, span, 100, end - 20 * 24 * H)
    assert direct == defined
    assert direct[1] == end and direct[2] > 0  # carried: the rows of the last window with any, to the end


def test_by_hand_the_newest_window_with_rows_of_its_own():
    # a 1 h span: a 1 h grid. Nothing in (11:30, 12:30]; the newest grid point whose hour holds rows is 10:00
    # (09:10, 09:20, 09:55), so the window is (09:00, 12:30] with those 3 rows
    d = datetime(2026, 3, 10)
    rows = [d.replace(hour=9, minute=m) for m in (10, 20, 55)]
    end, start = d.replace(hour=12, minute=30), d
    assert ev.latest_window(series(rows), end, H, 2, start) == (d.replace(hour=9), end, 3)
    # wanting 5 rows, 10:00's window grows back to the 5th newest row (07:00), just before it
    rows += [d.replace(hour=7), d.replace(hour=7, minute=30)]
    assert ev.latest_window(series(rows), end, H, 5, start) == (
        d.replace(hour=7) - timedelta(microseconds=1), end, 5)
    # a 10 min span on the same 1 h grid: 09:55 is in 10:00's own span (09:50, 10:00]
    assert ev.latest_window(series(rows), end, 10 * M, 1, start) == (d.replace(hour=9, minute=50), end, 1)
    # without it, 09:10, 09:20 and 07:30 lie in no point's span: the newest with rows is 07:00's (06:50, 07:00]
    rows = [r for r in rows if r.minute != 55]
    assert ev.latest_window(series(rows), end, 10 * M, 1, start) == (d.replace(hour=6, minute=50), end, 4)
