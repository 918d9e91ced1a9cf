"""7-day drift from the hourly rollups (sketches) vs the exact path over raw rows, on the fleet generator.

    PYTHONPATH=src python benchmarks/bench_rollup_drift.py --rows 1000000 --dir /tmp/fleet-rd

In one process (what a TUI refresh pays): `Service.drift("fraud-detector", "7d")` exact and from rollups,
with and without the per-bucket trend series; the first sketch call includes building the week's rollups
from the store. Then as fresh processes: `drift fraud-detector --window 7d --at latest` with and without
--exact. Prints the sketch error seen against the exact scores, as a share of each feature's stated bound.
No assertions: figures only.
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dir", default="/tmp/fleet-rd")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    from fleet import parquet_workspace, timed

    root = Path(args.dir)
    config = parquet_workspace(root, args.rows)

    from console.config import parse_file
    from console.service import Service

    svc = Service(parse_file(config))
    svc.refresh()
    svc.view(at="latest", window="7d")
    rows = {}
    rows["exact, no series"] = timed(lambda: svc.drift(MODEL, "7d", series=False, exact=True))
    rows["exact, no series (again)"] = timed(lambda: svc.drift(MODEL, "7d", series=False, exact=True))
    rows["sketch, first (builds the week's rollups)"] = timed(lambda: svc.drift(MODEL, "7d", series=False))
    built = list(svc.monitor.sketch_drift.built)
    rows["sketch, no series"] = timed(lambda: svc.drift(MODEL, "7d", series=False))
    svc.refresh()  # a refresh: the next call checks the rollups' hourly counts against the store again
    rows["sketch, no series, after a refresh"] = timed(lambda: svc.drift(MODEL, "7d", series=False))
    rows["exact, with series (Drift screen)"] = timed(lambda: svc.drift(MODEL, "7d", exact=True))
    rows["sketch, with series (Drift screen)"] = timed(lambda: svc.drift(MODEL, "7d"))
    print(f"{args.rows:,} rows, 3 models x 25 features, {MODEL} 7d; rollups built: {len(built)} range(s)")
    for label, (secs, _) in rows.items():
        print(f"  {label:<45}{secs:8.2f} s")

    exact = {c.column: c for c in rows["exact, no series"][1].dataset.columns}
    sketch = {c.column: c for c in rows["sketch, no series"][1].dataset.columns}
    worst, verdicts, border = 0.0, 0, 0
    for f, s in sketch.items():
        e = exact[f]
        if s.method != "sketch" or not s.bound:
            continue
        err = abs(s.stats["statistic"] - e.stats["statistic"]) if s.test == "ks" else abs(s.score - e.score)
        worst = max(worst, err / s.bound)
        border += s.status == "borderline"
        verdicts += s.status != "borderline" and s.drifted != e.drifted
    print(f"  sketch error / stated bound: max {worst:.2f} over {len(sketch)} features; {border} borderline; "
          f"{verdicts} verdicts that differ from exact outside borderline")
    svc.close()

    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    base = [sys.executable, "-m", "console", "--config", str(config), "drift", MODEL, "--window", "7d",
            "--at", "latest", "--format", "json"]
    for label, argv in (("process: drift --window 7d", base), ("process: drift --window 7d --exact", [*base, "--exact"])):
        secs = []
        for _ in range(2):
            t = time.perf_counter()
            proc = subprocess.run(argv, capture_output=True, text=True, env=env)
            secs.append(time.perf_counter() - t)
            if proc.returncode != 0:
                print(proc.stderr[-2000:], file=sys.stderr)
            json.loads(proc.stdout)
        print(f"  {label:<45}{min(secs):8.2f} s (best of 2)")
    if not args.keep:
        shutil.rmtree(root / "cache", ignore_errors=True)


if __name__ == "__main__":
    main()
