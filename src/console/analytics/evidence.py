"""Rule evaluation sized by evidence, not by the clock, with states that say what is known.

A rule is evaluated over windows ending at the end of the view and on a fixed grid before it: every quarter
of its window (rounded up to whole hours) counted from the Unix epoch, not from the end of the view (`grid`), so a
window closed once is the same window on every later pass and its evaluation can be kept (`rule_memo`). Each
covers the rule's window or the last `min_rows` rows, whichever is longer, so a model with 900 predictions a day still
gets a daily drift verdict and a busy one gets its hourly one. Each evaluation says `breach` True
(significant, past the threshold), False (enough evidence that it is within the threshold) or None
(too few rows, or a move that is not significant yet). A run of breaching evaluations is an incident;
it resolves only at an evaluation with evidence of recovery (breach False), never for lack of data.

Pure functions over Polars frames and numbers; no I/O and no notion of "now" beyond the `end` given.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Sequence

import polars as pl

from console.analytics.findings import FIRING, INSUFFICIENT, RESOLVED  # noqa: F401 - defined with the findings
OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
Z_95 = 1.959963984540054
ALPHA = 0.01  # one-sided significance for quality drops: 1 false alarm in 100 healthy windows at most


@dataclass(frozen=True)
class Evaluation:
    """One rule over one window."""
    start: datetime
    end: datetime
    n: int
    value: float | None
    breach: bool | None  # None: not enough evidence either way
    low: float | None = None  # interval of the value (95 %), when one is known
    high: float | None = None
    note: str = ""
    # no breach, and evidence of recovery (`rate_evaluation`): its whole interval clear of the threshold, or its
    # value at most RECOVERED of it. A rate just under the threshold whose interval still reaches past it does not
    # end an incident (one noisy hour is not a recovery)
    settled: bool = True


@dataclass(frozen=True)
class Run:
    """A run of breaching evaluations: an incident's life."""
    onset: datetime  # the end of the first breaching window: when the evidence was there
    window_start: datetime  # the start of that window: the change happened after this
    end: datetime | None  # the end of the first window with evidence of recovery; None while it lasts
    peak: float | None
    last: Evaluation  # the latest evaluation in the run (or the recovery)
    evaluations: int

    @property
    def state(self) -> str:
        return FIRING if self.end is None else RESOLVED


# --------------------------------------------------------------------------- statistics


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | tuple[None, None]:
    """Wilson score interval of a proportion (95 % by default); (None, None) without observations."""
    if n <= 0:
        return None, None
    p = successes / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    # exact at the ends: 0 of n has a lower bound of 0, n of n an upper bound of 1 (rounding gave 3.5e-18)
    return 0.0 if successes <= 0 else max(0.0, centre - half), 1.0 if successes >= n else min(1.0, centre + half)


def quantile_ranks(n: int, q: float, z: float = Z_95) -> tuple[int, int] | None:
    """0-based ranks (low, high) of the sorted sample whose values bound its q-quantile at 95 %: the order
    statistics' interval, whose coverage is a binomial count of the rows below the quantile (its normal
    approximation, as `wilson` takes). A p95 of 100 rows is known only to lie between the 90th and the largest."""
    if n <= 0:
        return None
    half = z * math.sqrt(n * q * (1 - q))
    return max(0, math.floor(n * q - half) - 1), min(n - 1, math.ceil(n * q + half))


def p_below(successes: int, n: int, p0: float) -> float | None:
    """One-sided p-value that the true proportion is below `p0` (score test against p0). At p0 = 1 (a perfect
    expected accuracy) the test has no variance: one failure disproves it (0), none cannot (1); nothing is
    below p0 = 0 (1). Those are the exact binomial p-values."""
    if n <= 0 or not 0 <= p0 <= 1:
        return None
    if p0 >= 1:
        return 0.0 if successes < n else 1.0
    if p0 <= 0:
        return 1.0
    z = (successes / n - p0) / math.sqrt(p0 * (1 - p0) / n)
    return 0.5 * math.erfc(-z / math.sqrt(2))


def p_above(successes: int, n: int, p0: float) -> float | None:
    """One-sided p-value that the true proportion is above `p0`: `p_below` of the failures against 1 - p0."""
    return p_below(n - successes, n, 1 - p0) if n > 0 else None


