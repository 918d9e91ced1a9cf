"""Two-sample drift statistics over numpy arrays, matching scipy/Evidently numerically.

Numeric statistics take arrays that are already sorted (float64, no NaN): the reference is sorted
once when it is prepared, the current window once per column, and everything below is a linear
pass or a binary search over those -- this is what makes 1M-vs-1M rows affordable.

* KS: statistic and two-sided p-value exactly as `scipy.stats.ks_2samp(method="auto")` -- exact
  distribution when both samples have at most 10,000 values, Smirnov's asymptotic one above.
* Wasserstein-1: integral of |F_ref - F_cur|, computed as the equal integral of |Q_ref - Q_cur|
  over the merged grid of quantile steps (no re-sort of the merged sample). Equal to
  `scipy.stats.wasserstein_distance` to float rounding.
* PSI / Jensen-Shannon use Evidently's `get_binned_data`: a numeric column whose reference has
  more than 20 distinct values is cut with `np.histogram_bin_edges(ref+cur, bins="sturges")`;
  anything else is binned by distinct value over the union of both samples. PSI replaces empty
  bins by 0.0001 (or min non-zero share / 1e6 when that is smaller); JS leaves them at zero.
* Chi-square is the two-sample test of homogeneity on the 2-by-k reference-by-current table,
  exactly `scipy.stats.chi2_contingency` (Yates' correction when the table has one degree of
  freedom). Evidently instead runs a goodness-of-fit `chisquare(f_obs=cur, f_exp=ref*n_cur/n_ref)`:
  it treats reference counts as exact, so sampling noise in a rare reference category alone can
  flag drift with large current windows; and a category the reference never saw gives an
  expected count of zero (division by zero -> inf statistic / nan p-value). The contingency test
  accounts for noise in both samples and handles new categories.
* Z: two-proportion z-test, as Evidently's `z` test, but the p-value uses the survival function
  (2*sf(|z|)) instead of 2*(1-cdf(|z|)), which only differs below 1e-16.
"""

from __future__ import annotations

import functools
import math

import numpy as np

KS_EXACT_MAX_N = 10_000  # scipy's MAX_AUTO_N: 'auto' tries the exact distribution up to here


