"""Complete lines of a JSONL or CSV file into an Arrow table, parsed once, by native readers.

A JSONL piece of flat objects is parsed by Polars with the column types of a sample of it (several times
faster than inferring them), and taken only when byte counts prove no field was left out. Otherwise,
and for CSV, Arrow's readers parse a whole block natively. A block the native reader refuses (one bad byte, a
broken quote, a value of another type) is parsed again line by line, so a bad row costs only
itself: it is set aside with its line number and reason, and every other row is kept. Types are
checked afterwards by the store's conform queries, the same for every format.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from console.sources import compressed, csv_records, field_names
from console.sources.contract import CSV_NULLS, FIELDS, Rejected
from console.sources.line_ends import lone_cr_as_lf

SLOW_LINES = 64  # ranges this small are parsed line by line once the native reader refuses them
_SPACED_KEY = re.compile(rb'"[ \t\r]+:')
FAST_SAMPLE = 1 << 20  # bytes of a piece whose inferred types the fast JSONL path declares for all of it
_STRING_FIELDS = ("model", "version", "request_id", "environment", "variant")
# Kept as the text that was logged: a class label "0" must not come back as "0.0" because the column, which
# also holds minutes for another model, was read as numbers.
_TEXT_COLUMNS = (*_STRING_FIELDS, "prediction", "label", "error", "status")
BOM = b"\xef\xbb\xbf"


def _raw(line: bytes) -> str:
    return line[:300].decode("utf-8", errors="backslashreplace")


def _with_provenance(table: pa.Table, source: str, locs: pa.Array) -> pa.Table:
    return table.append_column("source", pa.repeat(pa.scalar(source, pa.string()), table.num_rows)).append_column(
        "loc", locs)


def _flatten_features(table: pa.Table, name: str = "features") -> pa.Table:
    """A nested `features` object (under the log's own name for it) becomes one column per feature (a top-level
    field of the same name wins)."""
    if name not in table.column_names or not pa.types.is_struct(table.schema.field(name).type):
        return table
    idx = table.column_names.index(name)
    struct = table.column(idx)
    table = table.remove_column(idx)
    for i, f in enumerate(struct.type):
        if f.name not in table.column_names:
            table = table.append_column(f.name, pa.chunked_array([c.field(i) for c in struct.chunks], f.type)
                                        if struct.num_chunks else pa.array([], f.type))
    return table


class _Mapping:
    """What parsing needs of a log's `[logs.fields]`: the names refused as objects, the features object's name,
    and the dotted paths (`model = "meta.name"`) lifted to top-level columns named by the path, which the caller's
    rename (`sources.field_names`, at the end of `jsonl`) then maps as it maps any column. A column named with the dots wins."""

    def __init__(self, fields: Sequence[tuple[str, str]]):
        own = dict(fields)
        self.names = tuple(own.get(f, f) for f in _STRING_FIELDS)
        self.features = own.get("features", "features")
        self.paths = {c: c.split(".") for c in own.values() if "." in c and all(c.split("."))}

    def lift(self, table: pa.Table) -> pa.Table:
        return field_names.lift(table, [(c, c) for c in self.paths])

    def lift_doc(self, doc: dict) -> None:
        for column, path in self.paths.items():
            if column in doc:
                continue
            value = doc
            for step in path:
                value = value.get(step) if isinstance(value, dict) else None
            if value is not None:
                doc[column] = value


_PLAIN = _Mapping(())


def _line_numbers(first: int, n: int) -> pa.Array:
    return pa.array(np.arange(first, first + n, dtype=np.int64))  # a Python range costs 1 ms per 10,000


def _count_key_ends(body: bytes, block: int = 1 << 18) -> int:
    """How many times `":` occurs: what `body.count(b'":')` says, four times faster. numpy compares a block of
    bytes at a time, small enough for its temporaries to stay in cache (a block of megabytes is no faster
    than bytes.count)."""
    data = np.frombuffer(body, np.uint8)
    total = 0
    for i in range(0, max(len(data) - 1, 0), block):
        x = data[i:i + block + 1]  # pairs starting in [i, i + block): the last one's second byte is the next block's
        total += int(np.count_nonzero((x[:-1] == 0x22) & (x[1:] == 0x3A)))
    return total


def _lines(body: bytes) -> list[bytes]:
    return body.split(b"\n")[:-1] if body else []


def whole_json_row(tail: bytes, arrays: bool = False) -> bool:
    """Whether an unterminated last line is one complete JSON object: a JSONL row whose writer did not end
    it with a newline ("\n".join(rows)), kept after the partial-line grace (`files.Tailer`). A cut row never
    parses as an object. CSV has no such test: a row cut inside a number ("12.3" of "12.34") still parses, so
    its unterminated tail is set aside as truncated after the grace, as before. `arrays`: a complete JSON array
    too, for a reader that reads one as its records (the KServe blob logger's batch object, written whole)."""
    text = tail.strip()
    if not text.startswith(b"{") and not (arrays and text.startswith(b"[")):
        return False
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) or arrays and isinstance(value, list)


