"""Retraining recommendations from the demo's festival drift, and `auto_retrain = true` calling the retrain
webhook (a real HTTP server on 127.0.0.1) once per cool-down."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

from console.config import Webhook, parse_file
from console.service import Service
from demo_copy import demo_at
from fixed_time import DEMO_NOW


def _festival(tmp_path):
    """The demo workspace, its planted festival drift (from the tour) and a time ten hours into it."""
    config = demo_at(tmp_path / "ws")
    tour = json.loads((config.parent / "tour.json").read_text())
    festival = next(i for i in tour["incidents"] if i["kind"] == "feature_drift")
    return config, festival, datetime.fromisoformat(festival["start"].rstrip("Z")) + timedelta(hours=10)


def test_festival_drift_recommends_retraining_and_auto_retrain_calls_the_hook(tmp_path, httpserver):
    config, festival, during = _festival(tmp_path)

    httpserver.expect_request("/retrain", method="POST").respond_with_json({"job": "42"})
    cfg = replace(parse_file(config), auto_retrain=True, audit_path=tmp_path / "audit.jsonl",
                  webhooks={"retrain": Webhook(url=httpserver.url_for("/retrain"), retries=0)})
    svc = Service(cfg, clock=lambda: during)
    svc.refresh()
    svc.findings(max_age_s=0)
    assert not httpserver.log  # reading findings never writes: retraining is its own step
    recs = [r for r in svc.recommendations if r.model == festival["model"]]
    assert recs and "drift" in recs[0].reason
    assert abs(recs[0].since - datetime.fromisoformat(festival["start"].rstrip("Z"))) <= timedelta(hours=3)

    svc.auto_retrain()
    calls = [json.loads(req.get_data()) for req, _ in httpserver.log]
    assert [c["model"] for c in calls] == [festival["model"]]
    assert "auto_retrain" in calls[0]["reason"] and calls[0]["environment"] == "production"
    assert svc.auto_retrain_results[0].ok, svc.auto_retrain_results[0].message

    svc.findings(max_age_s=0)  # still drifting, but within the cool-down: no second call
    svc.auto_retrain()
    assert len(httpserver.log) == 1


def test_two_processes_deciding_at_once_call_the_retrain_hook_once(tmp_path, httpserver):
    """The TUI's monitoring timer and a cron `auto-retrain` (two Services, each its own lock file handle, as
    two processes) on the same standing recommendation: one hook call, not one each. The hook answers slowly,
    so both have read the cool-down before either call is in the audit trail."""
    import threading
    import time

    from werkzeug import Response

    config, festival, during = _festival(tmp_path)

    def slow(_request):
        time.sleep(1.0)
        return Response(json.dumps({"job": "42"}), content_type="application/json")

    httpserver.expect_request("/retrain", method="POST").respond_with_handler(slow)
    cfg = replace(parse_file(config), auto_retrain=True, audit_path=tmp_path / "audit.jsonl",
                  webhooks={"retrain": Webhook(url=httpserver.url_for("/retrain"), retries=0)})
    services = [Service(cfg, clock=lambda: during) for _ in range(2)]
    services[0].refresh()
    for svc in services:
        svc.findings(max_age_s=0)
        assert any(r.model == festival["model"] for r in svc.recommendations)

    threads = [threading.Thread(target=svc.auto_retrain) for svc in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    calls = [json.loads(req.get_data()) for req, _ in httpserver.log]
    assert [c["model"] for c in calls] == [festival["model"]]
    assert sum(len(svc.auto_retrain_results) for svc in services) == 1


def test_a_view_in_the_past_never_retrains(tmp_path, httpserver):
    """The TUI's monitoring timer runs auto-retrain on whatever the view shows: an operator who steps back to
    last week's festival (`[`, `@`, `o`) must not send a retrain request now. The command's explicit `--at`
    (`past=True`) still may."""
    config, festival, during = _festival(tmp_path)

    httpserver.expect_request("/retrain", method="POST").respond_with_json({"job": "42"})
    cfg = replace(parse_file(config), auto_retrain=True, audit_path=tmp_path / "audit.jsonl",
                  webhooks={"retrain": Webhook(url=httpserver.url_for("/retrain"), retries=0)})
    svc = Service(cfg, clock=lambda: DEMO_NOW)
    svc.refresh()
    svc.set_at(during)  # the view stepped back to the festival
    svc.findings(max_age_s=0)
    assert any(r.model == festival["model"] for r in svc.recommendations)
    assert svc.auto_retrain() == [] and not httpserver.log
    assert [r.ok for r in svc.auto_retrain(past=True)] == [True] and len(httpserver.log) == 1


def test_the_auto_retrain_command_exits_as_the_table_says(tmp_path, httpserver):
    """A retrain hook answering 500 is a remote failure (4), as `retrain MODEL` says it; `auto-retrain` exited 1,
    the code of a refusal."""
    from console import cli, exit_codes

    config, festival, during = _festival(tmp_path)
    httpserver.expect_request("/retrain", method="POST").respond_with_data("down", status=500)
    with open(config, "a") as fh:
        fh.write(f'\n[retrain]\nauto_retrain = true\n[webhooks.retrain]\nurl = "{httpserver.url_for("/retrain")}"\n'
                 "retries = 0\n")
    code = cli.main(["--config", str(config), "--at", during.isoformat() + "Z", "auto-retrain"])
    assert len(httpserver.log) == 1 and code == exit_codes.REMOTE


def test_a_retrain_that_never_started_keeps_no_cool_down(tmp_path, httpserver):
    """A refused retrain (read-only, a role) and one whose hook answered 500 ("no retrain started") are no retrain:
    the next pass calls the hook again. Both kept the 24 h cool-down, `check` still saying "retrain recommended"
    while nothing was ever asked of the training system (thirtieth session's actions probe)."""
    config, festival, during = _festival(tmp_path)
    httpserver.expect_ordered_request("/retrain", method="POST").respond_with_data("down", status=500)
    httpserver.expect_ordered_request("/retrain", method="POST").respond_with_json({"job": "42"})
    cfg = replace(parse_file(config), auto_retrain=True, audit_path=tmp_path / "audit.jsonl",
                  webhooks={"retrain": Webhook(url=httpserver.url_for("/retrain"), retries=0)})
    svc = Service(cfg, clock=lambda: during)
    svc.refresh()
    svc.findings(max_age_s=0)
    model = festival["model"]
    svc.operator.refuse("refused", "read-only mode", "retrain", model, "production")
    assert [r.status for r in svc.auto_retrain()] == ["failed"] and len(httpserver.log) == 1
    svc.auto_retrain_results.clear()
    assert [r.status for r in svc.auto_retrain()] == ["done"] and len(httpserver.log) == 2
    svc.auto_retrain_results.clear()
    assert svc.auto_retrain() == [] and len(httpserver.log) == 2  # this one started: its cool-down holds


def test_two_operators_retraining_at_once_call_the_hook_once(tmp_path, httpserver):
    """Two `retrain` commands on one model at once (two operators, or the TUI's T beside a cron `auto-retrain`):
    both exited 0 and the training system got two requests. A retrain takes the model's lock as every action does;
    the one that waited finds the other's request in the trail and stops as a conflict (exit 3)."""
    import threading
    import time

    from werkzeug import Response

    from console import exit_codes

    config = demo_at(tmp_path / "ws")

    def slow(_request):
        time.sleep(1.0)
        return Response(json.dumps({"job": "42"}), content_type="application/json")

    httpserver.expect_request("/retrain", method="POST").respond_with_handler(slow)
    cfg = replace(parse_file(config), audit_path=tmp_path / "audit.jsonl",
                  webhooks={"retrain": Webhook(url=httpserver.url_for("/retrain"), retries=0)})
    services = [Service(cfg, clock=lambda: DEMO_NOW) for _ in range(2)]
    results = []
    threads = [threading.Thread(target=lambda s=s: results.append(s.operator.retrain(
        "fraud-detector", "production", reason="drift"))) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(httpserver.log) == 1
    assert sorted(r.status for r in results) == ["conflict", "done"], [r.message for r in results]
    lost = next(r for r in results if r.status == "conflict")
    assert "requested a retrain of fraud-detector" in lost.message
    assert exit_codes.for_status(lost.status) == exit_codes.CONFLICT
