"""The SLO panel's alert is the burn rule's, and the rule needs `MIN_BUCKET_ROWS` requests in a window: on a
quiet model, 2 errors in 30 requests (a 1 % error objective: burn 6.7x over 6x) read "SLO ALERT" on the model
page and Health beside the rule's "insufficient data" and "ALERTS none firing" (the
thirty-third session's TUI probe). Now the panel says it has too few requests, `health --format json` raises no
alert there, and a window with enough requests still alerts (hand counts)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from console.incident_rules import MIN_BUCKET_ROWS
from console.cli import main
from ui_fixtures import screen_text, until

NOW = datetime(2026, 3, 10, 12, 0, 0)
AT = "2026-03-10T12:00Z"


def _workspace(root: Path, quiet: int, busy: int) -> Path:
    """`quiet`: `quiet` requests in the last hour, 2 of them errors. `busy`: `busy` requests, every tenth an error."""
    rows = []
    for model, n, bad in (("quiet", quiet, lambda i: i < 2), ("busy", busy, lambda i: i % 10 == 0)):
        for i in range(n):
            ts = NOW - timedelta(minutes=59) + timedelta(seconds=i * 3540 / n)
            rows.append({"ts": ts.isoformat() + "Z", "model": model, "version": "1", "request_id": f"{model}-{i}",
                         "prediction": "1", "latency_ms": 20.0, "status": "error" if bad(i) else "ok"})
    (root / "logs").mkdir(parents=True)
    (root / "logs/p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = root / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "logs/p.jsonl"\n'
                   '[models.quiet]\ntask = "classification"\n[models.quiet.slo]\nerror_rate = 0.01\n'
                   '[models.busy]\ntask = "classification"\n[models.busy.slo]\nerror_rate = 0.01\n')
    return cfg


def test_health_json_raises_no_slo_alert_on_too_few_requests(tmp_path, capsys):
    cfg = str(_workspace(tmp_path, 30, 2 * MIN_BUCKET_ROWS))
    for model, requests, errors, alert in (("quiet", 30, 2, False), ("busy", 200, 20, True)):
        assert main(["--config", cfg, "--at", AT, "health", model, "--format", "json"]) == 0
        slo = json.loads(capsys.readouterr().out)["slo"]
        short = slo["error_short"]
        assert (short["requests"], short["window"]) == (requests, "1h")
        assert abs(short["burn_rate"] - errors / requests / 0.01) < 1e-9  # over the 6x the alert fires at
        assert slo["error_alert"] is alert, (model, slo)


async def test_the_model_page_and_health_say_too_few_requests(tmp_path):
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from console.ui.screens.model import ModelScreen

    cfg = parse_file(_workspace(tmp_path, 30, 2 * MIN_BUCKET_ROWS))
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: NOW), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the overview")
        await pilot.press("down", "enter")  # rows sorted by name: busy, quiet
        await until(pilot, lambda: isinstance(app.screen, ModelScreen) and "BURN" in screen_text(app)
                    and "err -" not in screen_text(app), "the page")
        text = screen_text(app)
        assert "quiet" in text.splitlines()[0]
        assert "err 6.67%" in text and "SLO ALERT" not in text and "SLO n/a" in text, text
        await pilot.press("h")
        await until(pilot, lambda: "too few requests" in screen_text(app), "Health's SLO panel")
        assert "ALERT: burning" not in screen_text(app)