def jsonl(body: bytes, *, source: str, first_line: int, types: dict[str, pl.DataType] | None = None,
          lines: int | None = None, fields: Sequence[tuple[str, str]] = ()) -> tuple[list[pa.Table], list[Rejected]]:
    """Complete JSON lines into tables (their types may differ between tables) and the lines set aside.
    `types`: the caller's memory of the column types that last read this log whole (see `_jsonl_typed`).
    `lines`: the body's newline count, when the caller has counted them already (the tailer has).
    `fields`: the log's own names for contract fields (`[logs.fields]`): the tables come out under the contract's
    names (`field_names.rename`); an object is refused as a name under the log's name for it, and a column the
    mapping overrides may hold anything."""
    n = body.count(b"\n") if lines is None else lines
    mapping = _Mapping(fields) if fields else _PLAIN
    if n > SLOW_LINES:
        table = _jsonl_typed(body, n, types, mapping.names)  # (a nested field sends a piece the general way)
        if table is not None:
            return [field_names.rename(_with_provenance(table, source, _line_numbers(first_line, n)), fields)], []
    tables: list[pa.Table] = []
    rejected: list[Rejected] = []
    _jsonl_range(body, first_line, source, tables, rejected, mapping)
    return [field_names.rename(t, fields) for t in tables], rejected


def _jsonl_typed(body: bytes, n: int, types: dict[str, pl.DataType] | None = None,
                 names: Sequence[str] = _STRING_FIELDS) -> pa.Table | None:
    """Flat JSON objects, one a line, parsed by Polars with the types Arrow infers on the first megabyte
    (three times faster than inferring them all); None when the piece is not provably read whole and exactly,
    for the general path to parse.

    `types`, when given, are the types that read the previous piece of the same log whole: they are tried
    first, which spares the sample (a quarter of a small piece's parsing time, on a live log's refresh),
    and on success or a fresh inference the dict is updated in place. Polars refuses a value that does not
    fit its declared type, and the key count below refuses a piece with a field they lack, so a piece they
    do not fit is read as if they were not given.

    A value that does not fit its declared type fails the piece. The reader keeps only the declared
    fields, and a field first seen after the sample must not be dropped, so every key is counted on the
    bytes: each key ends in `":`, and each is either a value that was kept or an explicit null; a `":`
    inside a string or an object's inner keys only add to the count, so any doubt falls back. A key with
    white space before its colon would not be counted (a new field there could be dropped unseen): any such
    bytes anywhere in the piece send it the general way."""
    first = body[:body.find(b"\n")]
    # a key the count below would miss (perhaps a field the reader drops); the regex is slow on the many
    # quotes of JSON, and compact JSON often holds no white space at all, which one memchr each proves
    if (b" " in body or b"\t" in body or b"\r" in body) and _SPACED_KEY.search(body):
        return None
    if types:
        table = _jsonl_declared(body, n, first, types, names)
        if table is not None:
            return table
    sampled = _sample_types(body)
    if sampled is None:
        return None
    schema, unknown = sampled
    table = _jsonl_declared(body, n, first, schema, names)
    if table is not None and types is not None:  # remembered: the types of the fields seen with a value
        types.clear()
        types.update((k, t) for k, t in schema.items() if k not in unknown)
    return table


