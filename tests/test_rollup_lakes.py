"""The rollup over the console's own sources: the same fleet as local Hive Parquet, as Parquet and JSONL
objects in S3 (a real moto server on 127.0.0.1), as a Delta table in S3 and as an Iceberg table (sqlite
catalog), rolled up by the local engine and by Spark (local mode, the one session of the process), gives
the counts of the local engine over the local copy; drift from the Spark-built S3 rollup is within the
sketch bound of scipy. Also: the `rollup` command over S3 skips an `mlflow://` source with a clear line
and exit code 2 while rolling up the rest.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from scipy import stats

from console import rollup_engine
from console import rollup_sources as src
from console import store_rollups as ro
from console.analytics import sketches as sk
from console.cli import main
from rollup_fleet import CATEGORICAL, NUMERIC, START, fleet, write_hive
from s3_server import s3_server  # noqa: F401  (session fixture)

MODELS = {"fraud": {"numeric": NUMERIC, "categorical": CATEGORICAL, "segments": ["country"]},
          "eta": {"numeric": NUMERIC, "categorical": CATEGORICAL, "task": "regression"}}
SPECS = {m: ro.ModelSpec.of(s) for m, s in MODELS.items()}
EXACT = ["rows", "errors", "status", "labelled", "cls_tp", "cls_fp", "cls_fn", "cls_tn", "cls_pos_hist",
         "cls_neg_hist", "input_tokens", "reg_n", "cat__country", "cat__channel",
         "pred_counts", "pred_text", "label_counts", "label_text"]
SUMS = ["cost_usd", "latency_sum", "score_sum", "reg_abs_sum", "sum__amount", "sq__speed",
        "pred_sum", "pred_sq", "label_sum", "label_sq"]
SKETCHES = ["latency_kll", "num__amount", "num__age", "pred_kll", "label_kll"]
KEYS = list(ro.KEYS)
HOURS = 4
END = START + timedelta(hours=HOURS)


@pytest.fixture(scope="module")
def lake(tmp_path_factory, s3_server):  # noqa: F811
    from deltalake import write_deltalake
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.transforms import DayTransform

    tmp = tmp_path_factory.mktemp("rollup-lake")
    preds, labels = fleet(hours=HOURS, per_hour=100, seed=5)
    logs = write_hive(preds, tmp)
    client = s3_server.client()
    client.create_bucket(Bucket="rollup")
    s3_server.upload_tree("rollup", logs, "parquet")
    for (day, hour), part in preds.with_columns(pl.col("ts").dt.strftime("%Y-%m-%d").alias("_d"),
                                                pl.col("ts").dt.strftime("%H").alias("_h")).partition_by(
            "_d", "_h", as_dict=True).items():
        body = part.drop("_d", "_h").with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")).write_ndjson()
        client.put_object(Bucket="rollup", Key=f"jsonl/date={day}/hour={hour}/part-0.jsonl", Body=body.encode())
    dated = preds.with_columns(pl.col("ts").dt.strftime("%Y-%m-%d").alias("date")).to_arrow()
    options = s3_server.delta_writer_options()
    write_deltalake("s3://rollup/tables/preds", dated, partition_by=["date"], storage_options=options)
    (tmp / "warehouse").mkdir()
    catalog_options = {"catalog": "ops", "type": "sql", "uri": f"sqlite:///{tmp}/catalog.db",
                       "warehouse": f"file://{tmp}/warehouse"}
    catalog = SqlCatalog("ops", **{k: v for k, v in catalog_options.items() if k != "catalog"})
    catalog.create_namespace("serving")
    arrow = preds.to_arrow()
    arrow = arrow.cast(pa.schema([pa.field(f.name, pa.string() if pa.types.is_large_string(f.type)
                                           or pa.types.is_string_view(f.type) else f.type) for f in arrow.schema]))
    table = catalog.create_table("serving.preds", schema=arrow.schema)
    with table.update_spec() as spec:
        spec.add_field("ts", DayTransform(), "ts_day")
    for h in range(HOURS):  # a data file per hour
        a, b = START + timedelta(hours=h), START + timedelta(hours=h + 1)
        table.append(pa.Table.from_pandas(arrow.to_pandas()[(arrow.to_pandas()["ts"] >= a)
                                                             & (arrow.to_pandas()["ts"] < b)],
                                          schema=arrow.schema, preserve_index=False))
    storage = s3_server.storage
    sources = {
        "s3-parquet": src.Source("s3://rollup/parquet/", "parquet", {}, storage),
        "s3-jsonl": src.Source("s3://rollup/jsonl/", "jsonl", {}, storage),
        "delta": src.Source("s3://rollup/tables/preds", "delta", {}, storage),
        "iceberg": src.Source("serving.preds", "iceberg", catalog_options, None),
    }
    expected = rollup_engine.local_builder(src.dataset([str(logs)]), labels.to_arrow(), SPECS)(START, END)
    return preds, labels, sources, expected, logs


def _same_counts(got: dict, expected: dict, where: str) -> None:
    assert set(got) == set(expected), where
    for m in expected:
        assert got[m].schema.equals(expected[m].schema), (where, m)
        a, b = pl.from_arrow(expected[m]), pl.from_arrow(got[m])
        assert b.height == a.height, (where, m)
        joined = a.join(b, on=KEYS, how="inner", nulls_equal=True, suffix="_got")
        assert joined.height == a.height, (where, m)
        for c in EXACT:
            assert joined[c].to_list() == joined[f"{c}_got"].to_list(), (where, m, c)
        for c in SUMS:
            assert np.allclose(joined[c].to_numpy(), joined[f"{c}_got"].to_numpy(), rtol=1e-9, atol=1e-9), \
                (where, m, c)
        for c in SKETCHES:
            ns = [(sk.deserialize(x).n if x else 0, sk.deserialize(y).n if y else 0)
                  for x, y in zip(joined[c].to_list(), joined[f"{c}_got"].to_list())]
            assert all(x == y for x, y in ns), (where, m, c)


@pytest.mark.parametrize("name", ["s3-parquet", "s3-jsonl", "delta", "iceberg"])
def test_the_local_engine_reads_s3_delta_and_iceberg_as_the_local_copy(lake, name):
    _, labels, sources, expected, _ = lake
    got = rollup_engine.local_builder([sources[name]], labels.to_arrow(), SPECS)(START, END)
    _same_counts(got, expected, name)


@pytest.fixture(scope="module")
def spark_built(lake):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from console.spark import rollup_job

    _, labels, sources, _, _ = lake
    build = {name: rollup_job.builder([sources[name]], labels.to_arrow(), SPECS, master="local[1]")
             for name in ("s3-parquet", "s3-jsonl", "delta", "iceberg")}
    return {name: b(START, END) for name, b in build.items()}


@pytest.mark.parametrize("name", ["s3-parquet", "s3-jsonl", "delta", "iceberg"])
def test_spark_reads_s3_delta_and_iceberg_with_the_counts_of_the_local_engine(lake, spark_built, name):
    _same_counts(spark_built[name], lake[3], f"spark {name}")


def test_drift_from_the_spark_built_s3_rollup_is_within_the_bound_of_scipy(lake, spark_built, tmp_path):
    preds = lake[0]
    ro.write({"fraud": spark_built["s3-parquet"]["fraud"]}, tmp_path, START, END)
    cut = START + timedelta(hours=2)
    a, b = ro.read(tmp_path, "fraud", START, cut), ro.read(tmp_path, "fraud", cut, END)
    raw = preds.filter(pl.col("model") == "fraud")
    x = raw.filter(pl.col("ts") < cut)["amount"].cast(pl.Float32).cast(pl.Float64).to_numpy()
    y = raw.filter(pl.col("ts") >= cut)["amount"].cast(pl.Float32).cast(pl.Float64).to_numpy()
    assert (a.rows, b.rows) == (x.size, y.size)
    ks = sk.ks(a.numeric["amount"], b.numeric["amount"])
    assert abs(ks.statistic - stats.ks_2samp(x, y).statistic) <= ks.bound + 1e-12
    w = sk.wasserstein(a.numeric["amount"], b.numeric["amount"], ref_std=a.mean_std("amount")[1])
    assert abs(w.score - stats.wasserstein_distance(x, y) / np.std(x)) <= w.bound + 1e-9


def test_rollup_command_skips_a_trace_source_and_rolls_up_s3(lake, s3_server, tmp_path, capsys):  # noqa: F811
    preds = lake[0]
    (tmp_path / "console.toml").write_text(f"""
{s3_server.toml}
[[logs]]
kind = "predictions"
path = "s3://rollup/parquet/"
format = "parquet"

