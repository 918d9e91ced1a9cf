"""A shortcut past the conform query for the plainest chunk of predictions, taken only where its answer is
provably the query's.

`queries/conform_predictions.sql` is the one definition of how a row is typed and when it is set aside. On a
live refresh it costs about a fifth of the CPU (10,000 rows: 15-20 ms, of which 7-8 ms is DuckDB planning a
query of that size), and on a cold JSONL ingest about a ninth. Most chunks are the plainest case: every ts
in the form `2026-11-23T00:00:00.123456Z`, names present, numbers finite, no `is_error` or `prediction_num`
of their own. For such a chunk every row is kept, and what the query does reduces to a few column
operations: parse ts, fill the two defaults, derive `is_error` and `prediction_num`. That is done here, in
Polars, without planning a query.

Anything outside that case (a column of another type, a ts in any other form, a value the query would set
aside or a prediction whose numeric reading could depend on DuckDB's cast rules) returns None, and the
query runs as before. `tests/test_conform_plain.py` checks, on generated chunks, that whenever this
returns a table it equals the query's, column for column and type for type.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pyarrow as pa

_TS = r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?Z$"
# a decimal both DuckDB and Polars read to the same double (correctly rounded, no exponent, no sign but -)
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


def predictions(table: pa.Table, max_ts: datetime) -> pa.Table | None:
    """The conform query's result for `table` (the `_reject` column included, all null), or None when the
    chunk is not of the plainest kind and the query must run."""
    if table.num_rows == 0 or not _types_fit(table.schema):
        return None
    df = pl.from_arrow(table)
    assert isinstance(df, pl.DataFrame)
    have = set(df.columns)
    ts = pl.col("ts")
    checks = [ts.is_not_null().all() & ts.str.contains(_TS).all()]
    checks += [(pl.col(n).is_not_null() & (pl.col(n).str.len_bytes() > 0)).all() for n in _NAMES]
    checks += [pl.col(n).is_finite().all() for n in _NUMBERS if n in have and df.schema[n] == pl.Float64]
    checks += [(pl.col(n).abs() <= _SAFE_TOKENS).all() for n in ("input_tokens", "output_tokens") if n in have]
    if "prediction" in have:
        p = pl.col("prediction")
        # a prediction is read as a number when it is a plain decimal; text with no digit and no word DuckDB
        # reads as a number (inf, infinity, nan) reads as none in both; anything else is left to the query
        checks.append((p.is_null() | p.str.contains(_DECIMAL) | ~p.str.contains(r"(?i)[0-9]|inf|nan")).all())
    if not all(df.select(checks).row(0)):
        return None
    try:
        parsed = df.select(ts.str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us", strict=True)).to_series()
    except pl.exceptions.PolarsError:  # a day that does not exist (02-30): the query sets it aside
        return None
    if parsed.null_count() or parsed.max() > max_ts:
        return None

    def text(name: str, default: str | None = None) -> pl.Expr:
        col = pl.col(name) if name in have else pl.lit(None, pl.String)
        return (col.fill_null(default) if default is not None else col).cast(pl.String).alias(name)

    def number(name: str, dtype: pl.DataType) -> pl.Expr:
        return (pl.col(name) if name in have else pl.lit(None)).cast(dtype).alias(name)

    error = pl.when(pl.col("error").str.len_bytes() > 0).then(pl.col("error")) if "error" in have \
        else pl.lit(None, pl.String)
    failed = error.is_not_null()
    if "status" in have:
        failed = failed | (pl.col("status") >= 500).fill_null(False)
    pred_num = pl.when(pl.col("prediction").str.contains(_DECIMAL)).then(pl.col("prediction").cast(pl.Float64)) \
        if "prediction" in have else pl.lit(None, pl.Float64)
    out = df.with_columns(parsed.alias("ts")).select(
        pl.col("ts"), text("model"), text("version"), text("request_id"), text("environment", "production"),
        text("variant", "champion"), text("prediction"), pred_num.cast(pl.Float64).alias("prediction_num"),
        number("score", pl.Float64), number("latency_ms", pl.Float64), failed.alias("is_error"),
        error.cast(pl.String).alias("error"), number("input_tokens", pl.Int64), number("output_tokens", pl.Int64),
        number("cost_usd", pl.Float64), text("source"), pl.col("loc"), pl.lit(None, pl.String).alias("_reject"))
    return out.to_arrow().cast(_OUT)
