"""A `rollup` killed midway (kill -9, out of memory) keeps the record of the sources it read with its first chunk,
so rows that land in the hours it built before the resume are rebuilt. The rollups' counts equal a polars count.

Found by the twenty-fifth session's probe (finding 4): a first build killed after some days left `built_until` and
no record; late rows appended before the resume were never rolled up, by that run or any later one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from console import store_rollups as ro
from console.cli import main

SRC = str(Path(__file__).resolve().parents[1] / "src")
START = datetime(2026, 10, 1)
DAYS = 40


def _rows(day: int, n: int, tag: str, hour: int | None = None) -> list[dict]:
    base = START + timedelta(days=day)
    return [{"ts": (base + (timedelta(hours=hour, seconds=i) if hour is not None else
                           timedelta(seconds=i * 86400 // n))).isoformat() + "Z",
             "model": "m", "version": "1", "request_id": f"{tag}-{i}", "latency_ms": 5.0, "prediction": "1",
             "x": float(i % 7)} for i in range(n)]


def test_late_rows_before_the_resume_of_a_killed_first_build_are_rolled_up(tmp_path, capsys):
    log = tmp_path / "p.jsonl"
    with log.open("w") as fh:
        for d in range(DAYS):
            fh.write("".join(json.dumps(r) + "\n" for r in _rows(d, 400, f"d{d}")))
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[rollups]\nmin_rows = 0\n[[logs]]\nkind = "predictions"\n'
                      'path = "p.jsonl"\n[models.m]\ntask = "classification"\n', encoding="utf-8")
    state = tmp_path / "store" / "rollups" / "_state.json"
    proc = subprocess.Popen([sys.executable, "-m", "console", "--config", str(config), "rollup", "--no-ready"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": SRC})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if "built_until" in state.read_text():
                break
        except OSError:
            pass
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    built = json.loads(state.read_text())
    assert datetime.fromisoformat(built["built_until"]) < START + timedelta(days=DAYS - 1), built  # killed midway
    late = _rows(0, 50, "late", hour=5)  # rows of the first day, built before the kill
    with log.open("a") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in late))
    assert main(["rollup", "--config", str(config), "--no-ready", "--format", "json"]) == 0
    capsys.readouterr()
    t = ro.read_table(tmp_path / "store" / "rollups", "m", START, START + timedelta(days=DAYS),
                      columns=["segment", "rows"])
    rolled = pl.from_arrow(t).filter(pl.col("segment").is_null())
    first_hour = START + timedelta(hours=5)
    got = int(rolled.filter(pl.col("hour") == first_hour)["rows"].sum())
    truth = sum(1 for r in _rows(0, 400, "d0") + late
                if first_hour <= datetime.fromisoformat(r["ts"].rstrip("Z")) < first_hour + timedelta(hours=1))
    assert got == truth and int(rolled["rows"].sum()) == DAYS * 400 + 50


def test_a_rollup_file_left_empty_by_a_crash_is_built_again_and_counts_hold(tmp_path, capsys):
    """A crash or power loss right after a rollup file was renamed can leave it empty (its blocks never written:
    the rename is not fsynced). Every read reaching it failed with "ArrowInvalid: Parquet magic bytes not found",
    exit 4; it now counts as absent, its hours are built again, and the counts are the log's."""
    log = tmp_path / "p.jsonl"
    with log.open("w") as fh:
        for d in range(3):
            fh.write("".join(json.dumps(r | {"status": 500 if i % 9 == 0 else 200}) + "\n"
                             for i, r in enumerate(_rows(d, 400, f"d{d}"))))
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[rollups]\nmin_rows = 0\n[[logs]]\nkind = "predictions"\n'
                      'path = "p.jsonl"\n[models.m]\ntask = "classification"\n', encoding="utf-8")
    args = ["--config", str(config), "--at", "latest", "health", "m", "--window", "3d", "--format", "json"]
    assert main(args) == 0
    capsys.readouterr()
    [middle] = [f for f in ro.files(tmp_path / "store" / "rollups", "m") if f.start == START + timedelta(days=1)]
    middle.path.write_bytes(b"")  # what the crash left
    assert main(args) == 0, capsys.readouterr().err
    [row] = json.loads(capsys.readouterr().out)["table"]
    assert (row["requests"], row["errors"]) == (3 * 400, sum(1 for i in range(400) if i % 9 == 0) * 3)


def test_a_day_file_left_empty_by_a_crash_is_read_from_its_hours(tmp_path, capsys):
    """The same for a compacted day file: a read of whole days (`days=True`, as a long window's merge reads them)
    failed with "ArrowInvalid: Parquet file size is 0 bytes"; it now reads the day's hour rows."""
    log = tmp_path / "p.jsonl"
    with log.open("w") as fh:
        for d in range(3):
            fh.write("".join(json.dumps(r) + "\n" for r in _rows(d, 400, f"d{d}")))
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[rollups]\nmin_rows = 0\n[[logs]]\nkind = "predictions"\n'
                      'path = "p.jsonl"\n[models.m]\ntask = "classification"\n', encoding="utf-8")
    assert main(["rollup", "--config", str(config), "--no-ready"]) == 0
    capsys.readouterr()
    folder = tmp_path / "store" / "rollups"
    days = ro.day_files(folder, "m")
    assert days
    for f in days:
        f.path.write_bytes(b"")  # what the crash left
    t = ro.read_table(folder, "m", START, START + timedelta(days=3), days=True, columns=["segment", "rows"])
    rolled = pl.from_arrow(t).filter(pl.col("segment").is_null())
    assert int(rolled["rows"].sum()) == 3 * 400
