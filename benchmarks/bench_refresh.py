"""A live refresh: `Warehouse.refresh` after 10,000 JSONL rows (25 features each) appended to the fleet's live
file, next to the fleet's logs. Wall clock and CPU time (all threads) per refresh, and the merges of small
segments: inside a refresh (the code before) or in the background between refreshes (now).

    PYTHONPATH=src python benchmarks/bench_refresh.py --dir /tmp/fleet/rows-1000000 \\
        [--config mlops-console-parquet.toml] [--src OLD/src --src src] [--refreshes 50] [--interval 1]

Each process opens the store, refreshes once, then appends 10,000 rows and refreshes, `--refreshes` times, one
refresh starting every `--interval` seconds (0: back to back, the worst case for a background merge, which then
overlaps the next refreshes; the console's default is 5 s). With several `--src` trees (for example an older
checkout's `src`), processes alternate between them, `--rounds` each, so a shared machine's load falls on all
alike; each tree has its own store (XDG_CACHE_HOME under --cache). The live file is emptied after every process,
so work on a copy of the fleet. Prints, per tree, the median, p95 and max of all refreshes, which refreshes
merged segments (or overlapped a background merge), the merges' sizes and times, and the load average; asserts
nothing.
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
root, config, count, interval = sys.argv[1], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
live = os.path.join(root, "live.jsonl")
# time spent in fsync / fdatasync by the refreshing thread (not a background merge's): the commit's waits
import threading
main, synced = threading.get_ident(), [0.0, 0]
for fn in ("fsync", "fdatasync"):
    def timed(fd, real=getattr(os, fn)):
        if threading.get_ident() != main:
            return real(fd)
        t = time.perf_counter()
        try:
            return real(fd)
        finally:
            synced[0] += time.perf_counter() - t
            synced[1] += 1
    setattr(os, fn, timed)
if os.path.getsize(live):
    sys.exit(f"{live} is not empty")
w = Warehouse(parse_file(os.path.join(root, config)))
merges = []
if hasattr(w, "on_merge"):  # merges off the refresh: when each was committed, counted in refreshes
    w.on_merge = lambda kind, parts, rows, seconds: merges.append(
        {"after": len(walls), "parts": len(parts), "rows": rows, "seconds": seconds})
walls, cpus, merged, overlapped, loads, syncs, nsyncs = [], [], [], [], [], [], []
w.refresh()
try:
    for i in range(count):
        due = time.perf_counter() + interval
        t = day_table(np.random.default_rng(i), 10_000, datetime(2026, 11, 29), 10**9 + i * 10_000)
        frame = pl.from_arrow(t).with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
        with open(live, "ab") as fh:
            frame.write_ndjson(fh)
        time.sleep(max(0.0, due - time.perf_counter()))
        before, busy = len(w.manifest.segments["predictions"]), getattr(w, "merging", False)
        done = len(merges)
        synced[:] = [0.0, 0]
        t0, c0 = time.perf_counter(), time.process_time()
        stats = w.refresh()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        syncs.append(synced[0])
        nsyncs.append(synced[1])
        after = len(w.manifest.segments["predictions"])
        if after <= before and len(merges) == done:  # fewer segments than one more: this refresh merged
            merged.append(i)
        if busy or len(merges) > done:
            overlapped.append(i)
        loads.append(os.getloadavg()[0])
        assert stats.rows.get("predictions") == 10_000, stats
finally:
    open(live, "w").close()
    w.close()  # waits for a background merge in flight (it stops at its next step)
print(json.dumps({"walls": walls, "cpus": cpus, "syncs": syncs, "nsyncs": nsyncs, "merged": merged, "overlapped": overlapped, "merges": merges,
                  "loads": loads, "segments": len(w.manifest.segments["predictions"])}))
"""


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True, help="a copy of a fleet written by fleet.py, with live.jsonl")
    ap.add_argument("--config", default="mlops-console-parquet.toml")
    ap.add_argument("--src", action="append", help="source trees to compare (default: this checkout's src)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--refreshes", type=int, default=50, help="refreshes per process")
    ap.add_argument("--interval", type=float, default=1.0, help="seconds from one refresh's start to the next")
    ap.add_argument("--cache", default="/tmp/bench-refresh-cache")
    args = ap.parse_args()
    trees = [str(Path(s).resolve()) for s in (args.src or [str(HERE.parent / "src")])]
    got = {t: {"walls": [], "cpus": [], "syncs": [], "nsyncs": [], "loads": [], "merged": [], "overlapped": [],
               "merges": []} for t in trees}
    for r in range(args.rounds):
        for tree in trees if r % 2 == 0 else trees[::-1]:
            env = dict(os.environ, PYTHONPATH=tree, XDG_CACHE_HOME=f"{args.cache}-{trees.index(tree)}")
            res = subprocess.run([sys.executable, "-c", ONE, args.dir, str(HERE), args.config, str(args.refreshes),
                                  str(args.interval)], env=env, capture_output=True, text=True)
            if res.returncode:
                sys.exit(f"{tree}: {res.stderr[-2000:]}")
            d = json.loads(res.stdout.strip().splitlines()[-1])
            g = got[tree]
            for k in ("walls", "cpus", "syncs", "nsyncs", "loads", "merges"):
                g[k] += d[k]
            g["merged"].append(d["merged"])
            g["overlapped"].append(d["overlapped"])
            slow = [f"#{i}: {round(x * 1000)}" for i, x in enumerate(d["walls"]) if x > 0.1]
            print(f"round {r} {tree}: median {statistics.median(d['walls']) * 1000:.0f} ms, max "
                  f"{max(d['walls']) * 1000:.0f} ms; over 100 ms: {slow or 'none'}; merged in refreshes "
                  f"{d['merged']}; overlapping a merge {d['overlapped']}; background merges "
                  f"{[(m['after'], m['parts'], m['rows'], round(m['seconds'], 2)) for m in d['merges']]}; "
                  f"segments at the end {d['segments']}; fsync median {statistics.median(d['syncs']) * 1000:.1f} ms; load {min(d['loads']):.1f}-{max(d['loads']):.1f}",
                  file=sys.stderr)
    print(f"{args.config}, {args.refreshes} refreshes per process, one every {args.interval:g} s, {args.rounds} "
          "processes per tree, alternating")
    print()
    print("| source | refreshes | median wall | p95 | max | median CPU | fsyncs a refresh: count, median / p95 time | "
          "refreshes that merged | background merges: count, rows, median / max time | refreshes overlapping one | "
          "load average |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for tree, d in got.items():
        ms = [m["seconds"] for m in d["merges"]]
        merges = (f"{len(ms)}, {statistics.median([m['rows'] for m in d['merges']]):,.0f}, "
                  f"{statistics.median(ms):.2f} / {max(ms):.2f} s" if ms else "none")
        n_merged = sum(len(x) for x in d["merged"])
        n_over = sum(len(x) for x in d["overlapped"])
        print(f"| {tree} | {len(d['walls'])} | {statistics.median(d['walls']) * 1000:.0f} ms | "
              f"{pct(d['walls'], 0.95) * 1000:.0f} ms | {max(d['walls']) * 1000:.0f} ms | "
              f"{statistics.median(d['cpus']) * 1000:.0f} ms | {statistics.median(d['nsyncs']):g}, "
              f"{statistics.median(d['syncs']) * 1000:.1f} / {pct(d['syncs'], 0.95) * 1000:.1f} ms | "
              f"{n_merged} | {merges} | {n_over} | "
              f"{min(d['loads']):.1f}-{max(d['loads']):.1f} |")


if __name__ == "__main__":
    main()