def _sample_types(body: bytes) -> tuple[dict[str, pl.DataType], set[str]] | None:
    """The Polars types Arrow infers on the first megabyte of a piece, and the fields only null there (read
    as numbers); None when a field is nested."""
    cut = body.rfind(b"\n", 0, FAST_SAMPLE) + 1 or len(body)
    try:
        sample = pajson.read_json(io.BytesIO(body[:cut]))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    schema: dict[str, pl.DataType] = {}
    for f in sample.schema:
        t = f.type
        if pa.types.is_string(t) or pa.types.is_temporal(t):
            schema[f.name] = pl.String
        elif pa.types.is_integer(t):
            schema[f.name] = pl.Int64
        elif pa.types.is_floating(t) or pa.types.is_null(t):
            schema[f.name] = pl.Float64
        elif pa.types.is_boolean(t):
            schema[f.name] = pl.Boolean
        else:  # nested: the general path flattens `features` and refuses objects as names
            return None
    return schema, {f.name for f in sample.schema if pa.types.is_null(f.type)}


_TYPE_NAMES = {"String": pl.String, "Int64": pl.Int64, "Float64": pl.Float64, "Boolean": pl.Boolean}


def type_names(types: dict[str, pl.DataType]) -> dict[str, str] | None:
    """Remembered types as plain names, to be kept in a file; None when there are none or one has no name."""
    names = {k: str(t) for k, t in types.items()}
    return names if names and all(n in _TYPE_NAMES for n in names.values()) else None


def types_named(names: dict | None) -> dict[str, pl.DataType]:
    """The inverse of `type_names`; {} for anything it did not write."""
    if not isinstance(names, dict) or not all(isinstance(n, str) and n in _TYPE_NAMES for n in names.values()):
        return {}
    return {k: _TYPE_NAMES[n] for k, n in names.items()}


def _jsonl_declared(body: bytes, n: int, first: bytes, schema: dict[str, pl.DataType],
                    names: Sequence[str] = _STRING_FIELDS) -> pa.Table | None:
    """The piece read with `schema` declared, or None unless every line and every key was read."""
    try:
        frame = pl.read_ndjson(io.BytesIO(body), schema=schema)
    except (pl.exceptions.PolarsError, ValueError):
        return None
    if frame.height != n:  # a blank line
        return None
    nulls = frame.null_count().row(0)
    if any(nulls):
        spaced = b'": ' in first
        explicit = body.count(b'": null' if spaced else b'":null')
    else:
        explicit = 0
    if _count_key_ends(body) != frame.height * frame.width - sum(nulls) + explicit:
        return None
    names = [name for name in names if schema.get(name) == pl.String]  # a number is no array (labels' int ids)
    # an array or object as a name is refused by the general path, with its reason
    if names and frame.select(pl.any_horizontal([pl.col(n).str.starts_with("[") | pl.col(n).str.starts_with("{")
                                                 for n in names]).any()).item():
        return None
    # one chunk a column, not the reader's ~1,000-row chunks: every later pass (conforming, the segment write's
    # per-model filter, the Parquet writer) pays per chunk, 3-4x more on 330 chunks than on 5 (a 1M-row ingest:
    # 245k -> 290k rows per CPU-second, the cold snapshot's peak 60 MB lower); a copy of one piece at a time.
    # String views: no copy of every string on the way to Arrow.
    return frame.rechunk().to_arrow(compat_level=pl.CompatLevel.newest())


