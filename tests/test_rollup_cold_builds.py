"""Two cold builds of the same logs (a fresh store, its rollups built from scratch) must give the same drift
incidents, and the ones the raw path gives. KLL compacts with random bits (DataSketches takes no seed), so every
build's hour sketches differ a little: a verdict whose bound straddles its threshold is re-scored exactly on raw rows
(`RollupRules.drift_scores`), but the onset also compared two scores, which no bound checked: the incident starts
at the earliest evaluation in which the feature that moved most had moved at least half as far as at the first
breach (`RuleEvaluator._drift_began`). With that ratio within the sketches' error of 1/2, builds placed the onset
12 h apart, so the incident's id (its onset minute) differed between builds of the same logs.

The fleet: `x` shifts by 0.3 from a time `T0` chosen with SciPy so that x's normed Wasserstein distance in the
window (12 h, 36 h] is just above (or just below) half its distance in (48 h, 72 h]; `y` shifts by 0.5 at 60 h, so
the dataset share (2 of 3 features, drift_share 0.5) first crosses in the window ending at 72 h; `z` never moves.
SciPy's scores say where the walk back from 72 h stops: at the window ending at 36 h when the ratio is at least
1/2, else at the one ending at 48 h. That placed the onset (the grid point before it: 24 h or 36 h); the onset is
now the hour x departed (`RuleEvaluator._departed`), read in the same raw rows on every build: T0 lies within
minutes of 24 h on both sides of the ratio, so 24 h whichever window the walk stops at.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import stats

from console.config import parse_file
from console.service import Service
from rollup_fleet import write_hive

START = datetime(2026, 7, 1)
HOURS, PER = 96, 500  # 500 rows an hour: each hour's KLL sketch (k = 200) compacts, with random bits
NOW = START + timedelta(hours=HOURS - 1, minutes=37)
SHIFT_X, SHIFT_Y = 0.3, 0.5
BUILDS = 4
US = 3600 * 10**6  # microseconds an hour


def _fleet(tmp_path, margin: float):
    """x's, y's and z's exact scores in the windows named, and T0 in hours."""
    rng = np.random.default_rng(5)
    n = HOURS * PER
    us = np.sort(rng.integers(0, HOURS * US, n))
    x0, y0, z = rng.normal(0, 1, n), rng.normal(0, 1, n), rng.normal(0, 1, n)
    ref = pl.DataFrame({f: rng.normal(0, 1, 4000) for f in ("x", "y", "z")})
    y = np.where(us >= 60 * US, y0 + SHIFT_Y, y0)

    def score(values, f, lo, hi):  # the normed Wasserstein distance (Evidently's: the reference's std, ddof 0)
        m = (us > lo * US) & (us <= hi * US)
        return stats.wasserstein_distance(ref[f].to_numpy(), values[m]) / np.std(ref[f].to_numpy())

    def shifted(t0):
        return np.where(us >= t0, x0 + SHIFT_X, x0)

    full = score(shifted(24 * US), "x", 48, 72)
    a, b = 20 * US, 28 * US  # the later x shifts, the less of it the window (12 h, 36 h] holds
    while b - a > 1:
        mid = (a + b) // 2
        a, b = (mid, b) if score(shifted(mid), "x", 12, 36) / full >= 0.5 + margin else (a, mid)
    t0 = a if margin >= 0 else b
    x = shifted(t0)
    scores = {"x36": score(x, "x", 12, 36), "x72": score(x, "x", 48, 72), "x24": score(x, "x", 0, 24),
              "y72": score(y, "y", 48, 72), "y60": score(y, "y", 36, 60), "z72": score(z, "z", 48, 72),
              "t0": t0 / US}
    preds = pl.DataFrame({
        "ts": START + pl.Series(us).cast(pl.Duration("us")), "model": "m", "version": "1",
        "request_id": [f"r{i}" for i in range(n)], "environment": "production", "prediction": "1",
        "latency_ms": 50.0, "is_error": False, "x": x, "y": y, "z": z}).filter(pl.col("ts") <= NOW)
    write_hive(preds, tmp_path)
    ref.write_parquet(tmp_path / "ref.parquet")
    (tmp_path / "console.toml").write_text(
        '[store]\npath = "store"\n[thresholds]\ndrift_share = 0.5\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[models.m]\nfeatures = ["x", "y", "z"]\nreference = "ref.parquet"\n', encoding="utf-8")
    return scores


