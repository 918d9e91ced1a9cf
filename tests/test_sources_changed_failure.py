"""A refresh that fails after the configured sources changed (a log it cannot read, a disk that fills) leaves a store
the next command can read: the old segments went before anything was committed, so the manifest on disk named
deleted files and every later command failed with FileNotFoundError until the cache was deleted by hand (found by
the first-user probe: a labels log with integer request ids made the refresh fail right after it was added)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.config import Config, LogSource
from console.warehouse import Warehouse


def _log(path: Path, rows: int, ids) -> None:
    path.write_text("".join(json.dumps({"ts": f"2026-11-30T10:{i // 60:02d}:{i % 60:02d}Z", "model": "m",
                                        "version": "1", "request_id": ids(i), "prediction": "1",
                                        "latency_ms": 10}) + "\n" for i in range(rows)), encoding="utf-8")


def _labels(path: Path, ids) -> None:
    path.write_text("".join(json.dumps({"request_id": ids(i), "label": "1", "ts": "2026-11-30T11:00Z"}) + "\n"
                            for i in range(0, 300, 2)), encoding="utf-8")


def _store(tmp_path: Path, *logs: LogSource) -> Warehouse:
    return Warehouse(Config(source=None, root=tmp_path, logs=logs), tmp_path / "store", grace_s=0.0)


def test_a_refresh_failing_after_the_sources_changed_leaves_a_readable_store(tmp_path):
    _log(tmp_path / "p.jsonl", 300, str)
    _labels(tmp_path / "l.jsonl", str)
    preds, labels = LogSource("predictions", str(tmp_path / "p.jsonl")), LogSource("labels", str(tmp_path / "l.jsonl"))
    first = _store(tmp_path, preds)
    first.refresh()
    assert first.counts()[0] == 300
    first.close()

    changed = _store(tmp_path, preds, labels)

    def disk_full(pending, written):
        raise OSError("disk full before the segments")

    changed._flush = disk_full
    with pytest.raises(OSError):
        changed.refresh()
    changed.close()

    again = _store(tmp_path, preds, labels)  # the next command: reads the logs again, from the start
    again.refresh()
    assert again.counts()[:2] == (300, 150)
    again.close()


def test_a_labels_log_with_integer_request_ids_is_read_as_their_text(tmp_path):
    """An export from a database writes ids as JSON numbers: they join the predictions' text ids (the fast JSONL
    reader asked a number column whether it started with "[" and failed the whole refresh)."""
    _log(tmp_path / "p.jsonl", 300, str)
    _labels(tmp_path / "l.jsonl", int)
    store = _store(tmp_path, LogSource("predictions", str(tmp_path / "p.jsonl")),
                   LogSource("labels", str(tmp_path / "l.jsonl")))
    store.refresh()
    assert store.counts()[:2] == (300, 150)
    store.close()
