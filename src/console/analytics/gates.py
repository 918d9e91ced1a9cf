"""Promotion gates: should this candidate replace the champion?

Plain functions over numbers the caller already has (run metrics, live canary stats, drift),
so the operator, the TUI's confirmation dialog and tests all see the same verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from console.analytics.evidence import ALPHA, two_proportion_p, wilson

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
    """Canary vs champion on live traffic: error rate, p95 latency, accuracy or a regression's MAE (10 % relative
    slack).

    A proportion given with its counts (`requests`/`errors`, `labelled`/`correct`, as `Service.live_stats`
    gives them) fails only when the canary is past the slack and significantly worse (one-sided two-proportion
    test at `evidence.ALPHA`), and the SLO gate only when the canary's whole 95 % Wilson interval is past the
    SLO, as the alert rules judge proportions: one wrong label out of one, or one error in 50 requests, is not
    evidence enough to block a rollout (it blocked the demo's canary step on 0/1 against 1/1 labels)."""
    canary, champion = live.get("canary") or {}, live.get("champion") or {}
    gates = []
    for key, sign in (("error_rate", -1), ("p95_ms", -1), ("accuracy", 1), ("mae", -1)):
        if canary.get(key) is None or champion.get(key) is None:
            continue
        gate = _compare(f"live:{key}", float(canary[key]), float(champion[key]), sign, tolerance)
        counts = _counts(canary, key), _counts(champion, key)
        if not gate.passed and None not in counts:
            (k1, n1), (k2, n2) = counts
            p = _p_worse(k1, n1, k2, n2)
            if p is None or p >= ALPHA:
                gate = Gate(gate.name, True, f"{gate.detail}; not significant on {k1}/{n1} vs {k2}/{n2}")
        gates.append(gate)
    if slo_error_rate is not None and canary.get("error_rate") is not None:
        rate = float(canary["error_rate"])
        detail = f"canary error rate {rate:.2%} vs SLO {slo_error_rate:.2%}"
        passed = rate <= slo_error_rate
        errors = _counts(canary, "error_rate")
        if not passed and errors is not None:
            low, _ = wilson(*errors)
            passed = low is None or low <= slo_error_rate
            if passed:
                detail += f" ({errors[0]}/{errors[1]}: within the 95 % interval)"
        gates.append(Gate("live:error_rate_slo", passed, detail))
    return gates


# the counts behind a live proportion: (bad or good events, out of), when the stats carry them
_COUNTS = {"error_rate": ("errors", "requests"), "accuracy": ("correct", "labelled")}


def _counts(stats: Mapping[str, Any], key: str) -> tuple[int, int] | None:
    names = _COUNTS.get(key)
    if names is None or stats.get(names[0]) is None or not stats.get(names[1]):
        return None
    return int(stats[names[0]]), int(stats[names[1]])


def _p_worse(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """One-sided p-value that the canary's proportion differs from the champion's in the direction seen (the
    caller only asks when the canary looked worse): half the two-sided two-proportion p-value."""
    p = two_proportion_p(k1, n1, k2, n2)
    return None if p is None else p / 2


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


def newly_failed(seen: list[Gate] | tuple[Gate, ...], now: list[Gate]) -> list[Gate]:
    """Gates failing `now` that did not fail in what the operator `seen` (confirmed): a new gate (a first
    label gave a live accuracy) or one that passed then. A failure that cleared since is no new risk."""
    failed_then = {g.name for g in seen if not g.passed}
    return [g for g in now if not g.passed and g.name not in failed_then]
