"""The conform shortcut for plain chunks (`store/conform_plain.py`) answers only where its answer is the conform
query's: on generated chunks (timestamps in many forms, empty and missing names, non-finite numbers, predictions
that are labels, decimals, words DuckDB reads as numbers, HTTP codes, errors), every table it returns equals the
one `queries/conform_predictions.sql` returns, column for column, type for type and value for value; and the
plain chunks a live log writes do take it."""

from __future__ import annotations

import math
from datetime import datetime

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.sql import load_query
from console.store import conform_plain

MAX_TS = datetime(2026, 12, 1, 12, 0)


def query(table: pa.Table) -> pa.Table:
    con = duckdb.connect()
    con.execute(load_query("skeletons"))
    con.execute(load_query("log_instant"))
    con.register("chunk", table)
    return con.execute(load_query("conform_predictions"), {"max_ts": MAX_TS}).to_arrow_table()


def same(a: pa.Table, b: pa.Table) -> None:
    assert a.schema == b.schema, (a.schema, b.schema)
    for name in a.column_names:
        x, y = a.column(name).to_pylist(), b.column(name).to_pylist()
        assert len(x) == len(y)
        for u, v in zip(x, y):
            if isinstance(u, float) and isinstance(v, float):
                assert (math.isnan(u) and math.isnan(v)) or (u == v and math.copysign(1, u) == math.copysign(1, v)), \
                    (name, u, v)
            else:
                assert u == v and type(u) is type(v), (name, u, v)


TS = st.one_of(
    st.builds(lambda y, mo, d, h, mi, s, frac: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}Z",
              st.sampled_from([1, 1970, 2024, 2026, 2027, 9999]), st.integers(1, 12), st.integers(1, 31),
              st.integers(0, 24), st.integers(0, 60), st.integers(0, 60),
              st.sampled_from(["", ".5", ".123", ".000001", ".1234567", "."])),
    st.sampled_from(["2026-11-30T10:00:00+02:00", "2026-11-30 10:00:00", "2026-11-30T10:00:00", "2026-11-30",
                     "2026-12-01T12:00:00Z", "2026-12-01T12:00:00.000001Z", "not a time", "", " 2026-11-30T10:00:00Z"]),
    st.none())
NAME = st.one_of(st.sampled_from(["m", "fraud-detector", "3", " ", ""]), st.none())
PRED = st.one_of(st.sampled_from(["0", "1", "-0", "0.5", "1.50", "fraud", "cat", "", " 1", "+1", "1e3", "inf",
                                  "-Infinity", "NaN", "nan", "1_000", "0x10", "class_1", ".5", "1.", "12345678901234567",
                                  "0.1234567890123", "123456789.0123456", "-12345678901234.5"]),
                 st.none())
NUM = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none())
TEXT = st.one_of(st.sampled_from(["", "timeout", "x", "production", "canary"]), st.none())


PLAIN_TS = st.builds(lambda y, mo, d, h, mi, s, frac: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}Z",
                     st.sampled_from([1, 1970, 2024, 2026]), st.integers(1, 12), st.integers(1, 28),
                     st.integers(0, 23), st.integers(0, 59), st.integers(0, 59),
                     st.sampled_from(["", ".5", ".123", ".000001", ".999999"]))
PLAIN_NAME = st.sampled_from(["m", "fraud-detector", "3", " "])
PLAIN_NUM = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.none())
PLAIN_POS = st.one_of(st.floats(min_value=0, allow_nan=False, allow_infinity=False), st.none())  # a latency, a cost


@st.composite
def chunks(draw):
    """A chunk of 1-6 rows; in about half of them each field is drawn plain (what the shortcut may take) with
    a small chance of one odd value, in the rest from everything."""
    n = draw(st.integers(1, 6))
    plain = draw(st.booleans())

    def value(plain_values, any_values):
        return draw(plain_values if plain and draw(st.integers(0, 30)) else any_values)

    cols: dict[str, pa.Array] = {}
    cols["ts"] = pa.array([value(PLAIN_TS, TS) for _ in range(n)], pa.string_view())
    for name in ("model", "version", "request_id"):
        cols[name] = pa.array([value(PLAIN_NAME, NAME) for _ in range(n)],
                              draw(st.sampled_from([pa.string(), pa.string_view()])))
    for name in ("environment", "variant", "error"):
        if draw(st.booleans()):
            cols[name] = pa.array([draw(TEXT) for _ in range(n)], pa.string_view())
    if draw(st.booleans()):
        cols["prediction"] = pa.array([draw(PRED) for _ in range(n)], pa.string_view())
    for name in ("score", "latency_ms", "cost_usd"):
        kind = draw(st.sampled_from(["absent", "float", "int"]))
        # a plain latency or cost is not below zero (the query sets a negative one's row aside)
        lo = -10**6 if name == "score" else 0
        if kind == "float":
            cols[name] = pa.array([value(PLAIN_NUM if name == "score" else PLAIN_POS, NUM) for _ in range(n)],
                                  pa.float64())
        elif kind == "int":
            cols[name] = pa.array([value(st.one_of(st.integers(lo, 10**6), st.none()),
                                         st.one_of(st.integers(-10**6, 10**6), st.none())) for _ in range(n)],
                                  pa.int64())
    wide = st.one_of(st.integers(-2**63, 2**63 - 1), st.integers(0, 5000), st.none())
    for name, plain_values, values in (("status", *[st.sampled_from([200, 404, 499, 500, 503, None])] * 2),
                                       ("input_tokens", st.one_of(st.integers(0, 5000), st.none()), wide),
                                       ("output_tokens", st.one_of(st.integers(0, 5000), st.none()), wide)):
        if draw(st.booleans()):
            cols[name] = pa.array([value(plain_values, values) for _ in range(n)], pa.int64())
    if draw(st.integers(0, 9)) == 0:  # a column the shortcut leaves to the query
        cols[draw(st.sampled_from(["is_error", "prediction_num", "Score"]))] = pa.array([1.0] * n, pa.float64())
    cols["source"] = pa.array(["/logs/live.jsonl"] * n, pa.string())
    cols["loc"] = pa.array(range(1, n + 1), pa.int64())
    return pa.table(cols)


