"""Parquet objects deleted from an S3 prefix, against the same files deleted from a local folder (the differential
probe of session 38): their rows leave the counts and the screens in both, and each deletion is said once."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console.config import Config, LogSource, S3Storage
from console.service import Service
from s3_server import empty_location, s3_server  # noqa: F401  (session fixture)

AT = datetime(2026, 11, 30, 12)
KEYS = ("date=2026-11-29/part-0.parquet", "date=2026-11-30/part-0.parquet")


def _body(n: int, start: datetime) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table({"ts": pa.array([start + timedelta(minutes=i) for i in range(n)], pa.timestamp("us")),
                             "model": ["m"] * n, "version": ["1"] * n,
                             "request_id": [f"{start:%d}-{i}" for i in range(n)],
                             "latency_ms": [10.0 + i for i in range(n)]}), buf)
    return buf.getvalue()


@pytest.mark.parametrize("where", ["local", "s3"])
def test_deleted_parquet_objects_leave_the_counts_and_are_said(where, s3_server, tmp_path):  # noqa: F811
    bodies = dict(zip(KEYS, (_body(30, AT - timedelta(days=1)), _body(20, AT - timedelta(hours=3)))))
    storage = None
    if where == "s3":
        client = s3_server.client()
        bucket = f"deleted-{tmp_path.name[-8:].lower().replace('_', '-')}"
        client.create_bucket(Bucket=bucket)
        for key, body in bodies.items():
            client.put_object(Bucket=bucket, Key=f"logs/{key}", Body=body)
        path = f"s3://{bucket}/logs/"
        storage = S3Storage(endpoint_url=s3_server.endpoint, region="us-east-1",
                            access_key_id=s3_server.access_key_id, secret_access_key=s3_server.secret_access_key)
        url = lambda key: f"s3://{bucket}/logs/{key}"  # noqa: E731

        def delete(key):
            client.delete_object(Bucket=bucket, Key=f"logs/{key}")
    else:
        for key, body in bodies.items():
            (tmp_path / "logs" / key).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "logs" / key).write_bytes(body)
        path = str(tmp_path / "logs")
        url = lambda key: str(tmp_path / "logs" / key)  # noqa: E731

        def delete(key):
            (tmp_path / "logs" / key).unlink()
    cfg = Config(source=None, root=tmp_path, s3=storage, logs=(LogSource("predictions", path, "parquet"),))
    svc = Service(cfg, clock=lambda: AT)
    try:
        svc.refresh()
        assert svc.warehouse.one("counts")[0] == 50
        delete(KEYS[0])
        stats = svc.refresh()
        assert svc.warehouse.one("counts")[0] == 20, stats.notes
        assert [n for n in stats.notes if "deleted" in n] == [f"{url(KEYS[0])}: deleted"], stats.notes
        assert [n for n in svc.refresh().notes if "deleted" in n] == []  # said once
        delete(KEYS[1])  # the last one: the prefix (the folder) holds nothing now
        stats = svc.refresh()
        assert svc.warehouse.one("counts")[0] == 0, stats.notes
        assert [n for n in stats.notes if "deleted" in n] == [f"{url(KEYS[1])}: deleted"], stats.notes
    finally:
        svc.close()


@pytest.mark.parametrize("where", ["local", "s3"])
def test_a_prefix_with_no_object_yet_is_a_log_that_matches_no_file(where, s3_server, tmp_path):  # noqa: F811
    """An S3 Parquet prefix listing no object (a new endpoint's, before its first upload) failed every command with
    DuckDB's "Provided table/dataframe must have at least one column"; an empty folder is a log matching no file."""
    path, storage, bucket = empty_location(where, s3_server, tmp_path, "nothing", "logs")
    cfg = Config(source=None, root=tmp_path, s3=storage, logs=(LogSource("predictions", path, "parquet"),))
    svc = Service(cfg, clock=lambda: AT)
    try:
        stats = svc.refresh()
        assert stats.missing == (path,), stats
        assert svc.warehouse.one("counts")[0] == 0
        snap = svc.snapshot()
        assert snap.rows == () and snap.missing_logs == (path,), snap
        if where == "s3":
            s3_server.client().put_object(Bucket=bucket, Key="logs/date=2026-11-30/part-0.parquet",
                              Body=_body(20, AT - timedelta(hours=3)))
        else:
            (tmp_path / "logs" / "part-0.parquet").write_bytes(_body(20, AT - timedelta(hours=3)))
        stats = svc.refresh()  # the first object: read at the next refresh
        assert stats.missing == () and svc.warehouse.one("counts")[0] == 20, stats
    finally:
        svc.close()
