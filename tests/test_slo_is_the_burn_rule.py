"""The SLO panels' verdict (model page, Health, `health`'s `slo`) is the `burn_rate` rule's evaluation of its latest
window, read back as the rule reads it. The panels judged the SLO's 1 h window alone: on a quiet model 2 errors in 30
requests (1 % objective, 6.7x) read "SLO ALERT" beside the rule's "insufficient data: 30 rows, needs 100", and a model
whose rule reached back for its 100 requests and fired read "SLO ok" (4x in its hour). Hand counts; the burn's
bounds against scipy's Wilson interval; `check` run beside."""

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


def _rows(model: str, start: datetime, end: datetime, n: int, errors: int) -> list[dict]:
    """`n` requests spread over (start, end), the first `errors` of them failed."""
    step = (end - start) / (n + 1)
    return [{"ts": (start + step * (i + 1)).isoformat() + "Z", "model": model, "version": "1",
             "request_id": f"{model}-{start:%H%M}-{i}", "prediction": "1", "latency_ms": 20.0,
             "status": "error" if i < errors else "ok"} for i in range(n)]


def _workspace(root: Path) -> Path:
    """quiet: 30 requests in the last hour, 2 failed, none before. back: 50 in the last hour, 2 failed (4x: under 6x),
    and 50 in the 5 hours before, 20 failed: the rule's window grows back to those 100 requests, 22 failed (22x).
    busy: 200 in the last hour, 20 failed (10x)."""
    hour = NOW - timedelta(hours=1)
    rows = (_rows("quiet", hour, NOW, 30, 2) + _rows("back", hour, NOW, 50, 2)
            + _rows("back", NOW - timedelta(hours=6), hour, 50, 20) + _rows("busy", hour, NOW, 200, 20))
    (root / "logs").mkdir(parents=True)
    (root / "logs/p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = root / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "logs/p.jsonl"\n' + "".join(
        f'[models.{m}]\ntask = "classification"\n[models.{m}.slo]\nerror_rate = 0.01\n' for m in ("quiet", "back", "busy")))
    return cfg


# model: (state, requests in the rule's window, errors in it, requests in the 1 h window, errors in it)
EXPECTED = {"quiet": ("insufficient", 30, 2, 30, 2), "back": ("alert", 100, 22, 50, 2), "busy": ("alert", 200, 20, 200, 20)}


def test_health_json_is_the_rules_verdict_beside_check(tmp_path, capsys):
    cfg = str(_workspace(tmp_path))
    assert main(["--config", cfg, "--at", AT, "check", "--format", "json", "--all"]) == 1
    burn = {f["model"]: f for f in json.loads(capsys.readouterr().out)["incidents"] if f["kind"] == "burn_rate"}
    for model, (state, n, errors, short_n, short_errors) in EXPECTED.items():
        assert main(["--config", cfg, "--at", AT, "health", model, "--format", "json"]) == 0
        slo = json.loads(capsys.readouterr().out)["slo"]
        verdict = slo["verdict"]
        assert (slo["error_short"]["requests"], slo["error_short"]["window"]) == (short_n, "1h")
        assert slo["error_short"]["burn_rate"] == pytest.approx(short_errors / short_n / 0.01)  # context, as before
        assert verdict["state"] == state and verdict["requests"] == n, (model, verdict)
        assert slo["alert"] is (state == "alert") and slo["error_alert"] is (state == "alert")
        assert (burn[model]["state"] == "firing") is (state == "alert"), (model, burn[model])
        if state == "insufficient":
            assert verdict["burn_rate"] is None and burn[model]["state"] == "insufficient data"
            assert verdict["note"] == "30 rows, needs 100" and verdict["note"] in burn[model]["detail"]
            continue
        assert verdict["burn_rate"] == pytest.approx(errors / n / 0.01)
        ci = binomtest(errors, n).proportion_ci(0.95, method="wilson")
        assert (verdict["low"], verdict["high"]) == pytest.approx((ci.low / 0.01, ci.high / 0.01), rel=1e-3)
        assert verdict["end"] == "2026-03-10T12:00:00Z"


