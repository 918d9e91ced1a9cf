"""Parquet footers, read once and kept: each file's columns, rows and newest time, per file version.

The store's own files are immutable and read once per process; a Parquet log read in place is known by
inode, size and mtime, and what its footer said is kept across processes (`store/facts.py`), so a relaunch
reads no footer. Kept apart from the Warehouse class: views, counts and ingest all ask these questions.
"""

from __future__ import annotations

import glob
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from console.sources.footers import leaf as footer_leaf
from console.sources.footers import stat_bounds
from console.sql import load_query
from console.store import mapped_parquet
from console.store.facts import ts_text, ts_value
from console.store.on_first_use import pa, pq


# the DuckDB types of the contract's Arrow type names (the skeletons), and back (reading a skeleton's footer)
_DUCK_TYPES = {"timestamp[us]": "TIMESTAMP", "string": "VARCHAR", "double": "DOUBLE", "bool": "BOOLEAN",
               "int64": "BIGINT"}
_ARROW_NAMES = {v: k for k, v in _DUCK_TYPES.items()}
# Arrow's names of the plain types a segment's footer gives (physical type, converted type)
_PARQUET_NAMES = {("INT64", "TIMESTAMP_MICROS"): "timestamp[us]", ("BYTE_ARRAY", "UTF8"): "string",
                  ("DOUBLE", None): "double", ("BOOLEAN", None): "bool", ("INT64", None): "int64"}


EVERY = (None, None)  # the time range of a file that may hold any hour (a ts of text, no statistics)
EMPTY = ("empty", "empty")  # the time range of a file with no rows: it covers no hour


def ts_span(path: str, column: str = "ts") -> tuple:
    """(first, last) ts of a Parquet file by its row groups' statistics of `column`, naive UTC; EVERY without them,
    EMPTY when it holds no row. Statistics are guarantees: no row of the file is outside its span."""
    try:
        meta = pq.read_metadata(path)
    except (OSError, ValueError):
        return EVERY
    schema = meta.schema.to_arrow_schema()
    if schema.get_field_index(column) < 0:
        return EVERY
    leaf = footer_leaf(meta, column)  # (a struct logged before ts moves its statistics' index)
    if leaf < 0:
        return EVERY
    lo = hi = None
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        if group.num_rows == 0:
            continue
        bounds = stat_bounds(group.column(leaf).statistics, schema.field(column).type)
        if bounds is None:
            return EVERY  # a ts of text says nothing about the hours its rows fall in
        a, b = bounds
        lo, hi = a if lo is None else min(lo, a), b if hi is None else max(hi, b)
    return (lo, hi) if lo is not None else EMPTY


def touches(span: tuple, ranges: list[tuple[datetime, datetime]]) -> bool:
    """Whether a file of this span may hold a row in one of the ranges (a, b]."""
    lo, hi = span
    if lo is None:
        return True
    return lo != "empty" and any(lo <= b and hi > a for a, b in ranges)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if b is not None and b.tzinfo is not None:
        b = b.astimezone(UTC).replace(tzinfo=None)
    return b if a is None or (b is not None and b > a) else a


def as_written(path: str) -> str:
    """A file's path as DuckDB reads it as that one file: DuckDB expands `*`, `?` and `[` in a path it reads, so a
    file whose name holds them (`logs[eu]/p.parquet`) read the file `logse/p.parquet` instead (`[[]` is a `[`)."""
    return glob.escape(path) if glob.has_magic(path) else path


