"""A zero-row Parquet file beside the others (a writer's empty batch, `pd.DataFrame(columns=[...]).to_parquet`):
its columns may be typed `null` (Arrow infers no type from no values). Such a column holds no value, so it is not a
field whose files disagree on what it holds. Every command said "field 'model' holds values of more than one type
across its Parquet files" of every text column, and said it differently of the same files on disk (`"NULL" in 1
file`) and in S3 (`null in 1 file`): found by the local-vs-S3 differential probe of session 38."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console.config import Config, LogSource, S3Storage
from console.service import Service
from s3_server import s3_server  # noqa: F401  (session fixture)

AT = datetime(2026, 11, 30, 12)


def _rows(n: int, start: datetime) -> pa.Table:
    return pa.table({"ts": pa.array([start + timedelta(minutes=i) for i in range(n)], pa.timestamp("us")),
                     "model": ["m"] * n, "version": ["1"] * n, "request_id": [f"{start:%d%H}-{i}" for i in range(n)],
                     "latency_ms": [10.0 + i for i in range(n)], "x": [float(i) for i in range(n)]})


def _files(root: Path) -> dict[str, bytes]:
    out = {}
    for key, table in {"date=2026-11-29/part-0.parquet": _rows(30, AT - timedelta(days=1)),
                       "date=2026-11-30/part-0.parquet": _rows(20, AT - timedelta(hours=3)),
                       # no rows: every column typed null
                       "date=2026-11-30/empty.parquet": pa.table({c: pa.array([]) for c in
                                                                   ("ts", "model", "version", "request_id",
                                                                    "latency_ms", "x")})}.items():
        buf = io.BytesIO()
        pq.write_table(table, buf)
        out[key] = buf.getvalue()
    return out


@pytest.mark.parametrize("where", ["local", "s3"])
def test_a_zero_row_parquet_file_with_null_columns_is_no_type_change(where, s3_server, tmp_path):  # noqa: F811
    files = _files(tmp_path)
    storage = None
    if where == "s3":
        client = s3_server.client()
        client.create_bucket(Bucket="zero-rows")
        for key, body in files.items():
            client.put_object(Bucket="zero-rows", Key=f"logs/{key}", Body=body)
        path = "s3://zero-rows/logs/"
        storage = S3Storage(endpoint_url=s3_server.endpoint, region="us-east-1",
                            access_key_id=s3_server.access_key_id, secret_access_key=s3_server.secret_access_key)
    else:
        for key, body in files.items():
            (tmp_path / "logs" / key).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "logs" / key).write_bytes(body)
        path = str(tmp_path / "logs")
    cfg = Config(source=None, root=tmp_path, s3=storage, logs=(LogSource("predictions", path, "parquet"),))
    svc = Service(cfg, clock=lambda: AT)
    try:
        stats = svc.refresh()
        assert svc.warehouse.one("counts")[0] == 50, stats.notes
        assert [n for n in stats.notes if "more than one type" in n] == [], stats.notes
        # a real change beside it is still said, once, naming the kinds that hold values
        body = io.BytesIO()
        pq.write_table(_rows(5, AT - timedelta(hours=1)).set_column(5, "x", pa.array(["a"] * 5)), body)
        if where == "s3":
            client.put_object(Bucket="zero-rows", Key="logs/date=2026-11-30/part-1.parquet", Body=body.getvalue())
        else:
            (tmp_path / "logs" / "date=2026-11-30" / "part-1.parquet").write_bytes(body.getvalue())
        again = svc.refresh()
        assert svc.warehouse.one("counts")[0] == 55, again.notes
        mixed = [n.split(" (")[1].split(",")[0] for n in again.notes if "more than one type" in n]
        assert mixed == ["numbers in 2 files"], again.notes
    finally:
        svc.close()