def _line(app, head: str) -> str:
    return next((row for row in screen_text(app).splitlines() if row.lstrip().startswith(head)), "")


@pytest.mark.parametrize("model", ["quiet", "back", "busy"])
async def test_the_model_page_and_health_say_the_rules_verdict(tmp_path, model):
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from console.ui.screens.health import HealthScreen
    from console.ui.screens.model import ModelScreen

    cfg = parse_file(_workspace(tmp_path))
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: NOW), poll=False)
    state = EXPECTED[model][0]
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the overview")
        page = ModelScreen(model=model, environment="production")
        await app.push_screen(page)
        # the first look may read before the log is in: its line says "no requests" until the read lands
        await until(pilot, lambda: "SLO " in _line(app, "HEALTH"), "the model page's health", rounds=2000)
        health = _line(app, "HEALTH")
        said = {"insufficient": "SLO insufficient data: 30 rows, needs 100", "alert": "SLO ALERT"}[state]
        assert said in health and ("SLO ALERT" in health) is (state == "alert"), health
        if model == "back":  # the rule's window is named: its 100 requests reach back before the hour
            assert "SLO ALERT (last 100 req, " in health, health
        screen = HealthScreen(model=model, environment="production")
        await app.push_screen(screen)
        await until(pilot, lambda: "health" in screen.loaded and _line(app, "errors"), "Health's SLO", rounds=2000)
        errors = _line(app, "errors")
        if state == "insufficient":
            assert "insufficient data: 30 rows, needs 100" in errors and "ALERT" not in errors, errors
        else:
            assert ("ALERT: burning over 1h" if model == "busy" else "ALERT: burning (last 100 req, ") in errors, errors


def test_a_model_read_from_rollups_is_judged_on_the_rules_window(tmp_path, capsys):
    """Past `[rollups] min_rows` rows the rule reads hourly rollups, and its window is the raw path's last 100 requests:
    30 in the last hour, 7 failed, after hours of 100 clean ones, are 7 errors in 100 requests (7x) on both paths.
    The rollups grew it by whole hours to 130 requests (5.4x: no incident) where the raw path fired; the panel
    follows the rule's window on either path."""
    rows = _rows("m", NOW - timedelta(hours=1), NOW, 30, 7)
    for h in range(2, 74):
        rows += _rows("m", NOW - timedelta(hours=h), NOW - timedelta(hours=h - 1), 100, 0)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs/p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    burns = {}
    for min_rows in (1000, 10**9):  # rollups, raw
        cfg = tmp_path / f"c{min_rows}.toml"
        cfg.write_text(f'[store]\npath = "store{min_rows}"\n[rollups]\npath = "rollups{min_rows}"\n'
                       f'min_rows = {min_rows}\n'
                       '[[logs]]\nkind = "predictions"\npath = "logs/p.jsonl"\n'
                       '[models.m]\ntask = "classification"\n[models.m.slo]\nerror_rate = 0.01\n')
        assert main(["--config", str(cfg), "--at", AT, "check", "--format", "json", "--all"]) == 1
        burns[min_rows] = [(f["id"], f["firing"]) for f in json.loads(capsys.readouterr().out)["incidents"]
                           if f["kind"] == "burn_rate"]
        assert main(["--config", str(cfg), "--at", AT, "health", "m", "--format", "json"]) == 0
        slo = json.loads(capsys.readouterr().out)["slo"]
        verdict = slo["verdict"]
        # the last 70 of the hour before's 100 requests (the 31st of them first) and the last hour's 30
        first = NOW - timedelta(hours=2) + timedelta(hours=1) / 101 * 31
        assert (verdict["state"], verdict["requests"]) == ("alert", 100)
        assert datetime.fromisoformat(verdict["start"].replace("Z", "")) == first - timedelta(microseconds=1)
        assert verdict["burn_rate"] == pytest.approx(7 / 100 / 0.01) and slo["alert"] is True
    assert burns[1000] == burns[10**9] and [firing for _, firing in burns[1000]] == [True]
