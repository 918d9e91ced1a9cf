"""Registry, rollout and audit screens and operator actions in the TUI, on the demo workspace's real MLflow
registry (SQLite), driven by keys: rollback and promote through the confirmation dialog, cancel, read-only
mode, the audit screen's verify, and hostile model names.

The demo is built once per session and copied per test (actions write to the registry and the audit
file). The app runs without polling and with a pinned clock; workers are awaited with bounded loops.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import Checkbox

from console.actions import audit
from console.config import parse_file
from console.service import Service
from console.ui.app import ConsoleApp
from console.ui.screens.audit import AuditScreen
from console.ui.screens.confirm import ActionDialog, ActionRequest
from console.ui.screens.deployments import DeploymentsScreen, timeline
from console.ui.screens.overview import OverviewScreen
from console.ui.screens.registry import ModelsScreen
from console.ui.screens.version_diff import VersionDiffScreen, marker
from console.ui.screens.versions import VersionsScreen
from console.ui.widgets import FilterTable
from demo_copy import demo_at
from ui_fixtures import screen_text as text_of
from ui_fixtures import dialog_ready, until
from snapshot_workspace import demo_service, demo_workspace  # noqa: F401 - fixtures

SMALL, LARGE = (80, 24), (120, 40)
HOSTILE = "[bold red]x"


@pytest.fixture
def ws(tmp_path) -> Path:
    """A private copy of the demo workspace (registry, logs, audit file) for one test."""
    return demo_at(tmp_path / "ws").parent


def load(ws: Path, **changes):
    cfg = parse_file(ws / "mlops-console.toml")
    if changes:
        cfg = dataclasses.replace(cfg, **changes)
    assert cfg.audit_path is not None and Path(cfg.audit_path).parent == ws  # the audit trail stays in tmp
    return cfg


def make_app(ws: Path, **changes) -> ConsoleApp:
    cfg = load(ws, **changes)
    now = datetime.fromisoformat(json.loads((ws / "tour.json").read_text())["now"].rstrip("Z"))
    svc = Service(cfg, clock=lambda: now)
    svc.findings = lambda max_age_s=None: []  # incidents are the monitoring tests' business: skip their cost
    return ConsoleApp(cfg, service=svc, poll=False)


def client(ws: Path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{ws / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def alias(ws: Path, model: str, name: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client(ws).get_model_version_by_alias(model, name).version)
    except MlflowException:
        return None


def records(ws: Path) -> list[dict]:
    return audit.read(ws / "audit.jsonl")




async def palette(app, pilot, query: str) -> None:
    """`:`, type, enter: the palette's best match runs."""
    await pilot.press("colon")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
    await pilot.press(*query)
    from textual.command import CommandList

    previous = None
    for _ in range(100):  # results stream in: wait until the list settles
        await pilot.pause(0.05)
        listing = app.screen.query_one(CommandList)
        now = [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]
        if now and now == previous:
            break
        previous = now
    await pilot.press("enter")
    await pilot.pause()


async def open_for(app, pilot, model: str, screen: str):
    """Select `model` (production) on the overview with `/`, then `:screen` from the palette."""
    await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None, "the overview")
    await pilot.press("slash", *model, "enter")
    await until(pilot, lambda: (app.screen.context() or ("",))[0] == model, f"{model} selected")
    await palette(app, pilot, f":{screen}")
    await until(pilot, lambda: getattr(app.screen, "SCREEN_NAME", "") == screen and app.screen.model == model,
                f"{screen} for {model}")
    return app.screen


async def focus(pilot, widget_id: str, key: str = "shift+tab", rounds: int = 12) -> None:
    """Moves the focus with tab / shift+tab (keys only) until `widget_id` has it."""
    for _ in range(rounds):
        if pilot.app.focused is not None and pilot.app.focused.id == widget_id:
            return
        await pilot.press(key)
    assert pilot.app.focused is not None and pilot.app.focused.id == widget_id, pilot.app.focused


def dialog_text(app) -> str:
    return text_of(app)