def _jsonl_range(body: bytes, first_line: int, source: str, tables: list, rejected: list,
                 mapping: _Mapping = _PLAIN) -> None:
    """Parses natively; a range the native reader refuses is halved until the bad lines are found, so a
    bad line costs a few dozen lines of slow parsing, not its whole chunk."""
    n = body.count(b"\n")
    if n == 0:
        return
    if n > SLOW_LINES:
        try:
            if not body.isascii():
                body.decode("utf-8")  # the native reader would pass bad bytes through: find their lines
            table = pajson.read_json(io.BytesIO(body), read_options=pajson.ReadOptions(block_size=1 << 24))
            if table.num_rows != n:  # blank lines are skipped by the reader: locate rows the slow way
                raise pa.ArrowInvalid("row count differs from line count")
            table = _flatten_features(mapping.lift(table), mapping.features)
            if any(pa.types.is_nested(table.schema.field(c).type) for c in mapping.names if c in table.column_names):
                raise pa.ArrowInvalid("an identifier is an object")
            tables.append(_with_provenance(table, source, _line_numbers(first_line, n)))
            return
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError) as exc:
            mixed = _jsonl_mixed(body, n, mapping) if "changed from" in str(exc) else None
            if mixed is not None:
                tables.append(_with_provenance(mixed, source, _line_numbers(first_line, n)))
                return
            mid = body.find(b"\n", len(body) // 2) + 1
            if 0 < mid < len(body):
                _jsonl_range(body[:mid], first_line, source, tables, rejected, mapping)
                _jsonl_range(body[mid:], first_line + body[:mid].count(b"\n"), source, tables, rejected, mapping)
                return
    kept = [(first_line + i, ln) for i, ln in enumerate(_lines(body)) if ln.strip()]
    table, bad = _jsonl_slow(kept, source, mapping)
    rejected += bad
    if table is not None:
        tables.append(table)


def _jsonl_mixed(body: bytes, n: int, mapping: _Mapping) -> pa.Table | None:
    """A piece whose field changes JSON type between lines (a `ts` logged as epoch numbers by one writer and ISO
    text by another) read whole by Polars, which types such a field as text as the slow path does (the conform
    query reads the text of a number as one); None when that fails too. Arrow's reader refuses the piece, and
    halving it down to pieces of one type cut a log alternating types into thousands of tiny tables, each
    conformed on its own: 25x slower a row."""
    try:
        table = pl.read_ndjson(io.BytesIO(body), infer_schema_length=None).to_arrow()
    except (pl.exceptions.PolarsError, ValueError, pa.ArrowException):
        return None
    if table.num_rows != n:  # a blank line
        return None
    table = _flatten_features(mapping.lift(table), mapping.features)
    names = [c for c in mapping.names if c in table.column_names]
    if any(pa.types.is_nested(table.schema.field(c).type) for c in names):
        return None
    # the fields that hold text on some lines and other values on others: said, as pieces of two types are
    # (`unify`); read as one piece, their text column alone would not tell
    retyped = [c for c in table.column_names if pa.types.is_string(table.schema.field(c).type)
               or pa.types.is_large_string(table.schema.field(c).type) if _of_two_kinds(body, c)]
    if retyped:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), RETYPED: ",".join(retyped).encode()})
    # an object or array among a name's texts (Polars writes it as its JSON): the slow path refuses its row
    for c in names:
        col = table.column(c)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            text = pc.utf8_ltrim_whitespace(col)
            if pc.any(pc.or_(pc.starts_with(text, "{"), pc.starts_with(text, "["))).as_py():
                return None
    return table


RETYPED = b"console.retyped"  # a table's metadata: its fields read as text from values of several JSON types


def retyped(table: pa.Table) -> list[str]:
    """The fields `_jsonl_mixed` read as text from values of several JSON types."""
    got = (table.schema.metadata or {}).get(RETYPED)
    return [c for c in got.decode().split(",") if c] if got else []


def _of_two_kinds(body: bytes, name: str) -> bool:
    """Whether `name` has a text value on some line and a number or boolean on another (null aside)."""
    text = other = False
    for m in re.finditer(rb'"' + re.escape(name.encode()) + rb'"\s*:\s*(.)', body):
        first = m.group(1)
        if first == b'"':
            text = True
        elif first != b"n":
            other = True
        if text and other:
            return True
    return False


