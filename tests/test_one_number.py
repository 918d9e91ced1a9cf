"""One number, one definition, on the demo: a time the Cost screen shows for an incident is the time the
Incidents screen and `check` give it (qa9: the LLM cost spike read 'SPIKING since 11-30 18:17' on the Cost screen,
the first request after the prompt change, while Incidents and `check` said its onset was 18:16, the last
request before it)."""

from __future__ import annotations

import json

from console.cli import main
from snapshot_workspace import FIXED_NOW, demo_service, demo_workspace, make_app  # noqa: F401 - fixtures
from ui_fixtures import screen_text, until

MODEL = "support-assistant"


async def test_cost_spike_since_is_the_incidents_onset(demo_workspace, demo_service, capsys):
    from console.ui.screens.cost import CostScreen

    assert main(["--config", str(demo_workspace / "mlops-console.toml"), "--at", f"{FIXED_NOW:%Y-%m-%dT%H:%MZ}",
                 "check", "--format", "json"]) == 1
    incidents = json.loads(capsys.readouterr().out)["incidents"]
    spike = next(i for i in incidents if i["model"] == MODEL and i["kind"] == "cost_spike" and i["firing"])
    onset = spike["onset"]  # 2026-03-08T21:58:..Z
    shown = f"{onset[5:10]} {onset[11:16]}"

    app = make_app(demo_service)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the overview")
        app.open_screen("cost", model=MODEL, environment="production")
        await until(pilot, lambda: isinstance(app.screen, CostScreen) and "SPIKE" in screen_text(app), "the spike")
        line = next(t for t in screen_text(app).splitlines() if t.lstrip().startswith("SPIKE "))
        assert f"SPIKING since {shown}" in line, (line, onset)


def test_every_overview_rows_cost_is_the_cost_commands(demo_workspace, capsys):
    """COST TODAY of each (model, environment) row in `snapshot` is `cost --environment ENV`'s today (replica
    hours priced): a staging row said "-" (only the logged cost_usd, none for delivery-eta) beside the model page's
    $13.68."""
    cfg, at = str(demo_workspace / "mlops-console.toml"), f"{FIXED_NOW:%Y-%m-%dT%H:%MZ}"
    assert main(["--config", cfg, "--at", at, "snapshot", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["models"]
    staging = [r for r in rows if r["environment"] != "production"]
    assert staging and any(r["cost_usd"] for r in staging)
    for r in rows:
        assert main(["--config", cfg, "--at", at, "cost", r["name"], "--environment", r["environment"],
                     "--format", "json"]) == 0
        windows = json.loads(capsys.readouterr().out)["windows"]
        today = windows[0]["today_usd"] if windows else None
        assert (r["cost_usd"], today) == (None, None) or abs(r["cost_usd"] - today) < 1e-9, (r, today)


async def test_an_llms_quality_is_named_llm_in_the_cli_and_on_the_quality_screen(demo_workspace, demo_service, capsys):
    """An LLM's labels are scored as classes, but `quality` and the Quality screen name its task as configured
    (both said "classification" for the support assistant)."""
    from console.ui.screens.quality import QualityScreen

    cfg, at = str(demo_workspace / "mlops-console.toml"), f"{FIXED_NOW:%Y-%m-%dT%H:%MZ}"
    assert main(["--config", cfg, "--at", at, "quality", MODEL, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["now"]["task"] == "llm"
    app = make_app(demo_service)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the overview")
        app.open_screen("quality", model=MODEL, environment="production")

        def now_line() -> str:
            return next((t for t in screen_text(app).splitlines() if t.lstrip().startswith("NOW")), "")

        await until(pilot, lambda: isinstance(app.screen, QualityScreen) and "labelled" in now_line(), "quality")
        line = now_line()
        assert " llm " in f" {line} " and "classification" not in line, line
