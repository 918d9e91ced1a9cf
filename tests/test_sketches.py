"""Drift from mergeable sketches against scipy's exact scores on the same generated data."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon as scipy_js

from console.analytics import sketches as sk

CASES = [  # (name, reference sampler, current sampler, sizes)
    ("same normal", lambda r, n: r.normal(0, 1, n), lambda r, n: r.normal(0, 1, n), (60_000, 40_000)),
    ("shifted normal", lambda r, n: r.normal(0, 1, n), lambda r, n: r.normal(0.08, 1.1, n), (200_000, 80_000)),
    ("lognormal latency", lambda r, n: r.lognormal(4, 0.6, n), lambda r, n: r.lognormal(4.1, 0.7, n),
     (100_000, 100_000)),
    ("uniform vs beta", lambda r, n: r.uniform(0, 1, n), lambda r, n: r.beta(2, 2, n), (30_000, 12_000)),
    ("rounded with ties", lambda r, n: np.round(r.gamma(2, 3, n), 1), lambda r, n: np.round(r.gamma(2.2, 3, n), 1),
     (50_000, 50_000)),
]


def _data(case, seed):
    _, fr, fc, (n, m) = case
    rng = np.random.default_rng(seed)
    # The sketch holds float32: compare with scipy on the same float32 values.
    return fr(rng, n).astype(np.float32).astype(np.float64), fc(rng, m).astype(np.float32).astype(np.float64)


def _hourly(x: np.ndarray, hours: int = 24) -> list[bytes]:
    """The column cut into hourly sketches, serialised as a rollup stores them."""
    return [sk.serialize(sk.kll(part)) for part in np.array_split(x, hours)]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("seed", [1, 2])
def test_ks_from_merged_sketches_is_within_the_bound_of_scipy(case, seed):
    x, y = _data(case, seed)
    ref, cur = sk.merge(_hourly(x, 6)), sk.merge(_hourly(y))
    got = sk.ks(ref, cur)
    exact = stats.ks_2samp(x, y)
    assert got.bound == pytest.approx(sk.rank_error(ref) + sk.rank_error(cur))
    assert 0 < got.bound < 0.05
    assert abs(got.statistic - exact.statistic) <= got.bound
    assert got.p_range[0] <= exact.pvalue + 1e-12 and exact.pvalue <= got.p_range[1] + 1e-12
    assert (got.n_ref, got.n_cur) == (x.size, y.size)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_ks_with_an_exact_reference_only_carries_the_window_sketch_error(case):
    x, y = _data(case, 3)
    got = sk.ks(x, sk.merge(_hourly(y)))
    exact = stats.ks_2samp(x, y)
    assert got.bound == pytest.approx(sk.rank_error(sk.merge(_hourly(y))))
    assert abs(got.statistic - exact.statistic) <= got.bound


def test_small_samples_stay_exact_and_equal_scipy():
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, 150).astype(np.float32).astype(np.float64)
    y = rng.normal(0.4, 1, 120).astype(np.float32).astype(np.float64)
    got = sk.ks(sk.kll(x), sk.kll(y))
    exact = stats.ks_2samp(x, y)
    assert got.bound == 0.0
    assert got.statistic == pytest.approx(exact.statistic, abs=1e-12)
    assert got.score == pytest.approx(exact.pvalue, rel=1e-9)
    w = sk.wasserstein(sk.kll(x), sk.kll(y), ref_std=float(np.std(x)))
    assert 0.0 < w.bound < 1e-6  # no rank error: float32's rounding and the float64 sums alone
    assert w.score == pytest.approx(stats.wasserstein_distance(x, y) / np.std(x), rel=1e-9)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_normed_wasserstein_from_sketches_is_within_its_bound_estimate(case, seed):
    x, y = _data(case, seed)
    ref, cur = sk.merge(_hourly(x, 6)), sk.merge(_hourly(y))
    got = sk.wasserstein(ref, cur, ref_std=float(np.std(x)))
    exact = stats.wasserstein_distance(x, y) / np.std(x)
    assert got.bound > 0
    assert abs(got.score - exact) <= got.bound, (got.score, exact, got.bound)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("seed", [1, 2])
def test_scores_on_unioned_hourly_sketches_repeat_exactly_and_stay_within_their_bound(case, seed):
    """What the reads do (`Dist.union` of a window's hourly sketches, thinned to `ITEMS`), rather than a KLL merge,
    which compacts with random bits: the same sketches give the same scores every time, within the union's stated
    bound of scipy's (its rank error: the parts' errors weighted by their sizes, plus 1 / ITEMS for the thinning)."""
    x, y = _data(case, seed)
    hx, hy = _hourly(x, 6), _hourly(y)

    def scores():
        ref, cur = sk.Dist.union(hx, sk.ITEMS), sk.Dist.union(hy, sk.ITEMS)
        return ref, cur, sk.ks(ref, cur), sk.wasserstein(ref, cur, ref_std=float(np.std(x)))

    ref, cur, ks, w = scores()
    _, _, ks2, w2 = scores()
    assert ks == ks2 and w == w2
    parts = [sk.deserialize(b) for b in hy]
    thinned = sk.Dist.union(hy).values.size > sk.ITEMS  # not when ties leave fewer distinct items
    assert cur.eps == pytest.approx(sum(sk.rank_error(p) * p.n for p in parts) / y.size + thinned / sk.ITEMS)
    assert cur.values.size <= sk.ITEMS and (ref.n, cur.n) == (x.size, y.size)
    exact = stats.ks_2samp(x, y)
    assert abs(ks.statistic - exact.statistic) <= ks.bound == pytest.approx(ref.eps + cur.eps)
    assert ks.p_range[0] <= exact.pvalue + 1e-12 and exact.pvalue <= ks.p_range[1] + 1e-12
    assert abs(w.score - stats.wasserstein_distance(x, y) / np.std(x)) <= w.bound


def test_a_sketch_read_from_its_bytes_has_the_sketch_s_own_ranks():
    """`Dist.of` reads a serialized sketch's items and level weights from its bytes (fast, and right for a merged
    sketch, whose weights the binding's iterator loses): the same n, rank error and ranks as the sketch's own."""
    rng = np.random.default_rng(8)
    big = sk.kll_floats_sketch(65535)
    big.update(rng.normal(size=60_000).astype(np.float32))  # k at its largest: exact up to k values (edges)
    cases = [sk.kll([2.5]), sk.kll(rng.normal(size=150)), sk.kll(rng.normal(size=200)), sk.kll(rng.normal(size=201)),
             sk.kll(rng.lognormal(size=50_000)), sk.merge(sk.kll(rng.normal(size=400)) for _ in range(300)), big]
    for s in cases:
        d = sk.Dist.of(sk.serialize(s))
        assert (d.n, d.eps) == (s.n, sk.rank_error(s))
        assert np.array_equal(d.values, np.unique(np.array(list(s), dtype=np.float64).reshape(-1, 2)[:, 0]))
        assert np.allclose(d.cum, np.array(s.get_cdf(d.values.tolist(), True))[:-1] * s.n, rtol=1e-12, atol=1e-6)
    assert big.is_estimation_mode() is False and sk.Dist.of(sk.serialize(big)).eps == 0.0
    assert sk.Dist.of(sk.kll([])).n == 0 and sk.Dist.union([None, sk.kll([])]).n == 0


def test_thinning_keeps_the_cdf_within_one_over_the_limit():
    """`Dist.thin`: exact at every item kept, and below total / limit of weight skipped between two of them."""
    rng = np.random.default_rng(9)
    x = np.round(rng.gamma(2, 3, 100_000), 3)  # ties: some items weigh more than others
    exact = sk.Dist.of(x)
    for limit in (100, 2000, sk.ITEMS):
        t = exact.thin(limit)
        assert t.values.size <= limit and t.n == exact.n and t.eps == pytest.approx(1 / limit)
        grid = np.union1d(exact.values, t.values)
        assert np.max(np.abs(t.cdf(grid) - exact.cdf(grid))) < 1 / limit
        assert np.array_equal(t.cdf(t.values), exact.cdf(t.values))
    assert exact.thin(10**6) is exact


def test_sketches_round_trip_and_merge_counts_every_value():
    rng = np.random.default_rng(5)
    x = rng.exponential(3, 50_000)
    blobs = _hourly(x)
    merged = sk.merge(blobs)
    assert merged.n == x.size
    assert sk.deserialize(sk.serialize(merged)).n == x.size
    assert merged.get_min_value() == pytest.approx(np.float32(x.min()))
    assert merged.get_max_value() == pytest.approx(np.float32(x.max()))
    eps = sk.rank_error(merged)
    for q in (0.1, 0.5, 0.9, 0.99):
        v = merged.get_quantile(q)
        assert abs(np.mean(x <= v) - q) <= eps + 1.0 / x.size
    assert sk.merge([None, b""]) is None


def test_nulls_nan_and_infinities_are_dropped():
    arr = pa.array([1.0, None, float("nan"), float("inf"), -float("inf"), 2.0, 3.0])
    s = sk.kll(arr)
    assert s.n == 3 and s.get_min_value() == 1.0 and s.get_max_value() == 3.0


def _counts(values) -> dict[str, int]:
    u, c = np.unique(np.asarray(values).astype(str), return_counts=True)
    return dict(zip(u.tolist(), c.tolist()))


def test_category_counts_keep_the_top_n_exactly_and_fold_the_rest():
    rng = np.random.default_rng(6)
    v = rng.zipf(1.6, 20_000)
    v = v[v < 500]
    got = sk.value_counts(pl.Series(v), top=10)
    exact = _counts(v)
    top = sorted(exact.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert {k: got[k] for k, _ in top} == dict(top)
    assert got[sk.OTHER] == len(v) - sum(c for _, c in top)
    parts = [sk.value_counts(pl.Series(p), top=None) for p in np.array_split(v, 7)]
    assert sk.merge_counts(parts) == exact
    assert sk.decode_counts(sk.encode_counts(exact)) == exact


def test_category_scores_equal_scipy():
    rng = np.random.default_rng(7)
    ref = rng.choice(["a", "b", "c", "d"], 5000, p=[0.4, 0.3, 0.2, 0.1])
    cur = rng.choice(["a", "b", "c", "d", "e"], 3000, p=[0.3, 0.3, 0.2, 0.15, 0.05])
    rc, cc = sk.value_counts(pl.Series(ref)), sk.value_counts(pl.Series(cur))
    keys = sorted(set(rc) | set(cc))
    r = np.array([rc.get(k, 0) for k in keys], float)
    c = np.array([cc.get(k, 0) for k in keys], float)

    chi = sk.chisquare(rc, cc)
    exact = stats.chi2_contingency(np.vstack([r, c]))
    assert chi.statistic == pytest.approx(exact.statistic, rel=1e-10)
    assert chi.score == pytest.approx(exact.pvalue, rel=1e-9, abs=1e-300)
    assert chi.verdict == sk.DRIFTED and chi.bound == 0.0

    js = sk.jensenshannon(rc, cc)
    assert js.score == pytest.approx(scipy_js(r / r.sum(), c / c.sum()), rel=1e-10)

    # PSI by hand, with Evidently's fill of an empty bin: 0.0001 (min non-zero share is above it)
    rs, cs = r / r.sum(), c / c.sum()
    rs[rs == 0] = 0.0001
    assert sk.psi(rc, cc).score == pytest.approx(float(np.sum((rs - cs) * np.log(rs / cs))), rel=1e-10)


def test_verdict_is_borderline_when_the_threshold_is_inside_the_bound():
    assert sk.verdict(">=", 0.05, 0.09, 0.1) == sk.OK
    assert sk.verdict(">=", 0.11, 0.2, 0.1) == sk.DRIFTED
    assert sk.verdict(">=", 0.08, 0.12, 0.1) == sk.BORDERLINE
    assert sk.verdict("<=", 1e-6, 0.2, 0.05) == sk.BORDERLINE
    assert sk.verdict("<=", 1e-6, 0.01, 0.05) == sk.DRIFTED
    x = np.random.default_rng(8).normal(0, 1, 100_000)
    y = x + 0.1  # normed distance 0.1 exactly: right at the threshold
    w = sk.wasserstein(sk.kll(x), sk.kll(y), ref_std=float(np.std(x)))
    assert w.verdict == sk.BORDERLINE


def test_folded_categories_make_a_count_verdict_borderline_not_drifted():
    rc = {"a": 500, "b": 500, sk.OTHER: 10}
    cc = {"a": 100, "b": 900, sk.OTHER: 10}
    assert sk.jensenshannon(rc, cc).verdict == sk.BORDERLINE
    assert sk.jensenshannon({"a": 5, "b": 5}, {"a": 1, "b": 9}).verdict == sk.DRIFTED


def test_group_sketches_count_each_group_and_its_categories():
    rng = np.random.default_rng(9)
    n = 30_000
    df = pl.DataFrame({"model": rng.choice(["m1", "m2"], n), "hour": rng.integers(0, 3, n),
                       "x": rng.normal(0, 1, n), "c": rng.choice(["u", "v", "w"], n)})
    batches = df.to_arrow().to_batches(max_chunksize=4096)
    groups = sk.group_sketches(batches, ["model", "hour"], ["x"], ["c"])
    exact = df.group_by("model", "hour").agg(pl.len(), pl.col("x").sum().alias("s"))
    assert len(groups) == exact.height
    for row in exact.iter_rows(named=True):
        g = groups[(row["model"], row["hour"])]
        assert g.n == row["len"] == g.numeric["x"].n
        assert g.sums["x"][0] == pytest.approx(row["s"], abs=1e-3)
        sub = df.filter((pl.col("model") == row["model"]) & (pl.col("hour") == row["hour"]))
        assert g.counts["c"] == _counts(sub["c"].to_numpy())


def test_no_data_is_said_not_scored():
    got = sk.ks(None, sk.kll([1.0, 2.0]))
    assert math.isnan(got.score) and got.stats["status"] == "no data"
    assert math.isnan(sk.psi({}, {"a": 1}).score)
