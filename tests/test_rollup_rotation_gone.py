"""A rotated log file compressed (logrotate's `compress` with `delaycompress`) or deleted (`rotate N`), and the hours
the `rollup` command builds from the files there are.

Compressed: `p.jsonl.1` -> `p.jsonl.2.gz` is a new file with the same rows, so no hour is rebuilt (none of their rows
changed), none lost or doubled; once logrotate deletes the `.gz` its hours stay as built, as a plain file's do.
Before, the `.gz` rebuilt every hour it held (24 "added"), and, never known by identity, its deletion rebuilt them
again from the files there were: its rows left the rollups ("removed").

Deleted: the store keeps the rows it read from the file (README, "Nothing lost"), so an hour that file held rows of,
rebuilt later for late rows appended to another file, counts what the store counts: the rollup command and the
console's own catch-up agree (the console rewrites nothing after the command), and both equal the raw path (health
over the hour, read from the store's rows) and a hand count. Before, the command rebuilt the hour from the files
there were and lost the deleted file's rows of it, until a console counted the hour against the store.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from console.cli import main
from rollup_hours import counted, one_log_config as _config, rollup, rolled, rows_of as _rows, write_rows as _write

START = datetime(2026, 5, 1)
SHARED = datetime(2026, 5, 2, 6)  # the rotation's hour: rows in both files, and later the late rows


def _rolled(config: Path) -> dict[datetime, int]:
    return rolled(config.parent / "store" / "rollups", START, START + timedelta(days=4))


def _health(config: Path, capsys, at: datetime, window: str) -> int:
    """Requests of health over `window` ending at `at`: from the rollups and the console's catch-up over days, from
    the store's raw rows over an hour."""
    assert main(["health", "m", "--config", str(config), "--at", at.isoformat() + "Z", "--window", window,
                 "--format", "json"]) == 0
    return sum(r["requests"] for r in json.loads(capsys.readouterr().out)["table"])


def _hour_files(config: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in (config.parent / "store" / "rollups").rglob("*.parquet")}


