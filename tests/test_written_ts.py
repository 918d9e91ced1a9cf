"""A log's `ts` in the forms servers and Python's logging write, which the ISO cast does not read: `asctime`
(`2026-11-30 10:15:00,123`, python-json-logger's default), nginx's and Apache's `$time_local`
(`30/Nov/2026:10:15:00 +0100`) and an HTTP date (`Mon, 30 Nov 2026 10:15:00 GMT`).

Before, every such row was set aside as "ts is not a timestamp". Now `written_instant` in
`queries/log_instant.sql` reads them, and `rollup_sources._written` the same for the `rollup` command and Spark.
Expected instants are Python's `datetime` arithmetic on the values written.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from console.cli import main
from console.rollup_sources import conform_ts
from console.sql import load_query

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()


def asctime(t: datetime, _offset: int) -> str:
    return f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d}"


def access_log(t: datetime, offset: int) -> str:
    sign, m = ("+" if offset >= 0 else "-"), abs(offset)
    return f"{t.day:02d}/{MONTHS[t.month - 1]}/{t:%Y:%H:%M:%S} {sign}{m // 60:02d}{m % 60:02d}"


def http_date(t: datetime, _offset: int) -> str:
    return f"{DAYS[t.weekday()]}, {t.day:02d} {MONTHS[t.month - 1]} {t:%Y %H:%M:%S} GMT"


FORMS = {asctime: True, access_log: False, http_date: True}  # form -> written in UTC (no offset of its own)


def _instants(values: list[str | None]) -> tuple[list, list]:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute(load_query("log_instant"))
    con.register("t", pa.table({"ts": pa.array(values, pa.string())}))
    duck = [r[0] for r in con.execute("SELECT log_instant(ts) FROM t").fetchall()]
    return duck, conform_ts(pa.table({"ts": pa.array(values, pa.string())})).column("ts").to_pylist()


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(list(FORMS)),
       st.lists(st.tuples(st.datetimes(datetime(1990, 1, 1), datetime(2090, 1, 1)), st.integers(-720, 840)),
                min_size=1, max_size=12))
def test_each_written_form_is_read_as_the_instant_it_names_by_both_readers(form, times):
    values, want = [], []
    for t, offset in times:
        offset = 0 if FORMS[form] else offset
        values.append(form(t, offset))
        exact = t.replace(microsecond=t.microsecond // 1000 * 1000 if form is asctime else 0)
        want.append(exact - timedelta(minutes=offset))
    duck, rollup = _instants(values)
    assert duck == want and rollup == want


def test_what_is_no_time_stays_no_time():
    values = ["30/Foo/2026:10:15:00 +0000", "2026-11-30 10:15:00;123", "Mon, 31 Nov 2026 10:15:00 GMT", "junk", None]
    assert _instants(values) == ([None] * 5, [None] * 5)


def test_a_python_json_logger_log_is_counted_by_the_store_the_cli_and_the_rollup(tmp_path, capsys):
    start = datetime(2026, 7, 4, 12, 0, tzinfo=timezone.utc)
    rows = [{"asctime": asctime(start + timedelta(seconds=37 * i, milliseconds=i), 0), "levelname": "INFO",
             "model": "m", "version": "1", "request_id": f"r{i}", "latency_ms": 10 + i % 5} for i in range(400)]
    rows += [{"asctime": "yesterday", "model": "m", "version": "1", "request_id": "bad", "latency_ms": 1}]
    (tmp_path / "app.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "app.jsonl"\nformat = "jsonl"\n[logs.fields]\n'
                   'ts = "asctime"\n[store]\npath = "store"\n[rollups]\npath = "rollups"\n')
    assert main(["--config", str(cfg), "snapshot", "--at", "latest", "--format", "json"]) == 0
    snap = json.loads(capsys.readouterr().out)
    newest = start + timedelta(seconds=37 * 399, milliseconds=399)
    assert snap["counts"]["predictions"] == 400 and snap["counts"]["last_prediction"] == \
        f"{newest:%Y-%m-%dT%H:%M:%S.%f}Z"
    assert [(m["reason"], m["n"]) for m in snap["malformed_by"]] == [
        ("ts is not a timestamp (`asctime` in this log)", 1)]
    assert main(["--config", str(cfg), "rollup", "--no-ready", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 400


def test_rfc_3339_lowercase_t_and_z_are_read_by_both_readers():
    """RFC 3339 allows `t` and `z` in lower case: each was set aside as "ts is not a timestamp"."""
    values = ["2026-07-01T10:00:00z", "2026-07-01t10:00:00.250Z", "2026-07-01t10:00:00+02:00", " 2026-07-01T10:00z "]
    want = [datetime(2026, 7, 1, 10), datetime(2026, 7, 1, 10, 0, 0, 250000), datetime(2026, 7, 1, 8),
            datetime(2026, 7, 1, 10)]
    assert _instants(values) == (want, want)
