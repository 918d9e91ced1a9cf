"""Opening the store reads Parquet footers with DuckDB and builds no view until a query reads it, so that the TUI's
first look imports neither PyArrow nor NumPy. What the footers give is checked against PyArrow's own reading of
the same files, the skeletons against the contract, and the views a query builds against the views it reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from console.config import Config, LogSource
from console.sources.contract import CONTRACT, PROVENANCE
from console.warehouse import Warehouse

SRC = str(Path(__file__).resolve().parents[1] / "src")
START = datetime(2026, 11, 20, 6, 0)


def rows(n: int, ts_type: pa.DataType, start: datetime = START) -> pa.Table:
    ts = [start + timedelta(minutes=7 * i) for i in range(n)]
    if pa.types.is_timestamp(ts_type) and ts_type.tz is not None:
        ts = [t.replace(tzinfo=UTC) for t in ts]
    if pa.types.is_string(ts_type):
        ts = [t.isoformat() for t in ts]
    return pa.table({"ts": pa.array(ts, ts_type), "model": ["m"] * n, "version": ["1"] * n,
                     "request_id": [f"r{i}" for i in range(n)], "latency_ms": [float(i) for i in range(n)]})


def store(tmp_path: Path, logs: Path) -> Warehouse:
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(logs), "parquet"),))
    return Warehouse(cfg, database=tmp_path / "store")


def test_footers_read_by_duckdb_give_what_pyarrow_reads(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    kinds = {"s": pa.timestamp("s"), "ms": pa.timestamp("ms"), "us": pa.timestamp("us"), "ns": pa.timestamp("ns"),
             "tz": pa.timestamp("us", tz="UTC"), "text": pa.string()}
    for i, (name, t) in enumerate(kinds.items()):
        pq.write_table(rows(40 + i, t), logs / f"{name}.parquet", row_group_size=16)
    (logs / "broken.parquet").write_bytes(b"PAR1 not a parquet file")
    w = store(tmp_path, logs)
    try:
        files, _, notes = w._parquet_files()
        assert sorted(Path(p).name for p in files["predictions"]) == sorted(f"{n}.parquet" for n in kinds)
        assert [n.split(": ")[0] for n in notes] == [str(logs / "broken.parquet")] and "unreadable" in notes[0]
        for name in kinds:
            path = str(logs / f"{name}.parquet")
            assert w._parquet_check(path) == pq.read_metadata(path).num_rows
            t = pq.read_schema(path).field("ts").type  # the casting view's rule, by PyArrow's reading
            typed = pa.types.is_timestamp(t) and t.tz is None and t.unit in ("s", "ms", "us")
            assert w._ts_typed(path) == typed, name
            newest = max(pq.read_table(path).column("ts").to_pylist()) if name != "text" else None
            if isinstance(newest, datetime) and newest.tzinfo is not None:
                newest = newest.astimezone(UTC).replace(tzinfo=None)
            assert w._footer_newest(path) == newest, name
    finally:
        w.close()


def test_the_skeletons_written_by_duckdb_have_the_contract_columns(tmp_path):
    w = store(tmp_path, tmp_path / "none")
    try:
        for kind, fields in CONTRACT.items():
            schema = pq.read_schema(w.dir / f"skeleton-{kind}.parquet")
            assert [(f.name, f.type) for f in schema] == list({**fields, **PROVENANCE}.items())
            assert pq.read_metadata(w.dir / f"skeleton-{kind}.parquet").num_rows == 0
            assert w._schema(str(w.dir / f"skeleton-{kind}.parquet")) == tuple(
                (f.name, str(f.type)) for f in schema)  # read by DuckDB, named as PyArrow names them
        malformed = pq.read_schema(w.dir / "skeleton-malformed.parquet")
        assert [(f.name, f.type) for f in malformed] == [(n, pa.string()) for n in ("source", "location", "reason",
                                                                                    "raw")]
        assert [(f.name, f.type) for f in pq.read_schema(w.dir / "skeleton-raw.parquet")] == [
            ("ts", pa.timestamp("us"))]
    finally:
        w.close()


def test_a_query_builds_only_the_views_it_reads_and_a_refresh_builds_them_all(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    pq.write_table(rows(30, pa.timestamp("us")), logs / "a.parquet")
    w = store(tmp_path, logs)
    try:
        assert w._views == {}  # opening built nothing
        assert w.rows("overview_seen") == [("m", "production")]
        built = set(w._views)
        assert "predictions" in built and "stored_predictions" in built and "pending_predictions" in built
        assert not built & {"labels", "deployments", "malformed", "stored_labels", "inplace_labels"}
        with w.cursor() as cur:  # a cursor for a query it does not know: every view first
            assert cur.execute("SELECT count(*) FROM malformed").fetchone() == (0,)
        assert set(w._views) == set(w._order) and not w._lazy
        w.refresh()
        assert w.one("counts")[:4] == (30, 0, 0, 0)
    finally:
        w.close()


PROBE = """
import json, sys
from datetime import datetime
from console.config import Config, LogSource
from console.service import Service
cfg = Config(source=None, root=sys.argv[1], logs=(LogSource("predictions", sys.argv[2], "parquet"),))
svc = Service(cfg, clock=lambda: datetime.fromisoformat(sys.argv[3]))
snap = svc.snapshot(refresh=False, quick=True, wait_for_registry=False, monitoring=False)
print(json.dumps({"loaded": sorted(m for m in ("pyarrow", "numpy", "polars", "pandas", "filelock") if m in sys.modules),
                  "rows": [[r.name, r.environment, r.requests, r.requests_1h] for r in snap.rows],
                  "labels_view": "labels" in svc.warehouse._views}))
