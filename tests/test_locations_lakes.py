"""Delta and Iceberg tables (written by deltalake and pyiceberg) read through lakes.py, pruned by time."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from console.sources import lakes
from console.sources.locations import StorageError
from s3_server import s3_server  # noqa: F401  (session fixture)

DAYS = [date(2026, 11, 27) + timedelta(days=i) for i in range(4)]
PER_DAY = 240


def _fleet() -> pa.Table:
    ts, day, model, latency = [], [], [], []
    for d in DAYS:
        for i in range(PER_DAY):
            t = datetime(d.year, d.month, d.day) + timedelta(minutes=6 * i)
            ts.append(t)
            day.append(d)
            model.append("fraud" if i % 4 else "churn")
            latency.append(float((i * 7) % 31))
    return pa.table({"ts": pa.array(ts, pa.timestamp("us")), "date": pa.array(day, pa.date32()),
                     "model": model, "latency_ms": latency})


def _expected(table: pa.Table, since: datetime, until: datetime) -> tuple:
    """The oracle: the rows of the window counted by pyarrow over the table in memory."""
    mask = pc.and_(pc.greater_equal(table["ts"], pa.scalar(since, pa.timestamp("us"))),
                   pc.less_equal(table["ts"], pa.scalar(until, pa.timestamp("us"))))
    rows = table.filter(mask)
    return rows.num_rows, round(sum(rows["latency_ms"].to_pylist()), 6)


def _query(dataset, since: datetime, until: datetime) -> tuple:
    con = duckdb.connect()
    con.register("t", dataset)
    return con.execute("SELECT count(*), round(sum(latency_ms), 6) FROM t WHERE ts BETWEEN ? AND ?",
                       [since, until]).fetchall()[0]


def _fragment_days(dataset) -> set:
    return {str(f.path).split("date=")[1][:10] for f in dataset.get_fragments()}


@pytest.fixture(scope="module")
def fleet() -> pa.Table:
    return _fleet()


def test_delta_local_with_partition_pruning(tmp_path, fleet):
    from deltalake import write_deltalake

    write_deltalake(str(tmp_path / "preds"), fleet, partition_by=["date"])
    whole = lakes.delta_dataset(str(tmp_path / "preds"))
    assert whole.count_rows() == fleet.num_rows
    since, until = datetime(2026, 11, 29, 12), datetime(2026, 11, 30, 3)
    window = lakes.delta_dataset(str(tmp_path / "preds"), since=since, until=until)
    # the window's days and one a side (a table partitioned by a local or an ingestion date): three of four
    assert _fragment_days(window) == {"2026-11-28", "2026-11-29", "2026-11-30"}
    assert _query(window, since, until) == _expected(fleet, since, until)
    con = duckdb.connect()
    con.register("t", whole)
    plan = con.execute("EXPLAIN SELECT count(*) FROM t WHERE date = DATE '2026-11-28'").fetchall()[0][1]
    assert "Filters:" in plan
    assert con.execute("SELECT count(*) FROM t WHERE date = DATE '2026-11-28'").fetchall()[0] == (PER_DAY,)
    # A second commit is seen on the next read; an older version stays readable.
    write_deltalake(str(tmp_path / "preds"), fleet.slice(0, 10), mode="append")
    assert lakes.delta_dataset(str(tmp_path / "preds")).count_rows() == fleet.num_rows + 10
    assert lakes.delta_dataset(str(tmp_path / "preds"), version=0).count_rows() == fleet.num_rows


def test_delta_on_s3(fleet, s3_server):  # noqa: F811
    from deltalake import write_deltalake

    s3_server.client().create_bucket(Bucket="lake")
    options = s3_server.delta_writer_options()
    write_deltalake("s3://lake/tables/preds", fleet, partition_by=["date"], storage_options=options)
    since, until = datetime(2026, 11, 28), datetime(2026, 11, 28, 23, 59)
    window = lakes.delta_dataset("s3://lake/tables/preds", s3_server.storage, since=since, until=until)
    assert _fragment_days(window) == {"2026-11-27", "2026-11-28", "2026-11-29"}  # the day and one a side
    expected = _expected(fleet, since, until)
    assert expected[0] == PER_DAY and _query(window, since, until) == expected
    whole = lakes.delta_dataset("s3://lake/tables/preds", s3_server.storage)
    assert whole.count_rows() == fleet.num_rows


def test_a_delta_table_behind_a_silent_server_costs_one_attempt(fleet, s3_server):  # noqa: F811
    """delta-rs's object_store retries a request that timed out (10 times by default): a Delta table on an
    S3 endpoint that took connections and never answered cost `snapshot` about a minute (qa6: 58 s for one
    table) while its note said "no answer ... within 5 s". One attempt per call, as every other S3 reader."""
    from deltalake import write_deltalake

    from s3_server import Switch

    s3_server.client().create_bucket(Bucket="silent-lake")
    options = s3_server.delta_writer_options()
    write_deltalake("s3://silent-lake/preds", fleet, partition_by=["date"], storage_options=options)
    relay = Switch(s3_server.endpoint)
    try:
        storage = {**s3_server.storage, "endpoint_url": relay.endpoint}
        assert lakes.delta_dataset("s3://silent-lake/preds", storage).count_rows() == fleet.num_rows
        relay.set("silent")
        with pytest.raises(StorageError) as err:
            lakes.delta_dataset("s3://silent-lake/preds", storage)
        assert str(err.value).startswith("s3://silent-lake/preds: no answer from") and "\n" not in str(err.value)
        assert len(relay._held) == 1  # the connections the silent server took: one attempt
    finally:
        relay.close()


def test_delta_errors_are_one_line(tmp_path, s3_server):  # noqa: F811
    with pytest.raises(StorageError) as err:
        lakes.delta_dataset(str(tmp_path / "nothing"))
    assert str(err.value).startswith(str(tmp_path / "nothing") + ": ") and "\n" not in str(err.value)
    with pytest.raises(StorageError) as err:
        lakes.delta_dataset("s3://no-such-lake/preds", s3_server.storage)
    text = str(err.value)
    assert text.startswith("s3://no-such-lake/preds: ") and "\n" not in text
    assert s3_server.secret_access_key not in text


def test_a_delta_table_whose_log_is_damaged_is_one_line_without_the_readers_backtrace(tmp_path, fleet):
    """delta-rs puts a Rust backtrace ("0: <unknown> 1: <unknown> ... start_thread at ./nptl/...") under its
    message: the note showed "Kernel error: Json error: ... 0: <unknown> 1: <unknown> ..." cut at 200 chars."""
    from deltalake import write_deltalake

    write_deltalake(str(tmp_path / "preds"), fleet, partition_by=["date"])
    (tmp_path / "preds" / "_delta_log" / "00000000000000000000.json").write_text('{"add": {garbage\n')
    with pytest.raises(StorageError) as err:
        lakes.delta_dataset(str(tmp_path / "preds"))
    text = str(err.value)
    assert text.startswith(str(tmp_path / "preds") + ": ") and "\n" not in text
    assert "Json error" in text and "<unknown>" not in text and "pthread" not in text, text


def _iceberg_catalog(root):
    from pyiceberg.catalog.sql import SqlCatalog

    options = {"catalog": "ops", "type": "sql", "uri": f"sqlite:///{root}/catalog.db",
               "warehouse": f"file://{root}/warehouse"}
    (root / "warehouse").mkdir()
    catalog = SqlCatalog("ops", **{k: v for k, v in options.items() if k != "catalog"})
    return catalog, options


def test_iceberg_with_a_sqlite_catalog_prunes_by_day(tmp_path, fleet):
    from pyiceberg.transforms import DayTransform

    catalog, options = _iceberg_catalog(tmp_path)
    catalog.create_namespace("serving")
    table = catalog.create_table("serving.preds", schema=fleet.schema)
    with table.update_spec() as spec:
        spec.add_field("ts", DayTransform(), "ts_day")
    for d in DAYS:  # one append per day: one data file per day partition
        table.append(fleet.filter(pc.equal(fleet["date"], pa.scalar(d, pa.date32()))))

    whole = lakes.iceberg_dataset("serving.preds", options)
    assert whole.count_rows() == fleet.num_rows
    since, until = datetime(2026, 11, 30, 1), datetime(2026, 11, 30, 5)
    window = lakes.iceberg_dataset("serving.preds", options, since=since, until=until)
    assert len(list(window.get_fragments())) == 1  # the files of one day of four
    assert _query(window, since, until) == _expected(fleet, since, until)
    # A filter on another column goes to the planner too.
    from pyiceberg.expressions import EqualTo

    churn = lakes.iceberg_dataset("serving.preds", options, row_filter=EqualTo("model", "churn"))
    con = duckdb.connect()
    con.register("t", churn)
    assert con.execute("SELECT count(*) FROM t WHERE model = 'churn'").fetchall()[0] == (len(DAYS) * PER_DAY // 4,)


def test_an_iceberg_table_whose_ts_is_epoch_ms_or_text_keeps_every_row_of_a_window(tmp_path, fleet):
    """A ts logged as epoch milliseconds (a long) or as ISO text with an offset: the contract reads both, so a
    window over such a table keeps every file that may hold it (the rows are filtered as they are parsed). The
    window used to become a filter on the column as it is: 'Could not convert 2026-11-30T01:00:00 into a long'
    (the `rollup` command exited 4 on a table the console read), and text compared as text, which is not time."""
    catalog, options = _iceberg_catalog(tmp_path)
    catalog.create_namespace("serving")
    ms = pc.divide(fleet["ts"].cast(pa.int64()), 1000)
    # 04:30 UTC is 06:30 at +02:00: as text it sorts after the window's end
    text = pa.array([f"{t + timedelta(hours=2):%Y-%m-%dT%H:%M:%S}+02:00" for t in fleet["ts"].to_pylist()])
    since, until = datetime(2026, 11, 30, 1), datetime(2026, 11, 30, 5)
    for name, ts, read in (("text", text, lambda v: datetime.fromisoformat(v).astimezone(timezone.utc)
                            .replace(tzinfo=None)),
                           ("ms", ms, lambda v: datetime(1970, 1, 1) + timedelta(milliseconds=v))):
        rows = fleet.set_column(0, "ts", ts)
        table = catalog.create_table(f"serving.{name}", schema=rows.schema)
        for block in range(0, rows.num_rows, PER_DAY // 6):  # a data file per 4 hours
            table.append(rows.slice(block, PER_DAY // 6))
        window = lakes.iceberg_dataset(f"serving.{name}", options, since=since, until=until).to_table()
        got = [t for t in map(read, window["ts"].to_pylist()) if since <= t <= until]
        assert len(got) == _expected(fleet, since, until)[0], name


def test_a_local_iceberg_table_needs_no_s3_settings(tmp_path, fleet, monkeypatch, capsys):
    """A `[storage.s3]` table for other sources, its keys from unset ${VAR}s, marked a local Iceberg table's source
    down ("environment variable AWS_ACCESS_KEY_ID is not set"; probe A, twenty-ninth session): a `file://`
    warehouse reads no S3 settings, as a local Delta table does not."""
    import json

    from console.cli import main

    monkeypatch.delenv("MC_TEST_UNSET_KEY", raising=False)
    catalog, options = _iceberg_catalog(tmp_path)
    catalog.create_namespace("serving")
    catalog.create_table("serving.preds", schema=fleet.schema).append(fleet)
    opts = "".join(f'{k} = "{v}"\n' for k, v in options.items())
    (tmp_path / "c.toml").write_text(
        '[store]\npath = "store"\n[storage.s3]\nendpoint_url = "http://127.0.0.1:9"\n'
        'access_key_id = "${MC_TEST_UNSET_KEY}"\nsecret_access_key = "${MC_TEST_UNSET_KEY}"\n'
        '[[logs]]\nkind = "predictions"\npath = "serving.preds"\nformat = "iceberg"\n[logs.options]\n' + opts,
        encoding="utf-8")
    main(["--config", str(tmp_path / "c.toml"), "snapshot", "--format", "json", "--at", "2026-12-01T00:00:00Z"])
    out = json.loads(capsys.readouterr().out)
    assert "not set" not in json.dumps(out), out.get("log_notes")
    # every row read (this fleet carries no version, so they are set aside as malformed: read all the same)
    assert out["counts"]["predictions"] + out["counts"]["malformed"] == fleet.num_rows


def test_iceberg_errors_are_one_line(tmp_path):
    catalog, options = _iceberg_catalog(tmp_path)
    with pytest.raises(StorageError) as err:
        lakes.iceberg_dataset("serving.missing", options)
    assert str(err.value) in ("iceberg ops.serving.missing: no such table in the catalog",
                              "iceberg ops.serving.missing: no such namespace in the catalog")


def test_a_rest_catalog_that_never_answers_is_one_line_naming_it(tmp_path):
    """pyiceberg's REST catalog sends with no timeout: a catalog whose port takes the connection and never
    answers held `snapshot` for as long as the socket lived (qa6: over 4 minutes, killed). It is now one note
    naming the table and the catalog, and the rest of the workspace is reported (exit 0)."""
    import json
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)  # the kernel completes the handshake; nothing ever reads or answers
    uri = f"http://127.0.0.1:{hung.getsockname()[1]}"
    local = tmp_path / "local.parquet"
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"ts": pa.array([datetime(2026, 11, 30, 1)] * 3, pa.timestamp("us")),
                             "model": ["m"] * 3, "version": ["1"] * 3, "request_id": ["1", "2", "3"],
                             "latency_ms": [10.0, 20.0, 30.0]}), local)
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[store]\npath = "store"\n'
                   '[[logs]]\nkind = "predictions"\npath = "ml.preds"\nformat = "iceberg"\n'
                   f'[logs.options]\ncatalog = "ops"\ntype = "rest"\nuri = "{uri}"\n'
                   f'[[logs]]\nkind = "predictions"\npath = "{local}"\nformat = "parquet"\n')
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    try:
        out = subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), "snapshot", "--format", "json",
                              "--at", "2026-11-30T02:00:00"], capture_output=True, text=True, env=env, timeout=120)
    finally:
        hung.close()
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if "ops.ml.preds" in line]
    assert len(lines) == 1 and uri in lines[0] and "no answer" in lines[0], out.stderr
    assert json.loads(out.stdout)["counts"]["predictions"] == 3


def test_an_iceberg_table_behind_a_silent_server_costs_one_attempt(tmp_path, fleet, s3_server):  # noqa: F811
    """pyiceberg's FileIO reads through pyarrow's S3 file system with its default retries (3 attempts): an
    Iceberg table in a bucket whose endpoint took connections and never answered cost 16 s (qa6) while its
    note said "no answer ... within 5 s". One attempt per call, as every other S3 reader."""
    from pyiceberg.catalog.sql import SqlCatalog

    from console.sources import s3
    from s3_server import Switch

    s3_server.client().create_bucket(Bucket="silent-ice")
    options = {"catalog": "ops", "type": "sql", "uri": f"sqlite:///{tmp_path}/catalog.db",
               "warehouse": "s3://silent-ice/wh"}
    # The table is written with pyarrow's default retries and a long timeout: only the reads are under test.
    # (moto before 5.2.2 refused pyarrow's multipart completions with an empty error: pyproject asks for 5.2.2.)
    writer = s3.fileio_properties(s3.settings(s3_server.storage))
    del writer["s3.retry-strategy-impl"]
    writer["s3.request-timeout"] = "60"
    catalog = SqlCatalog("ops", uri=options["uri"], warehouse=options["warehouse"], **writer)
    catalog.create_namespace("serving")
    catalog.create_table("serving.preds", schema=fleet.schema).append(fleet)
    relay = Switch(s3_server.endpoint)
    try:
        storage = {**s3_server.storage, "endpoint_url": relay.endpoint}
        assert lakes.iceberg_dataset("serving.preds", options, storage).count_rows() == fleet.num_rows
        relay.set("silent")
        with pytest.raises(StorageError) as err:
            lakes.iceberg_dataset("serving.preds", options, storage)
        assert str(err.value).startswith("iceberg ops.serving.preds: no answer from"), str(err.value)
        assert len(relay._held) == 1  # the connections the silent server took: one attempt
    finally:
        relay.close()


def test_a_missing_sql_catalog_is_named_and_not_created(tmp_path):
    """A SQL catalog whose SQLite file is not there: the note was "(sqlite3.OperationalError) unable to open
    database file (Background on this error at: https://sqlalche.me/...)", naming neither file nor folder, and
    when the folder existed pyiceberg created an empty catalog there, in the operator's folder (qa6). Now one
    line naming the catalog's file, and nothing is written."""
    (tmp_path / "ice").mkdir()
    for folder in (tmp_path / "ice", tmp_path / "gone"):
        db = folder / "catalog.db"
        options = {"catalog": "ops", "type": "sql", "uri": f"sqlite:///{db}", "warehouse": f"file://{folder}"}
        with pytest.raises(StorageError) as err:
            lakes.iceberg_dataset("ml.preds", options)
        assert str(err.value) == f"iceberg ops.ml.preds: the catalog {db} does not exist", str(err.value)
        assert not db.exists()


def test_two_tables_of_one_hung_rest_catalog_wait_once_in_a_round():
    """Two Iceberg tables of one REST catalog whose port takes connections and never answers: each waited its
    own 5 s timeout. In one round of reads (a refresh) the second is refused at once with the first's reason,
    naming its own table; outside a round (a lone read) each read still asks."""
    from console.sources import endpoints
    from s3_server import Switch

    relay = Switch("http://127.0.0.1:9")  # never forwards: silent from the start
    relay.set("silent")
    options = {"catalog": "ops", "type": "rest", "uri": relay.endpoint}
    try:
        with endpoints.one_round():
            notes = []
            for table in ("ml.a", "ml.b"):
                with pytest.raises(StorageError) as err:
                    lakes.iceberg_dataset(table, options)
                notes.append(str(err.value))
        assert len(relay._held) == 1, notes
        assert notes == [f"iceberg ops.{t}: no answer from the catalog {relay.endpoint} within 5 s (network timeout)"
                         for t in ("ml.a", "ml.b")]
        with pytest.raises(StorageError):
            lakes.iceberg_dataset("ml.a", options)
        assert len(relay._held) == 2
    finally:
        relay.close()
