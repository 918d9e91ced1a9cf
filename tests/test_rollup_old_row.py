"""One row dated long before the log (a device whose clock reset: `"ts": 0` is 1970) cost the first `rollup` build a
range a day from it on: 20,000 empty day files and most of an hour for a row from 1970. The stretch without rows
is now one range, and compaction writes day files only for days that hold rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from console import rollup_engine
from console import store_rollups as ro

START = datetime(2026, 7, 18)
OLD = datetime(2026, 5, 1, 12, 30)  # 77 days before the log: a clock two and a half months behind


def _log(tmp_path):
    rows = [{"ts": f"{START + timedelta(minutes=10 * i):%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1",
             "request_id": f"r{i}", "latency_ms": 20.0} for i in range(2 * 24 * 6)]
    rows.append({"ts": f"{OLD:%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1", "request_id": "old",
                 "latency_ms": 20.0})
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_an_old_row_costs_one_range_not_a_range_a_day(tmp_path):
    out = rollup_engine.catch_up([str(_log(tmp_path))], [], tmp_path / "rollups", now=START + timedelta(days=2, minutes=5))
    assert out.rows == 2 * 24 * 6 + 1  # by hand: every row written, the old one too
    # the old row's day chunk, the empty stretch up to the log, and the log's two days (was 79 ranges)
    assert [(a, b) for a, b in out.built] == [
        (datetime(2026, 5, 1, 12), datetime(2026, 5, 2, 12)), (datetime(2026, 5, 2, 12), START),
        (START, START + timedelta(days=1)), (START + timedelta(days=1), START + timedelta(days=2))]
    # day files for the whole days that hold rows, not for the 76 empty ones
    assert sorted(f.day for f in ro.day_files(tmp_path / "rollups", "m")) == [START, START + timedelta(days=1)]
    whole = ro.read(tmp_path / "rollups", "m", datetime(2026, 5, 1), START + timedelta(days=2))
    assert whole.rows == 2 * 24 * 6 + 1
    assert ro.read(tmp_path / "rollups", "m", datetime(2026, 5, 2), START).rows == 0
