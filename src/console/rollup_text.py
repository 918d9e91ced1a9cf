"""JSONL and CSV logs read for the rollup job exactly as the store reads them, so a bad row costs only itself.

Arrow's dataset readers refuse a whole file for one bad byte, broken quote or short row ("Could not open JSON
input source ... Invalid encoding in string"), and `mlops-console rollup` exited 2 where the console's store kept
every other row. Here a file is read by the store's own path: `sources.files.Tailer` for complete lines (the BOM,
CSV records holding line breaks, an unterminated last line decided as the store decides it) and `store.parse`
for the rows, which sets a bad row aside with its line and reason. An `s3://` object is read as the store's
refresh reads one: whole (it is written once and complete), through `store.parse.whole_object` and the same
parsers. What was set aside is kept per process (`set_aside`), by file and line, so the several scans of one
build count each bad row once.

A `TextDataset` offers what the rollup reads of a pyarrow dataset (`schema`, `to_batches`, `get_fragments`);
its fragments are `TextFile`s, small and picklable, so a Spark task parses its own files as the local engine
does. Files are pruned on their Hive day folders when the dataset is opened for a window; the exact cut on `ts`
is made after typing (`rollup_sources.window`), so `to_batches` takes no filter.

A row is parsed once per build (`parsed_once`): one build scans its sources about nine times (the rows' time span,
each day's chunk, the labels' request ids, the rows left past its end), and each scan of a text log parsed it
again (a 1M-row, 548 MB JSONL log: 143 s). Within `parsed_once` a file's first read keeps each parsed piece as an
uncompressed Arrow IPC file in a temporary folder (writing one costs ~2% of parsing it; reading a few columns of
it back, memory-mapped, next to nothing), with the span of its `ts` as the scan types it, so a later scan reads
the kept pieces whose span meets its window and parses nothing. The folder holds about 0.6 times the text's size
while the build runs and is removed after it; a file that changed since (size, mtime) is parsed again.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa

from console import process_temp
from console.sources import compressed
from console.sources.line_ends import lone_cr_as_lf
from console.sources.lakes import ISO_DAY

PIECE_BYTES = 32 << 20  # bytes of complete lines parsed at once: memory follows the piece, not the file
SAMPLE_BYTES = 1 << 20  # bytes of a file's first lines its schema is read from (Arrow's JSON reader: one block)
_PROVENANCE = ("source", "loc")
_lock = threading.Lock()
_set_aside: dict[str, dict[int, str]] = {}  # file -> line -> reason


def set_aside() -> dict[str, int]:
    """The rows set aside by the text files read since `forget`, counted by reason."""
    out: dict[str, int] = {}
    with _lock:
        for lines in _set_aside.values():
            for reason in lines.values():
                out[reason] = out.get(reason, 0) + 1
    return out


def forget() -> None:
    with _lock:
        _set_aside.clear()


def _note(path: str, rejected) -> None:
    if rejected:
        with _lock:
            mine = _set_aside.setdefault(path, {})
            for r in rejected:
                mine[r.loc] = r.reason


@dataclass(frozen=True)
class _Piece:
    """One parsed piece of a text file, kept as an Arrow IPC file; `lo`/`hi` bound the `ts` the scan types from it
    (None, None: it has no valid ts, so no window holds a row of it); `timed` False: it has no ts column."""

    path: str
    lo: datetime | None
    hi: datetime | None
    timed: bool

    def meets(self, start: datetime | None, end: datetime | None) -> bool:
        if not self.timed:
            return True
        if self.lo is None:
            return False  # every ts null: the cut keeps none of its rows
        return (start is None or self.hi >= start) and (end is None or self.lo < end)


class _Spool:
    """The pieces of the text files parsed since `parsed_once` began, by file and the file's identity then."""

    def __init__(self, folder: str):
        self.folder = folder
        self.files: dict[tuple, tuple[tuple, list[_Piece]]] = {}
        self.count = 0
        self.broken = False  # a piece could not be written (a full disk): files are parsed on each read, as before

    def name(self) -> str:
        with _lock:
            self.count += 1
            return os.path.join(self.folder, f"{self.count}.arrow")


_spool: _Spool | None = None


