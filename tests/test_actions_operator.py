"""Operator actions against a real MLflow server and real webhook servers; checked with a separate client."""

from __future__ import annotations

import glob as _glob
import json
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from werkzeug import Response

from conftest import free_port, mlflow_client, seed_model, unique
from console.actions import audit, catalog
from console.actions.locks import LEASE_TAG
from console.actions.operator import CANARY_PCT_TAG, HISTORY_TAG, Operator
from console.actions.policy import User
from console.config import Webhook, parse
from console.sources.registry import Registry

ALICE = User("alice", ("mlops",))


def make_cfg(tmp: Path, **extra):
    data = {"audit": {"path": str(tmp / "state" / "audit.jsonl")},
            "logs": [{"kind": "deployments", "path": str(tmp / "deploy" / "*.jsonl")}],
            "environments": {"production": {"production": True}, "staging": {}}, **extra}
    return parse(data, root=tmp)


def make_op(cfg, uri, **kw) -> Operator:
    return Operator(cfg, Registry(uri), user=kw.pop("user", ALICE), backoff_s=0.01, lease_pause_s=0.05, **kw)


def aliases(uri, name):
    return {k: str(v) for k, v in mlflow_client(uri).get_registered_model(name).aliases.items()}


def tags(uri, name):
    return mlflow_client(uri).get_registered_model(name).tags


def events(tmp: Path):
    path = tmp / "deploy" / "console-actions.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_direct_promote_moves_champion_and_records_everything(mlflow_server, tmp_path):
    name = unique("direct")
    seed_model(mlflow_server, name, 3, aliases={"champion": "1"})
    op = make_op(make_cfg(tmp_path), mlflow_server)

    plan = op.plan(name, "production", "promote", version="2")
    assert plan.summary == "champion: v1 -> v2 (100 % of traffic) in production" and plan.blocked is None

    result = op.promote(name, "2", "production", expected_from="1", reason="better auc")
    assert result.ok and result.status == "done", result.message
    assert (result.from_version, result.to_version) == ("1", "2")
    assert aliases(mlflow_server, name) == {"champion": "2"}
    t = tags(mlflow_server, name)
    assert json.loads(t[HISTORY_TAG + "champion"]) == ["1"]
    assert json.loads(t["console.last_move.champion"])["by"] == "alice"
    assert LEASE_TAG not in t  # released

    [event] = events(tmp_path)
    assert {k: event[k] for k in ("model", "version", "environment", "strategy", "traffic_pct", "action", "actor",
                                  "reason")} == {"model": name, "version": "2", "environment": "production",
                                                 "strategy": "direct", "traffic_pct": 100, "action": "promote",
                                                 "actor": "alice", "reason": "better auc"}
    assert event["ts"].endswith("Z")
    recs = audit.read(op.audit.path, model=name)
    assert [r["phase"] for r in recs] == ["intent", "outcome"]
    assert recs[1]["outcome"] == "done" and recs[0]["action_id"] == result.action_id
    assert audit.verify(op.audit.path).ok
    assert result.details["hook"]["skipped"]


def test_canary_start_step_abort(mlflow_server, tmp_path):
    name = unique("canary")
    seed_model(mlflow_server, name, 2, aliases={"staging-champion": "1"})
    op = make_op(make_cfg(tmp_path, rollout={"canary_steps": [5, 50, 100]}), mlflow_server)

    assert op.promote(name, "2", "staging", strategy="canary", reason="try").ok
    assert aliases(mlflow_server, name) == {"staging-champion": "1", "staging-canary": "2"}
    assert tags(mlflow_server, name)[CANARY_PCT_TAG + "staging-canary"] == "5"
    assert op.state(name, "staging").has_canary

    step = op.canary_step(name, "staging", expected_from="2")
    assert step.ok and "5 % -> 50 %" in step.message
    assert tags(mlflow_server, name)[CANARY_PCT_TAG + "staging-canary"] == "50"

    abort = op.canary_abort(name, "staging", reason="errors up")
    assert abort.ok
    assert aliases(mlflow_server, name) == {"staging-champion": "1"}
    assert CANARY_PCT_TAG + "staging-canary" not in tags(mlflow_server, name)
    assert [(e["action"], e["traffic_pct"]) for e in events(tmp_path)] == [
        ("deploy", 5), ("canary-step", 50), ("abort", 0)]
    again = op.canary_step(name, "staging")
    assert again.status == "refused" and "no canary" in again.message


