"""Quitting while an action runs asks first: `n` / esc stays, `y` leaves; the facade records the action as
interrupted by quit and releases its lease and lock at once (`Service.abandon_actions`)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from datetime import datetime
from pathlib import Path

import pytest
from textual.widgets import Input
from werkzeug import Response

from console.actions import audit
from console.actions.locks import LEASE_TAG
from console.actions.operator import Operator
from console.config import Webhook, parse_file
from console.service import Service
from console.ui.app import ConsoleApp
from console.ui.screens.confirm import ActionRequest
from console.ui.screens.overview import OverviewScreen
from console.ui.screens.quit_confirm import QuitConfirm
from demo_copy import demo_at
from ui_fixtures import dialog_ready, make_app, screen_text, until


async def test_quitting_during_an_action_asks_first(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None, "overview")
        overview = app.screen
        # an operator call in flight (as `ActionFlow._decided` sets it while the run worker works)
        overview.flow.running = ActionRequest("rollback", "Rollback", "fraud-detector", "production")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitConfirm), "the question")
        text = screen_text(app)
        assert "An action is running" in text and "Rollback" in text and "fraud-detector" in text
        await pilot.press("n")
        await until(pilot, lambda: app.screen is overview, "back, still running")
        assert app.is_running
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitConfirm), "the question again")
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running or app._exit_renderables is not None or app.return_code == 0,
                    "the console leaving")
    assert overview.flow.running is None


# ---------------------------------------------------------------------------------------- quitting mid-action

@pytest.fixture
def ws(tmp_path) -> Path:
    """A private copy of the demo (registry, logs, audit file) for one test."""
    return demo_at(tmp_path / "ws").parent


async def settle(predicate, what: str, rounds: int = 600) -> None:
    """Waits (letting the app's loop run) until `predicate()` holds; the bound only stops a hang."""
    for _ in range(rounds):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def champion(ws: Path) -> str:
    from mlflow import MlflowClient

    uri = f"sqlite:///{ws / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return str(client.get_model_version_by_alias("delivery-eta", "champion").version)


def lease_tag(ws: Path) -> str | None:
    from mlflow import MlflowClient

    uri = f"sqlite:///{ws / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri).get_registered_model("delivery-eta").tags.get(LEASE_TAG)


async def test_quitting_mid_action_records_it_interrupted_and_frees_the_model_at_once(ws, httpserver):
    """A rollback whose deploy hook (a real HTTP server on 127.0.0.1) holds its answer: the operator quits,
    insists, and the audit trail gets the outcome at once, the lease and lock are released (a second operator
    on this box rolls back right away, well inside the lease's TTL), and the abandoned worker, when the hook
    answers later, moves nothing and writes no second outcome."""
    reached, release = threading.Event(), threading.Event()

    def hold(request):
        reached.set()
        release.wait(120)
        return Response("{}", status=200, content_type="application/json")

    httpserver.expect_request("/deploy").respond_with_handler(hold)
    base = parse_file(ws / "mlops-console.toml")
    cfg = dataclasses.replace(base, webhooks={"deploy": Webhook(url=httpserver.url_for("/deploy"), timeout_s=120,
                                                                retries=0)})
    now = datetime.fromisoformat(json.loads((ws / "tour.json").read_text())["now"].rstrip("Z"))
    svc = Service(cfg, clock=lambda: now)
    svc.findings = lambda max_age_s=None: []  # incidents are the monitoring tests' business
    app = ConsoleApp(cfg, service=svc, poll=False)
    assert champion(ws) == "5"
    before = len(audit.read(ws / "audit.jsonl"))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None,
                        "the overview", rounds=1200)
            overview = app.screen
            await pilot.press("slash", *"delivery-eta", "enter")
            await until(pilot, lambda: overview.context() == ("delivery-eta", "production"), "delivery-eta")
            await until(pilot, lambda: "production" in overview.flow.states, "the row's action state")
            await pilot.press("R")
            await until(pilot, lambda: dialog_ready(app), "the rollback dialog")
            dialog = app.screen
            dialog.query_one("#reason", Input).focus()
            await pilot.press(*"p95 regression")
            dialog.query_one("#typed", Input).focus()
            await pilot.press(*"delivery-eta", "enter")
            await until(pilot, lambda: reached.is_set(), "the deploy hook reached, holding its answer")
            assert overview.flow.running is not None and lease_tag(ws) is not None  # mid-action, lease held
            intent = audit.read(ws / "audit.jsonl")[before:]
            assert [(r["phase"], r["action"]) for r in intent] == [("intent", "rollback")]

            await pilot.press("q")
            await until(pilot, lambda: isinstance(app.screen, QuitConfirm), "the question")
            await pilot.press("y")  # the app leaves: from here on wait without the pilot
            await settle(lambda: len(audit.read(ws / "audit.jsonl")) > before + 1, "the outcome record")
            [rec_intent, outcome] = audit.read(ws / "audit.jsonl")[before:]
            assert outcome["phase"] == "outcome" and outcome["action_id"] == rec_intent["action_id"]
            assert outcome["outcome"] == "unknown" and outcome["message"].startswith("interrupted by quit")
            assert "deploy hook" in outcome["message"] and outcome["stage"] == "hook"
            assert outcome["interrupted"] == "the operator quit the console"
            assert (outcome["from"], outcome["to"], outcome["reason"]) == ("5", "4", "p95 regression")
            assert audit.incomplete(ws / "audit.jsonl") == []
            assert lease_tag(ws) is None  # released now, not after the lease's 120 s

            # a second operator on this box (same lock folder, same audit trail), the first one's process
            # still alive: the model's lock and lease are free at once
            # (its deployment events from the store, as the service gives them: v4 was champion before v5, the
            # only rollback target it may return to)
            second = Operator(base, svc.registry, user=svc.operator.user, lock_wait_s=0.5,
                              deployments=svc.operator._deployments)
            result = second.rollback("delivery-eta", "production", to="4", expected_from="5",
                                     reason="second operator")
            assert result.ok and result.status == "done", result.message
            assert champion(ws) == "4"
            release.set()  # the hook answers; the abandoned worker must stop there
            await settle(lambda: not svc.operator.flights.running(), "the abandoned worker's end")
    finally:
        release.set()
    records = audit.read(ws / "audit.jsonl")[before:]
    assert [(r["phase"], r.get("outcome"), r["actor"] == outcome["actor"]) for r in records] == [
        ("intent", None, True), ("outcome", "unknown", True), ("intent", None, True), ("outcome", "done", True)]
    assert records[2]["reason"] == "second operator"
    assert champion(ws) == "4" and lease_tag(ws) is None  # the first worker moved nothing afterwards
    assert audit.verify(ws / "audit.jsonl").ok
    assert len(httpserver.log) == 1  # one deploy call: the second operator's config has no hook