def _cold_build(root, rollups: bool):
    """The drift incidents of a fresh store (its rollups built from scratch when `rollups`)."""
    shutil.rmtree(root / "store", ignore_errors=True)
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    try:
        svc.refresh()
        mon = svc.monitor
        mon.rollups_after = 1_000 if rollups else 10**12
        found = [(f.id, f.state, f.onset, f.feature, f.first_drifted) for f in mon.findings(at=NOW)
                 if f.kind == "drift_share"]
        assert not rollups or mon.sketch_drift.built  # the rules read rollups this build made
        return found
    finally:
        svc.close()


@pytest.mark.parametrize("margin", [0.001, -0.001])
def test_cold_builds_give_the_exact_paths_drift_incidents(tmp_path, margin):
    s = _fleet(tmp_path, margin)
    # SciPy's verdicts (normed Wasserstein >= 0.1): x drifted in both windows, not before its shift; y only from
    # the window ending at 72 h, z never, so the share (2 of 3) first reaches 0.5 there
    assert s["x36"] >= 0.1 and s["x72"] >= 0.1 and s["x24"] < 0.1
    assert s["y72"] >= 0.1 and s["y60"] < 0.1 and s["z72"] < 0.1
    ratio = s["x36"] / s["x72"]
    assert (0.5 <= ratio < 0.502) if margin > 0 else (0.498 < ratio < 0.5)  # within the sketches' error of 1/2
    assert abs(s["t0"] - 24) < 0.1  # x shifted within 6 minutes of 24 h: the hour it departed from starts there
    onset = START + timedelta(hours=24)
    expected = [(f"m:default: feature drift:{onset:%Y%m%dT%H%M}", "firing", onset, "x", ("x", "y"))]
    assert _cold_build(tmp_path, rollups=False) == expected
    for _ in range(BUILDS):
        assert _cold_build(tmp_path, rollups=True) == expected


def test_a_sketch_scores_movement_is_a_range_and_an_exact_ones_a_point():
    from console.analytics import drift as dr
    from console.analytics import evidence as ev

    def col(test, score, direction, threshold, method=dr.SKETCH, bound=None, **stats):
        return dr.ColumnDrift("f", "num", test, score, threshold, direction, True, 100, 100, stats, dr.DRIFT,
                              method, bound)

    # a distance: (score -+ bound) / threshold, floored at 0
    assert ev.moved_range(col("wasserstein", 0.3, "score >= 0.1", 0.1, bound=0.05)) == pytest.approx((2.5, 3.5))
    assert ev.moved_range(col("wasserstein", 0.3, "score >= 0.1", 0.1, bound=0.5))[0] == 0.0
    # KS: the p-values at D +- bound, on the log scale `moved` uses (log10 p / log10 0.05)
    ks = col("ks", 1e-4, "p <= 0.05", 0.05, bound=0.01, p_range=[1e-6, 1e-2])
    assert ev.moved_range(ks) == pytest.approx((np.log10(1e-2) / np.log10(0.05), np.log10(1e-6) / np.log10(0.05)))
    # exact scores, and counts merged exactly (bound 0), are points; a sketch score without a bound settles nothing
    assert ev.moved_range(col("wasserstein", 0.3, "score >= 0.1", 0.1, method=dr.EXACT)) == pytest.approx((3, 3))
    assert ev.moved_range(col("jensenshannon", 0.2, "score >= 0.1", 0.1, bound=0.0)) == pytest.approx((2, 2))
    assert ev.moved_range(col("ks", 1e-4, "p <= 0.05", 0.05, bound=float("nan"))) == (-np.inf, np.inf)