def _jsonl_slow(kept: list[tuple[int, bytes]], source: str,
                mapping: _Mapping = _PLAIN) -> tuple[pa.Table | None, list[Rejected]]:
    rows: list[dict] = []
    locs: list[int] = []
    rejected: list[Rejected] = []
    for loc, line in kept:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            rejected.append(Rejected(loc, f"not UTF-8 (byte {exc.start})", _raw(line)))
            continue
        try:
            doc = json.loads(text)
        except ValueError:
            rejected.append(Rejected(loc, "invalid JSON", _raw(line)))
            continue
        if not isinstance(doc, dict):
            rejected.append(Rejected(loc, "not a JSON object", _raw(line)))
            continue
        mapping.lift_doc(doc)
        feats = doc.pop(mapping.features, None)
        if isinstance(feats, dict):
            for k, v in feats.items():
                doc.setdefault(k, v)
        elif feats is not None:
            doc[mapping.features] = feats
        wrong = next((f for f in mapping.names if isinstance(doc.get(f), (dict, list))), None)
        if wrong:
            kind = "an array" if isinstance(doc.get(wrong), list) else "an object"
            rejected.append(Rejected(loc, f"{wrong} is {kind}, not a name", _raw(line)))
            continue
        rows.append(doc)
        locs.append(loc)
    if not rows:
        return None, rejected
    names = list(dict.fromkeys(k for r in rows for k in r))
    cols = {n: _column([r.get(n) for r in rows]) for n in names}
    table = pa.table(cols)
    return _with_provenance(table, source, pa.array(locs, pa.int64())), rejected


def _column(values: list) -> pa.Array:
    """One JSON field's values as the narrowest Arrow type that holds them all; mixed kinds become text,
    so a wrong value fails its own row's type check rather than the whole block."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.array(values, pa.bool_())
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        if all(-(1 << 63) <= v < (1 << 63) for v in present):
            return pa.array(values, pa.int64())
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array([None if v is None else v if isinstance(v, str) else
                     ("NaN" if isinstance(v, float) and math.isnan(v) else json.dumps(v)) for v in values], pa.string())


def csv_lines(body: bytes, *, header: str, source: str, first_line: int,
              fields: Sequence[tuple[str, str]] = (), check_header: bool = True) -> tuple[list[pa.Table], list[Rejected]]:
    """CSV rows under the file's header; a row with the wrong field count, a bad byte or a broken quote, or the
    header line written again (`check_header`), is set aside alone. `fields`: the log's own names for contract
    fields: the tables come out under the contract's names (`field_names.rename`)."""
    sep = csv_records.delimiter_of(header)  # a comma, or the tab, semicolon or bar the header is split by
    names = csv_records.fields_of(header) if header else []
    tables: list[pa.Table] = []
    rejected: list[Rejected] = []
    if not names:
        return tables, rejected
    head = header.encode("utf-8")
    again = _headers_again(body, head) if check_header else []
    if again:  # a writer restarted in append mode and wrote its header again: each such line alone is set aside
        tables, rejected, lo, line = [], [], 0, first_line
        for start, end in [*again, (len(body), len(body))]:
            got = csv_lines(body[lo:start], header=header, source=source, first_line=line, fields=fields,
                            check_header=False)
            tables += got[0]
            rejected += got[1]
            line += body.count(b"\n", lo, start)
            if end > start:
                rejected.append(Rejected(line, HEADER_AGAIN, body[start:end].decode("utf-8", "replace").rstrip()[:300]))
                line += 1
            lo = end
        return tables, rejected
    records = csv_records.split(body, len(names), delimiter=sep)
    if records is None:  # every line a record: the native reader numbers bad rows by line
        _csv_range(body, first_line, head, names, source, tables, rejected, sep)
        return decimal_commas([field_names.rename(t, fields) for t in tables], sep), rejected
    # quoted fields holding line breaks: records are runs of lines, and a line that opened a quote never
    # closed is set aside alone, so the native reader only ever sees whole records
    starts, locs = records.starts, [first_line + i for i in records.lines]
    lo = 0
    for r in sorted(records.broken) + [len(locs)]:
        _csv_records(body, starts, locs, lo, r, head, names, source, tables, rejected, sep)
        if r < len(locs):
            rejected += _csv_slow([(locs[r], body[starts[r]:starts[r + 1]])], names, source, sep)[1]
        lo = r + 1
    return decimal_commas([field_names.rename(t, fields) for t in tables], sep), rejected


