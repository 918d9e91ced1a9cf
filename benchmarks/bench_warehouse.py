"""Warehouse figures: build over 1M and 10M prediction rows, refresh after 10,000 appended rows,
launch to first frame with data, peak memory. Run: python benchmarks/bench_warehouse.py [--rows 1000000]

Each size runs in a fresh subprocess so peak RSS is its own. Prints rows/s and seconds; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def make_rows(n: int, start: int = 0, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed + start)
    ts0 = np.datetime64("2026-11-18T00:00:00")
    secs = np.sort(rng.integers(0, 7 * 86400, n))
    return pl.DataFrame({
        "ts": [str(t) + "Z" for t in (ts0 + secs.astype("timedelta64[s]"))],
        "model": rng.choice(["fraud-detector", "delivery-eta", "support-assistant"], n),
        "version": rng.choice(["3", "4"], n),
        "request_id": [f"r{start + i}" for i in range(n)],
        "environment": "production",
        "variant": "champion",
        "latency_ms": rng.gamma(2.0, 30.0, n).round(2),
        "score": rng.random(n).round(4),
        "prediction": rng.choice(["0", "1"], n),
        "amount": rng.lognormal(3, 1, n).round(2),
        "channel": rng.choice(["web", "mobile", "pos"], n),
    })


def child(kind: str, rows: int, fmt: str) -> None:
    from console.config import Config, LogSource
    from console.warehouse import Warehouse

    tmp = Path(tempfile.mkdtemp(prefix="bench-wh-"))
    path = tmp / f"predictions.{fmt}"
    frame = make_rows(rows)
    if fmt == "parquet":
        frame.write_parquet(path)
    else:
        frame.write_ndjson(path)
    live = tmp / "live.jsonl"
    live.write_text("")
    cfg = Config(source=None, root=tmp, logs=(LogSource("predictions", str(path)), LogSource("predictions", str(live))))
    t0 = time.perf_counter()
    wh = Warehouse(cfg)
    stats = wh.refresh()
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    wh.frame("overview_window", {"now": __import__("datetime").datetime(2026, 11, 25)})
    query = time.perf_counter() - t1
    refreshes = []
    for i in range(5):
        make_rows(10_000, start=rows + i * 10_000).write_ndjson(tmp / "chunk.jsonl")
        with open(live, "ab") as fh:
            fh.write((tmp / "chunk.jsonl").read_bytes())
        t2 = time.perf_counter()
        wh.refresh()
        refreshes.append(time.perf_counter() - t2)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "format": fmt, "kept": stats.rows.get("predictions", 0),
                      "build_s": round(build, 3), "build_rows_per_s": round(rows / build),
                      "overview_query_s": round(query, 4),
                      "refresh_10k_s_median": round(sorted(refreshes)[2], 4), "peak_rss_mb": round(peak_mb)}))


def first_frame(workspace: str) -> float:
    """Launch to first frame with data, the TUI in a headless run (its own process, like a real launch)."""
    import asyncio

    from console.config import parse_file
    from console.ui.app import ConsoleApp

    cfg = parse_file(Path(workspace) / "mlops-console.toml")

    async def run() -> float:
        t0 = time.perf_counter()
        app = ConsoleApp(cfg, poll=False)
        async with app.run_test(size=(120, 40)) as pilot:
            while app.snapshot is None:
                await pilot.pause(0.01)
            return time.perf_counter() - t0

    return asyncio.run(run())


def first_frames(rows: int) -> None:
    """Cold (the warehouse reads every row) and relaunched (the persisted warehouse reads only what is new)."""
    import os

    tmp = Path(tempfile.mkdtemp(prefix="bench-ff-"))
    make_rows(rows).write_ndjson(tmp / "p.jsonl")
    (tmp / "mlops-console.toml").write_text('[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n')
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp / "cache"), PYTHONPATH=str(ROOT / "src"))
    times = []
    for _ in ("cold", "relaunch"):
        out = subprocess.run([sys.executable, __file__, "--first-frame", str(tmp)], env=env, capture_output=True,
                             text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    print(json.dumps({"rows": rows, "first_frame_with_data_s": round(times[0], 3),
                      "relaunch_first_frame_s": round(times[1], 3)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", nargs=2, metavar=("ROWS", "FORMAT"))
    ap.add_argument("--first-frame", metavar="WORKSPACE")
    ap.add_argument("--sizes", default="1000000:jsonl,1000000:parquet,10000000:parquet")
    args = ap.parse_args()
    if args.child:
        return child("predictions", int(args.child[0]), args.child[1])
    if args.first_frame:
        print(first_frame(args.first_frame))
        return None
    for spec in filter(None, args.sizes.split(",")):
        rows, fmt = spec.split(":")
        subprocess.run([sys.executable, __file__, "--child", rows, fmt], check=False)
    for rows in (100_000, 1_000_000):
        first_frames(rows)


if __name__ == "__main__":
    main()
