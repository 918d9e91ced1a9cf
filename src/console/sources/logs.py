"""Finding log files and reading only what was appended since the last look.

Every format ends up as the same shape, a batch of rows as JSON object text (`raw`) with where each
came from (`source`, `loc`), so one set of SQL typing rules in `queries/` decides what is valid.
The cursor is per file: a byte offset for JSONL and CSV, a row count for Parquet. A file that
shrank was rotated or truncated and is read again from the start.
"""

from __future__ import annotations

import glob
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from console.config import LogSource
from console.arrow_values import keep_pandas_out

keep_pandas_out()  # pyarrow's pandas shim must not import pandas for us (console.arrow_values)

_EXT = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass
class Cursor:
    offset: int = 0  # bytes (jsonl, csv) or rows (parquet)
    line_no: int = 0  # lines or rows consumed, for locating bad rows
    size: int = 0
    mtime_ns: int = 0
    header: bytes | None = None  # a CSV file's header line, kept for its later chunks
    pending_size: int = -1  # file size when an unterminated last line was first seen


@dataclass
class Batch:
    """New rows of one kind from one file: `raw` JSON text per row; `rejected` rows the reader itself could not split."""

    kind: str
    source: str
    table: pa.Table  # columns raw (string), loc (int64), source (string)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (loc, reason, raw)


def format_of(path: str, declared: str | None) -> str | None:
    return declared or _EXT.get(Path(path).suffix.lower())


def expand(source: LogSource) -> list[str]:
    if glob.has_magic(source.path):
        return sorted(glob.glob(source.path))
    return [source.path] if os.path.exists(source.path) else []


