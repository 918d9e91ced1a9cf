"""An incident ends only on evidence of recovery. A canary failing a steady 8 % of requests (8x a 1 % error
budget, over the default burn threshold of 6) was split into several incidents: one hour at 5 % (burn 5, whose
95 % interval still reaches 10) "resolved" it and the next hour paged again, under a new id that needed a new
ack. The burn rate and the error rate now end a run only when their whole interval is clear of the threshold;
the intervals here are computed by hand from the Wilson formula with SciPy's normal quantile."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import pytest
from scipy import stats

from console.analytics import evidence as ev
from console.config import parse_file
from console.service import Service

START = datetime(2026, 11, 20)
PER_HOUR = 120  # a row every 30 s
BAD = (START + timedelta(hours=12), START + timedelta(hours=36))
DIP = (START + timedelta(hours=24), START + timedelta(hours=25))  # 5 % errors: burn 5, under the threshold
END = START + timedelta(hours=44)


def _error(i: int, ts: datetime) -> bool:
    if DIP[0] < ts <= DIP[1]:
        return i % 20 == 0  # 6 of 120
    if BAD[0] < ts <= BAD[1]:
        return i % 25 in (0, 12)  # 8 %
    return False


def _workspace(tmp, extra: str) -> None:
    rows = []
    for i in range(44 * PER_HOUR):
        ts = START + timedelta(seconds=30 * (i + 1))
        rows.append({"ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "model": "can", "version": "1", "request_id": f"r{i}",
                     "x": float(i % 7), "prediction": "1", "latency_ms": 40.0,
                     "status": "error" if _error(i, ts) else "ok"})
    (tmp / "pred.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "pred.jsonl"\n'
        '[models.can]\ntask = "classification"\nfeatures = ["x"]\n'
        '[models.can.slo]\np95_ms = 300\nerror_rate = 0.01\n' + extra, encoding="utf-8")


def _burns(tmp, end: datetime) -> list:
    """The SLO burn incidents of the workspace in `tmp` as of `end`."""
    svc = Service(parse_file(tmp / "console.toml"), clock=lambda: end)
    try:
        svc.refresh()
        return [f for f in svc.monitor.findings(at=end) if f.rule == "default: SLO burn" and f.onset]
    finally:
        svc.close()


def _wilson_high(k: int, n: int) -> float:
    z = stats.norm.ppf(0.975)
    p = k / n
    return (p + z * z / (2 * n) + z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)


def test_the_dip_is_under_the_threshold_but_not_evidence_of_recovery():
    """The planted hour as the rule sees it: its point burn under 6, its upper bound far past it."""
    assert 6 / 120 / 0.01 < 6 < _wilson_high(6, 120) / 0.01
    low, high = ev.burn_bounds(6, 120, 0, 120, 0.01, 0.05)
    assert high == pytest.approx(_wilson_high(6, 120) / 0.01, rel=1e-12)
    e = ev.rate_evaluation(DIP[0], DIP[1], 120, 0.05 / 0.01, ">", 6.0, 100, bounds=(low, high))
    assert e.breach is False and not e.settled
    # a clean hour is evidence: 0 of 120 has an upper bound of 3.1 % (burn 3.1)
    assert ev.rate_evaluation(DIP[0], DIP[1], 120, 0.0, ">", 6.0, 100, bounds=ev.burn_bounds(0, 120, 0, 120, 0.01,
                                                                                             0.05)).settled


@pytest.mark.parametrize("extra", ["", "[rollups]\nmin_rows = 10\n"], ids=["raw", "rollups"])
def test_a_steady_burn_with_a_noisy_hour_is_one_incident_that_ends_when_the_errors_stop(tmp_path, extra):
    _workspace(tmp_path, extra)
    burns = _burns(tmp_path, END)
    assert len(burns) == 1, [(f.onset, f.end, f.evidence) for f in burns]
    (burn,) = burns
    # the clean hour and the first bad one (9 errors in 120 rows) are too few rows for a shift the CUSUM's
    # largest excursion tells from noise (its tail 0.008 > 0.003): the onset is the first breaching window's start,
    # BAD[0] itself, the bad stretch's planted start (it was the first error, 12:05:30)
    assert BAD[0] <= burn.onset <= BAD[0] + timedelta(hours=2)
    # resolved once an hour of clean rows holds at most 1 error of 120 (upper bound 5.4 % < 6 %): from the
    # first window that reaches one row past the bad stretch's last error to a whole clean hour after it
    assert burn.end is not None and BAD[1] < burn.end <= BAD[1] + timedelta(hours=2), burn


def test_a_tight_slo_neither_pages_on_one_error_nor_stays_firing_on_clean_windows():
    """Alerts re-probe, findings 1 and 2: against a 99.9 % SLO (a 0.1 % budget) one error in 100 rows is a burn of
    10 whose interval reaches down to 1.8: every healthy model paged; and a clean window's upper bound (3.7 %, 37x)
    could never be under 6, so the page never ended. One error is now not known yet (no page), a clean window ends
    an incident, and a canary failing 8 % of 100 requests against a 1 % budget still pages."""
    one = ev.burn_bounds(1, 100, 0, 100, 0.001, 0.05)
    assert one[0] == pytest.approx(ev.wilson(1, 100)[0] / 0.001)
    assert ev.rate_evaluation(DIP[0], DIP[1], 100, 10.0, ">", 6.0, 100, bounds=one).breach is None
    clean = ev.rate_evaluation(DIP[0], DIP[1], 100, 0.0, ">", 6.0, 100, bounds=ev.burn_bounds(0, 100, 0, 100, 0.001,
                                                                                            0.05))
    assert clean.breach is False and clean.high > 6 and clean.settled
    canary = ev.rate_evaluation(DIP[0], DIP[1], 100, 8.0, ">", 6.0, 100, bounds=ev.burn_bounds(8, 100, 0, 100, 0.01,
                                                                                             0.05))
    assert canary.breach is True and 3 < canary.low < 6  # past the threshold, its interval reaching under it


@pytest.mark.parametrize("extra", ["", "[rollups]\nmin_rows = 10\n"], ids=["raw", "rollups"])
def test_an_outage_against_a_tight_slo_ends_when_its_errors_stop(tmp_path, extra):
    rows, t, i = [], START, 0
    while t < START + timedelta(hours=12):
        bad = START + timedelta(hours=4) < t <= START + timedelta(hours=6)
        rows.append({"ts": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "model": "s", "version": "1", "request_id": f"r{i}",
                     "prediction": "1", "latency_ms": 40.0, "status": "error" if bad and i % 5 == 0 else "ok"})
        t, i = t + timedelta(seconds=12), i + 1  # 300 an hour
    (tmp_path / "pred.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "pred.jsonl"\n[models.s]\n'
        'task = "classification"\n[models.s.slo]\np95_ms = 300\nerror_rate = 0.001\n' + extra, encoding="utf-8")
    burns = _burns(tmp_path, START + timedelta(hours=12))
    assert len(burns) == 1 and burns[0].end is not None, [(f.onset, f.end, f.evidence) for f in burns]
    assert burns[0].end <= START + timedelta(hours=8)  # two clean hours at most after the errors stopped
