"""A view ending inside an hour that has closed prices that hour whole: found by the twenty-eighth session's probe A.

`cost --from 09:00 --to 09:30` of a July day charged the whole replica hour to the 6 requests before 09:30 ($1.00,
where they are 6 of the hour's 16: $0.375), and the hour's second half charged $0.625: $1.625 for an hour that
costs $1. The hour the view ends in is the open one only when it has not closed on the wall clock. The independent
figure is the replica hour split over the hour's requests, by hand.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from console.cli import main

HOUR = datetime(2026, 7, 4, 9)
DAYS = 3


def _workspace(tmp_path, rollups: bool) -> tuple[str, list[datetime]]:
    times = []
    start = HOUR - timedelta(days=DAYS)
    t = start
    i = 0
    while t < HOUR + timedelta(days=1):
        times.append(t)
        i += 1
        t = start + timedelta(minutes=3.3 * i)  # not a divisor of the hour: halves of unequal counts
    rows = [{"ts": t.isoformat() + "Z", "model": "m", "version": "1", "request_id": f"r{n}", "prediction": 1,
             "latency_ms": 10.0} for n, t in enumerate(times)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = ('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
              '[models.m]\n[models.m.prices]\nreplica_hour_usd = 1.0\nreplicas = 1\n')
    if rollups:
        config += "[rollups]\nmin_rows = 100\n"
    (tmp_path / "mlops-console.toml").write_text(config, encoding="utf-8")
    return str(tmp_path / "mlops-console.toml"), times


def _spend(capsys, cfg: str, start: datetime, end: datetime, rollups: bool) -> float:
    assert main(["--config", cfg, "cost", "m", "--from", start.isoformat() + "Z", "--to", end.isoformat() + "Z",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == ("rollups" if rollups else "raw rows"), out["source"]
    return out["window_spend"]["usd"]


@pytest.mark.parametrize("rollups", [False, True], ids=["raw", "rollups"])
def test_the_halves_of_a_closed_hour_add_up_to_its_cost(tmp_path, capsys, rollups):
    cfg, times = _workspace(tmp_path, rollups)
    mid = HOUR + timedelta(minutes=30)
    in_hour = [t for t in times if HOUR <= t < HOUR + timedelta(hours=1)]
    first = sum(t < mid for t in in_hour)
    assert 0 < first < len(in_hour)
    got_first = _spend(capsys, cfg, HOUR, mid, rollups)
    got_second = _spend(capsys, cfg, mid, HOUR + timedelta(hours=1), rollups)
    assert got_first == pytest.approx(first / len(in_hour), rel=1e-9)
    assert got_first + got_second == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("rollups", [False, True], ids=["raw", "rollups"])
def test_the_hourly_chart_of_a_past_view_prices_its_last_hour_whole(tmp_path, capsys, rollups):
    """The now-aligned hours of the chart and the spike: the last one, (08:30, 09:30], holds the second half of 08:00
    (each request 1/n of that hour) and the first half of 09:00, a closed hour whose replica cost is split over all
    of its requests, those after 09:30 too. The rollup path charged 09:00's whole hour to its first half."""
    cfg, times = _workspace(tmp_path, rollups)
    at = HOUR + timedelta(minutes=30)
    per = {}
    for t in times:
        h = t.replace(minute=0, second=0, microsecond=0)
        per[h] = per.get(h, 0) + 1
    expected = sum(1 / per[t.replace(minute=0, second=0, microsecond=0)] for t in times
                   if at - timedelta(hours=1) < t <= at)
    assert main(["--config", cfg, "cost", "m", "--at", at.isoformat() + "Z", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == ("rollups" if rollups else "raw rows"), out["source"]
    assert out["hourly"][-1]["cost_usd"] == pytest.approx(expected, rel=1e-9)
    assert out["spike"]["rate_usd_per_hour"] == pytest.approx(expected, rel=1e-9)


def test_the_overview_says_nothing_spent_at_midnight(tmp_path, capsys):
    """At exactly midnight the day holds no request yet: the Overview's COST cell was null (shown as unknown) where
    `cost` said today $0 (probe B, twenty-ninth session)."""
    cfg, _ = _workspace(tmp_path, rollups=False)
    at = "2026-07-04T00:00:00Z"
    assert main(["--config", cfg, "snapshot", "--at", at, "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)["models"]
    assert main(["--config", cfg, "cost", "m", "--at", at, "--format", "json"]) == 0
    today = json.loads(capsys.readouterr().out)["windows"][0]["today_usd"]
    assert row["cost_usd"] == today == 0.0


@pytest.mark.parametrize("rollups", [False, True], ids=["raw", "rollups"])
def test_a_window_ending_a_week_after_the_newest_row_says_nothing_spent_today_and_this_week(tmp_path, capsys, rollups):
    """Window probe (thirty-third session): `cost m --window 2026-07` of a log whose newest row is on 5 July gave
    `windows: []` (the text's `windows:` line blank), where the command gives today's and the last 7 days' spend as
    of the window's end: by hand, nothing in either, while the month (the window) spent every row's share."""
    cfg, times = _workspace(tmp_path, rollups)
    assert main(["--config", cfg, "cost", "m", "--window", "2026-07", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["windows"] == [{"model": "m", "today_usd": 0.0, "today_requests": 0, "today_per_1k": None,
                               "week_usd": 0.0, "week_requests": 0, "week_per_1k": None}], out["windows"]
    hours = {t.replace(minute=0, second=0, microsecond=0) for t in times}
    assert out["window_spend"]["requests"] == len(times)
    assert out["window_spend"]["usd"] == pytest.approx(len(hours), rel=1e-9)  # every hour's replica, $1, once
