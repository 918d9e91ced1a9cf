"""A Parquet log under its own names (`[logs.fields]` with `format = "parquet"`): `timestamp`, `model_name`,
`latency`, or members of struct columns (`model.name`, `request.inputs`). Before, the config refused the mapping and
every row of such a log was set aside ("missing ts"). Now the files are still read in place, their columns renamed
by the views' projection (the store) and per batch (both rollup engines): counts, errors, stored values and each
file's time span equal a hand count of the files as written."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console.config import parse_file
from console.warehouse import Warehouse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rollup_fleet import START, fleet  # noqa: E402
from test_field_names import FIELDS, LABELS, OWN, _rows_by_model, _toml, nested_rows, stored_nested  # noqa: E402
from s3_server import s3_server  # noqa: E402,F401  (session fixture)
from test_operator_pass2 import _cli  # noqa: E402

AT = (START + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(tmp: Path) -> tuple[pl.DataFrame, Path]:
    """The fleet's 4 hours as a team's service writes them: its own names, a text `ts` of its own (not the
    contract's), a `model` struct (who owns it), two files of a day folder (hours 0-1 and 2-3), and one row with
    no model name (set aside)."""
    preds, _ = fleet(hours=4, per_hour=150, seed=3)
    own = preds.rename(OWN).with_columns(pl.lit("ingested later").alias("ts"),
                                         pl.struct(pl.lit("risk").alias("team")).alias("model"))
    folder = tmp / "logs" / f"date={START.date()}"
    folder.mkdir(parents=True)
    early = own.filter(pl.col("timestamp") < START + timedelta(hours=2))
    bad = early.head(1).with_columns(pl.lit(None, pl.Utf8).alias("model_name"), pl.lit("no-model").alias("id"))
    pl.concat([early, bad]).write_parquet(folder / "part-0.parquet")
    own.filter(pl.col("timestamp") >= START + timedelta(hours=2)).write_parquet(folder / "part-1.parquet")
    return preds, tmp / "logs"


def _config(tmp: Path, fields: dict[str, str], store: str = "store", extra: str = "") -> Path:
    cfg = tmp / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n[logs.fields]\n' + _toml(fields)
                   + f'[store]\npath = "{store}"\n[audit]\npath = "a.jsonl"\n{extra}')
    return cfg


def _health_matches(cfg: Path, preds: pl.DataFrame, hours: int) -> None:
    """`health MODEL --window {hours}h` ending at AT gives each model's requests and errors of a hand count."""
    since = START + timedelta(hours=4 - hours)
    hand = preds.filter(pl.col("ts") >= since).group_by("model").agg(
        pl.col("status").is_in(["timeout", "500"]).sum().alias("e"), pl.len())
    for model, e, n in hand.iter_rows():
        out = _cli(cfg, "health", model, "--at", AT, "--window", f"{hours}h", "--format", "json")
        assert out.returncode == 0, out.stderr
        table = json.loads(out.stdout)["table"]
        assert (sum(r["requests"] for r in table), sum(r["errors"] for r in table)) == (n, e), (hours, model)


def test_store_cli_and_rollup_count_a_parquet_log_under_its_own_names(tmp_path):
    preds, _ = _write(tmp_path)
    _, labels = fleet(hours=4, per_hour=150, seed=3)
    labels.select(pl.col("request_id").alias("id"), pl.col("label").cast(pl.Utf8).alias("truth"),
                  pl.col("ts").alias("labelled_at")).write_parquet(tmp_path / "labels.parquet")
    cfg = _config(tmp_path, OWN, extra='[rollups]\npath = "rollups"\nmin_rows = 100\n[[logs]]\nkind = "labels"\n'
                  'path = "labels.parquet"\nformat = "parquet"\n[logs.fields]\n' + _toml(LABELS))
    res = _cli(cfg, "snapshot", "--at", AT, "--format", "json")
    assert res.returncode == 0, res.stderr
    snap = json.loads(res.stdout)
    assert snap["counts"]["predictions"] == preds.height and snap["counts"]["malformed"] == 1
    assert snap["counts"]["labels"] == labels.height
    assert [(m["reason"], m["n"]) for m in snap["malformed_by"]] == [("missing model (`model_name` in this log)", 1)]
    for hours in (4, 1):  # the whole log, and the last hour (a read narrowed to part-1 by its span)
        _health_matches(cfg, preds, hours)
    wh = Warehouse(parse_file(cfg))
    try:
        with wh.cursor() as cur:  # each row's time is its `timestamp`, not the log's own `ts`
            stored = dict(cur.execute("SELECT request_id, ts FROM predictions").fetchall())
            joined = dict(cur.execute("SELECT request_id, label FROM labels JOIN predictions USING (request_id)")
                          .fetchall())
        spans = {Path(p).name: wh.file_span(p) for p in sorted(wh._mapped) if "date=" in p}
    finally:
        wh.close()
    assert stored == dict(zip(preds["request_id"], preds["ts"]))
    assert joined == dict(zip(labels["request_id"], labels["label"].cast(pl.Utf8)))  # every label under `id`
    for name, span in spans.items():  # each file's hours by its own ts column's statistics
        t = pl.read_parquet(tmp_path / "logs" / f"date={START.date()}" / name)
        assert span == (t["timestamp"].min(), t["timestamp"].max())
    built = _cli(cfg, "rollup", "--no-ready", "--format", "json")
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["rows"] == preds.height


def _nested(n: int) -> pa.Table:
    rows = [{"timestamp": START + timedelta(minutes=i), "model": {"name": "fraud", "version": "3"},
             "request": {"id": f"r{i}", "inputs": {"amount": 10.0 + i, "country": "ab"[i % 2]}},
             "response": {"latency_ms": 5.0 + i % 13, "status": 503 if i % 17 == 0 else 200}} for i in range(n)]
    return pa.Table.from_pylist(rows)


NESTED = {"ts": "timestamp", "model": "model.name", "version": "model.version", "request_id": "request.id",
          "features": "request.inputs", "latency_ms": "response.latency_ms", "status": "response.status"}


def test_dotted_names_reach_into_struct_columns(tmp_path):
    (tmp_path / "logs").mkdir()
    pq.write_table(_nested(90), tmp_path / "logs" / "p.parquet")
    cfg = _config(tmp_path, NESTED, extra='[models.fraud]\nfeatures = ["amount", "country"]\n')
    wh = Warehouse(parse_file(cfg))
    try:
        wh.refresh()
        got = stored_nested(wh)
    finally:
        wh.close()
    assert got == (nested_rows(90), 0)


def test_a_files_span_is_its_ts_columns_after_a_struct_written_first(tmp_path):
    """The statistics are per leaf column: a `features` struct written before ts moved ts's index, and the span was
    read from a feature's statistics. An integer feature's (an age, 18-89) read as microseconds put the file in
    1970, and every window skipped it; a float feature's gave no span. Local files and S3 objects alike."""
    from console.sources import footers
    from console.store.footers import ts_span

    t = pa.table({"features": pa.array([{"x": 1e9 + i, "age": 18 + i} for i in range(50)]),
                  "ts": pa.array([START + timedelta(minutes=i) for i in range(50)], pa.timestamp("us")),
                  "model": ["m"] * 50})
    pq.write_table(t, tmp_path / "p.parquet")
    assert ts_span(str(tmp_path / "p.parquet")) == (START, START + timedelta(minutes=49))
    got = footers.span(footers.read(str(tmp_path / "p.parquet"), pa.fs.LocalFileSystem()))
    assert got == (START, START + timedelta(minutes=49))


def test_both_rollup_engines_read_the_parquet_log_under_its_own_names(tmp_path):
    from console import rollup_engine
    from console import store_rollups as ro
    from console.rollup_sources import Source

    preds, folder = _write(tmp_path)
    source = Source(str(folder), "parquet", fields=FIELDS)
    specs = {m: ro.ModelSpec() for m in ("fraud", "eta")}
    hand = {m: n for m, n in preds.group_by("model").len().iter_rows()}
    end = START + timedelta(hours=4)
    assert _rows_by_model(rollup_engine.local_builder([source], None, specs)(START, end)) == hand
    # a window that starts at hour 2: the time filter on the log's own column keeps part-1's rows only
    late = {m: n for m, n in preds.filter(pl.col("ts") >= START + timedelta(hours=2)).group_by("model").len()
            .iter_rows()}
    assert _rows_by_model(rollup_engine.local_builder([source], None, specs)(START + timedelta(hours=2), end)) == late
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from console.spark import rollup_job

    assert _rows_by_model(rollup_job.builder([source], None, specs, master="local[1]")(START, end)) == hand


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_a_changed_mapping_of_a_log_read_in_place_drops_the_stores_own_rollups(tmp_path, fmt):
    """A log read in place has no read cursor: that it was read before is known from the files the store remembers
    of it, or from the mapping it was read under. Its hours built under the old mapping are dropped with the
    mapping, as a tailed log's are (as many rows an hour: counting them again would keep the old latencies)."""
    rows = pl.DataFrame({"timestamp": [START + timedelta(minutes=2 * i) for i in range(240)], "model": "a",
                         "version": "1", "request_id": [f"r{i}" for i in range(240)],
                         "latency": [10.0 + i % 7 for i in range(240)],
                         "latency_p50": [500.0 + i % 11 for i in range(240)]})
    if fmt == "parquet":
        (tmp_path / "logs").mkdir()
        rows.write_parquet(tmp_path / "logs" / "p.parquet")
    else:
        from deltalake import write_deltalake

        write_deltalake(str(tmp_path / "logs"), rows.to_arrow().cast(pa.schema(
            [pa.field(f.name, pa.string() if pa.types.is_large_string(f.type) or pa.types.is_string_view(f.type)
                      else f.type) for f in rows.to_arrow().schema])))

    def health(column: str, store: str) -> list:
        cfg = _config(tmp_path, {"ts": "timestamp", "latency_ms": column}, store, '[rollups]\nmin_rows = 10\n')
        cfg.write_text(cfg.read_text().replace('format = "parquet"', f'format = "{fmt}"'))
        res = _cli(cfg, "health", "a", "--at", "2026-07-01T08:00:00Z", "--window", "7d", "--format", "json")
        assert res.returncode == 0, res.stderr
        return [(r["requests"], r["p50_ms"], r["p95_ms"]) for r in json.loads(res.stdout)["table"]]

    before = health("latency", "store")
    assert (tmp_path / "store" / "rollups").is_dir()
    after, fresh = health("latency_p50", "store"), health("latency_p50", "fresh-store")
    assert after == fresh and after != before and after[0][0] == 240


def test_parquet_objects_in_s3_under_their_own_names(s3_server, tmp_path):  # noqa: F811
    """Objects read in place through their kept footers: each object's span is read from its own ts column (kept
    apart from spans read by `ts`), so the last hour's read skips the object of hours 0-1 and counts the rest."""
    from console import rollup_engine
    from console import store_rollups as ro
    from console.rollup_sources import Source

    preds, folder = _write(tmp_path)
    s3_server.client().create_bucket(Bucket="own-parquet")
    s3_server.upload_tree("own-parquet", folder, "logs")
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "s3://own-parquet/logs/"\nformat = "parquet"\n'
                   '[logs.fields]\n' + _toml(OWN) + '[store]\npath = "store"\n[audit]\npath = "a.jsonl"\n'
                   + s3_server.toml)
    res = _cli(cfg, "snapshot", "--at", AT, "--format", "json")
    assert res.returncode == 0, res.stderr
    snap = json.loads(res.stdout)
    assert snap["counts"]["predictions"] == preds.height and snap["counts"]["malformed"] == 1
    since = START + timedelta(hours=3)  # the last hour: a read of the files whose spans reach it
    _health_matches(cfg, preds, 1)
    wh = Warehouse(parse_file(cfg))
    try:
        wh.refresh()
        spans = sorted(e["span"] for objects in wh._lake_objects.values() for e in objects.values())
    finally:
        wh.close()
    files = sorted(folder.rglob("*.parquet"))
    assert spans == sorted([pl.read_parquet(f)["timestamp"].min().isoformat(),
                            pl.read_parquet(f)["timestamp"].max().isoformat()] for f in files)
    source = Source("s3://own-parquet/logs/", "parquet", {}, s3_server.storage, FIELDS)
    specs = {m: ro.ModelSpec() for m in ("fraud", "eta")}
    late = {m: n for m, n in preds.filter(pl.col("ts") >= since).group_by("model").len().iter_rows()}
    assert _rows_by_model(rollup_engine.local_builder([source], None, specs)(since, since + timedelta(hours=1))) == late


