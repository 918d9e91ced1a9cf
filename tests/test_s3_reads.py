"""Reads over an S3 Parquet source cost what they cost over a local folder: a process that finds objects it
already knows (by ETag, size and mtime) lists the bucket and reads no object; a time filter reads only the
objects whose rows fall in it; a new or replaced object is the only one read. Counted on the real server's
request log (moto on 127.0.0.1), checked against hand counts of the rows written."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console.config import Config, LogSource, S3Storage
from console.service import Service
from s3_server import s3_server  # noqa: F401  (session fixture)

END = datetime(2026, 11, 30)
BUCKET = "reads"


def _half_day(rng, start: datetime, n: int, tag: str) -> pa.Table:
    secs = np.sort(rng.integers(0, 12 * 3600, n))
    return pa.table({
        "ts": pa.array([start + timedelta(seconds=int(s)) for s in secs], pa.timestamp("us")),
        "model": rng.choice(["a", "b"], n), "version": np.full(n, "1"),
        "request_id": [f"{tag}-{i}" for i in range(n)], "latency_ms": rng.gamma(2, 20, n),
        "score": rng.random(n), "x": rng.normal(0, 1, n)})


@pytest.fixture
def lake(s3_server, tmp_path):  # noqa: F811
    """Three days of two half-day objects each in s3://reads/<test>/logs/date=.../part-N.parquet; the tables
    by key, and the configuration of a console reading them (its store under tmp_path)."""
    rng = np.random.default_rng(5)
    prefix = f"{tmp_path.name}/logs"
    client = s3_server.client()
    if BUCKET not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=BUCKET)
    tables = {}
    for d in range(3):
        day = END - timedelta(days=3 - d)
        for half in range(2):
            key = f"{prefix}/date={day:%Y-%m-%d}/part-{half}.parquet"
            tables[key] = _half_day(rng, day + timedelta(hours=12 * half), 300, f"{d}{half}")
            put(client, key, tables[key], tmp_path)
    storage = S3Storage(endpoint_url=s3_server.endpoint, region="us-east-1", access_key_id=s3_server.access_key_id,
                        secret_access_key=s3_server.secret_access_key)
    cfg = Config(source=None, root=tmp_path, s3=storage, store_path=str(tmp_path / "store"),
                 logs=(LogSource("predictions", f"s3://{BUCKET}/{prefix}/", "parquet"),))
    return cfg, tables, client


def put(client, key: str, table: pa.Table, tmp_path) -> None:
    path = tmp_path / "upload.parquet"
    pq.write_table(table, path, row_group_size=100)
    client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())


def object_reads(lines: list[str]) -> Counter:
    """GETs (and HEADs) of objects, by key: the requests that read a file rather than list a prefix."""
    out = Counter()
    for line in lines:
        m = re.search(rf'"(?:\x1b\[[0-9;]*m)*(GET|HEAD) /{BUCKET}/([^ ?]+) HTTP', line)
        if m:
            out[m.group(2)] += 1
    return out


def hand(tables: dict) -> tuple[int, datetime, dict]:
    whole = pa.concat_tables(tables.values())
    ts, models = whole["ts"].to_pylist(), whole["model"].to_pylist()
    hours = Counter(t.replace(minute=0, second=0, microsecond=0) for t, m in zip(ts, models) if m == "a")
    return whole.num_rows, max(ts), dict(hours)


def counts_of(svc: Service) -> tuple[int, datetime, dict, list]:
    wh = svc.warehouse
    n = wh.counts()[0]
    hours = wh.hour_counts({"model": "a", "since": END - timedelta(days=3, microseconds=1),
                            "until": END - timedelta(microseconds=1), "environment": None})
    return n, wh.newest(), {h: c for h, c in hours.items() if c}, wh.models_seen()


def test_a_second_process_lists_and_reads_no_object_it_knows(lake, s3_server):  # noqa: F811
    cfg, tables, _ = lake
    rows, newest, hours = hand(tables)
    first = Service(cfg, clock=lambda: END)
    first.refresh()
    assert counts_of(first) == (rows, newest, hours, ["a", "b"])
    first.close()

    mark = len(s3_server.requests())
    second = Service(cfg, clock=lambda: END)  # another process on the same store
    second.refresh()
    assert counts_of(second) == (rows, newest, hours, ["a", "b"])
    assert object_reads(s3_server.requests(mark)) == Counter()
    assert any("list-type=2" in line for line in s3_server.requests(mark))  # it did list

    # the open hour: only the object holding it is read, and the count is the hand count
    mark = len(s3_server.requests())
    last = END - timedelta(hours=1)
    got = second.warehouse.rows("model_hour_counts", {"model": "a", "since": last - timedelta(microseconds=1),
                                                      "until": END, "environment": None})
    assert dict(got) == {last: hours[last]}
    read = object_reads(s3_server.requests(mark))
    assert set(read) == {k for k in tables if k.endswith(f"date={last:%Y-%m-%d}/part-1.parquet")}, read
    second.close()


def test_a_new_or_replaced_object_is_the_only_one_read(lake, s3_server, tmp_path):  # noqa: F811
    cfg, tables, client = lake
    svc = Service(cfg, clock=lambda: END + timedelta(hours=12))
    svc.refresh()
    counts_of(svc)
    rng = np.random.default_rng(6)
    replaced = next(k for k in tables if "part-0" in k)
    tables[replaced] = _half_day(rng, datetime.fromisoformat(replaced.split("date=")[1][:10]), 120, "re")
    put(client, replaced, tables[replaced], tmp_path)
    new = f"{replaced.split('/date=')[0]}/date={END:%Y-%m-%d}/part-0.parquet"
    tables[new] = _half_day(rng, END, 80, "new")
    put(client, new, tables[new], tmp_path)

    mark = len(s3_server.requests())
    svc.refresh()
    rows, newest, hours = hand(tables)
    n, last, _, models = counts_of(svc)
    assert (n, last, models) == (rows, newest, ["a", "b"])
    assert set(object_reads(s3_server.requests(mark))) == {replaced, new}
    hours_now = svc.warehouse.hour_counts({"model": "a", "since": END - timedelta(days=3, microseconds=1),
                                           "until": END + timedelta(hours=12) - timedelta(microseconds=1),
                                           "environment": None})
    assert {h: c for h, c in hours_now.items() if c} == hours
    svc.close()


def test_a_store_opens_the_objects_it_knows_without_a_request(lake, s3_server):  # noqa: F811
    """The first look (`snapshot(quick=True)`, before any refresh) of a store that read the bucket before: the
    objects come from what it kept, so nothing is listed, and only the last day's objects are read for the 24 h."""
    cfg, tables, _ = lake
    first = Service(cfg, clock=lambda: END)
    first.refresh()
    first.warehouse.counts()  # each object counted once, as any overview does
    first.close()
    mark = len(s3_server.requests())
    svc = Service(cfg, clock=lambda: END)
    try:
        snap = svc.snapshot(quick=True)
        day = pa.concat_tables(tables.values()).to_pylist()
        hand = Counter(r["model"] for r in day if END - timedelta(hours=24) < r["ts"] <= END)
        assert {r.name: r.requests for r in snap.rows} == dict(hand)
        assert not any("list-type=2" in line for line in s3_server.requests(mark))
        last_day = {k for k in tables if f"date={END - timedelta(days=1):%Y-%m-%d}" in k}
        assert set(object_reads(s3_server.requests(mark))) <= last_day
    finally:
        svc.close()


