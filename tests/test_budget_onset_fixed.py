"""A budget incident keeps its onset and id as the clock moves. The month-end forecast is evaluated on a grid
starting a day into the history, and the budget rule did not look back before it: once the crossing left the
7-day history the onset became the history's first evaluation, and the id moved with every `--at` (an ack by
id stopped matching; the id in a ticket no longer existed). It now looks back as the rate rules do.

The log: one request every 10 minutes through November, 2,000 input tokens at $1 per million until JUMP, then
50,000: $0.29 a day, then $7.20 a day against a $100 month. By hand, the forecast (spent so far plus the last
24 h's pace for the days left) crosses $100 a few hours after JUMP."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from console.cli import main

FIRST, LAST = datetime(2026, 11, 1), datetime(2026, 11, 30)
JUMP = datetime(2026, 11, 6, 9)


def _workspace(tmp: Path, rollups: bool) -> Path:
    rows, t, i = [], FIRST, 0
    while t <= LAST:
        rows.append(json.dumps({"ts": f"{t:%Y-%m-%dT%H:%M:%S}Z", "model": "llm", "request_id": f"r{i}",
                                "version": "1", "latency_ms": 100.0, "status": "ok", "output_tokens": 0,
                                "input_tokens": 50_000 if t >= JUMP else 2_000}))
        t, i = t + timedelta(minutes=10), i + 1
    (tmp / "preds.jsonl").write_text("\n".join(rows) + "\n")
    cfg = tmp / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\n[store]\npath = "store"\n'
                   '[models.llm]\ntask = "llm"\nbudget_usd_month = 100\n[models.llm.prices]\ninput_per_1m = 1.0\n'
                   'output_per_1m = 1.0\n' + ('[rollups]\npath = "rollups"\nmin_rows = 100\n' if rollups else ""))
    return cfg


def _forecast_crosses(at: datetime) -> bool:
    """The forecast at `at`, by hand: spent since the month's start plus the last 24 h's spend a day."""
    def spend(a: datetime, b: datetime) -> float:
        t, total = FIRST, 0.0
        while t <= b:
            if a < t:
                total += (50_000 if t >= JUMP else 2_000) / 1e6
            t += timedelta(minutes=10)
        return total
    days_left = (datetime(2026, 12, 1) - at).total_seconds() / 86400
    return spend(FIRST - timedelta(seconds=1), at) + spend(at - timedelta(days=1), at) * days_left > 100


@pytest.mark.parametrize("rollups", [False, True], ids=["raw", "rollups"])
def test_the_budget_incident_keeps_its_id_after_the_crossing_leaves_the_history(tmp_path, capsys, rollups):
    cfg = _workspace(tmp_path, rollups)
    ids = {}
    for at in ("2026-11-08T00:00Z", "2026-11-15T06:00Z", "2026-11-20T12:00Z", "2026-11-29T21:00Z"):
        code = main(["--config", str(cfg), "check", "--all", "--format", "json", "--at", at])
        incidents = json.loads(capsys.readouterr().out)["incidents"]
        budget = [i for i in incidents if i["rule"] == "default: budget" and i["state"] == "firing"]
        assert code == 1 and len(budget) == 1, incidents
        ids[at] = (budget[0]["id"], budget[0]["onset"])
    assert len(set(ids.values())) == 1, ids
    onset = datetime.fromisoformat(next(iter(ids.values()))[1].replace("Z", ""))
    # the onset is the first grid point (3 h) whose forecast crosses, the one before it does not
    assert _forecast_crosses(onset) and not _forecast_crosses(onset - timedelta(hours=3)), onset
    assert JUMP < onset < JUMP + timedelta(days=1)


def test_a_history_shorter_than_a_day_still_forecasts_the_budget(tmp_path, capsys):
    """Alerts re-probe, finding 6: the forecast's first evaluation was a day into the history, so `check --since`
    a few hours back said "no budget or no spend" and exited 0 while the forecast was past the budget."""
    cfg = _workspace(tmp_path, False)
    at = "2026-11-20T12:00Z"
    assert main(["--config", str(cfg), "check", "--all", "--format", "json", "--at", at]) == 1
    week = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["rule"] == "default: budget"]
    assert main(["--config", str(cfg), "check", "--all", "--format", "json", "--at", at,
                 "--since", "2026-11-20T09:00Z"]) == 1
    short = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["rule"] == "default: budget"]
    assert [i["state"] for i in short] == ["firing"] and short[0]["id"] == week[0]["id"], (short, week)
    assert _forecast_crosses(datetime(2026, 11, 20, 12))
