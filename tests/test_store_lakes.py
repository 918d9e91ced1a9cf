"""The same fleet read by the store from a local Hive folder, from S3 (a real moto server on 127.0.0.1) and
from a Delta table gives the same counts and overview numbers; an unreachable bucket costs only itself."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console.config import Config, LogSource, S3Storage
from console.service import Service
from s3_server import s3_server  # noqa: F401  (session fixture)

END = datetime(2026, 11, 30)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake-fleet")
    rng = np.random.default_rng(9)
    tables = []
    for d in range(3):
        day = END - timedelta(days=3 - d)
        n = 500
        t = pa.table({
            "ts": pa.array([day + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 86400, n))],
                           pa.timestamp("us")),
            "model": rng.choice(["a", "b"], n), "version": np.full(n, "1"),
            "request_id": [f"d{d}-{i}" for i in range(n)], "latency_ms": rng.gamma(2, 20, n),
            "status": np.where(rng.random(n) < 0.05, 500, 200), "x": rng.normal(0, 1, n),
            "date": pa.array([f"{day:%Y-%m-%d}"] * n)})
        part = root / "logs" / f"date={day:%Y-%m-%d}"
        part.mkdir(parents=True)
        pq.write_table(t.drop_columns(["date"]), part / "part-0.parquet")
        tables.append(t)
    whole = pa.concat_tables(tables)
    bad = whole.slice(0, 1).set_column(1, "model", pa.array([""]))  # one row with no model: set aside
    pq.write_table(bad.drop_columns(["date"]), root / "logs" / f"date={END - timedelta(days=1):%Y-%m-%d}" / "bad.parquet")
    return root, whole


def overview(cfg: Config) -> tuple[dict, list]:
    svc = Service(cfg, clock=lambda: END)
    try:
        svc.refresh()
        snap = svc.snapshot(refresh=False, wait_for_registry=False, monitoring=False)
        rows = sorted((r.name, r.requests, round(r.p95_latency_ms or 0, 6), round(r.error_rate or 0, 6))
                      for r in snap.rows)
        return snap.counts, rows
    finally:
        svc.close()


def test_local_s3_and_delta_agree(fleet, s3_server, tmp_path):  # noqa: F811
    from deltalake import write_deltalake

    root, whole = fleet
    local = overview(Config(source=None, root=root, logs=(LogSource("predictions", str(root / "logs"), "parquet"),)))
    assert local[0]["predictions"] == whole.num_rows and local[0]["malformed"] == 1
    expect_24h = {m: sum(1 for t, mm in zip(whole["ts"].to_pylist(), whole["model"].to_pylist())
                         if mm == m and END - timedelta(hours=24) < t <= END) for m in ("a", "b")}
    assert {r[0]: r[1] for r in local[1]} == expect_24h

    client = s3_server.client()
    client.create_bucket(Bucket="fleet")
    s3_server.upload_tree("fleet", root / "logs", "logs")
    storage = S3Storage(endpoint_url=s3_server.endpoint, region="us-east-1", access_key_id=s3_server.access_key_id,
                        secret_access_key=s3_server.secret_access_key)
    remote = overview(Config(source=None, root=tmp_path, s3=storage,
                             logs=(LogSource("predictions", "s3://fleet/logs/", "parquet"),)))
    assert remote[0]["predictions"] == local[0]["predictions"] and remote[0]["malformed"] == 1
    assert remote[1] == local[1]

    options = s3_server.delta_writer_options()
    write_deltalake("s3://fleet/tables/preds", whole, partition_by=["date"], storage_options=options)
    delta = overview(Config(source=None, root=tmp_path, s3=storage,
                            logs=(LogSource("predictions", "s3://fleet/tables/preds", "delta"),)))
    assert delta[0]["predictions"] == whole.num_rows and delta[1] == local[1]


def test_an_unreachable_bucket_costs_only_itself(fleet, s3_server, tmp_path):  # noqa: F811
    root, whole = fleet
    storage = S3Storage(endpoint_url=s3_server.endpoint, region="us-east-1", access_key_id=s3_server.access_key_id,
                        secret_access_key=s3_server.secret_access_key)
    cfg = Config(source=None, root=tmp_path, s3=storage,
                 logs=(LogSource("predictions", "s3://no-such-bucket/logs/", "parquet"),
                       LogSource("predictions", str(root / "logs"), "parquet")))
    svc = Service(cfg, clock=lambda: END)
    stats = svc.refresh()
    assert any("no-such-bucket" in n for n in stats.notes), stats.notes
    assert not any(s3_server.secret_access_key in n for n in stats.notes)
    assert svc.warehouse.one("counts")[0] == whole.num_rows
    svc.close()


def test_jsonl_objects_in_s3_are_read_once_each(s3_server, tmp_path):  # noqa: F811
    """SageMaker-style JSON Lines objects under dated folders: each object is read once, a new one is read on
    the next refresh, a bad line costs only itself, and the counts equal the same files read from disk."""
    import json

    client = s3_server.client()
    client.create_bucket(Bucket="capture")

    def put(key: str, rows: list[dict], extra: bytes = b"") -> None:
        body = "".join(json.dumps(r) + "\n" for r in rows).encode() + extra
        client.put_object(Bucket="capture", Key=key, Body=body)
        local = tmp_path / "local" / key
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(body)

    def rows(hour: int, n: int) -> list[dict]:
        return [{"ts": f"2026-11-29T{hour:02d}:{i % 60:02d}:00Z", "model": "a", "version": "1",
                 "request_id": f"h{hour}-{i}", "latency_ms": 10 + i} for i in range(n)]

    put("logs/2026/11/29/10/part-a.jsonl", rows(10, 40))
    put("logs/2026/11/29/11/part-b.jsonl", rows(11, 25), extra=b"{not json\n")
    storage = S3Storage(endpoint_url=s3_server.endpoint, region="us-east-1", access_key_id=s3_server.access_key_id,
                        secret_access_key=s3_server.secret_access_key)
    cfg = Config(source=None, root=tmp_path, s3=storage,
                 logs=(LogSource("predictions", "s3://capture/logs/**/*.jsonl"),))
    svc = Service(cfg, clock=lambda: END)
    try:
        first = svc.refresh()
        assert first.rows == {"predictions": 65} and first.malformed == 1
        again = svc.refresh()
        assert again.rows == {} and again.malformed == 0  # nothing doubled
        put("logs/2026/11/29/12/part-c.jsonl", rows(12, 7))
        third = svc.refresh()
        assert third.rows == {"predictions": 7}
        remote = svc.warehouse.counts()
    finally:
        svc.close()
    local_cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(tmp_path / "local/logs/**/*.jsonl")),))
    local = Service(local_cfg, clock=lambda: END)
    try:
        local.refresh()
        assert local.warehouse.counts() == remote == (72, 0, 0, 1, datetime(2026, 11, 29, 12, 6))
    finally:
        local.close()


def test_a_delta_table_delta_rs_updated_is_read_whole(fleet, tmp_path):
    """delta-rs rewrites the files an `update` (or a merge) touches with string_view columns beside the table's
    string ones; Arrow then had no kernel for the `model = 'a'` DuckDB pushed into it, and the console read no row of
    the whole table ("source down"). Its every row is now read (DuckDB filters that lake itself), and the update
    shows: a hand count of the rows it changed."""
    from deltalake import DeltaTable, write_deltalake

    _, whole = fleet
    path = tmp_path / "preds"
    write_deltalake(str(path), whole, partition_by=["date"])
    day = f"{END - timedelta(days=1):%Y-%m-%d}"
    DeltaTable(str(path)).update(updates={"latency_ms": "latency_ms + 10000"},
                                 predicate=f"model = 'a' AND date = '{day}'")
    kinds = {str(f.type) for p in path.rglob("*.parquet") for f in pq.read_schema(p) if f.name == "model"}
    assert "string_view" in kinds, kinds  # the case: delta-rs wrote views beside strings
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(path), "delta"),))
    counts, rows = overview(cfg)
    assert counts["predictions"] == whole.num_rows
    recent = [(t, m, lat) for t, m, lat, d in zip(whole["ts"].to_pylist(), whole["model"].to_pylist(),
                                                    whole["latency_ms"].to_pylist(), whole["date"].to_pylist())
              if END - timedelta(hours=24) < t <= END]
    assert {r[0]: r[1] for r in rows} == {m: sum(1 for _, mm, _ in recent if mm == m) for m in ("a", "b")}
    svc = Service(cfg, clock=lambda: END)
    try:
        svc.refresh()
        with svc.warehouse.cursor() as cur:
            updated = cur.execute("SELECT count(*) FROM predictions WHERE model = 'a' AND latency_ms >= 10000"
                                  ).fetchone()[0]
    finally:
        svc.close()
    assert updated == sum(1 for m, d in zip(whole["model"].to_pylist(), whole["date"].to_pylist())
                          if m == "a" and d == day)


def test_a_delta_table_s_string_kinds_are_read_once_across_processes(fleet, tmp_path):
    """The footer check that finds delta-rs' string_view files reads each data file's footer once, and the store keeps
    what it found: a table in S3 cost one GET per data file on every command. A second process (the module's cache
    cleared) answers from what the first kept, without opening a file (they are moved away here), and a file the
    table no longer holds is forgotten."""
    from deltalake import DeltaTable, write_deltalake

    from console.sources import lakes

    _, whole = fleet
    path = tmp_path / "preds"
    write_deltalake(str(path), whole, partition_by=["date"])
    day = f"{END - timedelta(days=1):%Y-%m-%d}"
    DeltaTable(str(path)).update(updates={"latency_ms": "latency_ms + 10000"}, predicate=f"date = '{day}'")
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(path), "delta"),),
                 store_path=tmp_path / "store")
    svc = Service(cfg, clock=lambda: END)
    try:
        svc.refresh()
        known = svc.warehouse._facts.remembered(f"lake-strings|{path}")
    finally:
        svc.close()
    again = Service(cfg, clock=lambda: END)  # the next process finds them in the store
    try:
        assert again.warehouse._facts.remembered(f"lake-strings|{path}") == known
    finally:
        again.close()
    files = {p.relative_to(path).as_posix() for p in path.rglob("*.parquet")}
    dataset = lakes.delta_dataset(str(path), {})
    live = {f.path for f in dataset.get_fragments()}
    assert known and set(known) <= live < files  # the table's files, not those the update replaced
    assert any(k == ["model", "string_view"] for kinds in known.values() for k in kinds)
    lakes._PHYSICAL.clear()  # a new process
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    for i, f in enumerate(live):
        os.rename(path / f, hidden / f"{i}.parquet")
    assert lakes.mixed_strings(dataset, dict(known)) is True  # no footer opened: every file is away
    lakes._PHYSICAL.clear()
    with pytest.raises(OSError):
        lakes.mixed_strings(dataset, {})  # without what was kept, the footers are read (and are not there)


def test_a_delta_table_missing_a_data_file_is_set_aside_not_fatal(fleet, tmp_path, capsys):
    """Lakes probe, F3: a data file the Delta log names but the folder no longer holds made every read command
    print nothing and exit 4 with DuckDB's error about an internal view (`lake_0`): the newest-row and count
    queries ran outside the reader that sets a failing lake aside. Now the snapshot answers (exit 0) with one note
    naming the table, and `check` says what it could not evaluate (exit 2)."""
    from deltalake import DeltaTable, write_deltalake

    from console.cli import main

    _, whole = fleet
    path = tmp_path / "preds"
    write_deltalake(str(path), whole, partition_by=["date"])
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "{path}"\nformat = "delta"\n',
                   encoding="utf-8")
    assert main(["--config", str(cfg), "snapshot", "--at", "2026-11-30T00:00Z", "--format", "json"]) == 0  # warm
    capsys.readouterr()
    gone = next(u for u in DeltaTable(str(path)).file_uris() if f"{END - timedelta(days=2):%Y-%m-%d}" in u)
    os.remove(gone.removeprefix("file://"))
    assert main(["--config", str(cfg), "snapshot", "--at", "2026-11-30T00:00Z", "--format", "json"]) == 0
    out = capsys.readouterr()
    assert str(path) in out.err and "failed to open" in out.err.lower() and "lake_" not in out.err, out.err
    assert main(["--config", str(cfg), "check", "--at", "2026-11-30T00:00Z"]) == 2
    err = capsys.readouterr().err
    assert "check could not evaluate" in err and str(path) in err and "lake_" not in err, err
