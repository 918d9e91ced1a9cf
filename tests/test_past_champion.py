"""A view of the past names the version that served then (the deployment events up to it), as Health's version
table and the LIVE column do, not the registry's champion now."""

from __future__ import annotations

from datetime import datetime

from console.config import parse_file
from console.demo.workspace import build_workspace
from console.service import Service
from fixed_time import DEMO_NOW


def test_the_overview_in_the_past_names_the_champion_of_then(tmp_path):
    """support-assistant: v3 deployed on 4 March 06:00 and rolled back to v2 at 22:00 (the demo's deployment log);
    the registry's champion is v2 now. At noon on 4 March the Overview and `snapshot --at` said v2, beside the LIVE
    column that told v3's traffic."""
    config = build_workspace(tmp_path / "ws", now=DEMO_NOW)
    deploys = (config.parent / "logs" / "deployments.jsonl").read_text()
    assert '"ts": "2026-03-04T06:00:00Z", "model": "support-assistant", "version": "3"' in deploys
    svc = Service(parse_file(config), clock=lambda: DEMO_NOW)
    try:
        svc.refresh()
        live = {(r.name, r.environment): r for r in svc.snapshot(monitoring=False).rows}
        svc.set_at(datetime(2026, 3, 4, 12, 0))
        then = {(r.name, r.environment): r for r in svc.snapshot(monitoring=False).rows}
    finally:
        svc.close()
    assert live[("support-assistant", "production")].champion == "2"
    assert then[("support-assistant", "production")].champion == "3"


def test_the_slo_alert_on_the_screens_is_the_burn_rate_incident(tmp_path):
    """The demo's latency regression fires the `burn_rate` rule; Health and the model page said "SLO ok" beside it
    (they asked for both windows, the rule for the short one). The model's SLO status is the rule's verdict."""
    config = build_workspace(tmp_path / "ws", now=DEMO_NOW)
    svc = Service(parse_file(config), clock=lambda: DEMO_NOW)
    try:
        svc.refresh()
        burning = {f.model for f in svc.findings(max_age_s=0) if f.kind == "burn_rate" and f.firing}
        assert burning, "the demo's latency regression burns the error budget"
        for model in ("fraud-detector", "delivery-eta", "support-assistant"):
            slo = svc.health(model, "24h")["slo"]
            assert slo.alert == (model in burning), (model, slo.burn_rate, burning)
    finally:
        svc.close()
