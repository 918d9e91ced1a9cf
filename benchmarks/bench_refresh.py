"""A live refresh: `Warehouse.refresh` after 10,000 JSONL rows (25 features each) appended to the fleet's live
file, next to its Parquet logs read in place. Wall clock and CPU time (all threads) per refresh.

    PYTHONPATH=src python benchmarks/bench_refresh.py --dir /tmp/fleet/rows-1000000 [--src OLD/src --src src]

Each process opens the store, refreshes once, then appends and refreshes 5 times. With several `--src` trees
(for example an older checkout's `src`), processes alternate between them, `--rounds` each, so a shared
machine's load falls on all alike; each tree has its own store (XDG_CACHE_HOME under --cache). The live file
is emptied after every process. Prints the median of all refreshes per tree, and the load average; asserts
nothing. A refresh that merges small segments (every COMPACT_AT-th) shows as an outlier, not in the median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

ONE = """
import json, os, sys, time
from datetime import datetime
import numpy as np, polars as pl
sys.path.insert(0, sys.argv[2])
from fleet import day_table
from console.config import parse_file
from console.warehouse import Warehouse
root = sys.argv[1]
live = os.path.join(root, "live.jsonl")
if os.path.getsize(live):
    sys.exit(f"{live} is not empty")
w = Warehouse(parse_file(os.path.join(root, "mlops-console-parquet.toml")))
w.refresh()
walls, cpus = [], []
try:
    for i in range(5):
        t = day_table(np.random.default_rng(i), 10_000, datetime(2026, 11, 29), 10**9 + i * 10_000)
        frame = pl.from_arrow(t).with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
        with open(live, "ab") as fh:
            frame.write_ndjson(fh)
        t0, c0 = time.perf_counter(), time.process_time()
        stats = w.refresh()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        assert stats.rows.get("predictions") == 10_000, stats
finally:
    open(live, "w").close()
print(json.dumps({"walls": walls, "cpus": cpus, "load": os.getloadavg()[0]}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True, help="a fleet written by fleet.py (Parquet logs, with live.jsonl)")
    ap.add_argument("--src", action="append", help="source trees to compare (default: this checkout's src)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cache", default="/tmp/bench-refresh-cache")
    args = ap.parse_args()
    trees = [str(Path(s).resolve()) for s in (args.src or [str(HERE.parent / "src")])]
    got = {t: {"walls": [], "cpus": [], "loads": []} for t in trees}
    for r in range(args.rounds):
        for i, tree in enumerate(trees if r % 2 == 0 else trees[::-1]):
            env = dict(os.environ, PYTHONPATH=tree, XDG_CACHE_HOME=f"{args.cache}-{trees.index(tree)}")
            res = subprocess.run([sys.executable, "-c", ONE, args.dir, str(HERE)], env=env, capture_output=True,
                                 text=True)
            if res.returncode:
                sys.exit(f"{tree}: {res.stderr[-2000:]}")
            d = json.loads(res.stdout.strip().splitlines()[-1])
            for k in ("walls", "cpus"):
                got[tree][k] += d[k]
            got[tree]["loads"].append(d["load"])
            print(f"{tree}: wall {[round(x * 1000) for x in d['walls']]} ms, "
                  f"cpu {[round(x * 1000) for x in d['cpus']]} ms, load {d['load']:.1f}", file=sys.stderr)
    print("| source | refreshes | median wall | median CPU | load average |")
    print("|---|---|---|---|---|")
    for tree, d in got.items():
        print(f"| {tree} | {len(d['walls'])} | {statistics.median(d['walls']) * 1000:.0f} ms | "
              f"{statistics.median(d['cpus']) * 1000:.0f} ms | {min(d['loads']):.1f}-{max(d['loads']):.1f} |")


if __name__ == "__main__":
    main()
