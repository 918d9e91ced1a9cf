"""A rollup build keeps each text log's parsed pieces in a temporary folder (`rollup_text.parsed_once`, about 0.6
times the logs' size) and removes it as it ends; a build killed outright (SIGKILL: the OOM killer, a cron timeout's
`kill -9`) runs no `finally`, and its folder stayed in the temporary folder for good, one per killed run. A build
now removes the folders of builds whose process is gone, and leaves a live build's alone. Real processes: one is
killed with SIGKILL inside its build, one is still building; then a real `rollup` runs beside them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
T0 = datetime(2026, 11, 20)

INSIDE = """
import sys, time
from console import rollup_text
with rollup_text.parsed_once():
    print(rollup_text._spool.folder, flush=True)
    time.sleep(120)
"""


def _building(tmp: Path) -> tuple[subprocess.Popen, Path]:
    """A process inside a build's spool; its folder (with a piece in it, as a build's has)."""
    proc = subprocess.Popen([sys.executable, "-c", INSIDE], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=SRC, TMPDIR=str(tmp)))
    folder = Path(proc.stdout.readline().strip())
    (folder / "1.arrow").write_bytes(b"x" * 1000)
    return proc, folder


def _idle(folder: Path) -> None:
    """Its last change long ago, its pieces' too (a folder changed in the last minutes may be another PID
    namespace's build)."""
    past = time.time() - 3600
    for path in (folder, *folder.iterdir()):
        os.utime(path, (past, past))


def test_a_build_removes_the_spool_of_a_killed_build_and_keeps_a_live_ones(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    killed, dead_folder = _building(tmp)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    live, live_folder = _building(tmp)
    other = tmp / "mlops-console-rollup-notapid"  # not named for a process: never judged
    other.mkdir()
    for folder in (dead_folder, live_folder, other):
        _idle(folder)
    assert dead_folder.is_dir() and live_folder.is_dir()  # the kill left it, as any SIGKILL does
    try:
        rows = [{"ts": f"{T0 + timedelta(minutes=3 * i):%Y-%m-%dT%H:%M:%S}Z", "model": "m", "version": "1",
                 "request_id": f"r{i}", "latency_ms": 10 + i % 7, "prediction": "1"} for i in range(500)]
        (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (tmp_path / "c.toml").write_text('[store]\npath = "store"\n[rollups]\npath = "rollups"\n'
                                         '[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
                                         '[models.m]\ntask = "classification"\n')
        done = subprocess.run([sys.executable, "-m", "console", "--config", str(tmp_path / "c.toml"), "rollup"],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path,
                              env=dict(os.environ, PYTHONPATH=SRC, TMPDIR=str(tmp)))
        assert done.returncode == 0, done.stderr[-2000:]
        assert list((tmp_path / "rollups").rglob("*.parquet")), "the build wrote no rollup"
        assert not dead_folder.exists()
        assert live_folder.is_dir() and (live_folder / "1.arrow").is_file()
        assert other.is_dir()
        # the build's own spool is gone too: what is left is the live build's and the one never judged
        assert sorted(p.name for p in tmp.iterdir()) == sorted([live_folder.name, other.name])
    finally:
        live.kill()
        live.wait(timeout=30)
