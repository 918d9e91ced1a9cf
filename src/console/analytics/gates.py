"""Promotion gates: should this candidate replace the champion?

Plain functions over numbers the caller already has (run metrics, live canary stats, drift),
so the operator, the TUI's confirmation dialog and tests all see the same verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

HIGHER_IS_BETTER = ("auc", "accuracy", "f1", "precision", "recall", "factuality", "r2")
LOWER_IS_BETTER = ("mae", "rmse", "mse", "mape", "loss", "latency", "error_rate", "p95")
DEFAULT_TOLERANCE = 0.01  # relative: a candidate may be 1 % worse and still pass


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    detail: str


def direction(metric: str) -> int:
    """+1 when higher is better, -1 when lower is better, 0 when the name says neither."""
    m = metric.lower()
    for token in LOWER_IS_BETTER:  # "val_loss", "latency_p95_ms", "test_rmse"
        if token in m:
            return -1
    for token in HIGHER_IS_BETTER:
        if m == token or m.endswith("_" + token) or m.startswith(token + "_") or f"_{token}_" in m:
            return 1
    return 0


def _compare(name: str, cand: float, champ: float, sign: int, tolerance: float) -> Gate:
    slack = abs(champ) * tolerance
    passed = cand >= champ - slack if sign > 0 else cand <= champ + slack
    word = "higher" if sign > 0 else "lower"
    return Gate(name, passed, f"{cand:.4g} vs champion {champ:.4g} ({word} is better, tolerance {tolerance:.0%})")


def compare_metrics(candidate: Mapping[str, float], champion: Mapping[str, float],
                    tolerance: float = DEFAULT_TOLERANCE) -> list[Gate]:
    gates = []
    for name in sorted(set(candidate) & set(champion)):
        sign = direction(name)
        if sign == 0:
            continue
        try:
            cand, champ = float(candidate[name]), float(champion[name])
        except (TypeError, ValueError):
            continue
        gates.append(_compare(f"metric:{name}", cand, champ, sign, tolerance))
    return gates


def live_gates(live: Mapping[str, Any], slo_error_rate: float | None = None,
               tolerance: float = 0.1) -> list[Gate]:
    """Canary vs champion on live traffic: error rate, p95 latency, accuracy (10 % relative slack)."""
    canary, champion = live.get("canary") or {}, live.get("champion") or {}
    gates = []
    for key, sign in (("error_rate", -1), ("p95_ms", -1), ("accuracy", 1)):
        if canary.get(key) is None or champion.get(key) is None:
            continue
        gates.append(_compare(f"live:{key}", float(canary[key]), float(champion[key]), sign, tolerance))
    if slo_error_rate is not None and canary.get("error_rate") is not None:
        rate = float(canary["error_rate"])
        gates.append(Gate("live:error_rate_slo", rate <= slo_error_rate,
                          f"canary error rate {rate:.2%} vs SLO {slo_error_rate:.2%}"))
    return gates


def drift_gate(drift: Mapping[str, Any]) -> Gate:
    drifted = bool(drift.get("drifted"))
    share = drift.get("share")
    detail = f"{share:.0%} of features drifted" if isinstance(share, (int, float)) else "drift report"
    return Gate("drift", not drifted, detail + (" (drift detected)" if drifted else ""))


def evaluate_gates(candidate_metrics: Mapping[str, float] | None, champion_metrics: Mapping[str, float] | None,
                   live: Mapping[str, Any] | None = None, drift: Mapping[str, Any] | None = None,
                   tolerance: float = DEFAULT_TOLERANCE, slo_error_rate: float | None = None) -> list[Gate]:
    """Every check that applies; when nothing can be compared a single passing gate says so."""
    gates: list[Gate] = []
    if champion_metrics is None:
        gates.append(Gate("champion", True, "no champion to compare against"))
    else:
        compared = compare_metrics(candidate_metrics or {}, champion_metrics, tolerance)
        gates += compared or [Gate("metrics", True, "no comparable metric logged by both runs")]
    if live:
        gates += live_gates(live, slo_error_rate)
    if drift:
        gates.append(drift_gate(drift))
    return gates


def all_passed(gates: list[Gate]) -> bool:
    return all(g.passed for g in gates)


def failures(gates: list[Gate]) -> list[Gate]:
    return [g for g in gates if not g.passed]