SPOOL_PREFIX = "mlops-console-rollup-"  # + pid: a killed build's folder is removed by the next (`process_temp`)


@contextmanager
def parsed_once():
    """Within it, each text file is parsed once and its pieces read back from a temporary folder (see the module)."""
    global _spool
    folder = process_temp.make(SPOOL_PREFIX)
    before, _spool = _spool, _Spool(folder)
    try:
        yield
    finally:
        _spool = before
        shutil.rmtree(folder, ignore_errors=True)


def _span(t: pa.Table) -> tuple[datetime | None, datetime | None, bool]:
    """The oldest and newest `ts` of a piece typed as the scan types it: per batch of the scan's size, since a
    text column's format is inferred per batch (`rollup_sources.conform_ts`)."""
    import pyarrow.compute as pc

    from console.rollup_sources import BATCH_ROWS, conform_ts

    if "ts" not in t.column_names:
        return None, None, False
    lo = hi = None
    for b in t.select(["ts"]).to_batches(BATCH_ROWS):
        a, z = (x.as_py() for x in pc.min_max(conform_ts(pa.Table.from_batches([b])).column("ts")).values())
        lo = a if lo is None or (a is not None and a < lo) else lo
        hi = z if hi is None or (z is not None and z > hi) else hi
    return lo, hi, True


def _keep(spool: _Spool, t: pa.Table) -> _Piece | None:
    """A piece written to the spool, or None when it cannot be (the spool is then given up)."""
    path = spool.name()
    try:
        with pa.OSFile(path, "wb") as f, pa.ipc.new_file(f, t.schema) as w:
            w.write_table(t)
    except (OSError, pa.ArrowException):
        spool.broken = True
        return None
    return _Piece(path, *_span(t))


def _kept(path: str) -> pa.Table:
    with pa.memory_map(path) as m:
        return pa.ipc.open_file(m).read_all()


def _key_value(v: str) -> int | str:
    """A Hive folder's value typed as Arrow's partition discovery types it: digits as a number, else text."""
    return int(v) if v.isdigit() else v