# ---------------------------------------------------------------------------------------- rollback


async def test_rollback_in_production_at_80x24_by_keys(ws):
    assert alias(ws, "delivery-eta", "champion") == "5"
    before = len(records(ws))
    app = make_app(ws)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_for(app, pilot, "delivery-eta", "deployments")
        assert isinstance(screen, DeploymentsScreen)
        await until(pilot, lambda: screen.loaded and "production" in screen.flow.states, "serving and state")
        await until(pilot, lambda: "R Rollback" in text_of(app), "the footer with the keys that apply")
        text = text_of(app)
        assert "CHAMPION" in text and "v5" in text
        assert screen.check_action("act", ("rollback",)) is True
        assert "plus" not in screen.active_bindings  # no canary: the footer leaves `+` out
        assert "R Rollback" in text and "Step" not in text  # ... so the footer keeps the keys that work
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ActionDialog) and "gates" in text_of(app),
                    "the rollback dialog")
        dialog = app.screen
        assert app.focused is dialog.query_one("#typed")  # production: the name field has the focus first
        text = dialog_text(app)
        assert "champion: v5 -> v4" in text and "production" in text and "100 %" in text
        assert "type the model name to confirm" in text
        # confirming without the name is refused by the dialog itself, from the field or the button
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog and "type the model name exactly" in dialog_text(app)
        await focus(pilot, "confirm", key="tab")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog and "type the model name exactly" in dialog_text(app)
        await focus(pilot, "reason")
        await pilot.press(*"p95 regression after the green switch")  # production needs a reason
        await focus(pilot, "typed")
        await pilot.press(*"delivery-eta")
        await pilot.press("enter")  # enter in the name field confirms once the name matches
        await until(pilot, lambda: screen.flow.last_result is not None, "the rollback result")
        result = screen.flow.last_result
        assert result.ok, result.message
        assert isinstance(app.screen, DeploymentsScreen)
        await until(pilot, lambda: screen.serving.get("production", {}).get("champion") == "4",
                    "the deployments screen showing v4")
    assert alias(ws, "delivery-eta", "champion") == "4"  # read with a separate client
    new = records(ws)[before:]
    phases = [(r["phase"], r["action"], r.get("outcome")) for r in new]
    assert phases == [("intent", "rollback", None), ("outcome", "rollback", "done")]
    assert new[0]["action_id"] == new[1]["action_id"] and new[0]["from"] == "5" and new[0]["to"] == "4"
    assert audit.verify(ws / "audit.jsonl").ok


# ---------------------------------------------------------------------------------------- promote + gates