def test_canary_promote_full_and_step_limit(mlflow_server, tmp_path):
    name = unique("canfull")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    op = make_op(make_cfg(tmp_path, rollout={"canary_steps": [50, 100]}), mlflow_server)
    assert op.promote(name, "2", strategy="canary", percent=20).ok
    assert op.canary_pct(name, "production") == 20
    assert op.canary_step(name).ok
    assert op.canary_step(name).ok  # 50 -> 100
    limit = op.canary_step(name)
    assert limit.status == "refused" and "100 %" in limit.message
    # said for the CLI too: it named the TUI's keys, "promote it (F) or abort it (A)" (actions probe)
    assert "the last step: promote it or abort it" in limit.message and "(F)" not in limit.message
    full = op.canary_promote(name, expected_from="2")
    assert full.ok, full.message
    assert aliases(mlflow_server, name) == {"champion": "2"}


def test_rollback_returns_to_previous_champion_even_without_history_tag(mlflow_server, tmp_path):
    name = unique("rollback")
    seed_model(mlflow_server, name, 3, aliases={"champion": "1"})
    op = make_op(make_cfg(tmp_path), mlflow_server)
    assert op.promote(name, "2").ok
    assert op.promote(name, "3").ok
    assert op.state(name, "production").has_previous_champion
    first = op.rollback(name, reason="latency")
    assert first.ok and aliases(mlflow_server, name) == {"champion": "2"}

    mlflow_client(mlflow_server).delete_registered_model_tag(name, HISTORY_TAG + "champion")
    second = op.rollback(name)  # falls back to the audit trail: 2 came from 3
    assert second.ok and aliases(mlflow_server, name)["champion"] == "3"

    explicit = op.rollback(name, to="1")
    assert explicit.ok and aliases(mlflow_server, name)["champion"] == "1"
    assert op.rollback(name, to="9").status == "refused"


def test_rollback_aborts_a_canary_in_flight(mlflow_server, tmp_path):
    """qa5: rolling back fraud-detector while canary v4 ran at 100 % planned only the champion change and left
    `canary=v4` in the registry, so the footer still offered canary step/promote/abort. A rollback aborts the
    canary (as Argo Rollouts does): the plan lists both changes, the registry ends with no canary, the audit
    and the deployment event say so."""
    name = unique("rbcanary")
    seed_model(mlflow_server, name, 4, aliases={"champion": "2"})
    op = make_op(make_cfg(tmp_path, rollout={"canary_steps": [10, 100]}), mlflow_server)
    assert op.promote(name, "3", reason="v3").ok
    assert op.promote(name, "4", strategy="canary", reason="canary").ok
    assert op.canary_step(name, reason="healthy").ok and op.canary_pct(name, "production") == 100

    plan = op.plan(name, "production", "rollback")
    assert [(c.alias, c.from_version, c.to_version) for c in plan.changes] == [
        ("champion", "3", "2"), ("canary", "4", None)]
    assert "canary v4 aborted (was 100 %)" in plan.summary

    result = op.rollback(name, expected_from="3", reason="bad v3")
    assert result.ok, result.message
    assert aliases(mlflow_server, name) == {"champion": "2"}
    assert CANARY_PCT_TAG + "canary" not in tags(mlflow_server, name)
    assert not op.state(name, "production").has_canary
    intent, outcome = [r for r in audit.read(op.audit.path, model=name) if r.get("action") == "rollback"]
    for rec in (intent, outcome):
        assert {(c["alias"], c["to_version"]) for c in rec["changes"]} == {("champion", "2"), ("canary", None)}
    assert events(tmp_path)[-1]["action"] == "rollback"


