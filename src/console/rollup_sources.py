"""Reading prediction and label logs in place for the rollup job, with pyarrow.dataset.

The sources are the console's own (`[[logs]]`): local Parquet (single files or Hive-partitioned
folders such as `date=2026-11-30/`, pruned on the partition and on row-group statistics), JSONL and
CSV (through the store's parsing, `rollup_text`: a bad row is set aside alone); `s3://` prefixes (Parquet,
JSONL, CSV; text objects through the store's parsing too) listed and pruned on their time partitions by
`sources.locations` with the console's S3 identity; Delta tables (delta-rs) and Iceberg tables
(pyiceberg) planned to the files of the window by `sources.lakes`. A `Source` opens its datasets per
build chunk, so every chunk lists and prunes again. Rows are mapped onto the contract the way the
store's conform step does for the fields the rollup needs (a `features` struct flattened into
columns, the environment and variant defaults, `is_error`, as `queries/conform_predictions.sql` has them:
an hour built here and one the console built from its store must key and count alike). A text log's bad
rows are set aside and counted as the store does (`rollup_text.set_aside`); a row without a parseable `ts` or
`model` is skipped.

Formats that need a vendor reader (SageMaker capture, OTLP, ...) and `mlflow://` trace sources have no
contract-shaped files to scan: `unsupported` names them so the rollup command can say so and roll up
the rest.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from console.rollup_text import TextDataset, TextFile  # noqa: F401 - TextFile: a Spark task's piece
from console.sources import arrow_schemas, compressed, field_names
from console.contract_fields import NO_ERROR_FLAGS
from console.sources.contract import FIELDS
from console.sources.files import (FileCursor, compressed_copies, folder_of_logs, format_by_name, globbed, is_glob,
                                   log_files, parquet_under, staged, unlisted)
from console.sources.lakes import ISO_DAY
from console.store import mapped_parquet

BATCH_ROWS = 131_072
_DATE_PARTS = ("date", "dt", "day")
# Parquet files a build found it cannot read (path -> why): left out, each costing only itself, and named by the run
# (`rollup_build.run`, which empties it first); one build runs at a time in a process (the folder's lock)
UNREADABLE: dict[str, str] = {}


def _readable(path: str) -> bool:
    """Whether a local Parquet file's footer can be read; one that cannot is left out and remembered in UNREADABLE."""
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except (OSError, ValueError) as exc:
        UNREADABLE[path] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return False
    return True
# queries/conform_predictions.sql: the defaults of a row without them, and what makes a row an error
DEFAULTS = (("environment", "production"), ("variant", "champion"))
# the contract's text fields and the raw status, typed VARCHAR there whatever a format read (a CSV's version 3)
TEXT = (*(n for n, t in FIELDS["predictions"].items() if t == "string"), "status")
_FAILED = ("error", "failed", "fail", "timeout")
_NUMBER = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"


def _kind(path: str) -> str | None:
    """A file's format by its name, as the store reads it (`files.format_by_name`: `p.jsonl.1.gz` is JSONL), in
    pyarrow.dataset's words."""
    fmt = format_by_name(path)
    return {"jsonl": "json"}.get(fmt, fmt)


def _expand(path: str) -> tuple[list[str], str | None]:
    """Files matching a path, glob or folder, and the folder Hive partitions start under."""
    p = Path(path)  # an empty file holds no rows (a live log just rotated): Arrow's JSON reader refuses it
    if os.path.isdir(p):  # (Path.is_dir raises inside a folder that cannot be entered; os.path's says False)
        found = [f for f in parquet_under(path) if os.path.getsize(f)]  # a folder is Parquet, as to the store
        return found, str(p)
    found = sorted(f for f in globbed(path) if os.path.isfile(f) and os.path.getsize(f)
                   and not (format_by_name(f) == "parquet" and staged(f, path)))  # as the store leaves them out
    copies = compressed_copies(found)  # read as the store reads them: the original alone
    found = [f for f in found if f not in copies]
    base = path.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0] if is_glob(path) else path
    base = base if base.endswith(os.sep) else os.path.dirname(base)
    return found, base or None