@dataclass(frozen=True)
class TextFile:
    """One JSONL (`kind` "json") or CSV file, with the Hive folder values its path carries: a local file, or an
    `s3://` object as listed (`size`, `etag`: the version read) with the `[storage.s3]` settings that reach it."""

    path: str
    kind: str
    keys: tuple[tuple[str, int | str], ...] = ()
    size: int = -1
    etag: str | None = None
    storage: dict | None = field(default=None, hash=False, compare=False, repr=False)
    fields: tuple[tuple[str, str], ...] = ()  # the log's own names for contract fields (`[logs.fields]`)
    rules: str | None = None  # the log's kind: its rows the contract's rules set aside are noted too (`refused`)

    @property
    def remote(self) -> bool:
        from console.sources.locations import S3_SCHEMES

        return self.path.startswith(S3_SCHEMES)

    def read(self, start: datetime | None = None, end: datetime | None = None) -> Iterator[pa.Table]:
        """The file's good rows, a piece at a time, or the pieces that can hold rows of [start, end) (the cut itself is
        the caller's): within `parsed_once` from the pieces the file's first read kept, else parsed (`tables`)."""
        spool = _spool
        if spool is None:
            yield from self.tables()
            return
        key, ident = (self.path, self.kind, self.keys, self.fields), self._identity()
        with _lock:
            got = spool.files.get(key)
        if got is not None and got[0] == ident:
            for piece in got[1]:
                if piece.meets(start, end):
                    yield _kept(piece.path)
            return
        pieces: list[_Piece] = []
        for t in self.tables():
            piece = None if spool.broken else _keep(spool, t)
            if piece is not None:
                pieces.append(piece)
                if not piece.meets(start, end):
                    continue
            yield t
        if not spool.broken:  # read whole, every piece kept: the build's later scans read them
            with _lock:
                spool.files[key] = (ident, pieces)

    def _identity(self) -> tuple:
        if self.remote:
            return self.size, self.etag
        try:
            st = os.stat(self.path)
        except OSError:
            return ()
        return st.st_size, st.st_mtime_ns

    def tables(self, piece_bytes: int | None = None) -> Iterator[pa.Table]:
        """The file's good rows, a piece of `piece_bytes` (default PIECE_BYTES) at a time, parsed; bad rows are
        noted in `set_aside`."""
        from console.sources.contract import Rejected

        if self.remote:
            yield from self._object()
            return
        for chunk in self._tailer({}, piece_bytes).scan([self.path]):
            tables, rej = self._parsed(chunk, checked=True)
            _note(self.path, [Rejected(*r) for r in chunk.rejected] + rej)
            yield from tables

    def appended(self, offset: int) -> Iterator[pa.Table] | None:
        """The good rows of a local, uncompressed file from the line holding byte `offset` on: the rows appended
        since it held `offset` bytes (a row cut there read whole), for `rollup_changes` to rebuild only their hours.
        None when that cannot be told: a row of the tail is bad (a CSV record cut inside a quoted line break looks
        so), or the file cannot be read. Nothing is noted in `set_aside`: the build's own read of the file notes it."""
        from console.sources.files import FileCursor, _fingerprint, key_of

        if self.remote or compressed.named(self.path):
            return None
        try:
            st = os.stat(self.path)
            start = _line_start(self.path, offset, lone_cr=self.kind != "csv")
            header = _first_line(self.path) if self.kind == "csv" else None
            fp_len = min(1024, st.st_size)
            cursor = FileCursor(self.path, st.st_dev, st.st_ino, fp_len, _fingerprint(self.path, fp_len), start,
                                0, header=header)
        except OSError:
            return None
        out = []
        for chunk in self._tailer({key_of(st.st_dev, st.st_ino): cursor}).scan([self.path]):
            if chunk.rejected or (chunk.start_of_file and start):  # a bad line, or read again from the start
                return None
            tables, rej = self._parsed(chunk, header)
            if rej:
                return None
            out += tables
        return iter(out)

    def _tailer(self, state: dict, piece_bytes: int | None = None):
        """The store's Tailer over this file from `state` (its cursors), complete lines only, as the store reads."""
        from console.sources.files import Tailer
        from console.store import parse

        csv = self.kind == "csv"
        return Tailer(state, csv_headers=csv, max_chunk_bytes=piece_bytes or PIECE_BYTES,
                      complete_tail=None if csv else parse.whole_json_row)

    def _parsed(self, chunk, header: str | None = None, checked: bool = False) -> tuple[list[pa.Table], list]:
        """A Tailer chunk's good rows (Hive keys added, provenance dropped) and its bad rows, by the store's parsers;
        `header`: a CSV header when the chunk has none (a read that starts past it); `checked`: the bad rows include
        those the contract's rules set aside (`refused`)."""
        from console.store import parse

        body = parse.strip_bom(chunk.body)[0] if chunk.start_of_file else chunk.body
        if self.kind == "csv":
            tables, rej = parse.csv_lines(body, header=chunk.header or header or "", source=self.path,
                                          first_line=chunk.first_line, fields=self.fields)
        else:
            tables, rej = parse.jsonl(body, source=self.path, first_line=chunk.first_line,
                                      lines=chunk.lines if chunk.lines >= 0 else None, fields=self.fields)
        if checked:
            rej = list(rej) + refused(self.rules, tables, self.fields)
        return [self._keyed(t.drop_columns([c for c in _PROVENANCE if c in t.column_names])) for t in tables], list(rej)

    def _object(self) -> Iterator[pa.Table]:
        """An S3 object's good rows: read whole and parsed as the store's refresh reads one (`parse.whole_object`)."""
        from console.sources import locations
        from console.store import parse

        csv = self.kind == "csv"
        body = locations.open_range(self.path, 0, self.size, self.storage, etag=self.etag) if self.size else b""
        body, header, first, lost = parse.whole_object(body, csv)
        if csv:
            tables, rej = parse.csv_lines(body, header=header or "", source=self.path, first_line=first,
                                          fields=self.fields)
        else:
            tables, rej = parse.jsonl(body, source=self.path, first_line=first, fields=self.fields)
        del body
        _note(self.path, lost + list(rej) + refused(self.rules, tables, self.fields))
        for t in tables:
            yield self._keyed(t.drop_columns([c for c in _PROVENANCE if c in t.column_names]))

    def _head(self) -> bytes:
        if self.remote:
            from console.sources import locations

            # (a gzip object's first bytes decompress as far as they go: its sample)
            return compressed.inflate(locations.open_range(self.path, 0, min(self.size, SAMPLE_BYTES), self.storage,
                                                        etag=self.etag), SAMPLE_BYTES)[0] if self.size else b""
        if compressed.named(self.path):
            return compressed.head(self.path, SAMPLE_BYTES)[0]
        with open(self.path, "rb") as f:
            return f.read(SAMPLE_BYTES)

    def sample(self) -> pa.Schema | None:
        """The schema of the file's first lines (none of them noted as set aside: the full read notes them)."""
        from console.store import parse

        head, _ = parse.strip_bom(self._head())
        if self.kind == "csv":
            header, _, head = head.partition(b"\n")
            head = head[:head.rfind(b"\n") + 1]
            tables, _ = parse.csv_lines(head, header=header.decode("utf-8", "replace").rstrip("\r"), source=self.path,
                                        first_line=2, fields=self.fields)
        else:
            head = lone_cr_as_lf(head)  # (as the Tailer reads the file)
            head = head[:head.rfind(b"\n") + 1] or (head + b"\n" if parse.whole_json_row(head) else b"")
            tables, _ = parse.jsonl(head, source=self.path, first_line=1, fields=self.fields)
        if not tables:
            return None
        t, _ = parse.unify(tables)
        return self._keyed(t.drop_columns([c for c in _PROVENANCE if c in t.column_names]).slice(0, 0)).schema

    def _keyed(self, t: pa.Table) -> pa.Table:
        """The Hive folder values as columns, and string views (the parser's fast JSONL path) as plain strings:
        pyarrow's compute functions the rollup filters with have no kernels for views."""
        for i, f in enumerate(t.schema):
            plain = pa.string() if pa.types.is_string_view(f.type) else \
                pa.binary() if pa.types.is_binary_view(f.type) else None
            if plain is not None:
                t = t.set_column(i, f.name, t.column(i).cast(plain))
        for k, v in self.keys:
            if k not in t.column_names:
                t = t.append_column(k, pa.array([v] * t.num_rows, pa.int64() if isinstance(v, int) else pa.string()))
        return t