async def test_promote_with_failing_gate_needs_force_and_reason(ws):
    assert alias(ws, "fraud-detector", "champion") == "3" and alias(ws, "fraud-detector", "canary") == "4"
    # the champion's run records a better AUC than v4's 0.944, so the metric gate fails whatever the live
    # traffic of this demo build looks like
    c = client(ws)
    champion_run = c.get_model_version("fraud-detector", "3").run_id
    c.log_metric(champion_run, "auc", 0.99, timestamp=4_102_444_800_000, step=1)
    app = make_app(ws)
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_for(app, pilot, "fraud-detector", "versions")
        assert isinstance(screen, VersionsScreen)
        await until(pilot, lambda: screen.loaded and "4" in screen.lineages, "versions and lineage")
        assert screen.selected_version() == "4"  # newest first
        text = text_of(app)
        assert "canary=v4" in text and "champion=v3" in text
        assert "COMMIT" in text and "DATASETS" in text and "auc=" in text
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, ActionDialog) and "gates" in text_of(app),
                    "the promote dialog")
        dialog = app.screen
        assert app.focused.id == "typed"
        text = dialog_text(app)
        assert "champion: v3 -> v4" in text and "canary: v4 -> removed" in text
        assert "PASS metric:f1" in text and "FAIL metric:auc 0.944 vs champion 0.99" in text, text
        assert "live gates use the last hour" in text  # v4 is the canary: its live stats are gated too
        # 1) a failing gate blocks: confirming without force is refused by the dialog
        await focus(pilot, "typed")
        await pilot.press(*"fraud-detector", "enter")  # the name matches: enter confirms ...
        await pilot.pause()
        assert app.screen is dialog and "a gate failed" in dialog_text(app)  # ... and the gate refuses
        assert app.focused.id == "cancel"  # not the force box: a second Enter ticked "override the gates"
        # ... and audited, as the CLI audits the same refusal (the TUI left no record of it); once, not per Enter
        await until(pilot, lambda: any(r["phase"] == "refused" for r in records(ws)), "the refusal audited")
        (refused,) = [r for r in records(ws) if r["phase"] == "refused"]
        assert refused["action"] == "promote" and refused["model"] == "fraud-detector"
        assert any(g["name"] == "metric:auc" and not g["passed"] for g in refused["gates"]), refused
        # 2) force without a reason is refused too
        await focus(pilot, "force")
        await pilot.press("space")
        assert dialog.query_one("#force", Checkbox).value is True and "ON  force" in dialog_text(app)
        await focus(pilot, "confirm", key="tab")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog and "force needs your own reason" in dialog_text(app)
        assert app.focused.id == "reason"
        # 3) force + reason: the promote runs (enter in the reason confirms, the name being typed)
        await pilot.press(*"canary p95 within SLO", "enter")
        await until(pilot, lambda: screen.flow.last_result is not None, "the promote result")
        assert screen.flow.last_result.ok, screen.flow.last_result.message
        await until(pilot, lambda: "champion" in screen.versions["4"].aliases, "v4 shown as champion")
    assert alias(ws, "fraud-detector", "champion") == "4"
    assert alias(ws, "fraud-detector", "canary") is None
    outcome = records(ws)[-1]
    assert [r["phase"] for r in records(ws)].count("refused") == 1  # the forced run is not a second refusal
    assert outcome["phase"] == "outcome" and outcome["outcome"] == "done" and outcome["forced"] is True
    assert outcome["reason"] == "canary p95 within SLO"
    assert any(g["name"] == "metric:auc" and not g["passed"] for g in outcome["gates"])


async def test_at_80x24_a_failing_gate_is_in_view_and_two_enters_never_force(ws):
    """TUI probe, finding 1: the dialog opened scrolled to the name field, the FAIL gate above the visible rows;
    Enter after the name printed "a gate failed" below them and moved the focus to the force box, which the
    next Enter ticked; a forced promote then ran with the reason the dialog had offered."""
    c = client(ws)
    c.log_metric(c.get_model_version("fraud-detector", "3").run_id, "auc", 0.99, timestamp=4_102_444_800_000, step=1)
    app = make_app(ws)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_for(app, pilot, "fraud-detector", "versions")
        await until(pilot, lambda: screen.loaded and screen.selected_version() == "4", "versions")
        await pilot.press("P")
        # both in view at once, the focus on the name (one check after the gate showed read a frame of the dialog
        # still laying out, on a loaded box: its title alone)
        await until(pilot, lambda: isinstance(app.screen, ActionDialog) and app.focused is not None
                    and app.focused.id == "typed" and "FAIL metric:auc" in (shown := text_of(app))
                    and "type the model name" in shown, "the promote dialog with its failing gate and the name in view")
        dialog = app.screen
        await pilot.press(*"fraud-detector", "enter")
        await until(pilot, lambda: "a gate failed" in text_of(app), "the refusal in view")
        assert app.focused.id == "cancel" and dialog.query_one("#force", Checkbox).value is False
        await pilot.press("enter")  # the second Enter cancels
        await until(pilot, lambda: app.screen is not dialog, "the dialog closed")
    assert alias(ws, "fraud-detector", "champion") == "3" and alias(ws, "fraud-detector", "canary") == "4"


