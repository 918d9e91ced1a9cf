"""The incident linker on a hand-built timeline, and retraining recommendations."""

import json
from datetime import datetime, timedelta

import polars as pl
import pytest

from console.analytics import incidents as inc
from console.analytics.alerts import AlertState
from console.analytics.fairness import WorstSegment
from console.config import AlertRule

ONSET = datetime(2026, 3, 10, 12, 0)


def at(h, m=0):
    return datetime(2026, 3, 10, h, m)


DEPLOYS = pl.DataFrame([
    {"ts": at(11, 40), "model": "fraud", "version": "7", "environment": "production", "strategy": "canary",
     "traffic_pct": 10.0, "action": "deploy", "actor": "ana", "reason": "new features"},
    {"ts": at(9, 0), "model": "fraud", "version": "6", "environment": "production", "strategy": "direct",
     "traffic_pct": 100.0, "action": "promote", "actor": "bo", "reason": None},
    {"ts": at(10, 30), "model": "fraud", "version": "6", "environment": "production", "strategy": None,
     "traffic_pct": None, "action": "deploy", "actor": "cy", "reason": "Prompt v3 rollout"},
    {"ts": at(12, 10), "model": "fraud", "version": "8", "environment": "production", "strategy": "direct",
     "traffic_pct": 100.0, "action": "deploy", "actor": "ana", "reason": "hotfix"},        # after onset
    {"ts": at(5, 0), "model": "fraud", "version": "5", "environment": "production", "strategy": "direct",
     "traffic_pct": 100.0, "action": "deploy", "actor": "ana", "reason": "old"},           # before lookback
    {"ts": at(11, 50), "model": "churn", "version": "2", "environment": "production", "strategy": "direct",
     "traffic_pct": 100.0, "action": "deploy", "actor": "ana", "reason": "other model"},
])


def alert(model="fraud"):
    return AlertState(AlertRule("slow", "p95_ms", ">", 300.0), model, 450.0, True, ONSET)


def test_deployment_twenty_minutes_before_is_first_suspect():
    i = inc.link_incident(alert(), deployments=DEPLOYS)
    assert i.onset == ONSET and i.model == "fraud"
    assert [(s.kind, s.ts) for s in i.suspects] == [
        ("deployment", at(11, 40)), ("prompt", at(10, 30)), ("alias", at(9, 0))]
    assert "v7" in i.suspects[0].detail and "canary, 10%" in i.suspects[0].detail and "ana" in i.suspects[0].detail
    assert all(s.ts <= ONSET for s in i.suspects)  # the 12:10 hotfix came after and is not a suspect
    json.dumps(i.to_dict())


def test_lookback_is_a_parameter():
    i = inc.link_incident(alert(), deployments=DEPLOYS, lookback="1h")
    assert [s.ts for s in i.suspects] == [at(11, 40)]
    assert inc.link_incident(alert("churn"), deployments=DEPLOYS).suspects[0].ts == at(11, 50)
    assert inc.link_incident(alert("nobody"), deployments=DEPLOYS).suspects == ()


def test_prompt_version_mix_change():
    ts = [at(6) + timedelta(minutes=10 * k) for k in range(36)]  # 06:00 .. 11:50
    preds = pl.DataFrame({"ts": ts, "model": "fraud",
                          "prompt_version": ["p1" if t < at(11, 30) else "p2" for t in ts]})
    i = inc.link_incident(alert(), preds=preds)
    [s] = i.suspects
    assert (s.kind, s.ts) == ("prompt", at(11, 30))
    assert "p2" in s.detail
    # the model's first ever prompt version is not a change
    assert inc.prompt_suspects(preds.filter(pl.col("prompt_version") == "p1"), "fraud", ONSET) == []
    # a version first seen after the onset is not a suspect
    assert inc.prompt_suspects(preds, "fraud", at(11, 0)) == []


def test_first_drifted_features_and_worst_segment():
    def points(flags, start=at(10)):
        return [(start + timedelta(minutes=15 * k), f) for k, f in enumerate(flags)]
    drift = {
        "amount": points([False] * 6 + [True] * 6),       # drifts from 11:30
        "country": points([False] * 4 + [True] * 8),      # drifts from 11:00: first
        "device": points([True, True, False] + [False] * 9),  # drifted long before and recovered
        "hour": points([False] * 12),
        "merchant": points([False] * 10 + [True] * 2 + [True] * 4),  # 12:30, within the hour after
        "late": points([False] * 16 + [True] * 2),        # 14:00, too late to be related
    }
    worst = WorstSegment("channel", "app", "accuracy", 0.61, 340, 200)
    i = inc.link_incident(alert(), deployments=DEPLOYS, drift_series=drift, worst_segment=worst)
    assert i.first_drifted == ("country", "amount", "merchant")
    assert i.worst_segment == worst
    assert inc.first_drifted({}, ONSET) == ()


def test_onset_defaults_and_non_firing_alert():
    quiet = AlertState(AlertRule("slow", "p95_ms", ">", 300.0), "fraud", 100.0, False, None)
    with pytest.raises(ValueError):
        inc.link_incident(quiet, deployments=DEPLOYS)
    i = inc.link_incident(quiet, deployments=DEPLOYS, onset=at(11, 45))
    assert i.suspects[0].ts == at(11, 40)


def windows(flags, start=at(0), step=timedelta(hours=1)):
    return [(start + step * k, f) for k, f in enumerate(flags)]


def test_retraining_needs_n_consecutive_windows():
    res = inc.recommend_retraining(windows([True, True, False, True, True, True, True]), "fraud",
                                   "accuracy_drop > 0.05", consecutive=3, cooldown="24h")
    assert [(r.since, r.at) for r in res] == [(at(3), at(5))]
    assert res[0].model == "fraud" and res[0].reason == "accuracy_drop > 0.05"
    assert inc.recommend_retraining(windows([True, False] * 5), "m", "r", consecutive=2) == []
    json.dumps(res[0].to_dict())


def test_retraining_cooldown():
    flags = [True] * 12
    res = inc.recommend_retraining(windows(flags), "m", "r", consecutive=2, cooldown="5h")
    # at 01:00 (run 00:00-01:00); then the run restarts; next eligible run ends >= 06:00
    assert [(r.since, r.at) for r in res] == [(at(0), at(1)), (at(2), at(6)), (at(7), at(11))]
    # a recommendation made before this series still holds the cool-down
    res = inc.recommend_retraining(windows(flags), "m", "r", consecutive=2, cooldown="5h",
                                   last_recommended=at(0) - timedelta(hours=1))
    assert res[0].at == at(4)
    with pytest.raises(ValueError):
        inc.recommend_retraining([], "m", "r", consecutive=0)
