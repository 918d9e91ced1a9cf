"""An action asked of a view of the past is refused by both doors alike, and recorded alike: the TUI's past view
refused a rollback and audited the refusal (the service's plan, `Service.plan_action`), while the CLI refused
`--at T rollback` as a usage error (exit 2) and recorded nothing. Now the CLI moves its service to `--at` as the
TUI's `[` moves the app, and the one plan-and-gate path refuses and records it: the same audit record, exit 1
(refused, from the one exit-code table)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from console import exit_codes
from console.actions import audit
from console.cli import main
from console.config import parse_file
from console.service import Service
from console.ui.app import ConsoleApp
from console.ui.screens.overview import OverviewScreen
from demo_copy import demo_at
from ui_fixtures import until

MODEL = "delivery-eta"
SAME = ("phase", "action", "model", "environment", "outcome", "message")  # what the refusal says; not when or who


@pytest.fixture
def ws(tmp_path) -> Path:
    """A private copy of the demo workspace (its registry and audit trail) for one test."""
    return demo_at(tmp_path / "ws").parent


def _refusals(ws: Path) -> list[dict]:
    return [r for r in audit.read(ws / "audit.jsonl") if r.get("phase") == "refused"]


async def test_both_doors_record_an_action_from_the_past_alike(ws, capsys, monkeypatch):
    cfg = parse_file(ws / "mlops-console.toml")
    now = datetime.fromisoformat(json.loads((ws / "tour.json").read_text())["now"].rstrip("Z"))
    svc = Service(cfg, clock=lambda: now)
    svc.findings = lambda max_age_s=None: []  # incidents are the monitoring tests' business
    app = ConsoleApp(cfg, service=svc, poll=False)
    before = len(_refusals(ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None, "overview")
        await pilot.press("slash", *MODEL, "enter")
        await until(pilot, lambda: (app.screen.context() or ("",))[0] == MODEL, f"{MODEL} selected")
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: app.at is not None, "a view of the past")
        at = app.at
        await pilot.press("R")  # hidden from the footer in the past, still pressed: refused and audited
        await until(pilot, lambda: len(_refusals(ws)) == before + 1, "the TUI's refusal audited")
    tui = _refusals(ws)[-1]
    assert "not live" in tui["message"] and tui["action"] == "rollback" and tui["model"] == MODEL

    monkeypatch.setenv("XDG_CACHE_HOME", str(ws / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(ws / "state"))
    capsys.readouterr()
    code = main(["--config", str(ws / "mlops-console.toml"), "--at", f"{at.isoformat()}Z", "rollback", MODEL,
                 "--yes", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == exit_codes.REFUSED, (out, err)
    said = json.loads(out)
    assert said["status"] == "refused" and said["exit_code"] == exit_codes.REFUSED
    assert len(_refusals(ws)) == before + 2
    cli = _refusals(ws)[-1]
    assert {k: cli.get(k) for k in SAME} == {k: tui.get(k) for k in SAME}
    assert audit.verify(ws / "audit.jsonl").ok


def test_an_unreadable_at_is_still_a_usage_error_and_recorded_nowhere(ws, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(ws / "cache"))
    before = _refusals(ws)
    for argv in (["--at", "not-a-time"], ["--at", "2026-12-01T00:00Z", "--since", "garbage"], ["--since", "1d"]):
        code = main(["--config", str(ws / "mlops-console.toml"), *argv, "rollback", MODEL, "--yes"])
        assert code == exit_codes.USAGE, (argv, capsys.readouterr())
    assert _refusals(ws) == before