def p_mean_above(mean: float, std: float, n: int, mu0: float) -> float | None:
    """One-sided p-value that the true mean is above `mu0` (normal approximation)."""
    if n < 2 or std <= 0 or not math.isfinite(std):
        return None
    z = (mean - mu0) / (std / math.sqrt(n))
    return 0.5 * math.erfc(z / math.sqrt(2))


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of a difference between two proportions (pooled z-test)."""
    if n1 <= 0 or n2 <= 0:
        return None
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0 if x1 / n1 == x2 / n2 else 0.0
    z = (x1 / n1 - x2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


def welch_p_greater(n1: int, mean1: float, var1: float, n2: int, mean2: float, var2: float,
                    ratio: float = 1.0) -> float | None:
    """One-sided p-value that the first mean exceeds `ratio` times the second (Welch's t-test on the
    first sample against the second scaled by `ratio`), from each sample's count, mean and variance
    (ddof=1), so a segment is tested without materialising its rows twice. A margin test: a segment is
    an incident when it is significantly more than `ratio` times worse, not merely different."""
    if n1 < 2 or n2 < 2 or ratio <= 0:
        return None
    from scipy.special import stdtr

    v1, v2 = var1 / n1, (ratio * ratio) * var2 / n2
    se2 = v1 + v2
    diff = mean1 - ratio * mean2
    if not math.isfinite(se2) or se2 <= 0:
        return None if not math.isfinite(diff) else (0.0 if diff > 0 else 1.0)
    df = se2 * se2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))
    return float(stdtr(df, -diff / math.sqrt(se2)))


# --------------------------------------------------------------------------- windows


def _np_ts(ts: pl.Series):
    import numpy as np

    return ts.cast(pl.Datetime("us")).to_numpy().astype("datetime64[us]"), np


ORIGIN = datetime(1970, 1, 1)  # the grid's origin: the Unix epoch (times are naive UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WIDE_STEPS = tuple(HOUR * h for h in (1, 2, 3, 4, 6, 8, 12, 24))  # a step widened by `limit` is one of these, or days


def whole_hours(d: timedelta) -> timedelta:
    """`d` rounded up to whole hours, at least one."""
    return max(HOUR, HOUR * math.ceil(d / HOUR))


def grid_step(span: timedelta, start: datetime, end: datetime, step: timedelta | None = None,
              limit: int | None = 168) -> timedelta:
    """The step between a rule's evaluations: `step` (default a quarter of the span) rounded up to whole hours,
    widened so that (start, end] holds at most about `limit` of them. A widened step is taken from a fixed set
    (hours dividing a day, then whole days), so a history that grows by a few minutes keeps its step and its
    grid, and every grid point falls on an hour of the day."""
    out = whole_hours(step or span / 4)
    need = (end - start) / limit if limit else timedelta(0)
    if need > out:
        out = next((s for s in WIDE_STEPS if s >= need), DAY * math.ceil(need / DAY))
    return out


def grid(end: datetime, step: timedelta, after: datetime) -> list[datetime]:
    """The ends of a rule's evaluation windows, oldest first: the grid points ORIGIN + k * `step` after `after`,
    the newest the last one before `end` and not after the start of the hour `end` is in, then `end` itself (the
    latest window; none when `end` is not after `after`). `step` is whole hours, so every grid point is on an
    hour and a window ending on one holds closed hours alone, and none depends on `end`: a pass an hour or a
    week later evaluates the same closed windows. The newest grid point is less than a step before `end`: a
    verdict is at most a step late. The one definition of both the raw path's windows (`windows`) and the
    rollups' (`rollup_rules`), and of the budget rule's."""
    if end <= after:
        return []
    hi = grid_before(end, step)
    out = [end]
    while hi > after:
        out.append(hi)
        hi -= step
    return out[::-1]


def grid_before(end: datetime, step: timedelta) -> datetime:
    """The newest grid point before `end` and not after the start of the hour `end` is in: the end of the
    evaluation before the one ending at `end` (`grid`), `end - step` when `end` is itself on the grid. An onset
    placed after it does not depend on where the view ends (`RuleEvaluator._onset`)."""
    origin = ORIGIN.replace(tzinfo=end.tzinfo)
    top = min(end.replace(minute=0, second=0, microsecond=0), end - timedelta(microseconds=1))
    return origin + step * ((top - origin) // step)


def grid_after(start: datetime, end: datetime, span: timedelta, step: timedelta) -> datetime:
    """Where a history's evaluation windows may start to end (`grid`'s `after`): a span or a step into it, so the
    first window is not a sliver; but never at or after `end`, so a history shorter than that (`check --since`
    the last run, `--from/--to` over 30 minutes) still evaluates its latest window. It had none: "no rows in
    the window", 0 firing and exit 0 with the rows there."""
    return min(start + min(span, step), max(start, end - timedelta(microseconds=1)))


