"""Merging small segments, off the refresh: a refresh never merges; a merge takes a bounded batch of one tier,
keeps every row once and the cursors as they are, and a store another process reads (or merges) meanwhile
keeps working. Counts are checked against what was written."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from console.config import Config, LogSource
from console.store import merge, tiers
from console.warehouse import COMPACT_AT, RETIRE_S, Warehouse


def live(tmp_path: Path, clock: dict | None = None, background: bool = False) -> tuple[Warehouse, Path]:
    p = tmp_path / "p.jsonl"
    p.touch()
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(p)),))
    w = Warehouse(cfg, tmp_path / "store", wall=(lambda: clock["t"]) if clock else time.time)
    w.merge_in_background = background
    return w, p


def append(p: Path, start: int, n: int) -> int:
    with open(p, "a") as fh:
        fh.writelines(json.dumps({"ts": f"2026-11-25T06:{i // 60 % 60:02d}:{i % 60:02d}Z", "model": f"m{i % 3}",
                                  "version": "1", "request_id": f"r{i}", "x": i}) + "\n"
                      for i in range(start, start + n))
    return start + n


def counted(w: Warehouse) -> tuple[int, int, int]:
    with w.cursor() as cur:
        return cur.execute("SELECT count(*), count(DISTINCT request_id), sum(x) FROM predictions").fetchone()


def expected(n: int) -> tuple[int, int, int]:
    return n, n, n * (n - 1) // 2


def test_a_refresh_never_merges_and_a_merge_takes_one_bounded_batch(tmp_path):
    w, p = live(tmp_path)
    n = 0
    for i in range(3 * COMPACT_AT + 2):
        n = append(p, n, 5)
        w.refresh()
        assert len(w.manifest.segments["predictions"]) == i + 1  # one new segment a refresh, none merged
    before = list(w.manifest.segments["predictions"])
    cursors = w.manifest.cursors
    assert w.compact(limit=1) == 1
    after = w.manifest.segments["predictions"]
    assert [name for name, _ in w.manifest.retired] == before[:COMPACT_AT]  # the oldest batch, and only it
    assert after[1:] == before[COMPACT_AT:] and after[0] not in before  # the merged file takes its place
    assert w.manifest.cursors == cursors
    assert counted(w) == expected(n)
    w.compact()
    assert len(w.manifest.segments["predictions"]) < COMPACT_AT
    assert counted(w) == expected(n)
    n = append(p, n, 5)
    assert w.refresh().rows == {"predictions": 5}  # the cursors still cover exactly what was read
    assert counted(w) == expected(n)
    again = Warehouse(w.cfg, tmp_path / "store")  # another process opening the store
    assert counted(again) == expected(n)


def test_tiers_keep_each_merge_bounded():
    rows = {f"a{i}": 10_000 for i in range(COMPACT_AT + 3)} | {f"b{i}": 90_000 for i in range(COMPACT_AT)} | \
        {"big": 250_000}
    names = ["big", *rows.keys() - {"big"}]
    names.sort(key=lambda n: (n[0], int(n[1:]) if n[1:].isdigit() else 0))
    kw = dict(fanin=COMPACT_AT, tier_rows=10_000, small_rows=200_000, max_rows=1_000_000)
    assert tiers.tier(9_999, COMPACT_AT, 10_000) == 0 and tiers.tier(80_000, COMPACT_AT, 10_000) == 1
    assert tiers.pick(names, rows, **kw) == [f"a{i}" for i in range(COMPACT_AT)]  # the lowest tier first
    rest = [n for n in names if not n.startswith("a")]
    assert tiers.pick(rest, rows, **kw) == [f"b{i}" for i in range(COMPACT_AT)]
    assert tiers.pick(rest, rows, **kw | {"max_rows": 300_000}) == ["b0", "b1", "b2"]  # at most max_rows
    assert tiers.pick(["big"] * 1 + rest[:COMPACT_AT - 1], rows, **kw) == []  # too few of a tier; big is left alone


def test_a_background_merge_keeps_every_row_while_refreshes_and_a_reader_go_on(tmp_path):
    w, p = live(tmp_path, background=True)
    merged = []
    w.on_merge = lambda kind, parts, rows, seconds: merged.append((kind, len(parts), rows))
    n = append(p, 0, 20)
    w.refresh()
    reader = Warehouse(w.cfg, tmp_path / "store")  # another console on the same store
    for _ in range(4 * COMPACT_AT):
        n = append(p, n, 20)
        w.refresh()
        assert counted(w) == expected(n)
        got = counted(reader)  # what the reader's views name stays readable, merged away or not
        assert got[0] == got[1] and got[0] <= n
        reader.refresh(lock_timeout_s=0.01)
    # the reader merges in the background too: while its merge runs, the writer's compaction returns at once (one
    # merger per store), so under load the writer stopped short; the reader closed, what it merged is read back
    reader.close()
    w.refresh()
    w.compact()
    assert merged and all(parts <= COMPACT_AT for _, parts, _ in merged)
    assert len(w.manifest.segments["predictions"]) < COMPACT_AT
    assert counted(w) == expected(n)
    reader = Warehouse(w.cfg, tmp_path / "store")  # the other console again, on the merged store
    assert counted(reader) == expected(n)
    reader.close()
    w.close()
    assert not w.merging and not w.merge_error


def test_a_merge_overtaken_by_another_process_is_dropped(tmp_path):
    """While one process merges, another brings the store up to date from new settings (its sources changed:
    the store is read again from the start and the old segments dropped). The merge finds its parts gone
    and is dropped; every row is there once."""
    a, p = live(tmp_path)
    n = 0
    for _ in range(COMPACT_AT):
        n = append(p, n, 3)
        a.refresh()
    edited = Config(source=None, root=tmp_path, logs=(*a.cfg.logs, LogSource("predictions", str(tmp_path / "q.jsonl"))))
    other = Warehouse(edited, tmp_path / "store")
    other.merge_in_background = False
    commit = a._merge_commit

    def overtaken(*args):
        other.refresh()
        return commit(*args)

    a._merge_commit = overtaken
    assert a.compact() == 0
    assert not list((tmp_path / "store").glob("*/*.tmp"))
    on_disk = {f"predictions/{f.name}" for f in (tmp_path / "store" / "predictions").iterdir()}
    assert on_disk == set(other.manifest.segments["predictions"]) and not other.manifest.retired
    assert counted(other) == expected(n)


def test_merged_away_parts_stay_for_readers_then_go(tmp_path):
    clock = {"t": 1000.0}
    w, p = live(tmp_path, clock)
    n = 0
    for _ in range(COMPACT_AT):
        n = append(p, n, 3)
        w.refresh()
    reader = Warehouse(w.cfg, tmp_path / "store", wall=lambda: clock["t"])  # its views name the parts
    assert w.compact() == 1
    parts = [name for name, _ in w.manifest.retired]
    assert len(parts) == COMPACT_AT and all((w.dir / name).exists() for name in parts)
    assert counted(reader) == counted(w) == expected(n)
    clock["t"] += RETIRE_S + 1  # no reader can still hold them: the next refresh deletes them
    w.refresh()
    assert not any((w.dir / name).exists() for name in parts) and not w.manifest.retired
    reader.refresh()
    assert counted(reader) == counted(w) == expected(n)


def test_parts_merged_away_while_the_clock_ran_ahead_go_once_it_is_set_back(tmp_path):
    """A merge stamped its parts with a clock a day ahead; the clock was then set back (an NTP step): the parts
    waited for the clock to pass that day again, whole copies of the merged rows kept on disk. Their wait starts
    again when the clock is found behind the stamp, so a reader holding them still has RETIRE_S."""
    clock = {"t": 1000.0 + 86_400}
    w, p = live(tmp_path, clock)
    n = 0
    for _ in range(COMPACT_AT):
        n = append(p, n, 3)
        w.refresh()
    assert w.compact() == 1
    parts = [name for name, _ in w.manifest.retired]
    clock["t"] = 1000.0  # set back a day
    w.refresh()
    assert all((w.dir / name).exists() for name in parts)  # a reader may still hold them
    clock["t"] += RETIRE_S + 1
    w.refresh()
    assert not any((w.dir / name).exists() for name in parts) and not w.manifest.retired
    assert counted(w) == expected(n)


@pytest.mark.parametrize("names", [("b", "a", "c", None), tuple(f"m{i:02d}" for i in range(40)) + (None,)])
def test_a_large_segment_holds_each_model_in_row_groups_of_its_own_in_logged_order(tmp_path, names):
    """`merge.write` groups a backlog's predictions by model without a sorted copy of the whole backlog (a model at
    a time; with many models, the sorted order a row group at a time): every row once, each model's rows in the
    order logged; with a few models no row group holds two."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = merge.ROW_GROUP * 2 + 777
    models = [names[(i * 7) % len(names)] for i in range(n)]
    table = pa.table({"model": models, "seq": list(range(n))})
    merge.write(table, tmp_path / "s.parquet", sort_by_model=True)
    f = pq.ParquetFile(tmp_path / "s.parquet")
    groups = [f.read_row_group(g) for g in range(f.num_row_groups)]
    if len(names) <= merge.FILTER_MODELS:
        assert all(len(set(g["model"].to_pylist())) == 1 for g in groups)
    back = pa.concat_tables(groups)
    expect = [(m, i) for m in sorted(n for n in names if n) + [None] for i in range(n) if models[i] == m]
    assert list(zip(back["model"].to_pylist(), back["seq"].to_pylist())) == expect
