"""Lakehouse tables (Delta, Iceberg) as pyarrow datasets DuckDB scans in place, pruned to a time window.

A table format already knows which data files hold which partitions: delta-rs reads the Delta log,
pyiceberg the Iceberg manifests, and each turns a window into the few files that can hold it. What they
hand back is a pyarrow dataset over those files, read through the same S3 identity as every other
source (`s3.settings`), so DuckDB's projection and filters still reach the Parquet readers.
Both packages are imported only when such a source is configured.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone

from console.sources import endpoints, s3
from console.sources.locations import S3_SCHEMES, StorageError, with_source

# Partition columns whose values are dates (Hive-style names, as Delta tables are usually laid out).
DATE_COLUMNS = ("date", "dt", "ds", "day", "event_date", "partition_date", "log_date")
# The mark of a table's data file among the parts a reader keys its work on (`rollup_changes`): Delta and Iceberg
# never change a data file under its name, so one a new version no longer holds had its rows replaced or deleted.
FILE_MARKS = {"delta": "delta-file", "iceberg": "iceberg-file"}


def _utc_naive(t: datetime | None) -> datetime | None:
    if t is None or t.tzinfo is None:
        return t
    return t.astimezone(timezone.utc).replace(tzinfo=None)


def delta_dataset(uri: str, storage: dict | None = None, *, since: datetime | None = None,
                  until: datetime | None = None, filters: list | None = None, version: int | None = None,
                  spans: dict | None = None, time_column: str = "ts", source_column: str | None = None):
    """The files of a Delta table (local or s3://) that can hold [since, until], as a pyarrow dataset.

    The window becomes a filter on the table's date partition column (one of DATE_COLUMNS) when it has
    one; `filters` adds partition filters in delta-rs's (column, op, value) form. Every fragment keeps
    its partition expression, so a DuckDB filter on a partition column prunes further. `spans`, a dict, gets
    each data file's time range (`delta_file_spans`, by the statistics of `time_column`). `source_column` names a
    string column holding each row's data file (the table's path / the file's), so a row set aside says where it is.
    """
    import pyarrow.fs as pafs
    from deltalake import DeltaTable

    uri = str(uri)
    is_s3 = uri.startswith(S3_SCHEMES)
    settings = s3.settings(storage) if is_s3 else None
    try:
        options = s3.object_store_options(settings, uri) if is_s3 else None
        table = DeltaTable(uri if is_s3 else os.path.abspath(os.path.expanduser(uri)), version=version,
                           storage_options=options)
        predicate = list(filters or [])
        part_cols = table.metadata().partition_columns
        date_col = next((c for c in part_cols if c.lower() in DATE_COLUMNS), None)
        since, until = _utc_naive(since), _utc_naive(until)
        # a day a side (a table partitioned by local or ingestion date), and only over ISO days: `20261125` compares
        # as text below every ISO day, and every file was pruned (the rollup built 0 rows, exit 0)
        if date_col and (since is not None or until is not None) and _iso_days(table, date_col):
            if since is not None:
                predicate.append((date_col, ">=", (since - timedelta(days=1)).date().isoformat()))
            if until is not None:
                predicate.append((date_col, "<=", (until + timedelta(days=1)).date().isoformat()))
        if is_s3:
            bucket_key = uri.split("://", 1)[1].rstrip("/")
            fs = pafs.SubTreeFileSystem(bucket_key, s3.filesystem(settings, uri))
        else:
            fs = pafs.SubTreeFileSystem(os.path.abspath(os.path.expanduser(uri)), pafs.LocalFileSystem())
        dataset = table.to_pyarrow_dataset(file_pruning_predicate=predicate or None, filesystem=fs)
        if spans is not None:
            spans.update(delta_file_spans(table, dataset, time_column))
        if source_column:
            return with_source(dataset, source_column,
                               {f.path: delta_file(uri, f.path) for f in dataset.get_fragments()})
        return dataset
    except StorageError:
        raise
    except Exception as exc:
        text = " ".join(str(exc).split())
        if type(exc).__name__ == "TableNotFoundError" or "no log files" in text.lower():
            raise StorageError(f"{uri}: not a Delta table (no _delta_log found)") from None
        raise s3.error(uri, exc, settings) from None


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")  # a date partition's value that compares as a day (the rollup prunes only these)


def _iso_days(table, column: str) -> bool:
    """Whether every data file's value of the date partition `column` is an ISO day (or a typed date)."""
    import pyarrow as pa

    try:
        values = pa.table(table.get_add_actions(flatten=True)).column(f"partition.{column}")
    except Exception:  # noqa: BLE001 - unknown: not pruned
        return False
    if pa.types.is_date(values.type) or pa.types.is_timestamp(values.type):
        return True
    return all(v is None or ISO_DAY.fullmatch(str(v)) for v in values.to_pylist())


_PHYSICAL: dict[str, tuple] = {}  # a Delta data file's (path -> its string columns' types): files never change


def mixed_strings(dataset, known: dict | None = None) -> bool:
    """Whether some file of the dataset holds a string column in another string type than the dataset says (delta-rs
    rewrites with string_view what an update or a merge touches): Arrow cannot evaluate a filter pushed into such a
    file (no kernel for string vs string_view), so the store reads the table without pushing filters into it. Each
    file's footer is read once: a Delta data file never changes under its name, so `known` (file -> its string
    columns' [name, type], kept by the caller across processes) spares a table in S3 one GET per file each command."""
    strings = {f.name: f.type for f in dataset.schema
               if str(f.type) in ("string", "large_string", "string_view")}
    before, seen = dict(known or {}), {}
    try:
        for fragment in dataset.get_fragments():
            kinds = _PHYSICAL.get(fragment.path)
            if kinds is None and fragment.path in before:
                kinds = _PHYSICAL[fragment.path] = tuple(tuple(k) for k in before[fragment.path])
            if kinds is None:
                kinds = _PHYSICAL[fragment.path] = tuple((f.name, str(f.type)) for f in fragment.physical_schema
                                                         if f.name in strings)
            seen[fragment.path] = [list(k) for k in kinds]
            if any(str(strings[name]) != kind for name, kind in kinds if name in strings):
                return True
        return False
    finally:
        if known is not None:  # the table's files now (a file removed from it is forgotten)
            known.clear()
            known.update(seen)


_MS = timedelta(milliseconds=1)


def delta_file_spans(table, dataset, time_column: str = "ts") -> dict[str, tuple]:
    """Each data file of a Delta table's dataset with the time range of its rows: the ts statistics the Delta log
    keeps for it (milliseconds, widened by one), else its date partition's day, else
    (None, None): any hour. Delta never changes a data file under its name: an overwrite, a merge, an update or a
    delete writes new files and removes old ones, so the files a new version no longer holds say which hours' rows
    may have been replaced, whatever the row counts say."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    stats: dict[str, tuple] = {}
    try:
        actions = pa.table(table.get_add_actions(flatten=True))
        low, high = f"min.{time_column}", f"max.{time_column}"
        if {low, high} <= set(actions.column_names):
            for path, lo, hi in zip(*(actions.column(c).to_pylist() for c in ("path", low, high))):
                if isinstance(lo, datetime) and isinstance(hi, datetime):
                    stats[path] = (_utc_naive(lo) - _MS, _utc_naive(hi) + _MS)  # rounded either way
    except Exception:  # noqa: BLE001 - no statistics: the partitions say what they can
        stats = {}
    out: dict[str, tuple] = {}
    for fragment in dataset.get_fragments():
        if fragment.path in stats:
            out[fragment.path] = stats[fragment.path]
            continue
        keys = ds.get_partition_keys(fragment.partition_expression)
        day = next((v for k, v in keys.items() if k.lower() in DATE_COLUMNS and v is not None), None)
        try:
            start = datetime.fromisoformat(str(day)[:10]) if day is not None else None
        except ValueError:
            start = None
        out[fragment.path] = (start, start + timedelta(days=1) - timedelta(microseconds=1)) if start else (None, None)
    return out


def iceberg_file_spans(tbl, tasks, time_column: str = "ts") -> dict[str, tuple]:
    """Each planned data file of an Iceberg table with the time range of its rows: the ts bounds its manifest
    entry keeps, else (None, None): any hour. As in Delta, a data file never changes under its name: an
    overwrite, a delete or a compaction commits a snapshot of new files, so the files a snapshot no longer holds
    say which hours' rows may have been replaced, whatever the row counts say (an overwrite with as many rows).
    A file with row-level deletes is named with its delete files too: a delete added to it changes its name."""
    from pyiceberg.conversions import from_bytes
    from pyiceberg.types import TimestampType, TimestamptzType

    try:
        field = tbl.schema().find_field(time_column)
    except Exception:  # noqa: BLE001 - no time column: every file may hold any hour
        field = None
    if field is not None and not isinstance(field.field_type, (TimestampType, TimestamptzType)):
        field = None  # bounds in other units (a date's days, nanoseconds, text) are not read as microseconds
    out: dict[str, tuple] = {}
    for task in tasks:
        name = task.file.file_path
        if task.delete_files:
            name += "#deletes=" + ",".join(sorted(d.file_path for d in task.delete_files))
        span = (None, None)
        lo = (task.file.lower_bounds or {}).get(field.field_id) if field is not None else None
        hi = (task.file.upper_bounds or {}).get(field.field_id) if field is not None else None
        if lo is not None and hi is not None:
            try:
                a, b = from_bytes(field.field_type, lo), from_bytes(field.field_type, hi)
                if isinstance(a, int) and isinstance(b, int):  # microseconds since the epoch (UTC for timestamptz)
                    span = (_EPOCH + timedelta(microseconds=a), _EPOCH + timedelta(microseconds=b))
            except Exception:  # noqa: BLE001 - bounds of another type say nothing of the hours
                span = (None, None)
        out[name] = span
    return out


_EPOCH = datetime(1970, 1, 1)


def _iceberg_literal(value: datetime, field_type) -> str:
    from pyiceberg.types import DateType, TimestamptzType

    if isinstance(field_type, DateType):
        return value.date().isoformat()
    if isinstance(field_type, TimestamptzType):
        return value.replace(tzinfo=timezone.utc).isoformat()
    return value.isoformat()


def _catalog(name: str, props: dict, where: str):
    """The pyiceberg catalog, read only. A SQLite catalog must exist: pyiceberg (and SQLite) would create an
    empty one in the operator's folder, and said of a missing one only "unable to open database file". A REST
    one gets the timeouts S3 reads have (pyiceberg sends with none, so a catalog that takes the connection and
    never answers held a refresh for as long as the socket lived)."""
    from pyiceberg.catalog import load_catalog

    kind = str(props.get("type", "")).lower()
    if kind == "sql":
        uri = str(props.get("uri", ""))
        db = uri[len("sqlite:///"):].split("?", 1)[0] if uri.startswith("sqlite:///") else ""
        if db and db != ":memory:" and not os.path.isfile(db):
            raise StorageError(f"{where}: the catalog {db} does not exist")
        return load_catalog(name, **{"init_catalog_tables": "false", **props})
    if kind != "rest":
        return load_catalog(name, **props)
    from pyiceberg.catalog.rest import RestCatalog

    class BoundedRestCatalog(RestCatalog):
        def _create_session(self):
            session = super()._create_session()
            send = session.request

            def request(method, url, **kwargs):
                if kwargs.get("timeout") is None:
                    kwargs["timeout"] = (s3.CONNECT_TIMEOUT_S, s3.REQUEST_TIMEOUT_S)
                return send(method, url, **kwargs)

            session.request = request
            return session

    return BoundedRestCatalog(name, **props)


def delta_file(uri: str, path: str) -> str:
    """A Delta table's data file as a row set aside names it: the table's path and the file's within it."""
    return f"{str(uri).rstrip('/')}/{path}"


def _replace_column(table, name: str, values):
    """`table` with its column `name` (a source column of the table's own is not the row's file) set to `values`."""
    if name in table.column_names:
        table = table.drop_columns([name])
    return table.append_column(name, values)


def iceberg_dataset(table: str, options: dict, storage: dict | None = None, *, since: datetime | None = None,
                    until: datetime | None = None, time_column: str = "ts", row_filter=None,
                    spans: dict | None = None, source_column: str | None = None):
    """An Iceberg table through a pyiceberg catalog, planned to the files that can hold [since, until].

    `options` are the catalog's: `catalog` (its name, default "default"), then pyiceberg properties such
    as `type = "sql"`, `uri = "sqlite:////path/catalog.db"`, `warehouse`; or `type = "rest"`, `uri`.
    The window is a row filter on `time_column`, which pyiceberg turns into partition and file pruning
    through the table's partition transforms (day(ts), hour(ts), ...). Files with no deletes under one
    schema are scanned in place; otherwise pyiceberg reads the planned files into memory. `spans`, a dict, gets
    each planned data file's time range (`iceberg_file_spans`); `source_column`, as for `delta_dataset`: each row's
    data file as the table's metadata names it (the table as configured when its rows are read into memory).
    """
    import pyarrow as pa
    import pyarrow.dataset as ds
    from pyiceberg.expressions import AlwaysTrue, And, GreaterThanOrEqual, LessThanOrEqual
    from pyiceberg.types import DateType, TimestampType, TimestamptzType

    options = {k: s3._reveal(v) for k, v in (options or {}).items()}
    name = options.pop("catalog", None) or "default"
    where = f"iceberg {name}.{table}"
    warehouse = str(options.get("warehouse", ""))
    # a REST catalog's warehouse may be a name, its files in S3: `[storage.s3]` applies; a local warehouse needs
    # none (an unset ${VAR} there marked a local table's source down)
    local = warehouse.startswith(("file:", "/"))
    settings = s3.settings(storage) if warehouse.startswith(S3_SCHEMES) or (storage and not local) else None
    try:
        props = {**(s3.fileio_properties(settings, where) if settings and settings.endpoint_url or
                    warehouse.startswith(S3_SCHEMES) else {}), **options}
        rest = str(props.get("type", "")).lower() == "rest" and str(props.get("uri", "")) or None
        if rest and (why := endpoints.unreachable(rest)):  # found unreachable by a read this round
            raise StorageError(s3.redact(f"{where}: {why}", settings))
        catalog = _catalog(name, props, where)
        tbl = catalog.load_table(table)
        expr = row_filter if row_filter is not None else AlwaysTrue()
        since, until = _utc_naive(since), _utc_naive(until)
        windowed = since is not None or until is not None
        field_type = tbl.schema().find_field(time_column).field_type if windowed else None
        # only a time's type compares as time: an epoch number or ISO text (offsets sort as text, not as instants)
        # is filtered as the rows are parsed ('Could not convert ... into a long' refused the whole table)
        if isinstance(field_type, (DateType, TimestampType, TimestamptzType)):
            if since is not None:
                expr = And(expr, GreaterThanOrEqual(time_column, _iceberg_literal(since, field_type)))
            if until is not None:
                expr = And(expr, LessThanOrEqual(time_column, _iceberg_literal(until, field_type)))
        scan = tbl.scan(row_filter=expr)
        tasks = list(scan.plan_files())
        if spans is not None:
            spans.update(iceberg_file_spans(tbl, tasks, time_column))
        schema = tbl.schema().as_arrow()
        if not tasks:
            return ds.dataset(schema.empty_table())
        in_place = len(tbl.metadata.schemas) == 1 and not any(t.delete_files for t in tasks)
        paths = [t.file.file_path for t in tasks]
        if in_place and all(p.startswith(("file:", "/")) for p in paths):
            import pyarrow.fs as pafs

            local = [p[len("file://"):] if p.startswith("file://") else p[len("file:"):] if p.startswith("file:")
                     else p for p in paths]
            dataset = ds.dataset(local, schema=schema, format="parquet", filesystem=pafs.LocalFileSystem())
            names = dict(zip(local, paths))
        elif in_place and settings is not None and all(p.startswith(S3_SCHEMES) for p in paths):
            keys = [p.split("://", 1)[1] for p in paths]
            dataset = ds.dataset(keys, schema=schema, format="parquet", filesystem=s3.filesystem(settings, where))
            names = dict(zip(keys, paths))
        else:  # read into memory: the rows carry no file; a row set aside is named by its table
            rows = scan.to_arrow()
            if source_column:
                rows = _replace_column(rows, source_column, pa.array([table] * rows.num_rows, pa.string()))
            return ds.dataset(rows)
        return with_source(dataset, source_column, names) if source_column else dataset
    except StorageError:
        raise
    except Exception as exc:
        kind = type(exc).__name__
        if kind == "NoSuchTableError":
            raise StorageError(f"{where}: no such table in the catalog") from None
        if kind == "NoSuchNamespaceError":
            raise StorageError(f"{where}: no such namespace in the catalog") from None
        if kind in ("ReadTimeout", "ConnectTimeout", "ConnectionError"):
            uri = options.get("uri", "")
            why = (f"no answer from the catalog {uri} within {s3.REQUEST_TIMEOUT_S:g} s (network timeout)"
                   if kind == "ReadTimeout" else f"cannot reach the catalog {uri}")
            if uri:
                endpoints.found_unreachable(str(uri), why)
            raise StorageError(s3.redact(f"{where}: {why}", settings)) from None
        raise s3.error(where, exc, settings) from None

