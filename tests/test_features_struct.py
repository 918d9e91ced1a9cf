"""The contract's one `features` object, logged by a Parquet writer as a nested struct column: read as the
features it holds, on disk and in S3 (a real moto server on 127.0.0.1), as a JSONL log's `features` object is.
It was read as one opaque column, and drift said every feature "not logged"."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.stats import wasserstein_distance

from console.config import Config, LogSource, ModelConfig, S3Storage
from console.service import Service
from s3_server import s3_server  # noqa: F401  (session fixture)

AT = datetime(2026, 11, 30)
rng = np.random.default_rng(4)
N = 600
TS = [AT - timedelta(minutes=4 * i + 1) for i in range(N)]  # 40 hours, newest first
X, C = rng.normal(0.3, 1, N), rng.choice(["u", "v", "w"], N)
REF_X, REF_C = rng.normal(0, 1, 2000), rng.choice(["u", "v", "w"], 2000)


def _logs(nested: bool) -> pa.Table:
    feats = {"features": pa.StructArray.from_arrays([pa.array(X), pa.array(C)], ["x", "c"])} if nested \
        else {"x": X, "c": C}
    return pa.table({"ts": pa.array(TS, pa.timestamp("us")), "model": ["m"] * N, "version": ["1"] * N,
                     "request_id": [f"r{i}" for i in range(N)], "latency_ms": [12.0] * N, **feats})


def _scores(cfg: Config) -> dict:
    svc = Service(cfg, clock=lambda: AT)
    try:
        svc.refresh()
        report = svc.drift("m", "24h", series=False, target=False)
        cols = {f: report.dataset.column(f) for f in ("x", "c")}
        return {f: (c.n_cur, c.score, c.stats.get("distance")) for f, c in cols.items()}
    finally:
        svc.close()


def test_a_features_struct_is_read_as_its_features_on_disk_and_in_s3(s3_server, tmp_path):  # noqa: F811
    pq.write_table(pa.table({"x": REF_X, "c": REF_C}), tmp_path / "ref.parquet")
    model = {"m": ModelConfig("m", reference=tmp_path / "ref.parquet", features=("x", "c"))}
    for nested in (False, True):
        day = tmp_path / ("nested" if nested else "flat") / "date=2026-11-29"
        day.mkdir(parents=True)
        pq.write_table(_logs(nested), day / "part-0.parquet")
    # a writer that moved from flat columns to the struct: both kinds of file in one folder (and `x` also flat in
    # the nested file's first row: one column `x`, not two)
    day = tmp_path / "mixed" / "date=2026-11-29"
    day.mkdir(parents=True)
    pq.write_table(_logs(False).slice(0, N // 2), day / "part-0.parquet")
    later = _logs(True).slice(N // 2)
    pq.write_table(later.append_column("x", pa.array([X[N // 2]] + [None] * (later.num_rows - 1), pa.float64())),
                   day / "part-1.parquet")
    flat, nested, mixed = (_scores(Config(source=None, root=tmp_path, models=model,
                                          logs=(LogSource("predictions", str(tmp_path / name), "parquet"),)))
                           for name in ("flat", "nested", "mixed"))
    in_window = [i for i, t in enumerate(TS) if t > AT - timedelta(hours=24)]
    assert nested == flat == mixed and nested["x"][0] == nested["c"][0] == len(in_window)  # a hand count
    assert abs(nested["x"][2] - wasserstein_distance(REF_X, X[in_window])) < 1e-12  # scipy's, on the rows in hand

    client = s3_server.client()
    client.create_bucket(Bucket="nested")
    buf = io.BytesIO()
    pq.write_table(_logs(True), buf)
    client.put_object(Bucket="nested", Key="logs/date=2026-11-29/part-0.parquet", Body=buf.getvalue())
    storage = S3Storage(endpoint_url=s3_server.endpoint, region="us-east-1", access_key_id=s3_server.access_key_id,
                        secret_access_key=s3_server.secret_access_key)
    remote = _scores(Config(source=None, root=tmp_path / "s3", s3=storage, models=model,
                            logs=(LogSource("predictions", "s3://nested/logs/", "parquet"),)))
    assert remote == flat


def test_a_field_logged_both_flat_and_in_the_struct_takes_the_flat_value(tmp_path):
    """As a JSONL row's top-level field wins over the same name in its `features` object."""
    t = _logs(True).slice(0, 3).append_column("x", pa.array([99.0, None, None], pa.float64()))
    (tmp_path / "logs").mkdir()
    pq.write_table(t, tmp_path / "logs" / "p.parquet")
    svc = Service(Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(tmp_path / "logs"), "parquet"),)),
                  clock=lambda: AT)
    try:
        svc.refresh()
        got = svc.monitor.typed_rows("m", AT - timedelta(days=1), AT, columns=["request_id", "x", "c"]).sort("request_id")
    finally:
        svc.close()
    assert got.get_column("x").to_list() == [99.0, X[1], X[2]] and got.get_column("c").to_list() == list(C[:3])


def test_a_feature_first_logged_in_a_later_files_struct_is_said_once(tmp_path):
    """As a flat field first logged in a later Parquet file is (`test_drift_unusable_said.py`)."""
    day = tmp_path / "logs" / "date=2026-11-28"
    day.mkdir(parents=True)
    pq.write_table(_logs(True).slice(0, 10), day / "part-0.parquet")
    svc = Service(Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(tmp_path / "logs"), "parquet"),)),
                  clock=lambda: AT)
    try:
        assert [n for n in svc.refresh().notes if "new field" in n] == []
        later = _logs(True).slice(10, 5)
        feats = later.column("features").combine_chunks()
        wider = pa.StructArray.from_arrays([feats.field("x"), feats.field("c"), pa.array([1, 2, 3, 4, 5])],
                                           ["x", "c", "tenure"])
        day = tmp_path / "logs" / "date=2026-11-29"
        day.mkdir()
        pq.write_table(later.set_column(later.column_names.index("features"), "features", wider), day / "part-0.parquet")
        assert [n for n in svc.refresh().notes if "new field" in n] == [
            f"predictions: new field 'tenure' (in 1 Parquet file, e.g. {day / 'part-0.parquet'})"]
        assert [n for n in svc.refresh().notes if "new field" in n] == []
        got = svc.monitor.typed_rows("m", AT - timedelta(days=3), AT, columns=["tenure"]).get_column("tenure")
        assert sorted(got.drop_nulls().to_list()) == [1, 2, 3, 4, 5]
    finally:
        svc.close()
