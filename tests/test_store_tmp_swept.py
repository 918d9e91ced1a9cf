"""A refresh killed outright (SIGKILL, the OOM killer) while it writes a segment leaves the half-written file
(`<kind>/<id>.parquet.tmp`, named by no manifest) in the store. Only a merge swept such files, so a store with no
merge due kept them for good: 14 catch-ups SIGKILLed at random moments left 67 MB in a probe (helper h4,
2026-12-06). The next refresh now removes them once they are older than a merge could be writing one (RETIRE_S),
and leaves a fresh one (another process's merge under way) alone. Real processes and a hand count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from console.store.place import RETIRE_S

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _snapshot(config: Path, tmp_path: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "console", "--config", str(config), "snapshot", "--format", "json"],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=SRC, XDG_CACHE_HOME=str(tmp_path / "cache")))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    return json.loads(done.stdout)["counts"]


def test_a_segment_left_half_written_by_a_killed_refresh_is_removed_by_the_next(tmp_path):
    rows = [{"ts": "2026-11-20T10:00:00Z", "model": "m", "version": "1", "request_id": f"r{i}", "latency_ms": 5.0,
             "status": 200, "prediction": "1"} for i in range(200)]
    log = tmp_path / "p.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in rows[:120]), encoding="utf-8")
    store = tmp_path / "store"
    config = tmp_path / "c.toml"
    config.write_text(f'[store]\npath = "{store}"\n[[logs]]\nkind = "predictions"\npath = "{log}"\n', encoding="utf-8")
    assert _snapshot(config, tmp_path)["predictions"] == 120
    # what a writer killed inside `merge.write` leaves: a segment's first bytes under its temporary name
    stale = store / "predictions" / "0123456789abcdef0123456789abcdef.parquet.tmp"
    stale.write_bytes(b"PAR1" + b"\0" * 4096)
    past = time.time() - RETIRE_S - 60
    os.utime(stale, (past, past))
    fresh = store / "labels" / "fedcba9876543210fedcba9876543210.parquet.tmp"  # a merge may be writing this one now
    fresh.write_bytes(b"PAR1")
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in rows[120:]))
    assert _snapshot(config, tmp_path)["predictions"] == len(rows)
    assert not stale.exists()
    assert fresh.exists()