def test_blue_green_switch_and_shadow(mlflow_server, tmp_path):
    name = unique("bluegreen")
    seed_model(mlflow_server, name, 3, aliases={"champion": "1"})
    op = make_op(make_cfg(tmp_path), mlflow_server)
    assert op.promote(name, "2", strategy="blue-green").ok
    assert aliases(mlflow_server, name) == {"champion": "2", "blue": "1", "green": "2"}
    back = op.promote(name, None, strategy="blue-green", force=True, reason="back")  # to the idle slot
    assert back.ok and aliases(mlflow_server, name)["champion"] == "1"

    assert op.promote(name, "3", strategy="shadow").ok
    assert aliases(mlflow_server, name)["shadow"] == "3"
    assert op.shadow_stop(name).ok
    assert "shadow" not in aliases(mlflow_server, name)
    assert [e["action"] for e in events(tmp_path)] == ["switch", "switch", "shadow-start", "shadow-stop"]


def test_deploy_hook_retried_after_500_with_idempotency_key(mlflow_server, tmp_path, httpserver, monkeypatch):
    monkeypatch.setenv("DEPLOY_TOKEN", "s3cr3t-token")
    httpserver.expect_ordered_request("/deploy", method="POST").respond_with_data("busy", status=500)
    httpserver.expect_ordered_request("/deploy", method="POST").respond_with_json({"accepted": True})
    name = unique("hook")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    cfg = make_cfg(tmp_path, webhooks={"deploy": {"url": httpserver.url_for("/deploy"), "retries": 2,
                                                  "headers": {"Authorization": "Bearer ${DEPLOY_TOKEN}"}}})
    op = make_op(cfg, mlflow_server)
    result = op.promote(name, "2", reason="ship")
    assert result.ok, result.message
    assert result.details["hook"]["attempts"] == 2
    keys = [req.headers["Idempotency-Key"] for req, _ in httpserver.log]
    assert keys == [result.action_id, result.action_id]
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer s3cr3t-token"
    body = httpserver.log[0][0].get_json()
    assert body["model"] == name and body["version"] == "2" and body["from_version"] == "1"
    assert "s3cr3t-token" not in op.audit.path.read_text()
    assert aliases(mlflow_server, name)["champion"] == "2"


def test_failing_deploy_hook_leaves_alias_unchanged(mlflow_server, tmp_path, httpserver):
    httpserver.expect_request("/deploy", method="POST").respond_with_data("down", status=500)
    name = unique("hookfail")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    op = make_op(make_cfg(tmp_path, webhooks={"deploy": {"url": httpserver.url_for("/deploy"), "retries": 2}}),
                 mlflow_server)
    result = op.promote(name, "2", reason="ship")
    assert result.status == "failed"
    assert "failed with 500 after 3 tries" in result.message
    assert "champion -> v1 unchanged" in result.message and "nothing changed" in result.message
    assert len(httpserver.log) == 3
    assert aliases(mlflow_server, name) == {"champion": "1"}
    assert events(tmp_path) == []
    outcome = audit.read(op.audit.path, model=name)[-1]
    assert outcome["phase"] == "outcome" and outcome["outcome"] == "failed"
    assert outcome["hooks"]["deploy"]["status_code"] == 500


def test_deploy_hook_4xx_is_not_retried(mlflow_server, tmp_path, httpserver):
    httpserver.expect_request("/deploy").respond_with_json({"error": "bad"}, status=403)
    name = unique("hook403")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    op = make_op(make_cfg(tmp_path, webhooks={"deploy": {"url": httpserver.url_for("/deploy"), "retries": 3}}),
                 mlflow_server)
    result = op.promote(name, "2")
    assert result.status == "failed" and "refused with 403" in result.message
    assert len(httpserver.log) == 1 and aliases(mlflow_server, name) == {"champion": "1"}


