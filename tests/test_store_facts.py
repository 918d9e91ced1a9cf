"""The facts the store keeps about Parquet logs read in place (clean or not, newest kept row) are shared by
every process on the store, follow a rewritten file, and give `--at latest` the same answer a full scan does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from console.config import Config, LogSource
from console.store.facts import NAME
from console.warehouse import Warehouse


def table(start: datetime, n: int, bad: int | None = None) -> pa.Table:
    ts = [start + timedelta(minutes=i) for i in range(n)]
    rid = [f"r{i}" for i in range(n)]
    if bad is not None:
        rid[bad] = ""  # 'missing request_id'
    return pa.table({"ts": pa.array(ts, pa.timestamp("us")), "model": ["m"] * n, "version": ["1"] * n,
                     "request_id": rid, "latency_ms": [10.0 + i for i in range(n)]})


def open_store(tmp_path: Path) -> Warehouse:
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(tmp_path / "logs")),))
    w = Warehouse(cfg, database=tmp_path / "store")
    w.refresh()
    return w


def scan_newest(w: Warehouse) -> datetime:
    with w.cursor() as cur:
        return cur.execute("SELECT max(ts) FROM predictions").fetchone()[0]


def test_a_second_process_reads_the_facts_and_a_rewritten_file_is_checked_again(tmp_path):
    logs = tmp_path / "logs"
    (logs / "date=2026-11-01").mkdir(parents=True)
    (logs / "date=2026-11-02").mkdir(parents=True)
    pq.write_table(table(datetime(2026, 11, 1), 50), logs / "date=2026-11-01" / "a.parquet")
    pq.write_table(table(datetime(2026, 11, 2), 40, bad=3), logs / "date=2026-11-02" / "b.parquet")
    first = open_store(tmp_path)
    assert first.one("counts")[:4] == (89, 0, 0, 1)
    newest = datetime(2026, 11, 2) + timedelta(minutes=39)
    assert first.newest() == scan_newest(first) == newest

    facts = json.loads((tmp_path / "store" / NAME).read_text())
    footers = {k.removeprefix("footer|"): e for k, e in facts.items() if k.startswith("footer|")}
    matched = {k: e for k, e in facts.items() if k.startswith("parquet-files|")}  # what each source matched
    assert [sorted(e["value"]) for e in matched.values()] == [sorted(str(logs / n) for n in
                                                             ("date=2026-11-01/a.parquet", "date=2026-11-02/b.parquet"))]
    facts = {k: e for k, e in facts.items() if not k.startswith(("footer|", "parquet-files|", "parquet-fields|"))}
    assert sorted(e["rejects"] for e in facts.values()) == [0, 1]
    assert all(e["newest_kept"] for e in facts.values())
    # what the footers said is kept too (a relaunch reads none): rows and ts's type as PyArrow reads them
    for name in ("date=2026-11-01/a.parquet", "date=2026-11-02/b.parquet"):
        path = logs / name
        assert footers[str(path)]["rows"] == pq.read_metadata(path).num_rows
        assert footers[str(path)]["columns"]["ts"] == "TIMESTAMP"

    second = open_store(tmp_path)  # another process on the same store: the same answers from the facts
    assert second.one("counts")[:4] == (89, 0, 0, 1) and second.newest() == newest

    # the bad file is rewritten clean and longer: a new version, checked again
    pq.write_table(table(datetime(2026, 11, 2), 60), logs / "date=2026-11-02" / "b.parquet")
    third = open_store(tmp_path)
    assert third.one("counts")[:4] == (110, 0, 0, 0)
    assert third.newest() == scan_newest(third) == datetime(2026, 11, 2) + timedelta(minutes=59)


def test_newest_ignores_a_row_refused_as_dated_in_the_future_and_counts_segments(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    future = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=30)
    t = table(datetime(2026, 11, 1), 10)
    t = pa.concat_tables([t, table(future, 1).cast(t.schema)])
    pq.write_table(t, logs / "a.parquet")
    (tmp_path / "live.jsonl").write_text(json.dumps({"ts": "2026-11-03T00:00:00Z", "model": "m", "version": "1",
                                                     "request_id": "j1"}) + "\n")
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(logs)),
                                                   LogSource("predictions", str(tmp_path / "live.jsonl"))))
    w = Warehouse(cfg, database=tmp_path / "store")
    w.refresh()
    assert w.one("counts")[:4] == (11, 0, 0, 1)
    assert w.newest() == scan_newest(w) == datetime(2026, 11, 3)  # the JSONL row, from its segment's statistics


def test_counts_from_metadata_equal_the_counting_query(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    pq.write_table(table(datetime(2026, 11, 1), 30, bad=7), logs / "a.parquet")
    (tmp_path / "live.jsonl").write_text("".join(json.dumps(
        {"ts": f"2026-11-03T00:00:{i:02d}Z", "model": "m", "version": "1", "request_id": f"j{i}"}) + "\n"
        for i in range(12)) + "{not json\n")
    (tmp_path / "labels.jsonl").write_text(json.dumps({"ts": "2026-11-03T01:00:00Z", "request_id": "j1",
                                                       "label": 1}) + "\n")
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(logs)),
                                                   LogSource("predictions", str(tmp_path / "live.jsonl")),
                                                   LogSource("labels", str(tmp_path / "labels.jsonl"))))
    w = Warehouse(cfg, database=tmp_path / "store")
    w.refresh()
    assert w.counts() == w.one("counts") == (41, 1, 0, 2, datetime(2026, 11, 3, 0, 0, 11))


def test_a_refresh_says_how_far_it_has_read(tmp_path):
    """The first frame of a cold start shows this line while a large backlog is read."""
    from console.service import Service

    log = tmp_path / "p.jsonl"
    with open(log, "w") as fh:
        for i in range(3000):
            fh.write(json.dumps({"ts": "2026-11-03T00:00:00Z", "model": "m", "version": "1", "request_id": f"r{i}"})
                     + "\n")
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(log)),))
    svc = Service(cfg, clock=lambda: datetime(2026, 11, 4))
    seen = []
    svc.warehouse.on_progress = lambda p: seen.append((p, svc.ingest_progress()))
    try:
        assert svc.ingest_progress() is None
        svc.refresh()
        assert seen, "no progress was published"
        last, line = seen[-1]
        assert (last.offset, last.size, last.rows) == (log.stat().st_size, log.stat().st_size, 3000)
        assert line.startswith("reading p.jsonl 100%: 3,000 rows so far")
        assert svc.ingest_progress() is None  # nothing in flight any more
    finally:
        svc.close()


def test_every_timestamp_type_reads_the_same_rows_and_a_window_skips_other_files(tmp_path):
    """Clean files whose ts is a zone-less timestamp are read with ts as it is (time filters reach the scan);
    zoned, nanosecond and text timestamps are cast. Each gives the same rows, equal to pyarrow's reading."""
    logs = tmp_path / "logs"
    logs.mkdir()
    kinds = {"us": pa.timestamp("us"), "ms": pa.timestamp("ms"), "ns": pa.timestamp("ns"),
             "utc": pa.timestamp("us", tz="UTC"), "text": pa.string()}
    expected = []
    for day, (name, kind) in enumerate(kinds.items(), start=1):
        t = table(datetime(2026, 11, day, 6), 30)
        ts = t.column("ts").cast(pa.string()).to_pylist() if kind == pa.string() else t.column("ts").cast(kind)
        t = t.set_column(0, "ts", pa.array(ts, kind) if kind == pa.string() else ts)
        t = t.set_column(3, "request_id", pa.array([f"{name}-{i}" for i in range(30)]))
        pq.write_table(t, logs / f"{name}.parquet")
        expected += [(f"{name}-{i}", datetime(2026, 11, day, 6) + timedelta(minutes=i)) for i in range(30)]
    w = open_store(tmp_path)
    with w.cursor() as cur:
        rows = cur.execute("SELECT request_id, ts FROM predictions ORDER BY ts, request_id").fetchall()
        assert rows == sorted(expected, key=lambda r: (r[1], r[0]))
        # a window on the second day: the us, ms and text files are outside it
        day2 = cur.execute("SELECT request_id FROM predictions WHERE ts > TIMESTAMP '2026-11-02' "
                           "AND ts <= TIMESTAMP '2026-11-03' ORDER BY ts").fetchall()
        assert [r[0] for r in day2] == [f"ms-{i}" for i in range(30)]
        plan = cur.execute("EXPLAIN ANALYZE SELECT request_id FROM typed_predictions "
                           "WHERE ts > TIMESTAMP '2026-11-02' AND ts <= TIMESTAMP '2026-11-03'").fetchall()[0][1]
    assert "Total Files Read: 2" in plan  # only the typed files (us, ms): ns, zoned and text are cast
    assert "Row Groups Scanned: 1 / 2" in plan, plan  # the us file's row group is skipped by its statistics


