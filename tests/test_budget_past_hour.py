"""`check`'s budget rule projects what `cost` projects, at a past view ending inside an hour.

Found by the thirty-first session's formats probe: at `--at 12:30` of a past day the budget incident read $153
spent where `cost` and the Overview said $151.98: the rule charged the whole replica hour ($1.80) to the half hour's
requests, where every cost read prices a closed hour whole and counts the share of its requests up to `--at`
(`analytics.cost.priced_until`). The oracle is a hand count: 12 whole hours at $1.80 and 19 of the 12 o'clock
hour's 44 requests."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from console import cli

DAY = datetime(2026, 7, 19)


@pytest.mark.parametrize("min_rows", [0, 10**9], ids=["rollups", "raw"])
def test_the_budget_rule_prices_a_cut_hour_as_cost_does(tmp_path, capsys, min_rows):
    rows = []
    for hour in range(24):  # 44 requests an hour, one every 81 s from 30 s past the hour
        for i in range(44):
            t = DAY + timedelta(hours=hour, seconds=30 + 81 * i)
            rows.append({"ts": f"{t:%Y-%m-%dT%H:%M:%S}Z", "model": "fraud", "version": "3",
                         "request_id": f"r{hour}-{i}", "prediction": "0", "latency_ms": 5.0})
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = tmp_path / "mlops-console.toml"
    config.write_text(f'[store]\npath = "store"\n[rollups]\nmin_rows = {min_rows}\n'
                      '[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\n'
                      '[models.fraud]\ntask = "classification"\nbudget_usd_month = 10\n'
                      '[models.fraud.prices]\nreplica_hour_usd = 0.9\nreplicas = 2\n')
    base = ["--config", str(config), "--at", "2026-07-19T12:30Z"]
    assert cli.main([*base, "cost", "fraud", "--format", "json"]) == 0
    cost = json.loads(capsys.readouterr().out)
    before = sum(1 for i in range(44) if 30 + 81 * i <= 1800)  # the 12 o'clock hour's requests up to 12:30
    spent = 12 * 1.8 + 1.8 * before / 44
    assert before == 22 and cost["budget"]["spent_usd"] == pytest.approx(spent)
    cli.main([*base, "check", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    [budget] = [i for i in out["incidents"] if "budget" in i["rule"] and i["state"] == "firing"]
    assert budget["value"] == pytest.approx(cost["budget"]["projected_share"])
