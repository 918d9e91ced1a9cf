"""S3 source figures: list + scan a Hive-partitioned Parquet set from a local S3 server (moto, server mode)
against the same files on local disk, through `console.sources.locations` and DuckDB.

Run: python benchmarks/bench_s3.py [--rows 1000000] [--days 7] [--files-per-day 4]

Each measurement runs in a fresh subprocess so its peak RSS is its own. The S3 server is moto on
127.0.0.1 (a Python server: its throughput, not the network's, bounds the S3 column; real S3 from a box
in the same region is usually faster per stream). Also times how long each failure takes to surface as a
StorageError. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SQL = ("SELECT model, count(*) AS n, avg(latency_ms) AS lat, avg(score) AS score, max(ts) AS last "
       "FROM t GROUP BY model ORDER BY model")


def make_set(root: Path, rows: int, days: int, files_per_day: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    per_file = rows // (days * files_per_day)
    t0 = np.datetime64("2026-11-24T00:00:00", "us")
    for d in range(days):
        day = (t0 + np.timedelta64(d, "D")).astype("datetime64[D]")
        folder = root / f"date={day}"
        folder.mkdir(parents=True)
        for f in range(files_per_day):
            secs = np.sort(rng.integers(0, 86400 * 1_000_000, per_file)).astype("timedelta64[us]")
            table = pa.table({
                "ts": pa.array(np.datetime64(str(day), "us") + secs),
                "model": rng.choice(["fraud-detector", "delivery-eta", "support-assistant"], per_file),
                "version": rng.choice(["3", "4"], per_file),
                "latency_ms": rng.gamma(2.0, 30.0, per_file),
                "score": rng.random(per_file),
                **{f"f{i}": rng.normal(0, 1, per_file) for i in range(20)},
                **{f"c{i}": rng.choice(["a", "b", "c", "d"], per_file) for i in range(5)},
            })
            pq.write_table(table, folder / f"part-{f}.parquet", row_group_size=64_000)


def child(mode: str, path: str, storage: dict, since: str | None) -> dict:
    """One measurement in this process: list (pruned by `since`), build the dataset, scan it in DuckDB."""
    from datetime import datetime

    import duckdb

    from console.sources import locations

    t0 = time.perf_counter()
    files = locations.list_files(path, storage, since=datetime.fromisoformat(since) if since else None)
    t_list = time.perf_counter() - t0  # cold: includes importing and building the S3 client
    t2 = time.perf_counter()
    locations.list_files(path, storage, since=datetime.fromisoformat(since) if since else None)
    t_list_warm = time.perf_counter() - t2
    dataset = locations.arrow_dataset(files, storage)
    con = duckdb.connect()
    con.register("t", dataset)
    t1 = time.perf_counter()
    result = con.execute(SQL).fetchall()
    t_scan = time.perf_counter() - t1
    rows = sum(r[1] for r in result)
    result = [(m, n, round(lat, 6), round(sc, 9), str(last)) for m, n, lat, sc, last in result]
    return {"mode": mode, "files": len(files), "bytes": sum(f.size for f in files), "rows": rows,
            "list_s": t_list, "list_warm_s": t_list_warm, "scan_s": t_scan, "total_s": time.perf_counter() - t0,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "answer": repr(result)}


def run_child(mode: str, path: str, storage: dict, since: str | None) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps([mode, path, storage, since])],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def error_times(endpoint: str, storage: dict) -> list[tuple[str, float, str]]:
    from console.sources import locations
    from console.sources.locations import StorageError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # accepts (backlog) and never answers
    cases = [
        ("missing bucket", "s3://no-such-bucket/logs/", storage),
        ("closed port", "s3://bench/logs/", {**storage, "endpoint_url": f"http://127.0.0.1:{closed}"}),
        ("silent server (default timeouts)", "s3://bench/logs/",
         {**storage, "endpoint_url": f"http://127.0.0.1:{silent.getsockname()[1]}"}),
    ]
    out = []
    for name, path, st in cases:
        t0 = time.perf_counter()
        try:
            locations.list_files(path, st)
            msg = "(no error)"
        except StorageError as exc:
            msg = str(exc)
        out.append((name, time.perf_counter() - t0, msg))
    silent.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--files-per-day", type=int, default=4)
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*json.loads(args.child))))
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench_s3_"))
    data = tmp / "logs"
    t0 = time.perf_counter()
    make_set(data, args.rows, args.days, args.files_per_day)
    size = sum(p.stat().st_size for p in data.rglob("*.parquet"))
    print(f"generated {args.rows:,} rows in {args.days * args.files_per_day} files ({size / 1e6:.0f} MB) "
          f"in {time.perf_counter() - t0:.1f} s")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        storage = {"endpoint_url": endpoint, "region": "us-east-1", "access_key_id": "AKIABENCHBENCHBENCH1",
                   "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
        import botocore.session
        from botocore.config import Config

        client = botocore.session.get_session().create_client(
            "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y",
            config=Config(s3={"addressing_style": "path"}))
        client.create_bucket(Bucket="bench")
        for p in sorted(data.rglob("*.parquet")):
            client.put_object(Bucket="bench", Key=f"logs/{p.relative_to(data).as_posix()}", Body=p.read_bytes())

        last_day = sorted(d.name for d in data.iterdir())[-1].split("=")[1]
        rows = []
        for label, since in (("all days", None), ("last day (pruned)", last_day)):
            for mode, path in (("local disk", str(data)), ("S3 (moto)", "s3://bench/logs/")):
                r = run_child(mode, path, storage, since)
                r["window"] = label
                rows.append(r)
        answers = {(r["window"], r["mode"]): r["answer"] for r in rows}
        same = all(answers[(w, "local disk")] == answers[(w, "S3 (moto)")] for w, _ in answers)
        print(f"\nS3 and local answers identical: {same}\n")
        print("| window | source | files | MB | rows | list s (cold) | list s (warm) | scan s | rows/s (scan) "
              "| peak RSS MB |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['window']} | {r['mode']} | {r['files']} | {r['bytes'] / 1e6:.0f} | {r['rows']:,} | "
                  f"{r['list_s']:.3f} | {r['list_warm_s']:.3f} | {r['scan_s']:.2f} | "
                  f"{r['rows'] / r['scan_s']:,.0f} | {r['rss_mb']:.0f} |")
        print("\n| failure | seconds to StorageError | message |")
        print("|---|---:|---|")
        for name, secs, msg in error_times(endpoint, storage):
            print(f"| {name} | {secs:.2f} | `{msg}` |")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)


if __name__ == "__main__":
    main()
