"""Issue 9 at fleet scale: the `rollup` command's build rate and peak memory (local engine and Spark), then
what the console pays on the built rollups: the TUI's first frame, `snapshot`, drift over 24 h and 30 days
from rollups, the exact re-check of one hour, and the sketch error seen against exact scores.

    nice -n 15 python benchmarks/bench_rollups.py --rows 100000000 --dir /tmp/fleet100m      # the issue's size
    nice -n 15 python benchmarks/bench_rollups.py --rows 3000000 --dir /tmp/fleet3m --steps build --engines spark
    nice -n 15 python benchmarks/bench_rollups.py --rows 10000000 --dir /tmp/fleet10m-s3 --s3   # source in moto

With --config, an existing fleet's configuration (say `/tmp/fleet/rows-1000000/mlops-console-jsonl.toml`, its
548 MB JSONL log) is built instead, with `--no-ready` (the build alone), into --dir (nothing is written beside the
config), once per source tree given with --code, in turns (--turns): old and new code measured in one run.
Each build's rollups are summed (rows, errors, labelled) and fingerprinted (every column of every current rollup
row, sketches included), so the turns show whether the trees built the same rollups.

    nice -n 5 python benchmarks/bench_rollups.py --config /tmp/fleet/rows-1000000/mlops-console-jsonl.toml \
        --dir /tmp/rc-bench --code /tmp/old/src src --turns 2

The fleet is `fleet.py`'s (3 models x 20 numeric + 5 categorical features, `--days` 30, `--files-per-day` 4,
Hive Parquet `logs/date=YYYY-MM-DD/part-N.parquet`, the last day's numeric features shifted), generated
once under --dir and reused. With --s3 it is uploaded to a moto server on 127.0.0.1 (tests/s3_server.py,
server mode) and read from there as `s3://bench/logs/`.

Every measure is a fresh process, run as an operator would (`python -m console ...`), sampled every 0.2 s:
its peak is the largest sum of resident sizes over the process and all its descendants (Spark's JVM and
its Python workers included), with the share of each kind of process, and the same sum in proportional
set size (PSS: pages shared by forked workers counted once). A process whose tree passes --cap-gb is
killed and reported as such. Spark builds `--spark-days` days (a job per week, as the command gives it):
at a few thousand rows a second on this box it cannot build 100M in a session. The load average is
recorded next to every time. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

MODEL = "fraud-detector"
IN_PROCESS = "in one process: drift 24h/30d from rollups, 24h exact"


def _tree(pid: int) -> tuple[int, int, dict[str, int]]:
    """(RSS, PSS, RSS per kind of process) of a process and its descendants, in bytes, from /proc."""
    children: dict[int, list[int]] = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(p))
            except (OSError, ValueError, IndexError):
                pass
    rss = pss = 0
    kinds: dict[str, int] = {}
    todo = [pid]
    while todo:
        q = todo.pop()
        todo += children.get(q, [])
        try:
            with open(f"/proc/{q}/smaps_rollup") as fh:
                fields = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in fh if line.endswith("kB\n")}
            with open(f"/proc/{q}/comm") as fh:
                comm = fh.read().strip()
        except (OSError, ValueError, IndexError):
            continue
        kind = "driver" if q == pid else "java" if "java" in comm else "python workers" if "python" in comm \
            else comm
        rss += fields.get("Rss", 0)
        pss += fields.get("Pss", 0)
        kinds[kind] = kinds.get(kind, 0) + fields.get("Rss", 0)
    return rss, pss, kinds


def measure(argv: list[str], env: dict, cap_gb: float, timeout: float = 4 * 3600) -> dict:
    """Runs `argv`; its wall time, exit code, output and peak tree memory (MB); killed past `cap_gb`."""
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    peak = {"rss": 0, "pss": 0, "kinds": {}, "killed": None}

    def sample():
        while proc.poll() is None:
            rss, pss, kinds = _tree(proc.pid)
            if rss > peak["rss"]:
                peak.update(rss=rss, kinds=kinds)
            peak["pss"] = max(peak["pss"], pss)
            over = rss > cap_gb * 2**30 and "cap"
            late = time.perf_counter() - t0 > timeout and "timeout"
            if over or late:
                peak["killed"] = over or late
                os.killpg(proc.pid, 9)
            time.sleep(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate()
    th.join()
    secs = time.perf_counter() - t0
    return {"s": secs, "rc": proc.returncode, "out": out, "err": err[-3000:], "killed": peak["killed"],
            "rss_mb": peak["rss"] / 2**20, "pss_mb": peak["pss"] / 2**20,
            "kinds": {k: round(v / 2**20) for k, v in sorted(peak["kinds"].items())},
            "load": (round(load0, 1), round(os.getloadavg()[0], 1))}


def _row(label: str, r: dict, extra: str = "") -> str:
    status = f" (killed: {r['killed']})" if r["killed"] else f" (exit {r['rc']})" if r["rc"] not in (0, 1) else ""
    kinds = ", ".join(f"{k} {v:,}" for k, v in r["kinds"].items())
    return (f"| {label}{status} | {r['s']:.2f} | {r['rss_mb']:,.0f} | {r['pss_mb']:,.0f} | {kinds} | "
            f"{r['load'][0]}-{r['load'][1]} |{extra}")


def console(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "console", "--config", str(config), *args]


def build(config: Path, root: Path, engine: str, args, env: dict) -> dict:
    from fleet import END

    days = args.spark_days if engine == "spark" else args.local_days
    # a partial local build goes beside the full one (the reads use rollups-local)
    out = root / (f"rollups-{engine}" + (f"-{days}d" if days and engine == "local" else ""))
    shutil.rmtree(out, ignore_errors=True)
    argv = console(config, "rollup", "--engine", engine, "--path", str(out), "--until", END.isoformat(),
                   "--format", "json")
    if engine == "spark":
        argv += ["--master", args.master]
    if days:
        argv += ["--since", (END - timedelta(days=days)).isoformat()]
    r = measure(argv, env, args.cap_gb)
    try:
        summary = json.loads(r["out"][r["out"].index("{"):])
    except ValueError:
        summary = {"rows": 0, "seconds": float("nan")}
        print(r["err"], file=sys.stderr)
    r["rows"], r["cmd_s"] = summary["rows"], summary["seconds"]
    r["mb"] = sum(p.stat().st_size for p in out.rglob("*.parquet")) / 2**20
    return r


DRIFT = """
import json, sys, time
import numpy as np
from console.config import parse_file
from console.service import Service
cfg, model = parse_file(sys.argv[1]), sys.argv[2]
svc = Service(cfg)
svc.refresh()
out = {}
def timed(label, window, **kw):
    svc.view(at="latest", window=window)
    t = time.perf_counter()
    rep = svc.drift(model, window, series=False, **kw)
    out[label] = time.perf_counter() - t
    return {c.column: c for c in rep.dataset.columns}
