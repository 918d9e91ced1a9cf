"""Reads from rollups at 100M rows, old code against new in one run: drift (24 h, 30 days, with and without the
Drift screen's trend), health, cost and quality over long windows, in one process as a TUI pays them.

    flock /tmp/bench.lock nice -n 5 python benchmarks/bench_rollup_windows.py --fleet /tmp/fleet100m \\
        --work /tmp/rb --old /tmp/rb/old/src --rollups /tmp/rb/base-rollups

Each code tree runs in a fresh process on its own copy of `--rollups` (a catch-up may write hour and day files
there; the fleet's logs are only read) with the fleet's store cache copied once into `--work` and shared. A
second log source in `--work` (empty at first) gets 500 copies of the newest rows, with new request ids, before
the last reads: a live log's rows landing in the open hour. The
copy starts as the console leaves a folder it caught up itself: hour files current, no valid day file.
A second process then runs on the same folder (each read the first of its kind there). No assertions: figures
only.

`--fresh` instead runs each read kind first in a process of its own on its own copy of the folder (what a cron'd
`mlops-console rollup` leaves for the next console or CLI command), and the CLI's default `drift` (24 h) as a
whole command; `--min-rows` sets the reads' `[rollups] min_rows`.
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

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
MODEL = "fraud-detector"

RUN = r"""
import json, sys, time
from console.config import parse_file
from console.service import Service
cfg, model = parse_file(sys.argv[1]), sys.argv[2]
out = {}
t = time.perf_counter()
svc = Service(cfg)
svc.refresh()
out["open + refresh"] = time.perf_counter() - t
def timed(label, window, call):
    svc.view(at="latest", window=window)
    t = time.perf_counter()
    rep = call()
    out[label] = time.perf_counter() - t
    return rep
d = lambda w, **kw: (lambda: svc.drift(model, w, exact=False, **kw))
timed("drift 24h, first (catch-up)", "24h", d("24h", series=False))
a = timed("drift 24h (CLI: + prediction/label drift)", "24h", d("24h", series=False))
timed("drift 24h, features only", "24h", d("24h", series=False, target=False))
timed("drift 30d, first", "30d", d("30d", series=False))
b = timed("drift 30d (CLI)", "30d", d("30d", series=False))
timed("drift 30d, features only", "30d", d("30d", series=False, target=False))
timed("drift 30d + trend (Drift screen), first", "30d", d("30d", target=False))
timed("drift 30d + trend (Drift screen)", "30d", d("30d", target=False))
timed("drift 7d + trend (Drift screen)", "7d", d("7d", target=False))
svc.refresh()
timed("drift 30d + trend, after a refresh", "30d", d("30d", target=False))
timed("health 7d", "7d", lambda: svc.health(model, "7d"))
timed("health 30d", "30d", lambda: svc.health(model, "30d"))
timed("cost (month), first", "30d", lambda: svc.cost(model, rollups=True))
timed("cost (month)", "30d", lambda: svc.cost(model, rollups=True))
timed("quality 30d, first", "30d", lambda: svc.quality(model, "30d", rollups=True))
timed("quality 30d", "30d", lambda: svc.quality(model, "30d", rollups=True))
svc.refresh()
timed("health 30d, after a refresh", "30d", lambda: svc.health(model, "30d"))
timed("cost (month), after a refresh", "30d", lambda: svc.cost(model, rollups=True))
timed("quality 30d, after a refresh", "30d", lambda: svc.quality(model, "30d", rollups=True))
# rows land in the open hour (a live log): 500 copies of the newest rows, new request ids, in a second source
import glob, pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
newest = sorted(glob.glob(sys.argv[4] + "/logs/date=*/*.parquet"))[-1]
t = pq.read_table(newest)
t = t.filter(pc.equal(t["model"], model)).sort_by("ts")
t = t.slice(max(0, t.num_rows - 500))
t = t.set_column(t.schema.get_field_index("request_id"), "request_id",
                 pc.binary_join_element_wise(pa.array(["live"] * t.num_rows), t["request_id"], "-"))
