"""What the store learnt about each Parquet file it reads in place, kept across processes.

Without it every console and script re-scans every Parquet log on start, to learn what a previous
process already knew: that the file is clean (no row the conform rules refuse) and where its newest
row is. A fact is keyed by the file's identity and version (inode, size, mtime), so a rewritten file is
checked again. It is a cache, not a commit point: any process may write it, the last writer wins,
and a lost or damaged file only costs one re-scan.

Within a process it is shared by threads (a console's workers, the rollup catch-up's read-ahead): a save copies
the facts under a lock and writes the copy, so a fact learnt meanwhile by another thread neither breaks the save
("dictionary changed size during iteration", which failed the read that saved) nor is lost from the next one.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime
from pathlib import Path

from console.private_files import replace_private

NAME = "inplace-facts.json"


def version(path: str) -> list | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


class Facts:
    def __init__(self, folder: Path):
        self.path = folder / NAME
        self.dirty = False
        self._saved = time.monotonic()
        self._lock = threading.Lock()  # the facts, while a thread changes or copies them
        self._save_lock = threading.Lock()  # one save at a time: a later save writes a later copy
        try:
            self._data: dict[str, dict] = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(self._data, dict):
                self._data = {}
        except (OSError, ValueError):
            self._data = {}

    def get(self, key: str, path: str) -> dict | None:
        entry = self._data.get(key)
        return entry if entry is not None and entry.get("version") == version(path) else None

    def put(self, key: str, path: str, **facts) -> dict:
        entry = {"version": version(path), **facts}
        with self._lock:
            self._data[key] = entry
            self.dirty = True
        return entry

    def remembered(self, key: str):
        """A plain value kept under `key` (not tied to a file's version), or None."""
        entry = self._data.get(key)
        return entry.get("value") if isinstance(entry, dict) else None

    def remember(self, key: str, value) -> None:
        if value != self.remembered(key):
            with self._lock:
                self._data[key] = {"value": value}
                self.dirty = True

    def save(self, every: float | None = None) -> None:
        """Atomically, private; a store that cannot be written keeps the facts for this process only. `every`:
        only when that many seconds passed since the last save (a first scan of 120 files saved the growing file
        after each: 3 s of JSON at 100M rows); the caller saves once more when done."""
        with self._save_lock:
            with self._lock:
                if not self.dirty or every is not None and time.monotonic() - self._saved < every:
                    return
                self._saved = time.monotonic()
                data, self.dirty = dict(self._data), False  # entries are replaced, never changed in place
            try:
                replace_private(self.path, json.dumps(data, separators=(",", ":")))
            except OSError:
                with self._lock:
                    self.dirty = True  # kept for this process; a later save tries again


def ts_text(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def ts_value(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
