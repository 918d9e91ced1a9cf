"""The data path at production volumes, side by side with a plain DuckDB query over the same files.

    PYTHONPATH=src python benchmarks/bench_datapath.py --rows 1000000 [--formats parquet,jsonl] [--dir /tmp/fleet-1m]

For each format: `snapshot`, `check`, `drift fraud-detector --window 24h` (each as a fresh process, once on
a cold store, once warm at the same `--at` (answered from the kept answer) and once warm at an `--at` no process
asked before (the rules evaluated)), the TUI's first frame with data (cold, then relaunched), a refresh after
10,000 appended rows, and peak RSS of each process (`ru_maxrss` from wait4). The direct query computes
the overview's numbers (requests per model over 24 h, p95 latency and error rate over the last hour)
straight from the files, also in a fresh process; the import floor is a fresh process that only imports
what a rule pass imports. Prints a Markdown table; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DIRECT = """
import duckdb, sys
fmt, root = sys.argv[1], sys.argv[2]
src = (f"read_parquet('{root}/logs/**/*.parquet', hive_partitioning=true)" if fmt == "parquet"
       else f"read_json_auto('{root}/predictions.jsonl')")
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
now = con.execute(f"SELECT max(CAST(ts AS TIMESTAMP)) FROM {src}").fetchone()[0]
rows = con.execute(f'''
    SELECT model, count(*) FILTER (WHERE CAST(ts AS TIMESTAMP) > ?::TIMESTAMP - INTERVAL 24 HOUR) AS requests_24h,
           quantile_cont(latency_ms, 0.95) FILTER (WHERE CAST(ts AS TIMESTAMP) > ?::TIMESTAMP - INTERVAL 1 HOUR) AS p95,
           avg(CASE WHEN status >= 500 THEN 1.0 ELSE 0.0 END)
               FILTER (WHERE CAST(ts AS TIMESTAMP) > ?::TIMESTAMP - INTERVAL 1 HOUR) AS error_rate
    FROM {src} GROUP BY model ORDER BY model''', [now, now, now]).fetchall()
print(rows)
"""


def run_rss(cmd: list[str], env: dict) -> tuple[float, float, int, str]:
    """Wall time, peak RSS in MB, exit code and output of `cmd`. The peak is read by `/usr/bin/time` around the
    command, not from this process's `wait4`: Linux starts a child's `ru_maxrss` at its parent's peak (the exec
    keeps the high-water mark of the memory it replaced), so every command measured below this process's own
    peak (which holds a generated fleet) read as that peak."""
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "PEAK-KB %M", *cmd], env=env, capture_output=True)
    took = time.perf_counter() - t0
    head, _, peak = proc.stderr.rpartition(b"PEAK-KB ")
    if proc.returncode and not peak:  # /usr/bin/time names a failed command's status before its figures
        peak = b"0"
    return took, int(peak.split()[0]) / 1024, proc.returncode, (proc.stdout + head[-300:]).decode(errors="replace")


def console(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "console", "--config", str(config), *args]


# what a fresh console process pays before it reads a row: the modules a rule pass imports (DuckDB, Polars,
# NumPy, Arrow, DataSketches and the console's own), nothing read. A command at a new `--at` cannot be faster than
# this, so the 3x goal leaves (3 x direct - floor) for its work.
FLOOR = ("import console.cli, console.service, console.monitoring, console.incident_rules, console.rollup_rules, "
         "console.rollup_drift, console.store_rollups")

FIRST_FRAME = """
import asyncio, os, sys, time
from datetime import datetime
t0 = time.perf_counter()
from console.config import parse_file
cfg = parse_file(sys.argv[1])
end = datetime.fromisoformat(sys.argv[2])  # the fleet's newest row: the view is pinned there, not at the wall clock
try:  # as `ui.run` does: the quick look's helper is forked before Textual is imported
    from console.ui.first_look import FirstLook
    look = {"first_look": FirstLook.start(cfg, clock=lambda: end)}
except ImportError:  # code from before it
    look = {}
from console.ui.app import ConsoleApp
class PinnedApp(ConsoleApp):
    CSS_PATH = os.path.join(os.path.dirname(sys.modules[ConsoleApp.__module__].__file__), ConsoleApp.CSS_PATH)
    # as `mlops-console` launches: the app starts at once and its first worker builds the service (importing
    # the store's libraries meanwhile); only the clock is pinned
    @property
    def service(self):
        with self._service_lock:
            if self._service is None:
                from console.service import Service
                self._service = Service(self.cfg, clock=lambda: end, cache=True)
            return self._service