def test_deploy_hook_timeout(mlflow_server, tmp_path, httpserver):
    def slow(request):
        time.sleep(1.0)
        return Response("late")

    httpserver.expect_request("/deploy").respond_with_handler(slow)
    name = unique("hookslow")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    cfg = make_cfg(tmp_path, webhooks={"deploy": {"url": httpserver.url_for("/deploy"), "retries": 1,
                                                  "timeout_s": 0.2, "idempotent": True}})
    result = make_op(cfg, mlflow_server).promote(name, "2")
    assert result.status == "unknown" and "timed out" in result.message and "after 2 tries" in result.message
    assert "the deploy system may have applied it" in result.message
    assert aliases(mlflow_server, name) == {"champion": "1"}
    deadline = time.monotonic() + 10  # let the server drain the abandoned requests before the next test
    while len(httpserver.log) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)


def test_a_hung_deploy_hook_is_tried_once_unless_declared_idempotent(mlflow_server, tmp_path):
    """qa5: a hung deploy hook cost ~45 s (4 tries x 10 s). A request that timed out may have been applied, and a
    deploy applied twice is not a no-op unless the hook honours the Idempotency-Key: it is sent again only to a
    hook declared `idempotent`, and every try together ends by `deadline_s` (15 s by default)."""
    from test_security import HungServer

    assert Webhook().deadline_s == 15.0 and not Webhook().idempotent and Webhook().timeout_s <= 15.0
    name = unique("hookhung")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    hung = HungServer()
    try:
        hook = {"url": hung.uri + "/deploy", "timeout_s": 0.3}  # the default 3 retries
        result = make_op(make_cfg(tmp_path, webhooks={"deploy": hook}), mlflow_server).promote(name, "2", reason="r")
        assert result.status == "unknown" and result.details["hook"]["attempts"] == 1, result.message
        assert "not sent again" in result.message and len(hung.conns) == 1

        hook = {**hook, "idempotent": True, "retries": 100, "deadline_s": 1.0}  # retried, within the deadline
        result = make_op(make_cfg(tmp_path / "b", webhooks={"deploy": hook}), mlflow_server).promote(name, "2",
                                                                                                    reason="r")
        assert result.status == "unknown" and "deadline 1 s" in result.message, result.message
        assert 2 <= result.details["hook"]["attempts"] <= 11  # each try gets at least 0.1 s of the 1 s
    finally:
        hung.close()
    assert aliases(mlflow_server, name) == {"champion": "1"}


def test_gates_refuse_worse_candidate_unless_forced_with_reason(mlflow_server, tmp_path):
    name = unique("gates")
    seed_model(mlflow_server, name, 2, metrics=[{"auc": 0.90}, {"auc": 0.70}], aliases={"champion": "1"})
    op = make_op(make_cfg(tmp_path), mlflow_server)
    gates = op.gates(name, "2", "production")
    assert [g.passed for g in gates] == [False]
    refused = op.promote(name, "2")
    assert refused.status == "refused" and "metric:auc" in refused.message
    assert op.promote(name, "2", force=True).status == "refused"  # force needs a reason
    assert aliases(mlflow_server, name) == {"champion": "1"}
    forced = op.promote(name, "2", force=True, reason="hotfix for outage")
    assert forced.ok
    assert audit.read(op.audit.path, model=name)[-1]["forced"] is True
    live_bad = {"canary": {"error_rate": 0.2}, "champion": {"error_rate": 0.01}}
    assert not all(g.passed for g in op.gates(name, "1", "production", live=live_bad))


def test_expected_from_conflict_names_who_moved_it(mlflow_server, tmp_path):
    name = unique("conflict")
    seed_model(mlflow_server, name, 3, aliases={"champion": "1"})
    bob = make_op(make_cfg(tmp_path), mlflow_server, user=User("bob"))
    assert bob.promote(name, "2", expected_from="1").ok
    alice = make_op(make_cfg(tmp_path), mlflow_server)
    result = alice.promote(name, "3", expected_from="1")
    assert result.status == "conflict"
    assert "by bob" in result.message and "v2" in result.message
    assert aliases(mlflow_server, name)["champion"] == "2"


