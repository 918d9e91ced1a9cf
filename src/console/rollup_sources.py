"""Reading prediction and label logs in place for the rollup job, with pyarrow.dataset.

A stopgap until the store (issue 8) hands the rollup its typed rows: Parquet (single files or
Hive-partitioned folders such as `date=2026-11-30/`, pruned on the partition and on row-group
statistics), JSONL and CSV, mapped onto the contract the way the store's conform step does for the
few fields the rollup needs (a `features` struct flattened into columns, `status` into `is_error`).
Bad rows are the store's business: here a row without a parseable `ts` or `model` is skipped.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

BATCH_ROWS = 131_072
_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "json", ".json": "json", ".ndjson": "json",
            ".csv": "csv"}
_DATE_PARTS = ("date", "dt", "day")
_OK_STATUS = ("ok", "success", "succeeded", "200", "201", "204")


def _expand(path: str) -> tuple[list[str], str | None]:
    """Files matching a path, glob or folder, and the folder Hive partitions start under."""
    p = Path(path)
    if p.is_dir():
        found = [str(f) for f in sorted(p.rglob("*")) if f.is_file() and f.suffix in _FORMATS]
        return found, str(p)
    found = sorted(f for f in glob.glob(path, recursive=True) if os.path.isfile(f))
    base = path.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0]
    base = base if base.endswith(os.sep) else os.path.dirname(base)
    return found, base or None


def dataset(paths: Sequence[str], fmt: str | None = None) -> list[ds.Dataset]:
    """One dataset per file format among the files the paths match."""
    by_format: dict[str, tuple[list[str], str | None]] = {}
    for path in paths:
        found, base = _expand(path)
        for f in found:
            kind = fmt.replace("jsonl", "json") if fmt else _FORMATS.get(Path(f).suffix.lower())
            if kind is None:
                continue
            files, b = by_format.setdefault(kind, ([], base))
            files.append(f)
    out = []
    for kind, (files, base) in by_format.items():
        part = ds.HivePartitioning.discover(infer_dictionary=False)
        out.append(ds.dataset(files, format=kind, partitioning=part, partition_base_dir=base))
    return out


def _time_filter(d: ds.Dataset, start: datetime | None, end: datetime | None) -> ds.Expression | None:
    expr = None
    names = set(d.schema.names)
    if "ts" in names and d.schema.field("ts").type != pa.string():
        if start is not None:
            expr = ds.field("ts") >= pa.scalar(start, pa.timestamp("us"))
        if end is not None:
            e = ds.field("ts") < pa.scalar(end, pa.timestamp("us"))
            expr = e if expr is None else expr & e
    for part in _DATE_PARTS:  # prune day partitions: a day folder holds that day's rows
        if part in names and part != "ts":
            f = ds.field(part).cast(pa.string())
            if start is not None:
                e = f >= start.date().isoformat()
                expr = e if expr is None else expr & e
            if end is not None:
                e = f <= (end - timedelta(microseconds=1)).date().isoformat()
                expr = e if expr is None else expr & e
    return expr


def conform(batch: pa.RecordBatch | pa.Table) -> pa.Table:
    """The contract columns the rollup reads: typed ts, flattened features, is_error."""
    t = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    if "features" in t.column_names and pa.types.is_struct(t.schema.field("features").type):
        feats = t.column("features").combine_chunks()
        t = t.drop_columns(["features"])
        for i, f in enumerate(feats.type):
            if f.name not in t.column_names:
                t = t.append_column(f.name, pc.struct_field(feats, [i]))
    t = conform_ts(t)
    if "is_error" not in t.column_names:
        if "status" in t.column_names:
            status = pc.utf8_lower(pc.cast(t.column("status"), pa.string()))
            ok = pc.or_kleene(pc.is_in(status, pa.array(_OK_STATUS)), pc.starts_with(status, "2"))
            t = t.append_column("is_error", pc.invert(pc.fill_null(ok, True)))
        else:
            t = t.append_column("is_error", pa.array([False] * t.num_rows))
    keep = pc.and_(pc.is_valid(t.column("ts")), pc.is_valid(t.column("model")))
    return t.filter(keep)


def scan(datasets: Sequence[ds.Dataset], start: datetime | None, end: datetime | None,
         columns: Sequence[str] | None = None, batch_rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
    """Conformed prediction rows with start <= ts < end, one record batch at a time."""
    for d in datasets:
        expr = _time_filter(d, start, end)
        cols = None if columns is None else [c for c in columns if c in d.schema.names]
        for batch in d.to_batches(filter=expr, columns=cols, batch_size=batch_rows):
            if not batch.num_rows:
                continue
            t = conform(batch)
            if start is not None or end is not None:  # JSONL's ts may be text: filter after typing
                m = pc.is_valid(t.column("ts"))
                if start is not None:
                    m = pc.and_(m, pc.greater_equal(t.column("ts"), pa.scalar(start, pa.timestamp("us"))))
                if end is not None:
                    m = pc.and_(m, pc.less(t.column("ts"), pa.scalar(end, pa.timestamp("us"))))
                t = t.filter(m)
            if t.num_rows:
                yield t


def read_labels(datasets: Sequence[ds.Dataset]) -> pa.Table | None:
    """All labels (request_id, label, label_num, ts) as text label and float label_num."""
    tables = []
    for d in datasets:
        cols = [c for c in ("request_id", "label", "label_num", "ts") if c in d.schema.names]
        t = d.to_table(columns=cols)
        t = t.set_column(t.column_names.index("label"), "label", pc.cast(t.column("label"), pa.string()))
        if "label_num" not in t.column_names:
            t = t.append_column("label_num", _to_float(t.column("label")))
        if "ts" in t.column_names:
            t = conform_ts(t)
        t = t.set_column(t.column_names.index("request_id"), "request_id", pc.cast(t.column("request_id"), pa.string()))
        tables.append(t.select([c for c in ("request_id", "label", "label_num", "ts") if c in t.column_names]))
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="default")


def _to_float(col: pa.ChunkedArray) -> pa.Array:
    import polars as pl

    return pl.Series(col).cast(pl.Float64, strict=False).to_arrow()


def conform_ts(t: pa.Table) -> pa.Table:
    import polars as pl

    s = pl.Series(t.column("ts"))
    if s.dtype == pl.String:
        s = s.str.to_datetime(time_unit="us", strict=False, time_zone="UTC").dt.replace_time_zone(None)
    elif isinstance(s.dtype, pl.Datetime) and s.dtype.time_zone:
        s = s.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    s = s.cast(pl.Datetime("us"))
    return t.set_column(t.column_names.index("ts"), "ts", s.to_arrow())


def days(start: datetime, end: datetime) -> list[date]:
    out, d = [], start.date()
    while datetime.combine(d, datetime.min.time()) < end:
        out.append(d)
        d += timedelta(days=1)
    return out
