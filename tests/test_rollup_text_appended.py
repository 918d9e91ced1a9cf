"""A cron `rollup` over a live JSONL or CSV log rebuilds the hours of the rows appended since its last run, not every
hour the log holds: the log is known to have only grown (same inode, its first KiB and the KiB that ended it
unchanged), and the rows after the old end are read alone for their span. A log rewritten (its first row changed)
or truncated and regrown is still rebuilt whole. The rollups' counts equal a count of the log as it is now.

Found by the twenty-fourth session's probe: each run over a growing text log rebuilt all its built hours
(`rollup_changes.Content.rewritten` took the grown file for a rewritten one).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from rollup_hours import counted as _counted, rollup as _rollup, rolled

START = datetime(2026, 5, 1)
HOUR = datetime(2026, 5, 1, 10)  # late rows land here


def _rows(rng, start: datetime, seconds: int, n: int, tag: str) -> list[dict]:
    ts = [start + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, seconds, n))]
    return [{"ts": t.isoformat(), "model": "m", "version": "1", "environment": "production",
             "request_id": f"{tag}-{i}", "latency_ms": 20.0, "prediction": "1", "x": float(x)}
            for i, (t, x) in enumerate(zip(ts, rng.normal(0, 1, n)))]


def _text(rows: list[dict], csv: bool, header: bool = True) -> str:
    if not csv:
        return "".join(json.dumps(r) + "\n" for r in rows)
    names = list(rows[0])
    head = ",".join(names) + "\n" if header else ""
    return head + "".join(",".join(str(r[k]) for k in names) + "\n" for r in rows)


def _config(root: Path, name: str) -> Path:
    fmt = "csv" if name.endswith(".csv") else "jsonl"
    config = root / "console.toml"
    config.write_text(f'[store]\npath = "store"\n[rollups]\nmin_rows = 0\n[[logs]]\nkind = "predictions"\n'
                      f'path = "{name}"\nformat = "{fmt}"\n[models.m]\ntask = "classification"\n', encoding="utf-8")
    return config


def _rolled(config: Path) -> dict[datetime, int]:
    return rolled(config.parent / "store" / "rollups", START, START + timedelta(days=3))




def _built(tmp_path: Path, capsys, name: str, rows: list[dict]) -> tuple[Path, Path, dict]:
    """The log written and rolled up once: (log, config, the first run's summary)."""
    log = tmp_path / name
    log.write_text(_text(rows, name.endswith(".csv")), encoding="utf-8")
    config = _config(tmp_path, name)
    return log, config, _rollup(config, capsys)


@pytest.mark.parametrize("name", ["log.jsonl", "log.csv"])
def test_rows_appended_to_a_text_log_rebuild_only_their_hours(tmp_path, capsys, name):
    csv = name.endswith(".csv")
    rng = np.random.default_rng(5)
    rows = _rows(rng, START, 2 * 86400, 3000, "a")
    log, config, first = _built(tmp_path, capsys, name, rows)
    assert first["ranges_built"] > 0 and _rolled(config) == _counted(rows)
    built = len(_counted(rows))
    assert built > 40  # the log's hours: a whole rebuild would be all of them

    late = _rows(rng, HOUR, 3600, 7, "late")  # late rows in an hour built before
    with log.open("a", encoding="utf-8") as fh:
        fh.write(_text(late, csv, header=False))
    rows += late
    got = _rollup(config, capsys)
    assert got["source_hours_rebuilt"] == 1 and got["source_hours_why"] == {"appended": 1}
    assert _rolled(config) == _counted(rows)
    assert _rollup(config, capsys)["source_hours_rebuilt"] == 0  # nothing new: nothing rebuilt


def test_a_text_log_rewritten_is_still_rebuilt_whole(tmp_path, capsys):
    """Its first row corrected and a row appended: the bytes it held changed, so every hour it spans is rebuilt."""
    rng = np.random.default_rng(6)
    rows = _rows(rng, START, 86400, 1000, "a")
    log, config, _ = _built(tmp_path, capsys, "log.jsonl", rows)
    rows[0] = {**rows[0], "ts": (HOUR + timedelta(minutes=1)).isoformat()}  # moved to another hour
    rows.append(_rows(rng, HOUR, 3600, 1, "late")[0])
    log.write_text(_text(rows, False), encoding="utf-8")
    got = _rollup(config, capsys)
    assert got["source_hours_why"].keys() == {"rewritten"} and got["source_hours_rebuilt"] == len(_counted(rows))
    assert _rolled(config) == _counted(rows)


def test_a_text_log_truncated_and_regrown_past_its_old_end_is_rebuilt_whole(tmp_path, capsys):
    """copytruncate, then the writer's new rows past the old size: the KiB that ended the old log is gone."""
    rng = np.random.default_rng(8)
    rows = _rows(rng, START, 86400, 200, "a")
    log, config, _ = _built(tmp_path, capsys, "log.jsonl", rows)
    size = log.stat().st_size
    new = _rows(rng, START + timedelta(hours=2), 3600 * 20, 400, "b")
    with log.open("r+", encoding="utf-8") as fh:  # same inode
        fh.truncate(0)
        fh.write(_text(new, False))
    assert log.stat().st_size > size
    got = _rollup(config, capsys)
    assert "appended" not in got["source_hours_why"]
    assert _rolled(config) == _counted(new)