async def test_promote_strategy_choice_and_version_diff(ws):
    app = make_app(ws)
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_for(app, pilot, "delivery-eta", "versions")
        await until(pilot, lambda: screen.loaded and len(screen.versions) == 5, "versions")
        # x on v5, x on v4: the diff, differences marked with a symbol
        await pilot.press("x")
        assert screen.marked == "5"
        await pilot.press("down", "x")
        await until(pilot, lambda: isinstance(app.screen, VersionDiffScreen) and app.screen.loaded, "the diff")
        diff = app.screen
        assert (diff.a, diff.b) == ("5", "4")
        table = diff.query_one(FilterTable)
        rows = {table.cells(k)[2].plain: [c.plain for c in table.cells(k)] for k in table.all_keys}
        assert rows["routing_graph"][0] in ("≠", "!=") and rows["routing_graph"][3:5] == ["2024-09", "2024-06"]
        assert rows["n_estimators"][0] == "="
        assert rows["git commit"][0] in ("≠", "!=") and rows["training digest"][0] in ("≠", "!=")
        assert rows["mae"][0] in ("≠", "!=")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back on versions")
        # start v3 as the staging shadow: the strategy is chosen in the dialog by keys
        await pilot.press("e")  # actions on staging
        assert screen.env == "staging"
        await pilot.press("down")  # v4 -> v3
        assert screen.selected_version() == "3"
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, ActionDialog) and "gates" in text_of(app),
                    "the promote dialog")
        dialog = app.screen
        assert not dialog.query("#typed")  # staging is not production: no name to type
        await focus(pilot, "strategy")
        await pilot.press("right", "enter")  # direct -> canary
        assert dialog.strategy == "canary" and "selected: canary" in dialog_text(app)
        assert "staging-canary: unset -> v3" in dialog_text(app) and "FAIL metric:mae" in dialog_text(app)
        await pilot.press("right", "right", "enter")  # -> blue-green -> shadow: no gates for a shadow
        assert dialog.strategy == "shadow"
        assert "staging-shadow: unset -> v3" in dialog_text(app) and "none for this action" in dialog_text(app)
        await focus(pilot, "reason", key="tab")
        await pilot.press(*"try v3 on staging")
        await focus(pilot, "confirm", key="tab")
        await pilot.press("enter")
        await until(pilot, lambda: screen.flow.last_result is not None, "the result")
        result = screen.flow.last_result
        assert result.ok, result.message
    assert alias(ws, "delivery-eta", "staging-shadow") == "3"
    assert alias(ws, "delivery-eta", "staging-canary") is None


# ---------------------------------------------------------------------------------------- cancel


async def test_cancel_changes_nothing(ws):
    before = records(ws)
    app = make_app(ws)
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_for(app, pilot, "delivery-eta", "deployments")
        await until(pilot, lambda: screen.loaded and "production" in screen.flow.states, "deployments")
        assert "A" not in screen.active_bindings  # no canary: not in the footer
        await pilot.press("A")  # a key that does not apply says why (the service's words) and opens nothing
        await until(pilot, lambda: screen.flow.last_refusal and "no canary running" in screen.flow.last_refusal,
                    "the reason")
        assert app.screen is screen
        before = records(ws)  # the refusal is audited, as the CLI audits it; Cancel below writes nothing
        await pilot.press("R")
        await until(pilot, lambda: dialog_ready(app), "the dialog")
        await pilot.press("enter")  # enter by reflex in the empty name field: refused, nothing runs
        await pilot.pause(0.2)
        assert isinstance(app.screen, ActionDialog) and screen.flow.last_result is None
        await pilot.press("escape")  # Cancel one key away
        await until(pilot, lambda: app.screen is screen, "the dialog closed")
        await pilot.press("R")
        await until(pilot, lambda: dialog_ready(app), "the dialog again")
        await focus(pilot, "typed")
        await pilot.press(*"delivery-eta")
        await pilot.press("escape")  # esc cancels even with the name typed
        await until(pilot, lambda: app.screen is screen, "the dialog closed")
        await pilot.pause(0.3)
        assert screen.flow.last_result is None and screen.flow.busy is None
    assert alias(ws, "delivery-eta", "champion") == "5"
    assert records(ws) == before