HEADER_AGAIN = "the CSV header again (a writer restarted the file)"


def _headers_again(body: bytes, head: bytes) -> list[tuple[int, int]]:
    """The lines of `body` that are the file's header line again, each as [start, end) with its line break, in order.
    Read as a row, its names were set aside as a bad ts, and made every column they fell in text for the rows read
    with it ("field 'amount' holds values of more than one type") though every value kept was a number."""
    out = []
    for ending in (b"\n", b"\r\n"):
        line = head + ending
        if body.startswith(line):
            out.append((0, len(line)))
        at = body.find(b"\n" + line)
        while at >= 0:
            out.append((at + 1, at + 1 + len(line)))
            at = body.find(b"\n" + line, at + len(line))
    return sorted(out)


_DECIMAL_COMMA = r"^[+-]?[0-9]+(,[0-9]+)?$"


_CONTRACT_NUMBERS = {name for fields in FIELDS.values() for name, typ in fields.items() if typ in ("double", "int64")} \
    | {"latency_s"}
MOSTLY = 0.9  # a feature column with this share of decimal-comma numbers (or all but one value) is a number column


def decimal_commas(tables: list[pa.Table], sep: str) -> list[pa.Table]:
    """In a CSV split by semicolons, tabs or bars (a spreadsheet's export in a locale that writes `12,5`), a text
    column of numbers with decimal commas, one at least, is read as numbers; the contract's texts are left as
    written. A comma-separated file has no such numbers unquoted: left alone.

    A value that is not such a number (`1.234,5`, a thousands separator) costs only itself: in a contract field
    the others are written with a dot and the field stays text, so the conform query sets that row alone aside
    ("latency_ms is not a number"); in a feature column mostly of such numbers it is a missing value. It kept
    the whole column text, and every `12,5` of the piece was set aside with it."""
    if sep == ",":
        return tables
    texts = {*_TEXT_COLUMNS, "source", "loc"}  # (under the contract's names: a log's own are renamed first)
    out = []
    for t in tables:
        for i, f in enumerate(t.schema):
            if f.name in texts or not (
                    pa.types.is_string(f.type) or pa.types.is_large_string(f.type)):
                continue
            col = t.column(i)
            values = len(col) - col.null_count
            if not values or not pc.any(pc.match_substring(col, ",")).as_py():
                continue
            match = pc.match_substring_regex(col, _DECIMAL_COMMA)
            matched = pc.sum(match).as_py() or 0
            if not matched or not pc.any(pc.and_(match, pc.match_substring(col, ","))).as_py():
                continue
            dotted = pc.replace_substring(col, ",", ".")
            if matched == values:
                t = t.set_column(i, f.name, pc.cast(dotted, pa.float64()))
            elif f.name in _CONTRACT_NUMBERS:
                t = t.set_column(i, f.name, pc.if_else(match, dotted, col))
            elif matched >= min(MOSTLY * values, values - 1):
                t = t.set_column(i, f.name, pc.cast(pc.if_else(match, dotted, pa.scalar(None, col.type)), pa.float64()))
        out.append(t)
    return out


def _csv_records(body: bytes, starts: list[int], locs: list[int], lo: int, hi: int, head: bytes, names: list[str],
                 source: str, tables: list, rejected: list, sep: str = ",") -> None:
    """Records lo..hi-1 (some of several lines): natively, a range the reader refuses halved until it is
    small enough to be read record by record."""
    n = hi - lo
    if n <= 0:
        return
    if n > SLOW_LINES:
        try:
            # a refused row is looked at closer, record by record (the reader numbers rows, not records)
            table = _read_csv(head + b"\n" + body[starts[lo]:starts[hi]], names, lambda row: "error", newlines=True,
                              sep=sep)
            if table.num_rows != n or any(pa.types.is_binary(t) for t in table.schema.types):
                raise pa.ArrowInvalid("rows do not match records")
            tables.append(_with_provenance(table, source, pa.array(locs[lo:hi], pa.int64())))
            return
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
            mid = (lo + hi) // 2
            _csv_records(body, starts, locs, lo, mid, head, names, source, tables, rejected, sep)
            _csv_records(body, starts, locs, mid, hi, head, names, source, tables, rejected, sep)
            return
    block = [(locs[k], body[starts[k]:starts[k + 1]]) for k in range(lo, hi)]
    t, r = _csv_slow([(loc, rec) for loc, rec in block if rec.strip()], names, source, sep)
    rejected += r
    if t is not None:
        tables.append(t)


