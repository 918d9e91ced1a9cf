"""Where a series' mean shifts, and whether the shift is more than noise: the CUSUM change point an incident's
onset is placed at (`incident_onsets`). Plain functions over a Polars frame, without SciPy: it is on every
command's path, and importing SciPy costs about a second."""

from __future__ import annotations

from datetime import datetime

import polars as pl

# A shift the CUSUM finds counts when so large an excursion has a chance under SHIFT_ALPHA without one. Its null is
# that of the largest excursion over every split point, not of a t at one chosen beforehand: the old test (the
# means before and after the excursion's point, t >= 3, "p < 0.003" for one point) passed a stationary series' noise
# about one time in 22 (4.6 % of 24,000 seeded series; now 0.1 %), and a log failing at one rate from its first row
# got its onset at 00:42:54, hence its id, from noise.
SHIFT_ALPHA = 0.003


def bridge_sf(x: float) -> float:
    """P(sup |B| > x) for a Brownian bridge B (the Kolmogorov distribution's tail, scipy's `kstwobign.sf`, without
    importing scipy: a second on a command's path): 2 sum_j (-1)^(j-1) exp(-2 j^2 x^2), which converges fast for x
    past 1; below it, 1 - the CDF's theta series sqrt(2 pi)/x sum_j exp(-(2j-1)^2 pi^2 / (8 x^2))."""
    import math

    if x <= 0:
        return 1.0
    if x < 1:
        cdf = math.sqrt(2 * math.pi) / x * sum(math.exp(-(2 * j - 1) ** 2 * math.pi ** 2 / (8 * x * x))
                                               for j in range(1, 8))
        return 1.0 - cdf
    return max(0.0, 2 * sum((-1) ** (j - 1) * math.exp(-2 * j * j * x * x) for j in range(1, 20)))


def change_point(part: pl.DataFrame, col: str, lo: datetime, hi: datetime, earliest: datetime | None = None,
                  located: bool = False) -> datetime:
    """Where the mean of `col` shifts (the largest cumulative-sum excursion, CUSUM), clamped to (earliest, hi]: the
    rows given start in the window before the first breaching one (`earliest`), which a change late in it did not yet
    breach (it was clamped to `lo`, the next window's start: a switch at 10:47 had its burn onset at 11:00);
    the first breaching window's start when there are too few rows to say, or when the excursion is one a series
    without a shift makes (a level held since before the window: the CUSUM's largest excursion of a stationary
    series falls anywhere, and seven models breaching alike from their first row got onsets hours apart).
    That is the classical CUSUM test: max |S_k| / (sd * sqrt(n)), S the cumulative sum of the values less their
    mean and sd the series' own spread, is without a shift the supremum of a Brownian bridge's |B| (Kolmogorov's
    distribution) and a shift is one only if that tail is under `SHIFT_ALPHA`. Read at fewer points (the instants'
    ends), the excursion only comes out smaller; over seeded series of 0/1 errors, latencies and ties the rate of
    false shifts was SHIFT_ALPHA or less (0.1 % overall, under it on few rows: tests/test_onset_cusum_null.py).
    The change falls between two instants, never among rows of one instant (a second-resolution log's, a batch's):
    the excursion is read where an instant's rows end, so the order such rows come in (a sort's ties, the raw and
    the rollup path read them apart) does not move the onset; it did, by one instant, and so an incident's id.
    `located`: once the test finds a shift, place it where the standardised excursion |S_k| / sqrt(k (n - k) / n)
    peaks (the step's maximum-likelihood place), not the raw one: the raw excursion leans to the middle, and a
    drift's departures, a +10 sd shift over the last 3 h of 36, had their onset at 19:00 for 21:00 (two hours of
    noise above the series' mean). Drift onsets only (`incident_onsets.Onsets._departed`): the rate and quality onsets keep theirs."""
    part = part.sort("ts", col)
    if part.height < 20:
        return lo
    v = part[col].cast(pl.Float64).to_numpy()
    import numpy as np

    s = np.cumsum(v - v.mean())
    ts = part["ts"].to_numpy()
    ends = np.flatnonzero(np.r_[ts[1:] != ts[:-1], True])  # each instant's last row
    k = int(ends[np.argmax(np.abs(s[ends]))])
    if k + 1 >= v.size:
        return lo
    # the series' own spread (pooled), not each side's: seven rows without an error after a hundred with one in
    # ten are no shift, though their variance is nil
    spread = float(v.std(ddof=1)) * np.sqrt(v.size)
    # a spread that is not a number (values summing past a float's range: a test's 1e308 ms latencies) tells
    # nothing: NaN compared as no tail at all, and a shift was taken from it
    if not np.isfinite(spread) or spread == 0 or bridge_sf(abs(float(s[k])) / spread) >= SHIFT_ALPHA:
        return lo
    if located:
        rows = ends[:-1] + 1.0  # rows up to each instant's end, the last instant (no rows after it) left out
        k = int(ends[:-1][np.argmax(np.abs(s[ends[:-1]]) / np.sqrt(rows * (v.size - rows) / v.size))])
    when = part["ts"][k + 1]
    return min(max(when, lo if earliest is None else earliest), hi)
