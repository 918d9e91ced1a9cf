"""What a Spark task runs in its Python worker: scan its files with pyarrow, conform, align.

Kept apart from `rollup_job` so a worker imports pyarrow and `rollup_sources` only: the task closure is
pickled by reference to this module, and importing `rollup_job` would load Polars, DataSketches and the
rollup store into every worker (about 60 MB each, for code the workers never run). Memory per worker is
one batch of `WORKER_BATCH_ROWS` rows plus the Parquet reader's column buffers (see `_batches`).
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.dataset as ds

from console import rollup_sources as src

WORKER_BATCH_ROWS = 32_768  # rows a Python worker holds at once (Spark re-batches them by 10,000)


def align(t: pa.Table, schema: pa.Schema, own: pa.Schema | None = None) -> pa.Table:
    """`t` in the job's `schema` (the union of the sources' columns). A float column that is text in `schema` (a
    field logged as numbers in one source and as text in another) and a float in its own source's schema `own`
    is written as the local engine writes it: that engine reads each source in its own types and the rollup casts
    the floats to text with Polars ("4.0", "NaN"), where Arrow's cast wrote "4", "nan" (a float read from a
    Parquet folder whose files disagree is cast by the dataset scanner, by Arrow, in both engines)."""
    cols = []
    for f in schema:
        if f.name in t.column_names:
            c = t.column(f.name)
            if pa.types.is_dictionary(c.type):
                c = c.cast(c.type.value_type)
            if (pa.types.is_floating(c.type) and pa.types.is_string(f.type) and own is not None
                    and f.name in own.names and pa.types.is_floating(own.field(f.name).type)):
                cols.append(_float_text(c))
                continue
            cols.append(c.cast(f.type, safe=False) if c.type != f.type else c)
        else:
            cols.append(pa.nulls(t.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _float_text(c: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Floats as the text Polars' cast gives (the local engine's `store_rollups.typed`); Polars is imported only
    for such a column."""
    import polars as pl

    return pl.from_arrow(c).cast(pl.String).to_arrow().cast(pa.string())


def _batches(piece, piece_schema: pa.Schema, expr):
    if isinstance(piece, pa.Table):
        return piece.to_batches(src.BATCH_ROWS)
    if isinstance(piece, src.RenamedPiece):  # a Parquet log's file under its own names, read by them
        return piece.renamed(_batches(piece.fragment, piece_schema, expr))
    if isinstance(piece, src.TextFile):  # JSONL or CSV, through the store's parsing: a bad row is set aside alone
        return (b for t in piece.tables() for b in t.to_batches(WORKER_BATCH_ROWS))
    if isinstance(piece, ds.ParquetFileFragment):
        # A Parquet file is read row group by row group (those the window's statistics keep), one batch at a
        # time on this thread: the dataset scanner's read-ahead held 250-380 MB a worker on 256k-row groups,
        # this 110-130 MB. Columns keep the file's types; `align` casts them as the scanner would have.
        import pyarrow.fs as pafs
        import pyarrow.parquet as pq

        groups = None if expr is None else [g.id for f in piece.split_by_row_group(expr, schema=piece_schema)
                                           for g in f.row_groups]
        if groups == []:
            return iter(())
        remote = not isinstance(piece.filesystem, pafs.LocalFileSystem)
        pf = pq.ParquetFile(piece.path, filesystem=piece.filesystem, pre_buffer=remote)
        cols = [c for c in piece_schema.names if c in pf.schema_arrow.names]
        keys = {k: v for k, v in ds.get_partition_keys(piece.partition_expression).items()
                if k in piece_schema.names and k not in cols}  # Hive folder values, as the scanner adds them
        batches = (_plain(b) for b in pf.iter_batches(batch_size=WORKER_BATCH_ROWS, row_groups=groups, columns=cols,
                                                      use_threads=False))
        return (_with_keys(b, keys, piece_schema) for b in batches) if keys else batches
    return ds.Scanner.from_fragment(piece, schema=piece_schema, filter=expr, batch_size=WORKER_BATCH_ROWS,
                                    batch_readahead=1).to_batches()


def _plain(batch: pa.RecordBatch) -> pa.RecordBatch:
    """String and binary views as plain strings and bytes: delta-rs writes views into the files a delete, update or
    merge rewrites, and the window's filter has no kernel for them ('array_take' on string_view: every Spark run
    over such a table failed, exit 4, where the local engine read it)."""
    views = [i for i, f in enumerate(batch.schema)
             if pa.types.is_string_view(f.type) or pa.types.is_binary_view(f.type)]
    if not views:
        return batch
    arrays = list(batch.columns)
    for i in views:
        arrays[i] = arrays[i].cast(pa.string() if pa.types.is_string_view(batch.schema.field(i).type) else pa.binary())
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _with_keys(batch: pa.RecordBatch, keys: dict, schema: pa.Schema) -> pa.RecordBatch:
    names, arrays = list(batch.schema.names), list(batch.columns)
    for k, v in keys.items():
        names.append(k)
        arrays.append(pa.array([v] * batch.num_rows, schema.field(k).type))
    return pa.RecordBatch.from_arrays(arrays, names=names)


def reader(todo: list[tuple], schema: pa.Schema, start: datetime, end: datetime):
    """The function each Spark task runs: read its pieces (indexes into `todo`), conform, align."""
    def read(batches):
        for b in batches:
            for i in b.column(0).to_pylist():
                piece_schema, expr, piece = todo[i]
                for rb in _batches(piece, piece_schema, expr):
                    if not rb.num_rows:
                        continue
                    t = src.window(rb, start, end)
                    if t.num_rows:
                        yield from align(t, schema, piece_schema).to_batches()
    return read
