"""A source's regular quiet is not an outage. The stale rule allows 10x the source's 95th-percentile gap (at least
15 min), and a source logging only in business hours, or in a 10-minute batch each hour, has a p95 gap of
seconds: it paged every night and for 35 minutes of every hour. A silence the source also kept on the same clock
a day or a week before is now its rhythm; one longer than that by the allowed gap is still stale."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from console.config import parse_file
from console.service import Service

FIRST = datetime(2026, 11, 2)  # a Monday
DIED = datetime(2026, 11, 20, 20)  # the business-hours source's last row: Friday 20:00
BATCH_END = datetime(2026, 11, 23, 10, 10)  # the batch source's last batch: Monday 10:00-10:10
NIGHTLY = (datetime(2026, 11, 21, 2), datetime(2026, 11, 22, 2))  # a new nightly batch's two nights, 02:00-02:10


def _rows():
    day = FIRST
    while day < DIED:
        if day.weekday() < 5:
            t = day + timedelta(hours=8)
            while t <= day + timedelta(hours=20):  # every 2 minutes, 08:00-20:00
                yield {"ts": t, "model": "biz"}
                t += timedelta(minutes=2)
        day += timedelta(days=1)
    t = FIRST  # 24/7 every 2 minutes, down 01:00-07:00 on the 10th, dead from 01:58 on the 17th (a week later)
    while t < datetime(2026, 11, 17, 2):
        if not datetime(2026, 11, 10, 1) <= t < datetime(2026, 11, 10, 7):
            yield {"ts": t, "model": "flaky"}
        t += timedelta(minutes=2)
    hour = datetime(2026, 11, 16)
    while hour < BATCH_END:
        for s in range(0, 601, 10):  # a batch at :00 of every hour, a row every 10 s for 10 minutes
            yield {"ts": hour + timedelta(seconds=s), "model": "batch"}
        hour += timedelta(hours=1)
    for night in NIGHTLY:
        for s in range(0, 601, 10):
            yield {"ts": night + timedelta(seconds=s), "model": "nightly"}


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stale-rhythm")
    with (tmp / "pred.jsonl").open("w") as f:
        for i, r in enumerate(sorted(_rows(), key=lambda r: r["ts"])):
            f.write(json.dumps({"ts": f"{r['ts']:%Y-%m-%dT%H:%M:%SZ}", "model": r["model"], "version": "1",
                                "request_id": f"r{i}", "x": 1.0, "prediction": "1", "latency_ms": 40.0,
                                "status": "ok"}) + "\n")
    (tmp / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "pred.jsonl"\n'
        '[models.biz]\nfeatures = ["x"]\n[models.batch]\nfeatures = ["x"]\n[models.flaky]\nfeatures = ["x"]\n'
        '[models.nightly]\nfeatures = ["x"]\n',
        encoding="utf-8")
    service = Service(parse_file(tmp / "console.toml"), clock=lambda: datetime(2026, 11, 24))
    service.refresh()
    yield service
    service.close()


def _stale(svc, model: str, at: datetime) -> bool:
    return any(f.kind == "stale_minutes" and f.model == model for f in svc.monitor.findings(at=at))


@pytest.mark.parametrize("at, stale", [
    (datetime(2026, 11, 17, 3), False),  # a Tuesday night: quiet on Monday night too
    (datetime(2026, 11, 19, 7, 50), False),  # before opening
    (datetime(2026, 11, 21, 10), False),  # a Saturday: quiet the Saturday before (the daily look sees Friday)
    (datetime(2026, 11, 23, 7, 50), False),  # Monday before opening, quiet since Friday, as a week before
    (datetime(2026, 11, 23, 8, 40), True),  # Monday 40 minutes after opening time with no row: an outage
], ids=["night", "before-opening", "saturday", "monday-early", "monday-late"])
def test_a_business_hours_source_is_stale_only_past_its_rhythm(svc, at, stale):
    assert _stale(svc, "biz", at) is stale


@pytest.mark.parametrize("at, stale", [
    (datetime(2026, 11, 23, 10, 45), False),  # between batches: 35 minutes quiet, as every hour
    (datetime(2026, 11, 23, 11, 10), False),  # the 11:00 batch 10 minutes late, within the 15 allowed
    (datetime(2026, 11, 23, 11, 20), True),  # 20 minutes late
], ids=["between", "late-within", "late-past"])
def test_a_batch_source_is_stale_only_when_a_batch_is_late_past_the_allowed_gap(svc, at, stale):
    assert _stale(svc, "batch", at) is stale


@pytest.mark.parametrize("at, stale", [
    (datetime(2026, 11, 21, 14), True),  # its first day: no night before it, so nothing says the quiet is its rhythm
    (datetime(2026, 11, 22, 14), False),  # its second day: as quiet on the same clock the day before
    (datetime(2026, 11, 23, 4), True),  # its third night's batch two hours late
], ids=["first-day", "second-day", "third-night-late"])
def test_a_new_nightly_batch_is_usual_from_its_second_day(svc, at, stale):
    """A rhythm needed the same quiet a day and two days before: a nightly batch in its second day has no day two
    days back, and was stale all that day. A lag before the source's first row now says nothing either way."""
    assert _stale(svc, "nightly", at) is stale


