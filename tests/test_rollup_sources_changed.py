"""The `rollup` command rebuilds the hours it already built whose sources changed since: late rows in a new file,
a backfilled model, a file rewritten in place with as many rows, a Delta day overwritten, an Iceberg day overwritten
(a real SQL catalog); nothing else is written again (the folder's files keep their names and mtimes), and a rerun over
unchanged sources writes nothing. The counts (and sums of x) of the rollups equal a count of the sources as they are
now (polars over the files, deltalake's and pyiceberg's own reads of the tables), drift from them agrees with scipy
on those rows within the sketch bound, and Spark (local mode) builds the counts the local engine builds.

qa8: rows appended in a new file under an hour the command had built gave `ranges_built 0, rows 0`, and the folder
(in S3 or built by Spark) kept the old hour; only a console's own catch-up repaired it, for itself.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from scipy import stats
from scipy.spatial import distance

from console import store_rollups as ro
from console.cli import main
from rollup_hours import rollup as _rollup, rolled
from s3_server import s3_server  # noqa: F401  (session fixture)

START = datetime(2026, 5, 1)
HOUR = datetime(2026, 5, 2, 10)  # the hour late rows land in, and whose file is rewritten
CATS = ("a", "b", "c")


def _f32(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32).astype(np.float64)


def _table(ts, x, c, tag: str, model: str = "m") -> pa.Table:
    n = len(ts)
    return pa.table({"ts": pa.array(ts, pa.timestamp("us")), "model": [model] * n, "version": ["1"] * n,
                     "environment": ["production"] * n, "request_id": [f"{tag}-{i}" for i in range(n)],
                     "latency_ms": np.full(n, 20.0), "prediction": ["1"] * n, "x": x, "c": c})


def _rows(rng, start: datetime, seconds: int, n: int):
    ts = [start + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, seconds, n))]
    return ts, _f32(rng.normal(0, 1, n)), rng.choice(CATS, n, p=[0.5, 0.3, 0.2])


@pytest.fixture
def ws(tmp_path):
    """(config, files {path: (ts, x, c)}, reference): two day files and the hour's own file."""
    rng = np.random.default_rng(11)
    files = {tmp_path / "logs" / f"day-{d}.parquet": _rows(rng, START + timedelta(days=d), 86400, 2000)
             for d in range(2)}
    files[tmp_path / "logs" / "hour.parquet"] = _rows(rng, HOUR, 3600, 300)
    for i, (path, rows) in enumerate(files.items()):
        _write(path, rows, f"f{i}")
    ref = {"x": _f32(rng.normal(0, 1, 3000)), "c": rng.choice(CATS, 3000, p=[0.5, 0.3, 0.2])}
    pq.write_table(pa.table(ref), tmp_path / "reference.parquet")
    config = tmp_path / "console.toml"
    config.write_text('[store]\npath = "store"\n[rollups]\nmin_rows = 0\n'
                      '[[logs]]\nkind = "predictions"\npath = "logs/*.parquet"\nformat = "parquet"\n'
                      '[models.m]\ntask = "classification"\nreference = "reference.parquet"\nfeatures = ["x", "c"]\n'
                      '[models.m.drift.x]\ntest = "ks"\n', encoding="utf-8")
    return config, files, ref


