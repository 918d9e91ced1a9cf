"""The S3 object cursor ({url: {etag, size}}) forgets objects deleted from the bucket: a pure function,
and the store's JSONL-in-S3 ingest against a real moto server on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import datetime

from console.config import Config, LogSource, S3Storage
from console.service import Service
from console.sources import s3
from console.sources.locations import FileInfo
from s3_server import s3_server  # noqa: F401  (session fixture)

END = datetime(2026, 11, 30)


def test_prune_seen_keeps_a_deleted_object_a_while_then_forgets_it():
    """A deleted object's entry stays, marked gone, for FORGET_S: its key written again is the object already read
    (its rows were counted twice when the entry went at once); later it goes, so the cursor does not grow for ever."""
    seen = {"s3://b/a.jsonl": {"etag": "1", "size": 3}, "s3://b/gone.jsonl": {"etag": "2", "size": 4}}
    listed = [FileInfo(path="s3://b/a.jsonl", size=3, mtime_ns=0, etag="1"), "s3://b/new.jsonl"]
    kept, gone = s3.prune_seen(seen, listed, now=100.0)
    assert kept == {"s3://b/a.jsonl": {"etag": "1", "size": 3},
                    "s3://b/gone.jsonl": {"etag": "2", "size": 4, "gone": 100.0}} and gone == ["s3://b/gone.jsonl"]
    again, gone = s3.prune_seen(kept, listed, now=100.0 + s3.FORGET_S)  # still kept, said once
    assert again == kept and gone == []
    back, _ = s3.prune_seen(kept, [*listed, "s3://b/gone.jsonl"], now=200.0)  # written again: known, not new
    assert back["s3://b/gone.jsonl"] == {"etag": "2", "size": 4}
    later, _ = s3.prune_seen(kept, listed, now=101.0 + s3.FORGET_S)
    assert later == {"s3://b/a.jsonl": {"etag": "1", "size": 3}}
    assert s3.prune_seen({}, listed) == ({}, [])


def test_the_store_cursor_forgets_deleted_objects(s3_server, tmp_path):  # noqa: F811
    client = s3_server.client()
    client.create_bucket(Bucket="cursor")

    def put(key: str, n: int) -> None:
        rows = [{"ts": f"2026-11-29T10:{i:02d}:00Z", "model": "a", "version": "1", "request_id": f"{key}-{i}", "latency_ms": i}
                for i in range(n)]
        client.put_object(Bucket="cursor", Key=key, Body="".join(json.dumps(r) + "\n" for r in rows).encode())

    put("logs/a.jsonl", 5)
    put("logs/b.jsonl", 3)
    storage = S3Storage(endpoint_url=s3_server.endpoint, region="us-east-1", access_key_id=s3_server.access_key_id,
                        secret_access_key=s3_server.secret_access_key)
    cfg = Config(source=None, root=tmp_path, s3=storage, logs=(LogSource("predictions", "s3://cursor/logs/*.jsonl"),))
    svc = Service(cfg, clock=lambda: END)
    try:
        first = svc.refresh()
        assert first.rows == {"predictions": 8}, (first.notes, first.malformed)

        def objects() -> set[str]:
            (cursor,) = svc.warehouse.manifest.cursors.values()
            return set(cursor)

        assert objects() == {"s3://cursor/logs/a.jsonl", "s3://cursor/logs/b.jsonl"}
        client.delete_object(Bucket="cursor", Key="logs/a.jsonl")
        put("logs/c.jsonl", 2)
        second = svc.refresh()
        assert second.rows == {"predictions": 2}  # b is not read again, c is new
        assert any("a.jsonl: deleted from the bucket" in n for n in second.notes), second.notes
        assert objects() == {"s3://cursor/logs/a.jsonl", "s3://cursor/logs/b.jsonl", "s3://cursor/logs/c.jsonl"}
        assert svc.warehouse.counts()[0] == 10  # the deleted object's rows stay in the store
        put("logs/a.jsonl", 5)  # the same key written again (a re-export): its rows are the ones counted
        assert svc.refresh().rows == {} and svc.warehouse.counts()[0] == 10
    finally:
        svc.close()
