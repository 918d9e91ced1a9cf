"""A JSONL log whose `ts` changes JSON type from line to line (two writers: epoch milliseconds and ISO text),
against the same rows with ISO text alone: a cold `snapshot` and a `rollup --no-ready`, each a fresh process,
user and wall time and peak RSS (`/usr/bin/time`). Asserts nothing.

    PYTHONPATH=src python benchmarks/bench_mixed_ts.py --rows 60000 [--dir /tmp/mixed-ts] [--every 3] [--src OTHER/src]

Every `--every`-th row's `ts` is written as epoch milliseconds (a JSON number), the rest as ISO text.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def timed(cmd: list[str], env: dict) -> str:
    proc = subprocess.run(["/usr/bin/time", "-f", "TIMES %e %U %M", *cmd], env=env, capture_output=True)
    wall, user, kb = proc.stderr.rpartition(b"TIMES ")[2].split()[:3]
    status = "" if proc.returncode in (0, 1) else f", exit {proc.returncode}"
    return f"{float(wall):.2f} s wall, {float(user):.2f} s user, {int(kb) // 1024} MB{status}"


def main() -> None:
    from fleet import write_config, write_fleet

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=60_000)
    ap.add_argument("--every", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/mixed-ts"))
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the code to run (another checkout's src/)")
    args = ap.parse_args()
    root = args.dir
    shutil.rmtree(root, ignore_errors=True)
    write_fleet(root, args.rows, ["jsonl"], days=2)
    config = write_config(root, "jsonl", live=False)
    uniform = root / "predictions.jsonl"
    mixed = root / "mixed.jsonl"
    with uniform.open() as src, mixed.open("w") as out:
        for i, line in enumerate(src):
            row = json.loads(line)
            if i % args.every == 0:
                t = datetime.fromisoformat(row["ts"].replace("Z", "+00:00"))
                row["ts"] = int(t.astimezone(timezone.utc).timestamp() * 1000)
            out.write(json.dumps(row) + "\n")
    (root / "mixed.toml").write_text(config.read_text().replace("predictions.jsonl", "mixed.jsonl"))
    print(f"| log ({args.rows:,} rows) | cold `snapshot` | `rollup --no-ready` |")
    print("|---|---|---|")
    for name, cfg in (("ISO text alone", config), (f"1 ts in {args.every} epoch ms", root / "mixed.toml")):
        cache = root / f"cache-{cfg.stem}"
        shutil.rmtree(cache, ignore_errors=True)
        env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPATH=str(args.src))
        cmd = [sys.executable, "-m", "console", "--config", str(cfg)]
        snap = timed([*cmd, "snapshot", "--at", "latest", "--format", "json"], env)
        roll = timed([*cmd, "rollup", "--no-ready", "--path", str(root / f"rollups-{cfg.stem}"), "--format", "json"],
                     env)
        print(f"| {name} | {snap} | {roll} |")


if __name__ == "__main__":
    main()
