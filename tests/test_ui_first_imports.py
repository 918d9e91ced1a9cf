"""The native libraries (NumPy, PyArrow, DuckDB, Polars) are first imported by one thread of the console.

CI saw the console end on a Rust panic and "No module named 'polars._utils.cache'": the event loop, drawing the
Overview, imported Polars (through the model page's helpers) while the refresh worker imported it too. The app runs
in a child process (a first import happens once per process) over a small Parquet log, a finder at the front of
`sys.meta_path` notes which thread asks for each library first, and the test waits until the screens are loaded,
the numbers are in and the rules were checked: every thread that needed a library by then had asked for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SRC = str(Path(__file__).resolve().parents[1] / "src")
START = datetime(2026, 11, 20, 0, 0)

CHILD = """
import asyncio, importlib.abc, json, sys, threading

NATIVE = ("numpy", "pyarrow", "duckdb", "polars")
asked: dict[str, list[str]] = {}


class Spy(importlib.abc.MetaPathFinder):
    # a package's own name is looked for once: by the thread that imports it first (others wait for it)

    def find_spec(self, name, path, target=None):
        if name in NATIVE:
            asked.setdefault(name, []).append(threading.current_thread().name)
        return None


import console  # it puts its own finder first (`arrow_values.watch`): the spy goes in front of it

sys.meta_path.insert(0, Spy())
assert not any(name in sys.modules for name in NATIVE)

from console.config import parse_file
from console.ui.app import ConsoleApp


async def main():
    app = ConsoleApp(parse_file(sys.argv[1]), view={"at": sys.argv[2]})
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(1200):
            await pilot.pause(0.05)
            snap = app.snapshot
            if snap is not None and snap.rows and app._screens_loaded and app._have_findings:
                break
        rows = sum(r.requests for r in app.snapshot.rows) if app.snapshot is not None else None
        print(json.dumps({"asked": asked, "requests": rows, "loaded": app._screens_loaded,
                          "checked": app._have_findings}))


asyncio.run(main())
"""


def test_one_thread_imports_the_native_libraries_first(tmp_path):
    n = 2 * 24 * 30
    ts = [START + timedelta(minutes=2 * i, seconds=1) for i in range(n)]
    folder = tmp_path / "logs"
    folder.mkdir()
    pq.write_table(pa.table({
        "ts": pa.array(ts, pa.timestamp("us")), "model": ["fraud"] * n, "version": ["1"] * n,
        "request_id": [f"r{i}" for i in range(n)], "latency_ms": [float(10 + i % 50) for i in range(n)],
        "status": [500 if i % 40 == 0 else 200 for i in range(n)], "f0": [float(i % 97) for i in range(n)],
        "c0": ["a" if i % 3 else "b" for i in range(n)]}), folder / "part-0.parquet")
    pq.write_table(pa.table({"f0": [float(i % 89) for i in range(2000)],
                             "c0": ["a" if i % 2 else "b" for i in range(2000)]}), tmp_path / "reference.parquet")
    (tmp_path / "mlops-console.toml").write_text(
        f'[store]\npath = "{tmp_path / "store"}"\n\n[[logs]]\nkind = "predictions"\npath = "logs"\n'
        'format = "parquet"\n\n[models.fraud]\ntask = "classification"\nreference = "reference.parquet"\n'
        'features = ["f0", "c0"]\n')
    at = ts[-1]
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "mlops-console.toml"), at.isoformat()],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=SRC))
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    # the app did its work: the last 24 h by hand, the screens imported, the rules checked
    assert got["requests"] == sum(at - timedelta(hours=24) < t <= at for t in ts) == 720
    assert got["loaded"] and got["checked"]
    assert set(got["asked"]) == {"numpy", "pyarrow", "duckdb", "polars"}, got
    threads = {name for asked in got["asked"].values() for name in asked}
    assert len(threads) == 1, got["asked"]