def test_the_overview_lists_models_and_environments_without_reading_an_object(lake, s3_server):  # noqa: F811
    """Every (model, environment) ever logged (`seen_pairs`: the Overview lists them even without recent rows)
    comes from what is known of each object, as the model list does: no object is read for it."""
    cfg, tables, _ = lake
    first = Service(cfg, clock=lambda: END)
    first.refresh()
    first.warehouse.counts()
    first.close()
    svc = Service(cfg, clock=lambda: END)
    try:
        svc.refresh()
        mark = len(s3_server.requests())
        hand = {(m, "production") for m in pa.concat_tables(tables.values())["model"].to_pylist()}
        assert svc.warehouse.seen_pairs() == hand
        assert object_reads(s3_server.requests(mark)) == Counter()
    finally:
        svc.close()


def test_a_kept_answer_serves_the_same_objects_and_not_a_replaced_one(lake, s3_server, tmp_path):  # noqa: F811
    """The incidents of one listing (each object by URL, ETag, size and mtime) are kept (`answer_memo`): a second
    process that lists the same objects answers from the file without evaluating a rule; once an object is
    replaced, the rules are evaluated again."""
    cfg, tables, client = lake

    def findings():
        svc = Service(cfg, clock=lambda: END + timedelta(hours=12))
        svc.refresh()
        svc.view(at=(END - timedelta(minutes=5)).isoformat())
        return svc.findings(max_age_s=0, overview=False), svc

    first, svc = findings()
    assert svc._monitor is not None and svc._answer_key("findings") is not None
    svc.close()
    again, svc = findings()
    assert svc._monitor is None and svc._answers().hits == 1 and again == first
    svc.close()
    replaced = next(k for k in tables if "part-0" in k)
    put(client, replaced, _half_day(np.random.default_rng(7), datetime.fromisoformat(
        replaced.split("date=")[1][:10]), 120, "re"), tmp_path)
    _, svc = findings()
    assert svc._monitor is not None and svc._answers().hits == 0  # evaluated afresh
    svc.close()