def windows(ts: pl.Series, end: datetime, span: timedelta, min_rows: int, start: datetime,
            step: timedelta | None = None, limit: int = 168,
            reach: datetime | None = None) -> list[tuple[datetime, datetime, int]]:
    """(start, end, rows) windows ending at `end` and on the grid before it (`grid`, `grid_step`) back to
    `start`: each covers the trailing `span`, grown back until it holds `min_rows` rows (within the history, or
    back to `reach` when given: the rows before `start` a sparse model's verdict needs). Newest last. The step
    defaults to a quarter of the span, whole hours, widened so there are at most about `limit` windows: a
    verdict is at most a step late, and a window never lacks evidence because of where the clock cut it.
    A window whose own span holds no row starts where the last window with rows started (`carried_from`).
    """
    floor = min(start, reach) if reach is not None else start
    times, np = _np_ts(ts.filter((ts > floor) & (ts <= end)).sort())
    step = grid_step(span, start, end, step, limit)
    out = [_grown(times, np, hi, span, min_rows, floor) for hi in grid(end, step, grid_after(start, end, span, step))]

    def count(lo: datetime, hi: datetime) -> int:
        return int(np.searchsorted(times, np.datetime64(hi, "us"), side="right")
                   - np.searchsorted(times, np.datetime64(lo, "us"), side="right"))

    froms = carried_from([count(hi - span, hi) for _, hi, _ in out])
    return [w if j is None else (out[j][0], w[1], count(out[j][0], w[1])) for w, j in zip(out, froms)]


def carried_from(own: Sequence[int]) -> list[int | None]:
    """Per window (oldest first, by the rows `own` of its own span, before it grew back), the window whose start it
    takes: none for a window with rows, or before any; else the latest earlier one with rows. A window of none (a
    source that stopped) grown back to `min_rows` judged rows earlier windows judged, on a count the paths differ
    in (the raw path grows by rows, the rollups by whole hours): a 6 h error-rate window 6 h after the last row
    read its last 100 rows and fired on 12 errors the windows holding them (240 rows) had not breached on. So it
    is that last window's rows and verdict again, no new evidence: nothing new fires, nothing flips, and a firing
    incident keeps its onset, id and value. The one definition of both paths (`windows`, `RollupRules.windows`)."""
    out: list[int | None] = []
    last = None
    for i, k in enumerate(own):
        out.append(None if k else last)
        last = i if k else last
    return out


def latest_window(ts: pl.Series, end: datetime, span: timedelta, min_rows: int, start: datetime,
                  reach: datetime | None = None) -> tuple[datetime, datetime, int]:
    """The newest of `windows` (`limit=None`), the one ending at `end`, on the rate rules' grid (a window of no row
    of its own is the last one with rows: `carried_from`): what a rule says now. The SLO panels read it on every
    refresh (`health.slo_status`), so they judge the window the `burn_rate` rule judges. Found directly: the
    window at `end`, or the newest grid window with rows of its own (`_newest_with_rows`); building every window
    of the history to take the last cost the panels a window per hour of it. Like `windows(...)[-1]`, raises
    IndexError when no window ends after `start` (`end` not after it)."""
    floor = min(start, reach) if reach is not None else start
    times, np = _np_ts(ts.filter((ts > floor) & (ts <= end)).sort())
    step = grid_step(span, start, end, limit=None)
    after = grid_after(start, end, span, step)
    if end <= after:
        raise IndexError("no evaluation window ends after the history's start")

    def count(lo: datetime, hi: datetime) -> int:
        return int(np.searchsorted(times, np.datetime64(hi, "us"), side="right")
                   - np.searchsorted(times, np.datetime64(lo, "us"), side="right"))

    if count(end - span, end) == 0:
        hi = _newest_with_rows(times, np, grid_before(end, step), step, span, after)
        if hi is not None:  # a window of none carries the start of the last one with rows
            lo = _grown(times, np, hi, span, min_rows, floor)[0]
            return lo, end, count(lo, end)
    return _grown(times, np, end, span, min_rows, floor)