async def main():
    app = PinnedApp(cfg, poll=False, **look)
    async with app.run_test(size=(120, 40)) as pilot:
        while app.snapshot is None or not any(r.requests for r in app.snapshot.rows):
            if time.perf_counter() - t0 > 600:
                break
            await pilot.pause(0.01)
        took = time.perf_counter() - t0 if app.snapshot is not None else float("nan")
        print(took, flush=True)
        # measured: gone at once, not waiting for the workers still reading (the refresh, the incidents: their
        # time and memory are not the first frame's)
        os._exit(0)
asyncio.run(main())
"""


REFRESH = """
import sys, time, json
sys.path.insert(0, sys.argv[3])
from fleet import day_table
import numpy as np, polars as pl
from datetime import datetime
from console.config import parse_file
from console.warehouse import Warehouse
cfg = parse_file(sys.argv[1])
live = sys.argv[2]
w = Warehouse(cfg)
w.refresh()
times = []
for i in range(5):
    t = day_table(np.random.default_rng(i), 10_000, datetime(2026, 11, 29), 10**9 + i * 10_000)
    frame = pl.from_arrow(t).with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    with open(live, "ab") as fh:
        frame.write_ndjson(fh)
    t0 = time.perf_counter()
    stats = w.refresh()
    times.append(time.perf_counter() - t0)
    assert stats.rows.get("predictions") == 10_000, stats