def test_the_shortcut_answers_only_with_the_querys_answer():
    taken: list[bool] = []

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(chunks())
    def check(table):
        fast = conform_plain.predictions(table, MAX_TS)
        taken.append(fast is not None)
        if fast is not None:
            same(fast, query(table))

    check()
    assert sum(taken) >= 20, (len(taken), sum(taken))  # it proves little if the shortcut seldom answered


def test_a_live_logs_plain_chunk_takes_it():
    table = pa.table({
        "ts": pa.array(["2026-11-30T10:00:00.000000Z", "2026-11-30T10:00:01.250000Z", "2026-12-01T12:00:00Z"],
                       pa.string_view()),
        "model": ["m", "m", "n"], "version": ["1", "1", "2"], "request_id": ["a", "b", "c"],
        "environment": ["production", None, "canary"], "prediction": ["1", "fraud", "0.25"],
        "score": [0.5, None, 0.25], "latency_ms": pa.array([12, 30, 7], pa.int64()), "status": [200, 503, None],
        "error": [None, "", "boom"], "cost_usd": [1e-6, 0.0, 2.5], "source": ["/l.jsonl"] * 3, "loc": [1, 2, 3]})
    fast = conform_plain.predictions(table, MAX_TS)
    assert fast is not None
    same(fast, query(table))
    assert fast.column("is_error").to_pylist() == [False, True, True]  # 503, then an error text
    assert fast.column("prediction_num").to_pylist() == [1.0, None, 0.25]
    assert fast.column("variant").to_pylist() == ["champion"] * 3


def test_anything_the_query_would_set_aside_goes_to_the_query():
    base = {"model": ["m"], "version": ["1"], "request_id": ["a"], "source": ["/l"], "loc": [1]}
    for ts, extra in (("2026-12-01T12:00:01Z", {}),  # after max_ts: clock skew
                      ("2026-02-30T10:00:00Z", {}),  # no such day
                      ("2026-11-30T10:00:00Z", {"score": [float("nan")]}),
                      ("2026-11-30T10:00:00Z", {"model": [""]})):
        assert conform_plain.predictions(pa.table({**base, "ts": [ts], **extra}), MAX_TS) is None


def test_microsecond_timestamps_are_judged_as_the_regex_judges_them():
    """A ts of 27 bytes (six digits of fraction: what a logger writes) is checked byte by byte instead of by the
    regex (`conform_plain._ts27`): every one-byte change of a valid ts, at every position, is judged as `_TS` judges
    it, alone and among valid ones, in a sliced array and across blocks."""
    import pyarrow.compute as pc

    good = "2026-11-30T23:59:59.123456Z"
    texts = [good, "0000-00-00T00:00:00.000000Z", "9999-19-39T19:59:59.999999Z", "2026-11-30T20:05:09.000001Z"]
    for i in range(27):
        for c in "0123456789-T:.Z ab\u00e9/;9":
            texts.append(good[:i] + c + good[i + 1:])
    texts = [t for t in texts if len(t.encode()) == 27] + ["2026-11-30T24:00:00.000000Z", "2026-11-30T30:00:00.000000Z"]
    for t in texts:
        expected = pc.match_substring_regex(pa.array([t]), conform_plain._TS)[0].as_py()
        assert conform_plain._ts27(pa.array([t])) is expected, t
        many = pa.array([good] * 40000 + [t] + [good] * 5)  # the odd one in the second block
        assert conform_plain._plain_ts(pa.chunked_array([many.slice(3)])) is expected, t
    assert conform_plain._ts27(pa.array([good, "2026-11-30T23:59:59Z"])) is None  # another length: the regex
    assert conform_plain._plain_ts(pa.chunked_array([pa.array([good]), pa.array(["2026-11-30T23:59:59Z"])]))
    assert not conform_plain._plain_ts(pa.chunked_array([pa.array([good]), pa.array(["2026-11-30T24:59:59Z"])]))


def test_predictions_all_decimal_or_with_words_take_the_querys_numbers():
    """The second regex (text read as no number) is skipped when every prediction is a plain decimal; the numbers
    are the query's either way, and a word DuckDB reads as a number still sends the chunk to the query."""
    base = {"ts": ["2026-11-30T10:00:00.000000Z"] * 3, "model": ["m"] * 3, "version": ["1"] * 3,
            "request_id": ["a", "b", "c"], "source": ["/l"] * 3, "loc": [1, 2, 3]}
    for preds in (["0", "1", "0.25"], ["1", None, "-3.5"], [None, None, None], ["1", "fraud", None]):
        table = pa.table({**base, "prediction": pa.array(preds, pa.string())})
        fast = conform_plain.predictions(table, MAX_TS)
        assert fast is not None, preds
        same(fast, query(table))
    assert conform_plain.predictions(pa.table({**base, "prediction": ["1", "inf", "0"]}), MAX_TS) is None
