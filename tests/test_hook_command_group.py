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


def test_a_command_whose_output_is_not_utf8_is_judged_by_its_exit_code(sqlite_uri, tmp_path):
    """Actions probe: a deploy command that applied the change and exited 0, printing a byte that is not UTF-8 (a
    Latin-1 name, a tool's progress bar), raised UnicodeDecodeError in the console: the promotion was recorded as
    "unknown ... (UnicodeDecodeError)", exit 5, and the alias never moved although the deploy had gone out. The exit
    code is the command's answer; its output is kept as far as it can be read."""
    from conftest import mlflow_client, seed_model, unique
    from console.actions.operator import Operator
    from console.actions.policy import User
    from console.config import parse
    from console.sources.registry import Registry

    ok = hooks.run_command("deploy", Webhook(command=("sh", "-c", r"cat >/dev/null; printf 'rolled out caf\351\n'"),
                                             timeout_s=5.0), {"model": "m"}, "key-4")
    assert ok.ok and not ok.unknown and ok.response == "rolled out caf\ufffd\n", ok
    failed = hooks.run_command("deploy", Webhook(command=("sh", "-c", r"printf 'quota \377 exceeded\n' >&2; exit 3"),
                                                 timeout_s=5.0), {"model": "m"}, "key-5")
    assert not failed.ok and not failed.unknown and failed.message == "deploy command exited 3: quota \ufffd exceeded"

    name = unique("bytes")
    seed_model(sqlite_uri, name, 2, aliases={"champion": "1"})
    cfg = parse({"audit": {"path": str(tmp_path / "audit.jsonl")},
                 "webhooks": {"deploy": {"command": ["sh", "-c", r"cat >/dev/null; printf 'ok \377\376\n'"]},
                              "retrain": {"command": ["sh", "-c", r"cat >/dev/null; printf 'queued \377\n'"]}}},
                root=tmp_path)
    op = Operator(cfg, Registry(sqlite_uri), user=User("alice", ()), backoff_s=0.01, lease_pause_s=0.05)
    promoted = op.promote(name, "2", "production", expected_from="1", reason="better")
    assert promoted.status == "done", promoted.message
    assert {k: str(v) for k, v in mlflow_client(sqlite_uri).get_registered_model(name).aliases.items()} == \
        {"champion": "2"}
    retrained = op.retrain(name, "production", reason="drift")
    assert retrained.status == "done", retrained.message


def test_a_command_printing_50_mb_is_read_to_its_end_and_kept_to_64_kib(sqlite_uri, tmp_path):
    """Carried item 3 of the fourth store probe: a command hook's output was read whole (`communicate`), where an HTTP
    hook's body stops at 64 KiB: a deploy script printing a gigabyte took a gigabyte of the console. Now each output
    is read to its end (the command is not blocked on a full pipe) and only its first 64 KiB are kept, the result
    saying so; a hook printing exactly 64 KiB is not said to be cut."""
    from conftest import mlflow_client, seed_model, unique
    from console.actions import audit
    from console.actions.operator import Operator
    from console.actions.policy import User
    from console.config import parse
    from console.sources.registry import Registry

    limit = hooks.BODY_MAX_BYTES
    exact = hooks.run_command("deploy", Webhook(command=("sh", "-c", f"cat >/dev/null; yes | head -c {limit}"),
                                                timeout_s=30.0), {"model": "m"}, "key-6")
    assert exact.ok and exact.message == "deploy command succeeded", exact.message
    loud = hooks.run_command("deploy", Webhook(command=("sh", "-c", f"cat >/dev/null; yes | head -c {limit + 1} >&2;"
                                                        " exit 3"), timeout_s=30.0), {"model": "m"}, "key-7")
    assert not loud.ok and loud.message == "deploy command exited 3: y (its output cut at 64 KiB: stderr read to " \
                                           "the end, not kept)", loud.message

    name = unique("loud")
    seed_model(sqlite_uri, name, 2, aliases={"champion": "1"})
    cfg = parse({"audit": {"path": str(tmp_path / "audit.jsonl")},
                 "webhooks": {"deploy": {"command": ["sh", "-c", "cat >/dev/null; yes | head -c 50000000; echo done"],
                                         "timeout_s": 60}}}, root=tmp_path)
    op = Operator(cfg, Registry(sqlite_uri), user=User("alice", ()), backoff_s=0.01, lease_pause_s=0.05)
    promoted = op.promote(name, "2", "production", expected_from="1", reason="better")
    assert promoted.status == "done", promoted.message
    assert {k: str(v) for k, v in mlflow_client(sqlite_uri).get_registered_model(name).aliases.items()} == \
        {"champion": "2"}
    (outcome,) = [r for r in audit.read(tmp_path / "audit.jsonl", model=name) if r.get("outcome")]
    assert outcome["outcome"] == "done"
    hook = outcome["hooks"]["deploy"]
    assert hook["ok"] and hook["message"] == "deploy command succeeded (its output cut at 64 KiB: stdout read to the " \
                                             "end, not kept)", hook
    assert hook["response"].startswith("y\ny\n") and "done" not in hook["response"]  # its start, kept
