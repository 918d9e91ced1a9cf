"""Where a console command's memory peaks: its peak RSS, when, and every thread's stack at that moment.

    PYTHONPATH=src python benchmarks/memsamp.py --config CONFIG snapshot --at latest --format json

Runs `python -m console ARGS` in this process with a sampler thread reading RSS every 20 ms; a new peak (20 MB past
the last one) records the stacks. Prints to stderr at exit; asserts nothing. `/usr/bin/time` gives the peak alone.
"""

from __future__ import annotations

import atexit
import runpy
import sys
import threading
import time
import traceback

T0 = time.perf_counter()
PEAK = {"kb": 0, "at": 0.0, "stacks": {}}


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def sample() -> None:
    me = threading.get_ident()
    while True:
        kb = rss_kb()
        if kb > PEAK["kb"] + 20_000:
            PEAK.update(kb=kb, at=time.perf_counter() - T0, stacks={
                tid: "".join(traceback.format_stack(frame)[-14:])
                for tid, frame in sys._current_frames().items() if tid != me})
        time.sleep(0.02)


def report() -> None:
    print(f"PEAK {PEAK['kb'] / 1024:.0f} MB at {PEAK['at']:.1f} s", file=sys.stderr)
    for tid, stack in PEAK["stacks"].items():
        print(f"--- thread {tid}\n{stack}", file=sys.stderr)


if __name__ == "__main__":
    threading.Thread(target=sample, daemon=True).start()
    atexit.register(report)
    sys.argv = ["console", *sys.argv[1:]]
    runpy.run_module("console", run_name="__main__")
