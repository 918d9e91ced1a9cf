"""The fixed evaluation grid (`evidence.grid`): every window but the latest ends on a multiple of its step counted
from the epoch, not from `now`, so two passes whose `now` differs (an hour later, or a few minutes across an
hour) evaluate the same closed windows, and a cron `check` after new rows takes the kept evaluations of every
closed window (`rule_memo`) instead of scoring the week again. Checked against hand-made grids, hand counts of
the rows in each window, the memo's own counters, and a fresh evaluation with nothing kept."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from console import rule_memo
from console import rollup_rules as rr
from console.analytics import evidence as ev
from console.analytics.windows import parse_window
from console.config import parse_file
from console.incident_rules import DRIFT_MIN_SPAN, DRIFT_STEP, MIN_DRIFT_ROWS
from console.service import Service
from rollup_fleet import START, fleet, write_hive

EPOCH = datetime(1970, 1, 1)
H = timedelta(hours=1)
WEEK = timedelta(days=7)


def _rows(end: datetime, every: timedelta = timedelta(minutes=7), days: int = 10) -> pl.Series:
    n = int(timedelta(days=days) / every)
    return pl.Series("ts", [end - every * i for i in range(n)]).sort()


# --------------------------------------------------------------------------- the grid, by hand


def test_the_grid_by_hand():
    # 2 h steps from the epoch: the even hours of the day; the newest before `end` and not after its hour's start
    assert ev.grid(datetime(2026, 7, 30, 10, 58), 2 * H, datetime(2026, 7, 30, 3)) == [
        datetime(2026, 7, 30, 4), datetime(2026, 7, 30, 6), datetime(2026, 7, 30, 8), datetime(2026, 7, 30, 10),
        datetime(2026, 7, 30, 10, 58)]
    assert ev.grid(datetime(2026, 7, 30, 11, 3), 2 * H, datetime(2026, 7, 30, 3))[-2:] == [
        datetime(2026, 7, 30, 10), datetime(2026, 7, 30, 11, 3)]
    # `end` on a grid point: the window before it ends a whole step earlier (never two windows ending at `end`)
    assert ev.grid(datetime(2026, 7, 30, 12), 12 * H, datetime(2026, 7, 29)) == [
        datetime(2026, 7, 29, 12), datetime(2026, 7, 30, 0), datetime(2026, 7, 30, 12)]
    # a step that does not divide a day still counts from the epoch: 7 h steps, 20,000 days after it
    ends = ev.grid(datetime(2024, 10, 4, 23, 30), 7 * H, datetime(2024, 10, 3))
    assert all((e - EPOCH) % (7 * H) == timedelta(0) for e in ends[:-1])
    # 2024-10-04 23:00 is 480,023 h after the epoch; 480,018 = 7 x 68,574 is the last multiple of 7 before it
    assert ends[-2] == datetime(2024, 10, 4, 18) and ends[-3] == datetime(2024, 10, 4, 11)
    assert ev.grid(datetime(2026, 7, 30), 2 * H, datetime(2026, 7, 30)) == []


def test_the_step_is_whole_hours_and_widens_to_a_fixed_set():
    assert ev.grid_step(timedelta(hours=6), datetime(2026, 7, 1), datetime(2026, 7, 8)) == 2 * H  # 1.5 h, up
    assert ev.grid_step(timedelta(hours=1), datetime(2026, 7, 1), datetime(2026, 7, 8)) == H  # 7 days / 168
    # 7 days and a few minutes / 168 is a little over an hour: 2 h, and stays 2 h as the history grows by hours
    since = datetime(2026, 7, 1)
    steps = {ev.grid_step(timedelta(hours=1), since, since + WEEK + timedelta(minutes=m)) for m in (5, 65, 600)}
    assert steps == {2 * H}
    assert ev.grid_step(timedelta(hours=1), since, since + timedelta(days=30)) == 6 * H  # 4.3 h -> 6 h
    assert ev.grid_step(timedelta(hours=1), since, since + timedelta(days=200)) == 2 * timedelta(days=1)
    assert ev.grid_step(timedelta(hours=24), since, since + WEEK, 12 * H) == 12 * H


# --------------------------------------------------------------------------- two passes, the same closed windows


@pytest.mark.parametrize("first, later", [
    (datetime(2026, 7, 30, 10, 37), datetime(2026, 7, 30, 11, 37)),  # an hour later
    (datetime(2026, 7, 30, 10, 58), datetime(2026, 7, 30, 11, 3)),  # a few minutes, across an hour
    (datetime(2026, 7, 30, 11, 56), datetime(2026, 7, 30, 12, 4)),  # across a drift grid point (12:00)
])
@pytest.mark.parametrize("span, step, min_rows", [
    (timedelta(hours=24), timedelta(hours=12), 500),  # a drift rule
    (timedelta(hours=1), None, 5),  # an SLO burn rule: hourly
    (timedelta(hours=6), None, 100),  # grown back by rows at night (8.6 rows an hour here)
])
def test_the_closed_windows_of_two_passes_are_the_same(first, later, span, step, min_rows):
    ts = _rows(later)
    a = ev.windows(ts, first, span, min_rows, first - WEEK, step=step)
    b = ev.windows(ts, later, span, min_rows, later - WEEK, step=step)
    g = ev.grid_step(span, first - WEEK, first, step)
    assert g == ev.grid_step(span, later - WEEK, later, step)
    for spans, end in ((a, first), (b, later)):
        assert spans[-1][1] == end and end - spans[-2][1] < g  # a verdict at most a step late
        assert all((hi - EPOCH) % g == timedelta(0) for _, hi, _ in spans[:-1])  # on the grid, not on `end`
        for lo, hi, n in spans:
            assert n == ts.filter((ts > lo) & (ts <= hi)).len()  # hand count
    # every closed window of the first pass that the second's history still holds whole is one of the second's,
    # with the same start and the same rows
    held = [w for w in a[:-1] if w[0] > later - WEEK]
    assert len(held) >= 10
    assert held == [w for w in b[:-1] if w[1] < first and w[0] > later - WEEK]


def test_the_rollup_windows_are_the_raw_paths_grid(tmp_path):
    """`RollupRules.windows` ends its windows on the same grid points as `evidence.windows` (so their incidents
    stay comparable), and two passes an hour apart share their closed windows."""
    root = _log(tmp_path, T2)
    ends = {}
    for now in (T1, T1 + H):
        svc = _service(root, now)
        try:
            mon = svc.monitor
            since = mon.history_start(now)
            src = rr.RollupRules(mon, "fraud", since, now)
            span = max(timedelta(hours=24), parse_window(DRIFT_MIN_SPAN))
            step = max(span / 2, DRIFT_STEP)
            windows = src.windows(span, MIN_DRIFT_ROWS, step=step)
            ts = mon.typed_rows("fraud", since, now, "production", columns=["ts"])["ts"]
            raw = ev.windows(ts, now, span, MIN_DRIFT_ROWS, since, step=step)
            assert [w.hi for w in windows] == [hi for _, hi, _ in raw]
            ends[now] = {(w.lo, w.hi, w.rows) for w in windows[:-1] if w.rows}
        finally:
            svc.close()
    assert ends[T1] and ends[T1] <= ends[T1 + H]


# --------------------------------------------------------------------------- a check after new rows


HOURS = 60
T1 = START + timedelta(hours=HOURS - 1, minutes=37)  # the first pass
T2 = T1 + timedelta(minutes=30)  # the next, after rows came to T1's open hour and past it
FEATS = ["amount", "age", "speed", "country", "channel"]


def _write(frame: pl.DataFrame, root: Path, name: str) -> None:
    for (day, hour), part in frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%d").alias("_d"),
                                                pl.col("ts").dt.strftime("%H").alias("_h")).partition_by(
            "_d", "_h", as_dict=True).items():
        d = root / "logs" / f"date={day}" / f"hour={hour}"
        d.mkdir(parents=True, exist_ok=True)
        part.drop("_d", "_h").write_parquet(d / name)


def _log(root: Path, until: datetime) -> Path:
    preds, labels = fleet(hours=HOURS + 1, per_hour=80, seed=7)
    preds = preds.with_columns((pl.col("status") == "500").alias("is_error")).drop("status")
    preds, labels = preds.filter(pl.col("ts") <= until), labels.filter(pl.col("ts") <= until)
    write_hive(preds.filter(pl.col("ts") <= T1), root)
    _write(preds.filter(pl.col("ts") > T1), root, "part-1.parquet")
    labels.write_parquet(root / "labels.parquet")
    early = preds.filter((pl.col("model") == "fraud") & (pl.col("ts") < START + timedelta(hours=30)))
    early.join(labels.select("request_id", "label"), on="request_id").select(*FEATS, "label", "prediction") \
        .write_parquet(root / "fraud.parquet")
    feature_list = ", ".join(f'"{f}"' for f in FEATS)
    (root / "console.toml").write_text(
        '[store]\npath = "store"\n[thresholds]\ndrift_share = 0.3\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[[logs]]\nkind = "labels"\npath = "labels.parquet"\n'
        '[[alerts]]\nname = "slow"\nmetric = "p95_ms"\nop = ">"\nthreshold = 60\nwindow = "6h"\n'
        f'[models.fraud]\nfeatures = [{feature_list}]\nreference = "fraud.parquet"\n', encoding="utf-8")
    return root


def _service(root: Path, now: datetime) -> Service:
    svc = Service(parse_file(root / "console.toml"), clock=lambda: now)
    svc.refresh()
    svc.monitor.rollups_after = 1_000
    return svc


def _key(findings) -> list:
    return [(f.id, f.status, f.onset, f.end, f.detected, f.value) for f in findings]


def test_a_check_after_rows_came_to_the_open_hour_takes_the_kept_closed_windows(tmp_path):
    root = tmp_path
    preds, _ = fleet(hours=HOURS + 1, per_hour=80, seed=7)
    _log(root, T1)  # the log as the first cron `check` saw it
    svc = _service(root, T1)
    try:
        svc.check()
        hits, misses = svc.monitor.incident_rules.kept["fraud"]
        assert hits == 0 and misses > 10  # nothing kept yet: every closed window evaluated, then kept
    finally:
        svc.close()
    late = preds.filter((pl.col("ts") > T1) & (pl.col("ts") <= T2)).with_columns(
        (pl.col("status") == "500").alias("is_error")).drop("status")
    assert late.filter(pl.col("ts") < START + timedelta(hours=HOURS)).height > 10  # rows in T1's open hour
    _write(late, root, "part-1.parquet")  # and in the next: `now` crossed an hour

    svc = _service(root, T2)
    try:
        mon = svc.monitor
        since = mon.history_start(T2)
        # the drift rule alone: every scored closed window that ends before T1's open hour is taken from the memo
        src = rr.RollupRules(mon, "fraud", since, T2, drift=True)
        span = max(timedelta(hours=24), parse_window(DRIFT_MIN_SPAN))
        windows = src.windows(span, MIN_DRIFT_ROWS, step=max(span / 2, DRIFT_STEP))
        scored = [w for w in windows if w.rows >= MIN_DRIFT_ROWS]
        src.drift_scores(scored)
        open_hour = START + timedelta(hours=HOURS - 1)  # T1's open hour, closed now
        old = [w for w in scored[:-1] if w.hi <= open_hour]
        new = [w for w in scored[:-1] if w.hi > open_hour]
        assert len(old) >= 3 and len(new) == 1 and new[0].hi == START + timedelta(hours=HOURS)  # 12:00
        assert (src.memo.hits, src.memo.misses) == (len(old), len(new))  # the latest is never kept
        # the whole pass, as the cron's `check` runs it
        found = svc.check()
        hits, misses = mon.incident_rules.kept["fraud"]
        assert hits > misses and hits >= len(old)
        passed = mon.findings(at=T2)
    finally:
        svc.close()
    for f in root.rglob(rule_memo.NAME):  # nothing kept: every window evaluated afresh gives the same incidents
        f.unlink()
    svc = _service(root, T2)
    try:
        fresh = svc.monitor.findings(at=T2)
        assert svc.monitor.incident_rules.kept["fraud"][0] == 0
    finally:
        svc.close()
    assert _key(passed) == _key(fresh)
    assert {f.id for f in found} <= {f.id for f in fresh}


def test_hand_counts_of_the_kept_windows(tmp_path):
    """A kept closed window's evaluation is the rows in it: the slow rule's windows after the second pass,
    counted by hand on the log, and p95 within the sketch's reach of NumPy's."""
    root = _log(tmp_path, T2)
    for now in (T1, T2):
        svc = _service(root, now)
        try:
            mon = svc.monitor
            src = rr.RollupRules(mon, "fraud", mon.history_start(now), now)
            evals = src.rate("p95_ms", timedelta(hours=6), ">", 60.0, 100)
            src.memo.save()
        finally:
            svc.close()
    assert src.memo.hits > 10
    preds = pl.read_parquet(root / "logs" / "**" / "*.parquet", hive_partitioning=False)
    fraud = preds.filter(pl.col("model") == "fraud")
    for e in evals[:-1]:
        assert (e.end - EPOCH) % (2 * H) == timedelta(0)
        w = fraud.filter((pl.col("ts") > e.start) & (pl.col("ts") <= e.end))
        assert e.n == w.height
        if e.value is not None:
            lat = np.sort(w["latency_ms"].to_numpy())
            assert np.quantile(lat, 0.9) <= e.value <= np.quantile(lat, 0.99)
