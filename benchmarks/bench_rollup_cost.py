"""Cost over a month from the hourly rollups vs the raw rows, on the fleet generator over 30 days.

    PYTHONPATH=src python benchmarks/bench_rollup_cost.py --rows 1000000 --dir /tmp/fleet-rc

In one process: `Service.cost("fraud-detector", rollups=...)` (the month's spend and budget, today and 7 days,
cost per 1k per version over the history, the 72 h hourly view): raw rows (what `cost` does below
`narrow_after` rows) against rollups plus the raw edge hours, the first call including building the month's
rollups from the store. Prints whether the numbers agree. Then as fresh processes: `cost fraud-detector --at
latest` (the choice made by row count). No assertions: figures only. (The generated fleet has no labels,
so quality is not timed here; `tests/test_rollup_quality.py` checks its numbers.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

MODEL = "fraud-detector"
DAYS = 30


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dir", default="/tmp/fleet-rc")
    args = ap.parse_args()
    from fleet import timed, write_config, write_fleet

    root = Path(args.dir)
    if not (root / "logs").is_dir():
        write_fleet(root, args.rows, ["parquet"], days=DAYS)
    config = write_config(root, "parquet", live=False)
    shutil.rmtree(root / "cache", ignore_errors=True)
    os.environ["XDG_CACHE_HOME"] = str(root / "cache")

    from console.config import parse_file
    from console.service import Service

    svc = Service(parse_file(config))
    svc.refresh()
    svc.view(at="latest")
    out = {}
    out["raw rows"] = timed(lambda: svc.cost(MODEL, rollups=False))
    out["rollups, first (builds the rollups)"] = timed(lambda: svc.cost(MODEL, rollups=True))
    out["rollups"] = timed(lambda: svc.cost(MODEL, rollups=True))
    svc.refresh()
    out["raw rows, after a refresh"] = timed(lambda: svc.cost(MODEL, rollups=False))
    out["rollups, after a refresh"] = timed(lambda: svc.cost(MODEL, rollups=True))
    print(f"{args.rows:,} rows over {DAYS} days, {MODEL} cost (the month and the 7-day history)")
    for label, (secs, _) in out.items():
        print(f"  {label:<45}{secs:8.2f} s")
    raw, got = out["raw rows"][1], out["rollups"][1]
    rel = abs(got["budget"].spent_usd - raw["budget"].spent_usd) / max(raw["budget"].spent_usd, 1e-12)
    same_per_1k = got["per_1k"]["requests"].to_list() == raw["per_1k"]["requests"].to_list()
    print(f"  month spend ${got['budget'].spent_usd:,.4f} vs raw ${raw['budget'].spent_usd:,.4f} (rel. diff {rel:.1e}); "
          f"per-1k requests equal: {same_per_1k}; tokens equal: {got['tokens'] == raw['tokens']}")
    svc.close()

    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    argv = [sys.executable, "-m", "console", "--config", str(config), "cost", MODEL, "--at", "latest",
            "--format", "json"]
    secs, source = [], None
    for _ in range(2):
        t = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=env)
        secs.append(time.perf_counter() - t)
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
        source = json.loads(proc.stdout).get("source")
    print(f"  {'process: cost (' + str(source) + ')':<45}{min(secs):8.2f} s (best of 2)")


if __name__ == "__main__":
    main()
