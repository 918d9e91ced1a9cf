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
    assert w.bound == 0.0
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