async def test_which_keys_quit_at_once_from_the_input_thread(tmp_path):
    """`q` ends the process from the driver's input thread only where it would quit with nothing to ask; a text
    field, a modal or a running action send it the normal way. Remapped keys follow `[keys]`."""
    from console.ui.screens.help import HelpScreen

    app = make_app(tmp_path, keys={"quit": "x"})
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None, "overview")
        overview = app.screen
        assert app.quits_at_once("x") and app.quits_at_once("ctrl+q")
        assert not app.quits_at_once("q") and not app.quits_at_once("r")  # remapped away; not a quit key
        await pilot.press("slash")  # the filter field has the focus: x is a letter there
        await until(pilot, lambda: isinstance(app.focused, Input), "the filter field")
        assert not app.quits_at_once("x") and app.quits_at_once("ctrl+q")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.focused, Input), "the filter closed")
        assert app.quits_at_once("x")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        assert app.quits_at_once("x")  # a full screen, not a modal
        await pilot.press("question_mark")
        await until(pilot, lambda: app.screen is overview, "back")
        overview.flow.running = ActionRequest("rollback", "Rollback", "fraud-detector", "production")
        assert not app.quits_at_once("x") and not app.quits_at_once("ctrl+q")  # it asks first
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, QuitConfirm), "the question")
        assert not app.quits_at_once("x")
        await pilot.press("n")
        overview.flow.running = None