# ---------------------------------------------------------------------------------------- read-only


async def test_read_only_hides_action_keys_and_palette_refuses(ws):
    before = records(ws)
    app = make_app(ws, read_only=True)
    notes: list[str] = []
    async with app.run_test(size=LARGE) as pilot:
        real = app.notify
        app.notify = lambda message, **kw: (notes.append(str(message)), real(message, **kw))[1]
        screen = await open_for(app, pilot, "delivery-eta", "deployments")
        await until(pilot, lambda: screen.loaded, "deployments")
        active = screen.active_bindings
        assert not {"P", "R", "T", "S", "F", "A", "plus"} & set(active)
        assert "Rollback" not in text_of(app)  # not in the footer
        await pilot.press("R")  # the key says why instead of doing nothing
        await until(pilot, lambda: any("read-only" in n for n in notes), "the refusal by key")
        assert app.screen is screen
        notes.clear()
        await palette(app, pilot, "Rollback delivery")
        await until(pilot, lambda: any("read-only" in n for n in notes), "the refusal")
        assert not isinstance(app.screen, ActionDialog)
        assert screen.flow.last_refusal and "read-only" in screen.flow.last_refusal
    assert alias(ws, "delivery-eta", "champion") == "5"
    # each refusal audited as the CLI's `--read-only` one is (README: every refusal, from both doors), nothing else
    new = records(ws)[len(before):]
    assert [(r["phase"], r["action"]) for r in new] == [("refused", "rollback")] * 2, new
    assert all("read-only" in r["message"] for r in new)


# ---------------------------------------------------------------------------------------- audit


async def test_audit_screen_lists_records_marks_incomplete_and_verifies(ws):
    log = audit.AuditLog(ws / "audit.jsonl")
    aid = log.intent("promote", "fraud-detector", "production", **{"from": "3", "to": "4"})
    log.outcome(aid, "promote", "fraud-detector", "production", "done", message="champion: v3 -> v4",
                **{"from": "3", "to": "4"})
    log.intent("rollback", "delivery-eta", "production", **{"from": "5", "to": "4"})  # crashed mid-action
    app = make_app(ws)
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the overview")
        await palette(app, pilot, ":audit")
        await until(pilot, lambda: isinstance(app.screen, AuditScreen) and app.screen.loaded, "the audit screen")
        screen = app.screen
        table = screen.table
        assert len(table.row_keys) == 3
        first = [c.plain for c in table.cells(table.row_keys[0])]  # newest first
        assert "rollback" in first and "INCOMPLETE" in first and "v5->v4" in first
        assert "1 INCOMPLETE" in text_of(app)
        await pilot.press("v")
        await until(pilot, lambda: screen.verdict is not None, "the verdict")
        assert screen.verdict.ok and "VERIFIED" in text_of(app)
        # filter with /
        await pilot.press("slash", *"fraud")
        await pilot.pause()
        assert len(table.row_keys) == 2
        await pilot.press("escape")
        # an edited record is found
        lines = (ws / "audit.jsonl").read_text().splitlines()
        lines[0] = lines[0].replace('"fraud-detector"', '"fraud-detectoR"')
        (ws / "audit.jsonl").write_text("\n".join(lines) + "\n")
        screen.verdict = None
        await pilot.press("v")
        await until(pilot, lambda: screen.verdict is not None, "the second verdict")
        assert not screen.verdict.ok and "TAMPERED" in text_of(app)


# ---------------------------------------------------------------------------------------- hostile names


async def test_models_screen_renders_hostile_names_literally(ws):
    c = client(ws)
    c.create_registered_model(HOSTILE, description="[@click=app.quit]boom")
    app = make_app(ws)
    async with app.run_test(size=LARGE) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the overview")
        await palette(app, pilot, ":models")
        await until(pilot, lambda: isinstance(app.screen, ModelsScreen) and HOSTILE in app.screen.models,
                    "the models screen")
        screen = app.screen
        text = text_of(app)
        assert HOSTILE in text and "[@click=app.quit]boom" in text
        assert "PROMPT" in text and "support-assistant-prompt" in text
        row = [c.plain for c in screen.table.cells("fraud-detector")]
        assert "champion=v3" in row[2] and "canary=v4" in row[2] and row[3] == "v4"
        # enter opens the versions of the selected model
        screen.table.select_key("fraud-detector")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.loaded, "versions")
        assert app.screen.model == "fraud-detector" and len(app.screen.versions) == 4
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back")
        screen.table.select_key(HOSTILE)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.loaded, "hostile versions")
        assert HOSTILE in text_of(app) and app.is_running


