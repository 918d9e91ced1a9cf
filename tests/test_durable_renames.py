"""The store's immutable files (rollup hours and days, the rollup state, segments) are on the disk before their
names are: fsynced, then renamed, then their folder fsynced. Carried item 2 of the fourth store probe: rollup files
were renamed into place unflushed, so a crash could leave a named, empty hour (read as absent since df219ce, but the
day file replaces its hours' files and is never rewritten). No crash can be staged here: the system calls are
observed (not replaced) and their order checked by inode, which is the most a test can see of it."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta

import pyarrow.parquet as pq
import pytest

from console import store_rollups as ro
from console.config import Config, LogSource
from console.warehouse import Warehouse

START = datetime(2026, 11, 20)


@pytest.fixture
def syscalls(monkeypatch):
    """Every fsync (by the inode it flushed) and rename (by the inode it named), in order."""
    seen: list[tuple[str, int]] = []
    fsync, replace = os.fsync, os.replace

    def observed_fsync(fd):
        seen.append(("fsync", os.fstat(fd).st_ino))
        return fsync(fd)

    def observed_replace(src, dst, *args, **kwargs):
        seen.append(("rename", os.stat(src).st_ino))
        return replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", observed_fsync)
    monkeypatch.setattr(os, "replace", observed_replace)
    return seen


def _durable(seen: list[tuple[str, int]], path) -> None:
    """`path` was fsynced before it was renamed to its name, and its folder fsynced after."""
    ino, folder = os.stat(path).st_ino, os.stat(os.path.dirname(path)).st_ino
    renamed = seen.index(("rename", ino))
    assert ("fsync", ino) in seen[:renamed], f"{path} renamed into place before it was flushed"
    assert ("fsync", folder) in seen[renamed:], f"the rename of {path} was not flushed"


def test_rollup_hours_days_and_state_are_flushed_before_they_are_named(tmp_path, syscalls):
    table = ro.empty_table(ro.ModelSpec())
    for path in ro.write({"fraud": table, "eta": table}, tmp_path, START, START + timedelta(hours=1)):
        _durable(syscalls, path)
        assert pq.read_table(path).num_rows == 0  # whole and readable
    day = ro._write_day(tmp_path, "fraud", START, table, "s")
    _durable(syscalls, day)
    ro.save_state(tmp_path, {"built_until": START.isoformat()})
    _durable(syscalls, tmp_path / ro.STATE)
    assert ro.load_state(tmp_path)["built_until"] == START.isoformat()


def test_a_segment_is_named_on_the_disk_before_the_manifest_names_it(tmp_path, syscalls):
    rows = [{"ts": f"{START + timedelta(minutes=i):%Y-%m-%dT%H:%M:%S}Z", "model": "m", "version": "1",
             "request_id": f"r{i}", "latency_ms": 5.0 + i} for i in range(50)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    w = Warehouse(Config(source=None, root=tmp_path, logs=(LogSource(kind="predictions", path=str(tmp_path / "p.jsonl")),)),
                  tmp_path / "store")
    try:
        w.refresh()
        (segment,) = w.manifest.segments["predictions"]
        _durable(syscalls, w.dir / segment)
        manifest = w.dir / "manifest.json"
        named = syscalls.index(("rename", os.stat(manifest).st_ino))
        assert ("fsync", os.stat(w.dir / "predictions").st_ino) in syscalls[:named]
        assert pq.read_table(w.dir / segment).num_rows == len(rows)
    finally:
        w.close()
