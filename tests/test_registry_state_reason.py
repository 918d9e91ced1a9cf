"""The registry's state says why it is down, the same whichever read found it first. A registry read that fails
opens a breaker: the next reads within its cooldown fail at once with "(not asked again for 15 s: it failed 0 s
ago)". When a worker had read the aliases first, the registry check's state carried that suffix, and the Overview,
cutting the reason at 60 columns, said "DEGRADED (http://127.0.0.1:9 is unreachable (not asked again for 15 s:)"
(seen in a full test run, test_ui_overview). A real unreachable registry: nothing listens on port 9 here."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from console.config import parse_file
from console.service import Service
from ui_fixtures import build_workspace

FIXED = datetime(2026, 11, 20, 12, 0)


def test_the_state_after_another_read_tripped_the_breaker_is_the_reason(tmp_path):
    cfg = replace(parse_file(build_workspace(tmp_path)), tracking_uri="http://127.0.0.1:9")
    svc = Service(cfg, clock=lambda: FIXED)
    first = svc.registry_state(max_age_s=0)  # asks the registry: refused
    again = svc.registry_state(max_age_s=0)  # within the breaker's cooldown: not asked
    assert first.status == again.status == "unreachable"
    assert first.message == again.message == "registry http://127.0.0.1:9 is unreachable", (first, again)
