"""A read command names its environment exactly, as the actions do (README, exit codes: 2 on an unknown
environment): `health MODEL --environment Production` printed an empty table and exited 0, so a typo read as
"no traffic". The environments a read may name are the configured ones and those the model's rows carry."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from console.cli import main

END = datetime(2026, 11, 20)


def _workspace(tmp):
    rows = [{"ts": (END - timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ"), "model": "m", "version": "1",
             "request_id": f"r{i}", "environment": env, "latency_ms": 10.0, "status": "ok"}
            for i in range(60) for env in ("production", "eu-canary")]
    (tmp / "pred.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp / "c.toml").write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "pred.jsonl"\n'
                                '[environments.production]\nproduction = true\n[environments.staging]\n',
                                encoding="utf-8")
    return tmp / "c.toml"


def test_a_read_refuses_an_environment_neither_configured_nor_logged(tmp_path, capsys):
    cfg = str(_workspace(tmp_path))
    at = ["--at", END.strftime("%Y-%m-%dT%H:%MZ")]
    for report in ("health", "quality", "fairness", "cost"):
        assert main(["--config", cfg, report, "m", "--environment", "Production", *at]) == 2, report
        err = capsys.readouterr().err
        assert "unknown environment 'Production'" in err and "eu-canary, production, staging" in err
    # configured (no rows: an empty window, said so), and logged without being configured: both read
    assert main(["--config", cfg, "health", "m", "--environment", "staging", *at, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["environment"] == "staging"
    assert main(["--config", cfg, "health", "m", "--environment", "eu-canary", *at, "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)["table"]
    assert row["requests"] == 60  # the hand count: 60 rows of eu-canary in the last hour
