"""A fleet like a real one, for the data-path and rollup benchmarks: 3 models x 20 numeric + 5 categorical
features, --days days (7 unless told) ending at 2026-11-30, as Hive-partitioned Parquet
(logs/date=YYYY-MM-DD/part-N.parquet) and/or JSONL.

    PYTHONPATH=src python benchmarks/fleet.py --rows 1000000 --dir /tmp/fleet-1m --formats parquet,jsonl
    PYTHONPATH=src python benchmarks/fleet.py --rows 100000000 --days 30 --files-per-day 4 --dir /tmp/fleet100m \
        --formats parquet     # issue 9's fleet: ~9 GB, ~10 min on an idle core

Writes mlops-console-<format>.toml (models with their features and a reference file each) next to the logs.
Memory stays bounded at any size: one file's rows are generated and written at a time, and a day's
`--files-per-day` files each hold a contiguous slice of its hours (so an hour's read opens one file).
The last day's numeric features are shifted by 0.3 (planted drift). A DONE marker says the fleet is whole.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

MODELS = ("fraud-detector", "delivery-eta", "support-assistant")
NUMERIC = [f"f{i}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]
END = datetime(2026, 11, 30, 0, 0)


def day_table(rng: np.random.Generator, n: int, day: datetime, offset: int, shift: float = 0.0,
              lo: int = 0, hi: int = 86400) -> pa.Table:
    """`n` rows of one day, their seconds in [lo, hi) of it, in time order."""
    secs = np.sort(rng.integers(lo, hi, n))
    ts = np.datetime64(day, "us") + (secs * 1_000_000).astype("timedelta64[us]")
    cols = {
        "ts": pa.array(ts, pa.timestamp("us")),
        "model": pa.array(rng.choice(MODELS, n)),
        "version": pa.array(rng.choice(["3", "4"], n, p=[0.8, 0.2])),
        "request_id": pa.array(np.char.add("r", (np.arange(n) + offset).astype(str))),
        "environment": pa.array(np.full(n, "production")),
        "variant": pa.array(rng.choice(["champion", "canary"], n, p=[0.9, 0.1])),
        "prediction": pa.array(rng.choice(["0", "1"], n)),
        "score": pa.array(rng.random(n).round(4)),
        "latency_ms": pa.array(rng.gamma(2.0, 30.0, n).round(2)),
        "status": pa.array(np.where(rng.random(n) < 0.005, 500, 200)),
        "cost_usd": pa.array((rng.random(n) * 0.001).round(6)),
    }
    for i, f in enumerate(NUMERIC):
        cols[f] = pa.array(rng.normal(i + shift, 1 + i / 10, n).round(4))
    for i, c in enumerate(CATEGORICAL):
        cols[c] = pa.array(rng.choice([f"{c}_{k}" for k in range(4 + i)], n))
    return pa.table(cols)


def write_fleet(root: Path, rows: int, formats: list[str], end: datetime = END, days: int = 7,
                files_per_day: int = 1, progress: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    per_day = rows // days
    jsonl = open(root / "predictions.jsonl", "wb") if "jsonl" in formats else None
    try:
        for d in range(days):
            day = end - timedelta(days=days - d)
            n = per_day + (rows - per_day * days if d == days - 1 else 0)
            offset = d * per_day
            for f in range(files_per_day):
                lo, hi = 86400 * f // files_per_day, 86400 * (f + 1) // files_per_day
                m = n // files_per_day + (n - n // files_per_day * files_per_day if f == files_per_day - 1 else 0)
                table = day_table(rng, m, day, offset, shift=0.3 if d == days - 1 else 0.0, lo=lo, hi=hi)
                offset += m
                if "parquet" in formats:
                    part = root / "logs" / f"date={day:%Y-%m-%d}"
                    part.mkdir(parents=True, exist_ok=True)
                    pq.write_table(table, part / f"part-{f}.parquet", row_group_size=256_000)
                if jsonl is not None:
                    import polars as pl

                    frame = pl.from_arrow(table).with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
                    frame.write_ndjson(jsonl)
                del table
            if progress:
                print(f"  {day:%Y-%m-%d}: {n:,} rows", flush=True)
    finally:
        if jsonl is not None:
            jsonl.close()
    ref = root / "reference"
    ref.mkdir(exist_ok=True)
    for m in MODELS:
        t = day_table(np.random.default_rng(5), 50_000, end - timedelta(days=30), 0)
        pq.write_table(t.select(NUMERIC + CATEGORICAL), ref / f"{m}.parquet")
    (root / "DONE").write_text(f"{rows} rows, {days} days, {files_per_day} file(s) a day\n")
    return root


def write_config(root: Path, fmt: str, live: bool = True, logs_path: str = "logs", rollups: str | None = None,
                 extra: str = "", name: str | None = None) -> Path:
    """The workspace's config; `logs_path` may be an s3:// prefix (give its `[storage.s3]` in `extra`),
    `rollups` a `[rollups] path`."""
    logs = f'[[logs]]\nkind = "predictions"\npath = "{logs_path}"\nformat = "parquet"\n' if fmt == "parquet" else \
        '[[logs]]\nkind = "predictions"\npath = "predictions.jsonl"\n'
    if live:
        logs += '[[logs]]\nkind = "predictions"\npath = "live.jsonl"\n'
        (root / "live.jsonl").touch()
    if rollups:
        extra += f'\n[rollups]\npath = "{rollups}"\n'
    models = "".join(
        f'[models.{m}]\ntask = "classification"\nreference = "reference/{m}.parquet"\n'
        f'features = {NUMERIC + CATEGORICAL!r}\n'.replace("'", '"') for m in MODELS)
    path = root / f"mlops-console-{name or fmt}.toml"
    path.write_text(f'[workspace]\nname = "bench-{fmt}"\n\n{logs}\n{extra}\n{models}')
    return path


def timed(fn):
    """(seconds, result) of one call."""
    import time

    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def parquet_workspace(root: Path, rows: int, days: int = 7, files_per_day: int = 1, **config) -> Path:
    """The Parquet fleet under `root` (generated once) and its config (`write_config`'s keywords), with a
    fresh store: XDG_CACHE_HOME points at `root/cache`, emptied, so the process starts cold. Returns the
    config's path."""
    import os
    import shutil

    if not (root / "logs").is_dir():
        write_fleet(root, rows, ["parquet"], days=days, files_per_day=files_per_day)
    config = write_config(root, "parquet", live=False, **config)
    cache = root / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    os.environ["XDG_CACHE_HOME"] = str(cache)
    return config


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dir", default="/tmp/fleet")
    ap.add_argument("--formats", default="parquet,jsonl")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--files-per-day", type=int, default=1)
    args = ap.parse_args()
    formats = args.formats.split(",")
    root = write_fleet(Path(args.dir), args.rows, formats, days=args.days, files_per_day=args.files_per_day,
                       progress=True)
    for fmt in formats:
        print(write_config(root, fmt))


if __name__ == "__main__":
    main()