def ks_sorted(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """KS statistic and p-value of two sorted samples, as `scipy.stats.ks_2samp`.

    F_a - F_b is a right-continuous step function, so its extremes sit at sample points, with
    "<=" counts (scipy's searchsorted(side="right")). One binary search of b in a gives both
    directions: counts of b below each a come from a cumulative bincount of the positions.
    """
    n, m = a.size, b.size
    below = np.searchsorted(a, b, side="left")  # #{a < b_j}
    # b_j <= a_i  <=>  #{a < b_j} <= i, so #{b <= a_i} is a cumulative count of `below`.
    b_upto_a = np.bincount(below, minlength=n + 1)[:n]
    np.cumsum(b_upto_a, out=b_upto_a)
    g = _right_counts_self(a)  # F_a - F_b at the a points, built in place to bound memory
    g /= n
    g -= b_upto_a / m
    del b_upto_a
    d_plus, d_minus = float(g.max()), -float(g.min())
    g = _right_counts_at(a, b, below).astype(np.float64)  # ... and at the b points
    del below
    g /= n
    g -= _right_counts_self(b) / m
    d_plus, d_minus = max(d_plus, float(g.max())), max(d_minus, -float(g.min()))
    d = max(min(max(d_minus, 0.0), 1.0), d_plus)
    return ks_pvalue(d, n, m)


def _right_counts_at(a: np.ndarray, b: np.ndarray, left: np.ndarray) -> np.ndarray:
    """#{a <= b_j} from #{a < b_j}: only values of b that occur in a need a second search."""
    out = left.copy()
    inside = left < a.size
    tie = np.zeros(b.size, dtype=bool)
    tie[inside] = a[left[inside]] == b[inside]
    if tie.any():
        out[tie] = np.searchsorted(a, b[tie], side="right")
    return out


def _right_counts_self(x: np.ndarray) -> np.ndarray:
    """For sorted x, the number of elements <= x[i] (the end of each run of ties)."""
    if x.size == 0:
        return np.zeros(0)
    ends = np.flatnonzero(x[1:] != x[:-1])  # last index of each run except the final one
    if ends.size == x.size - 1:  # all distinct
        return np.arange(1, x.size + 1, dtype=np.float64)
    run_end = np.append(ends, x.size - 1) + 1
    run_len = np.diff(np.concatenate(([0], run_end)))
    return np.repeat(run_end, run_len).astype(np.float64)


def ks_pvalue(d: float, n1: int, n2: int) -> tuple[float, float]:
    """(statistic, p-value) for a two-sided KS statistic, following ks_2samp's 'auto' method."""
    from scipy.stats import distributions

    g = math.gcd(n1, n2)
    if max(n1, n2) <= KS_EXACT_MAX_N:
        try:
            from scipy.stats._stats_py import _attempt_exact_2kssamp
        except ImportError:  # private helper moved in a future scipy: asymptotic is still valid
            _attempt_exact_2kssamp = None
        if _attempt_exact_2kssamp is not None:
            ok, d_exact, prob = _attempt_exact_2kssamp(n1, n2, g, d, "two-sided")
            if ok:
                return float(d_exact), float(np.clip(prob, 0.0, 1.0))
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    prob = distributions.kstwo.sf(d, np.round(en))
    return float(d), float(np.clip(prob, 0.0, 1.0))


def wasserstein_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """First Wasserstein distance of two sorted samples (scipy's `wasserstein_distance`).

    W1 = integral |F_a - F_b| dx = integral_0^1 |Q_a(t) - Q_b(t)| dt. The quantile functions step
    at t = i/n and j/m, so the integral is a weighted sum over a grid that depends only on the two
    sizes -- it is cached, and all columns of a window share it.
    """
    n, m = a.size, b.size
    if n == m:
        return float(np.mean(np.abs(a - b)))
    ia, ib, width = _quantile_grid(n, m)
    return float(np.dot(width, np.abs(a[ia] - b[ib]))) / (float(n) * float(m))


@functools.lru_cache(maxsize=4)
def _quantile_grid(n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices into each sample and widths (in units of 1/(n*m)) of the merged quantile steps."""
    grid = np.empty(n + m + 2, dtype=np.int64)
    # a-step i sits at i*m; b-steps strictly below it number ceil(i*m/n); a goes before an equal b.
    steps = np.arange(n + 1, dtype=np.int64)
    at = steps * m
    pos = at + (n - 1)
    pos //= n
    pos += steps
    grid[pos] = at
    del steps, at, pos
    steps = np.arange(m + 1, dtype=np.int64)
    at = steps * n
    pos = at // m
    pos += steps + 1
    grid[pos] = at
    del steps, at, pos
    width = np.diff(grid)
    keep = width > 0
    w = width[keep].astype(np.float64)
    del width
    left = grid[:-1][keep]
    del grid, keep
    idx_type = np.int32 if max(n, m) < 2**31 else np.int64
    ia = np.minimum(left // m, n - 1).astype(idx_type)
    ib = np.minimum(left // n, m - 1).astype(idx_type)
    for arr in (ia, ib, w):
        arr.flags.writeable = False
    return ia, ib, w


def sturges_edges(lo: float, hi: float, size: int, integer: bool = False) -> np.ndarray:
    """`np.histogram_bin_edges(x, bins="sturges")` from x's min, max and size alone."""
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
        n_bins = 1
    else:
        width = (hi - lo) / (np.log2(size) + 1.0)
        if integer and width < 1:
            width = 1
        n_bins = int(np.ceil((hi - lo) / width)) if width else 1
    return np.linspace(lo, hi, n_bins + 1, endpoint=True, dtype=np.float64)


def histogram_sorted(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """`np.histogram(x, edges)[0]` for sorted x: half-open bins, the last one closed."""
    cuts = np.searchsorted(x, edges, side="left")
    cuts[-1] = np.searchsorted(x, edges[-1], side="right")
    return np.diff(cuts)


def fill_zeroes(shares: np.ndarray) -> np.ndarray:
    """Evidently's empty-bin fill: 0.0001, or min non-zero share / 1e6 if that is <= 0.0001."""
    out = np.asarray(shares, dtype=np.float64).copy()
    nonzero = out[out != 0]
    if nonzero.size == 0 or nonzero.size == out.size:
        return out
    smallest = float(nonzero.min())
    out[out == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return out


def psi(ref_shares: np.ndarray, cur_shares: np.ndarray) -> float:
    """Population stability index over bin shares, empty bins filled as Evidently does."""
    r, c = fill_zeroes(ref_shares), fill_zeroes(cur_shares)
    return float(np.sum((r - c) * np.log(r / c)))


def jensenshannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log), as `scipy.spatial.distance.jensenshannon`."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    p = p / np.sum(p)
    q = q / np.sum(q)
    mid = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / mid), 0.0)
        right = np.where(q > 0, q * np.log(q / mid), 0.0)
    js = float(np.sum(left) + np.sum(right))
    return math.sqrt(max(js, 0.0) / 2.0)


def chi2_two_sample(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float, int]:
    """(statistic, p-value, dof) of `chi2_contingency([ref_counts, cur_counts])`, default args."""
    from scipy.stats import chi2

    obs = np.vstack([ref_counts, cur_counts]).astype(np.float64)
    obs = obs[:, obs.sum(axis=0) > 0]  # a category seen in neither sample carries no information
    dof = obs.shape[1] - 1
    if dof <= 0:
        return 0.0, 1.0, 0
    expected = np.outer(obs.sum(axis=1), obs.sum(axis=0)) / obs.sum()
    if dof == 1:  # Yates' continuity correction, capped at the difference (scipy gh-13875)
        diff = expected - obs
        obs = obs + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    stat = float(np.sum((obs - expected) ** 2 / expected))
    return stat, float(chi2.sf(stat, dof)), dof


def z_two_proportions(k_ref: int, n_ref: int, k_cur: int, n_cur: int) -> tuple[float, float]:
    """(z, two-sided p) of the pooled two-proportion z-test; identical proportions of 0/1 give p=1."""
    from scipy.stats import norm

    p1, p2 = k_ref / n_ref, k_cur / n_cur
    pooled = (k_ref + k_cur) / (n_ref + n_cur)
    var = pooled * (1 - pooled) * (1.0 / n_ref + 1.0 / n_cur)
    if var == 0:
        return 0.0, 1.0
    z = (p1 - p2) / math.sqrt(var)
    return z, float(2 * norm.sf(abs(z)))
