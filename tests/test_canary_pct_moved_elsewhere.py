"""The canary's traffic when another tool moved the canary after the console did: the deployment log's events, newer
than the console's last move of it, win over the console's own `console.canary_pct` tag. The tag's 50 % stayed when
CI ended the canary and started it again at 10 %, and one `canary step` took real traffic from 10 % to 100 % (the
action probe's finding 1), while the Overview said 10 %."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from console.cli import main
from test_ui_actions import client, ws  # noqa: F401 - fixtures: a private copy of the demo workspace


def _events(ws) -> list[dict]:  # noqa: F811
    return [json.loads(line) for line in (ws / "logs" / "deployments.jsonl").read_text().splitlines() if line.strip()]


def _step(ws, reason: str) -> int:  # noqa: F811
    return main(["--config", str(ws / "mlops-console.toml"), "canary", "fraud-detector", "step", "--yes", "--force",
                 "--reason", reason])


def test_a_canary_restarted_by_another_tool_steps_from_its_logged_traffic(ws, capsys):  # noqa: F811
    assert _step(ws, "to 50") == 0
    assert _events(ws)[-1]["traffic_pct"] == 50
    # CI ends the canary and starts it again at 10 %: the alias moved outside the console, two events logged
    mlflow = client(ws)
    mlflow.delete_registered_model_alias("fraud-detector", "canary")
    mlflow.set_registered_model_alias("fraud-detector", "canary", "4")
    now = datetime.now(timezone.utc).replace(tzinfo=None)  # after the console's step, before the next one
    with (ws / "logs" / "deployments.jsonl").open("a") as f:
        for i, (action, pct) in enumerate((("abort", 0), ("deploy", 10))):
            f.write(json.dumps({"ts": f"{now + timedelta(milliseconds=i):%Y-%m-%dT%H:%M:%S.%fZ}", "model": "fraud-detector",
                                "version": "4", "environment": "production", "strategy": "canary",
                                "traffic_pct": pct, "action": action, "actor": "ci-bot", "reason": "again"}) + "\n")
    capsys.readouterr()
    assert _step(ws, "next step") == 0
    out = capsys.readouterr()
    assert "10 % -> 25 %" in out.out + out.err, out
    assert _events(ws)[-1]["traffic_pct"] == 25
