"""Health over 7 days from the hourly rollups vs the raw rows, on the fleet generator.

    PYTHONPATH=src python benchmarks/bench_rollup_health.py --rows 1000000 --dir /tmp/fleet-rh

In one process: the table and chart of `Service.health("fraud-detector", "7d")` (rollups plus the raw edge
hours; the first call includes building the week's rollups from the store) against the raw computation
over the same rows (`health_table` / `health_series` over `Monitor.rows`, what `health` did before). Prints
the percentile error seen, as a true-rank distance from the asked rank, against the stated rank error.
Then as fresh processes: `health fraud-detector --window 7d --at latest`. No assertions: figures only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

MODEL = "fraud-detector"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dir", default="/tmp/fleet-rh")
    ap.add_argument("--window", default="7d")
    args = ap.parse_args()
    from fleet import parquet_workspace, timed

    root = Path(args.dir)
    config = parquet_workspace(root, args.rows)

    from console.analytics import health as he
    from console.analytics.windows import parse_window
    from console.config import parse_file
    from console.service import Service

    svc = Service(parse_file(config))
    svc.refresh()
    svc.view(at="latest", window=args.window)
    mon, now, span = svc.monitor, svc.clock(), parse_window(args.window)

    def raw():
        rows = mon.rows(MODEL, now - span, now)
        return rows, he.health_table(rows, now, args.window, ("version", "variant"))

    out = {}
    out["raw rows (before)"] = timed(raw)
    out["rollups, first (builds the rollups)"] = timed(lambda: svc.health(MODEL, args.window))
    out["rollups"] = timed(lambda: svc.health(MODEL, args.window))
    svc.refresh()
    out["rollups, after a refresh"] = timed(lambda: svc.health(MODEL, args.window))
    print(f"{args.rows:,} rows, {MODEL} health {args.window}")
    for label, (secs, _) in out.items():
        print(f"  {label:<45}{secs:8.2f} s")
    rows, exact = out["raw rows (before)"][1]
    got = out["rollups"][1]
    eps = got.get("rank_error", 0.0)
    same = got["table"].select("version", "variant", "requests", "errors").equals(
        exact.select("version", "variant", "requests", "errors"))
    worst = 0.0
    cur = rows.filter(pl.col("ts") > now - span)
    for r in got["table"].iter_rows(named=True):
        lat = cur.filter((pl.col("version") == r["version"]) & (pl.col("variant") == r["variant"]))["latency_ms"]
        v = np.sort(lat.drop_nulls().fill_nan(None).drop_nulls().to_numpy().astype(np.float32))
        for q, col in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
            x = np.float32(r[col])
            lo, hi = np.searchsorted(v, x, "left") / v.size, np.searchsorted(v, x, "right") / v.size
            worst = max(worst, max(lo - q, q - hi, 0.0))
    print(f"  counts equal to raw: {same}; percentiles' rank distance: max {worst:.4f} (stated {eps:.4f}); "
          f"note: {got.get('note')}")
    svc.close()

    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    argv = [sys.executable, "-m", "console", "--config", str(config), "health", MODEL, "--window", args.window,
            "--at", "latest", "--format", "json"]
    secs = []
    for _ in range(2):
        t = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=env)
        secs.append(time.perf_counter() - t)
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
        json.loads(proc.stdout)
    print(f"  {'process: health --window ' + args.window:<45}{min(secs):8.2f} s (best of 2)")


if __name__ == "__main__":
    main()
