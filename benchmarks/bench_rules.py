"""`check` and `snapshot` with the rules read from raw rows (OLD source tree) and from the hourly rollups
(NEW), on a copy of a benchmark fleet's store, each a fresh process, with the rollup build's cold cost.

    flock /tmp/bench.lock nice -n 5 python benchmarks/bench_rules.py --old /tmp/old-src --rows 1000000 10000000

OLD is a source tree of the code before (e.g. `git archive main src | tar -x -C /tmp/old`); NEW is this
checkout. Both read the same copied store (warm) and the rollups `mlops-console rollup` builds there first.
Prints a Markdown table (time, peak RSS, exit code, and for `check` the incidents with their state and onset);
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_datapath import DIRECT, run_rss  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def console(src: Path, config: Path, cache: Path, *args: str) -> tuple[list[str], dict]:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPATH=str(src))
    return [sys.executable, "-m", "console", "--config", str(config), *args], env


def firing(out: str) -> list[str]:
    try:
        data = json.loads(out[out.index("{"):] if out.lstrip().startswith("{") else out[out.index("["):])
    except (ValueError, json.JSONDecodeError):
        return ["?"]
    items = data.get("incidents", data.get("findings", [])) if isinstance(data, dict) else data
    return sorted(f"{i['model']}:{i['kind']}:{i['state']}@{i['onset'][5:16]}" for i in items
                  if i.get("state") != "insufficient data")


def bench(old: Path, new: Path, rows: int, fleet: Path, work: Path) -> list[tuple]:
    root = fleet / f"rows-{rows}"
    config = root / "mlops-console-parquet.toml"
    cache = work / f"cache-{rows}"
    shutil.rmtree(cache, ignore_errors=True)
    shutil.copytree(root / "cache-parquet", cache)
    out = []
    # The rollup command fails on the fleet's empty live.jsonl ("Empty JSON stream"), so it reads a copy of
    # the config without it, and writes where the console reads its rollups (the store's rollups/).
    text = config.read_text().replace('[[logs]]\nkind = "predictions"\npath = "live.jsonl"\n', "")
    text = text.replace('path = "logs"', f'path = "{root}/logs"').replace('reference = "', f'reference = "{root}/')
    rollup_cfg = work / f"rollup-{rows}.toml"
    rollup_cfg.write_text(text)
    store = next((cache / "mlops-console").glob("store-*"))
    cmd, env = console(new, rollup_cfg, work / "scratch", "rollup", "--at", "latest", "--since", "2026-11-20",
                       "--path", str(store / "rollups"))
    t, rss, rc, text = run_rss(cmd, env)
    out.append((rows, "rollup (cold build)", "new", t, rss, rc, text.strip().splitlines()[-1][:80] if text else ""))
    t, rss, rc, text = run_rss([sys.executable, "-c", DIRECT, "parquet", str(root)], dict(os.environ))
    out.append((rows, "direct DuckDB query", "-", t, rss, rc, ""))
    for command in (["check", "--at", "latest", "--all", "--format", "json"], ["snapshot", "--at", "latest", "--format", "json"]):
        for label, src in (("old", old), ("new", new)):
            for attempt in range(2):  # the first new run may still catch up hours; the second is warm
                cmd, env = console(src, config, cache, *command)
                t, rss, rc, text = run_rss(cmd, env)
            fired = firing(text) if command[0] == "check" else []
            out.append((rows, command[0], label, t, rss, rc, " ".join(fired)))
            print(out[-1], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", type=Path, required=True)
    ap.add_argument("--new", type=Path, default=ROOT / "src", help="the code after (default: this checkout)")
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--fleet", type=Path, default=Path("/tmp/fleet"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench-rules"))
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(a.new), str(a.old)], check=False)
    print(f"load: {os.getloadavg()}", flush=True)
    rows = []
    for n in a.rows:
        rows += bench(a.old, a.new, n, a.fleet, a.work)
    print(f"load: {os.getloadavg()}")
    print("| rows | measure | code | time | peak RSS | exit | firing |\n|---|---|---|---|---|---|---|")
    for n, what, code, t, rss, rc, fired in rows:
        print(f"| {n:,} | {what} | {code} | {t:.2f} s | {rss:.0f} MB | {rc} | {fired} |")


if __name__ == "__main__":
    main()
