"""A retrain from the TUI (`T`) sends the evidence the dialog is about: the model's firing incidents, with the one
in view. The catalog says "Trigger the retrain pipeline with the evidence shown", the CLI sends `--evidence` and
`auto-retrain` its trigger; the TUI sent `{}` (the thirty-third session's actions probe). The hook is a real HTTP
server on 127.0.0.1 (pytest-httpserver); the plan and the run are the TUI's own worker functions."""

from __future__ import annotations

import json
from datetime import datetime

from console.actions import audit
from console.config import parse_file
from demo_copy import demo_at
from console.service import Service
from console.ui.screens.action_flow import prepare, run
from console.ui.screens.confirm import ActionChoice


def test_the_tuis_retrain_sends_the_firing_incidents(tmp_path, httpserver):
    ws = demo_at(tmp_path / "ws").parent
    httpserver.expect_request("/retrain", method="POST").respond_with_json({"run_id": "r-1"})
    config = ws / "mlops-console.toml"
    config.write_text(config.read_text() + f'\n[webhooks.retrain]\nurl = "{httpserver.url_for("/retrain")}"\n')
    cfg = parse_file(config)
    now = datetime.fromisoformat(json.loads((ws / "tour.json").read_text())["now"].rstrip("Z"))
    svc = Service(cfg, clock=lambda: now)
    try:
        svc.refresh()
        firing = [f for f in svc.findings() if f.firing]
        model = firing[0].model
        mine = [f for f in firing if f.model == model]
        ready = prepare(svc, model, "production", "retrain", None, incident=mine[0].id, incidents=firing)
        assert ready.allowed, ready.reason
        result = run(svc, ready.request, ActionChoice("", None, ready.request.reason or "drifted", False),
                     ready.planned)
        assert result.status == "done", result.message
    finally:
        svc.close()
    [body] = [req.get_json() for req, _ in httpserver.log if req.path == "/retrain"]
    sent = body["evidence"]
    assert sent["incident"] == mine[0].id
    assert [i["id"] for i in sent["incidents"]] == [f.id for f in mine]  # this model's, not the fleet's
    assert all(i["rule"] and i["severity"] and i["onset"].endswith("Z") for i in sent["incidents"])
    [record] = [r for r in audit.read(cfg.audit_path) if r.get("action") == "retrain" and r.get("phase") == "intent"]
    assert record["evidence"] == sent