# ---------------------------------------------------------------------------------------- pure helpers


def test_timeline_folds_intents_with_outcomes_and_marks_incomplete_ones():
    events = [{"ts": datetime(2026, 1, 1, 10), "environment": "production", "action": "deploy", "strategy": "canary",
               "version": "4", "traffic_pct": 10.0, "actor": "ci", "reason": "canary for v4"}]
    recs = [
        {"ts": "2026-01-02T10:00:00.000Z", "phase": "intent", "action_id": "a", "action": "rollback",
         "environment": "production", "from": "5", "to": "4"},
        {"ts": "2026-01-02T10:00:01.000Z", "phase": "outcome", "action_id": "a", "action": "rollback",
         "environment": "production", "outcome": "done", "from": "5", "to": "4", "message": "ok"},
        {"ts": "2026-01-03T10:00:00.000Z", "phase": "intent", "action_id": "b", "action": "promote",
         "environment": "production", "from": "4", "to": "5"},
    ]
    rows = timeline(events, recs)
    assert [(r["source"], r["action"], r["outcome"]) for r in rows] == [
        ("audit", "promote", "INCOMPLETE"), ("audit", "rollback", "done"), ("deploy", "deploy", "")]
    assert rows[1]["change"] == "v5->v4" and rows[2]["traffic"] == "10%"


def test_diff_markers_are_symbols():
    assert marker("a", "a") == "="
    assert marker("a", "b") in ("≠", "!=")
    assert marker(None, "b") == "+" and marker("a", None) == "-"


# ---------------------------------------------------------------------------------------- canary and roles


async def test_canary_step_by_keys_moves_traffic_and_the_log(ws):
    assert alias(ws, "fraud-detector", "canary") == "4"
    app = make_app(ws)
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_for(app, pilot, "fraud-detector", "deployments")
        await until(pilot, lambda: screen.loaded and "production" in screen.flow.states, "serving and state")
        assert screen.check_action("act", ("canary-step",)) is True
        await pilot.press("plus")
        await until(pilot, lambda: isinstance(app.screen, ActionDialog) and "gates" in text_of(app),
                    "the canary dialog")
        assert app.focused.id == "typed"
        assert "25 % -> 50 %" in text_of(app)
        dialog = app.screen
        await focus(pilot, "reason")
        await pilot.press(*"canary healthy for an hour")  # production: a reason is required
        await focus(pilot, "typed")
        await pilot.press(*"fraud-detector", "enter")
        await pilot.pause(0.3)
        if app.screen is dialog and "a gate failed" in dialog_text(app):  # live gates depend on this build's traffic
            await pilot.press("space")
            await focus(pilot, "confirm", key="tab")
            await pilot.press("enter")
        await until(pilot, lambda: screen.flow.last_result is not None, "the canary result")
        assert screen.flow.last_result.ok, screen.flow.last_result.message
    events = [json.loads(line) for line in (ws / "logs" / "deployments.jsonl").read_text().splitlines()]
    last = events[-1]
    assert (last["model"], last["action"], last["version"], last["traffic_pct"]) == ("fraud-detector", "canary-step",
                                                                                     "4", 50)
    assert alias(ws, "fraud-detector", "canary") == "4" and alias(ws, "fraud-detector", "champion") == "3"


