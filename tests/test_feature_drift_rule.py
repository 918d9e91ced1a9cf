"""A `feature_drift` rule without a feature counts the drifted features and honours the rule's operator: an
operator's `feature_drift >= 1` ("any feature drifted") must fire when exactly one feature moved. Which
feature drifted is checked independently with scipy's KS test."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
from scipy import stats

from console.analytics.drift import Reference, dataset_drift
from console.config import AlertRule
from console.incident_rules import RuleEvaluator


def _one_feature_drifted():
    rng = np.random.default_rng(7)
    ref = pl.DataFrame({"x": rng.normal(0, 1, 600), "y": rng.normal(0, 1, 600)})
    cur = pl.DataFrame({"x": rng.normal(3, 1, 600), "y": rng.normal(0, 1, 600)})
    drifted = [c for c in ("x", "y") if stats.ks_2samp(ref[c].to_numpy(), cur[c].to_numpy()).pvalue <= 0.05]
    assert drifted == ["x"]  # the independent verdict: one feature moved
    return dataset_drift(Reference.from_polars(ref), cur), len(cur)


def _breach(op: str, threshold: float) -> bool | None:
    ds, n = _one_feature_drifted()
    hi = datetime(2026, 11, 20)
    lo = hi - timedelta(hours=6)
    rule = AlertRule("any drift", "feature_drift", op, threshold, "m", window="6h")
    [evaluation], _ = RuleEvaluator._drift_evals(rule, [(lo, hi, n)], {(lo, hi): ds})
    assert evaluation.value == 1.0
    return evaluation.breach


def test_feature_drift_without_a_feature_follows_the_rules_operator():
    assert _breach(">=", 1) is True
    assert _breach(">", 0) is True
    assert _breach(">", 1) is False
    assert _breach("<", 1) is False
