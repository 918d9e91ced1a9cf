"""Under a file-size limit (`ulimit -f`) the store's manifest could not be written: segments are written in pieces
that fit (1d99a4a), but the manifest is one file naming every segment and every log's cursor, and its EFBIG ended the
command with "OSError: [Errno 27] File too large", exit 4. A store that cannot be written says so and the command
works on (README: a full disk alike): the same answers as without the limit, one note line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

from console import exit_codes

T0 = datetime(2026, 11, 30, 8, 0)
LIMIT = 8 << 10  # `ulimit -f 8`: 8 KiB


def _limited(limit: int):
    """For `preexec_fn`: the child may write no file past `limit` bytes. Python ignores SIGXFSZ, so a write past it
    fails with EFBIG instead of killing the process."""
    import resource

    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_manifest_past_the_file_size_limit_is_a_note_and_the_numbers(tmp_path):
    from conftest import SRC

    logs = tmp_path / "logs"
    logs.mkdir()
    n_files, per_file = 60, 10  # a cursor per file: the manifest outgrows 8 KiB, each segment's pieces do not
    for f in range(n_files):
        rows = [{"ts": f"{T0 + timedelta(minutes=f * per_file + i):%Y-%m-%dT%H:%M:%S}Z", "model": "m", "version": "1",
                 "request_id": f"r{f}-{i}", "latency_ms": 10 + (f * 7 + i) % 50,
                 "status": "error" if (f + i) % 9 == 0 else "ok"} for i in range(per_file)]
        (logs / f"p{f:03d}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    answers, errs = [], []
    for name, preexec in (("limited", _limited(LIMIT)), ("free", None)):
        cfg = tmp_path / f"{name}.toml"
        cfg.write_text(f'[store]\npath = "store-{name}"\n[[logs]]\nkind = "predictions"\npath = "logs/*.jsonl"\n')
        env = {**os.environ, "PYTHONPATH": SRC}
        done = subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), "--at", "2026-11-30T20:00Z",
                               "health", "m", "--window", "24h", "--format", "json"], capture_output=True, text=True,
                              env=env, preexec_fn=preexec, timeout=600)
        assert done.returncode == exit_codes.OK, done.stderr
        answers.append(json.loads(done.stdout))
        errs.append(done.stderr)
    got, want = answers
    assert got == want
    assert sum(v["requests"] for v in got["table"]) == n_files * per_file  # every row, counted once
    [line] = errs[0].strip().splitlines()
    assert "cannot be written (File too large)" in line and "Error" not in line, line
    assert errs[1].strip() == ""
    # the shared store was left as committed before (nothing: no manifest fitted), with no file past the limit
    assert all(p.stat().st_size <= LIMIT for p in (tmp_path / "store-limited").rglob("*") if p.is_file())
    assert (tmp_path / "store-free" / "manifest.json").stat().st_size > LIMIT  # the limit was reached, as meant
