"""What a fresh process pays to import, per headless command and for the TUI's imports, for source trees in turns.

Every headless command is a fresh process (cron, scripts), so its imports are paid on every call. For each measure
and each tree, in turns, `--repeat` times: one plain run (wall, CPU = user + sys, peak RSS, from `os.wait4`) and one
under `python -X importtime` (the sum of every module's own time: the instrumentation adds to it, so compare trees,
not against the plain run's wall). Reads that keep answers (`answer_memo`) are asked at a different `--at` on each
run, a few minutes apart, so each is a first read, as a fresh process after new rows would do.

    flock /tmp/bench.lock nice -n 5 python benchmarks/bench_imports.py --compare main=/tmp/old/src --repeat 5

The stores live under `--cache` (never inside the fleets); the first run per fleet builds them (not measured).
Each tree is byte-compiled first, as an installed console is: a checkout under PYTHONDONTWRITEBYTECODE would
compile every console module on every launch (`--no-compile` measures that)."""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLEET_1M = Path("/tmp/fleet/rows-1000000")
FLEET_30D = Path("/tmp/fleet30d-10m")
UI_IMPORT = "from console.ui.first_look import FirstLook\nfrom console.ui.app import ConsoleApp"


def measures(fleet_1m: Path, fleet_30d: Path, end_1m: datetime, end_30d: datetime) -> list[tuple]:
    """(label, fleet, args, end of the fleet or None for a fixed --at latest)."""
    c1, c30 = fleet_1m / "mlops-console-parquet.toml", fleet_30d / "mlops-console-parquet.toml"
    return [
        ("`check --at latest` (kept answers), 1M", c1, ["check", "--at", "latest", "--format", "json"], None),
        ("`snapshot --at latest`, 1M", c1, ["snapshot", "--at", "latest", "--format", "json"], None),
        ("`drift fraud-detector --window 24h` (first read), 1M", c1,
         ["drift", "fraud-detector", "--window", "24h", "--format", "json"], end_1m),
        ("`drift fraud-detector --window 24h` (first read), 30d/10M", c30,
         ["drift", "fraud-detector", "--window", "24h", "--format", "json"], end_30d),
        ("`health fraud-detector --window 30d` (first read), 30d/10M", c30,
         ["health", "fraud-detector", "--window", "30d", "--format", "json"], end_30d),
        ("`cost fraud-detector --window 30d` (first read), 30d/10M", c30,
         ["cost", "fraud-detector", "--window", "30d", "--format", "json"], end_30d),
        ("TUI imports (`ui.first_look`, `ui.app`)", None, None, None),
    ]


def run(argv: list[str], env: dict) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stderr) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        print(f"exit {os.waitstatus_to_exitcode(status)}: {' '.join(argv[-6:])}\n{err[-2000:]}", file=sys.stderr)
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, err


def import_ms(stderr: str) -> tuple[float, int]:
    """(sum of the modules' own import times in ms, modules imported) from `-X importtime` output."""
    own = [int(m.group(1)) for m in re.finditer(r"^import time:\s+(\d+) \|", stderr, re.M)]
    return sum(own) / 1000, len(own)


def newest(fleet: Path) -> datetime:
    import duckdb

    got = duckdb.sql(f"SELECT max(ts) FROM read_parquet('{fleet}/logs/**/*.parquet', hive_partitioning=true)").fetchall()[0]
    return got[0].replace(tzinfo=None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=SRC",
                    help="another source tree (e.g. main=/tmp/old/src), measured in turns with this one")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/bench-imports-cache"), help="the stores (XDG_CACHE_HOME)")
    ap.add_argument("--fleet-1m", type=Path, default=FLEET_1M)
    ap.add_argument("--fleet-30d", type=Path, default=FLEET_30D)
    ap.add_argument("--only", default="", help="measures whose label contains this text")
    ap.add_argument("--no-compile", action="store_true", help="leave the trees as they are (no byte-compiling)")
    args = ap.parse_args()
    trees = {**{k: Path(v) for k, v in (kv.split("=", 1) for kv in args.compare)}, "this": ROOT / "src"}
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if not args.no_compile:
        for src in trees.values():
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=False, env=base)
    todo = [m for m in measures(args.fleet_1m, args.fleet_30d, newest(args.fleet_1m), newest(args.fleet_30d))
            if args.only in m[0]]
    env_of = {name: dict(os.environ, PYTHONPATH=str(src)) for name, src in trees.items()}
    for label, config, cmd, _ in todo:  # the stores built (and the rollups caught up) once, unmeasured
        if config is not None:
            for name in trees:
                env = dict(env_of[name], XDG_CACHE_HOME=str(args.cache / config.parent.name))
                run([sys.executable, "-m", "console", "--config", str(config), "--at", "latest", *cmd], env)
    got: dict[tuple, dict[str, list]] = {}
    turn = 0
    print(f"load before: {os.getloadavg()}", file=sys.stderr)
    for r in range(args.repeat):
        for label, config, cmd, end in todo:
            for name in trees:
                argvs = []
                for _ in ("plain", "importtime"):  # each its own --at: the second would find the first's answer kept
                    turn += 1
                    if config is None:
                        argvs.append(["-c", UI_IMPORT])
                        env = env_of[name]
                    else:
                        at = ["--at", (end - timedelta(minutes=7 * turn)).isoformat() + "Z"] if end else []
                        argvs.append(["-m", "console", "--config", str(config), *cmd, *at])
                        env = dict(env_of[name], XDG_CACHE_HOME=str(args.cache / config.parent.name))
                wall, cpu, rss, _ = run([sys.executable, *argvs[0]], env)
                _, _, _, err = run([sys.executable, "-X", "importtime", *argvs[1]], env)
                ms, n = import_ms(err)
                g = got.setdefault((label, name), {"wall": [], "cpu": [], "rss": [], "import": [], "modules": []})
                for k, v in (("wall", wall), ("cpu", cpu), ("rss", rss), ("import", ms), ("modules", n)):
                    g[k].append(v)
        print(f"round {r + 1} done, load {os.getloadavg()}", file=sys.stderr)
    med = statistics.median
    print(f"load after: {os.getloadavg()}", file=sys.stderr)
    print("| measure | code | imports (`-X importtime` sum) | modules | wall | CPU | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for label, *_ in todo:
        for name in trees:
            g = got[(label, name)]
            print(f"| {label} | {name} | {med(g['import']):.0f} ms | {med(g['modules']):.0f} | {med(g['wall']):.2f} s | "
                  f"{med(g['cpu']):.2f} s | {med(g['rss']):.0f} MB |")
    print(f"\nmedians of {args.repeat} fresh processes per cell, trees in turns; load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
