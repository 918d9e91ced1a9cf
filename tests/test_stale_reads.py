"""The stale rule's read (`Monitor.stale_ts`): when the last stretch shorter than any gap the rule allows holds a
row, only that stretch is read (the source is not silent whatever its usual gap); otherwise the whole history,
whose usual gap decides. Checked against the whole history's `ts` and `evidence.staleness` over it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from console.analytics import evidence as ev
from console.config import parse_file
from console.service import Service
from rollup_fleet import START, fleet, write_hive

HOURS = 30
NOW = START + timedelta(hours=HOURS - 1, minutes=37)


@pytest.fixture
def monitor(tmp_path: Path):
    preds, _ = fleet(hours=HOURS, per_hour=60, seed=5)
    write_hive(preds.filter(pl.col("ts") <= NOW), tmp_path)
    (tmp_path / "console.toml").write_text(
        '[store]\npath = "store"\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[models.fraud]\nfeatures = ["amount", "age"]\n', encoding="utf-8")
    svc = Service(parse_file(tmp_path / "console.toml"), clock=lambda: NOW)
    svc.refresh()
    yield svc.monitor
    svc.close()


def test_a_source_with_a_recent_row_reads_only_the_last_stretch(monitor):
    since = NOW - timedelta(days=7)
    whole = monitor.typed_rows("fraud", since, NOW, "production", columns=["ts"])
    got = monitor.stale_ts("fraud", since, NOW, None)
    recent = whole.filter(pl.col("ts") > NOW - timedelta(minutes=15))  # the rule's floor: no gap allowed is shorter
    assert recent.height and got["ts"].to_list() == recent["ts"].to_list()
    assert ev.staleness(got["ts"].max(), got["ts"], NOW, None)[0] is False
    assert ev.staleness(whole["ts"].max(), whole["ts"], NOW, None)[0] is False  # the same verdict from the week
    # a configured limit of an hour: the last hour is the stretch
    got = monitor.stale_ts("fraud", since, NOW, timedelta(hours=1))
    assert got["ts"].to_list() == whole.filter(pl.col("ts") > NOW - timedelta(hours=1))["ts"].to_list()


def test_a_silent_source_reads_the_whole_history_for_its_usual_gap(monitor):
    since = NOW - timedelta(days=7)
    later = NOW + timedelta(hours=3)  # no row for three hours
    whole = monitor.typed_rows("fraud", since, later, "production", columns=["ts"])
    got = monitor.stale_ts("fraud", since, later, None)
    assert got["ts"].to_list() == whole["ts"].to_list()
    stale, minutes, allowed = ev.staleness(got["ts"].max(), got["ts"], later, None)
    gaps = whole["ts"].sort().diff().drop_nulls()
    assert stale and allowed == max(timedelta(minutes=15), gaps.quantile(0.95) * 10)
    assert minutes == (later - whole["ts"].max()).total_seconds() / 60