def text_files(path: str, fmt: str | None, known: Mapping[str, FileCursor] | None = None) -> list[FileCursor]:
    """The JSONL and CSV files of a local log, by identity as the store's tailer knows them (`files.log_files`):
    those its path matches, and those the last build read (`known`) found again under another name (`p.jsonl.1`,
    `p.jsonl.old`, a copytruncate's copy), each with the format it was first read as (`fmt` on the cursor). By
    name alone a renamed file's rows were left out (or its hours rebuilt) while the store counted them. A folder
    is Parquet's, and an empty file holds no rows."""
    if os.path.isdir(path):
        return []
    out = []
    for cur in log_files([path], known or {}).values():
        kind = fmt or cur.fmt
        if kind in ("jsonl", "csv") and _size(cur.path):
            out.append(replace(cur, fmt=kind))
    return sorted(out, key=lambda c: c.path)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def dataset(paths: Sequence[str], fmt: str | None = None, start: datetime | None = None,
            end: datetime | None = None, fields: tuple[tuple[str, str], ...] = (),
            rules: str | None = None, text: Sequence[FileCursor] | None = None) -> list[ds.Dataset | TextDataset]:
    """One dataset per file format among the files the paths match. JSONL and CSV files are read through the
    store's parsing (`rollup_text`), so a bad row is set aside alone; their day folders are pruned to
    [start, end) here, Parquet's by the scan's filter. A local path's text files are `text` when given, else those
    it matches now (`text_files`)."""
    by_format: dict[str, tuple[list[str], str | None]] = {}
    for path in paths:
        found, base = _expand(path)
        texts = {c.path: c.fmt for c in (text if text is not None else text_files(path, fmt))}
        for f in [*found, *sorted(texts.keys() - set(found))]:
            kind = texts.get(f) or (fmt or "").replace("jsonl", "json") or _kind(f)
            kind = {"jsonl": "json"}.get(kind, kind)
            if kind is None or (kind in ("json", "csv") and f not in texts):
                continue
            files, b = by_format.setdefault(kind, ([], base))
            files.append(f)
    out = []
    for kind, (files, base) in by_format.items():
        if kind in ("json", "csv"):
            out.append(TextDataset(files, kind, base, start, end, _DATE_PARTS, fields=fields, rules=rules))
            continue
        if kind == "parquet":
            files = [f for f in files if _readable(f)]
            if not files:
                continue
        part = ds.HivePartitioning.discover(infer_dictionary=False)
        d = ds.dataset(files, format=kind, partitioning=part, partition_base_dir=base)
        if len(files) > 1:  # the first file's schema would drop a field first logged later, or refuse a type change
            schema = arrow_schemas.unify([d.schema, *(f.physical_schema for f in d.get_fragments())])
            if schema != d.schema:
                d = ds.dataset(files, schema=schema, format=kind, partitioning=part, partition_base_dir=base)
        out.append(renamed(d, fields))
    return out


def renamed(d: ds.Dataset, fields: tuple[tuple[str, str], ...]) -> ds.Dataset | Renamed:
    """`d` read under the contract's names when its log maps its own (`Renamed`), else as it is."""
    return Renamed(d, fields) if fields else d


