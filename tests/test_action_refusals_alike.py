"""A refusal decided in the TUI's confirmation dialog is recorded as the CLI records the same refusal: found by the
thirty-eighth session's CLI/TUI differential probe of the actions (identical copies of the demo workspace, one per
door, the same clock).

- Gates failing, not forced: the CLI's `refused` record carries the operator's `--reason`; the dialog's carried none,
  though the operator had typed one (the README: "A refusal records the reason the operator gave (`--reason`, the
  dialog's)").
- A plan that changes nothing because another operator has just made that very change (v4 made champion by priya 30 s
  ago): the CLI says a conflict, exit 3, naming who and when, and records `outcome: conflict`; the dialog recorded a
  plain `refused` with the bare "v4 is already champion". The service now classifies a dialog's blocked plan as the
  CLI's preflight does (`Operator.conflict_or_blocked`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path


from console import cli, cli_actions
from console.actions import audit
from console.config import parse_file
from console.service import Service
from demo_copy import demo_at
from fixed_time import DEMO_NOW
from ui_fixtures import confirm_dialog, dialog_ready, until

MODEL = "fraud-detector"
REASON = "probe: same reason at both doors"




def _service(cfg) -> Service:
    svc = Service(cfg, clock=lambda: DEMO_NOW)
    svc.findings = lambda max_age_s=None, overview=True: []  # the suspect warnings are not what is compared
    return svc


def _client(ws: Path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{ws / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _refusals(ws: Path) -> list[dict]:
    return [r for r in audit.read(ws / "audit.jsonl") if r.get("phase") == "refused"]


def _cli(ws: Path, monkeypatch, argv: list[str]) -> int:
    monkeypatch.setattr(cli_actions, "make_service", _service)
    monkeypatch.chdir(ws)
    return cli.main(["--config", str(ws / "mlops-console.toml"), *argv])


async def _tui(ws: Path, monkeypatch, environment: str, version: str) -> str:
    """The promote dialog for `version`, the reason typed, confirmed: what the dialog says."""

    from console.ui.app import ConsoleApp
    from console.ui.screens.model import ModelScreen

    monkeypatch.chdir(ws)
    cfg = parse_file(ws / "mlops-console.toml")
    app = ConsoleApp(cfg, service=_service(cfg), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(ModelScreen(MODEL, environment))
        await until(pilot, lambda: isinstance(app.screen, ModelScreen), "the model page", rounds=2000)
        flow = app.screen.flow
        flow.start("promote", environment, version)  # what P does on the Versions screen's selected row
        await until(pilot, lambda: dialog_ready(app), "the promote dialog", rounds=4000)
        dialog = app.screen
        await confirm_dialog(pilot, dialog, MODEL, REASON)
        await until(pilot, lambda: bool(_refusals(ws)) and flow.last_refusal is not None, "the refusal recorded",
                    rounds=2000)
        said = dialog.error
        await pilot.press("escape")
        await until(pilot, lambda: flow.busy is None, "the dialog closed")
    return said


async def test_a_gate_refusal_in_the_dialog_records_the_reason_typed(tmp_path, monkeypatch):
    # staging: v4 is its champion, and v3's run metrics are worse (f1, precision, recall): the metric gates fail
    by_cli, by_tui = demo_at(tmp_path / "cli").parent, demo_at(tmp_path / "tui").parent
    assert _cli(by_cli, monkeypatch, ["promote", MODEL, "3", "--env", "staging", "--reason", REASON, "--yes"]) == 1
    said = await _tui(by_tui, monkeypatch, "staging", "3")
    assert said.startswith("a gate failed"), said
    (c,), (t,) = _refusals(by_cli), _refusals(by_tui)
    assert c.get("reason") == REASON
    assert t.get("reason") == REASON, t  # the dialog's reason, as the CLI's --reason
    assert (t["outcome"], t["gates"]) == (c["outcome"], c["gates"])


def _just_made_champion(ws: Path, at: str) -> None:
    """Another operator promoted v4 at `at` (the console's own tag says who and when)."""
    client = _client(ws)
    client.set_registered_model_alias(MODEL, "champion", "4")
    client.delete_registered_model_alias(MODEL, "canary")
    client.set_registered_model_tag(MODEL, "console.last_move.champion", json.dumps(
        {"by": "priya", "at": at, "from": "3", "to": "4", "action_id": "elsewhere"}))


async def test_a_race_lost_to_the_same_change_is_a_conflict_at_both_doors(tmp_path, monkeypatch):
    by_cli, by_tui = demo_at(tmp_path / "cli").parent, demo_at(tmp_path / "tui").parent
    # one time for both workspaces: read for each, the two messages named two seconds when a second ticked between
    at = (datetime.now(timezone.utc) - timedelta(seconds=30)).isoformat(timespec="seconds").replace("+00:00", "Z")
    for ws in (by_cli, by_tui):
        _just_made_champion(ws, at)
    assert _cli(by_cli, monkeypatch, ["promote", MODEL, "4", "--reason", REASON, "--yes"]) == 3
    said = await _tui(by_tui, monkeypatch, "production", "4")
    assert said.startswith("cannot run: v4 is already champion"), said
    (c,), (t,) = _refusals(by_cli), _refusals(by_tui)
    assert c["outcome"] == "conflict" and "priya made this change" in c["message"], c
    assert t["outcome"] == "conflict", t  # was "refused", with no word of priya
    assert t["message"] == c["message"] and t.get("reason") == c.get("reason") == REASON
    for ws in (by_cli, by_tui):
        assert str(_client(ws).get_model_version_by_alias(MODEL, "champion").version) == "4"


def test_a_blocked_plan_refused_while_the_registry_is_down_is_still_recorded(tmp_path, monkeypatch):
    """Classifying the dialog's blocked plan reads the registry (who moved it, when): when it cannot answer, the
    refusal is recorded as a refusal, with the reason typed, as before the classification."""
    from console.actions.operator import Plan
    from console.config import parse
    from console.sources.registry import RegistryUnavailable

    cfg = parse({"audit": {"path": str(tmp_path / "audit.jsonl")},
                 "environments": {"production": {"production": True}}}, root=tmp_path)
    svc = Service(cfg)

    def down(plan, expected_from):
        raise RegistryUnavailable("registry http://127.0.0.1:9 is unreachable")

    monkeypatch.setattr(svc.operator, "conflict_or_blocked", down)
    plan = Plan("promote", MODEL, "production", "direct", "promote", "4", "4", "champion",
                blocked="v4 is already champion")
    result = svc.refuse_action("promote", MODEL, "production", plan.blocked, (), plan, reason=REASON)
    (rec,) = audit.read(tmp_path / "audit.jsonl")
    assert result.status == rec["outcome"] == "refused" and rec["message"] == "v4 is already champion"
    assert rec["reason"] == REASON