@pytest.mark.parametrize("log_path", ["logs/p.jsonl", "logs/p.jsonl*"])
def test_an_hour_a_deleted_file_held_counts_its_rows_as_the_store_does(tmp_path, capsys, monkeypatch, log_path):
    monkeypatch.chdir(tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    rng = np.random.default_rng(11)
    old = _rows(rng, START, 30 * 3600 + 1800, 1500, "a")  # to 06:30 of the second day
    _write(logs / "p.jsonl", old)
    config = _config(tmp_path, log_path)
    rollup(config, capsys)
    end = START + timedelta(days=3)
    assert _health(config, capsys, end, "3d") == len(old)  # a console reads the log: the store follows its files
    os.rename(logs / "p.jsonl", logs / "p.jsonl.1")  # logrotate at 06:30: the rest of the hour in the new file
    new = _rows(rng, SHARED + timedelta(minutes=30), 20 * 3600, 800, "b")
    _write(logs / "p.jsonl", new)
    rows = old + new
    assert counted(old).get(SHARED) and counted(new).get(SHARED)
    assert rollup(config, capsys)["source_hours_why"] == {"added": 1}  # the new file's rows of the built hour
    assert _rolled(config) == counted(rows)
    assert _health(config, capsys, end, "3d") == len(rows)  # the store has read both files
    (logs / "p.jsonl.1").unlink()  # logrotate's `rotate 1` at the next rotation
    late = _rows(rng, SHARED, 3600, 7, "late")  # a writer's buffered rows of the rotation's hour, appended late
    _write(logs / "p.jsonl", late, "a")
    rows += late
    got = rollup(config, capsys)
    assert got["source_hours_why"] == {"appended": 1}
    assert _rolled(config) == counted(rows)  # the deleted file's rows of the hour too, as the store holds them
    assert got["store_hours_rebuilt"] == 1  # the hour, built from the files there are, then from the store's rows
    before = _hour_files(config)
    assert _health(config, capsys, SHARED + timedelta(hours=1), "1h") == counted(rows)[SHARED]  # raw rows
    assert _health(config, capsys, end, "3d") == len(rows)
    assert _hour_files(config) == before  # the console's catch-up found every hour as the store counts it
    again = rollup(config, capsys)
    assert again["source_hours_rebuilt"] == 0 and again["store_hours_rebuilt"] == 0


def _gzip(src: Path, dst: Path) -> None:
    """logrotate's compress: a new file of the same lines, the original then removed."""
    with src.open("rb") as fh, gzip.open(dst, "wb") as out:
        shutil.copyfileobj(fh, out)
    src.unlink()


def _rotate(logs: Path, rows: list[dict]) -> None:
    """One logrotate run with `rotate 2`, `compress`, `delaycompress`: p.jsonl -> p.jsonl.1 -> p.jsonl.2.gz -> gone."""
    if (logs / "p.jsonl.2.gz").exists():
        (logs / "p.jsonl.2.gz").unlink()
    if (logs / "p.jsonl.1").exists():
        os.rename(logs / "p.jsonl.1", logs / "p.jsonl.2")
        _gzip(logs / "p.jsonl.2", logs / "p.jsonl.2.gz")
    os.rename(logs / "p.jsonl", logs / "p.jsonl.1")
    _write(logs / "p.jsonl", rows)


def _days(tmp_path: Path, capsys, log_path: str) -> tuple[Path, Path, list[list[dict]]]:
    logs = tmp_path / "logs"
    logs.mkdir()
    rng = np.random.default_rng(12)
    written = [_rows(rng, START + timedelta(days=i), 86400, 600, f"d{i}") for i in range(4)]
    _write(logs / "p.jsonl", written[0])
    config = _config(tmp_path, log_path)
    rollup(config, capsys)
    return logs, config, written


@pytest.mark.parametrize("log_path", ["logs/p.jsonl", "logs/p.jsonl*"])
def test_a_compressed_rotated_file_rebuilds_no_hour_and_keeps_its_rows_once(tmp_path, capsys, monkeypatch, log_path):
    monkeypatch.chdir(tmp_path)
    logs, config, written = _days(tmp_path, capsys, log_path)
    rows = list(written[0])
    for i in (1, 2, 3):
        _rotate(logs, written[i])
        rows += written[i]
        got = rollup(config, capsys)
        assert got["source_hours_rebuilt"] == 0, (i, got["source_hours_why"])
        assert _rolled(config) == counted(rows), i  # the compressed rows once, the deleted file's hours as built
    assert sorted(p.name for p in logs.iterdir()) == ["p.jsonl", "p.jsonl.1", "p.jsonl.2.gz"]
    assert rollup(config, capsys)["source_hours_rebuilt"] == 0


def test_a_deleted_file_whose_inode_and_name_the_next_compressed_file_took_is_gone(tmp_path, capsys, monkeypatch):
    """The `.gz` logrotate deletes and the one it then writes under that name may share an inode (the filesystem
    reuses the freed one: seen on this box's ext4): the new one found as the renamed `p.jsonl.1` is not the old one
    rewritten in place, whose hours would be rebuilt from the files there are (24 hours "removed" before). The
    reuse is made certain here by giving the old file, as the rollup kept it, the new one's inode."""
    monkeypatch.chdir(tmp_path)
    logs, config, written = _days(tmp_path, capsys, "logs/p.jsonl")
    for i in (1, 2):
        _rotate(logs, written[i])
        rollup(config, capsys)
    _rotate(logs, written[3])
    state_file = config.parent / "store" / "rollups" / "_state.json"
    state = json.loads(state_file.read_text(encoding="utf-8"))
    ino = (logs / "p.jsonl.2.gz").stat().st_ino
    (old,) = [p for p in state["sources"] if p[1].endswith("p.jsonl.2.gz")]
    old[2] = ino
    state_file.write_text(json.dumps(state), encoding="utf-8")
    got = rollup(config, capsys)
    assert got["source_hours_rebuilt"] == 0, got["source_hours_why"]
    assert _rolled(config) == counted([r for day in written for r in day])


def test_rows_appended_before_the_compression_are_counted(tmp_path, capsys, monkeypatch):
    """A writer still holding `p.jsonl.1` appended rows to it before logrotate compressed it: the `.gz` holds more
    than the file the last build read, so its hours are built again (those rows are in no other file)."""
    monkeypatch.chdir(tmp_path)
    logs, config, written = _days(tmp_path, capsys, "logs/p.jsonl")
    _rotate(logs, written[1])
    rollup(config, capsys)
    late = _rows(np.random.default_rng(13), START + timedelta(hours=23), 3600, 5, "late")
    _write(logs / "p.jsonl.1", late, "a")
    _rotate(logs, written[2])
    got = rollup(config, capsys)
    assert _rolled(config) == counted([*written[0], *written[1], *written[2], *late])
    assert got["source_hours_rebuilt"] > 0
