"""One gate path: the CLI and the TUI plan an action through the service and refuse or force it alike."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta

import pexpect
import pytest

from conftest import SRC, mlflow_client, seed_model, unique
from console.config import load
from console.service import Service
from console.ui.screens import action_flow
from test_cli_actions import HARNESS, aliases, run

NOW = datetime.utcnow().replace(microsecond=0)


def _config(tmp_path, uri):
    (tmp_path / "logs").mkdir()
    path = tmp_path / "mlops-console.toml"
    path.write_text(f"""
[registry]
tracking_uri = "{uri}"
[audit]
path = "{tmp_path}/audit.jsonl"
[[logs]]
kind = "predictions"
path = "{tmp_path}/logs/predictions.jsonl"
[[logs]]
kind = "deployments"
path = "{tmp_path}/logs/deployments.jsonl"
[environments.production]
production = true
""")
    return path


def _traffic(tmp_path, name, canary_errors: float):
    """The last hour: 400 champion requests without errors, 200 canary requests with `canary_errors` failing."""
    rows = []
    for i in range(600):
        canary = i % 3 == 0
        failed = canary and (i // 3) < canary_errors * 200
        rows.append({"ts": (NOW - timedelta(minutes=50) + timedelta(seconds=5 * i)).isoformat() + "Z",
                     "model": name, "version": "2" if canary else "1", "environment": "production",
                     "variant": "canary" if canary else "champion", "request_id": f"r{i}", "prediction": "1",
                     "latency_ms": 20.0, "status": "error" if failed else "ok",
                     **({"error": "boom"} if failed else {})})
    (tmp_path / "logs" / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def canary_setup(mlflow_server, tmp_path):
    name = unique("gate")
    seed_model(mlflow_server, name, 3, aliases={"champion": "1", "canary": "2"})
    mlflow_client(mlflow_server).set_registered_model_tag(name, "console.canary_pct.canary", "10")
    return name, _config(tmp_path, mlflow_server), mlflow_server


def test_cli_refuses_a_canary_step_on_failing_live_gates_like_the_tui(canary_setup, tmp_path, capsys):
    name, path, uri = canary_setup
    _traffic(tmp_path, name, canary_errors=0.3)
    svc = Service(load(path))
    try:
        planned = svc.plan_action(name, "production", "canary-step")
        tui = action_flow.prepare(svc, name, "production", "canary-step", None)
    finally:
        svc.close()
    failed = {g.name for g in planned.failed_gates}
    assert "live:error_rate" in failed and "live:error_rate_slo" in failed
    assert tui.allowed and tui.request.gates == planned.gates  # the dialog shows the gates the CLI refuses on

    capsys.readouterr()
    assert run(["--config", str(path), "canary", name, "step", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "refused: gates failed" in err and "live:error_rate" in err
    assert aliases(uri, name) == {"champion": "1", "canary": "2"}

    assert run(["--config", str(path), "canary", name, "step", "--yes", "--force"]) == 2  # force needs a reason
    assert run(["--config", str(path), "canary", name, "step", "--yes", "--force", "--reason", "known flake"]) == 0
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    outcome = [r for r in records if r.get("phase") == "outcome"][-1]
    assert outcome["forced"] is True and any(g["name"] == "live:error_rate" for g in outcome["gates"])


def test_healthy_canary_passes_both_doors(canary_setup, tmp_path, capsys):
    name, path, uri = canary_setup
    _traffic(tmp_path, name, canary_errors=0.0)
    svc = Service(load(path))
    try:
        planned = svc.plan_action(name, "production", "canary-step")
    finally:
        svc.close()
    assert not planned.failed_gates and any(g.name == "live:error_rate" for g in planned.gates)
    assert run(["--config", str(path), "canary", name, "step", "--yes", "--reason", "healthy"]) == 0


def test_one_canary_error_is_not_evidence_enough_to_block_a_step(canary_setup, tmp_path, capsys):
    """One failed canary request in 200 (none of 400 on the champion) failed the live:error_rate gate, as one
    wrong label against one right one failed live:accuracy on the demo (qa5): both doors refused a step on noise.
    A live proportion now fails only when the canary is significantly worse, as the alert rules judge one."""
    name, path, uri = canary_setup
    _traffic(tmp_path, name, canary_errors=0.005)
    svc = Service(load(path))
    try:
        planned = svc.plan_action(name, "production", "canary-step")
    finally:
        svc.close()
    gate = next(g for g in planned.gates if g.name == "live:error_rate")
    assert gate.passed and "not significant on 1/200 vs 0/400" in gate.detail and not planned.failed_gates
    assert run(["--config", str(path), "canary", name, "step", "--yes", "--reason", "one flake"]) == 0
    assert aliases(uri, name) == {"champion": "1", "canary": "2"}


def test_same_refusal_for_an_action_that_does_not_apply(canary_setup, tmp_path, capsys):
    name, path, uri = canary_setup
    _traffic(tmp_path, name, canary_errors=0.0)
    svc = Service(load(path))
    try:
        planned = svc.plan_action(name, "production", "shadow-stop")
        tui = action_flow.prepare(svc, name, "production", "shadow-stop", None)
    finally:
        svc.close()
    assert not planned.allowed and not tui.allowed and tui.reason == planned.reason
    assert "no shadow running" in planned.reason
    capsys.readouterr()
    assert run(["--config", str(path), "shadow", name, "stop", "--yes"]) == 1
    assert planned.reason in capsys.readouterr().err


def test_gates_are_judged_again_when_the_operator_confirms(canary_setup, tmp_path, capsys):
    """qa5: the TUI's dialog recorded the gates as they were when it opened; a CLI run seconds later saw new
    traffic and a failing gate. A gate failing at confirmation that the operator did not see fail refuses the
    action as a conflict (exit 3), names the new failure, and the audit records the gates evaluated then."""
    name, path, uri = canary_setup
    _traffic(tmp_path, name, canary_errors=0.0)
    svc = Service(load(path))
    try:
        planned = action_flow.prepare(svc, name, "production", "canary-step", None).planned  # the dialog opens
        assert planned.gates and not planned.failed_gates
        late = [{"ts": (NOW - timedelta(minutes=5) + timedelta(seconds=i)).isoformat() + "Z", "model": name,
                 "version": "2", "environment": "production", "variant": "canary", "request_id": f"late{i}",
                 "prediction": "1", "latency_ms": 20.0, "status": "error", "error": "boom"} for i in range(120)]
        with open(tmp_path / "logs" / "predictions.jsonl", "a") as fh:  # failing canary requests arrive
            fh.write("".join(json.dumps(r) + "\n" for r in late))
        svc.refresh()  # the TUI's timer
        result = svc.run_action(planned, expected_from="2", reason="looked healthy")  # the operator confirms
    finally:
        svc.close()
    assert result.status == "conflict", result.message
    assert "gates changed since you confirmed" in result.message and "live:error_rate" in result.message
    assert aliases(uri, name) == {"champion": "1", "canary": "2"}
    assert mlflow_client(uri).get_registered_model(name).tags["console.canary_pct.canary"] == "10"
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    refused = records[-1]
    assert refused["phase"] == "refused" and refused["outcome"] == "conflict"
    assert {g["name"] for g in refused["gates"] if not g["passed"]} >= {"live:error_rate"}
    assert not [r for r in records if r.get("phase") == "intent"]


def _failing_canary_rows(tmp_path, name, n: int = 120) -> None:
    """`n` failed canary requests in the last five minutes, appended to the log as a live service would."""
    late = [{"ts": (NOW - timedelta(minutes=5) + timedelta(seconds=i)).isoformat() + "Z", "model": name,
             "version": "2", "environment": "production", "variant": "canary", "request_id": f"late{i}",
             "prediction": "1", "latency_ms": 20.0, "status": "error", "error": "boom"} for i in range(n)]
    with open(tmp_path / "logs" / "predictions.jsonl", "a") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in late))


def test_the_cli_judges_the_gates_again_on_rows_that_arrived_while_it_asked(canary_setup, tmp_path):
    """The CLI judged the gates again at confirmation on its store as it was when it planned: failing canary
    requests logged while the operator read the prompt were not seen, and the step went ahead (exit 0). The
    confirm step now brings the store up to date first (`Service.run_action`, the TUI's path too): exit 3."""
    name, path, uri = canary_setup
    _traffic(tmp_path, name, canary_errors=0.0)
    child = pexpect.spawn(sys.executable, ["-c", HARNESS, "--config", str(path), "canary", name, "step",
                                           "--reason", "looked healthy"],
                          env={**os.environ, "PYTHONPATH": SRC}, encoding="utf-8", timeout=120)
    child.expect("type the model name")
    before = child.before
    assert "gate PASS live:error_rate" in before and "gate FAIL" not in before  # what the operator read
    _failing_canary_rows(tmp_path, name)  # the canary fails while the prompt waits
    child.sendline(name)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3, child.before
    assert "gates changed since you confirmed" in child.before and "live:error_rate" in child.before
    assert aliases(uri, name) == {"champion": "1", "canary": "2"}
    assert mlflow_client(uri).get_registered_model(name).tags["console.canary_pct.canary"] == "10"


def test_the_tui_door_reads_new_rows_at_confirmation_without_waiting_for_its_timer(canary_setup, tmp_path):
    """The same through the dialog's path with no refresh between plan and confirm (the TUI's timer not due yet):
    the facade brings the store up to date before judging again, so both doors refuse alike."""
    name, path, uri = canary_setup
    _traffic(tmp_path, name, canary_errors=0.0)
    svc = Service(load(path))
    try:
        planned = action_flow.prepare(svc, name, "production", "canary-step", None).planned
        assert planned.gates and not planned.failed_gates
        _failing_canary_rows(tmp_path, name)
        result = svc.run_action(planned, expected_from="2", reason="looked healthy")
    finally:
        svc.close()
    assert result.status == "conflict" and "live:error_rate" in result.message, result.message
    assert aliases(uri, name) == {"champion": "1", "canary": "2"}


def test_a_rollback_to_a_version_that_was_rolled_back_is_warned_about(mlflow_server, tmp_path, capsys):
    """qa5: on support-assistant R planned "v2 -> v3" where v3 had been rolled back five days before, with no
    word of it. The plan warns (both doors: the dialog's warnings, the CLI's stderr), naming when and by whom."""
    name = unique("rbrb")
    seed_model(mlflow_server, name, 3, aliases={"champion": "2"})
    path = _config(tmp_path, mlflow_server)
    at = NOW - timedelta(days=5)
    deploys = [(NOW - timedelta(days=30), "1", "deploy", "ci-bot", "first"),
               (NOW - timedelta(days=10), "2", "deploy", "sam", "second"),
               (NOW - timedelta(days=6), "3", "deploy", "sam", "reranker"),
               (at, "2", "rollback", "priya.nair", "refusal rate 4x on v3")]
    (tmp_path / "logs" / "deployments.jsonl").write_text("".join(json.dumps(
        {"ts": ts.isoformat() + "Z", "model": name, "version": v, "environment": "production", "strategy": "direct",
         "traffic_pct": 100, "action": a, "actor": who, "reason": why}) + "\n" for ts, v, a, who, why in deploys))
    svc = Service(load(path))
    try:
        planned = svc.plan_action(name, "production", "rollback")
        tui = action_flow.prepare(svc, name, "production", "rollback", None)
    finally:
        svc.close()
    assert planned.plan.summary == "roll champion back: v2 -> v3 in production"
    expected = (f"WARNING v3 was itself rolled back on {at:%Y-%m-%d %H:%M}Z by priya.nair, to v2 "
                "(refusal rate 4x on v3)")
    assert expected in planned.warnings and expected in tui.request.warnings
    capsys.readouterr()
    assert run(["--config", str(path), "rollback", name, "--yes", "--reason", "v2 is worse now"]) == 0
    assert expected in capsys.readouterr().err
    assert aliases(mlflow_server, name) == {"champion": "3"}


def _rolled_back_v3(tmp_path, uri, name, aliases_: dict) -> tuple:
    """v3 went out six days ago and was rolled back to v2 by priya.nair a day later (the deployment log); the
    registry holds `aliases_`. Returns (config path, the warning a plan targeting v3 carries)."""
    seed_model(uri, name, 3, aliases=aliases_)
    path = _config(tmp_path, uri)
    at = NOW - timedelta(days=5)
    deploys = [(NOW - timedelta(days=10), "2", "deploy", "sam", "second"),
               (NOW - timedelta(days=6), "3", "deploy", "sam", "reranker"),
               (at, "2", "rollback", "priya.nair", "refusal rate 4x on v3")]
    (tmp_path / "logs" / "deployments.jsonl").write_text("".join(json.dumps(
        {"ts": ts.isoformat() + "Z", "model": name, "version": v, "environment": "production", "strategy": "direct",
         "traffic_pct": 100, "action": a, "actor": who, "reason": why}) + "\n" for ts, v, a, who, why in deploys))
    (tmp_path / "logs" / "predictions.jsonl").write_text("".join(json.dumps(
        {"ts": (NOW - timedelta(minutes=i)).isoformat() + "Z", "model": name, "version": "2",
         "environment": "production", "variant": "champion", "request_id": f"p{i}", "prediction": "1",
         "latency_ms": 20.0, "status": "ok"}) + "\n" for i in range(1, 30)))
    return path, (f"WARNING v3 was itself rolled back on {at:%Y-%m-%d %H:%M}Z by priya.nair, to v2 "
                  "(refusal rate 4x on v3)")


def test_promoting_a_version_that_was_rolled_back_is_warned_about_by_both_doors(mlflow_server, tmp_path, capsys):
    """The rolled-back-target warning was given to rollbacks only: promoting v3 again, days after it was rolled
    back for its refusal rate, planned "v2 -> v3" with no word of it. Every strategy's plan now carries it (the
    dialog plans them all), and the CLI prints it before confirming and in its JSON."""
    name = unique("prbr")
    path, expected = _rolled_back_v3(tmp_path, mlflow_server, name, {"champion": "2"})
    svc = Service(load(path))
    try:
        planned = svc.plan_action(name, "production", "promote", version="3")
        tui = action_flow.prepare(svc, name, "production", "promote", "3")
        fresh = svc.plan_action(name, "production", "promote", version="1")  # never rolled back: no warning
    finally:
        svc.close()
    assert expected in planned.warnings and expected in tui.request.warnings
    assert not [w for w in fresh.warnings if "rolled back" in w]
    capsys.readouterr()
    assert run(["--config", str(path), "--format", "json", "promote", name, "3", "--yes",
                "--reason", "fixed in the prompt"]) == 0  # a warning never refuses
    out = capsys.readouterr()
    assert expected in out.err.splitlines() and expected in json.loads(out.out)["plan_warnings"]
    assert aliases(mlflow_server, name) == {"champion": "3"}


def test_stepping_a_canary_of_a_version_that_was_rolled_back_is_warned_about(mlflow_server, tmp_path, capsys):
    name = unique("cnbr")
    path, expected = _rolled_back_v3(tmp_path, mlflow_server, name, {"champion": "2", "canary": "3"})
    mlflow_client(mlflow_server).set_registered_model_tag(name, "console.canary_pct.canary", "10")
    svc = Service(load(path))
    try:
        step = svc.plan_action(name, "production", "canary-step")
        finish = svc.plan_action(name, "production", "canary-promote")
        abort = svc.plan_action(name, "production", "canary-abort")  # takes traffic away from v3: nothing to warn
    finally:
        svc.close()
    assert expected in step.warnings and expected in finish.warnings and expected not in abort.warnings
    capsys.readouterr()
    assert run(["--config", str(path), "canary", name, "step", "--yes", "--reason", "fixed"]) == 0
    assert expected in capsys.readouterr().err.splitlines()


async def test_the_promote_dialog_shows_that_its_target_was_rolled_back(mlflow_server, tmp_path):
    from console.ui.app import ConsoleApp
    from console.ui.screens.overview import OverviewScreen
    from test_ui_actions import open_for
    from ui_fixtures import dialog_ready, screen_text, until

    name = unique("dlbr")
    path, expected = _rolled_back_v3(tmp_path, mlflow_server, name, {"champion": "2"})
    app = ConsoleApp(load(path), service=Service(load(path)), poll=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None
                    and app.snapshot.rows, "the overview", rounds=3000)
        screen = await open_for(app, pilot, name, "versions")
        await until(pilot, lambda: screen.loaded and "production" in screen.flow.states, "versions and state")
        assert screen.selected_version() == "3"  # newest first
        await pilot.press("P")
        await until(pilot, lambda: dialog_ready(app), "the promote dialog")
        assert expected in app.screen.request.warnings
        await until(pilot, lambda: "v2 -> v3" in screen_text(app), "the dialog drawn")  # drawn after it mounts
        text = screen_text(app)
        words = " ".join(text.replace("█", " ").split())  # the dialog wraps the warning at its width
        assert expected in words, text
        await pilot.press("escape")


@pytest.mark.parametrize("spelling", ["v2", "V2", "02"])
def test_a_version_spelt_otherwise_meets_the_same_live_gates(canary_setup, tmp_path, capsys, spelling):
    """`promote MODEL v2` (or `02`) of a failing canary: the live gates were chosen by comparing the spelling with
    the canary alias ("v2" is not "2"), so they were skipped and the failing canary became champion; `02` moved the
    alias and then failed its read-back. Every spelling is version 2: refused on the live gates as `2` is."""
    name, path, uri = canary_setup
    _traffic(tmp_path, name, canary_errors=0.3)
    svc = Service(load(path))
    try:
        planned = svc.plan_action(name, "production", "promote", version=spelling, strategy="direct")
    finally:
        svc.close()
    assert planned.version == "2" and "live:error_rate" in {g.name for g in planned.failed_gates}
    capsys.readouterr()
    assert run(["--config", str(path), "promote", name, spelling, "--yes", "--reason", "x"]) == 1
    assert "live:error_rate" in capsys.readouterr().err
    assert aliases(uri, name) == {"champion": "1", "canary": "2"}


def test_a_blue_green_switch_to_the_canary_ends_the_canary(canary_setup, tmp_path, capsys):
    name, path, uri = canary_setup
    _traffic(tmp_path, name, canary_errors=0.0)
    assert run(["--config", str(path), "promote", name, "2", "--strategy", "blue-green", "--yes",
                "--reason", "healthy"]) == 0
    now = aliases(uri, name)
    assert now["champion"] == "2" and "canary" not in now


def test_a_rollback_returns_only_to_an_earlier_champion(canary_setup, tmp_path, capsys):
    """`rollback --to 2` where 2 is the failing canary, never champion: it made 2 champion with no gate at all, and
    audited a promotion as a rollback. Refused as a usage error naming the way that has gates; a version that was
    champion before (1, once 3 was promoted over it) is a rollback target."""
    name, path, uri = canary_setup
    _traffic(tmp_path, name, canary_errors=0.3)
    capsys.readouterr()
    assert run(["--config", str(path), "rollback", name, "--to", "v2", "--yes", "--reason", "x"]) == 2
    err = capsys.readouterr().err
    assert "v2 is the running canary" in err and "canary promote" in err  # the way that has gates
    assert aliases(uri, name) == {"champion": "1", "canary": "2"}
    assert run(["--config", str(path), "rollback", name, "--to", "3", "--yes", "--reason", "x"]) == 2
    assert "v3 was never champion" in capsys.readouterr().err  # nor a version never champion
    assert run(["--config", str(path), "promote", name, "3", "--yes", "--reason", "x", "--force"]) == 0
    assert run(["--config", str(path), "rollback", name, "--to", "1", "--yes", "--reason", "x"]) == 0
    assert aliases(uri, name)["champion"] == "1"


def test_an_action_from_a_view_of_the_past_is_refused(canary_setup, tmp_path):
    """The TUI stepped back to before the canary failed: its gates judged that hour's evidence (the service's view),
    so a canary failing now passed them. An action is planned and run only from the live view."""
    name, path, uri = canary_setup
    _traffic(tmp_path, name, canary_errors=0.3)
    svc = Service(load(path))
    try:
        live = svc.plan_action(name, "production", "canary-step")
        assert live.allowed and "live:error_rate" in {g.name for g in live.failed_gates}
        svc.set_at(NOW - timedelta(hours=3))  # before the canary's traffic: no live gate would fail there
        past = svc.plan_action(name, "production", "canary-step")
        assert not past.allowed and "not live" in past.reason
        ran = svc.run_action(live, expected_from="2", force=True, reason="forced from the past")
        assert ran.status == "refused" and "not live" in ran.message
        tui = action_flow.prepare(svc, name, "production", "canary-step", None)
        assert not tui.allowed and "not live" in tui.reason
    finally:
        svc.close()
    assert aliases(uri, name) == {"champion": "1", "canary": "2"}


def test_a_rollback_during_a_canary_never_makes_that_canary_champion(canary_setup, tmp_path, capsys):
    """CLI probe, finding 5: v2 promoted, rolled back to v1, then started again as a canary; a rollback (the canary
    looks bad) planned "roll champion back: v1 -> v2; canary v2 aborted" and sent all the traffic to v2. The version
    the rollback aborts is no target: there is no other former champion, so it is refused, nothing moved."""
    name, path, uri = canary_setup
    _traffic(tmp_path, name, canary_errors=0.0)
    assert run(["--config", str(path), "promote", name, "2", "--yes", "--reason", "x", "--force"]) == 0
    assert run(["--config", str(path), "rollback", name, "--yes", "--reason", "v2 bad"]) == 0
    assert aliases(uri, name) == {"champion": "1"}
    assert run(["--config", str(path), "promote", name, "2", "--strategy", "canary", "--percent", "10", "--yes",
                "--reason", "fixed?", "--force"]) == 0
    assert aliases(uri, name) == {"champion": "1", "canary": "2"}
    capsys.readouterr()
    code = run(["--config", str(path), "rollback", name, "--yes", "--reason", "canary bad"])
    got = aliases(uri, name)
    assert got.get("champion") == "1", (code, got, capsys.readouterr())
    assert code != 0 or "canary" not in got


def test_a_rollback_to_the_running_canary_is_refused_and_to_a_champion_known_from_the_log_is_planned(
        canary_setup, tmp_path, capsys):
    """Security probe, F2 and F4. `rollback --to V` naming the running canary moved it to 100 % with no gate while
    the plan said "canary vV aborted". And with no default target (the only other former champion known from the
    deployment events alone), `rollback --to` that champion was refused as "does not apply", right after the plain
    rollback had said to pass a version."""
    name, path, uri = canary_setup  # champion 1, canary 2 at 10 %
    _traffic(tmp_path, name, canary_errors=0.0)
    with open(tmp_path / "logs" / "deployments.jsonl", "a", encoding="utf-8") as fh:  # v3 served before v1
        fh.write(json.dumps({"ts": "2026-01-05T10:00:00Z", "model": name, "version": "3", "environment": "production",
                             "strategy": "direct", "traffic_pct": 100, "action": "deploy"}) + "\n")
        fh.write(json.dumps({"ts": "2026-01-09T10:00:00Z", "model": name, "version": "1", "environment": "production",
                             "strategy": "direct", "traffic_pct": 100, "action": "deploy"}) + "\n")
    capsys.readouterr()
    assert run(["--config", str(path), "rollback", name, "--to", "2", "--yes", "--reason", "canary bad"]) == 2
    assert "v2 is the running canary" in capsys.readouterr().err
    assert aliases(uri, name) == {"champion": "1", "canary": "2"}
    assert run(["--config", str(path), "rollback", name, "--to", "3", "--yes", "--reason", "canary bad"]) == 0, \
        capsys.readouterr().err
    assert aliases(uri, name) == {"champion": "3"}


def test_a_live_gate_left_out_says_so(canary_setup, tmp_path):
    """TUI probe, finding 6: the canary had no label in the last hour, so `live_gates` left the accuracy gate out
    and the dialog read "8 PASS" during an open accuracy incident, with no word that accuracy was not checked."""
    name, path, uri = canary_setup
    _traffic(tmp_path, name, canary_errors=0.0)
    (tmp_path / "logs" / "labels.jsonl").write_text("".join(  # the champion's requests labelled, the canary's not
        json.dumps({"request_id": f"r{i}", "label": "1", "ts": (NOW - timedelta(minutes=5)).isoformat() + "Z"}) + "\n"
        for i in range(600) if i % 3))
    path.write_text(path.read_text() + f'[[logs]]\nkind = "labels"\npath = "{tmp_path}/logs/labels.jsonl"\n')
    svc = Service(load(path))
    try:
        planned = svc.plan_action(name, "production", "canary-step")
    finally:
        svc.close()
    assert not any(g.name == "live:accuracy" for g in planned.gates)
    assert "live:accuracy not evaluated (accuracy unknown: canary 0 labels)" in planned.notes, planned.notes
    assert not any("live:error_rate not evaluated" in n or "live:p95_ms not" in n for n in planned.notes)


@pytest.mark.parametrize("race", ["shadow", "canary"])
def test_a_plan_that_changed_between_the_dialog_and_the_confirmation_is_a_conflict(sqlite_uri, tmp_path, race):
    """Actions probe: operator A's dialog showed "shadow: unset -> v2"; operator B started shadow v3 before A
    confirmed, and A's confirmation ran "shadow: v3 -> v2", replacing B's shadow with no word (both `done`: the
    checked alias was the champion, which had not moved). Likewise a rollback planned as "champion v2 -> v1"
    aborted a canary started after the dialog opened. What runs is what was confirmed, else a conflict naming the
    alias that moved; nothing changes and the refusal is audited."""
    name = unique("stale")
    seed_model(sqlite_uri, name, 4, aliases={"champion": "2"})
    mlflow_client(sqlite_uri).set_registered_model_tag(name, "console.history.champion", json.dumps(["1"]))
    path = _config(tmp_path, sqlite_uri)
    (tmp_path / "logs" / "predictions.jsonl").write_text("")
    svc = Service(load(path))
    try:
        if race == "shadow":
            mine = action_flow.prepare(svc, name, "production", "promote", "2").planned  # A's dialog (all strategies)
            assert mine.plans["shadow"].blocked and "is champion" in mine.plans["shadow"].blocked
            mine = svc.plan_action(name, "production", "promote", version="4", strategy="shadow")
            assert [(c.alias, c.from_version) for c in mine.plan.changes] == [("shadow", None)]
            theirs = svc.plan_action(name, "production", "promote", version="3", strategy="shadow")
            assert svc.run_action(theirs, strategy="shadow", expected_from="2", reason="B").status == "done"
            result = svc.run_action(mine, strategy="shadow", expected_from="2", reason="A")
            want = {"champion": "2", "shadow": "3"}
        else:
            mine = svc.plan_action(name, "production", "rollback")
            assert mine.plan.summary == "roll champion back: v2 -> v1 in production"
            theirs = svc.plan_action(name, "production", "promote", version="3", strategy="canary")
            assert svc.run_action(theirs, strategy="canary", expected_from="2", reason="B",
                                  force=True).status == "done"
            result = svc.run_action(mine, expected_from="2", reason="A")
            want = {"champion": "2", "canary": "3"}
    finally:
        svc.close()
    assert result.status == "conflict", result.message
    assert "refresh" in result.message and ("shadow is v3" in result.message or "canary" in result.message)
    assert aliases(sqlite_uri, name) == want
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert records[-1]["phase"] == "refused" and records[-1]["outcome"] == "conflict"
    assert records[-1]["reason"] == "A"
