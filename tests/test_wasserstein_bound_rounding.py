"""A normed Wasserstein score from rollups states a bound that holds against scipy's exact score on the raw float64
values. With both sides exact (a window of few rows an hour: KLL sketches in exact mode, a reference under REF_K
items) the bound was 0.0, yet the score was off by ~1e-9 relative: the sketches and the thinned reference hold
float32 values. The bound now adds what that rounding, and the float64 sums on both sides, can move the score."""

from __future__ import annotations

import numpy as np
from scipy import stats

from console.analytics import sketches as sk
from console.rollup_drift import REF_K


def _window(values: np.ndarray, hours: int) -> sk.Dist:
    """The current window as the rollups give it: one KLL sketch per hour, serialized, read as their union."""
    cells = []
    for part in np.array_split(values, hours):
        s = sk.kll_floats_sketch(sk.K)
        for v in part:
            s.update(float(v))
        cells.append(bytes(s.serialize()))
    return sk.Dist.union(cells, sk.ITEMS)


def test_the_bound_holds_where_both_sides_are_exact():
    rng = np.random.default_rng(20261206)
    checked = was_zero_and_off = 0
    for trial in range(300):
        scale = 10.0 ** rng.uniform(-5, 8)
        ref = rng.normal(50, 10, int(rng.integers(20, REF_K))) * scale
        m = int(rng.integers(5, 150))
        cur = (rng.normal(52, 11, m) if trial % 3 else rng.lognormal(3.5, 0.8, m)) * scale
        r = sk.Dist.of(sk.finite_float32(np.sort(ref))).thin(REF_K)  # as `RollupDrift` keeps a reference
        c = _window(cur, hours=int(rng.integers(1, 4)))
        assert r.eps == 0.0 and c.eps == 0.0  # exact on both sides: the rank error's bound is 0
        std = float(np.std(ref))
        got = sk.wasserstein(r, c, std)
        exact = stats.wasserstein_distance(ref, cur) / max(std, 0.001)  # the exact engine's norm (Evidently's floor)
        off = abs(got.score - exact)
        assert off <= got.bound, (trial, got.score, exact, off, got.bound)
        assert got.bound <= 1e-6 * max(got.score, 1.0)  # a rounding's bound, not a rank error's
        checked += 1
        was_zero_and_off += off > 0
    assert checked == 300 and was_zero_and_off > 100  # the cases where 0.0 was stated and missed


def test_a_rank_error_bound_still_covers_the_sketch():
    """Past exact mode the bound is the rank error's estimate as before, plus the rounding: still within it."""
    rng = np.random.default_rng(7)
    ref, cur = rng.normal(0, 1, 20000), rng.normal(0.2, 1.1, 20000)
    r = sk.Dist.of(sk.finite_float32(np.sort(ref))).thin(REF_K)
    got = sk.wasserstein(r, _window(cur, hours=24), float(np.std(ref)))
    exact = stats.wasserstein_distance(ref, cur) / float(np.std(ref))
    assert 0 < got.bound < 0.05 and abs(got.score - exact) <= got.bound