def _own_table(preds: pl.DataFrame) -> pa.Table:
    """The fleet's rows under a team's own names, with its own text `ts` and `model` struct, as Arrow with plain
    string types (what Delta and Iceberg writers take)."""
    own = preds.rename(OWN).with_columns(pl.lit("ingested later").alias("ts"),
                                         pl.struct(pl.lit("risk").alias("team")).alias("model"),
                                         pl.col("timestamp").dt.strftime("%Y-%m-%d").alias("date")).to_arrow()
    return own.cast(pa.schema([pa.field(f.name, pa.string() if pa.types.is_large_string(f.type)
                                         or pa.types.is_string_view(f.type) else f.type) for f in own.schema]))


def _table_source(tmp: Path, fmt: str, table: pa.Table) -> tuple[str, str]:
    """A Delta table (a local folder) or an Iceberg table (a SQL catalog, a data file per hour) holding `table`:
    its `[[logs]]` path and its options' TOML."""
    if fmt == "delta":
        from deltalake import write_deltalake

        write_deltalake(str(tmp / "delta"), table, partition_by=["date"])
        return str(tmp / "delta"), ""
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.transforms import DayTransform

    (tmp / "warehouse").mkdir()
    options = {"type": "sql", "uri": f"sqlite:///{tmp}/catalog.db", "warehouse": f"file://{tmp}/warehouse"}
    catalog = SqlCatalog("ops", **options)
    catalog.create_namespace("serving")
    iceberg = catalog.create_table("serving.preds", schema=table.schema)
    with iceberg.update_spec() as spec:
        spec.add_field("timestamp", DayTransform(), "ts_day")
    hours = pl.from_arrow(table.select(["timestamp"]))["timestamp"].dt.hour().to_numpy()
    for h in sorted(set(hours)):
        iceberg.append(table.filter(pa.array(hours == h)))
    return "serving.preds", '[logs.options]\ncatalog = "ops"\n' + _toml(options)


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_delta_and_iceberg_tables_under_their_own_names(tmp_path, fmt):
    """A lakehouse table is read in place through its Arrow dataset: the same projection renames it, and its files'
    time spans (Delta's statistics, Iceberg's manifest bounds) and pruning go by the table's own ts column."""
    from console import rollup_engine
    from console import store_rollups as ro
    from console.rollup_sources import Source

    preds, _ = fleet(hours=4, per_hour=150, seed=3)
    path, options = _table_source(tmp_path, fmt, _own_table(preds))
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text(f'[[logs]]\nkind = "predictions"\npath = "{path}"\nformat = "{fmt}"\n{options}[logs.fields]\n'
                   + _toml(OWN) + '[store]\npath = "store"\n[audit]\npath = "a.jsonl"\n')
    res = _cli(cfg, "snapshot", "--at", AT, "--format", "json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["counts"]["predictions"] == preds.height
    since = START + timedelta(hours=3)  # the last hour: a read of the files whose spans reach it
    _health_matches(cfg, preds, 1)
    wh = Warehouse(parse_file(cfg))
    try:
        wh.refresh()
        with wh.cursor() as cur:
            stored = dict(cur.execute("SELECT request_id, ts FROM predictions").fetchall())
        spans = [s for files in wh._lake_files.values() for s in files.values()]
    finally:
        wh.close()
    assert stored == dict(zip(preds["request_id"], preds["ts"]))
    # bounded by `timestamp`'s statistics: 4 hours at most (a Delta file's date partition alone would say a day)
    assert spans and all(lo is not None and hi - lo <= timedelta(hours=4, seconds=1) for lo, hi in spans), spans
    source = Source(path, fmt, dict(parse_file(cfg).logs[0].options), None, FIELDS)
    specs = {m: ro.ModelSpec() for m in ("fraud", "eta")}
    late = {m: n for m, n in preds.filter(pl.col("ts") >= since).group_by("model").len().iter_rows()}
    assert _rows_by_model(rollup_engine.local_builder([source], None, specs)(since, since + timedelta(hours=1))) == late


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_a_row_set_aside_from_a_table_names_its_data_file_and_the_tables_column(tmp_path, fmt):
    """A lakehouse table's rows carry no file name of their own: a row set aside said neither where it was (its
    source was empty) nor which of the table's columns its reason is about. Now its source is the data file holding
    it (a Delta file under the table's path, an Iceberg file as its manifest names it) and the reason names the
    table's own column, as a Parquet file's does."""
    preds, _ = fleet(hours=4, per_hour=150, seed=3)
    bad = preds["request_id"][5]
    preds = preds.with_columns(pl.when(pl.col("request_id") == bad).then(None).otherwise(pl.col("model")).alias("model"))
    path, options = _table_source(tmp_path, fmt, _own_table(preds))
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text(f'[[logs]]\nkind = "predictions"\npath = "{path}"\nformat = "{fmt}"\n{options}[logs.fields]\n'
                   + _toml(OWN) + '[store]\npath = "store"\n[audit]\npath = "a.jsonl"\n')
    wh = Warehouse(parse_file(cfg))
    try:
        wh.refresh()
        with wh.cursor() as cur:
            kept = cur.execute("SELECT count(*) FROM predictions").fetchone()[0]
        files = [wh._lake_files[n] for n in wh._lake_files]
        aside = wh.malformed_by()
    finally:
        wh.close()
    assert kept == preds.height - 1
    assert [(r["reason"], r["n"]) for r in aside] == [("missing model (`model_name` in this log)", 1)]
    source = aside[0]["source"]
    if fmt == "delta":
        assert source.startswith(f"{path}/date={START.date()}/") and source.endswith(".parquet"), source
        assert source[len(path) + 1:] in files[0]
    else:  # the file holding the row's hour (one data file per hour)
        assert source in files[0] and source.endswith(".parquet"), source
        hour = preds.filter(pl.col("request_id") == bad)["ts"][0]
        lo, hi = files[0][source]
        assert lo <= hour <= hi
