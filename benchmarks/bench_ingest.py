"""JSONL ingest alone: one cold `Warehouse.refresh` of a workspace into a fresh store, in rows per second of
wall time and per CPU-second (all threads: the goal is per core), with the load average beside it, since the
box is shared. `--profile` prints cProfile by CPU time.

    PYTHONPATH=src python benchmarks/fleet.py --rows 1000000 --dir /tmp/fleet-1m --formats jsonl
    PYTHONPATH=src python benchmarks/bench_ingest.py /tmp/fleet-1m/mlops-console-jsonl.toml [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import tempfile
import time
from pathlib import Path

from console.cli import ARROW_POOL, POLARS_MALLOC_CONF

# the memory settings `cli.main` makes before Arrow and Polars read them, so this measures what a real `snapshot`
# runs (set before importing the store's libraries; an operator's own setting is kept, as there)
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", ARROW_POOL)
os.environ.setdefault("_RJEM_MALLOC_CONF", POLARS_MALLOC_CONF)

from console.config import parse_file  # noqa: E402
from console.warehouse import Warehouse  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    cfg = parse_file(args.config)
    store = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        w = Warehouse(cfg, store)
        steps: list[float] = []
        t0, c0 = time.perf_counter(), time.process_time()
        w.on_step = lambda _m: steps.append(time.perf_counter() - t0)
        prof = cProfile.Profile(time.process_time) if args.profile else None
        if prof:
            prof.enable()
        stats = w.refresh()
        if prof:
            prof.disable()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = sum(stats.rows.values()) + stats.malformed
        if prof:
            pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        first = f"{steps[0]:.1f} s" if steps else "at the end"
        print(f"{n:,} rows in {wall:.1f} s wall, {cpu:.1f} s CPU: {n / wall:,.0f} rows/s, {n / cpu:,.0f} rows per "
              f"CPU-second; first rows readable after {first}; {len(w.manifest.segments['predictions'])} segments; "
              f"load average {os.getloadavg()[0]:.1f}")
        w.close()
    finally:
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
