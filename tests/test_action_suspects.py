"""A target version an open incident suspects is warned about by both doors, from the one plan.

The demo's delivery-eta has open latency incidents (onset 2026-03-09 06:00) whose suspects are the v5 deploys
(production's deployment log). Rolling the champion back (v5 -> v4) targets no suspect: no warning. Promoting v5
again afterwards targets the suspect: the TUI's dialog shows the warning and the CLI prints it on stderr (and
in its JSON) before confirming; a warning never refuses.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from console import cli_actions
from console.cli import main
from console.config import parse_file
from console.service import Service
from console.ui.app import ConsoleApp
from console.ui.screens.overview import OverviewScreen
from test_ui_actions import open_for
from demo_copy import demo_at
from ui_fixtures import dialog_ready, screen_text, until



@pytest.fixture
def ws(tmp_path) -> Path:
    """A private copy of the demo workspace (registry, logs, audit file) for one test."""
    return demo_at(tmp_path / "ws").parent


def demo_now(ws: Path) -> datetime:
    return datetime.fromisoformat(json.loads((ws / "tour.json").read_text())["now"].rstrip("Z"))


def service(ws: Path) -> Service:
    now = demo_now(ws)
    return Service(parse_file(ws / "mlops-console.toml"), clock=lambda: now)


def expected_warnings(ws: Path, version: str) -> list[str]:
    """The open delivery-eta incidents whose suspects name `version`, read from the incidents themselves."""
    svc = service(ws)
    svc.refresh()
    found = [f for f in svc.findings() if f.model == "delivery-eta" and f.firing
             and any(f" v{version} " in f" {s.detail} " for s in f.suspects)]
    return [f"WARNING v{version} is a suspect of the open incident {f.rule} (onset {f.onset:%m-%d %H:%M}Z)" for f in found]


def rollback_then_promote_v5(ws: Path, capsys, *extra: str) -> tuple:
    toml = str(ws / "mlops-console.toml")
    assert main(["--config", toml, "rollback", "delivery-eta", "--reason", "latency", "--yes"]) == 0
    rolled = capsys.readouterr()
    code = main(["--config", toml, "promote", "delivery-eta", "5", "--reason", "fixed", "--yes", *extra])
    return rolled, code, capsys.readouterr()


def test_the_cli_warns_before_confirming_as_the_tui_does(ws, monkeypatch, capsys):
    assert expected_warnings(ws, "4") == []  # the rollback's target is no suspect
    expected = expected_warnings(ws, "5")
    assert len(expected) == 2  # delivery latency and error budget burn: both suspect the v5 switch
    monkeypatch.setattr(cli_actions, "make_service", lambda cfg: Service(cfg, clock=lambda: demo_now(ws)))
    rolled, code, out = rollback_then_promote_v5(ws, capsys, "--format", "json")
    assert "WARNING" not in rolled.err and "v5 -> v4" in rolled.out
    assert code == 0  # a warning never refuses
    assert [line for line in out.err.splitlines() if line.startswith("WARNING")] == expected
    assert json.loads(out.out)["plan_warnings"] == expected


async def test_the_tui_shows_the_plans_warning(ws, monkeypatch, capsys):
    expected = expected_warnings(ws, "5")
    toml = str(ws / "mlops-console.toml")
    monkeypatch.setattr(cli_actions, "make_service", lambda cfg: Service(cfg, clock=lambda: demo_now(ws)))
    assert main(["--config", toml, "rollback", "delivery-eta", "--reason", "latency", "--yes"]) == 0
    app = ConsoleApp(parse_file(ws / "mlops-console.toml"), service=service(ws), poll=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None
                    and app.snapshot.rows and app.snapshot.rows[0].alerts > 0, "the overview with its alerts",
                    rounds=3000)
        await until(pilot, lambda: app.incidents, "the open incidents")
        screen = await open_for(app, pilot, "delivery-eta", "versions")
        await until(pilot, lambda: screen.loaded and "production" in screen.flow.states, "versions and state")
        assert screen.selected_version() == "5"  # newest first
        await pilot.press("P")
        await until(pilot, lambda: dialog_ready(app), "the promote dialog")
        assert app.screen.request.warnings == tuple(expected)
        text = screen_text(app)
        assert "champion: v4 -> v5" in text and all(w in text for w in expected), text
        await pilot.press("escape")


def test_a_prompt_suspect_names_no_model_version():
    """"prompt_version v3 first served" is a prompt's version: a promotion of model v3 is not its suspect."""
    from datetime import datetime

    from console.actions.plan import suspect_versions
    from console.analytics.findings import Suspect

    class _Incident:
        suspects = (Suspect("prompt", datetime(2026, 11, 30), "prompt_version v3 first served (63% of requests)"),
                    Suspect("deployment", datetime(2026, 11, 30), "deploy v5 in production (direct, 100%) by sam"))

    assert suspect_versions(_Incident()) == {"5"}


def test_a_staging_promote_is_not_warned_of_production_suspects(ws, monkeypatch, capsys):
    """The open incidents suspect the v5 deploys in production (their suspects say "in production"): promoting
    v5 in staging (after rolling staging back to v4) moves no production alias, so it gets no warning."""
    expected = expected_warnings(ws, "5")
    assert expected  # production's suspects name v5
    svc = service(ws)
    svc.refresh()
    named = {s.detail.split(" in ")[1].split()[0] for f in svc.findings() if f.model == "delivery-eta" and f.firing
             for s in f.suspects if " v5 in " in s.detail}
    assert named == {"production"}  # by hand, from the suspects' own words
    monkeypatch.setattr(cli_actions, "make_service", lambda cfg: Service(cfg, clock=lambda: demo_now(ws)))
    toml = str(ws / "mlops-console.toml")
    assert main(["--config", toml, "rollback", "delivery-eta", "--env", "staging", "--reason", "qa", "--yes"]) == 0
    capsys.readouterr()
    assert main(["--config", toml, "promote", "delivery-eta", "5", "--env", "staging", "--reason", "qa", "--yes",
                 "--format", "json"]) == 0
    out = capsys.readouterr()
    assert "WARNING" not in out.err and json.loads(out.out)["plan_warnings"] == []


def test_a_suspect_counts_in_its_own_environment():
    """A v5 staged in staging is no suspect of a production promote; a deploy naming no environment counts anywhere."""
    from console.actions.plan import suspect_versions
    from console.analytics.findings import Suspect

    class _Incident:
        suspects = (Suspect("deployment", datetime(2026, 11, 30), "deploy v5 in staging (direct, 100%) by sam"),
                    Suspect("deployment", datetime(2026, 11, 30), "deploy v6 in production: rollout"),
                    Suspect("alias", datetime(2026, 11, 30), "promote v7 by ci"))

    assert suspect_versions(_Incident(), "production") == {"6", "7"}
    assert suspect_versions(_Incident(), "staging") == {"5", "7"}
    assert suspect_versions(_Incident()) == {"5", "6", "7"}
