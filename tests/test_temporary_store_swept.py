"""A process that cannot write the shared store works in a temporary store of its own (a full disk, a read-only
mount), removed as it exits; one killed outright (SIGKILL, the OOM killer) runs no finalizer, and its temporary
store (every log parsed again: a copy of the rows) stayed in $TMPDIR for good, one per killed process. The next
process working in a temporary store now removes those whose process is gone, and leaves a live one's alone.

Found by a many-process probe (helper h4, 2026-12-06): commands SIGKILLed while the store's disk was full left
14 MB each in $TMPDIR. Real processes: a store path no process can create (under a file), one process killed
inside its temporary store, one still in its own, then a real `snapshot` beside them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")

INSIDE = """
import sys, time
from console.config import parse_file
from console.warehouse import Warehouse
w = Warehouse(parse_file(sys.argv[1]))
print(w.dir, flush=True)
w.refresh()
print("read", flush=True)
time.sleep(120)
"""


def _inside(config: Path, env: dict) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, "-c", INSIDE, str(config)], stdout=subprocess.PIPE, text=True, env=env)
    folder = Path(proc.stdout.readline().strip())
    assert proc.stdout.readline().strip() == "read"
    return proc, folder


def _idle(folder: Path) -> None:
    """Its last change long ago (one changed in the last minutes may be another PID namespace's)."""
    past = time.time() - 3600
    for path in (folder, *folder.iterdir()):
        os.utime(path, (past, past))


def test_a_temporary_store_left_by_a_killed_process_is_removed_by_the_next(tmp_path):
    (tmp_path / "blocker").write_text("a file where the store's folder would go\n", encoding="utf-8")
    rows = [{"ts": "2026-11-20T10:00:00Z", "model": "m", "version": "1", "request_id": f"r{i}", "latency_ms": 5.0,
             "status": 200, "prediction": "1"} for i in range(300)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "blocker" / "store"}"\n'
                      f'[[logs]]\nkind = "predictions"\npath = "{tmp_path / "p.jsonl"}"\n', encoding="utf-8")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, PYTHONPATH=SRC, TMPDIR=str(tmp), XDG_CACHE_HOME=str(tmp_path / "cache"))
    killed, dead = _inside(config, env)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    live, alive = _inside(config, env)
    try:
        assert dead.parent == tmp and list(dead.rglob("*.parquet"))  # the kill left its segments, as any SIGKILL does
        _idle(dead)
        _idle(alive)
        done = subprocess.run([sys.executable, "-m", "console", "--config", str(config), "snapshot", "--format", "json"],
                              capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert "working in a temporary store" in done.stderr
        assert json.loads(done.stdout)["counts"]["predictions"] == len(rows)
        assert not dead.exists()
        assert alive.is_dir() and list(alive.rglob("*.parquet"))
        assert [p.name for p in tmp.iterdir()] == [alive.name]  # the snapshot's own went as it exited
    finally:
        live.kill()
        live.wait(timeout=30)