async def test_the_palette_offers_only_the_actions_that_apply(ws):
    """With no canary, the palette lists no canary step, finish or abort (it did, each saying "does not apply" when
    chosen), and still lists the rollback the footer offers."""
    app = make_app(ws)
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_for(app, pilot, "delivery-eta", "deployments")
        await until(pilot, lambda: screen.loaded and "production" in screen.flow.states, "serving and state")
        assert not screen.flow.states["production"].has_canary
        labels = [label for label, _, _ in screen.action_commands()]
        assert "Rollback delivery-eta (production)" in labels
        assert not [label for label in labels if label.startswith("Canary")], labels
        # the Overview's entries name the selected row's model (its own model is None: "Rollback None (production)")
        overview = next(s for s in app.screen_stack if getattr(s, "SCREEN_NAME", "") == "overview")
        row = overview.selected_row()
        labels = [label for label, _, _ in overview.action_commands()]
        assert labels and all(f" {row.name} (" in label for label in labels), (row.name, labels)


async def test_deployments_without_a_registry_show_the_deployment_log_and_say_why(ws):
    """No registry configured: the serving table comes from the deployment log (the demo's fraud-detector champion
    v3, canary v4) and the screen says, in place, that it does; it was empty, with a toast naming an exception."""
    app = make_app(ws, tracking_uri=None)
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_for(app, pilot, "fraud-detector", "deployments")
        await until(pilot, lambda: screen.loaded, "deployments")
        assert screen.serving["production"]["champion"] == "3" and screen.serving["production"]["canary"] == "4"
        assert "serving from the deployment log: no registry configured" in text_of(app)
        assert "RegistryUnavailable" not in text_of(app)


async def test_roles_hide_the_keys_of_actions_the_user_may_not_take(ws):
    roles = {"viewer": {"users": ["somebody-else"], "actions": ["*"], "environments": ["*"]}}
    app = make_app(ws, roles=roles)
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_for(app, pilot, "delivery-eta", "deployments")
        await until(pilot, lambda: screen.loaded, "deployments")
        await until(pilot, lambda: "production" in screen.flow.states, "the action state")
        assert not {"P", "R", "S", "F", "A", "plus"} & set(screen.active_bindings)
        assert "Rollback" not in text_of(app)
    assert alias(ws, "delivery-eta", "champion") == "5"


async def test_the_production_dialog_at_80x24_shows_what_it_confirms_beside_the_name_field():
    """In production the name field has the focus, so the dialog's body scrolls down to it; at 80x24 a canary
    step's nine gates pushed its plan ("canary v4: 25 % -> 50 % of traffic") and a suspect warning off the top:
    the operator typed the name without seeing what it confirms (qa5). Both now sit above the name field."""
    from textual.app import App

    from console.actions.operator import Plan
    from console.analytics.gates import Gate

    plan = Plan("canary-step", "fraud-detector", "production", "canary", "canary-step", "4", "4", "canary",
                traffic_pct=50, canary_alias="canary", canary_pct=50, needs_gates=True,
                summary="canary v4: 25 % -> 50 % of traffic in production")
    gates = tuple(Gate(f"metric:m{i}", True, "0.949 vs champion 0.946 (higher is better, tolerance 1%) " * 2)
                  for i in range(9))
    request = ActionRequest("canary-step", "Canary step", "fraud-detector", "production", plans={"": plan},
                            gates=gates, typed=True, reason_required=True, production=True,
                            reason="incident fraud accuracy", warnings=("v4 is a suspect of [bold]x\x1b[2J",))

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(ActionDialog(request))

    app = Host()
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ActionDialog) and app.screen.focused is not None
                    and app.screen.focused.id == "typed", "the dialog, the name field focused")
        await pilot.pause()
        text = text_of(app)
        assert "type the model name to confirm" in text
        assert "canary v4: 25 % -> 50 % of traffic in production" in text
        assert "v4 is a suspect of [bold]x\\x1b[2J" in text and "\x1b" not in text


