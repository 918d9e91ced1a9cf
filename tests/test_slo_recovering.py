"""The SLO verdict never says "ok" beside the same rule's incident still firing. An incident ends only on evidence of
recovery (the whole 95 % interval inside the threshold, or the burn at most half of it), while the verdict judged the
latest window alone: after an hour at 8 % errors (1 % budget: burn 8), an hour at 5.5 % (burn 5.5, under 6, its
Wilson interval reaching 9.6) left `check`'s burn incident firing and the panels saying "SLO ok". The verdict is now
`recovering` and the panels alert. Hand counts; the intervals from scipy's Wilson interval."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from scipy.stats import binomtest

from console.cli import main
from ui_fixtures import screen_text, until

NOW = datetime(2026, 3, 10, 12, 0, 0)
AT = "2026-03-10T12:00Z"
PER_HOUR, BAD, DIP = 200, 16, 11  # requests an hour; errors in the hour at 8 %, in the last hour at 5.5 %


def _rows(start: datetime, n: int, errors: int, tag: str) -> list[dict]:
    """`n` requests spread over the hour after `start`, every (n // errors)th of the first errors * (n // errors)
    failed."""
    step, every = timedelta(hours=1) / (n + 1), n // errors if errors else n + 1
    return [{"ts": (start + step * (i + 1)).isoformat() + "Z", "model": "m", "version": "1",
             "request_id": f"{tag}{i}", "prediction": "1", "latency_ms": 20.0,
             "status": "error" if i % every == 0 and i // every < errors else "ok"} for i in range(n)]


def _workspace(root: Path, extra: str = "") -> Path:
    """Six clean hours, then 10:00-11:00 at 16 errors of 200, then 11:00-12:00 at 11 of 200."""
    rows = []
    for h in range(8, 2, -1):
        rows += _rows(NOW - timedelta(hours=h), PER_HOUR, 0, f"c{h}-")
    rows += _rows(NOW - timedelta(hours=2), PER_HOUR, BAD, "bad-")
    rows += _rows(NOW - timedelta(hours=1), PER_HOUR, DIP, "dip-")
    assert sum(r["status"] == "error" for r in rows) == BAD + DIP
    (root / "logs").mkdir(parents=True)
    (root / "logs/p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = root / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "logs/p.jsonl"\n' + extra +
                   '[models.m]\ntask = "classification"\n[models.m.slo]\nerror_rate = 0.01\n')
    return cfg


def test_the_hours_as_the_rule_reads_them():
    """By hand: the bad hour breaches (burn 8, its lower bound past half of 6); the last hour's burn is under 6 but
    its interval reaches past 6 and its value is past 3: no evidence of recovery."""
    bad, dip = (binomtest(k, PER_HOUR).proportion_ci(0.95, method="wilson") for k in (BAD, DIP))
    assert BAD / PER_HOUR / 0.01 > 6 and bad.low / 0.01 > 3
    assert DIP / PER_HOUR / 0.01 < 6 < dip.high / 0.01 and DIP / PER_HOUR / 0.01 > 3


@pytest.mark.parametrize("extra", ["", "[rollups]\nmin_rows = 10\n"], ids=["raw", "rollups"])
def test_health_is_not_ok_beside_the_firing_burn_incident(tmp_path, capsys, extra):
    cfg = str(_workspace(tmp_path, extra))
    assert main(["--config", cfg, "--at", AT, "check", "--format", "json"]) == 1
    (burn,) = [f for f in json.loads(capsys.readouterr().out)["incidents"] if f["kind"] == "burn_rate"]
    assert burn["state"] == "firing" and burn["value"] == pytest.approx(DIP / PER_HOUR / 0.01)
    assert main(["--config", cfg, "--at", AT, "health", "m", "--format", "json"]) == 0
    slo = json.loads(capsys.readouterr().out)["slo"]
    verdict = slo["verdict"]
    assert verdict["state"] == "recovering" and slo["alert"] is True, verdict
    assert verdict["incident"] == burn["id"] and "incident still firing" in verdict["note"]
    assert (verdict["requests"], verdict["burn_rate"]) == (PER_HOUR, pytest.approx(DIP / PER_HOUR / 0.01))
    ci = binomtest(DIP, PER_HOUR).proportion_ci(0.95, method="wilson")
    assert (verdict["low"], verdict["high"]) == pytest.approx((ci.low / 0.01, ci.high / 0.01), rel=1e-6)


def test_staging_has_no_incident_to_be_beside(tmp_path, capsys):
    """The incidents are production's: another environment's verdict is its window's alone."""
    cfg = _workspace(tmp_path)
    log = tmp_path / "logs/p.jsonl"
    rows = [json.loads(line) | {"environment": "staging"} for line in log.read_text().splitlines()]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["--config", str(cfg), "--at", AT, "health", "m", "--environment", "staging", "--format", "json"]) == 0
    slo = json.loads(capsys.readouterr().out)["slo"]
    assert (slo["verdict"]["state"], slo["verdict"]["incident"], slo["alert"]) == ("ok", None, False)


