"""How fast the console is gone: q, SIGTERM, SIGHUP and a closed terminal, sent right after the first frame
of the demo (the monitoring worker is then mid-query). Prints seconds from the request to the process's end.

    python benchmarks/bench_quit.py [--runs 3] [--dir /tmp/bench-quit]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from pathlib import Path

import pexpect

SRC = str(Path(__file__).resolve().parents[1] / "src")


def gone(pid: int, limit: float = 10.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done:
            return True
        time.sleep(0.005)
    return False


def once(config: Path, how: str, cache: Path) -> float:
    env = dict(os.environ, PYTHONPATH=SRC, TERM="xterm-256color", LANG="C.UTF-8", XDG_CACHE_HOME=str(cache))
    child = pexpect.spawn(sys.executable, ["-m", "console", "--config", str(config)], env=env, dimensions=(40, 120),
                          encoding="utf-8", codec_errors="replace", timeout=180)
    child.expect("delivery-eta")
    start = time.monotonic()
    if how == "q":
        child.send("q")
    elif how == "close":
        os.close(child.child_fd)
        child.child_fd, child.closed = -1, True
    else:
        os.kill(child.pid, getattr(signal, how))
    if not gone(child.pid):
        os.kill(child.pid, signal.SIGKILL)
        return float("inf")
    return time.monotonic() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/bench-quit")
    args = ap.parse_args()
    sys.path.insert(0, SRC)
    from console.demo.workspace import build_workspace

    config = build_workspace(Path(args.dir) / "ws")
    print(f"{'how':8} {'median s':>9} {'max s':>7}  ({args.runs} runs, demo workspace, right after the first frame)")
    for how in ("q", "SIGTERM", "SIGHUP", "close"):
        times = [once(config, how, Path(args.dir) / f"cache-{how}-{i}") for i in range(args.runs)]
        print(f"{how:8} {statistics.median(times):9.2f} {max(times):7.2f}")


if __name__ == "__main__":
    main()