def test_expected_from_is_read_as_versions_are_written(mlflow_server, tmp_path):
    """`--from 02` is version 2, as `2` and `v2` are (README): it was a false conflict, "not v02 as you saw"."""
    name = unique("from-zero")
    seed_model(mlflow_server, name, 3, aliases={"champion": "2"})
    result = make_op(make_cfg(tmp_path), mlflow_server).promote(name, "3", expected_from="02")
    assert result.ok, result.message
    assert aliases(mlflow_server, name)["champion"] == "3"


def test_lease_held_elsewhere_is_a_conflict_and_expired_lease_is_taken(mlflow_server, tmp_path):
    name = unique("lease")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    client = mlflow_client(mlflow_server)
    future = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()
    client.set_registered_model_tag(name, LEASE_TAG, json.dumps(
        {"owner": "carol", "host": "box-2", "pid": 1, "token": "x", "expires": future}))
    op = make_op(make_cfg(tmp_path), mlflow_server)
    result = op.promote(name, "2")
    assert result.status == "conflict" and "carol on box-2" in result.message
    past = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
    client.set_registered_model_tag(name, LEASE_TAG, json.dumps(
        {"owner": "carol", "host": "box-2", "pid": 1, "token": "x", "expires": past}))
    assert op.promote(name, "2").ok
    assert LEASE_TAG not in tags(mlflow_server, name)


def test_retrain_posts_evidence_and_follows_status(mlflow_server, tmp_path, httpserver):
    httpserver.expect_request("/jobs/7").respond_with_json({"state": "SUCCEEDED", "new_version": "4"})
    httpserver.expect_request("/retrain", method="POST").respond_with_json(
        {"job_id": "7", "status_url": httpserver.url_for("/jobs/7")})
    name = unique("retrain")
    seed_model(mlflow_server, name, 1, aliases={"champion": "1"})
    op = make_op(make_cfg(tmp_path, webhooks={"retrain": {"url": httpserver.url_for("/retrain")}}), mlflow_server)
    evidence = {"drift_share": 0.6, "data_window": {"from": "2024-05-01", "to": "2024-05-08"}}
    result = op.retrain(name, "production", "drift on 6 of 10 features", evidence=evidence)
    assert result.ok, result.message
    [body] = [req.get_json() for req, _ in httpserver.log if req.path == "/retrain"]
    assert body["model"] == name and body["version"] == "1" and body["evidence"] == evidence
    assert body["data_window"] == evidence["data_window"] and body["reason"].startswith("drift")
    assert result.details["status_url"] == httpserver.url_for("/jobs/7")
    assert op.follow(result.details["status_url"])["state"] == "succeeded"
    assert [r["phase"] for r in audit.read(op.audit.path, model=name)] == ["intent", "outcome"]


def test_retrain_without_hook_is_a_config_error(mlflow_server, tmp_path):
    result = make_op(make_cfg(tmp_path), mlflow_server).retrain(unique("nohook"), reason="x")
    assert result.status == "failed" and result.details["config_error"] and "[webhooks.retrain]" in result.message


def test_command_hook_gets_payload_on_stdin(mlflow_server, tmp_path):
    out = tmp_path / "payload.json"
    script = f"import sys, pathlib; pathlib.Path({str(out)!r}).write_text(sys.stdin.read())"
    name = unique("cmdhook")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    import sys
    op = make_op(make_cfg(tmp_path, webhooks={"deploy": {"command": [sys.executable, "-c", script]}}), mlflow_server)
    assert op.promote(name, "2").ok
    assert json.loads(out.read_text())["version"] == "2"


def _every_path(op: Operator, name: str):
    calls = {
        "promote": lambda: op.promote(name, "2", reason="x"),
        "canary-step": lambda: op.canary_step(name),
        "canary-promote": lambda: op.canary_promote(name),
        "canary-abort": lambda: op.canary_abort(name),
        "rollback": lambda: op.rollback(name, to="1"),
        "shadow-stop": lambda: op.shadow_stop(name),
        "retrain": lambda: op.retrain(name, reason="x"),
    }
    assert set(calls) == {a.id for a in catalog.ACTIONS}
    return calls


