"""Bytes the console writes to the terminal per minute in steady state, at 120x40, while logs grow.

    PYTHONPATH=src python benchmarks/bench_tty_bytes.py [--seconds 60] [--refresh 5] [--rate 20]

Runs `python -m console` in a pty (pexpect), waits for the overview, lets it settle, then counts every
byte read from the pty for --seconds while a thread appends --rate prediction rows per second to the
workspace's log. Prints bytes/minute and bytes per refresh.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from ui_fixtures import MODELS, build_workspace  # noqa: E402


def appender(path: Path, rate: float, stop: threading.Event) -> None:
    i = 10_000_000
    while not stop.is_set():
        now = datetime.now(UTC).replace(tzinfo=None)
        with open(path, "a", encoding="utf-8") as fh:
            for _ in range(max(1, int(rate))):
                i += 1
                model = MODELS[i % len(MODELS)]
                fh.write(json.dumps({"ts": now.isoformat() + "Z", "model": model, "version": "3",
                                     "request_id": f"b{i}", "environment": "production",
                                     "latency_ms": 20 + i % 37, "status": "ok"}) + "\n")
        stop.wait(1.0)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--refresh", type=float, default=5.0)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--settle", type=float, default=8.0)
    ap.add_argument("--term", default="xterm-256color")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-tty-"))
    cfg = build_workspace(work, refresh_seconds=args.refresh, now=datetime.now(UTC).replace(tzinfo=None))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), TERM=args.term, LANG="C.UTF-8",
               TEXTUAL_ANIMATIONS="none")
    child = pexpect.spawn(sys.executable, ["-m", "console", "--config", str(cfg)], env=env, dimensions=(40, 120),
                          timeout=60)
    child.expect(b"fraud-detector")
    stop = threading.Event()
    writer = threading.Thread(target=appender, args=(work / "logs" / "predictions.jsonl", args.rate, stop),
                              daemon=True)
    writer.start()
    end = time.monotonic() + args.settle
    while time.monotonic() < end:  # drain start-up output
        try:
            child.read_nonblocking(65536, timeout=0.2)
        except pexpect.TIMEOUT:
            pass
    total, start = 0, time.monotonic()
    while time.monotonic() - start < args.seconds:
        try:
            total += len(child.read_nonblocking(65536, timeout=0.5))
        except pexpect.TIMEOUT:
            pass
    elapsed = time.monotonic() - start
    stop.set()
    child.send("q")
    child.expect(pexpect.EOF)
    per_min = total * 60.0 / elapsed
    refreshes = elapsed / args.refresh
    print(f"{args.term} 120x40 refresh {args.refresh:g}s, {args.rate:g} rows/s appended: "
          f"{total} bytes in {elapsed:.0f}s = {per_min:,.0f} bytes/min ({total / refreshes:,.0f} bytes/refresh)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