async def test_the_focused_name_field_is_in_sight_at_80x24(ws):
    """A production canary step at 80x24 by keys: the name field has the focus, and it is inside the body's visible
    rows once the plan and gates are drawn (focus scrolled to it before they grew the body, and keys typed went into
    a field out of sight)."""
    app = make_app(ws)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_for(app, pilot, "fraud-detector", "deployments")
        await until(pilot, lambda: screen.loaded and "production" in screen.flow.states, "serving and state")
        await pilot.press("plus")
        await until(pilot, lambda: isinstance(app.screen, ActionDialog), "the canary dialog")
        await pilot.pause(0.2)
        dialog = app.screen
        body, typed = dialog.query_one("#dialog-body"), dialog.query_one("#typed")
        assert app.focused is typed
        top = body.scroll_offset.y
        assert top <= typed.virtual_region.y and typed.virtual_region.bottom <= top + body.scrollable_content_region.height
        assert "type the model name to confirm" in text_of(app)


# ---------------------------------------------------------------------------------------- what the keys act on


async def test_promote_is_not_offered_on_the_champions_own_row(ws):
    """Probe C (twenty-ninth session): `P` on v3, fraud-detector's champion, was in the footer and opened a dialog
    of strategies all BLOCKED "v3 is already champion"; on v4 (the canary) it is offered."""
    app = make_app(ws)
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_for(app, pilot, "fraud-detector", "versions")
        await until(pilot, lambda: screen.loaded and "promote" in _offered(screen), "versions, P offered on v4")
        assert screen.selected_version() == "4"
        await pilot.press("down")  # v3, the champion
        await until(pilot, lambda: screen.selected_version() == "3", "v3 selected")
        await pilot.pause()
        assert "promote" not in _offered(screen)


async def test_a_view_of_the_past_offers_no_action_keys_and_says_whose_aliases_versions_shows(ws):
    """Probe C: in a view of the past the footer offered P/R/T, each refused (and audited) when pressed; Versions
    showed today's aliases under the "not live" header without a word."""
    app = make_app(ws)
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_for(app, pilot, "delivery-eta", "versions")
        await until(pilot, lambda: screen.loaded and "rollback" in _offered(screen), "versions, R offered")
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: app.at is not None, "a view of the past")
        await pilot.pause()
        assert not {"promote", "rollback", "retrain"} & _offered(screen), _offered(screen)
        assert "aliases as the registry holds them now, not at" in text_of(app)
        await pilot.press("l")
        await until(pilot, lambda: app.at is None and "rollback" in _offered(screen), "live: R offered again")


async def test_on_the_overview_the_keys_act_on_the_focused_incidents_model(demo_service):
    """Probe C: with the incidents list focused on fraud-detector's incident, `y` copied and `R` opened the model
    row's (delivery-eta's) instead: the context is the highlighted incident's model."""
    app = ConsoleApp(demo_service.cfg, service=demo_service, poll=False)
    async with app.run_test(size=LARGE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app._have_findings and app.incidents,
                    "the overview's incidents", rounds=2400)
        screen = app.screen
        first_model = screen.context()[0]
        other = next((f for f in app.incidents if f.model != first_model), None)
        assert other is not None, [f.model for f in app.incidents]
        incidents = screen.query_one("#incidents", FilterTable)
        for _ in range(8):  # tab into the incidents list
            if incidents.table.has_focus:
                break
            await pilot.press("tab")
        assert incidents.table.has_focus
        for _ in range(len(app.incidents) + 2):
            if incidents.selected_key == other.id:
                break
            await pilot.press("down")
        assert incidents.selected_key == other.id
        assert screen.context() == (other.model, "production")
        assert (screen.selected_id() or "").startswith(f"models:/{other.model}/") or screen.selected_id() == other.model
        assert screen.incident_in_view() == other.id
        for _ in range(8):  # back to the models table: its selected row again
            if screen.table.table.has_focus:
                break
            await pilot.press("shift+tab")
        assert screen.context()[0] == first_model


def _offered(screen) -> set[str]:
    """The actions the footer offers (their binding ids, `action.<id>`)."""
    return {(b.binding.id or "").removeprefix("action.") for b in screen.active_bindings.values()
            if (b.binding.id or "").startswith("action.")}