pq.write_table(t, sys.argv[3] + "/live-1.parquet")
svc.refresh()
timed("drift 30d + trend, after 500 new rows", "30d", d("30d", target=False))
timed("health 30d, after 500 new rows", "30d", lambda: svc.health(model, "30d"))
timed("cost (month), after 500 new rows", "30d", lambda: svc.cost(model, rollups=True))
timed("quality 30d, after 500 new rows", "30d", lambda: svc.quality(model, "30d", rollups=True))
# a live log: 500 more rows half a second newer than the newest, so `now` (--at latest) moves, and with it every
# window's partial first hour (the fleet's newest row is at 23:59:59: the open hour stays the same)
t = t.set_column(t.schema.get_field_index("ts"), "ts", pc.add(t["ts"], pa.scalar(500_000, pa.duration("us"))))
t = t.set_column(t.schema.get_field_index("request_id"), "request_id",
                 pc.binary_join_element_wise(pa.array(["live2"] * t.num_rows), t["request_id"], "-"))
pq.write_table(t, sys.argv[3] + "/live-2.parquet")
svc.refresh()
timed("drift 30d + trend, now moved (live)", "30d", d("30d", target=False))
timed("health 30d, now moved (live)", "30d", lambda: svc.health(model, "30d"))
timed("cost (month), now moved (live)", "30d", lambda: svc.cost(model, rollups=True))
timed("quality 30d, now moved (live)", "30d", lambda: svc.quality(model, "30d", rollups=True))
out["scores 24h"] = {c.column: [c.score, c.bound, c.status] for c in a.dataset.columns}
out["scores 30d"] = {c.column: [c.score, c.bound, c.status] for c in b.dataset.columns}
print(json.dumps(out))
"""

# A second process on the same folder after the first (a CLI command run after the TUI, or the next cron'd check):
# each read is the first of its kind in this process, with the live rows of the first run still in the store.
SECOND = r"""
import json, sys, time
from console.config import parse_file
from console.service import Service
cfg, model = parse_file(sys.argv[1]), sys.argv[2]
out = {}
t = time.perf_counter()
svc = Service(cfg)
svc.refresh()
out["2nd process: open + refresh"] = time.perf_counter() - t
def timed(label, window, call):
    svc.view(at="latest", window=window)
    t = time.perf_counter()
    call()
    out[label] = time.perf_counter() - t