class LogReader:
    """Incremental reader over the configured log sources; not thread-safe (the warehouse serialises it)."""

    def __init__(self, sources: tuple[LogSource, ...]):
        self.sources = sources
        self.cursors: dict[str, Cursor] = {}
        self.missing: list[str] = []

    def iter_new(self) -> Iterator[Batch]:
        """New rows batch by batch, so a large backlog is ingested in bounded memory."""
        self.missing = []
        for source in self.sources:
            paths = expand(source)
            if not paths:
                self.missing.append(source.path)
            for path in paths:
                fmt = format_of(path, source.format)
                if fmt is None:
                    yield Batch(source.kind, path, _empty(), [(0, "unknown file format (expected .jsonl, .csv or .parquet)", "")])
                    continue
                if fmt == "parquet":
                    yield from self._read_parquet(source.kind, path)
                    continue
                batch = self._read_file(source.kind, path, fmt)
                if batch is not None:
                    yield batch

    def _read_file(self, kind: str, path: str, fmt: str) -> Batch | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        cur = self.cursors.setdefault(path, Cursor())
        if st.st_size == cur.size and st.st_mtime_ns == cur.mtime_ns and cur.pending_size < 0:
            return None
        if st.st_size < cur.offset:  # rotated or truncated: start over
            self.cursors[path] = cur = Cursor()
        with open(path, "rb") as fh:
            fh.seek(cur.offset)
            data = fh.read(st.st_size - cur.offset)
        cur.size, cur.mtime_ns = st.st_size, st.st_mtime_ns
        if fmt == "csv":
            return self._csv_batch(kind, path, cur, data)
        return self._jsonl_batch(kind, path, cur, data)

    def _take_body(self, cur: Cursor, data: bytes) -> tuple[bytes, list[tuple[int, str, str]]]:
        """Complete lines from `data`; an unterminated last line waits one refresh for its writer, then is set aside."""
        rejected: list[tuple[int, str, str]] = []
        end = data.rfind(b"\n") + 1
        body, tail = data[:end], data[end:]
        consumed = len(body)
        if tail:
            if cur.pending_size == cur.offset + len(data):  # unchanged since last look: the writer is gone
                rejected.append((cur.line_no + body.count(b"\n") + 1, "truncated last line (no newline)", _text(tail)))
                consumed += len(tail)
                cur.pending_size = -1
            else:
                cur.pending_size = cur.offset + len(data)
        else:
            cur.pending_size = -1
        cur.offset += consumed
        return body, rejected

    def _take_lines(self, cur: Cursor, data: bytes) -> tuple[list[bytes], list[tuple[int, str, str]]]:
        body, rejected = self._take_body(cur, data)
        return (body.split(b"\n")[:-1] if body else []), rejected

    def _jsonl_batch(self, kind: str, path: str, cur: Cursor, data: bytes) -> Batch:
        """Splits lines in Arrow, not Python: a million lines take milliseconds, not seconds."""
        import numpy as np
        import pyarrow.compute as pc

        first = cur.line_no
        body, rejected = self._take_body(cur, data)
        if not body:
            cur.line_no += len(rejected)
            return Batch(kind, path, _empty(), rejected)
        blob = pa.array([body[:-1]], pa.large_binary())
        try:
            text = blob.cast(pa.large_string())
        except pa.ArrowInvalid:  # invalid UTF-8 somewhere: replace the bad bytes
            text = pa.array([body[:-1].decode("utf-8", errors="replace")], pa.large_string())
        raws = pc.split_pattern(text, "\n").flatten()
        n = len(raws)
        cur.line_no += n + len(rejected)
        locs = pa.array(np.arange(first + 1, first + 1 + n, dtype=np.int64))
        keep = pc.not_equal(raws, "")  # blank lines are not rows; whitespace-only ones fail as invalid JSON
        table = pa.table({"raw": raws.cast(pa.string()), "loc": locs,
                          "source": pa.repeat(pa.scalar(path, pa.string()), n)})
        return Batch(kind, path, table.filter(keep), rejected)

    def _csv_batch(self, kind: str, path: str, cur: Cursor, data: bytes) -> Batch:
        import pyarrow.csv as pacsv

        start = cur.line_no
        lines, rejected = self._take_lines(cur, data)
        took_header = cur.header is None and bool(lines)
        if took_header:
            cur.header, lines = lines[0], lines[1:]
        first = start + 1 + took_header  # file line number of lines[0]
        cur.line_no = start + took_header + len(lines) + len(rejected)
        numbered = [(first + i, line) for i, line in enumerate(lines) if line.strip()]
        if not numbered or cur.header is None:
            return Batch(kind, path, _empty(), rejected)
        bad: list[tuple[int, str, str]] = []

        def on_invalid(row) -> str:
            loc = numbered[row.number - 2][0] if row.number else 0
            bad.append((loc, f"CSV row has {row.actual_columns} fields, expected {row.expected_columns}", row.text or ""))
            return "skip"

        try:
            names = pacsv.read_csv(io.BytesIO(cur.header + b"\n")).column_names
            table = pacsv.read_csv(
                io.BytesIO(cur.header + b"\n" + b"\n".join(line for _, line in numbered) + b"\n"),
                read_options=pacsv.ReadOptions(use_threads=False),
                parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in names},
                                                     strings_can_be_null=True),
            )
        except pa.ArrowInvalid as exc:
            rejected.append((first, f"CSV could not be parsed: {exc}", ""))
            return Batch(kind, path, _empty(), rejected)
        bad_locs = {loc for loc, _, _ in bad}
        locs = [loc for loc, _ in numbered if loc not in bad_locs]
        return Batch(kind, path, _rows_as_json(table, locs, path), rejected + bad)

    def _read_parquet(self, kind: str, path: str, batch_rows: int = 250_000) -> Iterator[Batch]:
        import pyarrow.parquet as pq

        try:
            st = os.stat(path)
        except OSError:
            return
        cur = self.cursors.setdefault(path, Cursor())
        if st.st_size == cur.size and st.st_mtime_ns == cur.mtime_ns:
            return
        cur.size, cur.mtime_ns = st.st_size, st.st_mtime_ns
        try:
            pf = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            yield Batch(kind, path, _empty(), [(0, f"unreadable Parquet file: {exc}", "")])
            return
        total = pf.metadata.num_rows
        if total < cur.offset:  # rewritten smaller: start over
            cur.offset = cur.line_no = 0
        seen = 0
        for rb in pf.iter_batches(batch_size=batch_rows):
            start, seen = seen, seen + rb.num_rows
            if seen <= cur.offset:
                continue
            part = pa.Table.from_batches([rb]).slice(max(0, cur.offset - start))
            first = max(start, cur.offset)
            locs = list(range(first + 1, first + 1 + part.num_rows))
            cur.offset = cur.line_no = seen
            yield Batch(kind, path, _rows_as_json(part, locs, path))


def _text(b: bytes, limit: int = 500) -> str:
    return b[:limit].decode("utf-8", errors="replace")


def _empty() -> pa.Table:
    return _table([], [], "")


def _table(raws: list[str], locs: list[int], source: str) -> pa.Table:
    return pa.table({
        "raw": pa.array(raws, pa.string()),
        "loc": pa.array(locs, pa.int64()),
        "source": pa.array([source] * len(raws), pa.string()),
    })


def _rows_as_json(table: pa.Table, locs: list[int], source: str) -> pa.Table:
    """Typed columns (Parquet, CSV) become JSON object text, so one set of typing rules applies to all formats."""
    import duckdb

    from console.sql import load_query

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        con.register("chunk", table)
        raws = [r[0] for r in con.execute(load_query("rows_as_json")).fetchall()]
    finally:
        con.close()
    return _table(raws, locs[: len(raws)], source)
