"""A log's `ts` as a number since the epoch: seconds (`time.time()`), milliseconds (Java, JavaScript, Kafka
Connect), microseconds or nanoseconds, as a JSON number, the text of one (CSV), or a Parquet integer column.

Before, every such row was set aside as "ts is not a timestamp" by the store, while the `rollup` command read a
Parquet integer ts as microseconds and crashed on a text column of numbers ("could not find an appropriate
format"), and Spark cast numbers as seconds. Now one rule (`queries/log_instant.sql`, mirrored by
`rollup_sources.conform_ts`) reads the unit from the magnitude, as the vendor readers already did. Expected times
are computed here with Python's integer arithmetic.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from console.cli import main
from console.rollup_sources import conform_ts
from console.sql import load_query

EPOCH = datetime(1970, 1, 1)
T0 = datetime(2026, 7, 4, 12, 0)  # the rows' first time: a past month, read with --at latest


def expected(n: int) -> datetime:
    """The unit by magnitude, by hand: below 1e11 seconds, 1e14 milliseconds, 1e17 microseconds, else nanoseconds."""
    a = abs(n)
    us = n * 10**6 if a < 10**11 else n * 1000 if a < 10**14 else n if a < 10**17 else n // 1000
    return EPOCH + timedelta(microseconds=us)


def duck(values: pa.Array) -> list:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute(load_query("log_instant"))
    con.register("t", pa.table({"ts": values}))
    return [r[0] for r in con.execute("SELECT epoch_us(log_instant(ts)) FROM t").fetchall()]


def rollup(values: pa.Array) -> list:
    """Microseconds since the epoch (a datetime holds no year before 1 or after 9999; the readers do)."""
    return conform_ts(pa.table({"ts": values})).column("ts").cast(pa.int64()).to_pylist()


def us(t: datetime | None) -> int | None:
    return None if t is None else (t - EPOCH) // timedelta(microseconds=1)


WHOLE = st.one_of(st.integers(-10**10, 10**11 - 1), st.integers(10**11, 10**14 - 1),
                  st.integers(10**14, 10**17 - 1), st.integers(10**17, 9 * 10**18))


@settings(max_examples=200, deadline=None)
@given(st.lists(WHOLE, min_size=1, max_size=20))
def test_whole_numbers_are_read_exactly_in_the_unit_their_magnitude_gives(values):
    want = [us(expected(v)) for v in values]
    for arr in (pa.array(values, pa.int64()), pa.array([str(v) for v in values])):
        assert duck(arr) == want
        assert rollup(arr) == want


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e18, 1e18, allow_nan=False), st.floats(allow_nan=True, allow_infinity=True)),
                min_size=1, max_size=20))
def test_the_store_and_the_rollup_read_fractions_alike(values):
    for arr in (pa.array(values, pa.float64()), pa.array([repr(v) for v in values])):
        assert duck(arr) == rollup(arr)


def test_iso_text_numbers_and_nonsense_mixed_in_one_column():
    values = ["nonsense", "1783166400", "2026-07-04T12:00:00Z", "1783166400250", " 1783166400.5 ",
              "2026-07-04T14:00:00+02:00", "true", "", None, "1e9", "-1"]
    want = [None, T0, T0, T0 + timedelta(milliseconds=250), T0 + timedelta(milliseconds=500), T0, None, None, None,
            EPOCH + timedelta(seconds=10**9), EPOCH - timedelta(seconds=1)]
    want = [us(t) for t in want]
    assert duck(pa.array(values)) == want
    assert rollup(pa.array(values)) == want  # before: the column was refused whole (its first value is no time)
    assert duck(pa.array([True, False])) == rollup(pa.array([True, False])) == [None, None]


def _rows(n: int, stamp) -> list[dict]:
    return [{"ts": stamp(T0 + timedelta(minutes=i)), "model": "m", "version": "1", "request_id": f"r{i}",
             "latency_ms": 10.0 + i % 5, "prediction": "1"} for i in range(n)]


def _seconds(t: datetime) -> int:
    return int((t - EPOCH).total_seconds())


def test_logs_with_epoch_times_are_read_by_the_store_the_cli_and_the_rollup(tmp_path, capsys):
    logs = tmp_path / "logs"
    logs.mkdir()
    # 100 rows in seconds, 100 in milliseconds, 50 in float seconds, 50 as text of nanoseconds; one bad row
    jsonl = (_rows(100, _seconds) + [dict(r, request_id=f"ms{i}") for i, r in enumerate(
        _rows(100, lambda t: _seconds(t) * 1000 + 7))]
        + [dict(r, request_id=f"f{i}") for i, r in enumerate(_rows(50, lambda t: _seconds(t) + 0.25))]
        + [dict(r, request_id=f"ns{i}") for i, r in enumerate(_rows(50, lambda t: str(_seconds(t) * 10**9)))])
    jsonl.append({"ts": "NaN", "model": "m", "version": "1", "request_id": "bad", "prediction": "1"})
    (logs / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in jsonl))
    with open(logs / "q.csv", "w", newline="") as fh:  # CSV: every value is text
        w = csv.DictWriter(fh, fieldnames=list(_rows(1, _seconds)[0]))
        w.writeheader()
        w.writerows(dict(r, request_id=f"c{i}") for i, r in enumerate(_rows(60, _seconds)))
    part = logs / "date=2026-07-04"
    part.mkdir()
    rows = _rows(40, lambda t: _seconds(t) * 1000)  # Kafka Connect's int64 milliseconds
    pq.write_table(pa.table({k: [dict(r, request_id=f"pq{i}")[k] for i, r in enumerate(rows)] for k in rows[0]},
                            schema=pa.schema([("ts", pa.int64()), ("model", pa.string()), ("version", pa.string()),
                                              ("request_id", pa.string()), ("latency_ms", pa.float64()),
                                              ("prediction", pa.string())])), part / "part-0.parquet")
    toml = tmp_path / "console.toml"
    toml.write_text(f'[[logs]]\nkind = "predictions"\npath = "{logs}/*.jsonl"\n'
                    f'[[logs]]\nkind = "predictions"\npath = "{logs}/*.csv"\n'
                    f'[[logs]]\nkind = "predictions"\npath = "{logs}/date=*/*.parquet"\n'
                    '[models.m]\ntask = "classification"\n')
    assert main(["snapshot", "--config", str(toml), "--at", "latest", "--format", "json"]) == 0
    snap = json.loads(capsys.readouterr().out)
    assert (snap["counts"]["predictions"], snap["malformed"]) == (100 + 100 + 50 + 50 + 60 + 40, 1), snap
    newest = T0 + timedelta(minutes=99, milliseconds=7)  # the last millisecond row
    assert snap["now"].startswith(newest.isoformat()[:19]), snap["now"]

    from console.config import parse_file
    from console.warehouse import Warehouse

    wh = Warehouse(parse_file(toml), tmp_path / "store")
    wh.refresh()
    with wh.cursor() as cur:
        got = dict(cur.execute("SELECT request_id, ts FROM predictions").fetchall())
        reason = cur.execute("SELECT reason FROM malformed").fetchall()
    wh.close()
    assert reason == [("ts is not a timestamp",)]
    assert got["r0"] == got["c0"] == got["pq0"] == T0
    assert got["ms3"] == T0 + timedelta(minutes=3, milliseconds=7)
    assert got["f49"] == T0 + timedelta(minutes=49, milliseconds=250)
    assert got["ns10"] == T0 + timedelta(minutes=10)

    rc = main(["rollup", "--config", str(toml), "--path", str(tmp_path / "rollups"), "--since", "2026-07-04T00:00:00",
               "--until", "2026-07-05T00:00:00", "--no-ready", "--format", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert json.loads(out.out)["rows"] == 400  # the same rows as the store (before: the Parquet's in 1970)


def test_labels_and_deployments_with_epoch_times_are_read_by_the_same_rule(tmp_path):
    from console.config import parse_file
    from console.warehouse import Warehouse

    (tmp_path / "labels.jsonl").write_text("".join(json.dumps(
        {"request_id": f"r{i}", "label": "1", "ts": (_seconds(T0) + 60 * i) * 1000}) + "\n" for i in range(20)))
    (tmp_path / "deploys.jsonl").write_text(json.dumps(
        {"ts": _seconds(T0), "model": "m", "version": "2", "event": "deploy", "environment": "production"}) + "\n")
    toml = tmp_path / "console.toml"
    toml.write_text(f'[[logs]]\nkind = "labels"\npath = "{tmp_path}/labels.jsonl"\n'
                    f'[[logs]]\nkind = "deployments"\npath = "{tmp_path}/deploys.jsonl"\n'
                    '[models.m]\ntask = "classification"\n')
    wh = Warehouse(parse_file(toml), tmp_path / "store")
    wh.refresh()
    with wh.cursor() as cur:
        labels = dict(cur.execute("SELECT request_id, ts FROM labels").fetchall())
        deploys = cur.execute("SELECT ts FROM deployments").fetchall()
        bad = cur.execute("SELECT count(*) FROM malformed").fetchone()[0]
    wh.close()
    assert (len(labels), labels["r19"], deploys, bad) == (20, T0 + timedelta(minutes=19), [(T0,)], 0)
