"""Two builders sharing one rollup folder in S3 (a real moto server on 127.0.0.1), each with its own
mirror, pushing interleaved as two side boxes, a Spark job and a console, or a cron run overlapping the
previous one do: nothing one pushes deletes or hides what the other built, a fresh reader gets every
hour once from its newest generation (row counts made by hand per hour), and the shared state keeps the
furthest progress of both.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta

import polars as pl
import pytest

from console import rollup_remote
from console import store_rollups as ro
from console import rollup_summarise as rs
from console.sources import s3
from s3_server import s3_server  # noqa: F401  (session fixture)

T0 = datetime(2026, 7, 1)
H = timedelta(hours=1)
SPEC = {"m": ro.ModelSpec()}


def _rows(counts: dict[int, int]) -> pl.DataFrame:
    """`counts[h]` prediction rows in hour h after T0 (only their number matters here), none on the hour's first
    instant (one rollup row per hour: those rows would be a row of their own, `ro.ON_HOUR`)."""
    ts = [T0 + h * H + timedelta(seconds=i, microseconds=1) for h, n in sorted(counts.items()) for i in range(n)]
    return pl.DataFrame({"model": ["m"] * len(ts), "ts": ts, "latency_ms": [float(i % 7) for i in range(len(ts))],
                         "score": [0.5] * len(ts)}, schema_overrides={"ts": pl.Datetime("us")})


def _build(mirror, counts: dict[int, int], since: int, until: int, labels_seen: datetime | None = None):
    """What `rollup --since --until` does in a mirror: hours [since, until) built, the state moved on."""
    rows = _rows(counts)

    def build(a, b):
        tables = rs.build_rollups(rows.filter((pl.col("ts") >= a) & (pl.col("ts") < b)), None, SPEC)
        tables.setdefault("m", ro.empty_table(SPEC["m"]))
        return tables

    return ro.catch_up(mirror, build, now=T0 + 1000 * H, since=T0 + since * H, until=T0 + until * H,
                       labels_seen=(lambda: labels_seen) if labels_seen else None)


def _per_hour(path, start: int, end: int, days: bool = False) -> dict[int, list[int]]:
    table = ro.read_table(path, "m", T0 + start * H, T0 + end * H, days=days)
    df = pl.from_arrow(table).filter(pl.col("segment").is_null())
    out: dict[int, list[int]] = {}
    for hour, rows in df.select("hour", "rows").iter_rows():
        out.setdefault(int((hour - T0) / H), []).append(rows)
    return out


def _keys(client, bucket: str) -> set[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for p in pages for o in p.get("Contents", [])}


@pytest.fixture
def bucket(s3_server, request):  # noqa: F811
    name = "race-" + request.node.name.replace("_", "-")[5:40].strip("-").lower()
    s3_server.client().create_bucket(Bucket=name)
    return name


def test_interleaved_builders_keep_each_others_hours_and_a_reader_gets_each_hour_once(tmp_path, s3_server,
                                                                                      bucket):  # noqa: F811
    url, storage = f"s3://{bucket}/rollups", s3_server.storage
    a, b, reader = tmp_path / "a", tmp_path / "b", tmp_path / "reader"
    a_rows = {h: 10 + h for h in range(0, 6)}
    b_rows = {h: 100 + h for h in range(3, 10)}  # B saw late rows for hours 3-5

    rollup_remote.pull(url, a, storage)
    _build(a, a_rows, 0, 6, labels_seen=T0 + 2 * H)
    rollup_remote.push(a, url, storage)
    first_a = _keys(s3_server.client(), bucket)

    rollup_remote.pull(url, b, storage)  # B starts while A is idle ...
    _build(b, b_rows, 3, 10, labels_seen=T0 + 9 * H)
    rollup_remote.push(b, url, storage)
    b_keys = _keys(s3_server.client(), bucket) - first_a
    assert len(b_keys) == 1  # its hour file for [3, 10) (the state is the same key)

    # ... A, whose mirror never saw B's push, rebuilds hour 1 (a late label: 40 rows now) and pushes
    # with its defaults, as the rollup command does.
    _build(a, {1: 40}, 1, 2)
    assert ro.load_state(a)["built_until"] == (T0 + 6 * H).isoformat()
    rollup_remote.push(a, url, storage)

    after = _keys(s3_server.client(), bucket)
    assert first_a - {f"rollups/{ro.STATE}"} <= after and b_keys <= after  # nobody's file was deleted

    rollup_remote.pull(url, reader, storage)
    expected = {0: 10, 1: 40, 2: 12, **{h: 100 + h for h in range(3, 10)}}
    assert _per_hour(reader, 0, 12) == {h: [n] for h, n in expected.items()}
    assert ro.read(reader, "m", T0, T0 + 12 * H).rows == sum(expected.values()) == 10 + 40 + 12 + 7 * 100 + 42
    # the winning file of each of hours 3-9 is B's
    b_names = {k.rsplit("/", 1)[1] for k in b_keys}
    listed = ro.files(reader, "m")
    for h in range(3, 10):
        newest = [f for f in listed if f.start <= T0 + h * H < f.end][-1]
        assert newest.path.name in b_names, h
    # The state keeps the furthest progress of both: B's built_until, B's labels.
    state = ro.load_state(reader)
    assert state["built_until"] == (T0 + 10 * H).isoformat()
    assert state["labels_seen"] == (T0 + 9 * H).isoformat()


def test_a_day_compacted_from_a_stale_mirror_does_not_hide_another_builders_newer_hour(tmp_path, s3_server,
                                                                                       bucket):  # noqa: F811
    """B rebuilds hour 5 of a compacted day and compacts the day again; A, whose mirror lacks B's hour 5,
    rebuilds hour 7 and compacts the day from what it has. A reader must see B's hour 5 and A's hour 7."""
    url, storage = f"s3://{bucket}/rollups", s3_server.storage
    a, b, reader = tmp_path / "a", tmp_path / "b", tmp_path / "reader"
    base = {h: 1 + h % 3 for h in range(24)}
    rollup_remote.pull(url, a, storage)
    _build(a, base, 0, 24)
    assert len(ro.compact_days(a)) == 1
    rollup_remote.push(a, url, storage)

    rollup_remote.pull(url, b, storage)
    _build(b, {5: 50}, 5, 6)
    assert len(ro.compact_days(b)) == 1  # the day is stale for B: compacted again
    rollup_remote.push(b, url, storage)

    _build(a, {7: 70}, 7, 8)  # A never pulled B's push
    assert len(ro.compact_days(a)) == 1
    rollup_remote.push(a, url, storage)

    rollup_remote.pull(url, reader, storage)
    expected = {**base, 5: 50, 7: 70}
    assert _per_hour(reader, 0, 24) == {h: [n] for h, n in expected.items()}
    whole_day = ro.read(reader, "m", T0, T0 + 24 * H)  # through a day file if one is valid
    assert whole_day.rows == sum(expected.values()) == 48 - 3 - 2 + 50 + 70
    assert whole_day.hours == 24

    # The next compaction (anyone's, from the full view) makes a day that holds both rebuilt hours.
    assert len(ro.compact_days(reader)) == 1
    assert ro.valid_days(reader, "m", T0, T0 + 24 * H)
    assert ro.read(reader, "m", T0, T0 + 24 * H).rows == sum(expected.values())


def test_a_day_file_is_used_only_with_the_hours_it_was_made_from(tmp_path):
    """The same race on local folders: copies of one folder stand for two mirrors, a third gets both
    builders' files as the bucket would. A day made from a view without the other's newer hour is not
    used, whatever its generation."""
    a, b, both = tmp_path / "a", tmp_path / "b", tmp_path / "both"
    base = {h: 2 for h in range(24)}
    _build(a, base, 0, 24)
    shutil.copytree(a, b)
    _build(b, {3: 30}, 3, 4)
    _build(a, {9: 90}, 9, 10)
    assert len(ro.compact_days(a)) == 1  # newer than every hour file A and B wrote
    for src in (a, b):
        shutil.copytree(src, both, dirs_exist_ok=True)
    assert ro.valid_days(both, "m", T0, T0 + 24 * H) == {}
    assert ro.read(both, "m", T0, T0 + 24 * H).rows == 22 * 2 + 30 + 90


def test_concurrent_state_updates_keep_both_builders_progress(tmp_path, s3_server, bucket):  # noqa: F811
    """B writes the state between A's read of it and A's write (injected at A's request, on the same
    server): A's write is refused and redone on B's, so the state holds the furthest of both."""
    url, storage = f"s3://{bucket}/rollups", s3_server.storage
    a = tmp_path / "a"
    rollup_remote.pull(url, a, storage)
    _build(a, {0: 3, 1: 4}, 0, 2, labels_seen=T0 + 30 * H)
    rollup_remote.push(a, url, storage)  # state: built_until T0+2h
    _build(a, {2: 5}, 2, 3, labels_seen=T0 + 31 * H)

    other = s3_server.client()
    b_state = {"built_until": (T0 + 20 * H).isoformat(), "labels_seen": (T0 + 15 * H).isoformat()}
    fired = []

    def b_writes_first(params, **_):
        if params.get("Key", "").endswith(ro.STATE) and not fired:
            fired.append(True)
            other.put_object(Bucket=bucket, Key=f"rollups/{ro.STATE}", Body=json.dumps(b_state).encode())

    client = s3.client(s3.settings(storage), url)  # the one push uses (cached per identity)
    client.meta.events.register("before-parameter-build.s3.PutObject", b_writes_first, unique_id="b-writes-first")
    try:
        rollup_remote.push(a, url, storage)
    finally:
        client.meta.events.unregister("before-parameter-build.s3.PutObject", unique_id="b-writes-first")
    assert fired
    got = json.loads(other.get_object(Bucket=bucket, Key=f"rollups/{ro.STATE}")["Body"].read())
    assert got["built_until"] == (T0 + 20 * H).isoformat()  # B's: further than A's T0+3h
    assert got["labels_seen"] == (T0 + 31 * H).isoformat()  # A's: further than B's
    assert ro.load_state(a) == got  # A's mirror holds the merged state too


def test_a_pull_skips_an_object_removed_between_listing_and_reading(tmp_path, s3_server, bucket):  # noqa: F811
    """Another builder deleting a superseded day file while a reader pulls is not an error."""
    url, storage = f"s3://{bucket}/rollups", s3_server.storage
    a, reader = tmp_path / "a", tmp_path / "reader"
    _build(a, {h: 1 for h in range(24)}, 0, 24)
    ro.compact_days(a)
    rollup_remote.push(a, url, storage)
    day_key = next(k for k in _keys(s3_server.client(), bucket) if "/daily/" in k)
    other = s3_server.client()

    def gone(params, **_):
        if params.get("Key") == day_key:
            other.delete_object(Bucket=bucket, Key=day_key)

    client = s3.client(s3.settings(storage), url)
    client.meta.events.register("before-parameter-build.s3.GetObject", gone, unique_id="day-gone")
    try:
        fetched = rollup_remote.pull(url, reader, storage)
    finally:
        client.meta.events.unregister("before-parameter-build.s3.GetObject", unique_id="day-gone")
    assert fetched == 2  # the hour file and the state
    assert ro.day_files(reader, "m") == []
    assert ro.read(reader, "m", T0, T0 + 24 * H).rows == 24


def test_the_rollup_command_runs_once_per_mirror_and_never_pushes_the_consoles_own_hours(
        tmp_path, s3_server, bucket, capsys, monkeypatch):  # noqa: F811
    """A cron run overlapping the one under way steps aside (exit 3) instead of pruning and pushing its
    half-built files; a console on the same box keeps its mirror, whose self-built hours stay local."""
    from console.cli import main
    from rollup_fleet import START, fleet, write_hive

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    preds, _ = fleet(hours=3, per_hour=20, seed=3)
    logs = write_hive(preds, tmp_path / "logs")
    (tmp_path / "console.toml").write_text(f"""
{s3_server.toml}
[[logs]]
kind = "predictions"
path = "{logs}"
format = "parquet"
""", encoding="utf-8")
    url = f"s3://{bucket}/rollups"
    argv = ["rollup", "--config", str(tmp_path / "console.toml"), "--path", url, "--since", START.isoformat(),
            "--until", (START + 3 * H).isoformat(), "--format", "json"]
    console_own = ro.write({"fraud": ro.empty_table(ro.ModelSpec())}, rollup_remote.mirror_dir(url), START,
                           START + 5 * H)[0]  # what a console built for itself in its mirror

    import console.rollup_build

    monkeypatch.setattr(console.rollup_build, "LOCK_WAIT_S", 0.5)  # how long it waits for the writer under way
    running = ro.build_lock(rollup_remote.mirror_dir(url, kind="build"))
    with running:
        assert main(argv) == 3  # exit_codes.CONFLICT
    assert f"another writer of {url} (a rollup run or a console catching up) has held it" in capsys.readouterr().err
    assert _keys(s3_server.client(), bucket) == set()

    assert main(argv) == 0
    capsys.readouterr()
    keys = _keys(s3_server.client(), bucket)
    assert keys and not any(k.endswith(console_own.name) for k in keys)
    assert console_own.exists()
    reader = tmp_path / "reader"
    rollup_remote.pull(url, reader, s3_server.storage)
    for m in ("fraud", "eta"):
        assert ro.read(reader, m, START, START + 3 * H).rows == preds.filter(pl.col("model") == m).height


def test_builders_in_threads_lose_no_hour_file_and_readers_see_the_newest_build(tmp_path, s3_server,
                                                                                bucket):  # noqa: F811
    """Two builders pushing at the same time for real (threads, each its own mirror, overlapping hours,
    rounds of pull, build, compact, push): every hour file either wrote is still in the bucket, and a
    reader gets each hour once, from the build with the newest generation covering it (each build's row
    counts name it: 1000 x builder + 100 x round + hour)."""
    import threading

    url, storage = f"s3://{bucket}/rollups", s3_server.storage
    ranges = {1: [(0, 30), (10, 20), (24, 48)], 2: [(5, 29), (20, 40), (0, 6)]}
    builds: list[tuple[int, str, dict[int, int]]] = []  # generation, file name, row counts per hour
    errors: list[BaseException] = []

    def builder(who: int) -> None:
        mirror = tmp_path / f"b{who}"
        try:
            for rnd, (a, b) in enumerate(ranges[who]):
                rollup_remote.pull(url, mirror, storage)
                counts = {h: 1000 * who + 100 * rnd + h for h in range(a, b)}
                out = _build(mirror, counts, a, b)
                for f in out.files:  # a file per 24 h of the range
                    first, last, gen = f.stem.split("_")
                    hours = [int((datetime.strptime(t, "%Y%m%dT%H") - T0) / H) for t in (first, last)]
                    builds.append((int(gen), f.name, {h: counts[h] for h in range(*hours)}))
                ro.compact_days(mirror)
                rollup_remote.push(mirror, url, storage)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=builder, args=(who,)) for who in ranges]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    keys = _keys(s3_server.client(), bucket)
    assert len(builds) == 7 and {f"rollups/m/{name}" for _, name, _ in builds} <= keys
    expected: dict[int, int] = {}
    for _, _, counts in sorted(builds, key=lambda x: x[0]):  # the newest generation last
        expected.update(counts)
    reader = tmp_path / "reader"
    rollup_remote.pull(url, reader, storage)
    assert _per_hour(reader, 0, 48) == {h: [n] for h, n in expected.items()}
    assert ro.read(reader, "m", T0, T0 + 48 * H).rows == sum(expected.values())
    assert ro.load_state(reader)["built_until"] == (T0 + 48 * H).isoformat()