def test_read_only_refuses_every_operator_path(mlflow_server, tmp_path):
    name = unique("readonly")
    seed_model(mlflow_server, name, 3, aliases={"champion": "3", "canary": "2", "shadow": "1"})
    before = aliases(mlflow_server, name)
    op = make_op(make_cfg(tmp_path, console={"read_only": True},
                          webhooks={"retrain": {"url": "http://127.0.0.1:9/never"}}), mlflow_server)
    for action, call in _every_path(op, name).items():
        result = call()
        assert result.status == "refused" and "read-only" in result.message, action
    assert aliases(mlflow_server, name) == before


def test_roles_refuse_every_dangerous_operator_path(mlflow_server, tmp_path):
    name = unique("roles")
    seed_model(mlflow_server, name, 3, aliases={"champion": "3", "canary": "2", "shadow": "1"})
    before = aliases(mlflow_server, name)
    cfg = make_cfg(tmp_path, roles={"ops": {"users": ["alice"]}})
    op = make_op(cfg, mlflow_server, user=User("mallory", ("users",)))
    for action, call in _every_path(op, name).items():
        if catalog.get(action).dangerous:
            result = call()
            assert result.status == "refused" and "mallory" in result.message, action
    assert aliases(mlflow_server, name) == before


def test_unreachable_registry_fails_cleanly(tmp_path):
    cfg = make_cfg(tmp_path)
    op = Operator(cfg, Registry(f"http://127.0.0.1:{free_port()}"), user=ALICE, lease_pause_s=0.01)
    result = op.promote("fraud", "2")
    assert result.status == "failed" and "unreachable" in result.message and "nothing changed" in result.message


def test_a_server_answering_200_to_everything_is_not_a_registry_nor_a_conflict(tmp_path, httpserver):
    """A tracking URI pointing at some other service (an echo, a proxy's default page): the action fails as a remote
    failure naming the registry (exit 4), not as another console taking the lease (exit 3)."""
    httpserver.expect_request(re.compile(".*")).respond_with_json({})
    op = make_op(make_cfg(tmp_path), httpserver.url_for("/"))
    result = op.promote("fraud", "2", reason="test")
    assert result.status == "failed", result.message
    assert "MLflow server" in result.message and "another console" not in result.message


def test_prompts_are_promoted_and_rolled_back_like_models(mlflow_server, tmp_path):
    name = unique("prompt")
    client = mlflow_client(mlflow_server)
    client.register_prompt(name=name, template="v1: answer {{question}}")
    client.register_prompt(name=name, template="v2: answer {{question}} politely")
    client.set_prompt_alias(name, "champion", 1)
    op = make_op(make_cfg(tmp_path), mlflow_server)
    assert op.state(name, "production").is_prompt

    result = op.promote(name, "2", "production", expected_from="1", reason="prompt v2")
    assert result.ok, result.message
    assert str(client.get_prompt_version_by_alias(name, "champion").version) == "2"

    back = op.rollback(name, "production", expected_from="2", reason="v2 refuses too often")
    assert back.ok, back.message
    assert str(client.get_prompt_version_by_alias(name, "champion").version) == "1"
    assert [r["phase"] for r in audit.read(op.audit.path, model=name)] == ["intent", "outcome"] * 2