def _write(path: Path, rows, tag: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(_table(*rows, tag), path)


def _rolled(folder: Path, model: str = "m") -> dict[datetime, int]:
    """Rows per hour from the rollups (the whole-model rows)."""
    return rolled(folder, START, START + timedelta(days=3), model)


def _snapshot(folder: Path) -> dict[str, int]:
    """Every rollup file of the folder (hour and day files) by its path, with its mtime."""
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*.parquet")}


def _written(before: dict[str, int], folder: Path, model: str = "m") -> tuple[list, set[str]]:
    """What a run wrote into the folder: the (start, end) of its new hour files, and its new or replaced day files'
    days; a file kept from before is asserted unchanged (same mtime)."""
    after = _snapshot(folder)
    assert all(after[k] == v for k, v in before.items() if k in after)
    new = set(after) - set(before)
    hours = sorted((f.start, f.end) for f in ro.files(folder, model) if f.path.relative_to(folder).as_posix() in new)
    days = {Path(k).name[:8] for k in new | (set(before) - set(after)) if f"/{ro.DAILY}/" in k}
    return hours, days


def _counted(folder: Path, model: str = "m") -> dict[datetime, int]:
    """Rows per hour of the log files as they are now, counted by polars."""
    df = pl.read_parquet(list(map(str, sorted(folder.glob("*.parquet"))))).filter(pl.col("model") == model)
    return dict(df.group_by(pl.col("ts").dt.truncate("1h")).len().iter_rows())


def _exact(files: dict, ref: dict, lo: datetime, hi: datetime) -> dict:
    ts = np.concatenate([np.array(t, dtype="datetime64[us]") for t, _, _ in files.values()])
    keep = (ts >= np.datetime64(lo)) & (ts < np.datetime64(hi))
    x = np.concatenate([v[1] for v in files.values()])[keep]
    c = np.concatenate([v[2] for v in files.values()])[keep]
    shares = [np.array([np.sum(s == k) for k in CATS]) / len(s) for s in (ref["c"], c)]
    return {"n": int(keep.sum()), "ks": stats.ks_2samp(ref["x"], x).statistic, "js": distance.jensenshannon(*shares)}


@pytest.mark.parametrize("engine", ["local", "spark"])
def test_late_rows_in_a_new_file_rebuild_exactly_their_hour(ws, capsys, engine):
    config, files, _ = ws
    logs, rollups = config.parent / "logs", config.parent / "store" / "rollups"
    extra = ("--engine", "spark", "--master", "local[1]") if engine == "spark" else ()
    if engine == "spark":
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    first = _rollup(config, capsys, *extra)
    assert first["ranges_built"] > 0
    assert _rolled(rollups) == _counted(logs)
    before = _snapshot(rollups)
    rng = np.random.default_rng(5)
    late = _rows(rng, HOUR, 3600, 77)
    _write(logs / "late.parquet", late, "late")  # late rows of an hour built, in a file of their own
    got = _rollup(config, capsys, *extra)
    counted = _counted(logs)
    assert counted[HOUR] == 300 + 77 + sum(HOUR <= t < HOUR + ro.HOUR for t in files[logs / "day-1.parquet"][0])
    assert _rolled(rollups) == counted
    assert got["ranges_built"] == 0
    assert got["source_hours_rebuilt"] == 1 and got["source_hours_why"] == {"added": 1}
    # the hour's file written again, and its day merged again; May 1 and May 2's other hours untouched
    assert _written(before, rollups) == ([(HOUR, HOUR + ro.HOUR)], {"20260502"})
    before = _snapshot(rollups)
    again = _rollup(config, capsys, *extra)
    assert again["ranges_built"] == 0 and again["source_hours_rebuilt"] == 0 and again["files"] == 0
    assert _snapshot(rollups) == before  # nothing changed: nothing written
    # a backfilled model: rows of another model for two hours built before, in a file of their own
    ts = [HOUR - timedelta(hours=5, minutes=1), HOUR + timedelta(minutes=3)]
    pq.write_table(_table(ts, _f32(np.array([0.5, 1.5])), np.array(["a", "b"]), "bf", "backfilled"),
                   logs / "backfill.parquet")
    got = _rollup(config, capsys, *extra)
    assert _rolled(rollups, "backfilled") == _counted(logs, "backfilled") == {HOUR - timedelta(hours=6): 1, HOUR: 1}
    assert _rolled(rollups) == _counted(logs)
    # the file's footer spans 04:59 .. 10:03: its 7 hours, and no other, are rebuilt
    assert got["source_hours_rebuilt"] == 7 and got["source_hours_why"] == {"added": 7}
    # the backfill deleted again: its hours rebuilt, said as removed, not added
    (logs / "backfill.parquet").unlink()
    got = _rollup(config, capsys, *extra)
    assert _rolled(rollups, "backfilled") == {} and _rolled(rollups) == _counted(logs)
    assert got["source_hours_rebuilt"] == 7 and got["source_hours_why"] == {"removed": 7}


def test_spark_and_the_local_engine_count_the_rebuilt_hours_alike(ws, capsys, tmp_path):
    """The same late file, one folder built by each engine: the same hour counts, which polars gives."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    config, _, _ = ws
    logs = config.parent / "logs"
    folders = {e: tmp_path / f"rollups-{e}" for e in ("local", "spark")}
    for engine, folder in folders.items():
        extra = ("--engine", "spark", "--master", "local[1]") if engine == "spark" else ()
        _rollup(config, capsys, "--path", str(folder), *extra)
    _write(logs / "late.parquet", _rows(np.random.default_rng(6), HOUR, 3600, 40), "late")
    got = {}
    for engine, folder in folders.items():
        extra = ("--engine", "spark", "--master", "local[1]") if engine == "spark" else ()
        got[engine] = _rollup(config, capsys, "--path", str(folder), *extra)
    assert _rolled(folders["spark"]) == _rolled(folders["local"]) == _counted(logs)
    assert [g["source_hours_rebuilt"] for g in got.values()] == [1, 1]


def test_a_file_rewritten_with_as_many_rows_rebuilds_its_hours(ws, capsys):
    """The console reading the folder afterwards (a new process, no record of its own) compares counts, which the
    rewrite leaves equal: without the command's rebuild it scored the replaced rows."""
    config, files, ref = ws
    logs = config.parent / "logs"
    _rollup(config, capsys)
    path = logs / "hour.parquet"
    ts, x, c = files[path]
    files[path] = (ts, _f32(x + 2.0), np.array(["c"] * len(c)))
    _write(path, files[path], "f2")
    got = _rollup(config, capsys)
    assert _rolled(config.parent / "store" / "rollups") == _counted(logs)  # as many rows: the counts alone agree
    assert main(["drift", "m", "--config", str(config), "--window", "2026-05-02", "--format", "json"]) == 0
    cols = {c["column"]: c for c in json.loads(capsys.readouterr().out)["features"]}
    exact = _exact(files, ref, datetime(2026, 5, 2), datetime(2026, 5, 3))
    assert {c["method"] for c in cols.values()} == {"sketch"}
    assert cols["c"]["n_cur"] == exact["n"] and cols["c"]["score"] == pytest.approx(exact["js"], rel=1e-9)
    assert abs(cols["x"]["stats"]["statistic"] - exact["ks"]) <= cols["x"]["bound"] + 1e-12
    assert got["source_hours_rebuilt"] == 1 and got["source_hours_why"] == {"rewritten": 1}
    assert _rollup(config, capsys)["source_hours_rebuilt"] == 0


def test_the_text_summary_says_why_hours_were_rebuilt(ws, capsys):
    config, files, _ = ws
    logs = config.parent / "logs"
    assert main(["rollup", "--config", str(config), "--no-ready"]) == 0
    _write(logs / "late.parquet", _rows(np.random.default_rng(7), HOUR, 3600, 5), "late")
    capsys.readouterr()
    assert main(["rollup", "--config", str(config), "--no-ready"]) == 0
    out = capsys.readouterr()
    assert "1 hour(s) rebuilt for changed sources (1 for files added (late rows, a backfill))" in out.out
    assert "rebuilt 2026-05-02 10:00 .. 2026-05-02 11:00 (sources added)" in out.err


# ------------------------------------------------------------------ tables: a day overwritten with as many rows

DAYS = (datetime(2026, 5, 1), datetime(2026, 5, 2))


def _lake_rows(seed: int = 21) -> pa.Table:
    """Two days of rows (none in a day's first or last second: a file's span is its day's 24 hours, not a neighbour's)
    and the hour's busier rows, with a `date` column to partition by."""
    rng = np.random.default_rng(seed)
    parts = [_rows(rng, d + timedelta(seconds=1), 86398, 1500) for d in DAYS] + [_rows(rng, HOUR, 3600, 200)]
    t = pa.concat_tables([_table(*p, f"r{i}") for i, p in enumerate(parts)])
    return t.append_column("date", pa.array([f"{v:%Y-%m-%d}" for v in t.column("ts").to_pylist()]))


def _overwritten_day(t: pa.Table) -> pa.Table:
    """May 2's rows corrected: as many, x moved by 2, every c 'c'."""
    day = t.filter(pc.equal(t.column("date"), "2026-05-02"))
    day = day.set_column(day.schema.get_field_index("x"), "x", pa.array(_f32(np.asarray(day.column("x")) + 2.0)))
    return day.set_column(day.schema.get_field_index("c"), "c", pa.array(["c"] * day.num_rows))


def _by_hour(t: pa.Table, model: str = "m") -> dict[datetime, tuple[int, float]]:
    """Rows and the sum of x per hour of a table's rows (the source read by its own library)."""
    df = pl.from_arrow(t.select(["ts", "model", "x"])).filter(pl.col("model") == model)
    df = df.with_columns(pl.col("ts").dt.replace_time_zone(None) if df.schema["ts"].time_zone else pl.col("ts"))
    return {h: (n, s) for h, n, s in df.group_by(pl.col("ts").dt.truncate("1h")).agg(
        pl.len(), pl.col("x").sum()).iter_rows()}


def _rolled_sums(folder: Path, model: str = "m") -> dict[datetime, tuple[int, float]]:
    t = ro.read_table(folder, model, START, START + timedelta(days=3), columns=["segment", "rows", "sum__x"])
    df = pl.from_arrow(t).filter(pl.col("segment").is_null())
    return {h: (n, s) for h, n, s in df.group_by("hour").agg(pl.col("rows").sum(), pl.col("sum__x").sum()).iter_rows()
            if n}


def _same(rolled: dict, source: dict) -> None:
    assert set(rolled) == set(source)
    for h, (n, s) in source.items():
        assert rolled[h][0] == n and rolled[h][1] == pytest.approx(s, rel=1e-9, abs=1e-9), h


def _lake_config(root: Path, log: str) -> Path:
    ref = np.random.default_rng(2)
    pq.write_table(pa.table({"x": _f32(ref.normal(0, 1, 3000)), "c": ref.choice(CATS, 3000)}),
                   root / "reference.parquet")
    config = root / "console.toml"
    config.write_text('[store]\npath = "store"\n[rollups]\nmin_rows = 0\n' + log
                      + '[models.m]\ntask = "classification"\nreference = "reference.parquet"\nfeatures = ["x", "c"]\n',
                      encoding="utf-8")
    return config


def _day_rebuilt(config: Path, capsys, read, overwrite) -> None:
    """Built; May 2 overwritten with as many rows: its 24 hours are rebuilt (May 1 untouched), the rollups hold the
    table's rows as its library reads them now; a rerun writes nothing."""
    rollups = config.parent / "store" / "rollups"
    first = _rollup(config, capsys)
    assert first["ranges_built"] > 0
    was = _by_hour(read())
    _same(_rolled_sums(rollups), was)
    before = _snapshot(rollups)
    overwrite()
    now = _by_hour(read())
    assert {h: n for h, (n, _) in now.items()} == {h: n for h, (n, _) in was.items()}  # as many rows per hour
    assert now[HOUR][1] != pytest.approx(was[HOUR][1])
    got = _rollup(config, capsys)
    _same(_rolled_sums(rollups), now)
    assert got["ranges_built"] == 0
    assert got["source_hours_rebuilt"] == 24 and got["source_hours_why"] == {"rewritten": 24}
    hours, days = _written(before, rollups)
    assert hours == [(DAYS[1], DAYS[1] + timedelta(days=1))] and days == {"20260502"}
    before = _snapshot(rollups)
    again = _rollup(config, capsys)
    assert again["source_hours_rebuilt"] == 0 and again["files"] == 0 and _snapshot(rollups) == before


def test_a_delta_day_overwritten_with_as_many_rows_is_rebuilt(tmp_path, capsys):
    from deltalake import DeltaTable, write_deltalake

    rows = _lake_rows()
    write_deltalake(str(tmp_path / "preds"), rows, partition_by=["date"])
    config = _lake_config(tmp_path, '[[logs]]\nkind = "predictions"\npath = "preds"\nformat = "delta"\n')
    _day_rebuilt(config, capsys, lambda: DeltaTable(str(tmp_path / "preds")).to_pyarrow_table(),
                 lambda: write_deltalake(str(tmp_path / "preds"), _overwritten_day(rows), partition_by=["date"],
                                         mode="overwrite", predicate="date = '2026-05-02'"))


def _iceberg(tmp_path: Path, rows: pa.Table):
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.transforms import DayTransform

    (tmp_path / "warehouse").mkdir()
    catalog = SqlCatalog("ops", uri=f"sqlite:///{tmp_path}/catalog.db", warehouse=f"file://{tmp_path}/warehouse")
    catalog.create_namespace("serving")
    table = catalog.create_table("serving.preds", schema=rows.drop_columns(["date"]).schema)
    with table.update_spec() as spec:
        spec.add_field("ts", DayTransform(), "ts_day")
    table.append(rows.drop_columns(["date"]))
    log = ('[[logs]]\nkind = "predictions"\npath = "serving.preds"\nformat = "iceberg"\n[logs.options]\n'
           f'catalog = "ops"\ntype = "sql"\nuri = "sqlite:///{tmp_path}/catalog.db"\n'
           f'warehouse = "file://{tmp_path}/warehouse"\n')
    return catalog, log


def test_an_iceberg_day_overwritten_with_as_many_rows_is_rebuilt(tmp_path, capsys):
    from pyiceberg.expressions import And, GreaterThanOrEqual, LessThan

    rows = _lake_rows()
    catalog, log = _iceberg(tmp_path, rows)
    config = _lake_config(tmp_path, log)

    def read() -> pa.Table:
        return catalog.load_table("serving.preds").scan().to_arrow()

    def overwrite() -> None:
        day = And(GreaterThanOrEqual("ts", "2026-05-02T00:00:00"), LessThan("ts", "2026-05-03T00:00:00"))
        catalog.load_table("serving.preds").overwrite(_overwritten_day(rows).drop_columns(["date"]),
                                                      overwrite_filter=day)

    _day_rebuilt(config, capsys, read, overwrite)
    # rows appended for a later hour: built as new, no hour built before is rebuilt (the new file's span is its own)
    rollups = config.parent / "store" / "rollups"
    before = _snapshot(rollups)
    later = datetime(2026, 5, 3, 2)
    catalog.load_table("serving.preds").append(_table(*_rows(np.random.default_rng(9), later, 3600, 30), "new"))
    got = _rollup(config, capsys)
    _same(_rolled_sums(rollups), _by_hour(read()))
    assert got["source_hours_rebuilt"] == 0 and got["rows"] == 30
    hours, _ = _written(before, rollups)
    assert hours and all(a >= DAYS[1] + timedelta(days=1) for a, _ in hours)


# ------------------------------------------------------------------ S3: the sources and the rollup folder in a bucket

def test_s3_objects_added_or_rewritten_rebuild_their_hours_of_a_folder_in_s3(tmp_path, capsys, s3_server,  # noqa: F811
                                                                              monkeypatch):
    """Parquet and JSONL objects in S3 (a real moto server), the rollups in S3 too (built in a mirror, pushed): a late
    Parquet object and a JSONL object written again under its key (as many rows, other values) rebuild their hours;
    a reader pulling the folder afresh gets the rows of the objects as they are now; a rerun pushes nothing."""
    from console import rollup_remote

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    client, bucket = s3_server.client(), "stale-sources"
    client.create_bucket(Bucket=bucket)
    rng = np.random.default_rng(13)
    frames: dict[str, pl.DataFrame] = {}

    def put(key: str, t: pa.Table) -> None:
        frames[key] = pl.from_arrow(t)
        if key.endswith(".jsonl"):
            body = frames[key].with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")).write_ndjson()
            client.put_object(Bucket=bucket, Key=key, Body=body.encode())
        else:
            sink = pa.BufferOutputStream()
            pq.write_table(t, sink)
            client.put_object(Bucket=bucket, Key=key, Body=sink.getvalue().to_pybytes())

    for d in range(2):
        put(f"parquet/day-{d}.parquet", _table(*_rows(rng, START + timedelta(days=d), 86400, 1000), f"d{d}"))
    text_hour = HOUR + timedelta(hours=3)
    ts, x, c = _rows(rng, text_hour, 3600, 120)
    put("jsonl/hour.jsonl", _table(ts, x, c, "j"))
    ref = np.random.default_rng(2)
    pq.write_table(pa.table({"x": _f32(ref.normal(0, 1, 3000)), "c": ref.choice(CATS, 3000)}),
                   tmp_path / "reference.parquet")
    config = tmp_path / "console.toml"
    config.write_text(s3_server.toml + '[store]\npath = "store"\n'
                      f'[[logs]]\nkind = "predictions"\npath = "s3://{bucket}/parquet/"\nformat = "parquet"\n'
                      f'[[logs]]\nkind = "predictions"\npath = "s3://{bucket}/jsonl/"\nformat = "jsonl"\n'
                      '[models.m]\ntask = "classification"\nreference = "reference.parquet"\nfeatures = ["x", "c"]\n',
                      encoding="utf-8")
    url = f"s3://{bucket}/rollups"

    def source() -> dict:
        df = pl.concat([f.select(["ts", "model", "x"]) for f in frames.values()])
        return {h: (n, s) for h, n, s in df.group_by(pl.col("ts").dt.truncate("1h")).agg(
            pl.len(), pl.col("x").sum()).iter_rows()}

    def pulled(name: str) -> dict:
        rollup_remote.pull(url, tmp_path / name, s3_server.storage)
        return _rolled_sums(tmp_path / name)

    first = _rollup(config, capsys, "--path", url)
    assert first["ranges_built"] > 0
    _same(pulled("first"), source())
    put("parquet/late.parquet", _table(*_rows(rng, HOUR, 3600, 50), "late"))
    put("jsonl/hour.jsonl", _table(ts, _f32(x + 2.0), np.array(["c"] * len(c)), "j"))
    got = _rollup(config, capsys, "--path", url)
    _same(pulled("second"), source())
    assert got["ranges_built"] == 0 and got["source_hours_why"] == {"added": 1, "rewritten": 1}
    keys = {o["Key"]: o["ETag"] for o in client.list_objects_v2(Bucket=bucket, Prefix="rollups/")["Contents"]}
    again = _rollup(config, capsys, "--path", url)
    assert again["source_hours_rebuilt"] == 0 and again["files"] == 0
    assert {o["Key"]: o["ETag"] for o in client.list_objects_v2(Bucket=bucket, Prefix="rollups/")["Contents"]} == keys


def test_changed_hours_are_rebuilt_once_a_chunk_at_a_time(tmp_path):
    """`store_rollups.catch_up` with hours changed by both late labels and sources: each hour is built once, in ranges
    of at most the chunk (a compacted table replaces every file: its hours are not built in one range), and only the
    hours said changed, of those built before."""
    spec = {"m": ro.ModelSpec()}
    asked: list[tuple[datetime, datetime]] = []

    def build(a, b):
        asked.append((a, b))
        return {"m": ro.empty_table(spec["m"])}

    day = timedelta(days=1)
    ro.catch_up(tmp_path, build, now=START + 3 * day, since=START, until=START + 3 * day, labels_seen=lambda: START)
    asked.clear()
    changed = {START + timedelta(hours=h): "rewritten" for h in range(5, 60)}
    label_hours = [START + timedelta(hours=h) for h in (3, 5, 6)]
    out = ro.catch_up(tmp_path, build, now=START + 3 * day, chunk=day, labels_seen=lambda: START + 3 * day,
                      late_label_hours=lambda after, before: label_hours,
                      source_hours=lambda a, b: {h: w for h, w in changed.items() if a <= h < b}, sources=[])
    assert out.source_hours == changed and out.built == []
    built = [h for a, b in asked for h in ro._hours(a, b)]
    assert sorted(built) == sorted(set(built)) == sorted({*changed, START + timedelta(hours=3)})
    assert all(b - a <= day for a, b in asked)
