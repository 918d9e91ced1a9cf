"""Drift engine against independent computations: scipy, numpy and hand counts."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import stats
from scipy.spatial import distance

from console.analytics import drift_stats as st
from console.analytics.drift import (
    IncrementalDrift,
    Reference,
    column_drift,
    dataset_drift,
    default_test,
    drift_over_time,
    histograms,
    onset,
    single_column_drift,
)

RNG = np.random.default_rng(7)


def _sorted(x):
    return np.sort(np.asarray(x, dtype=np.float64))


# ------------------------------------------------------------------------------ pure statistics


@pytest.mark.parametrize("n,m,rounding", [(40, 55, None), (300, 300, 1), (2000, 700, 2), (12000, 15000, None),
                                          (20000, 20000, 1)])
def test_ks_matches_scipy(n, m, rounding):
    a, b = RNG.normal(size=n), RNG.normal(0.05, 1.1, size=m)
    if rounding is not None:  # many ties
        a, b = np.round(a, rounding), np.round(b, rounding)
    d, p = st.ks_sorted(_sorted(a), _sorted(b))
    ref = stats.ks_2samp(a, b)
    assert d == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)


def test_ks_identical_and_constant():
    a = np.ones(50)
    assert st.ks_sorted(a, a.copy()) == pytest.approx(tuple(stats.ks_2samp(a, a)[:2]))
    b = np.full(30, 2.0)
    d, p = st.ks_sorted(a, b)
    assert d == 1.0 and p == pytest.approx(stats.ks_2samp(a, b).pvalue, rel=1e-12)


@pytest.mark.parametrize("n,m", [(1, 1), (1, 9), (7, 3), (100, 100), (999, 1500), (5000, 20011)])
def test_wasserstein_matches_scipy(n, m):
    a, b = RNG.exponential(size=n), np.round(RNG.normal(1, 2, size=m), 1)
    got = st.wasserstein_sorted(_sorted(a), _sorted(b))
    assert got == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9, abs=1e-12)


def test_wasserstein_normed_by_reference_std():
    a, b = RNG.normal(0, 3, 2000), RNG.normal(0.5, 3, 1500)
    ref = Reference(pl.DataFrame({"x": a}))
    r = column_drift(ref, pl.DataFrame({"x": b}), "x")
    assert r.test == "wasserstein"
    expected = stats.wasserstein_distance(a, b) / np.std(a)
    assert r.score == pytest.approx(expected, rel=1e-9)
    assert r.stats["distance"] == pytest.approx(stats.wasserstein_distance(a, b), abs=1e-9)


def test_sturges_edges_and_histogram_match_numpy():
    for data in (RNG.normal(size=777), RNG.integers(0, 30, 5000), np.array([3.0, 3.0])):
        combined = np.asarray(data)
        integer = combined.dtype.kind == "i"
        edges = st.sturges_edges(float(combined.min()), float(combined.max()), combined.size, integer=integer)
        np.testing.assert_array_equal(edges, np.histogram_bin_edges(combined, bins="sturges"))
        np.testing.assert_array_equal(st.histogram_sorted(_sorted(combined), edges),
                                      np.histogram(combined, edges)[0])


def test_jensenshannon_matches_scipy_on_evidently_bins():
    a, b = RNG.normal(size=3000), RNG.normal(0.3, 1, size=2000)
    edges = np.histogram_bin_edges(np.concatenate([a, b]), bins="sturges")
    p, q = np.histogram(a, edges)[0] / a.size, np.histogram(b, edges)[0] / b.size
    assert st.jensenshannon(p, q) == pytest.approx(distance.jensenshannon(p, q), abs=1e-12)
    # through the engine: numeric with > 20 distinct values is Sturges-binned on ref+cur
    ref = Reference(pl.DataFrame({"x": a}), overrides={"x": {"test": "js"}})
    r = column_drift(ref, pl.DataFrame({"x": b}), "x")
    assert r.score == pytest.approx(distance.jensenshannon(p, q), abs=1e-9)
    assert r.stats["binning"] == "sturges"


def test_psi_hand_computed():
    # reference a,a,b,b (50/50); current a,b,b,b (25/75)
    expected = (0.5 - 0.25) * math.log(0.5 / 0.25) + (0.5 - 0.75) * math.log(0.5 / 0.75)
    assert st.psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(expected, abs=1e-12)
    ref = Reference(pl.DataFrame({"c": ["a", "a", "b", "b"]}), overrides={"c": {"test": "psi", "threshold": 0.2}})
    r = column_drift(ref, pl.DataFrame({"c": ["a", "b", "b", "b"]}), "c")
    assert r.score == pytest.approx(expected, abs=1e-12)  # 0.2747
    assert r.drifted and r.direction == "score >= 0.2" and r.threshold == 0.2


def test_psi_empty_bin_filled_like_evidently():
    # category "c" only in current: its reference share becomes 0.0001
    r_sh = np.array([0.5, 0.5, 0.0])
    c_sh = np.array([0.4, 0.4, 0.2])
    filled = np.array([0.5, 0.5, 0.0001])
    expected = float(np.sum((filled - c_sh) * np.log(filled / c_sh)))
    assert st.psi(r_sh, c_sh) == pytest.approx(expected, abs=1e-12)
    # a tiny non-zero share switches the fill to min / 1e6
    assert st.fill_zeroes(np.array([0.99995, 0.00005, 0.0]))[2] == pytest.approx(0.00005 / 1e6)


def test_chi_square_matches_chi2_contingency():
    ref = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    cur = ["a"] * 20 + ["b"] * 30 + ["c"] * 35 + ["d"] * 5  # "d" unseen in the reference
    table = np.array([[50, 30, 20, 0], [20, 30, 35, 5]])
    expected = stats.chi2_contingency(table)
    r = column_drift(Reference(pl.DataFrame({"c": ref})), pl.DataFrame({"c": cur}), "c")
    assert r.test == "chisquare"
    assert r.score == pytest.approx(expected.pvalue, rel=1e-9)
    assert r.stats["statistic"] == pytest.approx(expected.statistic, rel=1e-9)
    assert r.stats["dof"] == 3 and r.stats["new_categories"] == ["d"]
    assert r.drifted and r.direction == "p < 0.05"


def test_chi_square_two_categories_uses_yates():
    table = np.array([[30, 10], [22, 18]])
    expected = stats.chi2_contingency(table)  # correction=True applies for dof == 1
    stat, p, dof = st.chi2_two_sample(table[0], table[1])
    assert (stat, dof) == (pytest.approx(expected.statistic), 1)
    assert p == pytest.approx(expected.pvalue, rel=1e-9)


def test_z_test_hand_computed():
    ref = pl.DataFrame({"y": [0] * 60 + [1] * 40})
    cur = pl.DataFrame({"y": [0] * 40 + [1] * 60})
    r = column_drift(Reference(ref), cur, "y")
    assert (r.kind, r.test) == ("binary", "z")
    pooled = 0.5
    z = (0.4 - 0.6) / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    assert r.score == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert r.drifted and r.direction == "p < 0.05"


# ------------------------------------------------------------------------------ test selection


def _frame(n, n_unique=None, seed=0):
    r = np.random.default_rng(seed)
    x = r.normal(size=n) if n_unique is None else r.integers(0, n_unique, n).astype(float)
    return pl.DataFrame({"x": x, "c": np.array(list("abcd"))[r.integers(0, 4, n)],
                         "b": np.array(["yes", "no"])[r.integers(0, 2, n)],
                         "few": r.integers(0, 4, n)})


def test_selection_at_1000_vs_1001_reference_rows():
    small, large = Reference(_frame(1000)), Reference(_frame(1001))
    assert {c: small[c].test.name for c in small} == {"x": "ks", "c": "chisquare", "b": "z", "few": "chisquare"}
    assert {c: large[c].test.name for c in large} == {
        "x": "wasserstein", "c": "jensenshannon", "b": "jensenshannon", "few": "jensenshannon"}
    assert small["x"].threshold == 0.05 and large["x"].threshold == 0.1
    assert default_test(True, 1000, 6) == "ks" and default_test(True, 1000, 5) == "chisquare"
    assert default_test(True, 1000, 2) == "z" and default_test(False, 1000, 3) == "chisquare"


def test_overrides_and_validation():
    ref = Reference(_frame(500), overrides={"x": {"test": "psi", "threshold": 0.2}, "c": {"threshold": 0.01}})
    assert (ref["x"].test.name, ref["x"].threshold) == ("psi", 0.2)
    assert (ref["c"].test.name, ref["c"].threshold) == ("chisquare", 0.01)
    with pytest.raises(ValueError, match="numeric"):
        Reference(_frame(50), overrides={"c": {"test": "ks"}})
    with pytest.raises(ValueError, match="unknown drift test"):
        Reference(_frame(50), overrides={"x": {"test": "nope"}})
    with pytest.raises(ValueError, match="no column"):
        Reference(_frame(50), columns=["zzz"])
    with pytest.raises(ValueError, match="lacks"):
        Reference(_frame(50), overrides={"amount": {"test": "psi"}})
    with pytest.raises(ValueError, match="unknown key"):
        Reference(_frame(50), overrides={"x": {"tset": "psi"}})


def test_lazy_reference_equals_eager(tmp_path):
    df = _frame(3000, seed=5)
    df.write_parquet(tmp_path / "ref.parquet")
    lazy = Reference(pl.scan_parquet(tmp_path / "ref.parquet"), overrides={"x": {"test": "ks"}})
    eager = Reference(df, overrides={"x": {"test": "ks"}})
    cur = _frame(700, seed=6)
    assert lazy.n_rows == 3000
    assert dataset_drift(lazy, cur).to_dict() == dataset_drift(eager, cur).to_dict()


def test_ks_verdict_direction_is_p_le_threshold():
    a, b = RNG.normal(size=500), RNG.normal(0.5, 1, size=400)
    r = column_drift(Reference(pl.DataFrame({"x": a})), pl.DataFrame({"x": b}), "x")
    assert r.test == "ks" and r.direction == "p <= 0.05"
    assert r.score == pytest.approx(stats.ks_2samp(a, b).pvalue, rel=1e-9) and r.drifted
    assert json.loads(json.dumps(r.to_dict()))["test"] == "ks"


# ------------------------------------------------------------------------------ edge cases


def test_nan_null_inf_dropped_and_counted():
    a = [1.0, 2.0, None, float("nan"), 3.0, float("inf")] * 50
    b = [1.5, None, 2.5, 3.5, float("-inf")] * 40
    ref = Reference(pl.DataFrame({"x": a}))
    r = column_drift(ref, pl.DataFrame({"x": b}), "x")
    clean_a = [v for v in a if v is not None and math.isfinite(v)]
    clean_b = [v for v in b if v is not None and math.isfinite(v)]
    assert (r.n_ref, r.n_cur, r.stats["dropped"]) == (150, 120, 80)
    assert ref["x"].n_dropped == 150
    assert r.test == "chisquare"  # 3 distinct values in a 150-row reference
    table = np.array([[clean_a.count(v) for v in (1.0, 1.5, 2.0, 2.5, 3.0, 3.5)],
                      [clean_b.count(v) for v in (1.0, 1.5, 2.0, 2.5, 3.0, 3.5)]])
    assert r.score == pytest.approx(stats.chi2_contingency(table).pvalue, rel=1e-9)


def test_constant_columns():
    ref = Reference(pl.DataFrame({"x": np.full(2000, 5.0), "k": np.full(2000, 5.0)}),
                    overrides={"x": {"test": "wasserstein"}, "k": {"test": "ks"}})
    assert ref["x"].std == 0.0
    same = dataset_drift(ref, pl.DataFrame({"x": np.full(100, 5.0), "k": np.full(100, 5.0)}))
    assert same.column("x").score == 0.0 and not same.column("x").drifted
    assert same.column("k").score == 1.0 and not same.column("k").drifted
    moved = dataset_drift(ref, pl.DataFrame({"x": np.full(100, 5.01), "k": np.full(100, 5.01)}))
    # Evidently's norm floor: distance / max(std, 0.001)
    assert moved.column("x").score == pytest.approx(0.01 / 0.001)
    assert moved.column("x").drifted and moved.column("k").drifted
    # default test on a constant column: JS over the single value, no crash
    plain = Reference(pl.DataFrame({"x": np.full(2000, 1.0)}))
    r = column_drift(plain, pl.DataFrame({"x": [1.0, 2.0]}), "x")
    assert r.test == "jensenshannon" and r.score > 0


def test_ties_in_large_reference():
    a = np.round(RNG.normal(size=5000), 1)
    b = np.round(RNG.normal(0.02, 1, size=4000), 1)
    ref = Reference(pl.DataFrame({"x": a}), overrides={"x": {"test": "ks"}})
    r = column_drift(ref, pl.DataFrame({"x": b}), "x")
    expected = stats.ks_2samp(a, b)
    assert r.stats["statistic"] == pytest.approx(expected.statistic, abs=1e-12)
    assert r.score == pytest.approx(expected.pvalue, rel=1e-9)


def test_empty_window_missing_column_and_unseen_category():
    ref = Reference(_frame(2000))
    empty = dataset_drift(ref, _frame(10).clear())
    assert empty.status == "no data" and not empty.drifted and empty.share == 0.0
    assert {c.status for c in empty.columns} == {"no data"}
    all_null = dataset_drift(ref, pl.DataFrame({"x": [None, None]}, schema={"x": pl.Float64}), columns=["x"])
    assert all_null.column("x").status == "no data" and all_null.status == "no data"
    partial = dataset_drift(ref, _frame(500, seed=3).drop("c"))
    assert partial.column("c").status == "missing" and partial.n_evaluated == 3
    unseen = column_drift(ref, pl.DataFrame({"c": ["a", "b", "zz", "zz"]}), "c")
    assert unseen.stats["new_categories"] == ["zz"] and unseen.drifted


def test_dataset_share_threshold():
    n = 3000
    base = {f"f{i}": RNG.normal(size=n) for i in range(4)}
    ref = Reference(pl.DataFrame(base))
    cur = {f"f{i}": RNG.normal(size=n) for i in range(4)}
    cur["f0"] = cur["f0"] + 1.0
    cur["f1"] = cur["f1"] + 1.0
    d = dataset_drift(ref, pl.DataFrame(cur))
    assert [c.drifted for c in d.columns] == [True, True, False, False]
    assert d.share == 0.5 and d.drifted  # share >= 0.5
    assert not dataset_drift(ref, pl.DataFrame(cur), share=0.6).drifted
    assert json.dumps(d.to_dict())


def test_single_column_helper_for_prediction_drift():
    ref = pl.DataFrame({"prediction": RNG.normal(size=800)})
    cur = pl.Series("score", RNG.normal(1.0, 1, size=300))
    r = single_column_drift(ref, cur, "prediction")
    assert r.test == "ks" and r.drifted
    r2 = single_column_drift(ref, cur, "prediction", test="wasserstein", threshold=0.5)
    assert r2.direction == "score >= 0.5" and r2.drifted


def test_histograms_share_bins():
    a, b = RNG.normal(size=3000), RNG.normal(1, 1, size=1000)
    ref = Reference(pl.DataFrame({"x": a, "c": np.array(list("ab"))[RNG.integers(0, 2, 3000)]}))
    h = histograms(ref, pl.DataFrame({"x": b, "c": ["a"] * 999 + ["new"]}), "x")
    edges = np.histogram_bin_edges(np.concatenate([a, b]), bins="sturges")
    assert h.edges == pytest.approx(tuple(edges))
    assert h.ref_counts == tuple(np.histogram(a, edges)[0]) and h.cur_counts == tuple(np.histogram(b, edges)[0])
    hc = histograms(ref, pl.DataFrame({"c": ["a"] * 999 + ["new"]}), "c")
    assert hc.labels == ("a", "b", "new") and hc.cur_counts == (999, 0, 1)
    assert sum(hc.ref_share) == pytest.approx(1.0)


# ------------------------------------------------------------------------------ windows


def _stream(hours=12, per_hour=3000, shift_from=7, seed=11):
    """Hourly rows; features a and b shift by 1.5 sd from hour `shift_from` on, c never moves."""
    r = np.random.default_rng(seed)
    t0 = np.datetime64("2026-01-01T00:00:00", "us")
    frames = []
    for h in range(hours):
        shift = 1.5 if h >= shift_from else 0.0
        seconds = np.sort(r.integers(0, 3600, per_hour)) + 3600 * h
        ts = t0 + seconds.astype("timedelta64[s]")
        frames.append(pl.DataFrame({"ts": ts, "a": r.normal(shift, 1, per_hour), "b": r.normal(shift, 1, per_hour),
                                    "c": np.array(list("xyz"))[r.integers(0, 3, per_hour)]}))
    return pl.concat(frames)


def test_windowed_onset_of_planted_shift():
    ref = Reference(pl.DataFrame({"a": RNG.normal(size=5000), "b": RNG.normal(size=5000),
                                  "c": np.array(list("xyz"))[RNG.integers(0, 3, 5000)]}))
    windows = drift_over_time(ref, _stream(), every="1h")
    assert len(windows) == 12
    assert [w.drift.drifted for w in windows] == [False] * 7 + [True] * 5
    assert onset(windows) == datetime(2026, 1, 1, 7) and onset(windows, "c") is None
    assert windows[7].drift.share == pytest.approx(2 / 3)


def test_gap_window_is_no_data():
    ref = Reference(pl.DataFrame({"a": RNG.normal(size=2000)}))
    t0 = datetime(2026, 1, 1)
    cur = pl.DataFrame({"ts": [t0, t0 + timedelta(hours=2)], "a": [0.1, 0.2]})
    windows = drift_over_time(ref, cur, every="1h")
    assert [w.drift.status for w in windows][1] == "no data" and windows[1].n_rows == 0
    assert not windows[1].drift.drifted


def test_incremental_equals_full_recompute():
    ref = Reference(pl.DataFrame({"a": RNG.normal(size=3000), "b": RNG.normal(size=3000),
                                  "c": np.array(list("xyz"))[RNG.integers(0, 3, 3000)]}))
    stream = _stream(hours=6, shift_from=3).sample(fraction=1.0, shuffle=True, seed=3)  # rows out of order
    h = [datetime(2026, 1, 1, k) for k in range(7)]
    ts = pl.col("ts")
    live = IncrementalDrift(ref, every="1h")
    live.update(stream.filter(ts < h[2] + timedelta(minutes=20)))
    first = live.results()
    assert len(first) == 3 and live.recomputed == (h[0], h[1], h[2])
    live.update(stream.filter((ts >= h[2] + timedelta(minutes=20)) & (ts < h[4])))
    live.results()
    assert live.recomputed == (h[2], h[3])  # only the windows that received rows
    live.update(stream.filter(ts >= h[4]))
    got = live.results()
    assert live.recomputed == (h[4], h[5])
    full = drift_over_time(ref, stream, every="1h")
    assert [w.to_dict() for w in got] == [w.to_dict() for w in full]
    assert onset(got) == h[3]
    assert [w.to_dict() for w in live.results()] == [w.to_dict() for w in got] and live.recomputed == ()
