"""Locations over a real S3 server (moto, server mode, 127.0.0.1) against the same files on local disk."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console.config import Secret
from console.sources import locations, partitions, s3
from console.sources.locations import FileInfo, ObjectReplaced, StorageError
from s3_server import s3_auth_server, s3_server  # noqa: F401  (session fixtures)

DAYS = ["2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"]
HOURS = [0, 5, 23]
ROWS = 50  # per file


def _rows(day: str, hour: int, n: int = ROWS) -> pa.Table:
    start = datetime.fromisoformat(day) + timedelta(hours=hour)
    return pa.table({
        "ts": pa.array([start + timedelta(seconds=i) for i in range(n)], pa.timestamp("us")),
        "model": pa.array(["fraud" if i % 3 else "churn" for i in range(n)]),
        "latency_ms": pa.array([float(i % 17) for i in range(n)]),
        "score": pa.array([i / n for i in range(n)]),
    })


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, s3_server):  # noqa: F811
    """The same tree on disk and in the bucket `logs`: Hive Parquet by date, by dt/hour, JSONL, SageMaker."""
    root = tmp_path_factory.mktemp("fleet")
    for day in DAYS:
        d = root / "hive" / f"date={day}"
        d.mkdir(parents=True)
        pq.write_table(pa.concat_tables([_rows(day, h) for h in HOURS]), d / "part-0.parquet")
        for h in HOURS:
            d = root / "hourly" / f"dt={day}" / f"hour={h:02d}"
            d.mkdir(parents=True)
            pq.write_table(_rows(day, h), d / "part-0.parquet")
            d = root / "jsonl" / f"date={day}"
            d.mkdir(parents=True, exist_ok=True)
            with open(d / f"h{h:02d}.jsonl", "w") as f:
                for r in _rows(day, h).to_pylist():
                    f.write(json.dumps({**r, "ts": r["ts"].isoformat()}) + "\n")
            y, m, dd = day.split("-")
            d = root / "sagemaker" / "fraud-ep" / "AllTraffic" / y / m / dd / f"{h:02d}"
            d.mkdir(parents=True)
            (d / f"capture-{h:02d}.jsonl").write_text('{"captureData": {}}\n' * 3)
    (root / "hive" / "_SUCCESS").write_text("")
    client = s3_server.client()
    client.create_bucket(Bucket="logs")
    s3_server.upload_tree("logs", root, "fleet")
    return root


def _rel(files: list[FileInfo], base: str) -> list[str]:
    return sorted(f.path.split(base, 1)[1].lstrip("/") for f in files)


def _listed_prefixes(storage: dict) -> list[str]:
    """Record the Prefix of every ListObjectsV2 call the locations client makes from now on."""
    seen: list[str] = []
    client = s3.client(s3.settings(storage))
    client.meta.events.register("provide-client-params.s3.ListObjectsV2",
                                lambda params, **kw: seen.append(params.get("Prefix", "")))
    return seen


# ---- parsing -----------------------------------------------------------------------------------------

def test_parse_location_splits_root_and_glob(tmp_path):
    loc = locations.parse_location("s3://logs/fleet/date=*/part-*.parquet")
    assert (loc.scheme, loc.bucket, loc.root, loc.pattern) == ("s3", "logs", "fleet", "date=*/part-*.parquet")
    assert locations.parse_location("s3://logs").root == ""
    assert locations.parse_location("s3a://logs/x/").root == "x/"
    local = locations.parse_location(f"{tmp_path}/**/*.jsonl")
    assert (local.scheme, local.root, local.pattern) == ("file", str(tmp_path), "**/*.jsonl")
    assert locations.parse_location(f"file://{tmp_path}").root == str(tmp_path)
    with pytest.raises(StorageError, match="no bucket"):
        locations.parse_location("s3:///x")


@pytest.mark.parametrize("path, expected", [
    ("date=2026-11-30", (datetime(2026, 11, 30), datetime(2026, 12, 1))),
    ("dt=2026-11-30/hour=05", (datetime(2026, 11, 30, 5), datetime(2026, 11, 30, 6))),
    ("dt=20261130", (datetime(2026, 11, 30), datetime(2026, 12, 1))),
    ("year=2026/month=12", (datetime(2026, 12, 1), datetime(2027, 1, 1))),
    ("year=2026/month=02/day=28/hour=23", (datetime(2026, 2, 28, 23), datetime(2026, 3, 1))),
    ("ep/AllTraffic/2026/11/30/05", (datetime(2026, 11, 30, 5), datetime(2026, 11, 30, 6))),
    ("ep/AllTraffic/2026", (datetime(2026, 1, 1), datetime(2027, 1, 1))),
    ("model=fraud", None),
    ("date=garbage", None),
    ("date=2026-02-30", None),
])
def test_time_range_of_partition_folders(path, expected):
    assert partitions.time_range(path.split("/")) == expected


def test_glob_matching_and_descent():
    g = partitions.Glob("date=*/h?[0-5].jsonl")
    assert g.match("date=2026-11-30/h05.jsonl") and not g.match("date=2026-11-30/x/h05.jsonl")
    assert g.may_contain(["date=2026-11-30"]) and not g.may_contain(["other"])
    assert not g.may_contain(["date=x", "deeper"])
    deep = partitions.Glob("**/*.parquet")
    assert deep.match("a/b/c.parquet") and deep.match("c.parquet") and deep.may_contain(["a", "b"])
    everything = partitions.Glob(None)
    assert everything.match("date=1/x.parquet") and not everything.match("_SUCCESS")


# ---- listing -----------------------------------------------------------------------------------------

def test_listing_s3_equals_local(fleet, s3_server):  # noqa: F811
    for sub in ["hive", "hourly", "jsonl", "sagemaker"]:
        local = locations.list_files(str(fleet / sub))
        remote = locations.list_files(f"s3://logs/fleet/{sub}/", s3_server.storage)
        assert _rel(remote, f"s3://logs/fleet/{sub}") == _rel(local, str(fleet / sub))
        assert [f.size for f in remote] == [f.size for f in local]
        assert all(f.etag for f in remote) and all(f.etag is None for f in local)
        assert all(f.mtime_ns > 0 for f in remote)
    # _SUCCESS is not a log
    assert not any(f.path.endswith("_SUCCESS") for f in locations.list_files(str(fleet / "hive")))


def test_listing_prunes_partitions_outside_the_window(fleet, s3_server):  # noqa: F811
    since, until = datetime(2026, 11, 29, 4), datetime(2026, 11, 29, 6)
    prefixes = _listed_prefixes(s3_server.storage)
    remote = locations.list_files("s3://logs/fleet/hourly/", s3_server.storage, since, until)
    assert _rel(remote, "s3://logs/fleet/hourly") == ["dt=2026-11-29/hour=05/part-0.parquet"]
    # Only the root and the one day that straddles the window were asked for; no other day or hour.
    assert prefixes == ["fleet/hourly/", "fleet/hourly/dt=2026-11-29/", "fleet/hourly/dt=2026-11-29/hour=05/"]
    local = locations.list_files(str(fleet / "hourly"), None, since, until)
    assert _rel(local, str(fleet / "hourly")) == ["dt=2026-11-29/hour=05/part-0.parquet"]

    # A day wholly inside the window is listed in one flat call, not hour by hour.
    prefixes.clear()
    remote = locations.list_files("s3://logs/fleet/hourly", s3_server.storage,
                                  datetime(2026, 11, 30), datetime(2026, 12, 1))
    assert len(remote) == len(HOURS)
    assert prefixes == ["fleet/hourly/", "fleet/hourly/dt=2026-11-30/"]

    # Aware datetimes are taken in UTC; SageMaker's yyyy/mm/dd/hh folders prune the same way.
    prefixes.clear()
    since = datetime(2026, 11, 30, 6, tzinfo=timezone(timedelta(hours=1)))  # 05:00 UTC
    remote = locations.list_files("s3://logs/fleet/sagemaker/fraud-ep/AllTraffic", s3_server.storage,
                                  since, since + timedelta(minutes=30))
    assert _rel(remote, "s3://logs/fleet/sagemaker/fraud-ep/AllTraffic") == ["2026/11/30/05/capture-05.jsonl"]
    assert not any(p.endswith(("/27/", "/28/", "/29/")) for p in prefixes)


def test_listing_with_a_glob(fleet, s3_server):  # noqa: F811
    files = locations.list_files("s3://logs/fleet/jsonl/date=2026-11-3*/h0*.jsonl", s3_server.storage)
    assert _rel(files, "s3://logs/fleet/jsonl") == ["date=2026-11-30/h00.jsonl", "date=2026-11-30/h05.jsonl"]
    files = locations.list_files("s3://logs/fleet/**/*.parquet", s3_server.storage, since=datetime(2026, 11, 30))
    assert len(files) == 1 + len(HOURS)  # hive's last day, hourly's last day
    local = locations.list_files(f"{fleet}/**/*.parquet", None, since=datetime(2026, 11, 30))
    assert _rel(files, "s3://logs/fleet") == _rel(local, str(fleet))


def test_single_object_and_empty_prefix(fleet, s3_server):  # noqa: F811
    one = locations.list_files("s3://logs/fleet/hive/date=2026-11-30/part-0.parquet", s3_server.storage)
    assert [f.path for f in one] == ["s3://logs/fleet/hive/date=2026-11-30/part-0.parquet"]
    assert locations.stat(one[0].path, s3_server.storage) == one[0]
    assert locations.list_files("s3://logs/nothing-here/", s3_server.storage) == []


# ---- ranges ------------------------------------------------------------------------------------------

def test_open_range_reassembles_the_file(fleet, s3_server):  # noqa: F811
    local = fleet / "jsonl" / "date=2026-11-30" / "h05.jsonl"
    info = locations.stat("s3://logs/fleet/jsonl/date=2026-11-30/h05.jsonl", s3_server.storage)
    data, pos = b"", 0
    while chunk := locations.open_range(info.path, pos, 1000, s3_server.storage, etag=info.etag):
        data += chunk
        pos += len(chunk)
    assert data == local.read_bytes()
    assert locations.open_range(str(local), 10, 20) == local.read_bytes()[10:30]
    assert locations.open_range(info.path, info.size + 5, 10, s3_server.storage) == b""
    assert locations.open_range(info.path, 0, 0, s3_server.storage) == b""


def test_a_replaced_object_is_not_read_at_the_old_offset(s3_server):  # noqa: F811
    client = s3_server.client()
    client.put_object(Bucket="logs", Key="replaced/a.jsonl", Body=b'{"a": 1}\n{"a": 2}\n')
    info = locations.stat("s3://logs/replaced/a.jsonl", s3_server.storage)
    assert locations.open_range(info.path, 0, 9, s3_server.storage, etag=info.etag) == b'{"a": 1}\n'
    client.put_object(Bucket="logs", Key="replaced/a.jsonl", Body=b'{"b": 1}\n{"b": 2}\n{"b": 3}\n')
    with pytest.raises(ObjectReplaced) as err:
        locations.open_range(info.path, 9, 9, s3_server.storage, etag=info.etag)
    assert str(err.value).startswith("s3://logs/replaced/a.jsonl: object replaced")
    again = locations.stat(info.path, s3_server.storage)
    assert again.etag != info.etag and again.size == 27


# ---- datasets through DuckDB ------------------------------------------------------------------------

def _count(dataset, where: str = "true") -> tuple:
    con = duckdb.connect()
    con.register("t", dataset)
    sql = f"SELECT count(*), round(sum(latency_ms), 6), count(DISTINCT model) FROM t WHERE {where}"
    return con.execute(sql).fetchall()[0]


def test_duckdb_scans_s3_parquet_in_place_like_local(fleet, s3_server):  # noqa: F811
    expected = pq.read_table(fleet / "hive")  # pyarrow's own reading of the folder: the oracle
    n = expected.num_rows
    assert n == len(DAYS) * len(HOURS) * ROWS
    remote = locations.arrow_dataset("s3://logs/fleet/hive/", s3_server.storage)
    local = locations.arrow_dataset(str(fleet / "hive"))
    assert _count(remote) == _count(local) == (n, round(sum(expected["latency_ms"].to_pylist()), 6), 2)
    assert remote.schema.field("date").type == pa.string()
    # The hourly layout: both Hive keys become columns, and a window prunes the listing.
    hourly = locations.arrow_dataset("s3://logs/fleet/hourly", s3_server.storage, since=datetime(2026, 11, 30))
    assert {"dt", "hour"} <= set(hourly.schema.names)
    assert _count(hourly, "hour = 5")[0] == ROWS
    assert _count(hourly)[0] == len(HOURS) * ROWS
    # Given as a list of files (what the store keeps), partitions are still found.
    files = locations.list_files("s3://logs/fleet/hive", s3_server.storage, since=datetime(2026, 11, 30))
    assert _count(locations.arrow_dataset(files, s3_server.storage), "date = '2026-11-30'")[0] == len(HOURS) * ROWS


def test_each_row_names_its_file(fleet, s3_server):  # noqa: F811
    remote = locations.arrow_dataset("s3://logs/fleet/hive/", s3_server.storage, source_column="source")
    con = duckdb.connect()
    con.register("t", remote)
    by_file = con.execute("SELECT source, count(*) FROM t GROUP BY source ORDER BY source").fetchall()
    assert by_file == [(f"s3://logs/fleet/hive/date={d}/part-0.parquet", len(HOURS) * ROWS) for d in DAYS]
    one = f"s3://logs/fleet/hive/date={DAYS[0]}/part-0.parquet"
    assert con.execute("SELECT count(*) FROM t WHERE source = ?", [one]).fetchall()[0] == (len(HOURS) * ROWS,)
    local = locations.arrow_dataset(str(fleet / "hive"), source_column="source", unify_schemas=True)
    con.register("l", local)
    assert con.execute("SELECT min(source) FROM l").fetchall()[0] == (str(fleet / "hive" / f"date={DAYS[0]}" /
                                                                     "part-0.parquet"),)


def test_filter_and_projection_reach_the_dataset(tmp_path, s3_server):  # noqa: F811
    """Proved by files the scan must not open: a filter on `date` and a projection without `blob`."""
    client = s3_server.client()
    client.create_bucket(Bucket="pushdown")
    good = _rows("2026-11-30", 0)
    with_blob = good.append_column("blob", pa.array(["x"] * good.num_rows))
    for day, table in (("2026-11-29", good), ("2026-11-30", with_blob)):
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        client.put_object(Bucket="pushdown", Key=f"p/date={day}/a.parquet", Body=sink.getvalue().to_pybytes())
    client.put_object(Bucket="pushdown", Key="p/date=2026-11-29/b.parquet", Body=b"not parquet at all")
    # The same column with a type that cannot be cast: only a scan that reads `blob` from it fails.
    sink = pa.BufferOutputStream()
    pq.write_table(good.append_column("blob", pa.array([[1, 2]] * good.num_rows)), sink)
    client.put_object(Bucket="pushdown", Key="p/date=2026-11-30/c.parquet", Body=sink.getvalue().to_pybytes())

    dataset = locations.arrow_dataset("s3://pushdown/p", s3_server.storage,
                                      schema=pa.schema([*with_blob.schema, pa.field("date", pa.string())]))
    con = duckdb.connect()
    con.register("t", dataset)
    sql = "SELECT count(*), sum(latency_ms) FROM t WHERE date = '2026-11-30'"
    plan = con.execute("EXPLAIN " + sql).fetchall()[0][1]
    assert "Filters:" in plan and "date" in plan and "Projections:" in plan and "blob" not in plan
    assert con.execute(sql).fetchall()[0] == (2 * ROWS, 2 * sum(good["latency_ms"].to_pylist()))
    with pytest.raises(duckdb.Error):  # without the filter the junk file is opened
        con.execute("SELECT count(*) FROM t").fetchall()[0]
    with pytest.raises(duckdb.Error):  # projecting blob reads c.parquet's list column
        con.execute("SELECT count(blob) FROM t WHERE date = '2026-11-30'").fetchall()[0]


def test_a_column_that_appears_later(tmp_path):
    first, later = _rows("2026-11-29", 0), _rows("2026-11-30", 0).append_column("new_feature", pa.array([1.5] * ROWS))
    for day, table in (("2026-11-29", first), ("2026-11-30", later)):
        (tmp_path / f"date={day}").mkdir()
        pq.write_table(table, tmp_path / f"date={day}" / "part-0.parquet")
    plain = locations.arrow_dataset(str(tmp_path))
    assert "new_feature" not in plain.schema.names  # the first file's schema
    unified = locations.arrow_dataset(str(tmp_path), unify_schemas=True)
    con = duckdb.connect()
    con.register("t", unified)
    counts = con.execute("SELECT count(*), count(new_feature), count(date) FROM t").fetchall()[0]
    assert counts == (2 * ROWS, ROWS, 2 * ROWS)


def test_empty_location_gives_an_empty_dataset(s3_server):  # noqa: F811
    schema = pa.schema([("ts", pa.timestamp("us"))])
    empty = locations.arrow_dataset("s3://logs/nothing-here/", s3_server.storage, schema=schema)
    assert empty.schema == schema and empty.count_rows() == 0


# ---- credentials ------------------------------------------------------------------------------------

def test_credentials_from_the_environment(fleet, s3_server, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_access_key)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    files = locations.list_files("s3://logs/fleet/hive/", {})
    assert len(files) == len(DAYS)
    assert _count(locations.arrow_dataset(files, None))[0] == len(DAYS) * len(HOURS) * ROWS


def test_credentials_from_a_profile_and_secrets(fleet, s3_server, tmp_path, monkeypatch):  # noqa: F811
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    creds = tmp_path / "credentials"
    creds.write_text(f"[ops]\naws_access_key_id = {s3_server.access_key_id}\n"
                     f"aws_secret_access_key = {s3_server.secret_access_key}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    storage = {"s3": {"endpoint_url": s3_server.endpoint, "region": "us-east-1", "profile": "ops"}}
    assert len(locations.list_files("s3://logs/fleet/hive/", storage)) == len(DAYS)
    monkeypatch.setenv("AWS_PROFILE", "ops")
    assert len(locations.list_files("s3://logs/fleet/hive/", {"endpoint_url": s3_server.endpoint})) == len(DAYS)
    secrets = {"endpoint_url": s3_server.endpoint, "access_key_id": Secret(s3_server.access_key_id),
               "secret_access_key": Secret(s3_server.secret_access_key)}
    assert len(locations.list_files("s3://logs/fleet/hive/", secrets)) == len(DAYS)
    with pytest.raises(StorageError) as err:
        locations.list_files("s3://logs/fleet/hive/", {**storage["s3"], "profile": "nobody"})
    assert str(err.value) == "s3://logs/fleet/hive/: AWS profile 'nobody' not found"


def test_the_endpoint_from_a_profile(fleet, s3_server, tmp_path, monkeypatch):  # noqa: F811
    """A profile's `endpoint_url` in the AWS config file (as the AWS CLI and boto3 take it) is used; it was
    ignored: with AWS_PROFILE naming a profile that holds the endpoint, the note said "cannot reach the S3
    endpoint" and nothing was read (qa6)."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "credentials").write_text(f"[ops]\naws_access_key_id = {s3_server.access_key_id}\n"
                                          f"aws_secret_access_key = {s3_server.secret_access_key}\n")
    (tmp_path / "config").write_text(f"[profile ops]\nregion = us-east-1\nendpoint_url = {s3_server.endpoint}\n"
                                     f"[profile nested]\nregion = us-east-1\ns3 =\n  endpoint_url = {s3_server.endpoint}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "ops")
    files = locations.list_files("s3://logs/fleet/hive/", {})
    assert len(files) == len(DAYS)
    assert _count(locations.arrow_dataset(files, None))[0] == len(DAYS) * len(HOURS) * ROWS
    (tmp_path / "credentials").write_text(
        (tmp_path / "credentials").read_text() + (tmp_path / "credentials").read_text().replace("[ops]", "[nested]"))
    assert len(locations.list_files("s3://logs/fleet/hive/", {"profile": "nested"})) == len(DAYS)


# ---- failures: one line, naming the path, no secret -------------------------------------------------

def _one_line_error(call, path: str, *secrets: str) -> str:
    with pytest.raises(StorageError) as err:
        call()
    text = str(err.value)
    assert text.startswith(path + ": ") and "\n" not in text and "Traceback" not in text
    for secret in secrets:
        assert secret not in text
    return text


def test_missing_bucket(s3_server):  # noqa: F811
    path = "s3://no-such-bucket/logs/"
    text = _one_line_error(lambda: locations.list_files(path, s3_server.storage), path,
                           s3_server.access_key_id, s3_server.secret_access_key)
    assert text == f"{path}: bucket does not exist"
    obj = "s3://no-such-bucket/logs/a.jsonl"
    assert _one_line_error(lambda: locations.stat(obj, s3_server.storage), obj) == f"{obj}: bucket does not exist"
    s3_server.client().create_bucket(Bucket="present")
    obj = "s3://present/no-such-key.jsonl"
    assert _one_line_error(lambda: locations.stat(obj, s3_server.storage), obj) == f"{obj}: no such object"
    assert _one_line_error(lambda: locations.open_range(obj, 0, 5, s3_server.storage), obj) == f"{obj}: no such object"
    text = _one_line_error(lambda: locations.arrow_dataset(["s3://no-such-bucket/x.parquet"], s3_server.storage),
                           "s3://no-such-bucket/x.parquet", s3_server.secret_access_key)
    assert "no such object" in text or "bucket does not exist" in text


def test_wrong_access_key_and_wrong_secret(s3_auth_server):  # noqa: F811
    """On a server that checks keys. Paths hold no `/` past the bucket: see s3_server.py for why."""
    srv = s3_auth_server
    client = srv.client()
    client.create_bucket(Bucket="locked")
    client.put_object(Bucket="locked", Key="x.jsonl", Body=b'{"a": 1}\n')
    path, obj = "s3://locked/", "s3://locked/x.jsonl"
    # The right key works on the very same calls.
    assert [f.path for f in locations.list_files(path, srv.storage)] == [obj]
    assert locations.open_range(obj, 0, 4, srv.storage) == b'{"a"'

    wrong_id = {**srv.storage, "access_key_id": "AKIAWRONGWRONGWRONG1", "secret_access_key": "s3cr3t-value"}
    for call, where in ((lambda: locations.list_files(path, wrong_id), path),
                        (lambda: locations.open_range(obj, 0, 4, wrong_id), obj)):
        text = _one_line_error(call, where, "AKIAWRONGWRONGWRONG1", "s3cr3t-value")
        assert "access key not recognised" in text
    wrong_secret = {**srv.storage, "secret_access_key": "not-the-secret"}
    for call, where in ((lambda: locations.list_files(path, wrong_secret), path),
                        (lambda: locations.open_range(obj, 0, 4, wrong_secret), obj)):
        text = _one_line_error(call, where, srv.access_key_id, srv.secret_access_key, "not-the-secret")
        assert "secret key does not match" in text
    # pyarrow's client opens a Parquet file with HEAD, whose 403 carries no reason: "access denied".
    text = _one_line_error(lambda: locations.arrow_dataset([obj], wrong_secret), obj,
                           srv.access_key_id, "not-the-secret")
    assert "access denied" in text


def test_unreachable_endpoint(fleet):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once this block ends: nothing listens there
    storage = {"endpoint_url": f"http://127.0.0.1:{port}", "access_key_id": "AKIAEXAMPLEEXAMPLE12",
               "secret_access_key": "hush", "region": "us-east-1"}
    path = "s3://logs/fleet/hive/"
    text = _one_line_error(lambda: locations.list_files(path, storage), path, "hush")
    assert f"cannot reach http://127.0.0.1:{port}" in text
    obj = "s3://logs/x.parquet"
    text = _one_line_error(lambda: locations.arrow_dataset([obj], storage), obj, "hush")
    assert f"127.0.0.1:{port}" in text or "cannot reach" in text


def test_network_timeout():
    """A server that accepts the connection and never answers: the short request timeout ends the call."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        storage = {"endpoint_url": f"http://127.0.0.1:{server.getsockname()[1]}",
                   "access_key_id": "AKIAEXAMPLEEXAMPLE12", "secret_access_key": "hush", "region": "us-east-1", "request_timeout": 1, "connect_timeout": 1}
        path = "s3://logs/slow/"
        text = _one_line_error(lambda: locations.list_files(path, storage), path, "hush")
        assert "network timeout" in text
        text = _one_line_error(lambda: locations.open_range("s3://logs/slow/a.jsonl", 0, 5, storage),
                               "s3://logs/slow/a.jsonl", "hush")
        assert "network timeout" in text
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def test_storage_error_wraps_a_failure_met_mid_scan(tmp_path, s3_server):  # noqa: F811
    client = s3_server.client()
    client.put_object(Bucket="logs", Key="midscan/date=2026-11-30/a.parquet", Body=b"junk")
    files = [f"s3://logs/midscan/date=2026-11-30/a.parquet"]
    with pytest.raises(StorageError) as err:
        locations.arrow_dataset(files, s3_server.storage)
    assert str(err.value).startswith(files[0] + ": ") and "\n" not in str(err.value)
    wrapped = locations.storage_error("s3://logs/midscan/", duckdb.IOException("IO Error: AWS Error NO_SUCH_BUCKET"),
                                      s3_server.storage)
    assert str(wrapped) == "s3://logs/midscan/: bucket does not exist"