def test_one_earlier_outage_at_the_same_hour_is_no_rhythm(svc):
    """Alerts re-probe, finding 3: a 24/7 source that died at the hour it had once failed (a week before) was
    excused for 5.5 h: one quiet day a week back was taken for a rhythm. A rhythm is now the same quiet twice
    running (a day and two days before, or a week and two weeks before)."""
    assert _stale(svc, "flaky", datetime(2026, 11, 17, 3))




@pytest.fixture(scope="module", params=["", "[rollups]\nmin_rows = 1\n"], ids=["raw", "rollups"])
def rare(tmp_path_factory, request):
    """A model used about twice a day at random (exponential gaps, mean 12 h) for 60 days: a dozen requests in
    the default 7-day history, fewer than the 20 gaps its usual gap is measured on, about 120 in all."""
    import numpy as np

    tmp = tmp_path_factory.mktemp("stale-rare")
    rng = np.random.default_rng(3)
    t, times = datetime(2026, 9, 20), []
    while t < datetime(2026, 11, 19):
        times.append(t)
        t += timedelta(minutes=int(rng.exponential(12 * 60)) + 1)
    with (tmp / "pred.jsonl").open("w") as f:
        for i, ts in enumerate(times):
            f.write(json.dumps({"ts": f"{ts:%Y-%m-%dT%H:%M:%SZ}", "model": "rare", "version": "1",
                                "request_id": f"r{i}", "x": 1.0, "prediction": "1", "latency_ms": 40.0,
                                "status": "ok"}) + "\n")
    (tmp / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "pred.jsonl"\n'
        '[models.rare]\nfeatures = ["x"]\n' + request.param, encoding="utf-8")
    service = Service(parse_file(tmp / "console.toml"), clock=lambda: datetime(2026, 12, 31))
    service.refresh()
    yield service, times
    service.close()


def test_a_rarely_used_model_is_stale_past_its_usual_gap_read_back_past_the_history(rare):
    """Alerts that can fire, on odd models: a model used twice a day has 10 gaps in a week, too few for a p95
    gap, so the rule allowed its 15-minute floor and paged (critical) 15 minutes after nearly every request,
    whatever `[rollups]` said. Its usual gap is now read back up to 90 days, as the sparse rules read their
    evidence: 10x the p95 of its gaps (numpy's, over the generated times) before it is stale."""
    import numpy as np

    svc, times = rare
    last = times[-1]
    week = [t for t in times if t > last + timedelta(hours=20) - timedelta(days=7)]
    assert len(week) - 1 < 20  # too few gaps in the history alone
    gaps = np.diff(np.array(times, dtype="datetime64[s]")).astype(float)
    allowed = timedelta(seconds=10 * float(np.quantile(gaps, 0.95, method="nearest")))
    assert allowed >= timedelta(hours=200)
    for pause in (3, 20, 48):  # an ordinary pause of a rare model (20 h: stale at the 15-minute floor)
        assert not _stale(svc, "rare", last + timedelta(hours=pause)), pause
    assert not _stale(svc, "rare", last + allowed - timedelta(hours=2))
    # dead: stale once the silence is past the allowed gap by more than it was quiet on the same clock before
    found = [f for f in svc.monitor.findings(at=last + allowed + timedelta(days=1)) if f.kind == "stale_minutes"]
    assert found and found[0].threshold == pytest.approx(allowed.total_seconds() / 60, abs=1), found
