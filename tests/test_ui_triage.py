"""Acting where you triage: the actions of the selected model from the Overview and the model page, on the
same keys as Deployments, through the same gated dialog (name field first in production, reason prefilled
with the incident in view, a warning when the target version is an open incident's suspect).

The demo is built once per module and copied per test (actions write to the registry and the audit file).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from textual.widgets import Input

from console.actions import audit
from console.config import parse_file
from console.service import Service
from console.ui.app import ConsoleApp
from console.actions.plan import suspect_versions, suspect_warnings
from console.ui.screens.model import ModelScreen
from console.ui.screens.overview import OverviewScreen
from demo_copy import demo_at
from ui_fixtures import dialog_ready, screen_text, until

SMALL, LARGE = (80, 24), (120, 40)


@pytest.fixture
def ws(tmp_path) -> Path:
    """A private copy of the demo workspace (registry, logs, audit file) for one test."""
    return demo_at(tmp_path / "ws").parent


def make_app(ws: Path) -> ConsoleApp:
    cfg = parse_file(ws / "mlops-console.toml")
    now = datetime.fromisoformat(json.loads((ws / "tour.json").read_text())["now"].rstrip("Z"))
    return ConsoleApp(cfg, service=Service(cfg, clock=lambda: now), poll=False)


def champion(ws: Path, model: str) -> str:
    from mlflow import MlflowClient

    uri = f"sqlite:///{ws / 'mlflow.db'}"
    return str(MlflowClient(tracking_uri=uri, registry_uri=uri).get_model_version_by_alias(model, "champion").version)


class Keys:
    """Presses keys and counts them (the model's name is typed separately and not counted)."""

    def __init__(self, pilot) -> None:
        self.pilot, self.count = pilot, 0

    async def press(self, *keys: str) -> None:
        self.count += len(keys)
        await self.pilot.press(*keys)

    async def type(self, text: str) -> None:
        await self.pilot.press(*text)


async def test_rollback_from_the_overview_at_80x24_in_four_keys_and_the_name(ws):
    assert champion(ws, "delivery-eta") == "5"
    before = len(audit.read(ws / "audit.jsonl"))
    app = make_app(ws)
    async with app.run_test(size=SMALL) as pilot:
        keys = Keys(pilot)
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None
                    and app.snapshot.rows and app.snapshot.rows[0].alerts > 0, "the overview with its alerts",
                    rounds=3000)
        overview = app.screen
        assert overview.context() == ("delivery-eta", "production")  # the first row, selected at launch
        await until(pilot, lambda: "production" in overview.flow.states, "the row's action state")
        await until(pilot, lambda: "R Rollback" in screen_text(app).splitlines()[-1], "the footer")
        footer = screen_text(app).splitlines()[-1]
        assert "R Rollback" in footer and "Step" not in footer  # only keys that apply, at 80 columns
        await keys.press("R")
        await until(pilot, lambda: dialog_ready(app), "the rollback dialog")
        dialog = app.screen
        assert app.focused is dialog.query_one("#typed", Input)  # the name field first
        reason = dialog.query_one("#reason", Input).value
        firing = [f for f in app.incidents if f.model == "delivery-eta"]
        assert firing and reason.startswith("incident ")  # prefilled with one of the model's open incidents
        assert any(reason.startswith(f"incident {f.rule}") and f"{f.onset:%Y-%m-%d %H:%M}" in reason for f in firing)
        assert "champion: v5 -> v4" in screen_text(app)
        await keys.press("enter")  # an enter by reflex with no name: refused, nothing changes
        await pilot.pause()
        assert app.screen is dialog and "type the model name exactly" in screen_text(app)
        await keys.type("delivery-eta")
        await keys.press("enter")
        await until(pilot, lambda: overview.flow.last_result is not None, "the rollback result")
        assert overview.flow.last_result.ok, overview.flow.last_result.message
        assert keys.count <= 4, keys.count
    assert champion(ws, "delivery-eta") == "4"
    new = audit.read(ws / "audit.jsonl")[before:]
    assert [(r["phase"], r["action"]) for r in new] == [("intent", "rollback"), ("outcome", "rollback")]
    assert new[0]["reason"] == reason


async def test_keys_that_do_not_apply_say_why_and_the_model_page_acts_too(ws):
    notes: list[str] = []
    app = make_app(ws)
    async with app.run_test(size=LARGE) as pilot:
        real = app.notify
        app.notify = lambda message, **kw: (notes.append(str(message)), real(message, **kw))[1]
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None,
                    "the overview")
        overview = app.screen
        await until(pilot, lambda: "production" in overview.flow.states, "the row's action state")
        assert "plus" not in overview.active_bindings  # delivery-eta runs no canary: no `+` in the footer
        await pilot.press("plus")
        # the service's words, and audited as the CLI's refusal is
        await until(pilot, lambda: any("no canary running" in n for n in notes), "the reason + does nothing")
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ModelScreen), "the model page")
        page = app.screen
        await until(pilot, lambda: "production" in page.flow.states, "the model page's action state")
        assert "R" in page.active_bindings and "T" in page.active_bindings
        await pilot.press("R")
        await until(pilot, lambda: dialog_ready(app), "the dialog from the model page")
        await pilot.press("escape")  # Cancel one key away
        await until(pilot, lambda: app.screen is page, "back on the model page")
    assert champion(ws, "delivery-eta") == "5"


def test_a_suspect_version_warns():
    from console.actions.operator import Change, Plan
    from console.analytics.incidents import Suspect
    from console.monitoring import Finding

    onset = datetime(2026, 7, 4, 12)
    finding = Finding("m:latency", "m", "latency", "p95 latency", "critical", onset, None, 450.0, 300.0,
                      suspects=(Suspect("deployment", onset, "deploy v4 in production (blue-green) by ci"),))
    assert suspect_versions(finding) == {"4"}
    def plan(to: str) -> Plan:
        return Plan("rollback", "m", "production", "", "rollback", to, "5", "champion",
                    changes=(Change("champion", "5", to),))

    warnings = suspect_warnings({"": plan("4")}, [finding])
    assert len(warnings) == 1 and "v4" in warnings[0] and "p95 latency" in warnings[0]
    assert suspect_warnings({"": plan("3")}, [finding]) == ()