timed("24h from rollups (first)", "24h", exact=False)
sketch = timed("24h from rollups", "24h", exact=False)
timed("30d from rollups (first)", "30d", exact=False)
timed("30d from rollups", "30d", exact=False)
exact = timed("24h exact", "24h", exact=True)
errs = {}
for f, s in sketch.items():
    e = exact[f]
    if s.method != "sketch":
        continue
    ks = s.test == "ks"
    err = abs(s.stats["statistic"] - e.stats["statistic"]) if ks else abs(s.score - e.score)
    d = errs.setdefault(s.test, {"n": 0, "max_err": 0.0, "max_bound": 0.0, "within": 0, "worst_share": 0.0,
                                 "borderline": 0, "verdicts_differ": 0})
    d["n"] += 1
    d["max_err"] = max(d["max_err"], err)
    d["max_bound"] = max(d["max_bound"], s.bound or 0.0)
    d["within"] += err <= (s.bound or 0.0) + 1e-12
    d["worst_share"] = max(d["worst_share"], err / s.bound if s.bound else 0.0 if err < 1e-9 else float("inf"))
    d["borderline"] += s.status == "borderline"
    d["verdicts_differ"] += s.status != "borderline" and s.drifted != e.drifted
out["errors"] = errs
print(json.dumps(out))
"""


def reads(config: Path, root: Path, args, env: dict) -> list[tuple[str, dict]]:
    from bench_datapath import FIRST_FRAME
    from fleet import END

    shutil.rmtree(root / "cache", ignore_errors=True)
    rows: list[tuple[str, dict]] = []
    cap, limit = args.cap_gb, args.timeout
    # The rollup reads first (what the 1 s goal is about), then the screens that read raw rows.
    drift = console(config, "drift", MODEL, "--format", "json", "--at", "latest", "--window")
    rows.append(("`drift --window 30d` (rollups), cold store", measure([*drift, "30d"], env, cap, limit)))
    rows.append(("`drift --window 30d` again", measure([*drift, "30d"], env, cap, limit)))
    rows.append(("`drift --window 1h --exact`", measure([*drift, "1h", "--exact"], env, cap, limit)))
    rows.append((IN_PROCESS, measure([sys.executable, "-c", DRIFT, str(config), MODEL], env, cap, limit)))
    snap = console(config, "snapshot", "--format", "json", "--at", "latest")
    rows.append(("`snapshot` (overview)", measure(snap, env, cap, limit)))
    ff = [sys.executable, "-c", FIRST_FRAME, str(config), END.isoformat()]
    for label in ("first frame (TUI headless, 120x40)", "first frame, relaunch"):
        r = measure(ff, env, cap, limit)
        try:
            r["s_inner"] = float(r["out"].strip().splitlines()[-1])
        except (ValueError, IndexError):
            r["s_inner"] = float("nan")
        rows.append((label, r))
    rows.append(("`snapshot` again", measure(snap, env, cap, limit)))
    return rows


def print_reads(rows: list[tuple[str, dict]]) -> None:
    print("\n| measure (fresh process) | wall s | peak RSS MB (tree) | peak PSS MB | RSS by process, MB | load |")
    print("|---|---|---|---|---|---|")
    for label, r in rows:
        extra = f" first frame {r['s_inner']:.2f} s after start" if "s_inner" in r else ""
        print(_row(label, r, extra))
    r = dict(rows)[IN_PROCESS]
    try:
        d = json.loads(r["out"].strip().splitlines()[-1])
    except (ValueError, IndexError):
        print(r["err"], file=sys.stderr)
        return
    errs = d.pop("errors")
    print(f"\n{MODEL}, 25 features, `Service.drift(series=False)` in one process (load {r['load'][0]}-{r['load'][1]}):")
    print("| call | seconds |\n|---|---|")
    for k, v in d.items():
        print(f"| {k} | {v:.3f} |")
    print("\nSketch error against exact, last 24 h (per test; KS on the statistic D, others on the score):")
    print("| test | features | max abs error | max stated bound | within bound | worst error / bound | borderline "
          "| verdicts differing outside borderline |\n|---|---|---|---|---|---|---|---|")
    for test, e in errs.items():
        print(f"| {test} | {e['n']} | {e['max_err']:.4f} | {e['max_bound']:.4f} | {e['within']}/{e['n']} | "
              f"{e['worst_share']:.2f} | {e['borderline']} | {e['verdicts_differ']} |")


def print_builds(rows: list[tuple[str, dict]]) -> None:
    print("\n| build (`rollup` command) | rows | wall s | rows/s | peak RSS MB (tree) | peak PSS MB "
          "| RSS by process, MB | load | rollup MB |\n|---|---|---|---|---|---|---|---|---|")
    for label, r in rows:
        status = f" (killed: {r['killed']})" if r["killed"] else f" (exit {r['rc']})" if r["rc"] else ""
        kinds = ", ".join(f"{k} {v:,}" for k, v in r["kinds"].items())
        print(f"| {label}{status} | {r['rows']:,} | {r['s']:.0f} | {r['rows'] / r['s']:,.0f} | {r['rss_mb']:,.0f} | "
              f"{r['pss_mb']:,.0f} | {kinds} | {r['load'][0]}-{r['load'][1]} | {r['mb']:.0f} |")


class _Tmp:  # what tests/s3_server._moto needs of pytest's tmp_path_factory
    def __init__(self, root: Path):
        self.root = root

    def mktemp(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def current_rows(out: Path, model: str):
    """A model's current rollup rows in a folder, sorted by key, one chunk (a fingerprint sees values, not layout)."""
    from datetime import datetime

    import polars as pl

    from console import store_rollups as ro

    t = ro.read_table(out, model, datetime(1970, 1, 1), datetime(2100, 1, 1))
    if t is None:
        return None
    df = pl.from_arrow(t)
    return df.sort(list(ro.KEYS), nulls_last=True).select(sorted(df.columns)).rechunk()


