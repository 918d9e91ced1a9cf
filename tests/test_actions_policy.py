"""Catalog, policy and gates: plain functions, no registry needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.actions import catalog, policy
from console.actions.catalog import ACTIONS, ActionState
from console.actions.policy import User
from console.analytics.gates import direction, evaluate_gates
from console.config import ConfigError, parse

ROLES = {"operator": {"users": ["alice"], "groups": ["mlops"], "actions": ["promote", "canary-*", "rollback"],
                      "environments": ["staging", "production"]},
         "breakglass": {"users": ["root-oncall"]}}


def cfg(**data):
    data.setdefault("environments", {"production": {"production": True}, "staging": {}, "dev": {}})
    return parse(data, root=Path("/tmp"))


def test_catalog_keys_are_unique_and_safe():
    keys = [a.key for a in ACTIONS]
    assert len(set(keys)) == len(keys)
    assert {"P", "+", "F", "A", "R", "T"} <= set(keys)
    assert not any(k.startswith("ctrl+") for k in keys)
    assert catalog.by_key("R").id == "rollback"
    with pytest.raises(KeyError):
        catalog.get("nope")


def test_applies_follows_state():
    ids = lambda s: {a.id for a in catalog.available(s)}  # noqa: E731
    assert ids(ActionState()) == {"promote", "retrain"}
    assert {"canary-step", "canary-promote", "canary-abort"} <= ids(ActionState(has_canary=True))
    assert "rollback" in ids(ActionState(has_previous_champion=True))
    assert "retrain" not in ids(ActionState(is_prompt=True))


@pytest.mark.parametrize("spec", ACTIONS, ids=lambda s: s.id)
def test_read_only_refuses_every_action(spec):
    assert not policy.check(spec, cfg(console={"read_only": True}), "staging", User("alice")).allowed
    env_ro = cfg(environments={"production": {"production": True, "read_only": True}, "staging": {}})
    decision = policy.check(spec, env_ro, "production", User("alice"))
    assert not decision.allowed and "read-only" in decision.reason
    assert policy.check(spec, env_ro, "staging", User("alice")).allowed


@pytest.mark.parametrize("spec", [a for a in ACTIONS if a.dangerous], ids=lambda s: s.id)
def test_roles_refuse_every_dangerous_action_for_outsiders(spec):
    c = cfg(roles=ROLES)
    assert not policy.check(spec, c, "production", User("mallory", ("users",))).allowed
    assert policy.check(spec, c, "production", User("root-oncall")).allowed  # no lists: everything


def test_roles_match_users_groups_actions_and_environments():
    c = cfg(roles=ROLES)
    promote, shadow_stop = catalog.get("promote"), catalog.get("shadow-stop")
    assert policy.check(promote, c, "production", User("alice")).allowed
    assert policy.check(promote, c, "production", User("bob", ("mlops",))).allowed
    assert not policy.check(promote, c, "dev", User("alice")).allowed
    assert not policy.check(shadow_stop, c, "production", User("alice")).allowed
    assert policy.check(catalog.get("retrain"), c, "production", User("mallory")).allowed  # not dangerous


def test_no_roles_allows_everyone():
    for spec in ACTIONS:
        assert policy.check(spec, cfg(), "production", User("anyone")).allowed


def test_malformed_roles_are_config_errors():
    with pytest.raises(ConfigError, match="roles.ops.users"):
        policy.check(catalog.get("promote"), cfg(roles={"ops": {"users": "alice"}}), "production", User("a"))
    with pytest.raises(ConfigError, match="roles.ops.who"):
        policy.validate_roles({"ops": {"who": ["a"]}})


@pytest.mark.parametrize("table, said", [
    ('[roles.ops]\nuser = ["root"]\n', "roles.ops.user: unknown key; expected one of actions, environments, groups, users"),
    ('[roles.ops]\nusers = "root"\n', "roles.ops.users: expected a list of strings"),
    ('[roles]\nops = 3\n', "roles.ops: expected a table"),
])
def test_a_malformed_roles_table_is_refused_as_the_file_is_loaded(tmp_path, table, said):
    """Not only when an action is refused: `snapshot`, `check` and the TUI started without a word on `user`."""
    from console.config import parse_file

    (tmp_path / "c.toml").write_text(table, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        parse_file(tmp_path / "c.toml")
    assert said in str(err.value)


def test_typed_confirmation_only_for_dangerous_production():
    c = cfg(environments={"prod-eu": {"production": True}, "staging": {}})
    assert policy.needs_typed_confirmation(catalog.get("promote"), c, "prod-eu")
    assert not policy.needs_typed_confirmation(catalog.get("promote"), c, "staging")
    assert not policy.needs_typed_confirmation(catalog.get("retrain"), c, "prod-eu")
    assert policy.needs_typed_confirmation(catalog.get("rollback"), cfg(), "production")


def test_current_user_is_the_real_uid_whatever_the_environment_says(monkeypatch):
    import os
    import pwd

    real = pwd.getpwuid(os.getuid()).pw_name
    for var in ("SUDO_USER", "USER", "LOGNAME"):
        monkeypatch.setenv(var, "alice")
    assert policy.current_user().name == real


def test_gates_directions_and_tolerance():
    assert direction("val_auc") == 1 and direction("rmse") == -1 and direction("latency_p95_ms") == -1
    assert direction("epochs") == 0
    gates = {g.name: g for g in evaluate_gates({"auc": 0.85, "rmse": 3.0, "epochs": 3},
                                               {"auc": 0.90, "rmse": 3.01, "epochs": 5})}
    assert not gates["metric:auc"].passed and gates["metric:rmse"].passed and "metric:epochs" not in gates
    assert all(g.passed for g in evaluate_gates({"auc": 0.895}, {"auc": 0.90}))  # within 1 %
    assert evaluate_gates({"auc": 0.9}, None)[0].passed
    assert evaluate_gates({"x": 1}, {"y": 2})[0].name == "metrics"


def test_live_and_drift_gates():
    live = {"canary": {"error_rate": 0.05, "p95_ms": 120, "accuracy": 0.9},
            "champion": {"error_rate": 0.01, "p95_ms": 118, "accuracy": 0.91}}
    gates = {g.name: g for g in evaluate_gates({}, {}, live=live, drift={"drifted": True, "share": 0.6},
                                               slo_error_rate=0.02)}
    assert not gates["live:error_rate"].passed and gates["live:p95_ms"].passed and gates["live:accuracy"].passed
    assert not gates["live:error_rate_slo"].passed
    assert not gates["drift"].passed and "60%" in gates["drift"].detail


def test_live_proportions_fail_only_on_evidence():
    """With their counts, a live proportion fails only when the canary is significantly worse (one-sided
    two-proportion z-test at 1 %, checked against scipy's normal tail) and the SLO gate only when the whole Wilson
    interval is past the SLO; a p95 has no counts and keeps the plain comparison."""
    from scipy.stats import norm

    def gates(canary, champion, slo=None):
        return {g.name: g for g in evaluate_gates({}, {}, live={"canary": canary, "champion": champion},
                                                  slo_error_rate=slo)}

    one_label = gates({"accuracy": 0.0, "labelled": 1, "correct": 0}, {"accuracy": 1.0, "labelled": 1, "correct": 1})
    assert one_label["live:accuracy"].passed and "0/1 vs 1/1" in one_label["live:accuracy"].detail
    # 150/200 against 380/400: z = 6.5, far past 1 %
    pooled = 530 / 600
    z = (380 / 400 - 150 / 200) / (pooled * (1 - pooled) * (1 / 200 + 1 / 400)) ** 0.5
    assert norm.sf(z) < 0.01
    assert not gates({"accuracy": 0.75, "labelled": 200, "correct": 150},
                     {"accuracy": 0.95, "labelled": 400, "correct": 380})["live:accuracy"].passed
    few = gates({"error_rate": 1 / 50, "errors": 1, "requests": 50}, {"error_rate": 0.0, "errors": 0, "requests": 100},
                slo=0.005)
    assert few["live:error_rate"].passed and few["live:error_rate_slo"].passed  # Wilson low 0.0035 <= 0.5 %
    many = gates({"error_rate": 0.3, "errors": 60, "requests": 200}, {"error_rate": 0.0, "errors": 0, "requests": 400},
                 slo=0.02)
    assert not many["live:error_rate"].passed and not many["live:error_rate_slo"].passed
