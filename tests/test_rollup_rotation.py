"""A rotated log's files are the rollup's by identity, as the store's tailer knows them (`files.log_files`): a file
renamed by a rotation (`p.jsonl.1`, `p.jsonl.old`, Python's `p.jsonl.2026-05-02_19`) is read on under its new name in
the format it was read as, its built hours are not rebuilt (only those of rows appended to it before the rename), a
copytruncate's copy is the old file, and a rotated file deleted leaves its hours as built (its rows existed: the
store keeps them). Every step's rollups equal a hand count of the rows the log was ever written.

Found by the fortieth session: the rollup listed a log's files by name, so a rotated file whose name gives no format
(or that the log's path does not match) was left out, its hours losing their rows, and any rename rebuilt every hour
("sources removed"/"added") because the record of what was read was by path.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from console.cli import main
from rollup_hours import (counted as _counted, one_log_config as _config, rollup as _rollup, rolled, rows_of as _rows,
                          write_rows as _write)

START = datetime(2026, 5, 1)
HOUR = datetime(2026, 5, 1, 10)  # rows written to the old file just before its rotation land here


def _rolled(config: Path) -> dict[datetime, int]:
    return rolled(config.parent / "store" / "rollups", START, START + timedelta(days=4))


def _built(tmp_path: Path, capsys, log_path: str) -> tuple[Path, Path, list[dict]]:
    logs = tmp_path / "logs"
    logs.mkdir()
    rng = np.random.default_rng(7)
    rows = _rows(rng, START, 2 * 86400, 2000, "a")
    _write(logs / "p.jsonl", rows)
    config = _config(tmp_path, log_path)
    first = _rollup(config, capsys)
    assert first["ranges_built"] > 0 and _rolled(config) == _counted(rows)
    assert len(_counted(rows)) > 40  # a rebuild of the log's hours would be all of these
    return logs, config, rows


ROTATED = ["p.jsonl.1", "p.jsonl.old", "p.jsonl.2026-05-02_19"]


@pytest.mark.parametrize("log_path", ["logs/p.jsonl", "logs/*.jsonl*"])
@pytest.mark.parametrize("rotated", ROTATED)
def test_a_rename_rotation_keeps_the_old_file_and_rebuilds_no_old_hour(tmp_path, capsys, monkeypatch, rotated,
                                                                         log_path):
    monkeypatch.chdir(tmp_path)
    logs, config, rows = _built(tmp_path, capsys, log_path)
    rng = np.random.default_rng(8)
    tail = _rows(rng, HOUR, 3600, 9, "tail")  # written to the old file just before it is renamed
    _write(logs / "p.jsonl", tail, "a")
    os.rename(logs / "p.jsonl", logs / rotated)
    new = _rows(rng, START + timedelta(days=2), 5 * 3600, 300, "b")  # the new file's rows, in hours not built yet
    _write(logs / "p.jsonl", new)
    rows += tail + new
    got = _rollup(config, capsys)
    assert _rolled(config) == _counted(rows)  # the renamed file's rows once, the new file's once
    assert got["source_hours_why"] == {"appended": 1} and got["source_hours_rebuilt"] == 1  # the tail's hour alone
    again = _rollup(config, capsys)
    assert again["source_hours_rebuilt"] == 0 and again["ranges_built"] == 0
    # rotated again: logrotate shifts the names, the new file is renamed under the old one's name
    os.rename(logs / rotated, logs / (rotated + ".2"))
    os.rename(logs / "p.jsonl", logs / rotated)
    _write(logs / "p.jsonl", [])
    assert _rollup(config, capsys)["source_hours_rebuilt"] == 0
    assert _rolled(config) == _counted(rows)
    # the oldest rotated file deleted: its rows existed, its hours stay as built
    (logs / (rotated + ".2")).unlink()
    gone = _rollup(config, capsys)
    assert gone["source_hours_rebuilt"] == 0
    assert _rolled(config) == _counted(rows)


def test_a_copytruncate_copy_is_the_old_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    logs, config, rows = _built(tmp_path, capsys, "logs/p.jsonl")
    rng = np.random.default_rng(9)
    tail = _rows(rng, HOUR, 3600, 5, "tail")
    _write(logs / "p.jsonl", tail, "a")
    shutil.copyfile(logs / "p.jsonl", logs / "p.jsonl.1")  # copytruncate: copied, then truncated in place
    with (logs / "p.jsonl").open("r+") as fh:
        fh.truncate(0)
    new = _rows(rng, START + timedelta(days=2), 5 * 3600, 200, "b")
    _write(logs / "p.jsonl", new, "a")
    rows += tail + new
    got = _rollup(config, capsys)
    assert _rolled(config) == _counted(rows)
    assert got["source_hours_why"] == {"appended": 1} and got["source_hours_rebuilt"] == 1
    assert _rollup(config, capsys)["source_hours_rebuilt"] == 0


def _health(config: Path, capsys) -> int:
    at = (START + timedelta(days=3)).isoformat() + "Z"
    assert main(["health", "m", "--config", str(config), "--at", at, "--window", "3d", "--format", "json"]) == 0
    return sum(r["requests"] for r in json.loads(capsys.readouterr().out)["table"])


def _hour_files(config: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in (config.parent / "store" / "rollups").rglob("*.parquet")}


def test_the_console_reads_the_rotated_rows_from_the_rollup_as_the_store_counts_them(tmp_path, capsys, monkeypatch):
    """The store read the log before its rotation (its tailer follows the renamed file); the `rollup` command's hours
    then hold what the store holds, so the console's own check of them against the store rewrites none."""
    monkeypatch.chdir(tmp_path)
    logs, config, rows = _built(tmp_path, capsys, "logs/p.jsonl")
    assert _health(config, capsys) == len(rows)  # the store has read the log as it was
    rng = np.random.default_rng(10)
    tail = _rows(rng, HOUR, 3600, 6, "tail")
    _write(logs / "p.jsonl", tail, "a")
    os.rename(logs / "p.jsonl", logs / "p.jsonl.old")
    new = _rows(rng, START + timedelta(days=2), 5 * 3600, 100, "b")
    _write(logs / "p.jsonl", new)
    rows += tail + new
    _rollup(config, capsys)
    assert _rolled(config) == _counted(rows)
    before = _hour_files(config)
    assert _health(config, capsys) == len(rows)
    assert _hour_files(config) == before  # nothing the console had to build again from the store