def _csv_range(body: bytes, first_line: int, head: bytes, names: list[str], source: str, tables: list,
               rejected: list, sep: str = ",") -> None:
    n = body.count(b"\n")
    if n == 0:
        return
    if n > SLOW_LINES:
        bad: list[Rejected] = []

        def on_invalid(row) -> str:
            if row.number is None:  # a threaded parse does not number rows: let the range be looked at closer
                return "error"
            bad.append(Rejected(first_line + row.number - 2,
                                f"CSV row has {row.actual_columns} fields, expected {row.expected_columns}",
                                (row.text or "")[:300]))
            return "skip"

        try:
            table = _read_csv(head + b"\n" + body, names, on_invalid, sep=sep)
            # a broken quote glues lines together, a blank line is skipped, a bad byte makes a binary column:
            # each shows as a count or type that does not add up, and the range is looked at more closely
            if table.num_rows + len(bad) != n or any(pa.types.is_binary(t) for t in table.schema.types):
                raise pa.ArrowInvalid("rows do not match lines")
            bad_locs = {b.loc for b in bad}
            locs = [loc for loc in range(first_line, first_line + n) if loc not in bad_locs] if bad else \
                range(first_line, first_line + n)
            tables.append(_with_provenance(table, source, pa.array(locs, pa.int64())))
            rejected += bad
            return
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
            mid = body.find(b"\n", len(body) // 2) + 1
            if 0 < mid < len(body):
                _csv_range(body[:mid], first_line, head, names, source, tables, rejected, sep)
                _csv_range(body[mid:], first_line + body[:mid].count(b"\n"), head, names, source, tables, rejected,
                           sep)
                return
    block = [(first_line + i, ln) for i, ln in enumerate(_lines(body)) if ln.strip()]
    t, r = _csv_slow(block, names, source, sep)
    rejected += r
    if t is not None:
        tables.append(t)


def _block_size(n: int) -> int:
    """pyarrow's CSV block size for `n` bytes of records that may hold line breaks: a record must fit in a block
    (else "straddling object straddles two block boundaries"), and records are up to MAX_RECORD_BYTES."""
    return max(1 << 20, min(n + 1, 2 * csv_records.MAX_RECORD_BYTES + 1))


def _read_csv(data: bytes, names: list[str], on_invalid, newlines: bool = False, sep: str = ",") -> pa.Table:
    """The native reader over one range. pyarrow decodes a refused row's text before it calls `on_invalid`: a
    non-UTF-8 byte there raises inside pyarrow, which prints "Exception ignored" and a traceback on stderr and
    refuses the range (which `_csv_range` then halves until the bad line is named). That print is dropped;
    anything else reaches the usual hook."""
    previous = sys.unraisablehook

    def quiet(u) -> None:
        if not (u.object is on_invalid and isinstance(u.exc_value, UnicodeDecodeError)):
            previous(u)

    sys.unraisablehook = quiet
    try:
        return pacsv.read_csv(
            io.BytesIO(data),
            # a block holds whole records: one of several lines may be up to csv_records.MAX_RECORD_BYTES
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1,
                                           **({"block_size": _block_size(len(data))} if newlines else {})),
            parse_options=pacsv.ParseOptions(delimiter=sep, invalid_row_handler=on_invalid,
                                             newlines_in_values=newlines),
            convert_options=pacsv.ConvertOptions(
                strings_can_be_null=True, null_values=list(CSV_NULLS),
                column_types={c: pa.string() for c in names if c in _TEXT_COLUMNS}))
    finally:
        sys.unraisablehook = previous