def _newest_with_rows(times, np, hi: datetime, step: timedelta, span: timedelta, after: datetime) -> datetime | None:
    """The newest grid point at or before `hi` (on the grid) and after `after` whose own span (point - span, point]
    holds one of the sorted `times`; None when none does. Jumps from row to row, not point to point: of the points
    at or before `hi`, those holding the newest row left lie in [row, row + span), and the newest of them is the
    answer; with none there, only points before the row remain. A span of a step or more (every rate rule of an
    hour or longer) always has one: a single look."""
    origin = ORIGIN.replace(tzinfo=hi.tzinfo)
    while hi > after:
        i = int(np.searchsorted(times, np.datetime64(hi, "us"), side="right"))
        if i == 0:
            return None
        t = times[i - 1].astype(datetime)  # the newest row at or before `hi`
        hi = min(hi, origin + step * ((t + span - timedelta(microseconds=1) - origin) // step))  # the newest point
        if hi <= after:  # before `t + span`
            return None
        if hi >= t:
            return hi
    return None


def _grown(times, np, hi: datetime, span: timedelta, min_rows: int, floor: datetime) -> tuple[datetime, datetime, int]:
    """The window (lo, hi] over the trailing `span`, grown back to `min_rows` of the sorted `times` (after `floor`),
    and the rows it holds: rows of the instant its first row is at are in it too (it opens a microsecond before
    that instant), and counted (the count said `min_rows` where the drift scores read one more, `n_cur`)."""
    right = int(np.searchsorted(times, np.datetime64(hi, "us"), side="right"))
    lo = hi - span
    left = int(np.searchsorted(times, np.datetime64(lo, "us"), side="right"))
    if right - left < min_rows and right >= min_rows:
        lo = min(lo, times[right - min_rows].astype(datetime) - timedelta(microseconds=1))
        left = int(np.searchsorted(times, np.datetime64(lo, "us"), side="right"))
    return max(lo, floor), hi, right - left


def own_rows(ts: pl.Series, spans: list[tuple[datetime, datetime, int]], span: timedelta) -> list[int]:
    """Per window (lo, hi, n), the rows of `ts` in its own span (hi - span, hi], before it was grown back."""
    times, np = _np_ts(ts.sort())
    return [int(np.searchsorted(times, np.datetime64(hi, "us"), side="right")
                - np.searchsorted(times, np.datetime64(hi - span, "us"), side="right")) for _, hi, _ in spans]


def no_new_rows(e: Evaluation, span: timedelta, what: str) -> Evaluation:
    """A quality window whose own span holds none of its rows (`own_rows` 0: a source that stopped), grown back
    only to rows earlier windows judged, is no evidence (breach None): nothing fires or resolves on it. Its verdict
    was those rows' again, on a count that differs between the paths (the raw path grows it by rows, the rollups
    by whole hours), and a source stopped 15 h before fired a second incident from the rollups alone."""
    if e.value is None:
        return e
    return Evaluation(e.start, e.end, 0, None, None,
                      note=f"no {what} in the {_hours(span)} to {e.end:%Y-%m-%d %H:%M}Z: no new evidence")


def _hours(d: timedelta) -> str:
    h = d / HOUR
    return f"{h:g} h" if h < 48 else f"{d / DAY:g} days"


def runs(evals: Sequence[Evaluation], op: str = ">", min_count: int = 1) -> list[Run]:
    """Runs of breaching evaluations; an evaluation without evidence (breach None) neither starts nor ends one.
    A run that ended after fewer than `min_count` breaching evaluations was a fluke and is dropped; one
    still going at the latest evaluation is kept."""
    out: list[Run] = []
    first: Evaluation | None = None
    peak, count, last = None, 0, None
    better = max if op.startswith(">") else min
    for e in evals:
        if e.breach is True:
            if first is None:
                first, peak, count = e, e.value, 0
            elif e.value is not None:
                peak = e.value if peak is None else better(peak, e.value)
            count, last = count + 1, e
        elif first is not None and e.value is not None and (e.breach is None or not e.settled):
            last = e  # inconclusive, the run goes on: still the latest thing known (its value and interval shown)
        elif e.breach is False and first is not None:
            if count >= min_count:
                out.append(Run(first.end, first.start, e.end, peak, e, count))
            first = None
    if first is not None:
        out.append(Run(first.end, first.start, None, peak, last or first, count))
    return out


def latest_state(evals: Sequence[Evaluation]) -> str:
    """The rule's state now: firing, resolved (latest evidence is fine) or insufficient data."""
    rs = runs(evals)
    if rs and rs[-1].end is None:
        return FIRING
    known = [e for e in evals if e.breach is not None]
    return RESOLVED if known else INSUFFICIENT


# --------------------------------------------------------------------------- metrics per window


class Sorted:
    """A frame sorted by time, sliced by window without scanning it (windows are many)."""

    def __init__(self, df: pl.DataFrame, ts: str = "ts"):
        self.df = df.sort(ts)
        self.times, self._np = _np_ts(self.df.get_column(ts))

    def slice(self, lo: datetime, hi: datetime) -> pl.DataFrame:
        np = self._np
        left = int(np.searchsorted(self.times, np.datetime64(lo, "us"), side="right"))
        right = int(np.searchsorted(self.times, np.datetime64(hi, "us"), side="right"))
        return self.df.slice(left, max(0, right - left))


def slice_window(df: pl.DataFrame | Sorted, lo: datetime, hi: datetime) -> pl.DataFrame:
    """Rows with lo < ts <= hi."""
    return (df if isinstance(df, Sorted) else Sorted(df)).slice(lo, hi)


def rate_evaluations(preds: pl.DataFrame, spans: list[tuple[datetime, datetime, int]], expr: pl.Expr,
                     op: str, threshold: float, min_rows: int, proportion: bool = False,
                     bounds: Callable[[pl.DataFrame], tuple[float | None, float | None]] | None = None
                     ) -> list[Evaluation]:
    """A rate or level per window (error rate, p95, burn rate); a proportion carries its Wilson interval, a
    level its `bounds` when they are known (the burn rate's, from its shares' intervals)."""
    out = []
    preds = Sorted(preds)
    for lo, hi, _ in spans:
        part = slice_window(preds, lo, hi)
        value = part.select(expr).item() if part.height >= min_rows else None
        known = bounds(part) if bounds is not None and value is not None else None
        out.append(rate_evaluation(lo, hi, part.height, value, op, threshold, min_rows, proportion, known))
    return out


RECOVERED = 0.5  # a rate at most this share of its threshold ends an incident whatever its interval's width


def rate_evaluation(lo: datetime, hi: datetime, n: int, value: float | None, op: str, threshold: float,
                    min_rows: int, proportion: bool = False,
                    bounds: tuple[float | None, float | None] | None = None) -> Evaluation:
    """One window's verdict on a rate or level of `n` rows (the raw path and the rollups' share it).

    A proportion breaches only when its whole interval is past the threshold. A level with `bounds` (the SLO
    burn) breaches on its value when its lower bound is past RECOVERED of the threshold too: one error in 100
    rows against a 0.1 % budget is a burn of 10 whose interval reaches down to 1.8, and it paged every healthy
    model of a 99.9 % SLO; a canary failing 8 % against a 1 % budget (8x, down to 4.1x) still pages. Either ends
    an incident (`settled`) only with evidence of recovery: its interval clear of the threshold, or its value at
    most RECOVERED of it (a window that could never be narrow enough, 100 clean rows against a 0.1 % budget,
    still ends it, while a noisy hour at 5x against a threshold of 6 does not)."""
    if n < min_rows:
        return Evaluation(lo, hi, n, None, None, note=f"{n} rows, needs {min_rows}")
    value = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
    low = high = None
    breach = None if value is None else OPS[op](value, threshold)
    if value is not None and proportion:
        low, high = wilson(round(value * n), n)
    elif value is not None and bounds is not None and None not in bounds:
        low, high = bounds
    settled = True
    if low is not None and high is not None:
        up = op.startswith(">")
        sure, doubt = (low, high) if up else (high, low)
        if proportion:
            # past the threshold with its whole interval; inside it, it is not known yet
            breach = True if OPS[op](sure, threshold) else (False if not breach else None)
        elif breach and up and low <= threshold * RECOVERED:
            breach = None  # past the threshold on too few rows to tell from noise: not known yet
        near = value <= threshold * RECOVERED if up else value >= threshold / RECOVERED if threshold else False
        settled = breach is not False or not OPS[op](doubt, threshold) or near
    return Evaluation(lo, hi, n, value, breach, low, high, settled=settled)


def burn_bounds(errors: int, n: int, slow: int, timed: int, error_budget: float,
                latency_budget: float) -> tuple[float | None, float | None]:
    """95 % bounds of the burn rate, the larger of the error share over its budget and the slow share over
    its budget: each share's Wilson interval, scaled."""
    lows, highs = [], []
    for k, m, budget in ((errors, n, error_budget), (slow, timed, latency_budget)):
        if m > 0 and budget > 0:
            lo, hi = wilson(k, m)
            lows.append(lo / budget)
            highs.append(hi / budget)
    return (max(lows), max(highs)) if lows else (None, None)


def ready_at(end: str, requests: pl.Expr, min_rows: int) -> pl.Expr:
    """In a stretch's aggregation: the `end` of the block (a raw row; a rollup hour) holding the stretch's
    `min_rows`-th request (`requests`: the requests so far, block by block), when a cost-spike verdict on it
    first had its evidence."""
    return pl.col(end).filter(requests >= min_rows).first().alias("ready")


def unit_cost_evaluations(per: pl.DataFrame, key: str, op: str, threshold: float,
                          min_rows: int) -> tuple[list[Evaluation], dict]:
    """The cost-spike rule: each serving stretch's cost per request against the stretch before it, where the
    version or prompt (`key`) changed. `per` holds the stretches in time order (`_k`, `start`, `end`, `n`,
    `cost`), from raw rows or from hourly rollup blocks alike, so both paths judge a change one way."""
    per = per.filter(pl.col("n") >= min_rows)
    if per.height < 2:
        return [], {"note": f"no change of {key} with {min_rows} requests on each side"}
    rows = per.to_dicts()
    evals = []
    for before, after in zip(rows, rows[1:]):
        if before["_k"] == after["_k"]:
            continue
        base, unit = before["cost"] / before["n"], after["cost"] / after["n"]
        value = unit / base if base > 0 else None
        breach = None if value is None else OPS[op](value, threshold)
        # between the old stretch's end and the new one's start: rollup blocks of one hour split by a change each
        # span the whole hour, so the later of the two ends it (the change was seen "at 10:00", before its onset)
        lo, hi = sorted((before["end"], after["start"]))
        # the evidence is there once the new stretch holds `min_rows` requests (`ready_at`), not at its first: the
        # run's detection, so a view at it lists the incident (one before it says "insufficient data")
        hi = max(hi, after.get("ready") or hi)
        evals.append(Evaluation(lo, hi, after["n"], value, breach,
                                note=f"${unit * 1000:.3g}/1k requests on {key} {after['_k']} vs "
                                     f"${base * 1000:.3g}/1k on {before['_k']}"))
    return evals, {}


def correct() -> pl.Expr:
    """A prediction equals its label: as numbers when both are numbers (a label stored as "1.0" matches a
    prediction "1"), else as text."""
    from console.analytics.quality import same_value

    return same_value("label", "prediction")  # one definition: the quality screens' and the rules' alike


def abs_error() -> pl.Expr:
    """A regression prediction's absolute error against its label: what the MAE rules and their onsets average."""
    return (pl.col("prediction_num").cast(pl.Float64) - pl.col("label_num").cast(pl.Float64)).abs()


def labelled_value(metric: str) -> pl.Expr:
    """Per labelled row, what a quality rule averages: 1.0 for a correct prediction (`accuracy_drop`), else the
    absolute error (`mae_increase`)."""
    return correct().cast(pl.Float64) if metric == "accuracy_drop" else abs_error()


def accuracy_evaluations(labelled: pl.DataFrame, spans: list[tuple[datetime, datetime, int]], expected: float,
                         threshold: float, min_labels: int, alpha: float = ALPHA, op: str = ">") -> list[Evaluation]:
    """value = expected accuracy - window accuracy (`accuracy_evaluation`) per window."""
    right = correct()
    out = []
    labelled = Sorted(labelled)
    for lo, hi, _ in spans:
        part = slice_window(labelled, lo, hi)
        k = int(part.select(right.sum()).item() or 0) if part.height >= min_labels else 0
        out.append(accuracy_evaluation(lo, hi, part.height, k, expected, threshold, min_labels, alpha, op))
    return out


def accuracy_evaluation(lo: datetime, hi: datetime, n: int, k: int, expected: float, threshold: float,
                        min_labels: int, alpha: float = ALPHA, op: str = ">") -> Evaluation:
    """`k` right of `n` labels: a breach needs the drop past `threshold` by the rule's `op` and the accuracy
    significantly below the expected level (one-sided score test at `alpha`; above it for a `<` or `<=` rule,
    accuracy better than expected); recovery needs the drop not past the threshold on enough labels. The rule
    read `>` whatever its `op`: `>= 0.25` did not fire at a drop of exactly 0.25, `< 0` fired on a drop."""
    if n < min_labels:
        return Evaluation(lo, hi, n, None, None, note=f"{n} labelled rows with a prediction, needs {min_labels}")
    acc = k / n
    low, high = wilson(k, n)
    drop = expected - acc
    p = p_below(k, n, expected) if op.startswith(">") else p_above(k, n, expected)
    breach = _significant(OPS[op](drop, threshold), p, alpha)
    return Evaluation(lo, hi, n, drop, breach, expected - high, expected - low,
                      note=f"accuracy {acc:.3f} [{low:.3f}, {high:.3f}] on {n} labels vs expected {expected:.3f}")


def mae_evaluations(labelled: pl.DataFrame, spans: list[tuple[datetime, datetime, int]], expected: float,
                    threshold: float, min_labels: int, alpha: float = ALPHA, op: str = ">") -> list[Evaluation]:
    """value = window MAE - expected MAE (`mae_evaluation`) per window."""
    err = abs_error()
    out = []
    labelled = Sorted(labelled)
    for lo, hi, _ in spans:
        part = slice_window(labelled, lo, hi).select(err.alias("e")).drop_nulls().filter(pl.col("e").is_finite())
        n = part.height
        mean, std = (float(part["e"].mean()), float(part["e"].std() or 0.0)) if n >= min_labels else (0.0, 0.0)
        out.append(mae_evaluation(lo, hi, n, mean, std, expected, threshold, min_labels, alpha, op))
    return out


def mae_evaluation(lo: datetime, hi: datetime, n: int, mean: float, std: float, expected: float,
                   threshold: float, min_labels: int, alpha: float = ALPHA, op: str = ">") -> Evaluation:
    """`n` finite absolute errors of mean `mean` and standard deviation `std` (ddof=1): a breach needs the
    MAE's excess past `threshold` by the rule's `op` and the MAE significantly above the expected level at
    `alpha` (below it for a `<` or `<=` rule)."""
    if n < min_labels:
        return Evaluation(lo, hi, n, None, None, note=f"{n} labels, needs {min_labels}")
    half = Z_95 * std / math.sqrt(n)
    diff = mean - expected
    p = p_mean_above(mean, std, n, expected + 0.0) if op.startswith(">") else p_mean_above(-mean, std, n, -expected)
    breach = _significant(OPS[op](diff, threshold), p, alpha)
    return Evaluation(lo, hi, n, diff, breach, diff - half, diff + half,
                      note=f"MAE {mean:.3g} ± {half:.2g} on {n} labels vs expected {expected:.3g}")


def _significant(past: bool, p: float | None, alpha: float) -> bool | None:
    """A quality window's breach: past the threshold and significant (True), not past it (False, evidence of
    recovery), or past it on too few labels to be sure (None)."""
    if not past:
        return False
    return True if p is not None and p < alpha else None


def breached_at(labelled: pl.DataFrame, metric: str, lo: datetime, hi: datetime, expected: float, threshold: float,
                min_labels: int, alpha: float = ALPHA, op: str = ">") -> datetime | None:
    """When the window (lo, hi]'s accuracy or MAE evaluation first breached as its labels arrived (`label_ts`): a
    view at T counts the labels logged by T, so the evidence was there at the first arrival, from `hi` on, whose
    labels so far breach (`accuracy_evaluation`, `mae_evaluation`), not when the window's last label (a correction
    days later) landed. None when the labels known never breach."""
    value = labelled_value(metric)
    arrived = pl.when(pl.col("label_ts") > hi).then(pl.col("label_ts")).otherwise(pl.lit(hi))
    steps = (labelled.filter((pl.col("ts") > lo) & (pl.col("ts") <= hi))
             .select(arrived.alias("at"), value.alias("v")).drop_nulls().filter(pl.col("v").is_finite())
             .group_by("at").agg(pl.len().alias("n"), pl.col("v").sum().alias("s"), (pl.col("v") ** 2).sum().alias("q"))
             .sort("at").with_columns(pl.col("n").cum_sum(), pl.col("s").cum_sum(), pl.col("q").cum_sum()))
    for at, n, s, q in steps.iter_rows():
        if metric == "accuracy_drop":
            got = accuracy_evaluation(lo, hi, n, round(s), expected, threshold, min_labels, alpha, op)
        else:
            std = math.sqrt(max(q - s * s / n, 0.0) / (n - 1)) if n > 1 else 0.0
            got = mae_evaluation(lo, hi, n, s / n, std, expected, threshold, min_labels, alpha, op)
        if got.breach:
            return at
    return None


REPLAY_ROWS = 20_000  # labelled rows a window's evidence is replayed over label by label (`first_evidence`)


def first_evidence(labelled: pl.DataFrame, metric: str, hi: datetime, span: timedelta, expected: float,
                   threshold: float, min_labels: int, alpha: float = ALPHA, op: str = ">", hourly: bool = False
                   ) -> tuple[datetime, datetime] | None:
    """(when, start) of the evidence of the quality window ending at `hi`: the first arrival of a label (`label_ts`;
    `hi` for one logged before it) at which that window, sized as a view then sizes it (the span, grown back to
    `min_labels` labels logged by then, as `windows` grows it), breaches, and that window's start. A view at T sizes
    it by the labels logged by T: a model with fewer labels a day than that had its window start earlier on an
    earlier view, so its detection (the evidence replayed over the later view's window) came hours later and its
    onset moved, with its id, as `--at` moved. This depends on the labels logged by `when` alone. None when the
    labels known never breach, or when the window grows back over more than REPLAY_ROWS rows (labels later than
    the span on a busy model): then the caller replays the view's window (`breached_at`). `hourly`: grown by whole
    hours, as the rollups grow it (`rollup_rules`). `labelled`: the labelled rows up to `hi`, as far back as the
    window may grow."""
    if "label_ts" not in labelled.columns:
        labelled = labelled.with_columns(pl.lit(None, pl.Datetime("us")).alias("label_ts"))
    labelled = labelled.filter(pl.col("ts") <= hi)
    arrived = pl.when(pl.col("label_ts") > hi).then(pl.col("label_ts")).otherwise(pl.lit(hi))
    rows = (labelled.select("ts", arrived.alias("at"), labelled_value(metric).alias("v"))
            .drop_nulls("v").filter(pl.col("v").is_finite()).sort("ts"))
    known_then = rows.filter(pl.col("at") <= hi)
    if rows.height < min_labels:
        return None
    if known_then.height >= min_labels:  # no window starts before the one its labels known at `hi` make
        rows = rows.filter(pl.col("ts") >= known_then["ts"][-min_labels])
    if rows.height > REPLAY_ROWS and rows.filter(pl.col("ts") > hi - span).filter(pl.col("at") <= hi).height < min_labels:
        return None
    import numpy as np

    ts, _ = _np_ts(rows["ts"])
    at, _ = _np_ts(rows["at"])
    v = rows["v"].to_numpy()
    inside = ts > np.datetime64(hi - span, "us")
    for t in np.unique(at):
        known = at <= t
        if int((known & inside).sum()) >= min_labels:  # the span holds its labels from here on: as they arrive
            got = breached_at(labelled.filter(pl.col("ts") > hi - span), metric, hi - span, hi, expected, threshold,
                              min_labels, alpha, op)
            return (got, hi - span) if got is not None else None
        picked = np.flatnonzero(known)[-min_labels:]
        if picked.size < min_labels or not (known & inside).any():  # none in its span yet: no evidence (`no_new_rows`)
            continue
        start = ts[picked[0]].astype("datetime64[h]") if hourly else None
        if start is not None:  # the whole hour the 200th label back is in, and every known label after it
            picked = np.flatnonzero(known & (ts >= start))
        part = v[picked]
        got = accuracy_evaluation(hi, hi, part.size, int(round(part.sum())), expected, threshold, min_labels, alpha,
                                  op) if metric == "accuracy_drop" else \
            mae_evaluation(hi, hi, part.size, float(part.mean()), float(part.std(ddof=1)), expected, threshold,
                           min_labels, alpha, op)
        if got.breach:
            first = (start if start is not None else ts[picked[0]]).astype("datetime64[us]").astype(datetime)
            return t.astype("datetime64[us]").astype(datetime), min(
                hi - span, first if start is not None else first - timedelta(microseconds=1))
    return None


MIN_GAPS = 20  # gaps between rows a source's usual (95th percentile) gap is measured on


def staleness(last_ts: datetime | None, ts: pl.Series, end: datetime, limit: timedelta | None = None,
              factor: float = 10.0, floor: timedelta = timedelta(minutes=15)) -> tuple[bool, float | None, timedelta]:
    """(stale, minutes since the newest row, the gap allowed): stale when no row came for `factor` times the
    source's usual (95th percentile) gap, at least `floor`, or for more than `limit` when one is configured. Of
    fewer than MIN_GAPS gaps the largest stands in for the p95 (of 19 it lies between the two largest): a model
    logging 3 times a day for a week paged at the floor an hour into its usual 6-hour pause."""
    if last_ts is None:
        return False, None, floor
    times = ts.sort()
    gaps = times.diff().drop_nulls()
    usual = gaps.quantile(0.95) if gaps.len() >= MIN_GAPS else gaps.max() if gaps.len() else None
    allowed = max(floor, usual * factor) if usual is not None else floor
    if limit is not None:
        allowed = limit
    silent = end - last_ts
    return silent > allowed, silent.total_seconds() / 60, allowed


# a rhythm is a silence kept on the same clock twice running: a day and two days before (nights, hourly batches), or
# a week and two weeks before (weekends); one earlier outage at the same hour is no rhythm, and excused a source
# that died at the hour it once failed
SILENCE_LAGS = ((timedelta(days=1), timedelta(days=2)), (timedelta(days=7), timedelta(days=14)))


def usual_silence_spans(last_ts: datetime, end: datetime, allowed: timedelta
                        ) -> list[list[tuple[datetime, datetime, datetime]]]:
    """Where to look for the same silence in the source's past: per rhythm (`SILENCE_LAGS`), per lag, (lived, lo,
    hi). The silence is usual when, for every lag of some rhythm, (lo, hi] holds no row while (lived, lo] holds
    one (the source was logging then, so the quiet is its rhythm and not a gap in what was read). The span is
    the silence moved back by the lag, its start a little later (a batch may end a few minutes later one day)
    and its end `allowed` earlier: a source may be late by `allowed` before it is stale, but not later than it
    was quiet on the same clock before."""
    silent = end - last_ts
    if silent <= allowed:
        return []
    jitter = min(allowed, (silent - allowed) / 2)
    return [[(last_ts - lag - timedelta(days=1), last_ts - lag + jitter, end - lag - allowed) for lag in lags]
            for lags in SILENCE_LAGS]


def moved(columns: Sequence, ) -> list[tuple[str, float]]:
    """Features by how far they moved: the score in units of its threshold (p-values on a log scale),
    largest first; only evaluated columns."""
    out = []
    for c in columns:
        if not getattr(c, "evaluated", True) or c.score is None or (isinstance(c.score, float) and math.isnan(c.score)):
            continue
        out.append((c.column, _size(c, c.score)))
    return sorted(out, key=lambda kv: -kv[1])


def moved_range(c) -> tuple[float, float]:
    """(least, most) that an evaluated column can have moved (`moved`'s size) given its score's bound: a sketch
    score is within `bound` of the exact one (for KS the bound is on the statistic, and `p_range` holds the
    p-values at its ends); an exact score, or counts merged exactly (bound 0), is its own range. A sketch score
    that states no range gives (-inf, inf): only the exact score can settle a comparison of it."""
    size = _size(c, c.score)
    bound = getattr(c, "bound", None)
    if getattr(c, "method", "exact") != "sketch" or bound == 0.0:
        return size, size
    if bound is None or math.isnan(bound):
        return -math.inf, math.inf
    if c.direction.startswith("p"):
        p_range = (c.stats or {}).get("p_range")
        if not p_range or any(p is None or math.isnan(p) for p in p_range):
            return -math.inf, math.inf
        ends = [_size(c, p) for p in p_range]
        return min(ends), max(ends)
    return _size(c, max(c.score - bound, 0.0)), _size(c, c.score + bound)


def _size(c, score: float) -> float:
    """A score in units of the column's threshold (p-values on a log scale: 1 at the threshold)."""
    if c.direction.startswith("p"):
        return float(math.log10(max(score, 1e-300)) / math.log10(c.threshold)) if 0 < c.threshold < 1 else 0.0
    return float(score / c.threshold) if c.threshold > 0 else float(score)