print(sorted(times)[2])
"""


def bench(fmt: str, root: Path, rows: int) -> dict:
    from fleet import write_config

    config = write_config(root, fmt)
    cache = root / f"cache-{fmt}"
    shutil.rmtree(cache, ignore_errors=True)
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPATH=str(ROOT / "src"))
    # the first-frame and refresh scripts start no `mlops-console`: they get the pool its `main` chooses
    env.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    from console.cli import POLARS_MALLOC_CONF

    env.setdefault("_RJEM_MALLOC_CONF", POLARS_MALLOC_CONF)
    out: dict = {"format": fmt, "rows": rows}
    out["direct"] = run_rss([sys.executable, "-c", DIRECT, fmt, str(root)], env)[:2]
    out["floor"] = run_rss([sys.executable, "-c", FLOOR], env)[:2]
    from fleet import END

    for i, (label, args) in enumerate((("snapshot", ("snapshot", "--format", "json")),
                                       ("check", ("check", "--format", "json")),
                                       ("drift", ("drift", "fraud-detector", "--window", "24h", "--format", "json")))):
        cold = run_rss(console(config, *args, "--at", "latest"), env)
        warm = run_rss(console(config, *args, "--at", "latest"), env)
        # the same warm store at an --at no process asked before: nothing kept answers it, the rules are
        # evaluated (what a script at the wall clock, a cron `check` or a new user's second command pays)
        at = (END + timedelta(seconds=13 * (i + 1))).strftime("%Y-%m-%dT%H:%M:%SZ")
        fresh = run_rss(console(config, *args, "--at", at), env)
        if cold[2] not in (0, 1):
            print(f"{label} failed: {cold[3]}", file=sys.stderr)
        out[label] = (cold[0], cold[1], warm[0], warm[1], fresh[0], fresh[1])
    shutil.rmtree(cache, ignore_errors=True)

    ff_cold = run_rss([sys.executable, "-c", FIRST_FRAME, str(config), END.isoformat()], env)
    ff_warm = run_rss([sys.executable, "-c", FIRST_FRAME, str(config), END.isoformat()], env)
    out["first_frame"] = (_float(ff_cold[3]), ff_cold[1], _float(ff_warm[3]), ff_warm[1])
    rf = run_rss([sys.executable, "-c", REFRESH, str(config), str(root / "live.jsonl"),
                  str(Path(__file__).resolve().parent)], env)
    out["refresh_10k"] = (_float(rf[3]), rf[1])
    (root / "live.jsonl").write_text("")
    return out


def first_frames(config: Path, trees: dict[str, Path], at: str, repeat: int) -> str:
    """Cold and warm first frame for each source tree (e.g. main's and this branch's), in turns, `repeat` times:
    a fresh store per cold launch (its own XDG_CACHE_HOME), then one relaunch on it. A Markdown table."""
    import statistics
    import tempfile

    got: dict[str, dict[str, list]] = {name: {"cold": [], "warm": [], "rss_cold": [], "rss_warm": []} for name in trees}
    for _ in range(repeat):
        for name, src in trees.items():
            cache = Path(tempfile.mkdtemp(prefix=f"ff-{name}-"))
            env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPATH=str(src))
            for label in ("cold", "warm"):
                s, rss, _, out = run_rss([sys.executable, "-c", FIRST_FRAME, str(config), at], env)
                got[name][label].append(_float(out))
                got[name][f"rss_{label}"].append(rss)
            shutil.rmtree(cache, ignore_errors=True)
            print(json.dumps({name: got[name]}), file=sys.stderr)
    lines = ["| code | cold first frame (min / median) | warm relaunch (min / median) | peak RSS cold / warm |",
             "|---|---|---|---|"]
    for name, g in got.items():
        lines.append(f"| {name} | {min(g['cold']):.2f} / {statistics.median(g['cold']):.2f} s | "
                     f"{min(g['warm']):.2f} / {statistics.median(g['warm']):.2f} s | "
                     f"{statistics.median(g['rss_cold']):.0f} / {statistics.median(g['rss_warm']):.0f} MB |")
    return "\n".join(lines)


def _float(text: str) -> float:
    try:
        return float(text.strip().splitlines()[0])
    except (ValueError, IndexError):
        print(text, file=sys.stderr)
        return float("nan")


def table(results: list[dict]) -> str:
    lines = ["| rows | format | measure | console cold | console warm (same `--at`) | console warm, a new `--at` | "
             "direct DuckDB query | ratio warm / direct | ratio new `--at` / direct |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        d_s, d_mb = r["direct"]
        for m in ("snapshot", "check", "drift"):
            c_s, c_mb, w_s, w_mb, n_s, n_mb = r[m]
            lines.append(f"| {r['rows']:,} | {r['format']} | `{m}` | {c_s:.2f} s, {c_mb:.0f} MB | {w_s:.2f} s, "
                         f"{w_mb:.0f} MB | {n_s:.2f} s, {n_mb:.0f} MB | {d_s:.2f} s, {d_mb:.0f} MB | {w_s / d_s:.1f}x | "
                         f"{n_s / d_s:.1f}x |")
        fl_s, fl_mb = r["floor"]
        lines.append(f"| {r['rows']:,} | {r['format']} | import floor (no row read) | | {fl_s:.2f} s, {fl_mb:.0f} MB | "
                     f"| {d_s:.2f} s | {fl_s / d_s:.1f}x | |")
        f_s, f_mb, fw_s, fw_mb = r["first_frame"]
        lines.append(f"| {r['rows']:,} | {r['format']} | first frame with data | {f_s:.2f} s, {f_mb:.0f} MB | "
                     f"{fw_s:.2f} s, {fw_mb:.0f} MB | | | | |")
        lines.append(f"| {r['rows']:,} | {r['format']} | refresh after 10,000 appended rows | | "
                     f"{r['refresh_10k'][0] * 1000:.0f} ms | | | | |")
        if r["format"] == "jsonl":
            c_s = r["snapshot"][0]
            lines.append(f"| {r['rows']:,} | jsonl | cold `snapshot` incl. ingest | {r['rows'] / c_s:,.0f} rows/s "
                         f"({r['rows'] / c_s / 2:,.0f} per core) | | | | | |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--formats", default="parquet,jsonl")
    ap.add_argument("--dir", default="/tmp/fleet")
    ap.add_argument("--keep", action="store_true", help="keep the generated fleet")
    ap.add_argument("--first-frame", type=Path, metavar="CONFIG",
                    help="only the TUI's first frame, cold and warm, on this existing workspace config")
    ap.add_argument("--at", default=None, help="the pinned clock for --first-frame (default: the fleet's END)")
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=SRC",
                    help="also measure another source tree (e.g. main=/work/main/src), in turns with this one")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    # an installed console runs from bytecode pip compiled; a checkout under PYTHONDONTWRITEBYTECODE would
    # compile every module on every launch (0.2-0.3 s of each measure)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=False,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
    if args.first_frame:
        from fleet import END

        trees = dict(kv.split("=", 1) for kv in args.compare)
        for src in trees.values():
            subprocess.run([sys.executable, "-m", "compileall", "-q", src], check=False,
                           env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
        trees = {**{k: Path(v) for k, v in trees.items()}, "this": ROOT / "src"}
        print(first_frames(args.first_frame.resolve(), trees, args.at or END.isoformat(), args.repeat))
        return
    from fleet import write_fleet

    results = []
    for rows in args.rows:
        root = Path(args.dir) / f"rows-{rows}"
        formats = args.formats.split(",")
        if not (root / "reference").exists():
            write_fleet(root, rows, formats)
        for fmt in formats:
            results.append(bench(fmt, root, rows))
            print(json.dumps(results[-1]), file=sys.stderr)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(table(results))


if __name__ == "__main__":
    main()
