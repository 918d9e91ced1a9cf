"""A quiet model over a long history: `check --all --from F --at T` on the raw path and from rollups, each a fresh
process (user and wall time, peak RSS, `/usr/bin/time`), optionally beside another checkout's code on the same
files. Asserts nothing; prints whether the two codes' JSON is the same.

    PYTHONPATH=src python benchmarks/bench_quiet_history.py [--days 150] [--per-day 40] [--src OTHER/src]

The log is tests/test_store_time.py's kind: one model, `--per-day` rows a day at random minutes, Parquet by day,
an hourly error-rate rule; every hourly window of the history grows back for its 500 served rows (12 days at
40 a day), which is what a `check` over months of a low-traffic model pays. `--from` is the history's first day.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 3, 1)


def write_log(root: Path, days: int, per_day: int) -> datetime:
    rng = np.random.default_rng(3)
    for day in range(days):
        start = START + timedelta(days=day)
        minutes = np.sort(rng.integers(0, 1440, per_day))
        rows = {"ts": [start + timedelta(minutes=int(m)) for m in minutes], "model": ["m"] * per_day,
                "version": ["1"] * per_day, "request_id": [f"d{day}-{i}" for i in range(per_day)],
                "latency_ms": rng.gamma(2, 20, per_day), "status": np.where(rng.random(per_day) < 0.01, 500, 200),
                "x": rng.normal(0, 1, per_day), "prediction": ["1"] * per_day}
        part = root / "logs" / f"date={start.date()}"
        part.mkdir(parents=True)
        pq.write_table(pa.table(rows), part / "part-0.parquet")
    pq.write_table(pa.table({"x": rng.normal(0, 1, 800)}), root / "reference.parquet")
    base = ('[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n'
            '[models.m]\ntask = "classification"\nreference = "reference.parquet"\nfeatures = ["x"]\n'
            '[[alerts]]\nname = "m errors"\nmetric = "error_rate"\nop = ">"\nthreshold = 0.5\nwindow = "1h"\n')
    (root / "raw.toml").write_text(base)
    (root / "rollups.toml").write_text(base + f'[rollups]\nmin_rows = 1\npath = "{root / "rollups"}"\n')
    return START + timedelta(days=days)


def timed(cmd: list[str], env: dict) -> tuple[str, bytes]:
    proc = subprocess.run(["/usr/bin/time", "-f", "TIMES %e %U %M", *cmd], env=env, capture_output=True)
    wall, user, kb = proc.stderr.rpartition(b"TIMES ")[2].split()[:3]
    status = "" if proc.returncode in (0, 1) else f", exit {proc.returncode}"
    return f"{float(wall):.2f} s wall, {float(user):.2f} s user, {int(kb) // 1024} MB{status}", proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=150)
    ap.add_argument("--per-day", type=int, default=40)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/quiet-history"))
    ap.add_argument("--src", type=Path, action="append", help="another checkout's src/ to run beside this one")
    args = ap.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    end = write_log(args.dir, args.days, args.per_day)
    codes = [ROOT / "src", *(args.src or [])]
    print(f"| {args.days} days x {args.per_day} rows, `check --all --from {START:%Y-%m-%d}` | code | first (store "
          "and rollups built) | a second `--from` (store and rollups kept) |")
    print("|---|---|---|---|")
    outputs = {}
    for path in ("raw", "rollups"):
        for src in codes:
            env = dict(os.environ, PYTHONPATH=str(src), XDG_CACHE_HOME=str(args.dir / f"cache-{path}-{len(outputs)}"))
            shutil.rmtree(args.dir / "rollups", ignore_errors=True)
            row = []
            for since in (START, START + timedelta(hours=1)):  # a new history: no kept answer
                cmd = [sys.executable, "-m", "console", "--config", str(args.dir / f"{path}.toml"), "check", "--all",
                       "--format", "json", "--at", end.isoformat() + "Z", "--from", since.isoformat() + "Z"]
                figure, out = timed(cmd, env)
                row.append(figure)
                outputs.setdefault((path, since), set()).add(out)
            print(f"| {path} | {src} | {row[0]} | {row[1]} |")
    same = all(len(v) == 1 for v in outputs.values())
    print(f"\nthe codes' JSON: {'the same' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