timed("2nd process: drift 24h (CLI), first", "24h", lambda: svc.drift(model, "24h", series=False, exact=False))
timed("2nd process: drift 30d (CLI), first", "30d", lambda: svc.drift(model, "30d", series=False, exact=False))
timed("2nd process: drift 30d + trend, first", "30d", lambda: svc.drift(model, "30d", exact=False, target=False))
timed("2nd process: health 30d, first", "30d", lambda: svc.health(model, "30d"))
timed("2nd process: cost (month), first", "30d", lambda: svc.cost(model, rollups=True))
timed("2nd process: quality 30d, first", "30d", lambda: svc.quality(model, "30d", rollups=True))
print(json.dumps(out))
"""


# `--fresh`: each read kind first in a fresh process on its own copy of the folder as the `rollup` command left it
# (what a cron'd build leaves for the next console or CLI command): the read alone is timed, after opening the store.
FRESH = r"""
import json, sys, time
from console.config import parse_file
from console.service import Service
cfg, model, kind = parse_file(sys.argv[1]), sys.argv[2], sys.argv[3]
svc = Service(cfg)
svc.refresh()
window = "30d" if kind in ("health", "cost", "quality") else kind.split()[1]
svc.view(at="latest", window=window)
calls = {
    "drift 24h (CLI)": lambda: svc.drift_table(model, "24h"),
    "drift 24h + trend (Drift screen)": lambda: svc.drift(model, "24h", target=False),
    "drift 7d + trend (Drift screen)": lambda: svc.drift(model, "7d", target=False),
    "drift 30d (CLI)": lambda: svc.drift_table(model, "30d"),
    "drift 30d + trend (Drift screen)": lambda: svc.drift(model, "30d", target=False),
    "health": lambda: svc.health(model, "30d"),
    "cost": lambda: svc.cost(model),
    "quality": lambda: svc.quality(model, "30d"),
}
t = time.perf_counter()
calls[kind]()
print(json.dumps({"first in a fresh process: " + kind: time.perf_counter() - t}))
"""
FRESH_KINDS = ("drift 24h (CLI)", "drift 24h + trend (Drift screen)", "drift 7d + trend (Drift screen)",
               "drift 30d (CLI)", "drift 30d + trend (Drift screen)", "health", "cost", "quality")  # health, quality: 30 d


def fresh(name: str, src: Path, rollups: Path, work: Path, config: Path) -> dict:
    """Each read kind's first read in its own process, on its own copy of `rollups` and a store of its own, and the
    CLI's `drift` (its default window, 24 h) as a whole command (wall seconds, Python's start and imports
    included) on a fresh copy of `rollups` and the store the last read opened (no drift answer kept in it)."""
    out = {}
    cache = work / f"cache-fresh-{name}"  # a store of its own (no answer kept by an earlier run: `answer_memo`)
    env = dict(os.environ, PYTHONPATH=str(src), XDG_CACHE_HOME=str(cache))
    target = work / f"rollups-{name}"
    for kind in (*FRESH_KINDS, "CLI"):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(rollups, target)
        if kind != "CLI":  # the command runs on the store the last read left (as a cron'd command finds it)
            shutil.rmtree(cache, ignore_errors=True)
        if kind == "CLI":
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "console", "--config", str(config), "drift", MODEL, "--at",
                                   "latest", "--format", "json"], env=env, capture_output=True, text=True, check=False)
            out["`drift MODEL --at latest` (24 h), whole command, fresh folder"] = time.perf_counter() - t
            if proc.returncode:
                print(proc.stderr[-2000:], file=sys.stderr)
            else:
                out["CLI 24h methods"] = sorted({f["method"] for f in json.loads(proc.stdout)["features"]})
            continue
        proc = subprocess.run([sys.executable, "-c", FRESH, str(config), MODEL, kind], env=env, capture_output=True,
                              text=True, check=False)
        if proc.returncode:
            print(proc.stderr[-3000:], file=sys.stderr)
            continue
        out.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fleet", default="/tmp/fleet100m")
    ap.add_argument("--work", default="/tmp/rb")
    ap.add_argument("--old", required=True, help="src folder of the code to compare against")
    ap.add_argument("--new", default=str(ROOT / "src"), help="src folder of the code measured (a copy, if it changes)")
    ap.add_argument("--rollups", required=True, help="rollup folder to start each run from (copied)")
    ap.add_argument("--old-rollups", help="the old code's own rollup folder (built by its `rollup` command), when "
                    "the new code's rollups hold columns the old code does not write; default: --rollups")
    ap.add_argument("--new-first", action="store_true", help="run the new code first (to see order effects)")
    ap.add_argument("--min-rows", type=int, help="`[rollups] min_rows` of the reads' configuration (default: the "
                    "console's, 200,000: at 10M rows a model's day holds ~110,000 and is read raw)")
    ap.add_argument("--fresh", action="store_true", help="only each read kind's first read in a fresh process on a "
                    "fresh copy of the folder, and the CLI's default `drift` as a whole command")
    args = ap.parse_args()
    fleet, work = Path(args.fleet), Path(args.work)
    base = (fleet / "mlops-console-parquet.toml").read_text()
    results = {}
    runs = [("old", Path(args.old)), ("new", Path(args.new))]
    for name, src in runs[::-1] if args.new_first else runs:
        rollups = work / f"rollups-{name}"
        shutil.rmtree(rollups, ignore_errors=True)
        shutil.copytree(args.old_rollups if name == "old" and args.old_rollups else args.rollups, rollups)
        config = work / f"{name}.toml"
        live = work / f"live-{name}"  # a second log source, empty until rows land in the open hour
        shutil.rmtree(live, ignore_errors=True)
        live.mkdir(parents=True)
        sample = pq.read_table(sorted((fleet / "logs").glob("date=*/*.parquet"))[-1]).slice(0, 0)
        pq.write_table(sample, live / "live-0.parquet")
        base_live = base.replace('[rollups]', f'[[logs]]\nkind = "predictions"\npath = "{live}"\nformat = "parquet"\n\n'
                                 '[rollups]', 1)
        config.write_text(base_live.replace('path = "logs"', f'path = "{fleet}/logs"')
                          .replace('reference = "reference/', f'reference = "{fleet}/reference/')
                          .replace('path = "rollups-local"', f'path = "{rollups}"'
                                   + (f"\nmin_rows = {args.min_rows}" if args.min_rows is not None else "")))
        env = dict(os.environ, PYTHONPATH=str(src), XDG_CACHE_HOME=str(work / "cache"))
        uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        if args.fresh:
            results[name] = fresh(name, src, Path(args.old_rollups if name == "old" and args.old_rollups
                                                  else args.rollups), work, config)
            results[name]["load"] = [uptime.split("load average:")[-1].strip(), subprocess.run(
                ["uptime"], capture_output=True, text=True).stdout.split("load average:")[-1].strip()]
            continue
        proc = subprocess.run([sys.executable, "-c", RUN, str(config), MODEL, str(live), str(fleet)], env=env,
                              capture_output=True,
                              text=True, check=False)
        if proc.returncode:
            print(proc.stderr[-3000:], file=sys.stderr)
            continue
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        second = subprocess.run([sys.executable, "-c", SECOND, str(config), MODEL], env=env, capture_output=True,
                                text=True, check=False)
        if second.returncode:
            print(second.stderr[-3000:], file=sys.stderr)
        else:
            results[name].update(json.loads(second.stdout.strip().splitlines()[-1]))
        results[name]["load"] = [uptime.split("load average:")[-1].strip(),
                                 subprocess.run(["uptime"], capture_output=True, text=True).stdout.split(
                                     "load average:")[-1].strip()]
    old, new = results.get("old", {}), results.get("new", {})
    print(f"| read ({MODEL}, in one process) | old s | new s |")
    print("|---|---|---|")
    for label in [k for k in new if k not in ("scores 24h", "scores 30d", "load")]:
        o, n = old.get(label), new.get(label)
        if not isinstance(n, float):
            print(f"| {label} | {o} | {n} |")
            continue
        print(f"| {label} | {o:.2f} | {n:.2f} |" if o is not None else f"| {label} | | {n:.2f} |")
    print(f"load (1, 5, 15 min) at start / end: old {old.get('load')}, new {new.get('load')}")
    for w in ("24h", "30d"):
        if w == "30d" and not old:
            continue
        so, sn = old.get(f"scores {w}", {}), new.get(f"scores {w}", {})
        worst = max((abs(sn[f][0] - so[f][0]) / max(sn[f][1] + so[f][1], 1e-12) for f in sn if f in so), default=0)
        differ = sum(so[f][2] != sn[f][2] for f in sn if f in so)
        print(f"{w}: |new - old| / (sum of the two bounds): max {worst:.2f}; statuses that differ: {differ}")
    (work / f"bench_rollup_windows{'-new-first' if args.new_first else ''}{'-fresh' if args.fresh else ''}{f'-{args.min_rows}' if args.min_rows is not None else ''}.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
