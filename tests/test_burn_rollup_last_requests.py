"""A rate window short of its 100 requests is the last 100 requests on both paths. The raw path grew the SLO burn's
1 h window back by rows, the rollups by whole hours: on a quiet model (40 requests an hour) the rollups' windows
held 110-130 requests, reached back into an outage the raw windows had left, and kept its incident firing hours
after the raw path resolved it (h8's probe: 6 burn incidents raw, 3 from the rollups, one still firing). The hour
a window grows back into last is now cut at the row from its raw rows.

The fleet: a request every 90 s (40 an hour), 40 ms each, every request failing in (07:00, 07:45]; now 10:15.
Hand counts: the latest window (09:15, 10:15] holds 40 requests, grown back to the last 100 (2.5 h), from 07:46:30:
none failing, burn 0. The rollups' whole hours gave (07:00, 10:15]: 130 requests, 30 failing, burn 23x: firing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from console.config import parse_file
from console.service import Service

START = datetime(2026, 11, 20)
STEP = timedelta(seconds=90)
OUTAGE = (START + timedelta(hours=7), START + timedelta(hours=7, minutes=45))
NOW = START + timedelta(hours=10, minutes=15)


def _workspace(tmp, extra: str) -> None:
    rows, i = [], 0
    while START + STEP * (i + 1) <= NOW:
        ts = START + STEP * (i + 1)
        rows.append({"ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "model": "q", "version": "1", "request_id": f"r{i}",
                     "prediction": "1", "latency_ms": 40.0,
                     "status": "error" if OUTAGE[0] < ts <= OUTAGE[1] else "ok"})
        i += 1
    (tmp / "pred.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "pred.jsonl"\n[models.q]\n'
        'task = "classification"\n[models.q.slo]\np95_ms = 300\nerror_rate = 0.01\n' + extra, encoding="utf-8")


@pytest.mark.parametrize("extra", ["", "[rollups]\nmin_rows = 10\n"], ids=["raw", "rollups"])
def test_the_latest_burn_window_is_the_last_100_requests_and_the_outage_resolved(tmp_path, extra):
    _workspace(tmp_path, extra)
    svc = Service(parse_file(tmp_path / "console.toml"), clock=lambda: NOW)
    try:
        svc.refresh()
        mon = svc.monitor
        burns = [f for f in mon.findings(at=NOW) if f.rule == "default: SLO burn" and f.onset]
        verdict = mon.incident_rules.burn_now("q", NOW)
        if extra:  # the rollups were read, not the raw path's rows alone
            assert mon.incident_rules._rules_from_rollups("q", mon.history_start(NOW), NOW, quality=False)
    finally:
        svc.close()
    # the last 100 requests: from 07:46:30 (the window opens a microsecond before it) to 10:15, none failing
    first = START + timedelta(hours=7, minutes=46, seconds=30)
    assert verdict.requests == 100 and verdict.start == first - timedelta(microseconds=1)
    assert verdict.burn_rate == 0.0 and verdict.state == "ok" and verdict.incident is None, verdict
    # one incident: 100 requests are 2.5 h; the windows ending 08:00 and 09:00, (05:30, 08:00] and (06:30, 09:00],
    # hold the 30 failing (30x), 10:00's (07:30, 10:00] 10 of them (10x), and 10:15's none: resolved at 10:15
    assert len(burns) == 1, [(f.id, f.onset, f.end) for f in burns]
    (burn,) = burns
    assert not burn.firing and burn.end == NOW
    assert OUTAGE[0] < burn.onset <= OUTAGE[1]