def test_an_action_abandoned_before_its_intent_writes_nothing_and_calls_no_hook(sqlite_uri, tmp_path, httpserver):
    """Quit while the action still waits for the model's lock: no intent, so no outcome is due; the worker,
    once it gets the lock, stops there: no intent, no hook call, no alias moved."""
    import threading

    from console.actions.locks import model_lock

    name = unique("abandon")
    seed_model(sqlite_uri, name, 3, aliases={"champion": "2"})
    httpserver.expect_request("/deploy").respond_with_json({})
    cfg = make_cfg(tmp_path, webhooks={"deploy": {"url": httpserver.url_for("/deploy")}})
    op = make_op(cfg, sqlite_uri)
    other = model_lock(op.lock_dir, name)  # another action on this box holds the model
    other.acquire()
    results = []
    worker = threading.Thread(target=lambda: results.append(op.rollback(name, "production", to="1", reason="r")))
    worker.start()
    try:
        for _ in range(600):
            flights = op.flights.running()
            if flights and flights[0].stage == "lock":
                break
            time.sleep(0.05)
        assert [(f.action, f.model, f.stage) for f in op.flights.running()] == [("rollback", name, "lock")]
        assert op.abandon([("rollback", name, "production")]) == []  # nothing was written: nothing to close
    finally:
        other.release()
    worker.join(60)
    [result] = results
    assert not result.ok and result.details["abandoned"] and result.details["stage"] == "lock"
    assert audit.read(op.audit.path, model=name) == [] and httpserver.log == []
    assert aliases(sqlite_uri, name) == {"champion": "2"} and LEASE_TAG not in tags(sqlite_uri, name)
    assert op.flights.running() == []


def test_two_operators_stepping_one_canary_at_once_step_it_once(sqlite_uri, tmp_path):
    """Both confirmed "5 % -> 50 %" (the CLI's preflight and the TUI's dialog plan before the lock): the
    first steps to 50 %, the second must hear a conflict (exit 3), not re-plan under the lock and take the
    canary on to 100 %, a step nobody confirmed."""
    from console.actions import plan as plan_mod

    name = unique("canrace")
    seed_model(sqlite_uri, name, 2, aliases={"staging-champion": "1"})
    cfg = make_cfg(tmp_path, rollout={"canary_steps": [5, 50, 100]})
    first, second = make_op(cfg, sqlite_uri), make_op(cfg, sqlite_uri, user=User("bob", ("mlops",)))
    assert first.promote(name, "2", "staging", strategy="canary", reason="try").ok

    seen_a = plan_mod.prepare(first, name, "staging", "canary-step")
    seen_b = plan_mod.prepare(second, name, "staging", "canary-step")
    assert "5 % -> 50 %" in seen_a.plan.summary and seen_b.plan.summary == seen_a.plan.summary

    a = plan_mod.execute(first, seen_a, expected_from="2", reason="step")
    b = plan_mod.execute(second, seen_b, expected_from="2", reason="step")
    assert a.ok and "5 % -> 50 %" in a.message
    assert b.status == "conflict", b.message
    assert "50 %" in b.message
    assert first.canary_pct(name, "staging") == 50
    assert [(e["action"], e["traffic_pct"]) for e in events(tmp_path)] == [("deploy", 5), ("canary-step", 50)]
    assert audit.read(first.audit.path, model=name)[-1]["phase"] == "refused"

    # the same race one step later, when the winner's step is the last: still a conflict, not "refused"
    seen_a = plan_mod.prepare(first, name, "staging", "canary-step")
    seen_b = plan_mod.prepare(second, name, "staging", "canary-step")
    assert plan_mod.execute(first, seen_a, expected_from="2", reason="step").ok
    last = plan_mod.execute(second, seen_b, expected_from="2", reason="step")
    assert last.status == "conflict", last.message


