"""SageMaker ground truth read before the capture it labels joins, or is set aside, once the capture is read.

Ground truth often lands in S3 before the capture file holding its request is read (captures are flushed hourly;
a refresh may list the ground-truth prefix first). Was: such a record was kept as keyed and never checked again,
so one label for a 2-row capture, two for a 1-row one, or two for a 3-row one were stored under keys joining
nothing, or two rows of three, with no word, where read after the capture they are set aside with both counts.
Here the records are written first, refreshed, then the captures (in two files: two refreshes of one store, two
steps of one refresh, or new processes, the CLI, reading quality from the rollups), and every count is the hand
count of `test_sagemaker_ground_truth_events` (the same 8 captures, 14 rows, 8 records): 8 labels join, accuracy
6/8, records 5, 6 and 8 set aside, each when its capture is read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_sagemaker_ground_truth_events import (ASIDE, CAPTURE, CAPTURE_OPTIONS, CAPTURES, JOINED, SRC, TRUTH, TRUTHS,
                                                _hand_quality, _truth, _write)

from console.config import Config, LogSource
from console.store import label_events
from console.warehouse import Warehouse

CAPTURE_2 = CAPTURE.replace("capture-0001", "capture-0002")
FIRST = CAPTURES[:5]  # ev-s1, ev-s2, ev-b3, ev-b2, ev-b4: record 5 (1 label, 2 rows) is set aside with these
REASON = "{}: not joined (one label per captured row, in order)"


def _config(root: Path) -> Config:
    return Config(source=None, root=root, logs=(
        LogSource("labels", str(root / "groundtruth/**/*.jsonl"), "sagemaker-ground-truth"),
        LogSource("predictions", str(root / "capture/**/*.jsonl"), "sagemaker-capture", options=CAPTURE_OPTIONS)))


def _read(w: Warehouse) -> tuple[dict, dict]:
    with w.cursor() as cur:
        labels = dict(cur.execute("SELECT request_id, label_num FROM labels").fetchall())
        aside = {int(loc): why for loc, why in cur.execute("SELECT location, reason FROM malformed").fetchall()}
    return labels, aside


def test_incremental_refreshes_join_each_record_when_its_capture_is_read(tmp_path):
    _write(tmp_path, TRUTH, TRUTHS)
    w = Warehouse(_config(tmp_path), tmp_path / "store")
    try:
        first = w.refresh()
        assert first.malformed == 0 and _read(w)[1] == {}  # no capture read: nothing to check yet
        _write(tmp_path, CAPTURE, FIRST)
        second = w.refresh()
        labels, aside = _read(w)
        assert labels == {rid: y for rid, _, y in JOINED[:7]}  # ev-s1, ev-s2, ev-b3 x3, ev-b2 x2
        assert aside == {5: REASON.format(ASIDE[5])} and second.malformed == 1
        _write(tmp_path, CAPTURE_2, CAPTURES[5:])
        third = w.refresh()
        labels, aside = _read(w)
    finally:
        w.close()
    assert labels == {rid: y for rid, _, y in JOINED}
    assert aside == {loc: REASON.format(why) for loc, why in ASIDE.items()} and third.malformed == 2


def test_a_backlog_committed_in_steps_checks_records_against_captures_read_after_a_step(tmp_path):
    """One refresh, the ground truth read first and each capture file committed as a step: the records of the
    second file's events were checked at the first step and kept as keyed (12 labels stored, 1 record set aside)."""
    _write(tmp_path, TRUTH, TRUTHS)
    _write(tmp_path, CAPTURE, FIRST)
    _write(tmp_path, CAPTURE_2, CAPTURES[5:])
    w = Warehouse(_config(tmp_path), tmp_path / "store")
    w.first_step_rows = w.step_rows = 1
    try:
        stats = w.refresh()
        assert w.steps == 2
        labels, aside = _read(w)
    finally:
        w.close()
    assert labels == {rid: y for rid, _, y in JOINED} and stats.rows["labels"] == len(JOINED)
    assert aside == {loc: REASON.format(why) for loc, why in ASIDE.items()} and stats.malformed == len(ASIDE)


