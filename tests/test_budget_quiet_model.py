"""A budget rule fires on a model too quiet for a statistic, and `check` projects what `cost` projects.

Found by the twenty-eighth session's probe A: the budget forecast needed 50 requests in its pace day, so a costly
low-traffic model (20 requests a day at $4 each against a $100 month) never had its budget evaluated, and on a log
gone quiet `check --at T` kept the forecast of days before T ("projected $446") while `cost --at T` said $354. Spend
is a sum, not an estimate: every grid point is evaluated. The independent figure is the month's spend by hand plus
the last 24 h's spend for each remaining day.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from console.cli import main

START, QUIET = datetime(2026, 8, 1), datetime(2026, 8, 16)  # logged from the 1st; silent from the 16th
AT = datetime(2026, 8, 20)
PER_REQUEST = 4.0


@pytest.mark.parametrize("rollups", [False, True], ids=["raw", "rollups"])
def test_a_quiet_costly_model_has_its_budget_evaluated(tmp_path, capsys, rollups):
    rows, t, i = [], START, 0
    while t < QUIET:
        rows.append({"ts": t.isoformat() + "Z", "model": "m", "version": "1", "request_id": f"r{i}", "prediction": 1,
                     "latency_ms": 10.0, "cost_usd": PER_REQUEST})
        i += 1
        t = START + timedelta(hours=1.2 * i)  # 20 a day
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = ('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
              '[models.m]\nbudget_usd_month = 100.0\n')
    if rollups:
        config += "[rollups]\nmin_rows = 10\n"
    (tmp_path / "mlops-console.toml").write_text(config, encoding="utf-8")
    cfg = str(tmp_path / "mlops-console.toml")
    spent = PER_REQUEST * sum(1 for r in rows if datetime.fromisoformat(r["ts"][:-1]) <= AT)
    pace = PER_REQUEST * sum(1 for r in rows if AT - timedelta(hours=24) < datetime.fromisoformat(r["ts"][:-1]) <= AT)
    assert pace == 0.0  # silent for four days: the forecast is what was spent
    expected = (spent + pace * 11) / 100.0  # 11 more days of August after the 20th
    main(["--config", cfg, "check", "--at", AT.isoformat() + "Z", "--all", "--format", "json"])
    budget = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["kind"] == "cost_budget_share"]
    assert budget and budget[0]["state"] == "firing", budget
    assert budget[0]["value"] == pytest.approx(expected, rel=1e-9)
    assert main(["--config", cfg, "cost", "m", "--at", AT.isoformat() + "Z", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["budget"]["projected_share"] == pytest.approx(expected, rel=1e-9)
