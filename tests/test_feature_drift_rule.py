"""A `feature_drift` rule without a feature counts the drifted features and honours the rule's operator: an
operator's `feature_drift >= 1` ("any feature drifted") must fire when exactly one feature moved. Which
feature drifted is checked independently with scipy's KS test."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
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


def test_a_rule_on_one_feature_keeps_the_dataset_drift_default():
    """README: a rule on another metric adds to the defaults. A `feature_drift` rule watching one feature removed
    the dataset-drift rule, so two drifted features of three went unwatched and `check` said all clear (the probe's
    ws5). Without a feature it counts drifted features and stands in for the default, as before."""
    from console.analytics.rules import rules_for
    from console.config import ModelConfig

    mc = ModelConfig(name="m", task="classification")
    one = AlertRule("w moved", "feature_drift", ">=", 1, "m", feature="w", window="24h")
    count = AlertRule("two moved", "feature_drift", ">=", 2, "m", window="24h")
    assert {r.metric for r in rules_for(mc, [one], 0.5, True)} >= {"feature_drift", "drift_share"}
    assert "drift_share" not in {r.metric for r in rules_for(mc, [count], 0.5, True)}


def test_wilson_bounds_are_exact_at_the_ends():
    """0 of 100 printed a lower bound of 3.47e-18; scipy's Wilson interval is the oracle."""
    from console.analytics.evidence import wilson

    for k, n in ((0, 100), (100, 100), (3, 100), (0, 7), (7, 7)):
        ci = stats.binomtest(k, n).proportion_ci(method="wilson")
        lo, hi = wilson(k, n)
        assert (lo, hi) == (pytest.approx(ci.low, abs=1e-12), pytest.approx(ci.high, abs=1e-12))
    assert wilson(0, 100)[0] == 0.0 and wilson(100, 100)[1] == 1.0


def test_a_feature_no_longer_logged_is_no_evidence_that_its_drift_ended():
    """A rule on one feature read a window where that feature had no values (its logging dropped) as "not
    drifted", evidence of recovery: the incident resolved for lack of data. Such a window is `insufficient data`
    with the feature's status; the other features' verdicts do not stand in for it."""
    ds, n = _one_feature_drifted()
    rng = np.random.default_rng(8)
    ref = pl.DataFrame({"x": rng.normal(0, 1, 600), "y": rng.normal(0, 1, 600)})
    gone = pl.DataFrame({"x": pl.Series([None] * 600, dtype=pl.Float64), "y": rng.normal(3, 1, 600)})
    hi = datetime(2026, 11, 20)
    lo = hi - timedelta(hours=6)
    spans = [(lo - timedelta(hours=6), lo, n), (lo, hi, 600)]
    scored = {spans[0][:2]: ds, spans[1][:2]: dataset_drift(Reference.from_polars(ref), gone)}
    rule = AlertRule("x moved", "feature_drift", ">", 0, "m", feature="x", window="6h")
    before, after = RuleEvaluator._drift_evals(rule, spans, scored)[0]
    assert before.breach is True and before.value == 1.0
    assert after.breach is None and after.value is None  # y drifted, x unknown: neither fine nor breaching
    assert "x" in after.note and "no data" in after.note


def _one_feature_rule(tmp_path, op: str, threshold: float, metric: str = "feature_drift"):
    from console.config import parse

    return parse({"alerts": [{"name": "x moved", "metric": metric, "feature": "x", "op": op,
                              "threshold": threshold, "model": "m"}]}, tmp_path)


@pytest.mark.parametrize("op,threshold", [(">=", 1), (">", 0), (">", 0.5), (">=", 0.2)])
def test_a_rule_on_one_feature_fires_when_it_drifted_by_its_operator(tmp_path, op, threshold):
    """The single-feature rule's value is 1 when the feature's own test says drifted (scipy agrees above), 0
    when not, and the rule's operator compares it like any rule's (it read `drifted` whatever `op` said)."""
    [rule] = _one_feature_rule(tmp_path, op, threshold).alerts
    ds, n = _one_feature_drifted()
    hi = datetime(2026, 11, 20)
    lo = hi - timedelta(hours=6)
    for feature, fires in (("x", True), ("y", False)):
        [evaluation], _ = RuleEvaluator._drift_evals(replace(rule, feature=feature), [(lo, hi, n)], {(lo, hi): ds})
        assert (evaluation.value, evaluation.breach) == (float(fires), fires)


@pytest.mark.parametrize("op,threshold,said", [(">", 1, "could never fire"), (">=", 1.5, "could never fire"),
                                               ("<", 1, "would fire only when it did not drift"),
                                               (">=", 0, "would fire whether or not it drifted"),
                                               ("<", 2, "would fire whether or not it drifted")])
def test_a_rule_on_one_feature_that_0_and_1_cannot_tell_apart_is_a_config_error(tmp_path, op, threshold, said):
    """`feature_drift > 1` on one feature (its value is 0 or 1) could never fire: it was loaded and, reading
    `drifted` whatever the operator said, fired on drift; an operator reading the README expected silence. Said
    at load instead, with the rule that means "drifted"."""
    from console.config import ConfigError

    with pytest.raises(ConfigError) as err:
        _one_feature_rule(tmp_path, op, threshold)
    assert said in str(err.value) and "alerts[0].threshold" in str(err.value)
    assert 'op = ">=" and threshold = 1' in str(err.value)


def test_feature_on_another_metric_is_a_config_error(tmp_path):
    """`feature` applies to `feature_drift` only; on a p95 rule it was ignored, then named as the incident's
    feature (the finding took `rule.feature`)."""
    from console.config import ConfigError

    with pytest.raises(ConfigError) as err:
        _one_feature_rule(tmp_path, ">", 300, metric="p95_ms")
    assert "alerts[0].feature" in str(err.value) and "feature_drift" in str(err.value)