def _cli(root: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": SRC, "XDG_CACHE_HOME": str(root / "cache"),
           "XDG_STATE_HOME": str(root / "state")}
    proc = subprocess.run([sys.executable, "-m", "console", "--config", str(root / "mlops-console.toml"), *args,
                           "--format", "json", "--at", "2026-11-30T13:00Z", "--window", "7d"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def _accuracy(joined: list[tuple[str, float, int]]) -> float:
    return sum((s >= 0.5) == (y == 1) for _, s, y in joined) / len(joined)


def test_cli_runs_and_rollups_count_what_joins_once_the_capture_is_read(tmp_path):
    """Each run a new process (a relaunch); `min_rows = 0` reads quality's closed hours from the store's rollups."""
    _write(tmp_path, TRUTH, TRUTHS)
    (tmp_path / "mlops-console.toml").write_text(
        f'[[logs]]\nkind = "labels"\npath = "{tmp_path}/groundtruth/**/*.jsonl"\nformat = "sagemaker-ground-truth"\n'
        f'[[logs]]\nkind = "predictions"\npath = "{tmp_path}/capture/**/*.jsonl"\nformat = "sagemaker-capture"\n'
        '[logs.options]\nfeatures = ["amount", "age"]\nthreshold = 0.5\nvariant_versions = { AllTraffic = "1" }\n'
        "[rollups]\nmin_rows = 0\n", encoding="utf-8")
    assert _cli(tmp_path, "snapshot")["counts"]["malformed"] == 0
    _write(tmp_path, CAPTURE, FIRST)  # hour 10 built with 7 labels: the rest of its rows, and a label, come next
    for joined, rows in ((JOINED[:7], 9), (JOINED, 14)):
        quality = _cli(tmp_path, "quality", "fraud-ep")
        assert quality["source"] == "rollups"
        now = quality["now"]
        assert (now["n"], now["n_labelled"]) == (rows, len(joined))
        assert abs(now["metrics"]["accuracy"] - _accuracy(joined)) < 1e-9
        _write(tmp_path, CAPTURE_2, CAPTURES[5:])
    hand = _hand_quality()
    for name in ("accuracy", "precision", "recall"):
        assert abs(now["metrics"][name] - hand[name]) < 1e-9, name
    snap = _cli(tmp_path, "snapshot")
    assert (snap["counts"]["labels"], snap["counts"]["malformed"]) == (8, 3)
    assert {int(m["first_location"]): m["reason"] for m in snap["malformed_by"]} == {
        loc: REASON.format(why) for loc, why in ASIDE.items()}


def test_a_record_whose_capture_never_comes_is_kept_as_keyed_after_the_wait(tmp_path):
    """A capture sampled out never comes: its record waits `label_events.WAIT_S`, then is kept as keyed (joining
    nothing), so what waits is bounded by a day of ground truth."""
    now = [1_800_000_000.0]
    _write(tmp_path, TRUTH, [_truth("ev-gone", "[1, 0]", "JSON"), _truth("ev-gone-2", "1", "CSV")])
    _write(tmp_path, CAPTURE, [])
    w = Warehouse(_config(tmp_path), tmp_path / "store", wall=lambda: now[0])
    try:
        first = w.refresh()
        assert _read(w) == ({}, {})
        path = str(tmp_path / TRUTH)
        assert f"{path}: 2 ground-truth record(s) wait for the capture of their event: joined or set aside once it " \
               "is read" in first.notes
        now[0] += label_events.WAIT_S - 1
        assert w.refresh().rows == {} and _read(w) == ({}, {})
        now[0] += 1
        stats = w.refresh()
        assert _read(w) == ({"ev-gone#0": 1, "ev-gone#1": 0, "ev-gone-2": 1}, {})
        assert stats.rows == {"labels": 3}
        assert f"{path}: 2 ground-truth record(s) kept as keyed, unchecked: no capture of their event read within " \
               "24 h" in stats.notes
    finally:
        w.close()


def test_with_predictions_read_in_place_only_a_record_is_kept_at_once(tmp_path):
    """Predictions read in place (a Parquet log) are rows the check does not see: a record waiting for them would
    wait a day for nothing, so it is kept as keyed at once, joining the row it names, as before."""
    from datetime import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "preds").mkdir()
    pq.write_table(pa.table({"ts": [datetime(2026, 11, 30, 10)] * 2, "model": ["app"] * 2, "version": ["1"] * 2,
                             "request_id": ["r-1", "r-2"], "prediction": ["1", "0"]}), tmp_path / "preds" / "p.parquet")
    _write(tmp_path, TRUTH, [_truth("r-1", "1", "CSV"), _truth("r-2", "1", "CSV")])
    cfg = Config(source=None, root=tmp_path, logs=(
        LogSource("labels", str(tmp_path / "groundtruth/**/*.jsonl"), "sagemaker-ground-truth"),
        LogSource("predictions", str(tmp_path / "preds" / "p.parquet"), "parquet")))
    w = Warehouse(cfg, tmp_path / "store")
    try:
        stats = w.refresh()
        assert _read(w) == ({"r-1": 1, "r-2": 1}, {}) and stats.rows["labels"] == 2
        assert not [n for n in stats.notes if "wait" in n]
    finally:
        w.close()