def test_a_registry_failing_after_the_deploy_hook_accepted_is_an_unknown_outcome(tmp_path, httpserver):
    """CLI probe, finding 9: the registry failed while moving the alias after the deploy hook had accepted the
    change (or the move landed and only its answer was lost), and the result was "failed", exit 4, which the exit
    table keeps for "nothing changed". Here the hook's handler locks the sqlite registry (a real lock, held until
    the action is over): the move and the read-back fail, the deploy system serves v2: the outcome is unknown."""
    import sqlite3

    db = tmp_path / "registry.db"
    uri = f"sqlite:///{db}"
    name = unique("regfail")
    seed_model(uri, name, 2, aliases={"champion": "1"})
    locks = []

    def lock_registry(request):
        con = sqlite3.connect(db, timeout=0.1, isolation_level=None, check_same_thread=False)
        con.execute("BEGIN EXCLUSIVE")  # every other connection's read and write now fails: "database is locked"
        locks.append(con)
        return Response('{"accepted": true}', content_type="application/json")

    httpserver.expect_request("/deploy", method="POST").respond_with_handler(lock_registry)
    op = make_op(make_cfg(tmp_path, webhooks={"deploy": {"url": httpserver.url_for("/deploy")}}), uri)
    try:
        result = op.promote(name, "2", reason="ship")
    finally:
        for con in locks:
            con.rollback()
            con.close()
    assert locks and result.status == "unknown", (result.status, result.message)
    assert "the deploy hook already accepted the change" in result.message and "unknown" in result.message
    from console import exit_codes

    assert exit_codes.for_status(result.status) == exit_codes.UNKNOWN
    outcome = audit.read(op.audit.path, model=name)[-1]
    assert outcome["phase"] == "outcome" and outcome["outcome"] == "unknown"


@pytest.mark.parametrize("pattern, name", [
    ("deploy/*.jsonl", "deploy/console-actions.jsonl"),
    ("deploy/events-*.jsonl", "deploy/events-console-actions.jsonl"),
    ("deploy/**/*.jsonl", "deploy/console-actions.jsonl"),
    ("deploy/ev-2026-??.jsonl", "deploy/ev-2026-xx.jsonl"),
    ("deploy/ev[0-9]*.ndjson", "deploy/ev0console-actions.ndjson"),
])
def test_the_console_writes_its_events_where_its_deployments_glob_reads_them(tmp_path, pattern, name):
    """A deployments glob with its wildcard in the name (`deploy/events-*.jsonl`) never matched the console's own
    `console-actions.jsonl`: after a canary step the Overview kept the old step (thirtieth session's actions probe).
    Checked with `glob` itself, and by the store reading the event back."""
    from console.actions import deploylog
    from console.warehouse import Warehouse

    cfg = parse({"logs": [{"kind": "deployments", "path": pattern}]}, root=tmp_path)
    target = deploylog.target_path(cfg)
    assert target == tmp_path / name
    deploylog.append(target, {"ts": "2026-11-30T12:00:00Z", "model": "m", "version": "2", "environment": "production",
                              "strategy": "canary", "traffic_pct": 50, "action": "canary-step"})
    assert _glob.glob(str(tmp_path / pattern), recursive=True) == [str(target)]
    w = Warehouse(cfg, tmp_path / "store")
    try:
        assert w.refresh().rows == {"deployments": 1}
    finally:
        w.close()


def test_a_deployments_log_on_s3_gets_no_local_folder_named_after_it(sqlite_uri, tmp_path, monkeypatch):
    """Actions probe: with `[[logs]] kind = "deployments"` on S3 (`s3://bucket/deploy/*.jsonl`, a location the console
    reads), an action appended its event to `s3:/bucket/deploy/console-actions.jsonl`, a local folder named `s3:`
    made in whatever directory the operator ran it from, which no log the console reads holds. The console appends
    to a local log only: a remote one is skipped with a warning that names it, and nothing is written locally."""
    from console.actions import deploylog

    monkeypatch.chdir(tmp_path)
    name = unique("s3log")
    seed_model(sqlite_uri, name, 2, aliases={"champion": "1"})
    cfg = make_cfg(tmp_path, logs=[{"kind": "deployments", "path": "s3://ops-bucket/deploy/*.jsonl"}])
    assert deploylog.target_path(cfg) is None
    result = make_op(cfg, sqlite_uri).promote(name, "2", expected_from="1", reason="ship")
    assert result.status == "done", result.message
    assert aliases(sqlite_uri, name) == {"champion": "2"}
    assert not (tmp_path / "s3:").exists() and not any(p.name == "s3:" for p in tmp_path.rglob("*"))
    assert any("s3://ops-bucket/deploy/*.jsonl" in w and "not appended" in w for w in result.details["warnings"]), \
        result.details["warnings"]
