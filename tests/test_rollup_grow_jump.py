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
