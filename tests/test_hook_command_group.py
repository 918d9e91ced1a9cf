"""A command hook that times out is stopped with everything it started: killing the command alone left its children
running (a deploy script's `sleep 20; apply` went on after the console had said "timed out")."""

from __future__ import annotations

import os
import time
from pathlib import Path

from console.actions import hooks
from console.config import Webhook


def _alive(pid: int) -> bool:
    """Running (a zombie, killed and not yet reaped by an init that does not reap, is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_timed_out_command_takes_its_children_with_it(tmp_path):
    pid_file = tmp_path / "child.pid"
    hook = Webhook(command=("sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"), timeout_s=1.0)
    t0 = time.monotonic()
    got = hooks.run_command("deploy", hook, {"model": "m"}, "key-1")
    assert time.monotonic() - t0 < 10
    assert not got.ok and got.unknown and "timed out" in got.message
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the command's child outlived its timeout"


def test_a_command_that_finishes_keeps_its_output(tmp_path):
    hook = Webhook(command=("sh", "-c", 'cat > /dev/null; echo \'{"job": "j1"}\'; echo warn >&2'), timeout_s=5.0)
    got = hooks.run_command("deploy", hook, {"model": "m"}, "key-2")
    assert got.ok and got.response == {"job": "j1"}
    failed = hooks.run_command("deploy", Webhook(command=("sh", "-c", "echo nope >&2; exit 3"), timeout_s=5.0),
                               {"model": "m"}, "key-3")
    assert not failed.ok and not failed.unknown and failed.message.endswith("exited 3: nope")
    assert os.environ.get("IDEMPOTENCY_KEY") is None