def _line(app, head: str) -> str:
    return next((row for row in screen_text(app).splitlines() if row.lstrip().startswith(head)), "")


async def test_the_model_page_and_health_say_recovering_not_ok(tmp_path):
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from console.ui.screens.health import HealthScreen
    from console.ui.screens.model import ModelScreen

    cfg = parse_file(_workspace(tmp_path))
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: NOW), poll=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the overview")
        page = ModelScreen(model="m", environment="production")
        await app.push_screen(page)
        await until(pilot, lambda: "SLO " in _line(app, "HEALTH"), "the model page's health", rounds=2000)
        health = _line(app, "HEALTH")
        assert "SLO firing, recovering: burn 5.50x" in health and "SLO ok" not in health, health
        screen = HealthScreen(model="m", environment="production")
        await app.push_screen(screen)
        await until(pilot, lambda: "health" in screen.loaded and _line(app, "errors"), "Health's SLO", rounds=2000)
        errors = _line(app, "errors")
        assert "SLO firing, recovering: burn 5.50x over 1h" in errors and " ok" not in errors, errors


@pytest.mark.parametrize("extra", ["", "[rollups]\nmin_rows = 10\n"], ids=["raw", "rollups"])
def test_the_verdict_reads_the_findings_held_for_its_view(tmp_path, extra):
    """The TUI's monitor pass at a time cursor has already evaluated every rule at that `now` of that store: the SLO
    verdict reads whether the burn incident fires from it, evaluating no rule again (it evaluated the burn rule a
    second time, 0.1-0.3 s of the panel), and says what it says computed afresh (a Service of its own). A view
    moved, or a refresh, is another state: evaluated again. Passes counted by the evaluator (`passes`)."""
    from console.config import parse_file
    from console.service import Service

    cfg = parse_file(_workspace(tmp_path, extra))
    alone = Service(cfg, clock=lambda: NOW)
    alone.refresh()
    fresh = alone.health("m")["slo"]
    assert alone.monitor.incident_rules.passes == 1  # the burn rule's own pass, nothing held
    assert fresh.verdict.state == "recovering"

    svc = Service(cfg, clock=lambda: NOW)
    (burn,) = [f for f in svc.findings(max_age_s=0) if f.kind == "burn_rate"]
    rules = svc.monitor.incident_rules
    assert burn.firing and rules.passes == 1  # one model, every rule
    held = svc.health("m")["slo"]
    assert rules.passes == 1, "the burn rule was evaluated again beside the pass that holds it"
    assert held == fresh and held.verdict.incident == burn.id == fresh.verdict.incident

    svc.refresh()  # another state of the store (nothing new in it, but no pass was made of it)
    assert svc.health("m")["slo"] == fresh and rules.passes == 2

    earlier = NOW - timedelta(hours=3)  # the clean hours: no incident, the verdict ok
    svc.set_at(earlier)
    moved = svc.health("m")["slo"]
    assert rules.passes == 3 and (moved.verdict.state, moved.verdict.incident) == ("ok", None)
    assert not [f for f in svc.findings(max_age_s=0) if f.firing] and rules.passes == 4
    assert svc.health("m")["slo"] == moved and rules.passes == 4