"""


def test_the_first_look_imports_neither_pyarrow_nor_numpy(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    pq.write_table(rows(300, pa.timestamp("us")), logs / "a.parquet")
    now = START + timedelta(hours=30)
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path), str(logs), now.isoformat()], check=True,
                         capture_output=True, env=dict(os.environ, PYTHONPATH=SRC, XDG_CACHE_HOME=str(tmp_path / "c")),
                         timeout=120)
    got = json.loads(out.stdout)
    assert got["loaded"] == [] and got["labels_view"] is False
    ts = [START + timedelta(minutes=7 * i) for i in range(300)]  # the hand count of the window (now-24h, now]
    day = sum(now - timedelta(hours=24) < t <= now for t in ts)
    hour = sum(now - timedelta(hours=1) < t <= now for t in ts)
    assert got["rows"] == [["m", "production", day, hour]] and day > 0


def test_an_empty_branch_has_the_columns_and_types_of_the_conform_query_over_no_file(tmp_path):
    """A branch of a kind's view with nothing to read is a typed stand-in (queries/conformed_empty.sql), not the conform
    query over an empty file: the same columns, the same types, no row. Checked against the conform query itself run
    over the empty raw file, for every kind, and the views over a store with one log in place give the same rows."""
    import duckdb

    from console.sql import load_query

    pq.write_table(rows(5, pa.timestamp("us")), tmp_path / "p.parquet")
    w = store(tmp_path, tmp_path / "p.parquet")
    raw = str(w.dir / "skeleton-raw.parquet")
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute(load_query("skeletons"))
    con.execute(load_query("log_instant"))  # how the conform queries read ts
    for kind in ("predictions", "labels", "deployments"):
        con.execute(f"CREATE OR REPLACE VIEW chunk AS SELECT * FROM read_parquet(['{raw}'])")
        sql = load_query(f"conform_{kind}")
        conform = con.execute(f"DESCRIBE {sql}", {"max_ts": START} if "$max_ts" in sql else {}).fetchall()
        empty = con.execute("DESCRIBE " + load_query("conformed_empty").format(
            skeleton=f"['{w.dir / f'skeleton-{kind}.parquet'}']")).fetchall()
        assert [(c[0], c[1]) for c in empty] == [(c[0], c[1]) for c in conform], kind
        assert con.execute("SELECT count(*) FROM (" + load_query("conformed_empty").format(
            skeleton=f"['{w.dir / f'skeleton-{kind}.parquet'}']") + ")").fetchone()[0] == 0
    with w.cursor() as cur:
        got = cur.execute("SELECT request_id, latency_ms FROM predictions ORDER BY request_id").fetchall()
        assert got == [(f"r{i}", float(i)) for i in range(5)]
        assert cur.execute("SELECT count(*) FROM malformed").fetchone()[0] == 0
        assert cur.execute("SELECT count(*) FROM labels").fetchone()[0] == 0
    w.close()
