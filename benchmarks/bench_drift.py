"""Drift engine throughput and peak memory: N reference rows vs N current rows,
20 numeric + 5 categorical columns, each measurement in a fresh subprocess.

    PYTHONPATH=src python3 benchmarks/bench_drift.py            # 100k and 1M rows
    PYTHONPATH=src python3 benchmarks/bench_drift.py --sizes 1000000 --modes engine naive

Modes:
  engine      Reference prepared once, then dataset_drift with the default tests (at >1000
              reference rows: normed Wasserstein for numeric, Jensen-Shannon for categorical).
  engine-ks   the same with every numeric column overridden to KS (p-value via scipy).
  unequal     engine with current = N - 17 rows (the general Wasserstein path, not n == m).
  naive       scipy.stats.ks_2samp + wasserstein_distance per numeric column (the peer).
  evidently   Evidently's DataDriftPreset, if `import evidently` works (not a dependency).
Peak memory is ru_maxrss of the child (includes generating the data and the interpreter).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

N_NUM, N_CAT = 20, 5
CATEGORIES = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]


def make_frame(n: int, seed: int, shift: float = 0.0):
    """One column at a time, so generating does not double the footprint."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    cols = []
    for i in range(N_NUM):
        cols.append(pl.Series(f"num_{i}", rng.normal(shift * (i % 4 == 0), 1.0 + i / 10, n)))
    cats = np.array(CATEGORIES)
    for i in range(N_CAT):
        p = np.linspace(1, 2, len(CATEGORIES)) if i % 2 == 0 else None
        p = p / p.sum() if p is not None else None
        cols.append(pl.Series(f"cat_{i}", cats[rng.choice(len(CATEGORIES), n, p=p)]))
    return pl.DataFrame(cols)


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(n: int, mode: str) -> dict:
    import numpy as np

    out: dict = {"rows": n, "mode": mode}
    n_cur = n - 17 if mode == "unequal" else n
    ref_df = make_frame(n, seed=1)
    numeric = [c for c in ref_df.columns if c.startswith("num_")]
    if mode in ("engine", "engine-ks", "unequal"):
        from console.analytics.drift import Reference, dataset_drift

        overrides = {c: {"test": "ks"} for c in numeric} if mode == "engine-ks" else None
        t0 = time.perf_counter()
        ref = Reference(ref_df, overrides=overrides)
        out["prepare_s"] = time.perf_counter() - t0
        del ref_df  # the console keeps only the prepared reference, not the raw frame
        cur_df = make_frame(n_cur, seed=2, shift=0.05)
        t0 = time.perf_counter()
        result = dataset_drift(ref, cur_df)
        out["compare_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        dataset_drift(ref, cur_df)
        out["compare_warm_s"] = time.perf_counter() - t0
        out["share"] = result.share
    else:
        cur_df = make_frame(n_cur, seed=2, shift=0.05)
    if mode == "naive":
        from scipy import stats
        from scipy.spatial import distance

        t0 = time.perf_counter()
        for c in numeric:
            a, b = ref_df[c].to_numpy(), cur_df[c].to_numpy()
            stats.ks_2samp(a, b)
            stats.wasserstein_distance(a, b) / np.std(a)
        for c in (c for c in ref_df.columns if c.startswith("cat_")):
            r = dict(ref_df[c].value_counts().iter_rows())
            k = dict(cur_df[c].value_counts().iter_rows())
            keys = sorted(set(r) | set(k))
            distance.jensenshannon([r.get(x, 0) / n for x in keys], [k.get(x, 0) / n for x in keys])
        out["compare_s"] = time.perf_counter() - t0
    elif mode == "evidently":
        try:
            import evidently  # noqa: F401
        except ImportError:
            out["skipped"] = "evidently is not installed"
            return out
        ref_pd, cur_pd = ref_df.to_pandas(), cur_df.to_pandas()
        t0 = time.perf_counter()
        try:
            from evidently import Report
            from evidently.presets import DataDriftPreset

            Report([DataDriftPreset()]).run(current_data=cur_pd, reference_data=ref_pd)
        except ImportError:  # pre-0.7 layout
            from evidently.metric_preset import DataDriftPreset
            from evidently.report import Report

            Report(metrics=[DataDriftPreset()]).run(current_data=cur_pd, reference_data=ref_pd)
        out["compare_s"] = time.perf_counter() - t0
    out["peak_mb"] = _maxrss_mb()
    return out


def run(n: int, mode: str) -> dict:
    env = dict(os.environ)
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    env["PYTHONPATH"] = os.path.abspath(src) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, __file__, "--child", str(n), mode], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"rows": n, "mode": mode, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--modes", nargs="+", default=["engine", "unequal", "engine-ks", "naive", "evidently"])
    parser.add_argument("--child", nargs=2, metavar=("ROWS", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1])))
        return
    print(f"{N_NUM} numeric + {N_CAT} categorical columns; reference rows = current rows; "
          f"fresh subprocess per line; peak = ru_maxrss incl. data generation")
    for n in args.sizes:
        results = {}
        for mode in args.modes:
            r = results[mode] = run(n, mode)
            if "error" in r:
                print(f"{n:>9,} {mode:<10} ERROR {r['error']}")
            elif "skipped" in r:
                print(f"{n:>9,} {mode:<10} skipped: {r['skipped']} -- to compare, in a separate venv: "
                      f"pip install evidently 'pandas<3' && PYTHONPATH=src python benchmarks/bench_drift.py "
                      f"--modes engine evidently")
            else:
                prep = f"prepare {r['prepare_s']:6.3f}s  " if "prepare_s" in r else " " * 18
                warm = f"  (warm {r['compare_warm_s']:.3f}s)" if "compare_warm_s" in r else ""
                rate = 2 * n / r["compare_s"]
                print(f"{n:>9,} {mode:<10} {prep}compare {r['compare_s']:6.3f}s{warm}  "
                      f"{rate:>12,.0f} rows/s  peak {r['peak_mb']:6.0f} MB")
        eng = results.get("engine", {})
        if "compare_s" in eng:
            for peer in ("naive", "evidently"):
                if "compare_s" in results.get(peer, {}):
                    ratio = results[peer]["compare_s"] / eng["compare_s"]
                    total = results[peer]["compare_s"] / (eng["compare_s"] + eng["prepare_s"])
                    print(f"{n:>9,} {peer} / engine: {ratio:.1f}x slower per compare, "
                          f"{total:.1f}x incl. preparing the reference")


if __name__ == "__main__":
    main()