def test_a_first_scan_of_many_files_writes_the_facts_once_not_once_per_file(tmp_path, monkeypatch):
    """The facts file was written again after each file checked: 3 s of JSON for the 120 files of a 100M-row
    fleet, the file growing each time. Now at most every 2 s while the scan goes on and once when it is done; the
    facts of every file are kept, and a second process checks none again."""
    import os

    logs = tmp_path / "logs"
    logs.mkdir()
    start = datetime(2026, 11, 20)
    for i in range(40):
        pq.write_table(table(start + timedelta(hours=i), 30, bad=3 if i == 7 else None), logs / f"p{i:02d}.parquet")
    writes = []
    replace = os.replace

    def counted(src, dst, *a, **kw):
        if Path(dst).name == NAME:
            writes.append(dst)
        return replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", counted)
    w = open_store(tmp_path)
    try:
        assert w.counts()[:4] == (40 * 30 - 1, 0, 0, 1)
        kept = json.loads((w.dir / NAME).read_text())
    finally:
        w.close()
    assert 1 <= len(writes) <= 3, len(writes)
    facts = {Path(k.split("|")[1]).name: v for k, v in kept.items() if k.startswith("predictions|")}
    assert sorted(facts) == [f"p{i:02d}.parquet" for i in range(40)]
    assert [n for n, v in facts.items() if v["rejects"]] == ["p07.parquet"]
    from console.store.facts import Facts

    monkeypatch.setattr(Facts, "put", lambda *a, **kw: (_ for _ in ()).throw(AssertionError("checked again")))
    w = open_store(tmp_path)  # every file's facts hold: none is scanned
    try:
        assert w.counts()[:4] == (40 * 30 - 1, 0, 0, 1)
    finally:
        w.close()
