"""A quiet model's hourly windows grow back hundreds of hours for their served rows, and `RollupRules._grow` takes
the whole hours before the one that reaches them at once (`_whole_hours_back`, a bisection on running sums): a
`check` over five months of 40 rows a day took 48 s of CPU hour by hour. The incidents (ids, states, onsets) and
every rate evaluation must be the hour-by-hour loop's (the same code with the jump turned off) and the raw path's,
each on a store of its own (no kept evaluation shared)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from console.config import parse_file
from console.rollup_rules import RollupRules
from console.service import Service

START = datetime(2026, 5, 1)
DAYS, PER_DAY = 20, 24  # a 1 h window grows back days for its served rows (the rule's min_rows)
BURST = range(8, 11)  # days with most requests failing: the error rate rule fires, then recovers
NOW = START + timedelta(days=DAYS, hours=-1, minutes=-23)


def _workspace(root) -> None:
    rng = np.random.default_rng(11)
    minutes = np.sort(rng.integers(0, DAYS * 1440, DAYS * PER_DAY))
    day = minutes // 1440
    failing = np.isin(day, list(BURST))
    errors = np.where(failing, rng.random(minutes.size) < 0.8, rng.random(minutes.size) < 0.01)
    preds = pl.DataFrame({
        "ts": [START + timedelta(minutes=int(m), seconds=int(s)) for m, s in
               zip(minutes, rng.integers(0, 60, minutes.size))],
        "model": "m", "version": "1", "request_id": [f"r{i}" for i in range(minutes.size)],
        "environment": "production", "prediction": "1", "latency_ms": rng.gamma(2, 20, minutes.size),
        "is_error": errors})
    preds = preds.filter(pl.col("ts") <= NOW).with_columns(pl.col("ts").dt.strftime("%Y-%m-%d").alias("_d"))
    for (d,), part in preds.partition_by("_d", as_dict=True).items():  # a file a day, as a daily job writes
        (root / "logs" / f"date={d}").mkdir(parents=True)
        part.drop("_d").write_parquet(root / "logs" / f"date={d}" / "part-0.parquet")
    (root / "console.toml").write_text(
        '[store]\npath = "store"\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[models.m]\ntask = "classification"\n'
        '[[alerts]]\nname = "m errors"\nmetric = "error_rate"\nop = ">"\nthreshold = 0.2\nwindow = "1h"\n',
        encoding="utf-8")


def _findings(root, rollups: bool):
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    try:
        svc.refresh()
        mon = svc.monitor
        mon.rollups_after = 1 if rollups else 10**12
        mon.since = START - timedelta(days=1)  # the whole log: windows from its first rows on
        findings = mon.findings(at=NOW)
        assert not [f.detail for f in findings if f.kind == "error"]  # no evaluation failed
        found = sorted((f.id, f.state, f.onset, f.end, f.detected, f.value) for f in findings if f.kind == "error_rate")
        assert not rollups or mon.sketch_drift.built
        return found
    finally:
        svc.close()


def test_windows_grown_by_whole_hours_at_once_are_the_hour_by_hour_ones(tmp_path, monkeypatch):
    roots = [tmp_path / name for name in ("jump", "step", "raw")]
    for root in roots:
        _workspace(root)
    jumped, grown = [], []
    real_jump, real_grow = RollupRules._whole_hours_back, RollupRules._grow

    def counted_jump(self, *args):
        block = real_jump(self, *args)
        jumped.append(len(block))
        return block

    def kept_grow(self, w, min_rows, by, cut=None):
        out = real_grow(self, w, min_rows, by, cut)
        grown.append((out.lo, out.hi, [(p.a, p.b, p.served, p.errors) for p in out.parts]))
        return out

    monkeypatch.setattr(RollupRules, "_whole_hours_back", counted_jump)
    monkeypatch.setattr(RollupRules, "_grow", kept_grow)
    with_jump, windows_jump = _findings(roots[0], rollups=True), list(grown)
    assert max(jumped) > 40  # the jump ran: days of hours taken at once
    monkeypatch.setattr(RollupRules, "_whole_hours_back", lambda self, *args: [])
    grown.clear()
    hour_by_hour, windows_step = _findings(roots[1], rollups=True), list(grown)
    assert len(windows_jump) > 300 and windows_jump == windows_step  # every window's span and parts alike
    monkeypatch.undo()
    raw = _findings(roots[2], rollups=False)
    assert with_jump == hour_by_hour == raw
    onsets = [f[2] for f in with_jump]
    assert with_jump and all(START + timedelta(days=BURST[0]) <= t <= START + timedelta(days=BURST[-1] + 1)
                             for t in onsets), with_jump


def test_each_cut_window_holds_the_last_served_rows_counted_by_hand(tmp_path, monkeypatch):
    """Each hourly window grown back for 100 served rows starts at the first of the last 100 rows up to its end (ties
    there included) and counts their errors, by hand from the log's files. Its cut hours are a hundred ranges apart,
    read as one span (`_span_read`) and sliced by hour; read range by range they give the same windows."""
    root = tmp_path / "ws"
    _workspace(root)
    rows = pl.read_parquet(root / "logs" / "**" / "*.parquet").sort("ts")
    ts, errors = rows.get_column("ts").to_list(), rows.get_column("is_error").to_list()
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    try:
        svc.refresh()
        mon = svc.monitor
        mon.rollups_after = 1
        mon.since = START - timedelta(days=1)
        mon.findings(at=NOW)  # builds the rollups
        assert mon.sketch_drift.built
        spans = []
        real = RollupRules._span_read
        monkeypatch.setattr(RollupRules, "_span_read", lambda self, *a: spans.append(real(self, *a)) or spans[-1])

        def windows():
            src = RollupRules(mon, "m", START - timedelta(days=1), NOW)
            return src.windows(timedelta(hours=1), 100, by=lambda w: w.served, limit=None, cut="rate")

        got, checked = windows(), 0
        assert spans == [True]
        for w in got:
            upto = [i for i, t in enumerate(ts) if t <= w.hi]
            if len(upto) < 100 or w.own >= 100:
                continue
            first = ts[upto[-100]]  # the window is (first - 1 us, hi]: every row at `first` counts
            held = [i for i in upto if ts[i] >= first]
            assert (w.lo, w.served) == (first - timedelta(microseconds=1), len(held)), w.hi
            assert sum(p.errors for p in w.parts) == sum(errors[i] for i in held), w.hi
            checked += 1
        assert checked > 300
        monkeypatch.setattr(RollupRules, "_span_read", lambda self, *a: False)
        assert [(w.lo, w.hi, w.served, sum(p.errors for p in w.parts)) for w in windows()] == \
            [(w.lo, w.hi, w.served, sum(p.errors for p in w.parts)) for w in got]
    finally:
        svc.close()