def refused(rules: str | None, tables: Sequence[pa.Table], fields: Sequence[tuple[str, str]] = ()) -> list:
    """The rows of parsed pieces (provenance still on) that the contract's rules set aside, as the store's ingest
    finds them (`queries/conform_<rules>.sql`, reasons naming the log's own columns), for `set_aside`: the build's
    scans drop them (`rollup_sources.conform`), and its summary counted only the rows the parser refused (a row
    with no request_id or a negative latency was in neither). Clock skew is left out: the build counts it apart
    (`rows_left`). None for a log of no known kind (a plain path) or deployments, which the build does not read."""
    from console.sources import field_names
    from console.sources.contract import Rejected

    if rules not in ("predictions", "labels") or not tables:
        return []
    from console.store import conform_plain

    never = datetime(9999, 12, 31)
    # the rules read the contract's fields alone (`queries/skeletons.sql`): a piece cut to them is judged alike, and
    # without its features it can be the plainest case, every row kept provably, which needs no query (a clean log
    # then opens no connection at all; with 25 features every piece ran the query: a tenth of a JSONL rollup)
    tables = [t.select([c for c in t.column_names if c in _rule_columns(rules)]) for t in tables]
    todo = [t for t in tables if t.num_rows and not (rules == "predictions"
                                                      and conform_plain.predictions(t, never) is not None)]
    if not todo:
        return []
    import duckdb

    from console.sql import load_query

    out: list = []
    con = duckdb.connect()
    try:
        con.execute(load_query("skeletons"))  # every contract field, and how a log's ts reads, as the store's
        con.execute(load_query("log_instant"))
        for t in todo:
            con.register("chunk", t)
            sql = load_query(f"conform_{rules}")
            con.execute(sql, {"max_ts": never} if "$max_ts" in sql else {})
            with warnings.catch_warnings():  # "an extra copy": as the store's ingest takes it (a statement, planned once)
                warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)
                con.register("conformed", con.to_arrow_table())
            bad = field_names.explain(con.sql(load_query("conform_rejects")).to_arrow_table(), fields)
            out += [Rejected(int(loc), reason) for loc, reason in zip(bad.column("location").to_pylist(),
                                                                     bad.column("reason").to_pylist())]
    finally:
        con.close()
    return out