def built(out: Path) -> dict:
    """What a build left in a rollup folder: per model the current rollup rows' sums and a fingerprint of them."""
    import hashlib

    import polars as pl

    got = {}
    for model in sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        df = current_rows(out, model)
        if df is None:
            continue
        whole = df.filter(pl.col("segment").is_null())
        got[model] = {"rows": int(whole["rows"].sum()), "errors": int(whole["errors"].sum()),
                      "labelled": int(whole["labelled"].sum()),
                      "digest": hashlib.sha256(df.write_ipc(None).getvalue()).hexdigest()[:16]}
    return got


def differing(a: Path, b: Path) -> dict[str, list[str]]:
    """Per model, the columns whose values differ between two builds' current rollup rows."""
    out = {}
    for model in sorted(p.name for p in a.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        x, y = current_rows(a, model), current_rows(b, model)
        if x is None or y is None or x.shape != y.shape:
            out[model] = ["(shape)"]
            continue
        out[model] = [c for c in x.columns if c not in y.columns or not x[c].equals(y[c], null_equal=True)]
    return out


def text_turns(args) -> None:
    """--config: the build of an existing fleet's configuration, once per --code tree, in turns (see the module)."""
    root = Path(args.dir)
    root.mkdir(parents=True, exist_ok=True)
    codes = [str(Path(c).resolve()) for c in (args.code or [str(ROOT / "src")])]
    rows, folders = [], []
    for turn in range(args.turns):
        for k, code in enumerate(codes):
            out = root / f"rollups-{turn}-{k}"
            shutil.rmtree(out, ignore_errors=True)
            env = dict(os.environ, PYTHONPATH=code, XDG_CACHE_HOME=str(root / "cache"))
            argv = console(Path(args.config), "rollup", "--path", str(out), "--no-ready", "--format", "json")
            r = measure(argv, env, args.cap_gb)
            try:
                summary = json.loads(r["out"][r["out"].index("{"):])
            except ValueError:
                summary = {"rows": 0, "seconds": float("nan"), "rows_set_aside": {}}
                print(r["err"], file=sys.stderr)
            r.update(rows=summary["rows"], cmd_s=summary["seconds"], mb=0.0,
                     built=built(out) if out.is_dir() else {})
            print(json.dumps({k: v for k, v in r.items() if k != "out"}), file=sys.stderr, flush=True)
            rows.append((f"{code} (turn {turn + 1})", r))
            folders.append(out)
    print_builds(rows)
    print("\n| code (turn) | command s | per model: rows, errors, labelled, fingerprint | columns differing from the "
          "first build |\n|---|---|---|---|")
    for (label, r), out in zip(rows, folders):
        models = "; ".join(f"{m} {b['rows']:,}, {b['errors']:,}, {b['labelled']:,}, {b['digest']}"
                           for m, b in r["built"].items())
        diff = differing(folders[0], out) if out.is_dir() and folders[0].is_dir() else {}
        print(f"| {label} | {r['cmd_s']:.1f} | {models} | {json.dumps({m: c for m, c in diff.items() if c})} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--dir", default="/tmp/fleet100m")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--files-per-day", type=int, default=4)
    ap.add_argument("--engines", nargs="+", default=["local", "spark"])
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--spark-days", type=int, default=1, help="days the Spark build covers (the last ones)")
    ap.add_argument("--local-days", type=int, default=0, help="days the local build covers (0: all)")
    ap.add_argument("--steps", default="build,reads")
    ap.add_argument("--s3", action="store_true", help="read the logs from a local S3 server (moto)")
    ap.add_argument("--cap-gb", type=float, default=12.0, help="kill a measured process tree past this")
    ap.add_argument("--timeout", type=float, default=900.0, help="kill a measured read past this many seconds")
    ap.add_argument("--config", help="build this existing fleet's configuration instead (see the module)")
    ap.add_argument("--code", nargs="+", help="with --config: source trees (PYTHONPATH) to build with, in turns")
    ap.add_argument("--turns", type=int, default=1, help="with --config: rounds over the --code trees")
    args = ap.parse_args()
    if args.config:
        text_turns(args)
        return
    from fleet import write_fleet

    root = Path(args.dir)
    t = time.perf_counter()
    if not (root / "DONE").exists():
        shutil.rmtree(root / "logs", ignore_errors=True)
        write_fleet(root, args.rows, ["parquet"], days=args.days, files_per_day=args.files_per_day, progress=True)
    size = sum(p.stat().st_size for p in (root / "logs").rglob("*.parquet"))
    print(f"fleet: {args.rows:,} rows, {args.days} days x {args.files_per_day} files, {size / 2**30:.2f} GB in "
          f"{root / 'logs'} (ready in {time.perf_counter() - t:.0f} s)", flush=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), XDG_CACHE_HOME=str(root / "cache"),
               SPARK_LOCAL_IP="127.0.0.1")
    server = None
    try:
        if args.s3:
            sys.path.insert(0, str(ROOT / "tests"))
            from s3_server import _moto

            server = _moto(_Tmp(root / "moto"), auth=False)
            s3 = next(server)
            client = s3.client()
            client.create_bucket(Bucket="bench")
            t = time.perf_counter()
            n = s3.upload_tree("bench", root / "logs", "logs")
            print(f"uploaded {n} files ({size / 2**30:.2f} GB) to {s3.endpoint} in {time.perf_counter() - t:.0f} s",
                  flush=True)
            from fleet import write_config

            config = write_config(root, "parquet", live=False, logs_path="s3://bench/logs/",
                                  rollups="rollups-local", extra=s3.toml, name="s3")
        else:
            from fleet import write_config

            config = write_config(root, "parquet", live=False, rollups="rollups-local")
        steps = args.steps.split(",")
        if "build" in steps:
            builds = []
            for engine in args.engines:
                r = build(config, root, engine, args, env)
                days = args.spark_days if engine == "spark" else args.local_days
                label = (engine if engine == "local" else f"spark {args.master}") + (f", last {days} day(s)" if days else "")
                builds.append((label, r))
                print(json.dumps({k: v for k, v in r.items() if k not in ("out",)}), file=sys.stderr, flush=True)
            print_builds(builds)
        if "reads" in steps:
            rows = reads(config, root, args, env)
            for _, r in rows:
                print(json.dumps({k: v for k, v in r.items() if k != "out"}), file=sys.stderr, flush=True)
            print_reads(rows)
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
