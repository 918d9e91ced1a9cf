"""The rules each model is watched by: a default set that follows from its config, plus `[[alerts]]`.

One definition per signal: the Health, Cost and Drift screens, the Overview, `check` and the incident
list all read a model's rules from `rules_for`, so a threshold shown on a screen is the one that fires.
A config without `[[alerts]]` still alerts; an `[[alerts]]` rule on the same metric for the model (or
for every model) replaces the default for that metric, and any other rule adds to the set.

Defaults (all per model):
- `burn_rate > 6` over the SLO's short window (critical): the error budget burns 6x too fast;
- `drift_share >= [thresholds] drift_share` over 24 h, evidence-sized, when the model has a reference: the
  share *reaching* the threshold is what the Drift screen calls a drifted dataset (`drift.summarize`), so
  `>` would leave a model with 2 features, 1 drifted, shown as drifted and never alerted;
- `accuracy_drop > 0.05` (classification) or `mae_increase > 10 % of the expected MAE` (regression) over
  24 h against the model's expected level (its registry run metric or its labelled reference);
- `cost_budget_share > 1.0` (projected month spend over budget) when a budget is set;
- `cost_spike > 1.5` (cost per request against the previous version or prompt) when prices are set;
- `stale_minutes > 0`: no rows for ten times the source's usual gap (0 = the usual gap decides; a
  positive threshold is a fixed limit in minutes).
"""

from __future__ import annotations

from typing import Iterable, Mapping

from console.config import AlertRule, ModelConfig

DEFAULT = "default"  # default rules' names start with this
BURN_FACTOR = 6.0
ACCURACY_DROP = 0.05
MAE_SHARE = 0.10
COST_SPIKE = 1.5


def default_rules(mc: ModelConfig, drift_share: float, has_reference: bool,
                  expected: Mapping[str, float] | None = None) -> list[AlertRule]:
    expected = expected or {}
    rules = [AlertRule(f"{DEFAULT}: SLO burn", "burn_rate", ">", BURN_FACTOR, mc.name, window=mc.slo.short_window,
                       severity="critical"),
             AlertRule(f"{DEFAULT}: stale source", "stale_minutes", ">", 0.0, mc.name, window="1h",
                       severity="critical")]
    if has_reference:
        rules.append(AlertRule(f"{DEFAULT}: feature drift", "drift_share", ">=", drift_share, mc.name, window="24h"))
    if mc.task == "classification":
        rules.append(AlertRule(f"{DEFAULT}: accuracy", "accuracy_drop", ">", ACCURACY_DROP, mc.name, window="24h"))
    elif mc.task == "regression" and expected.get("mae"):
        rules.append(AlertRule(f"{DEFAULT}: MAE", "mae_increase", ">", MAE_SHARE * expected["mae"], mc.name,
                               window="24h"))
    if mc.budget_usd_month:
        rules.append(AlertRule(f"{DEFAULT}: budget", "cost_budget_share", ">", 1.0, mc.name, window="30d"))
    p = mc.prices
    if p.input_per_1m or p.output_per_1m or p.cached_per_1m:
        rules.append(AlertRule(f"{DEFAULT}: cost spike", "cost_spike", ">", COST_SPIKE, mc.name, window="24h"))
    return rules


def rules_for(mc: ModelConfig, configured: Iterable[AlertRule], drift_share: float, has_reference: bool,
              expected: Mapping[str, float] | None = None) -> list[AlertRule]:
    """The model's rules: its configured ones, and the defaults for metrics no configured rule covers. A
    `feature_drift` rule without a feature (the number of drifted features) covers the dataset-drift default; one
    watching a single feature does not: the other features' drift would go unwatched."""
    mine = [r for r in configured if r.model in (None, mc.name)]
    covered = {r.metric for r in mine}
    if any(r.metric == "feature_drift" and not r.feature for r in mine):
        covered.add("drift_share")
    return mine + [r for r in default_rules(mc, drift_share, has_reference, expected) if r.metric not in covered]


def rule_for(rules: Iterable[AlertRule], metric: str) -> AlertRule | None:
    """The rule a screen shows for one signal (the first for that metric)."""
    return next((r for r in rules if r.metric == metric), None)