@functools.lru_cache(maxsize=None)
def _rule_columns(kind: str) -> frozenset[str]:
    """The columns of a kind's skeleton (`queries/skeletons.sql`), the only ones its conform query's rules read."""
    from console.sql import load_query

    view = re.search(rf"VIEW skeleton_{kind} AS(.*?);", load_query("skeletons"), re.S)
    return frozenset(re.findall(r"NULL AS (\w+)", view.group(1)))


def _line_start(path: str, offset: int, lone_cr: bool = False) -> int:
    """Where the line holding byte `offset - 1` begins: just after the last newline before `offset` (0: none).
    `lone_cr`: a CR not followed by LF is a newline too (JSON lines, as the Tailer reads them)."""
    with open(path, "rb", buffering=0) as fh:
        end = offset
        while end > 0:
            at = max(0, end - (1 << 16))
            fh.seek(at)
            block = lone_cr_as_lf(fh.read(end - at + 1)) if lone_cr else fh.read(end - at)  # (+1: a CR's LF)
            nl = block.rfind(b"\n", 0, end - at)
            if nl >= 0:
                return at + nl + 1
            end = at
    return 0


def _first_line(path: str) -> str:
    """A CSV file's header line, as the Tailer takes it."""
    with open(path, "rb") as fh:
        return fh.readline().rstrip(b"\n").decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r")


def _keys(path: str, base: str | None) -> tuple[tuple[str, int | str], ...]:
    if not base:
        return ()
    try:
        rel = Path(path).relative_to(base)
    except ValueError:
        return ()
    return tuple((k, _key_value(v)) for k, _, v in (p.partition("=") for p in rel.parts[:-1]) if k and v)


def _in_window(f: TextFile, parts: Sequence[str], start: datetime | None, end: datetime | None) -> bool:
    """Whether a file's day folder can hold rows of [start, end) (`rollup_sources.time_filter`'s rule)."""
    for k, v in f.keys:
        if k in parts and isinstance(v, str) and ISO_DAY.fullmatch(v):  # a day a side; only ISO days compare
            if start is not None and v < (start - timedelta(days=1)).date().isoformat():
                return False
            if end is not None and v > (end - timedelta(microseconds=1) + timedelta(days=1)).date().isoformat():
                return False
    return True



class TextDataset:
    """JSONL or CSV files of one format, read through the store's parsing (see the module): local paths, or S3 objects
    as `sources.locations` lists them (with the `storage` settings that reach them)."""

    def __init__(self, files: Sequence, kind: str, base: str | None, start: datetime | None = None,
                 end: datetime | None = None, day_parts: Sequence[str] = (), storage: dict | None = None,
                 fields: tuple[tuple[str, str], ...] = (), rules: str | None = None):
        every = [TextFile(f, kind, _keys(f, base), fields=fields, rules=rules) if isinstance(f, str) else
                 TextFile(f.path, kind, _keys(f.path, base), f.size, f.etag, storage, fields, rules) for f in files]
        self.files = [f for f in every if _in_window(f, day_parts, start, end)]
        self.start, self.end = start, end  # within `parsed_once`, kept pieces outside it are not read
        self._sample_from = every
        self._schema: pa.Schema | None = None

    @property
    def schema(self) -> pa.Schema:
        """The first file's first lines' columns (as Arrow's dataset takes the first file's): a later piece's
        types may differ, and the rollup conforms each batch."""
        if self._schema is None:
            found = None
            for f in self._sample_from:
                found = f.sample()
                if found is not None:
                    break
            self._schema = found if found is not None else pa.schema([])
        return self._schema

    def get_fragments(self, filter=None) -> list[TextFile]:  # noqa: A002 - pyarrow's name
        return list(self.files)

    def to_batches(self, filter=None, columns: Sequence[str] | None = None, batch_size: int = 131_072,  # noqa: A002
                   **_) -> Iterator[pa.RecordBatch]:
        for f in self.files:
            for t in f.read(self.start, self.end):
                if columns is not None:
                    t = t.select([c for c in columns if c in t.column_names])
                yield from t.to_batches(batch_size)
