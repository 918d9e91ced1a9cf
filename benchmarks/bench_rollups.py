"""Rollup figures (issue 9): build rate and peak memory of both engines, drift over 24 h and 30 days
from rollups, the exact re-check of one hour, and the sketch error against exact scores.

    PYTHONPATH=src python benchmarks/bench_rollups.py                  # 10M rows, local + spark
    PYTHONPATH=src python benchmarks/bench_rollups.py --rows 100000000 # 100M (hours, ~10 GB of disk)
    PYTHONPATH=src python benchmarks/bench_rollups.py --rows 3000000 --engines local

The fleet: 3 models x 25 features (20 numeric, 5 categorical), 30 days, Hive Parquet
(`date=YYYY-MM-DD/part-0.parquet`) under /tmp/bench_rollups/<rows>/, generated once and reused.
Each build runs in its own subprocess; its peak is the largest resident size of that process
and its children (the JVM for Spark), sampled every 0.2 s. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

START = datetime(2026, 6, 1)
DAYS = 30
MODELS = ("fraud", "eta", "churn")
NUMERIC = [f"n{i:02d}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]


def generate(rows: int, root: Path) -> Path:
    logs = root / "logs"
    done = root / "DONE"
    if done.exists():
        return logs
    per_day = rows // DAYS
    for day in range(DAYS):
        rng = np.random.default_rng(day)
        n = per_day + (rows - per_day * DAYS if day == DAYS - 1 else 0)
        t0 = START + timedelta(days=day)
        secs = np.sort(rng.integers(0, 86400 * 10**6, n))
        model = rng.integers(0, 3, n)
        drift = day / DAYS  # a slow drift over the month in the first five features
        cols = {
            "ts": pl.Series(secs).cast(pl.Duration("us")) + t0,
            "model": pl.Series(np.array(MODELS)[model]),
            "version": pl.Series(np.where(rng.random(n) < 0.9, "1", "2")),
            "request_id": pl.Series(np.char.add(f"r{day}-", np.arange(n).astype(str))),
            "environment": "production",
            "variant": pl.Series(np.where(rng.random(n) < 0.95, "a", "b")),
            "score": np.round(rng.beta(2, 5, n), 4),
            "latency_ms": np.round(rng.lognormal(3, 0.5, n), 1),
            "is_error": rng.random(n) < 0.003,
            "input_tokens": rng.integers(10, 500, n),
            "cost_usd": rng.random(n) / 1000,
        }
        cols["prediction"] = pl.Series(np.where(cols["score"] >= 0.5, "1", "0"))
        for i, f in enumerate(NUMERIC):
            shift = drift if i < 5 else 0.0
            cols[f] = rng.normal(shift + model * 0.1, 1 + 0.2 * (i % 3), n)
        for i, f in enumerate(CATEGORICAL):
            k = 4 + 6 * i
            p = np.linspace(1, 2, k)
            cols[f] = pl.Series(np.array([f"v{j}" for j in range(k)])[rng.choice(k, n, p=p / p.sum())])
        d = logs / f"date={t0:%Y-%m-%d}"
        d.mkdir(parents=True, exist_ok=True)
        pl.DataFrame(cols).write_parquet(d / "part-0.parquet", row_group_size=128_000)
        print(f"  generated {t0:%Y-%m-%d}: {n:,} rows", file=sys.stderr)
    done.write_text("ok")
    return logs


def _tree_rss(pid: int, by_kind: dict[str, int] | None = None) -> int:
    """Resident bytes of a process and its descendants (from /proc); with `by_kind`, the peak of each
    kind of process (java, python, ...) is kept in it as well."""
    children: dict[int, list[int]] = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(p))
            except (OSError, ValueError, IndexError):
                pass
    total, todo, kinds = 0, [pid], {}
    while todo:
        q = todo.pop()
        todo += children.get(q, [])
        try:
            with open(f"/proc/{q}/statm") as fh:
                rss = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            with open(f"/proc/{q}/comm") as fh:
                kind = "java" if "java" in fh.read() else "python" if q != pid else "driver"
        except OSError:
            continue
        total += rss
        kinds[kind] = kinds.get(kind, 0) + rss
    if by_kind is not None:
        for k, v in kinds.items():
            by_kind[k] = max(by_kind.get(k, 0), v)
    return total


PEAKS: dict[str, int] = {}  # the last child's peak resident bytes per kind of process


def run_child(args: list[str]) -> tuple[dict, float]:
    """Runs this script in a subprocess; returns its JSON result and peak tree RSS in MB."""
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "SPARK_LOCAL_IP": "127.0.0.1"})
    peak = [0]
    PEAKS.clear()

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid, PEAKS))
            time.sleep(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, _ = proc.communicate()
    th.join()
    return json.loads(out.strip().splitlines()[-1]), peak[0] / 2**20


def child_build(engine: str, logs: str, out: str, rows: int, master: str) -> dict:
    from console import rollup_engine
    from console import store_rollups as ro

    specs = {m: ro.ModelSpec(numeric=tuple(NUMERIC), categorical=tuple(CATEGORICAL)) for m in MODELS}
    datasets = rollup_engine.src.dataset([logs])
    t = time.perf_counter()
    if engine == "spark":
        from console.spark import rollup_job

        build = rollup_job.builder([logs], None, specs, master=master)
    else:
        build = rollup_engine.local_builder(datasets, None, specs)
    # Local: a day per file, memory bounded by one day's groups. Spark: a week per job, as the rollup
    # command gives it (a job costs seconds of scheduling).
    chunk = timedelta(days=7) if engine == "spark" else timedelta(days=1)
    res = ro.catch_up(out, build, now=START + timedelta(days=DAYS), since=START, chunk=chunk)
    took = time.perf_counter() - t
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    size = sum(p.stat().st_size for p in Path(out).rglob("*.parquet"))
    return {"engine": engine, "rows": res.rows, "seconds": took, "rollup_bytes": size,
            "cpu_s": ru.ru_utime + ru.ru_stime}


def child_drift(logs: str, out: str) -> dict:
    """Drift of one model's 25 features, 24 h and 30 days, from rollups; exact re-check of one hour;
    sketch error against exact over 24 h."""
    from scipy import stats

    from console import rollup_engine
    from console import store_rollups as ro
    from console.analytics import drift_stats as st
    from console.analytics import sketches as sk

    model = "fraud"
    end = START + timedelta(days=DAYS)
    # The reference: the model's first day, turned into sketches once (as a large reference would be).
    t = time.perf_counter()
    ref = ro.read(out, model, START, START + timedelta(days=1))
    res = {"reference_from_rollups_s": time.perf_counter() - t}

    def drift(cur: ro.Summary) -> dict:
        scores = {}
        for f in NUMERIC:
            scores[f] = sk.wasserstein(ref.numeric[f], cur.numeric[f], ref_std=ref.mean_std(f)[1])
        for f in CATEGORICAL:
            scores[f] = sk.jensenshannon(ref.counts[f], cur.counts[f])
        return scores

    for label, hours in (("24h", 24), ("30d", DAYS * 24)):
        t = time.perf_counter()
        cur = ro.read(out, model, end - timedelta(hours=hours), end)
        scores = drift(cur)
        res[f"drift_{label}_s"] = time.perf_counter() - t
        res[f"drift_{label}_rows"] = cur.rows
        res[f"drift_{label}_drifted"] = sum(s.verdict == sk.DRIFTED for s in scores.values())
        res[f"drift_{label}_borderline"] = sum(s.verdict == sk.BORDERLINE for s in scores.values())

    # Exact re-check of one hour over raw rows (read in place), against the reference day's raw rows.
    datasets = rollup_engine.src.dataset([logs])
    t = time.perf_counter()
    hour = end - timedelta(hours=1)
    cols = ["ts", "model", *NUMERIC]
    raw = pl.concat([pl.from_arrow(b) for b in rollup_engine.src.scan(datasets, hour, end, cols)])
    raw = raw.filter(pl.col("model") == model)
    refraw = pl.concat([pl.from_arrow(b) for b in rollup_engine.src.scan(datasets, START, START + timedelta(days=1),
                                                                          cols)])
    refraw = refraw.filter(pl.col("model") == model)
    for f in NUMERIC:
        a = np.sort(refraw[f].to_numpy())
        b = np.sort(raw[f].to_numpy())
        st.wasserstein_sorted(a, b) / max(float(np.std(a)), 1e-3)
        st.ks_sorted(a, b)
    res["exact_hour_s"] = time.perf_counter() - t
    res["exact_hour_rows"] = raw.height

    # Sketch error against exact: 24 h window vs the reference day, every numeric feature.
    cur = ro.read(out, model, end - timedelta(hours=24), end)
    day = pl.concat([pl.from_arrow(b) for b in rollup_engine.src.scan(datasets, end - timedelta(hours=24), end, cols)])
    day = day.filter(pl.col("model") == model)
    ks_err, ks_bound, w_err, w_bound = [], [], [], []
    for f in NUMERIC:
        a = refraw[f].cast(pl.Float32).cast(pl.Float64).to_numpy()
        b = day[f].cast(pl.Float32).cast(pl.Float64).to_numpy()
        k = sk.ks(ref.numeric[f], cur.numeric[f])
        w = sk.wasserstein(ref.numeric[f], cur.numeric[f], ref_std=float(np.std(a)))
        ks_err.append(abs(k.statistic - stats.ks_2samp(a, b).statistic))
        ks_bound.append(k.bound)
        w_err.append(abs(w.score - stats.wasserstein_distance(a, b) / np.std(a)))
        w_bound.append(w.bound)
    res.update(ks_err_max=max(ks_err), ks_err_mean=float(np.mean(ks_err)), ks_bound=float(np.mean(ks_bound)),
               w_err_max=max(w_err), w_err_mean=float(np.mean(w_err)), w_bound=float(np.mean(w_bound)),
               within_bound=sum(e <= b for e, b in zip(ks_err + w_err, ks_bound + w_bound)),
               scores=len(ks_err) * 2)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--engines", nargs="+", default=["local", "spark"])
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--root", default="/tmp/bench_rollups")
    ap.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        out = child_build(rest[0], rest[1], rest[2], args.rows, args.master) if kind == "build" else child_drift(*rest)
        print(json.dumps(out, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
        return
    root = Path(args.root) / str(args.rows)
    t = time.perf_counter()
    logs = generate(args.rows, root)
    print(f"fleet: {args.rows:,} rows, 3 models x 25 features, {DAYS} days, Hive Parquet in {logs} "
          f"({sum(p.stat().st_size for p in logs.rglob('*.parquet')) / 2**30:.2f} GB; ready in "
          f"{time.perf_counter() - t:.0f} s)")
    print(f"\n| engine | rows | build s | rows/s | Python CPU s | peak RSS MB | rollup files MB |\n"
          f"|---|---|---|---|---|---|---|")
    for engine in args.engines:
        out = root / f"rollups-{engine}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        r, peak = run_child(["--rows", str(args.rows), "--master", args.master, "--child", "build", engine,
                             str(logs), str(out)])
        print(f"| {engine}{' ' + args.master if engine == 'spark' else ''} | {r['rows']:,} | {r['seconds']:.1f} | "
              f"{r['rows'] / r['seconds']:,.0f} | {r['cpu_s']:.0f} | {peak:,.0f} | {r['rollup_bytes'] / 2**20:.1f} |",
              flush=True)
        print("  peak RSS by process kind (MB): " + ", ".join(f"{k} {v / 2**20:,.0f}" for k, v in sorted(PEAKS.items())),
              file=sys.stderr, flush=True)
    out_local = root / "rollups-local" if (root / "rollups-local").exists() else root / f"rollups-{args.engines[0]}"
    r, peak = run_child(["--rows", str(args.rows), "--child", "drift", str(logs), str(out_local)])
    print(f"\ndrift of one model's 25 features (20 normed Wasserstein, 5 Jensen-Shannon) against its first day:")
    print(f"| what | seconds | rows covered | drifted | borderline |\n|---|---|---|---|---|")
    for label in ("24h", "30d"):
        print(f"| from rollups, last {label} | {r[f'drift_{label}_s']:.3f} | {r[f'drift_{label}_rows']:,} | "
              f"{r[f'drift_{label}_drifted']} | {r[f'drift_{label}_borderline']} |")
    print(f"| exact re-check of one hour (raw rows read in place, 20 KS + W) | {r['exact_hour_s']:.2f} | "
          f"{r['exact_hour_rows']:,} | | |")
    print(f"\nsketch error vs exact (24 h vs the first day, 20 numeric features): KS statistic max "
          f"{r['ks_err_max']:.4f} (mean {r['ks_err_mean']:.4f}, stated bound {r['ks_bound']:.4f}); normed "
          f"Wasserstein max {r['w_err_max']:.4f} (mean {r['w_err_mean']:.4f}, bound estimate {r['w_bound']:.4f}); "
          f"{r['within_bound']}/{r['scores']} within the stated bound. Drift process peak {peak:,.0f} MB.")


if __name__ == "__main__":
    main()