[[logs]]
kind = "predictions"
path = "mlflow://support-assistant"
""", encoding="utf-8")
    rc = main(["rollup", "--config", str(tmp_path / "console.toml"), "--path", str(tmp_path / "rollups"),
               "--since", START.isoformat(), "--until", END.isoformat(), "--format", "json"])
    captured = capsys.readouterr()
    assert rc == 2  # exit_codes.USAGE: a configured source was not rolled up
    assert "mlflow://support-assistant: an MLflow trace source has no log files to roll up" in captured.err
    assert s3_server.secret_access_key not in captured.err + captured.out
    summary = json.loads(captured.out)
    assert summary["rows"] == preds.height and len(summary["skipped_sources"]) == 1
    s = ro.read(tmp_path / "rollups", "fraud", START, END)
    assert s.rows == preds.filter(pl.col("model") == "fraud").height


def test_unsupported_names_every_format_the_rollup_cannot_scan():
    assert src.unsupported("s3://b/logs/", "parquet") is None
    assert src.unsupported("/logs/*.jsonl", None) is None
    assert src.unsupported("serving.preds", "iceberg") is None
    assert "sagemaker-capture" in src.unsupported("s3://b/capture/", "sagemaker-capture")
    assert "MLflow trace source" in src.unsupported("mlflow://exp", None)


def test_rollups_written_to_s3_are_read_back_through_a_mirror(lake, s3_server, tmp_path, capsys,  # noqa: F811
                                                            monkeypatch):
    from console import rollup_remote

    preds = lake[0]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "console.toml").write_text(f"""
{s3_server.toml}
[[logs]]
kind = "predictions"
path = "s3://rollup/parquet/"
format = "parquet"
""", encoding="utf-8")
    argv = ["rollup", "--config", str(tmp_path / "console.toml"), "--path", "s3://rollup/built/rollups",
            "--since", START.isoformat(), "--until", END.isoformat(), "--format", "json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["path"] == "s3://rollup/built/rollups"
    keys = {o["Key"] for o in s3_server.client().list_objects_v2(Bucket="rollup", Prefix="built/")["Contents"]}
    assert "built/rollups/_state.json" in keys
    assert any(k.startswith("built/rollups/fraud/") and k.endswith(".parquet") for k in keys)

    reader = tmp_path / "reader"  # another box: pulls the folder, reads it with the local code
    assert rollup_remote.pull("s3://rollup/built/rollups", reader, s3_server.storage) == len(keys)
    for m in ("fraud", "eta"):
        assert ro.read(reader, m, START, END).rows == preds.filter(pl.col("model") == m).height
    assert rollup_remote.pull("s3://rollup/built/rollups", reader, s3_server.storage) == 1  # only the state
    with pytest.raises(Exception) as err:
        rollup_remote.pull("s3://no-such-bucket/rollups", reader, s3_server.storage)
    assert str(err.value).startswith("s3://no-such-bucket/rollups: ")
