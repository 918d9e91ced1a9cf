"""How a segment is written, and how small segments are merged into one (which ones, and why tiered: `tiers`)."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from console.store.parse import unify

ROW_GROUP = 128_000  # rows per row group of a segment
FILTER_MODELS = 16  # a segment of up to this many models is written a model at a time (see `write`)
_UNIQUE = ("request_id", "error", "raw", "location")  # text columns a dictionary does not shrink
_FILTERED = ("ts", "model", "version", "environment", "variant")  # columns with segment statistics


def _options(schema: pa.Schema) -> dict:
    texts = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    # dictionaries pay off for names and categories, not for unique ids or measurements; zstd on text
    # only (it compresses measurements little, for most of the writing time); statistics only for the
    # columns queries filter on (every feature's took a third of the writing time)
    return dict(use_dictionary=[c for c in texts if c not in _UNIQUE],
                compression={f.name: "zstd" if f.name in texts else "none" for f in schema},
                write_statistics=[c for c in _FILTERED if c in schema.names])


def durable(path: Path) -> None:
    """On disk before the manifest names it: the manifest is fsynced, and without this a power loss could
    leave it naming a segment whose blocks were never written (ext4's delayed allocation: an empty file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write(table: pa.Table, path: Path, *, sort_by_model: bool) -> None:
    """One segment file, private. Past one row group, predictions are grouped by model (in the order logged), each
    model in row groups of its own, so a model's queries skip the others; a segment of one row group (a live
    log's refresh) gains nothing from it."""
    if sort_by_model and table.num_rows > ROW_GROUP and "model" in table.column_names:
        # one model's rows at a time, each from its own row groups: a sorted copy of a whole backlog (a million
        # rows of 25 features, ~0.4 GB) doubled a cold JSONL ingest's peak; a filter keeps the logged order
        # (a filter pass per model; past FILTER_MODELS models, the sorted order taken a row group at a time)
        models = table["model"]
        names = sorted(pc.unique(models).drop_null().to_pylist())
        with pq.ParquetWriter(path, table.schema, **_options(table.schema)) as out:
            if len(names) <= FILTER_MODELS:
                for mask in [pc.equal(models, m) for m in names] + ([pc.is_null(models)] if models.null_count else []):
                    out.write_table(table.filter(mask), row_group_size=ROW_GROUP)
            else:
                order = pc.sort_indices(table, [("model", "ascending")])
                for i in range(0, table.num_rows, ROW_GROUP):
                    out.write_table(table.take(order.slice(i, ROW_GROUP)), row_group_size=ROW_GROUP)
    else:
        pq.write_table(table, path, row_group_size=ROW_GROUP, **_options(table.schema))
    os.chmod(path, 0o600)
    durable(path)


def merge(parts: list[Path], path: Path, *, stop=None) -> tuple[pa.Schema, int] | None:
    """The parts' rows, in order, into one private segment: (its schema, its rows), or None (the file
    incomplete) if `stop()` said so between parts. Streamed: at most a row group and one part are held at
    a time, so merging a tier of large parts costs little memory; row groups are then in the order the
    rows were logged, not sorted by model. Columns of different types in different parts are unified as
    a refresh unifies its pieces (parse.unify)."""
    target = unify([pq.read_schema(p).empty_table() for p in parts])[0].schema
    rows, held, n = 0, [], 0
    with pq.ParquetWriter(path, target, **_options(target)) as out:
        def put(tables: list[pa.Table], final: bool) -> list[pa.Table]:
            table = unify([target.empty_table(), *tables])[0].select(target.names).cast(target)
            whole = table.num_rows if final else table.num_rows - table.num_rows % ROW_GROUP
            if whole:
                out.write_table(table.slice(0, whole), row_group_size=ROW_GROUP)
            return [table.slice(whole)] if whole < table.num_rows else []

        for p in parts:
            if stop is not None and stop():
                return None
            table = pq.read_table(p, use_threads=False)  # threads cost more than they save on small parts
            held.append(table)
            n += table.num_rows
            rows += table.num_rows
            if n >= ROW_GROUP:
                held = put(held, final=False)
                n = sum(t.num_rows for t in held)
        if held:
            put(held, final=True)
    os.chmod(path, 0o600)
    durable(path)
    return target, rows