class Footers:
    """The Warehouse's reading and keeping of Parquet footers (mixed into it: `self` is the Warehouse)."""

    def keep_footers(self) -> None:
        """Parquet footers are kept in memory once read, so each query of this process binds its views without
        reading every file's footer again (a raw read of one hour was mostly that: 0.1-0.2 s of 0.15-0.2 s at 1M
        rows). For a process that reads one state of the store (a script): DuckDB knows a kept footer by the
        file's modification time, to the second, so a Parquet log rewritten within the second it was read could
        be read with its old footer by a long-lived process (the TUI does not call this)."""
        self._con.execute("SET parquet_metadata_cache = true")

    def _shape(self, files: list[str]) -> tuple:
        """What a union by name of these Parquet files binds to, as far as it can change: each column, in order
        of first appearance, with the types the files give it (from their footers, read once per file)."""
        # a live log's refresh adds a segment to the end of the list: only the new footers' columns are added
        # to what the list before them gave (the whole list cost 3-4 ms a refresh at 25 segments)
        done, known = self._shape_memo.get(files[0] if files else "", ((), {}))
        start = len(done) if tuple(files[:len(done)]) == done else 0
        types = {col: set(ts) for col, ts in known.items()} if start else {}
        for path in files[start:]:
            for col, t in self._schema(path):
                types.setdefault(col, set()).add(t)
        if files:
            self._shape_memo[files[0]] = (tuple(files), types)
        return tuple((col, tuple(sorted(ts))) for col, ts in types.items())

    def _schema(self, path: str, table: pa.Table | None = None) -> tuple:
        """A store file's columns and their types (Arrow's names), from its footer once per process (or from the
        table just written to it: a segment never changes). Read by DuckDB while PyArrow is not imported yet (a
        skeleton, and segments whose types are the plain ones DuckDB and Arrow name alike): opening the store then
        imports no PyArrow, and a command answered from what the store keeps costs no 0.15 s of import. Else, and
        for any other type, by PyArrow."""
        key = ("schema", path)
        if key not in self._parquet_meta or table is not None:
            if table is not None:
                schema = tuple((f.name, str(f.type)) for f in table.schema)
            else:
                duck = Path(path).name.startswith("skeleton-") or "pyarrow.parquet" not in sys.modules
                schema = self._duck_schema(path) if duck else None
                schema = schema or tuple((f.name, str(f.type)) for f in pq.read_schema(path))
            self._parquet_meta[key] = schema
        return self._parquet_meta[key]

    def _duck_schema(self, path: str) -> tuple | None:
        """A file's columns by DuckDB, with Arrow's names for its types; None if one is not a contract type."""
        columns = self._footer_columns(path)
        if isinstance(columns, str) or not all(t in _ARROW_NAMES for t in columns.values()):
            return None
        return tuple((name, _ARROW_NAMES[t]) for name, t in columns.items())

    def _meta(self, name: str, path: str | list[str], **braced: str) -> list[tuple]:
        """A footer query on one file (or a list), on a cursor of its own (not `cursor()`: no lake, no view);
        `braced` fills the query's braced names (a column)."""
        query = load_query(name).format(**braced) if braced else load_query(name)
        cur = self._con.cursor()
        try:
            files = [str(path)] if isinstance(path, str) else path
            return cur.execute(query, {"files": [as_written(p) for p in files]}).fetchall()
        finally:
            cur.close()

    def _footer_columns(self, path: str) -> dict[str, str] | str:
        """A Parquet file's columns and the types DuckDB reads them as, or why it cannot be read (per version)."""
        try:
            st = os.stat(path)
        except OSError as exc:
            return exc.strerror or str(exc)
        key = ("columns", path, st.st_size, st.st_mtime_ns, st.st_ino)
        if key not in self._parquet_meta:
            known = self._footer_fact(path, "columns")
            if isinstance(known, dict):
                self._parquet_meta[key] = known
            else:
                try:
                    self._parquet_meta[key] = {row[0]: row[1] for row in self._meta("parquet_columns", path)}
                    self._footer_learnt(path, columns=self._parquet_meta[key])
                except duckdb.Error as exc:
                    self._parquet_meta[key] = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return self._parquet_meta[key]

    def _footer_fact(self, path: str, name: str):
        """What an earlier process read in a Parquet log's footer (its columns, rows, newest ts by the statistics),
        while the file is the same version (inode, size, mtime), or None. A relaunch then reads no footer (at 10M
        rows 17 small queries, a tenth of the first look's CPU; one per file per fact on a month of hourly files)."""
        if path.startswith(str(self.dir)):
            return None  # the store's own files: immutable, read once per process
        entry = self._facts.get(f"footer|{os.path.abspath(path)}", path)
        return entry.get(name) if entry is not None else None

    def _footer_learnt(self, path: str, **facts) -> None:
        if path.startswith(str(self.dir)):
            return
        key = f"footer|{os.path.abspath(path)}"
        entry = self._facts.get(key, path) or {}
        self._facts.put(key, path, **{**{k: v for k, v in entry.items() if k != "version"}, **facts})

    def _file_rows(self, paths: list[str]) -> dict[str, int]:
        """Row counts of several Parquet files from one footer query; {} if one of them cannot be read (each is
        then read on its own)."""
        try:
            return {name: int(n or 0) for name, n in self._meta("parquet_rows", paths)}
        except duckdb.Error:
            return {}

    def _parquet_check(self, path: str) -> int | str:
        try:
            st = os.stat(path)
        except OSError as exc:
            return exc.strerror or str(exc)
        key = (path, st.st_size, st.st_mtime_ns, st.st_ino)
        if key not in self._parquet_meta:  # (DuckDB reads the footer: opening the store imports no PyArrow)
            columns = self._footer_columns(path)
            known = self._footer_fact(path, "rows")
            try:
                self._parquet_meta[key] = columns if isinstance(columns, str) else \
                    known if isinstance(known, int) else \
                    self._rows_read.get(path) if path in self._rows_read else \
                    int(self._meta("parquet_rows", path)[0][1] or 0)
                if not isinstance(columns, str) and not isinstance(known, int):
                    self._footer_learnt(path, rows=self._parquet_meta[key])
            except duckdb.Error as exc:
                self._parquet_meta[key] = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return self._parquet_meta[key]

    def _unchecked(self, path: str) -> bool:
        """Whether `_parquet_check` has not seen this version of a file yet."""
        try:
            st = os.stat(path)
        except OSError:
            return False
        return (path, st.st_size, st.st_mtime_ns, st.st_ino) not in self._parquet_meta

    def _ts_typed(self, path: str) -> bool:
        """Whether a Parquet log's ts is a timestamp without a zone in s, ms or us: the conform cast is then
        the identity (the session is in UTC). Zoned and nanosecond timestamps take the casting view."""
        st = os.stat(path)
        key = ("ts-typed", path, st.st_size, st.st_mtime_ns, st.st_ino)
        if key not in self._parquet_meta:  # (what DuckDB reads s, ms and us zone-less timestamps as)
            columns = self._read_columns(path)
            self._parquet_meta[key] = not isinstance(columns, str) and columns.get("ts") == "TIMESTAMP"
        return bool(self._parquet_meta[key])

    def _footer_newest(self, path: str) -> datetime | None:
        """A Parquet log's newest ts by its row groups' statistics (refused rows included), per file version."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = ("footer-newest", path, st.st_size, st.st_mtime_ns, st.st_ino)
        if key not in self._parquet_meta:
            fact = self._ts_fact(path, "stats_newest")
            known = self._footer_fact(path, fact)
            if isinstance(known, list):  # [the time, or None]
                self._parquet_meta[key] = ts_value(known[0])
            else:
                self._parquet_meta[key] = self._stats_newest(path)
                self._footer_learnt(path, **{fact: [ts_text(self._parquet_meta[key])]})
        return self._parquet_meta[key]

    def file_span(self, path: str) -> tuple:
        """A Parquet file's ts span (`ts_span`), per file version: a log read in place keeps it across processes
        (`store/facts.py`), so a new process learns which files can hold an hour without opening any; the
        store's own files are immutable and read once per process. What an edge read binds is narrowed by it
        (`Views._narrowed`), and the rollups' catch-up keys its record on it (`rollup_changes`)."""
        mine = path.startswith(str(self.dir))
        if mine:
            key = ("span", path)
        else:
            try:
                st = os.stat(path)
            except OSError:
                return EVERY
            key = ("span", path, st.st_size, st.st_mtime_ns, st.st_ino)
        if key not in self._parquet_meta and mine and "pyarrow.parquet" not in sys.modules:
            self.read_segment_footers([os.path.relpath(path, self.dir)])  # (as `_schema`: no import for a kept answer)
        if key not in self._parquet_meta:
            fact = self._ts_fact(path, "ts_span")
            known = None if mine else self._footer_fact(path, fact)
            if isinstance(known, list) and len(known) == 2:
                span = tuple(x if x in (None, "empty") else ts_value(x) for x in known)
            else:
                column = mapped_parquet.ts_column(self._mapped.get(path, ()))
                span = ts_span(path, column) if column else EVERY
                self._footer_learnt(path, **{fact: [x if x in (None, "empty") else ts_text(x) for x in span]})
            self._parquet_meta[key] = span
        return self._parquet_meta[key]

    def read_segment_footers(self, names: list[str]) -> None:
        """The columns, rows, ts span and newest ts of the store's own segments (manifest names) not read yet by this
        process, from two queries over all their footers (`queries/segment_footers.sql`): a kept answer over a store
        of 40 segments spent 0.15-0.2 s on a query or three per segment. What they cannot tell is read file by file."""
        by_path = {str(self.dir / n): n for n in names}
        todo = [p for p in by_path if ("schema", p) not in self._parquet_meta or ("span", p) not in self._parquet_meta]
        if not todo:
            return
        try:
            fields = self._meta("segment_footers", todo)
            groups = self._meta("segment_spans", todo)
        except duckdb.Error:
            return
        columns: dict[str, list] = {}
        for file, name, ptype, converted, _ in fields:
            if file not in columns:  # a file's first row is its root
                columns[file] = []
                continue
            columns[file].append((name, _PARQUET_NAMES.get((ptype, converted))))  # (a nested group: None)
        for file, cols in columns.items():
            if cols and all(arrow is not None for _, arrow in cols):  # (a table just written may have said it already)
                self._parquet_meta.setdefault(("schema", file), tuple(cols))
        spans: dict[str, list] = {}
        for file, lo, hi, n in groups:
            spans.setdefault(file, []).append((lo, hi, n))
        for file in todo:
            got = [(lo, hi) for lo, hi, n in spans.get(file, []) if n]
            if file not in spans or any(lo is None or hi is None for lo, hi in got):
                continue
            try:
                span = (min(ts_value(lo) for lo, _ in got), max(ts_value(hi) for _, hi in got)) if got else EMPTY
            except (TypeError, ValueError):
                continue
            self._parquet_meta[("span", file)] = span
            self._parquet_meta[("segment-newest", by_path[file])] = span[1] if got else None
            self._parquet_meta[("segment", by_path[file])] = sum(n for _, _, n in spans[file])

    def _readable(self, m):
        """`m` without the segments it names whose footer cannot be read (cut short, removed by hand), which are
        said in its `damaged`: a reader shows the rest, and the writer reads the logs again (`Ingest._refresh`)."""
        names = [n for names in m.segments.values() for n in names]
        self.read_segment_footers(names)
        bad: dict[str, str] = {}
        for n in names:
            try:
                self._schema(str(self.dir / n))
            except FileNotFoundError:
                bad[n] = "missing"
            except (OSError, ValueError):  # (pyarrow's ArrowInvalid is a ValueError)
                bad[n] = "not a whole Parquet file"
        if not bad:
            return m
        import dataclasses

        out = dataclasses.replace(m, segments={k: [n for n in v if n not in bad] for k, v in m.segments.items()})
        listed = ", ".join(f"{n} ({why})" for n, why in list(bad.items())[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        out.damaged = f"the store's segment{'s' if len(bad) > 1 else ''} {listed}{more} cannot be read"
        return out

    def _segment_newest(self, name: str) -> datetime | None:
        key = ("segment-newest", name)
        if key not in self._parquet_meta:
            self._parquet_meta[key] = self._stats_newest(str(self.dir / name))
        return self._parquet_meta[key]

    def _stats_newest(self, path: str) -> datetime | None:
        """The newest ts of a Parquet file by its row groups' statistics (DuckDB reads no row when they are
        there); None when ts is not a timestamp (a ts of text says nothing) or the file cannot be read."""
        columns = self._read_columns(path)
        column = mapped_parquet.ts_column(self._mapped.get(path, ()))
        if isinstance(columns, str) or not column or not str(columns.get("ts", "")).startswith("TIMESTAMP"):
            return None
        try:
            return _later(None, self._meta("parquet_newest", path, ts=mapped_parquet.quoted(column))[0][0])
        except duckdb.Error:
            return None

    def _ts_fact(self, path: str, name: str) -> str:
        """The name a ts fact of a file is kept under: its log's ts column's when the log maps its own."""
        column = mapped_parquet.ts_column(self._mapped.get(path, ()))
        return name if column == "ts" else f"{name}|{column}"

    def _known_types(self, kind: str) -> dict[str, set[str]]:
        """The columns this kind's committed segments hold, each with the types it was written as (from their
        footers, once per process: the views have read them already)."""
        if kind not in self._columns:
            types: dict[str, set[str]] = {}
            for name in self.manifest.segments.get(kind, []):
                for c, t in self._schema(str(self.dir / name)):
                    types.setdefault(c, set()).add(t)
            self._columns[kind] = types
        return self._columns[kind]

    def _known_columns(self, kind: str) -> set[str]:
        return set(self._known_types(kind))
