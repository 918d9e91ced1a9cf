"""`snapshot` with every S3 source on one endpoint that takes connections and never answers, old code against new
in turns: the wall time, and how many connections the silent endpoint took (each one a 5 s wait).

Run: flock /tmp/bench.lock nice -n 5 python benchmarks/bench_hung_endpoint.py OLD/src NEW/src [--sources 2] [--rounds 2]

moto (server mode, 127.0.0.1) behind the tests' relay (`tests/s3_server.Switch`), gone silent. Each code has its
own workspace and store, read once while the endpoint answered ("kept": the objects known), and a second one never
read ("fresh"). Each measurement is a fresh `snapshot --format json` process. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

AT = datetime(2026, 11, 30)


def workspace(folder: Path, endpoint: str, key: str, buckets: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "mlops-console.toml"
    logs = "".join(f'[[logs]]\nkind = "predictions"\npath = "s3://{b}/logs/"\nformat = "parquet"\n' for b in buckets)
    cfg.write_text(f'[store]\npath = "store"\n[audit]\npath = "audit.jsonl"\n{logs}'
                   f'[storage.s3]\nendpoint_url = "{endpoint}"\nregion = "us-east-1"\n'
                   f'access_key_id = "{key}"\nsecret_access_key = "any"\n')
    return cfg


def snapshot(src: str, cfg: Path) -> tuple[float, int]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), "snapshot", "--format", "json",
                          "--at", AT.isoformat()], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": src}, timeout=600)
    return time.perf_counter() - started, out.returncode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--sources", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pytest

    from s3_server import Switch, _moto

    tmp = Path(tempfile.mkdtemp(prefix="bench-hung-"))

    class Factory:  # what `_moto` asks of pytest's tmp_path_factory
        def mktemp(self, name):
            p = tmp / name
            p.mkdir()
            return p

    server_gen = _moto(Factory(), auth=False)
    server = next(server_gen)
    relay = Switch(server.endpoint)
    try:
        client = server.client()
        buckets = [f"hung-{i}" for i in range(args.sources)]
        rng = np.random.default_rng(1)
        for b in buckets:
            client.create_bucket(Bucket=b)
            n = 500
            table = pa.table({"ts": pa.array([AT - timedelta(hours=1) + timedelta(seconds=int(s))
                                              for s in np.sort(rng.integers(0, 3600, n))], pa.timestamp("us")),
                              "model": rng.choice(["a", "b"], n), "version": np.full(n, "1"),
                              "request_id": [f"{b}-{i}" for i in range(n)], "latency_ms": rng.gamma(2, 20, n)})
            pq.write_table(table, tmp / "up.parquet")
            client.put_object(Bucket=b, Key="logs/date=2026-11-29/a.parquet", Body=(tmp / "up.parquet").read_bytes())
        cfgs = {}
        for code, src in (("old", args.old), ("new", args.new)):
            for state in ("kept", "fresh"):
                cfgs[code, state] = workspace(tmp / f"{code}-{state}", relay.endpoint, server.access_key_id, buckets)
            wall, rc = snapshot(src, cfgs[code, "kept"])
            print(f"{code}: read once while the endpoint answers: {wall:.2f} s (exit {rc})")
        relay.set("silent")
        print(f"{args.sources} S3 sources on one silent endpoint, `snapshot --format json`, each a fresh process")
        for r in range(1, args.rounds + 1):
            for state in ("kept", "fresh"):
                for code, src in (("old", args.old), ("new", args.new)):
                    held = len(relay._held)
                    load = " ".join(open("/proc/loadavg").read().split()[:3])
                    wall, rc = snapshot(src, cfgs[code, state])
                    print(f"round {r} | {state:5} | {code} | {wall:6.2f} s wall | exit {rc} | "
                          f"{len(relay._held) - held} connection(s) held | load {load}", flush=True)
    finally:
        relay.close()
        try:
            next(server_gen)
        except StopIteration:
            pass


if __name__ == "__main__":
    main()
