"""A shortcut past the conform query for the plainest chunk of predictions, taken only where its answer is
provably the query's.

`queries/conform_predictions.sql` is the one definition of how a row is typed and when it is set aside. On a
live refresh it costs about a fifth of the CPU (10,000 rows: 15-20 ms, of which 7-8 ms is DuckDB planning a
query of that size), and on a cold JSONL ingest about an eighth. Most chunks are the plainest case: every ts
in the form `2026-11-23T00:00:00.123456Z`, names present, numbers finite, no `is_error` or `prediction_num`
of their own. For such a chunk every row is kept, and what the query does reduces to a few column
operations: parse ts, fill the two defaults, derive `is_error` and `prediction_num`. That is done here, with
Arrow's compute kernels, without planning a query.

Anything outside that case (a column of another type, a ts in any other form, a value the query would set
aside or a prediction whose numeric reading could depend on DuckDB's cast rules) returns None, and the
query runs as before. `tests/test_conform_plain.py` checks, on generated chunks, that whenever this
returns a table it equals the query's, column for column and type for type.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from console.contract_fields import ERROR_FLAGS, NO_ERROR_FLAGS

_TS = r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?Z$"
# a decimal DuckDB and Arrow both read to the same double (no exponent, no sign but -; and see `decimal`)
_DECIMAL = r"^-?\d{1,15}(\.\d{1,15})?$"
_SAFE_TOKENS = 1 << 53  # an integer a double holds exactly: TRY_CAST(TRY_CAST(x AS DOUBLE) AS BIGINT) is x
_NAMES = ("model", "version", "request_id")
_TEXT = (*_NAMES, "ts", "environment", "variant", "prediction", "error", "source")
_NUMBERS = ("score", "latency_ms", "cost_usd")
_INTEGERS = ("status", "input_tokens", "output_tokens", "loc")
_HANDLED = {*_TEXT, *_NUMBERS, *_INTEGERS}
_OUT = pa.schema([
    ("ts", pa.timestamp("us")), ("model", pa.string()), ("version", pa.string()), ("request_id", pa.string()),
    ("environment", pa.string()), ("variant", pa.string()), ("prediction", pa.string()),
    ("prediction_num", pa.float64()), ("score", pa.float64()), ("latency_ms", pa.float64()),
    ("is_error", pa.bool_()), ("error", pa.string()), ("input_tokens", pa.int64()),
    ("output_tokens", pa.int64()), ("cost_usd", pa.float64()), ("source", pa.string()), ("loc", pa.int64()),
    ("_reject", pa.string())])


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _types_fit(schema: pa.Schema) -> bool:
    for f in schema:
        if f.name not in _HANDLED:
            return False  # prediction_num, is_error, a feature, a name in other case: the query decides
        t = f.type
        if f.name in _TEXT and not _is_text(t):
            return False
        if f.name in _INTEGERS and not pa.types.is_int64(t):
            return False
        if f.name in _NUMBERS and not (pa.types.is_float64(t) or pa.types.is_int64(t)):
            return False
    return all(n in schema.names for n in ("ts", *_NAMES, "source", "loc"))


def _all(mask: pa.ChunkedArray | pa.Array) -> bool:
    return mask.null_count == 0 and bool(pc.all(mask).as_py() is not False)


# `_TS` for a text of 27 bytes, the one length at which it has one form (six digits of the second's fraction), as
# the byte range each position may hold; the hour's second digit is 0-3 after a 2 (checked apart)
_TS27 = "DDDD-DD-DDTHD:5D:5D.DDDDDDZ"
_TS27_LO = np.array([48 if c in "DH5" else ord(c) for c in _TS27], np.uint8)
_TS27_HI = np.array([57 if c == "D" else 50 if c == "H" else 53 if c == "5" else ord(c) for c in _TS27], np.uint8)
_TS27_BLOCK = 1 << 15  # rows compared at a time: the temporaries stay in cache (and small beside a cold ingest's peak)


def _ts27(chunk: pa.Array) -> bool | None:
    """Whether every text of a string array without nulls matches `_TS`, when each is 27 bytes long (a logger's
    microsecond timestamps, the usual case); None when not all are that long (the regex then decides). Compared
    position by position on the array's bytes: the regex was a third of the conform shortcut's time."""
    n = len(chunk)
    if n == 0 or chunk.null_count or not pa.types.is_string(chunk.type):
        return None
    _, offsets_buf, data_buf = chunk.buffers()
    offsets = np.frombuffer(offsets_buf, np.int32, n + 1, chunk.offset * 4)
    start = int(offsets[0])
    if int(offsets[-1]) - start != 27 * n or not np.array_equal(np.diff(offsets), np.full(n, 27, np.int32)):
        return None
    text = np.frombuffer(data_buf, np.uint8, 27 * n, start).reshape(n, 27)
    for i in range(0, n, _TS27_BLOCK):
        block = text[i:i + _TS27_BLOCK]
        if not ((block >= _TS27_LO) & (block <= _TS27_HI)).all():
            return False
        if not ((block[:, 11] != 50) | (block[:, 12] <= 51)).all():  # 20-23, not 24-29
            return False
    return True


def _plain_ts(ts: pa.ChunkedArray) -> bool:
    """Every ts (no nulls) in the form `_TS`."""
    for chunk in ts.chunks:
        fits = _ts27(chunk)
        if fits is None:
            fits = _all(pc.match_substring_regex(chunk, _TS))
        if not fits:
            return False
    return True


def predictions(table: pa.Table, max_ts: datetime) -> pa.Table | None:
    """The conform query's result for `table` (the `_reject` column included, all null), or None when the
    chunk is not of the plainest kind and the query must run. Arrow compute kernels, one pass each: Polars
    cost as much as the query here, in the copies of every text column to and from its own strings."""
    n = table.num_rows
    if n == 0 or not _types_fit(table.schema):
        return None
    table = table.cast(pa.schema([pa.field(f.name, pa.string()) if _is_text(f.type) else f for f in table.schema]))
    have = set(table.column_names)
    col = table.column
    ts = col("ts")
    if ts.null_count or not _plain_ts(ts):
        return None
    if any(col(c).null_count or pc.min(pc.binary_length(col(c))).as_py() == 0 for c in _NAMES):
        return None
    for c in _NUMBERS:
        if c in have and pa.types.is_float64(col(c).type) and col(c).null_count < n \
                and not pc.all(pc.is_finite(col(c))).as_py():
            return None
    for c in ("latency_ms", "cost_usd"):  # a negative latency or cost: the query sets its row aside
        if c in have and col(c).null_count < n and pc.min(col(c)).as_py() < 0:
            return None
    for c in ("input_tokens", "output_tokens"):
        if c in have and col(c).null_count < n:
            lo, hi = pc.min_max(col(c)).values()
            if lo.as_py() < 0 or hi.as_py() > _SAFE_TOKENS:  # a negative count: the query sets its row aside
                return None
    pred = col("prediction") if "prediction" in have else pa.nulls(n, pa.string())
    # at most 15 digits: digits / 10**k, both exact doubles, is one correctly rounded division in any parser
    decimal = pc.and_(pc.match_substring_regex(pred, _DECIMAL), pc.less_equal(pc.binary_length(pred), 16))
    # a prediction is read as a number when it is a plain decimal; text with no digit and no word DuckDB reads
    # as a number (inf, infinity, nan) reads as none in both; anything else is left to the query
    # (the second regex only when a prediction is not a plain decimal: the usual chunk's are all decimals, or none)
    every_decimal = pred.null_count == n or _all(pc.or_(pc.is_null(pred), pc.fill_null(decimal, False)))
    if not every_decimal and not _all(pc.or_(pc.is_null(pred), pc.or_(pc.fill_null(decimal, False), pc.invert(
            pc.match_substring_regex(pc.fill_null(pred, ""), "[0-9]|inf|nan", ignore_case=True))))):
        return None
    try:  # a day that does not exist (02-30) fails the cast: the query sets that row aside
        parsed = ts.cast(pa.timestamp("us", "UTC")).cast(pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if parsed.null_count or pc.max(parsed).as_py() > max_ts:
        return None

    def text(name: str, default: str | None = None):
        c = col(name) if name in have else pa.nulls(n, pa.string())
        return pc.fill_null(c, default) if default is not None else c

    def number(name: str, to: pa.DataType):
        return col(name).cast(to) if name in have else pa.nulls(n, to)

    if "error" in have:
        err = col("error")
        flags = pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(err)), pa.array(NO_ERROR_FLAGS[1:] + ERROR_FLAGS))
        if pc.any(flags).as_py():  # an error written as a flag (false / 0 / true): the query reads those
            return None
        error = pc.if_else(pc.greater(pc.binary_length(err), 0), err, pa.scalar(None, pa.string()))
    else:
        error = pa.nulls(n, pa.string())
    failed = pc.is_valid(error)
    if "status" in have:
        failed = pc.or_(failed, pc.fill_null(pc.greater_equal(col("status"), 500), False))
    pred_num = (pred if every_decimal else pc.if_else(decimal, pred, pa.scalar(None, pa.string()))).cast(pa.float64())
    return pa.Table.from_arrays([
        parsed, col("model"), col("version"), col("request_id"), text("environment", "production"),
        text("variant", "champion"), pred, pred_num, number("score", pa.float64()),
        number("latency_ms", pa.float64()), failed, error, number("input_tokens", pa.int64()),
        number("output_tokens", pa.int64()), number("cost_usd", pa.float64()), col("source"), col("loc"),
        pa.nulls(n, pa.string())], schema=_OUT)