def _as_contract(batches: Iterable[pa.RecordBatch], fields: tuple[tuple[str, str], ...]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield from field_names.as_contract(pa.Table.from_batches([batch]), fields).to_batches()


class Renamed:
    """A Parquet log under its own names (`[logs.fields]`), read as the rollup reads a pyarrow dataset (`schema`,
    `to_batches`, `get_fragments`) under the contract's: its columns projected and its time filter made by their
    own names (`column`), each batch renamed as it is read (`field_names.as_contract`, as the store's views do)."""

    def __init__(self, dataset: ds.Dataset, fields: tuple[tuple[str, str], ...]):
        self.dataset, self.fields = dataset, fields
        self.schema = field_names.as_contract(dataset.schema.empty_table(), fields).schema

    def column(self, name: str) -> ds.Expression:
        """The log's own column (or struct member) holding a contract field."""
        own = dict(self.fields).get(name, name)
        return ds.field(own) if own in self.dataset.schema.names else ds.field(*own.split("."))

    def own(self, columns: Sequence[str] | None) -> list[str] | None:
        return None if columns is None else field_names.own_columns(columns, self.fields, self.dataset.schema.names)

    def get_fragments(self, filter=None):  # noqa: A002 - pyarrow's name
        return [RenamedPiece(f, self.fields) for f in (self.dataset.get_fragments(filter=filter)
                                                        if filter is not None else self.dataset.get_fragments())]

    def to_batches(self, filter=None, columns: Sequence[str] | None = None,  # noqa: A002 - pyarrow's name
                   **kw) -> Iterator[pa.RecordBatch]:
        return _as_contract(self.dataset.to_batches(filter=filter, columns=self.own(columns), **kw), self.fields)


@dataclass(frozen=True)
class RenamedPiece:
    """One file of a `Renamed` dataset, as a Spark task reads it (`spark.scan_task`): its own batches, renamed."""

    fragment: Any
    fields: tuple[tuple[str, str], ...]

    def renamed(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return _as_contract(batches, self.fields)


# Formats whose files hold contract rows the rollup scans as they are; the others need the store's readers.
ROLLABLE = (None, "parquet", "jsonl", "csv", "delta", "iceberg")


def unsupported(path: str, fmt: str | None) -> str | None:
    """Why a log source cannot be rolled up, or None when it can."""
    if str(path).startswith("mlflow://"):
        return f"{path}: an MLflow trace source has no log files to roll up (the store reads it; rollups do not)"
    if fmt not in ROLLABLE:
        return (f"{path}: format {fmt!r} is read through its vendor reader into the store; rollups read "
                f"{', '.join(f for f in ROLLABLE if f)} only")
    if "://" not in str(path) and fmt in ("jsonl", "csv") and os.path.isdir(str(path)):
        # a text log names its files, as the store's tailer reads it: a folder's Parquet was read as JSON lines
        return unlisted(str(path)) or folder_of_logs(str(path), tailed=True)
    if "://" not in str(path) and fmt not in ("delta", "iceberg") and not _expand(str(path))[0]:
        # a folder it cannot list, or one of JSONL files (read as Parquet): its files were built as none, unsaid
        # (a text log's folder is said above)
        return unlisted(str(path)) or folder_of_logs(str(path))
    return None


@dataclass(frozen=True)
class Source:
    """One configured log source, opened as pyarrow datasets pruned to a window on each call."""

    path: str
    format: str | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    storage: dict[str, Any] | None = field(default=None, hash=False, compare=False, repr=False)
    fields: tuple[tuple[str, str], ...] = ()  # the log's own names for contract fields (JSONL, CSV, local Parquet)
    rules: str | None = None  # the log's kind (predictions, labels): a text log's rows its rules set aside are counted
    # a local log's JSONL and CSV files as resolved for a build (`text_files`, from the files the last one read):
    # every scan of the build reads the same files; None: those its path matches now
    files: tuple[FileCursor, ...] | None = field(default=None, hash=False, compare=False, repr=False)

    @property
    def is_lake(self) -> bool:
        return self.path.startswith(("s3://", "s3a://", "s3n://")) or self.format in ("delta", "iceberg")

    def datasets(self, start: datetime | None = None, end: datetime | None = None) -> list[ds.Dataset]:
        from console.sources import lakes, locations

        ts = mapped_parquet.time_column(self.fields)  # a table's own ts column prunes its files
        if self.format == "delta":
            return [renamed(lakes.delta_dataset(self.path, self.storage, since=start, until=end,
                                                time_column=ts), self.fields)]
        if self.format == "iceberg":
            return [renamed(lakes.iceberg_dataset(self.path, dict(self.options), self.storage, since=start,
                                                  until=end, time_column=ts), self.fields)]
        if not self.is_lake:
            return dataset([self.path], self.format, start, end, self.fields, self.rules, self.files)
        fmt = self.format or _kind(self.path.rstrip("/*"))
        fmt = {"jsonl": "json"}.get(fmt, fmt)
        if fmt == "parquet":
            return [renamed(locations.arrow_dataset(self.path, self.storage, format=fmt, since=start, until=end,
                                                    unify_schemas=True, unreadable=UNREADABLE), self.fields)]
        files = locations.list_files(self.path, self.storage, start, end)  # one format, or a prefix mixing them
        out: list = []
        for kind in [fmt] if fmt is not None else sorted({_kind(f.path) for f in files}
                                                         - {None}):
            mine = [f for f in files if fmt is not None or _kind(f.path) == kind]
            if kind in ("json", "csv"):  # the store's parsing: a bad row is set aside alone (`rollup_text`)
                mine = [f for f in mine if f.size]  # an empty object holds no rows (as an empty local file)
                if mine:
                    out.append(TextDataset(mine, kind, locations.parse_location(self.path).url(), start, end,
                                           _DATE_PARTS, self.storage, self.fields, self.rules))
            else:
                out.append(renamed(locations.arrow_dataset(mine, self.storage, format=kind,
                                                           unify_schemas=kind == "parquet", unreadable=UNREADABLE),
                                   self.fields))
        return out


def files_of(source: Source) -> Iterator[tuple[tuple, str, Any, Any, FileCursor | None]]:
    """The files a (non-table) source reads now, each as (identity, format, read, text, cursor): the identity the
    store gives it (`rollup_changes`: a local file by inode, size and mtime, an S3 object by URL, ETag, size and
    mtime); `read()` gives a Parquet file's ts span by its footer (None when unknown), or a text file's pieces as the
    build parses them: through the build's own `TextFile` (its Hive keys too), so within `rollup_text.parsed_once`
    the build reads the kept pieces rather than parsing the file again; `text` the local, uncompressed text file
    itself (else None), whose appended rows can be read alone; `cursor` a local text file's as `text_files` resolved
    it (its `carry` the identity the last build knew it by, when it is one of its files). For
    `rollup_changes.Versions.sources`."""
    from console.sources import footers, locations
    from console.store.footers import EVERY, ts_span

    fmt = {"jsonl": "json"}.get(source.format, source.format)

    if not source.is_lake:
        ts = mapped_parquet.ts_column(source.fields)  # a Parquet log's own ts column bounds its hours
        found, base = _expand(source.path)
        cursors = {c.path: c for c in (source.files if source.files is not None
                                       else text_files(source.path, source.format))}

        def kind_of(f: str) -> str | None:
            return {"jsonl": "json"}.get(cursors[f].fmt, cursors[f].fmt) if f in cursors else fmt or _kind(f)

        found = [f for f in found if kind_of(f) not in ("json", "csv")] + sorted(cursors)
        stat = {}
        for f in found:
            try:
                stat[f] = os.stat(f)
            except OSError:
                continue
        text = {t.path: t for kind in ("json", "csv")
                for t in TextDataset([f for f in stat if kind_of(f) == kind], kind, base, fields=source.fields,
                                     rules=source.rules).files}
        for f, st in stat.items():
            kind = kind_of(f)
            if kind is None:
                continue
            key = ("predictions", f, st.st_ino, st.st_size, st.st_mtime_ns)
            if kind == "parquet":
                yield key, kind, (lambda f=f: ts_span(f, ts) if ts else EVERY), None, None
            else:
                yield key, kind, text[f].read, None if compressed.named(f) else text[f], cursors.get(f)
        return

    def kind_of(f: str) -> str | None:
        return fmt or _kind(f)

    from console.sources import s3

    infos = [i for i in locations.list_files(source.path, source.storage) if i.size and kind_of(i.path)]
    url = locations.parse_location(source.path).url()
    text = {t.path: t for kind in ("json", "csv")
            for t in TextDataset([i for i in infos if kind_of(i.path) == kind], kind, url,
                                 storage=source.storage, fields=source.fields, rules=source.rules).files}
    for info in infos:
        kind = kind_of(info.path)
        key = ("predictions", info.path, *footers.version(info))
        if kind == "parquet":
            def footer(info=info):
                settings = s3.settings(source.storage)
                try:
                    return footers.span(footers.read(info.path.split("://", 1)[1], s3.filesystem(settings, info.path),
                                                     mapped_parquet.ts_column(source.fields)))
                except pa.ArrowInvalid as exc:  # not Parquet: any hour, as a local file's unreadable footer
                    UNREADABLE[info.path] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    return None

            yield key, kind, footer, None, None
        else:
            yield key, kind, text[info.path].read, None, None


def sources(items: Iterable[Any], storage: dict[str, Any] | None = None) -> list[Source]:
    """Sources from config `LogSource`s, (path, format) pairs or plain paths."""
    out = []
    for it in items:
        if isinstance(it, Source):
            out.append(it)
        elif isinstance(it, str):
            out.append(Source(it, None, {}, storage))
        else:
            out.append(Source(it.path, it.format, dict(getattr(it, "options", None) or {}), storage,
                              tuple(getattr(it, "fields", ())), getattr(it, "kind", None)))
    return out


def open_all(items: Sequence[ds.Dataset | Source], start: datetime | None = None,
             end: datetime | None = None) -> list[ds.Dataset]:
    """Datasets as they are, and each Source opened for [start, end)."""
    out: list[ds.Dataset] = []
    for it in items:
        out += it.datasets(start, end) if isinstance(it, Source) else [it]
    return out


def _ts_scalar(t: datetime, typ: pa.DataType) -> pa.Scalar:
    tz = getattr(typ, "tz", None)
    if tz:  # in the column's own unit and zone: Arrow compares a ns column of New York only with one (pandas
        # writes a tz-aware column so): `rollup` died with "no kernel ... (timestamp[ns, tz=America/New_York], ...)"
        utc = pa.scalar(t.replace(tzinfo=timezone.utc), pa.timestamp("us", tz="UTC"))
        return utc.cast(pa.timestamp(typ.unit, tz=tz), safe=False)
    return pa.scalar(t, pa.timestamp("us"))


def time_filter(d: ds.Dataset | Renamed | pa.Schema, start: datetime | None,
                end: datetime | None) -> ds.Expression | None:
    """A filter the scanner prunes partitions and row groups with (the exact cut is made after typing)."""
    return _time_filter(d, start, end)


def _time_filter(d: ds.Dataset | Renamed | pa.Schema, start: datetime | None, end: datetime | None) -> ds.Expression | None:
    expr = None
    schema = d if isinstance(d, pa.Schema) else d.schema
    names = set(schema.names)
    typ = schema.field("ts").type if "ts" in names else None
    ts = d.column("ts") if isinstance(d, Renamed) else ds.field("ts")  # a log's own name for it
    if typ is not None and pa.types.is_timestamp(typ):
        if start is not None:
            expr = ts >= _ts_scalar(start, typ)
        if end is not None:
            e = ts < _ts_scalar(end, typ)
            expr = e if expr is None else expr & e
    for part in _DATE_PARTS:  # prune day partitions: a day folder holds about that day's rows
        if part in names and part != "ts":
            if not (pa.types.is_string(schema.field(part).type) or pa.types.is_large_string(schema.field(part).type)
                    or pa.types.is_date(schema.field(part).type)):
                continue
            # a day a side: a folder of the local date (New York's day holds 00-05 UTC of the next) or of the
            # ingestion date (23:30's rows filed under the next day); a value that is no ISO day (20261125,
            # 2026_11_25) compares as text to nothing: such a folder is not pruned (every file was, 0 rows built)
            f = ds.field(part).cast(pa.string())
            keep = None
            if start is not None:
                keep = f >= (start - timedelta(days=1)).date().isoformat()
            if end is not None:
                e = f <= (end - timedelta(microseconds=1) + timedelta(days=1)).date().isoformat()
                keep = e if keep is None else keep & e
            if keep is not None:
                e = ~pc.match_substring_regex(f, f"^{ISO_DAY.pattern}$") | keep
                expr = e if expr is None else expr & e
    return expr


def unified_schema(schemas: Sequence[pa.Schema]) -> pa.Schema:
    """The union of the sources' columns as the rollup reads them: each schema conformed first, then promoted.
    Unified as they are on disk, a JSONL log's `ts` (text) and a Parquet log's (a timestamp) do not merge."""
    return arrow_schemas.unify([conform(s.empty_table()).schema for s in schemas])


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
    for name in TEXT:
        if name in t.column_names:
            t = _put(t, name, _text(t, name))
    for name, default in DEFAULTS:
        value = pc.fill_null(_text(t, name), default) if name in t.column_names else pa.array(
            [default] * t.num_rows, pa.string())  # typed when empty too
        t = _put(t, name, value)
    if "error" in t.column_names:
        err = _text(t, "error")
        t = _put(t, "error", pc.if_else(pc.greater(pc.binary_length(err), 0), err, pa.scalar(None, pa.string())))
    t = _put(t, "is_error", _is_error(t))
    keep = _kept(t)
    latency = _latency(t)
    if latency is not None:
        keep = pc.and_(keep, latency[1])
    if "latency_s" in t.column_names:  # the store's rule: latency_ms where the row has it, else seconds x 1000
        t = _put(t, "latency_ms", latency[0]).drop_columns(["latency_s"])
    return t.filter(keep)


def _kept(t: pa.Table) -> pa.ChunkedArray | pa.Array:
    """The rows the store keeps (`queries/conform_predictions.sql`'s `_reject` null), of the columns read: a time,
    a model, a version and a request id that are not empty, numbers that are numbers and finite (the latency:
    `_latency`), a cost and token counts not below zero, the counts whole. The `rollup` command counted rows the
    store sets aside (an empty model, no version, a latency of 1e400 or `true`), so the rollups of one log
    disagreed with the console's reading of it."""
    keep = pc.is_valid(t.column("ts"))
    for name in ("model", "version", "request_id"):
        if name in t.column_names:
            keep = pc.and_(keep, pc.fill_null(pc.greater(pc.binary_length(_text(t, name)), 0), False))
    for name in ("score", "cost_usd", "input_tokens", "output_tokens"):
        if name in t.column_names:
            raw = t.column(name)  # given: a finite number (a cost or a count not below zero, a count whole)
            num = _to_float(raw)
            ok = pc.is_finite(num)
            if name != "score":
                ok = pc.and_(ok, pc.greater_equal(num, 0.0))
            if name.endswith("_tokens"):
                ok = pc.and_(ok, pc.and_(pc.equal(pc.floor(num), num), pc.less(num, 2.0 ** 63)))
            keep = pc.and_(keep, pc.or_(pc.is_null(raw), pc.fill_null(ok, False)))
    return keep


def _latency(t: pa.Table) -> tuple | None:
    """(the latency in ms each row has, the rows whose latency the store keeps), None without a latency column:
    latency_ms, else latency_s x 1000, as the query takes it; kept when none is given, or a finite number not
    below zero, and never a latency_ms given as no number."""
    if "latency_ms" not in t.column_names and "latency_s" not in t.column_names:
        return None
    ms = t.column("latency_ms") if "latency_ms" in t.column_names else pa.nulls(t.num_rows, pa.float64())
    sec = t.column("latency_s") if "latency_s" in t.column_names else pa.nulls(t.num_rows, pa.float64())
    ms_num = _to_float(ms)
    value = pc.coalesce(ms_num, pc.multiply(_to_float(sec), 1000.0))
    ok = pc.fill_null(pc.and_(pc.is_finite(value), pc.greater_equal(value, 0.0)), False)
    given = pc.or_(pc.is_valid(ms), pc.is_valid(sec))
    no_number = pc.and_(pc.is_valid(ms), pc.is_null(ms_num))  # latency_ms given as no number: set aside
    return value, pc.and_(pc.or_(pc.invert(given), ok), pc.invert(no_number))


def _text(t: pa.Table, name: str) -> pa.ChunkedArray:
    c = t.column(name)
    return c if c.type == pa.string() else pc.cast(c, pa.string())


def _put(t: pa.Table, name: str, value) -> pa.Table:
    i = t.schema.get_field_index(name)
    return t.set_column(i, name, value) if i >= 0 else t.append_column(name, value)


def _is_error(t: pa.Table) -> pa.ChunkedArray | pa.Array:
    """The store's rule (`queries/conform_predictions.sql`): the row's own `is_error`, a status of error,
    failed, fail or timeout, a numeric status of 500 or more, or an error text."""
    names = t.column_names
    out = pa.array([False] * t.num_rows, pa.bool_())
    if "is_error" in names:
        try:
            out = pc.fill_null(pc.cast(t.column("is_error"), pa.bool_()), False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # text that is no boolean: TRY_CAST's null
            flag = pc.utf8_lower(pc.utf8_trim_whitespace(_text(t, "is_error")))
            out = pc.fill_null(pc.is_in(flag, pa.array(["true", "t", "1"])), False)
    if "status" in names:
        status = pc.utf8_lower(pc.utf8_trim_whitespace(_text(t, "status")))
        code = pc.if_else(pc.match_substring_regex(status, _NUMBER), status, pa.scalar(None, pa.string()))
        failed = pc.or_kleene(pc.is_in(status, pa.array(_FAILED)),  # true or null is true
                              pc.greater_equal(pc.cast(code, pa.float64()), 500))
        out = pc.or_(out, pc.fill_null(failed, False))
    if "error" in names:  # a message, or a flag saying there was one (NO_ERROR_FLAGS: none)
        flag = pc.utf8_lower(pc.utf8_trim_whitespace(_text(t, "error")))
        message = pc.and_(pc.is_valid(flag), pc.invert(pc.is_in(flag, pa.array(NO_ERROR_FLAGS))))
        out = pc.or_(out, pc.fill_null(message, False))
    return out


def window(batch: pa.RecordBatch | pa.Table, start: datetime | None, end: datetime | None) -> pa.Table:
    """A batch conformed and cut to start <= ts < end (JSONL's ts may be text: the cut is after typing)."""
    return _cut(conform(batch), start, end)


def _cut(t: pa.Table, start: datetime | None, end: datetime | None) -> pa.Table:
    """The rows with start <= ts < end (a null ts is outside any bound)."""
    if start is None and end is None:
        return t
    m = pc.is_valid(t.column("ts"))
    if start is not None:
        m = pc.and_(m, pc.greater_equal(t.column("ts"), pa.scalar(start, pa.timestamp("us"))))
    if end is not None:
        m = pc.and_(m, pc.less(t.column("ts"), pa.scalar(end, pa.timestamp("us"))))
    return t.filter(m)


def scan(datasets: Sequence[ds.Dataset | Source], start: datetime | None, end: datetime | None,
         columns: Sequence[str] | None = None, batch_rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
    """Conformed prediction rows with start <= ts < end, one record batch at a time.

    Read-ahead is one file and one batch, so memory is a few batches whatever the size: on the 100M-row
    fleet's day (4 files of 833k rows, 256k-row groups) two files and four batches held 1.3 GB, this 0.7 GB,
    in the same time (the scan is CPU-bound)."""
    for d in open_all(datasets, start, end):
        expr = _time_filter(d, start, end)
        cols = None if columns is None else [c for c in columns if c in d.schema.names]
        for batch in d.to_batches(filter=expr, columns=cols, batch_size=batch_rows, batch_readahead=1,
                                  fragment_readahead=1):
            if not batch.num_rows:
                continue
            t = window(batch, start, end)
            if t.num_rows:
                yield t


LABEL_SCHEMA = pa.schema([("request_id", pa.string()), ("label", pa.string()), ("label_num", pa.float64()),
                          ("ts", pa.timestamp("us"))])


def read_labels(datasets: Sequence[ds.Dataset | Source], start: datetime | None = None, end: datetime | None = None,
                ids: pa.Array | None = None) -> pa.Table | None:
    """Labels (request_id, label, label_num, ts) as text label and float label_num: those logged in [start, end)
    when given, and with `ids` only those of these request ids. Read one batch at a time, so what is held is what
    matched: a build holds a chunk's labels, not every label ever logged. A label with no time is none, as the
    store sets it aside (`queries/conform_labels.sql`: "missing ts"): a label file without a ts column was read
    whole by the local engine into every chunk, and by the Spark job only when no other label file had a ts (its
    rows then got a null ts, which the job's window left out), so the two engines' quality counts differed and
    neither was the store's."""
    tables = []
    opened = open_all(datasets, start, end)
    for d in opened:
        if "ts" not in d.schema.names:
            continue
        cols = [c for c in ("request_id", "label", "label_num", "ts") if c in d.schema.names]
        expr = _time_filter(d, start, end) if "ts" in cols else None
        for batch in d.to_batches(columns=cols, filter=expr, batch_size=BATCH_ROWS, batch_readahead=1,
                                  fragment_readahead=1):
            if not batch.num_rows:
                continue
            t = _label_rows(pa.Table.from_batches([batch]))
            if ids is not None:
                t = t.filter(pc.is_in(t.column("request_id"), value_set=ids))
            t = _cut(t, start, end) if start is not None or end is not None else t.filter(pc.is_valid(t.column("ts")))
            if t.num_rows:
                tables.append(t)
    if not opened:
        return None
    if not tables:
        return LABEL_SCHEMA.empty_table()
    return pa.concat_tables(tables, promote_options="default")


def newest_label(datasets: Sequence[ds.Dataset | Source], end: datetime | None = None) -> datetime | None:
    """The newest label time before `end` when given (the ts column read alone, a batch at a time); None without
    labels or a ts."""
    best = None
    for d in open_all(datasets):
        if "ts" not in d.schema.names:
            continue
        for batch in d.to_batches(columns=["ts"], batch_size=BATCH_ROWS, batch_readahead=1, fragment_readahead=1):
            if batch.num_rows:
                m = pc.max(_cut(conform_ts(pa.Table.from_batches([batch])), None, end).column("ts")).as_py()
                best = m if best is None or (m is not None and m > best) else best
    return best


def _label_rows(t: pa.Table) -> pa.Table:
    """Labels as `queries/conform_labels.sql` types them: a row with only `label_num` is labelled by the number,
    as text (an integral one without ".0"); and only the rows it keeps: a request id that is not empty, a label
    (or a number), no label that reads as a number not finite (`nan`, `inf`, a `label_num` of NaN). Both engines
    counted those the store sets aside (the set-aside count of `rollup` even named them), so their quality and
    label drift were not the raw path's (the differential probe of 2026-12-06: 3 labels of 67 in one log)."""
    if "label" not in t.column_names:
        t = t.append_column("label", pa.nulls(t.num_rows, pa.string()))
    import polars as pl

    from console.rollup_summarise import text_number

    if "label_num" not in t.column_names:  # the label's text as the store casts it (" 1 " is 1)
        t = t.append_column("label_num", pl.select(text_number(pl.lit(pl.Series(t.column("label")))))
                            .to_series().to_arrow())

    num = pl.Series(t.column("label_num")).cast(pl.Float64, strict=False)
    whole = num.is_finite() & (num == num.floor()) & (num.abs() < 1e15)
    text = pl.select(pl.when(whole).then(num.cast(pl.Int64, strict=False).cast(pl.String))
                     .otherwise(num.cast(pl.String))).to_series()
    label = pc.coalesce(pc.cast(t.column("label"), pa.string()), text.to_arrow().cast(pa.string()))
    t = t.set_column(t.column_names.index("label"), "label", label)
    t = t.set_column(t.column_names.index("label_num"), "label_num", num.to_arrow())
    if "ts" in t.column_names:
        t = conform_ts(t)
    t = t.set_column(t.column_names.index("request_id"), "request_id", pc.cast(t.column("request_id"), pa.string()))
    as_num = pl.select(text_number(pl.lit(pl.Series(label)))).to_series()
    keep = (pl.Series(t.column("request_id")).str.len_bytes().fill_null(0) > 0) & pl.Series(label).is_not_null() \
        & ~(as_num.is_not_null() & ~as_num.is_finite()) & ~(num.is_not_null() & ~num.is_finite())
    t = t.filter(keep.to_arrow())
    return t.select([c for c in ("request_id", "label", "label_num", "ts") if c in t.column_names])


def _to_float(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    if pa.types.is_floating(col.type) or pa.types.is_integer(col.type) or pa.types.is_null(col.type):
        return pc.cast(col, pa.float64(), safe=False)  # a number column as it is: no Polars (the usual latency)
    import polars as pl

    return pl.Series(col).cast(pl.Float64, strict=False).to_arrow()


def conform_ts(t: pa.Table) -> pa.Table:
    """`ts` as the store reads it (`queries/log_instant.sql`): ISO-8601 text or a timestamp, else a number or the
    text of one since the epoch in the unit its magnitude gives; anything else null (the row is then left out)."""
    if t.schema.field("ts").type == pa.timestamp("us"):  # already the contract's type: no Polars to load
        return t                                          # (a Spark worker would import it for nothing)
    import polars as pl

    s = pl.Series(t.column("ts"))
    if s.dtype == pl.String:
        text = s.str.strip_chars()
        number = text.str.contains(_NUMBER).fill_null(False)
        whole = text.str.contains(_WHOLE).fill_null(False)
        epoch = pl.select(pl.when(whole).then(_epoch_whole_us(pl.lit(text).cast(pl.Int64, strict=False)))
                          .otherwise(_epoch_fraction_us(pl.lit(text).cast(pl.Float64, strict=False)))).to_series()
        words = pl.select(pl.when(number).then(None).otherwise(pl.lit(s))).to_series()
        iso = _iso(words)
        iso = iso.fill_null(_written(pl.select(pl.when(iso.is_null()).then(pl.lit(words))).to_series()))
        s = pl.select(pl.when(number).then(pl.lit(epoch).cast(pl.Datetime("us"))).otherwise(pl.lit(iso))).to_series()
    elif s.dtype.is_integer():
        s = pl.select(_epoch_whole_us(pl.lit(s).cast(pl.Int64, strict=False))).to_series()
    elif s.dtype.is_float():
        s = pl.select(_epoch_fraction_us(pl.lit(s))).to_series()
    elif isinstance(s.dtype, pl.Datetime) and s.dtype.time_zone:
        s = s.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    elif not isinstance(s.dtype, (pl.Datetime, pl.Date)):
        s = pl.Series(values=[None] * s.len(), dtype=pl.Datetime("us"))  # a bool, a struct: no time
    s = s.cast(pl.Datetime("us"))
    return t.set_column(t.column_names.index("ts"), "ts", s.to_arrow())


_WHOLE = r"^[+-]?[0-9]+$"  # as queries/log_instant.sql tells a whole number from a fraction


def _epoch_whole_us(i):
    """A whole number since the epoch in microseconds, exactly (`epoch_whole_us` in queries/log_instant.sql)."""
    import polars as pl

    i = pl.when(i == -(1 << 63)).then(None).otherwise(i)  # (its magnitude is no Int64)
    a = i.abs()  # compared as integers: 99999999999999992 is 1e17 as a double
    return (pl.when(a < 10**11).then(i * 1_000_000).when(a < 10**14).then(i * 1000).when(a < 10**17).then(i)
            .otherwise(i // 1000))


def _epoch_fraction_us(f):
    """A number since the epoch in microseconds, to the nearest (`epoch_fraction_us` in queries/log_instant.sql)."""
    import polars as pl

    a = f.abs()
    near = (pl.when(a < 1e11).then(f * 1e6).when(a < 1e14).then(f * 1e3).otherwise(f) + 0.5).floor()
    whole = _epoch_whole_us(pl.when(f.is_finite() & (a >= 1e17)).then(f).cast(pl.Int64, strict=False))
    return (pl.when(~f.is_finite()).then(None).when(a >= 1e17).then(whole)
            .otherwise(near.cast(pl.Int64, strict=False)))


def _iso(s):
    """ISO-8601 text as naive UTC timestamps, null where it is none. Polars infers the form from the first value
    and refuses the column when that one is no time; then only the values that start as a date are parsed."""
    import polars as pl

    nothing = pl.Series(values=[None] * s.len(), dtype=pl.Datetime("us"))
    for text in (s, pl.select(pl.when(pl.lit(s).str.contains(r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}"))
                              .then(pl.lit(s))).to_series()):
        if text.null_count() == text.len():
            return nothing
        try:
            return text.str.to_datetime(time_unit="us", strict=False, time_zone="UTC").dt.replace_time_zone(None)
        except pl.exceptions.ComputeError:
            continue
    return nothing


_COMMA_MILLIS = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]"


_LOWER_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)?$"


def _written(s):
    """The written forms `written_instant` in queries/log_instant.sql reads, as naive UTC: ISO text with a lowercase
    `t` or `z` (RFC 3339 allows them), Python logging's comma before the milliseconds, an access log's
    `30/Nov/2026:10:15:00 +0000`, an HTTP date."""
    import polars as pl

    comma = pl.select(pl.when(pl.lit(s).str.contains(_COMMA_MILLIS))
                      .then(pl.lit(s).str.replace(",", ".", literal=True))).to_series()
    lower = pl.select(pl.when(pl.lit(s).str.strip_chars().str.contains(_LOWER_ISO))
                      .then(pl.lit(s).str.strip_chars().str.to_uppercase())).to_series()
    dated = s.str.strip_chars().str.replace(r"^[A-Za-z]{3}, ", "").str.replace(r" (GMT|UTC)$", " +0000")
    out = _iso(comma).fill_null(_iso(lower))
    for form in ("%d/%b/%Y:%H:%M:%S %z", "%d %b %Y %H:%M:%S %z"):
        got = dated.str.strptime(pl.Datetime("us", "UTC"), form, strict=False).dt.replace_time_zone(None)
        out = out.fill_null(got)
    return out


def days(start: datetime, end: datetime) -> list[date]:
    out, d = [], start.date()
    while datetime.combine(d, datetime.min.time()) < end:
        out.append(d)
        d += timedelta(days=1)
    return out