def _csv_slow(block: list[tuple[int, bytes]], names: list[str], source: str, sep: str = ","):
    rows, locs, rejected = [], [], []
    for loc, line in block:
        try:
            text = line.decode("utf-8").rstrip("\n").rstrip("\r")  # (a record of several lines keeps its inner ones)
        except UnicodeDecodeError as exc:
            rejected.append(Rejected(loc, f"not UTF-8 (byte {exc.start})", _raw(line)))
            continue
        if text.count('"') % 2:
            rejected.append(Rejected(loc, "unbalanced quote", _raw(line)))
            continue
        try:
            fields = next(csv.reader([text], delimiter=sep))
        except csv.Error as exc:  # a field past the record limit: its own row, not the refresh of every log
            rejected.append(Rejected(loc, f"CSV record not read: {exc}", _raw(line)))
            continue
        if len(fields) != len(names):
            rejected.append(Rejected(loc, f"CSV row has {len(fields)} fields, expected {len(names)}", _raw(line)))
            continue
        rows.append(fields)
        locs.append(loc)
    if not rows:
        return None, rejected
    # Re-parse the good rows natively so their types are inferred as in the fast path.
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    w.writerows(rows)
    payload = buf.getvalue().encode("utf-8")
    table = pacsv.read_csv(io.BytesIO(payload), read_options=pacsv.ReadOptions(block_size=_block_size(len(payload))),
                           parse_options=pacsv.ParseOptions(newlines_in_values=True), convert_options=pacsv.ConvertOptions(
        strings_can_be_null=True, null_values=list(CSV_NULLS),
        column_types={c: pa.string() for c in names if c in _TEXT_COLUMNS}))
    return _with_provenance(table, source, pa.array(locs, pa.int64())), rejected


def unify(tables: list[pa.Table]) -> tuple[pa.Table, list[str]]:
    """Pieces whose columns may differ in type, as one table: a column holding numbers of two kinds becomes
    double, one holding anything else of two kinds becomes text (as a mixed column of one piece does), so
    a feature changing type mid-file costs no row; returns the names of the columns so changed."""
    try:
        return pa.concat_tables(tables, promote_options="permissive"), []
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    kinds: dict[str, set[pa.DataType]] = {}
    for t in tables:
        for f in t.schema:
            if not pa.types.is_null(f.type):
                kinds.setdefault(f.name, set()).add(f.type)
    target: dict[str, pa.DataType] = {}
    for name, types in kinds.items():
        if len(types) > 1:
            numeric = all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types)
            target[name] = pa.float64() if numeric else pa.string()
    cast = []
    for t in tables:
        for name, to in target.items():
            if name in t.column_names and t.schema.field(name).type != to:
                i = t.column_names.index(name)
                col = t.column(i)
                if to == pa.string() and pa.types.is_boolean(col.type):
                    col = pc.if_else(col, "true", "false")
                t = t.set_column(i, name, col.cast(to))
        cast.append(t)
    return pa.concat_tables(cast, promote_options="permissive"), sorted(target)


def strip_bom(body: bytes) -> tuple[bytes, int]:
    """(body without a leading UTF-8 BOM, bytes removed)."""
    return (body[3:], 3) if body.startswith(BOM) else (body, 0)


def whole_object(body: bytes, csv: bool) -> tuple[bytes, str | None, int, list[Rejected]]:
    """An object of object storage read whole, as the parsers take it: (its lines without the BOM, a CSV's header
    line, the body's first line number, what could not be read). A gzip object (Firehose's GZIP) is its content;
    where that content ends short (corrupt or cut), the lines before it are kept and the loss is set aside with
    its reason. An object is written once and complete, so its last line needs no terminator. The store's
    refresh and the rollup read S3 text objects through this one definition."""
    body, problem = compressed.inflate(body)
    lost = [Rejected(0, f"{problem}: the rest of the object is lost", "")] if problem else []
    body, _ = strip_bom(body)
    header = None
    if csv:
        head, _, body = body.partition(b"\n")
        header = head.decode("utf-8", "replace").rstrip("\r")
    else:  # a lone CR ends a JSON line, as the tailer reads a local file (`line_ends`)
        body = lone_cr_as_lf(body)
    if body and not body.endswith(b"\n"):
        body += b"\n"
    return body, header, 2 if csv else 1, lost
