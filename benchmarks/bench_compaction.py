"""Daily compaction (issue 9): 30-day drift from rollups before and after closed days are compacted.

    PYTHONPATH=src python benchmarks/bench_compaction.py                 # the 3M-row fleet of bench_rollups
    PYTHONPATH=src python benchmarks/bench_compaction.py --rows 10000000

Uses bench_rollups' generated fleet and its local rollups (built here when missing), copied to a folder
of its own so the hour files are untouched. Times, median of --repeat runs in this process:
the 30-day read + merge of one model (hours only, then days + edge hours), the same plus the drift of
its 25 features against its first day, and the compaction itself. Checks the two merges agree (counts
exactly). Asserts nothing else.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_rollups as br  # noqa: E402


def _median(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    from console import rollup_engine
    from console import store_rollups as ro
    from console.analytics import sketches as sk

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--root", default="/tmp/bench_rollups")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default="fraud")
    args = ap.parse_args()
    root = Path(args.root) / str(args.rows)
    logs = br.generate(args.rows, root)
    out = root / "rollups-compaction"
    shutil.rmtree(out, ignore_errors=True)
    end = br.START + timedelta(days=br.DAYS)
    if (root / "rollups-local" / ro.STATE).exists():
        shutil.copytree(root / "rollups-local", out, ignore=shutil.ignore_patterns(ro.DAILY))
    else:
        specs = {m: ro.ModelSpec(numeric=tuple(br.NUMERIC), categorical=tuple(br.CATEGORICAL)) for m in br.MODELS}
        build = rollup_engine.local_builder(rollup_engine.src.dataset([str(logs)]), None, specs)
        ro.catch_up(out, build, now=end, since=br.START)
    model, start = args.model, end - timedelta(days=br.DAYS)
    ref = ro.read(out, model, br.START, br.START + timedelta(days=1))

    def drift(cur: ro.Summary) -> int:
        scores = [sk.wasserstein(ref.numeric[f], cur.numeric[f], ref_std=ref.mean_std(f)[1]) for f in br.NUMERIC]
        scores += [sk.jensenshannon(ref.counts[f], cur.counts[f]) for f in br.CATEGORICAL]
        return len(scores)

    def merge(days: bool) -> ro.Summary:
        return ro.merge_table(ro.read_table(out, model, start, end, days=days))

    hour_rows = ro.read_table(out, model, start, end, days=False).num_rows
    before, hourly = _median(lambda: merge(False), args.repeat)
    before_drift, _ = _median(lambda: drift(merge(False)), args.repeat)
    t = time.perf_counter()
    written = ro.compact_days(out)
    compact_s = time.perf_counter() - t
    mixed_rows = ro.read_table(out, model, start, end, days=True).num_rows
    after, daily = _median(lambda: merge(True), args.repeat)
    after_drift, _ = _median(lambda: drift(merge(True)), args.repeat)
    same = (hourly.rows, hourly.errors, hourly.hours, hourly.status, hourly.counts) == \
        (daily.rows, daily.errors, daily.hours, daily.status, daily.counts)
    sketch_cols = sum(1 for c in ro.read_table(out, model, start, end, days=True).column_names
                      if c.endswith("_kll") or c.startswith("num__"))
    print(f"fleet {args.rows:,} rows; model {model!r}, 30 days = {hourly.rows:,} prediction rows; "
          f"compaction wrote {len(written)} day files (all models) in {compact_s:.1f} s; merges agree: {same}")
    print("\n| 30-day window of one model | rollup rows read | sketch merges | read + merge s | rows/s | "
          "+ drift of 25 features s |\n|---|---|---|---|---|---|")
    for label, rows, s, d in (("hour rows only (before)", hour_rows, before, before_drift),
                              ("day rows + edge hours (after)", mixed_rows, after, after_drift)):
        print(f"| {label} | {rows:,} | {rows * sketch_cols:,} | {s:.3f} | {hourly.rows / s:,.0f} | {d:.3f} |")


if __name__ == "__main__":
    main()
