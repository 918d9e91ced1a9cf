"""Parquet objects in S3 (a real moto server on 127.0.0.1) whose fields change between objects: a feature logged as
numbers one day and as text the next, or first logged in a later object. The source is still read, every row of
every object counted, and the change said, as for Parquet files on disk (`test_drift_unusable_said.py`)."""

from __future__ import annotations

import io
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from console.config import Config, LogSource, ModelConfig, S3Storage
from console.service import Service
from s3_server import s3_server  # noqa: F401  (session fixture)

AT = datetime(2026, 11, 30)


def _put(client, key: str, table: pa.Table) -> None:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    client.put_object(Bucket="typed", Key=key, Body=buf.getvalue())


def _rows(day: int, n: int, x) -> pa.Table:
    return pa.table({"ts": pa.array([datetime(2026, 11, day, h % 24) for h in range(n)], pa.timestamp("us")),
                     "model": ["m"] * n, "version": ["1"] * n, "request_id": [f"{day}-{i}" for i in range(n)],
                     "latency_ms": [10.0] * n, "x": x})


def test_a_field_whose_type_changes_between_objects_is_read_and_said(s3_server, tmp_path):  # noqa: F811
    client = s3_server.client()
    client.create_bucket(Bucket="typed")
    _put(client, "logs/date=2026-11-27/part-0.parquet", _rows(27, 30, pa.array(range(30), pa.int64())))
    _put(client, "logs/date=2026-11-28/part-0.parquet", _rows(28, 20, pa.array([float(i) for i in range(20)],
                                                                                  pa.float32())))
    _put(client, "logs/date=2026-11-29/part-0.parquet", _rows(29, 10, ["a", "2.5"] * 5))
    storage = S3Storage(endpoint_url=s3_server.endpoint, region="us-east-1", access_key_id=s3_server.access_key_id,
                        secret_access_key=s3_server.secret_access_key)
    pq.write_table(pa.table({"x": [float(i % 40) for i in range(400)]}), tmp_path / "ref.parquet")
    cfg = Config(source=None, root=tmp_path, s3=storage,
                 models={"m": ModelConfig("m", reference=tmp_path / "ref.parquet", features=("x",))},
                 logs=(LogSource("predictions", "s3://typed/logs/", "parquet"),))
    svc = Service(cfg, clock=lambda: AT)
    try:
        stats = svc.refresh()
        assert svc.warehouse.one("counts")[0] == 60, stats.notes
        mixed = [n for n in stats.notes if "more than one type" in n]
        assert mixed == ["predictions: field 'x' holds values of more than one type across its Parquet files "
                         "(numbers in 2 files, e.g. s3://typed/logs/date=2026-11-27/part-0.parquet; text in 1 file, "
                         "e.g. s3://typed/logs/date=2026-11-29/part-0.parquet); kept, as text if not all numbers"], \
            stats.notes
        assert not any("cannot" in n or "unreadable" in n for n in stats.notes), stats.notes
        x = svc.monitor.typed_rows("m", datetime(2026, 11, 26), AT, columns=["x"]).get_column("x").to_list()
        # kept as text (as DuckDB keeps such a field of files on disk); every value there, the numbers as numbers
        assert len(x) == 60 and x.count("a") == 5
        assert sorted(float(v) for v in x if v != "a") == sorted([*range(30), *range(20), *[2.5] * 5])
        # drift over the text column, from raw rows and from the hourly rollups alike: the numbers are tested, the
        # five "a" counted as unusable
        for exact in (True, False):
            col = svc.drift("m", "4d", exact=exact, series=False, target=False).dataset.column("x")
            assert (col.n_cur, col.stats.get("dropped")) == (55, 5), (exact, col)

        _put(client, "logs/date=2026-11-30/part-0.parquet",
             _rows(30, 5, ["b"] * 5).append_column("tenure", pa.array([12] * 5)))
        again = svc.refresh()
        assert svc.warehouse.one("counts")[0] == 65
        assert [n for n in again.notes if "new field" in n] == [
            "predictions: new field 'tenure' (in 1 Parquet file, e.g. s3://typed/logs/date=2026-11-30/part-0.parquet)"]
        assert [n for n in svc.refresh().notes if "new field" in n] == []
    finally:
        svc.close()
