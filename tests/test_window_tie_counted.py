"""A window grown back to its last `min_rows` rows opens a microsecond before the first of them, so rows stamped at
that same instant are in it (ties at the first row included, `evidence._grown`), and its count says so. It said
`min_rows`: a drift window of 500 rows with a tie at its first row scored 501 rows (`n_cur`) "on 500 rows", and the
rollups, which count the rows of the window they cut (`RollupRules._cut`), said 501."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from console.analytics import evidence as ev

NOW = datetime(2026, 6, 10, 12)


def test_a_tie_at_a_grown_windows_first_row_is_counted():
    # a row every 10 minutes for two days, and one more at the instant of the 100th last: 101 rows from that instant
    ts = [NOW - timedelta(minutes=10 * k) for k in range(288)]
    ts.append(ts[99])
    series = pl.Series("ts", sorted(ts), dtype=pl.Datetime("us"))
    (lo, hi, n), = ev.windows(series, NOW, timedelta(hours=6), 100, NOW - timedelta(days=2), step=timedelta(hours=6))[-1:]
    assert hi == NOW and lo == ts[99] - timedelta(microseconds=1)
    by_hand = sum(lo < t <= hi for t in ts)
    assert by_hand == 101 and n == by_hand
