"""A bad row costs only itself: every fault from issue 8's list is counted with its reason and location, and
every other row and file is still read. Values are checked against hand counts."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from console.config import Config, LogSource
from console.warehouse import Warehouse


def row(i: int, **extra) -> dict:
    base = {"ts": f"2026-11-25T06:{i // 60 % 60:02d}:{i % 60:02d}Z", "model": "m", "version": "1",
            "request_id": f"r{i}", "latency_ms": 10 + i % 7, "x": i / 2}
    base.update(extra)
    return base


def wh(*sources: LogSource) -> Warehouse:
    return Warehouse(Config(source=None, root=Path("."), logs=tuple(sources)))


def reasons(w: Warehouse) -> dict[str, int]:
    return {r["reason"]: r["n"] for r in w.frame("malformed_summary").to_dicts()}


def count(w: Warehouse) -> int:
    return w.one("counts")[0]


def test_one_bad_byte_in_a_csv_costs_one_row(tmp_path):
    p = tmp_path / "p.csv"
    lines = [f"2026-11-25T06:00:{i % 60:02d}Z,m,1,r{i},{10 + i}" for i in range(100)]
    body = ("ts,model,version,request_id,latency_ms\n" + "\n".join(lines) + "\n").encode()
    body = body.replace(b",r50,", b",r\xff50,")
    p.write_bytes(body)
    w = wh(LogSource("predictions", str(p)))
    stats = w.refresh()
    assert stats.rows == {"predictions": 99} and stats.malformed == 1
    assert reasons(w) == {"not UTF-8 (byte 28)": 1} or list(reasons(w)) == [next(iter(reasons(w)))]
    assert w.one("malformed_summary")[3] == "52"  # header is line 1, r0 line 2


def test_an_unbalanced_quote_does_not_glue_the_next_rows(tmp_path):
    p = tmp_path / "p.csv"
    lines = [f"2026-11-25T06:00:{i % 60:02d}Z,m,1,r{i},{10 + i}" for i in range(200)]
    lines[10] = '2026-11-25T06:00:10Z,m,1,"r10,15'
    p.write_text("ts,model,version,request_id,latency_ms\n" + "\n".join(lines) + "\n")
    w = wh(LogSource("predictions", str(p)))
    stats = w.refresh()
    assert stats.rows == {"predictions": 199} and stats.malformed == 1
    assert reasons(w) == {"unbalanced quote": 1}


def test_non_finite_numbers_bom_objects_as_names_and_future_rows(tmp_path):
    p = tmp_path / "p.jsonl"
    far = (datetime.utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [json.dumps(row(0)), '{"ts": "2026-11-25T06:00:01Z", "model": "m", "version": "1", "request_id": "r1", '
             '"latency_ms": NaN}', json.dumps(row(2, score="Infinity")), json.dumps(row(3, model={"a": 1})),
             json.dumps(row(4, ts=far)), json.dumps(row(5, ts="2999-01-01T00:00:00Z")),
             json.dumps(row(6, latency_ms=-5.0)), json.dumps(row(7, model=["a"]))] + \
            [json.dumps(row(i)) for i in range(8, 100)]
    p.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode())
    w = wh(LogSource("predictions", str(p)))
    stats = w.refresh()
    assert stats.rows == {"predictions": 93}  # the BOM costs no row
    assert reasons(w) == {"latency_ms is not finite": 1, "score is not finite": 1, "model is an object, not a name": 1,
                          "ts in the future (clock skew?)": 2, "latency_ms is negative": 1,
                          "model is an array, not a name": 1}
    assert w.cursor().execute("SELECT count(*) FROM predictions WHERE request_id = 'r0'").fetchone()[0] == 1


def test_non_utf8_jsonl_lines_are_set_aside_not_replaced(tmp_path):
    p = tmp_path / "p.jsonl"
    lines = [json.dumps(row(i)).encode() for i in range(100)]
    lines[7] = lines[7].replace(b'"r7"', b'"r\xe97"')
    p.write_bytes(b"\n".join(lines) + b"\n")
    w = wh(LogSource("predictions", str(p)))
    assert w.refresh().rows == {"predictions": 99}
    assert list(reasons(w)) == ["not UTF-8 (byte 88)"] or next(iter(reasons(w))).startswith("not UTF-8")
    assert w.one("malformed_summary")[3] == "8"


def test_a_folder_or_an_unreadable_file_in_the_glob_is_named_and_the_rest_read(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.jsonl").write_text("".join(json.dumps(row(i)) + "\n" for i in range(10)))
    (logs / "b.jsonl").mkdir()
    pq.write_table(pa.table({"ts": [datetime(2026, 11, 25, 7)], "model": ["m"], "version": ["1"],
                             "request_id": ["p0"]}), logs / "good.parquet")
    (logs / "bad.parquet").write_bytes(b"PAR1 this is not parquet")
    w = wh(LogSource("predictions", str(logs / "*.jsonl")), LogSource("predictions", str(logs / "*.parquet")))
    stats = w.refresh()
    assert count(w) == 11
    assert any("b.jsonl" in n and "not a file" in n for n in stats.notes), stats.notes
    assert any("bad.parquet" in n and "unreadable" in n for n in stats.notes), stats.notes


def test_parquet_is_read_in_place_and_a_rewrite_shows_its_new_rows(tmp_path):
    path = tmp_path / "p.parquet"
    frame = pl.DataFrame([row(i) for i in range(50)])
    frame.write_parquet(path)
    w = wh(LogSource("predictions", str(path)))
    w.refresh()
    assert count(w) == 50 and not list((w.dir / "predictions").iterdir())  # no copy in the store
    pl.DataFrame([row(i) | {"request_id": f"n{i}"} for i in range(50)]).write_parquet(path)  # same count
    w.refresh()
    ids = {r[0] for r in w.cursor().execute("SELECT request_id FROM predictions").fetchall()}
    assert ids == {f"n{i}" for i in range(50)}


def test_a_feature_that_changes_type_is_kept(tmp_path):
    p = tmp_path / "p.jsonl"
    p.write_text("".join(json.dumps(row(i)) + "\n" for i in range(100)))
    w = wh(LogSource("predictions", str(p)))
    w.refresh()
    with open(p, "a") as fh:
        fh.writelines(json.dumps(row(i, x=f"v{i}")) + "\n" for i in range(100, 200))
    w.refresh()
    assert count(w) == 200
    assert w.cursor().execute("SELECT count(x) FROM predictions").fetchone()[0] == 200


def test_an_unwritable_store_says_so_and_works_in_a_temporary_one(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(tmp_path / "p.jsonl")),))
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(row(i)) + "\n" for i in range(5)))
    w = Warehouse(cfg, blocker / "store")
    assert not w.persistent and "cannot be written" in w.note
    w.refresh()
    assert count(w) == 5
    folder = w.dir
    w.close()
    assert not folder.exists()


def test_store_files_are_private(tmp_path):
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(tmp_path / "p.jsonl")),))
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(row(i)) + "\n" for i in range(5)))
    w = Warehouse(cfg, tmp_path / "store")
    w.refresh()
    assert (os.stat(tmp_path / "store").st_mode & 0o777) == 0o700
    assert (os.stat(tmp_path / "store" / "manifest.json").st_mode & 0o777) == 0o600
    for seg in (tmp_path / "store" / "predictions").iterdir():
        assert (os.stat(seg).st_mode & 0o077) == 0


def test_a_live_log_refreshed_often_keeps_few_segments_and_every_row(tmp_path):
    from console import warehouse as wmod

    p = tmp_path / "p.jsonl"
    p.write_text("")
    clock = {"t": 1000.0}
    w = Warehouse(Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(p)),)), tmp_path / "store",
                  wall=lambda: clock["t"])
    n = 0
    for step in range(wmod.COMPACT_AT * 2 + 3):
        with open(p, "a") as fh:
            fh.writelines(json.dumps(row(n + i) | {"request_id": f"s{n + i}"}) + "\n" for i in range(7))
        n += 7
        w.refresh()
        clock["t"] += 5
    w.compact()  # what the background merges started by the refreshes have not done yet
    assert count(w) == n
    assert len(w.manifest.segments["predictions"]) < wmod.COMPACT_AT
    assert w.cursor().execute("SELECT count(DISTINCT request_id) FROM predictions").fetchone()[0] == n
    retired = [name for name, _ in w.manifest.retired]
    assert retired and all((w.dir / name).exists() for name in retired)  # a reader may still hold them
    clock["t"] += wmod.RETIRE_S + 1
    w.refresh()
    assert not any((w.dir / name).exists() for name in retired) and count(w) == n


def test_labels_keep_the_text_that_was_logged(tmp_path):
    labels = tmp_path / "labels.csv"
    rows = [f"r{i},{i % 2},2026-11-25T07:00:{i % 60:02d}Z" for i in range(80)] + \
           [f"e{i},{12.5 + i},2026-11-25T07:00:{i % 60:02d}Z" for i in range(80)]  # another model's minutes
    labels.write_text("request_id,label,ts\n" + "\n".join(rows) + "\n")
    w = wh(LogSource("labels", str(labels)))
    w.refresh()
    got = dict(w.cursor().execute("SELECT request_id, label FROM labels").fetchall())
    assert got["r0"] == "0" and got["r1"] == "1" and got["e0"] == "12.5"
    assert w.cursor().execute("SELECT label_num FROM labels WHERE request_id = 'e1'").fetchone()[0] == 13.5


def test_a_label_row_with_only_label_num_is_labelled_by_the_number(tmp_path):
    """The contract lists `label_num` (a regression target, a score): a row with it and no `label` is a label, its
    text the number's (an integral one without ".0", as a class is logged); a row with neither is set aside as
    "missing label (label or label_num)", and a non-finite number as "label is not finite" (QA pass 4)."""
    labels = tmp_path / "labels.jsonl"
    rows = [{"request_id": "a", "label_num": 12.5}, {"request_id": "b", "label_num": 1},
            {"request_id": "c", "label": "spam"}, {"request_id": "d", "label": "0", "label_num": 0},
            {"request_id": "e"}, {"request_id": "f", "label_num": "NaN"}]
    labels.write_text("".join(json.dumps({**r, "ts": "2026-11-25T07:00:00Z"}) + "\n" for r in rows))
    w = wh(LogSource("labels", str(labels)))
    stats = w.refresh()
    assert stats.rows == {"labels": 4} and stats.malformed == 2
    assert reasons(w) == {"missing label (label or label_num)": 1, "label is not finite": 1}
    got = {r: (lab, num) for r, lab, num in
           w.cursor().execute("SELECT request_id, label, label_num FROM labels").fetchall()}
    assert got == {"a": ("12.5", 12.5), "b": ("1", 1.0), "c": ("spam", None), "d": ("0", 0.0)}


def test_rollup_labels_with_only_label_num_are_read_as_the_store_reads_them(tmp_path):
    """The rollup job's label reader (`rollup_sources.read_labels`) types a label file with no `label` column the
    store's way: the number's text as the label (it failed on the missing column)."""
    from console import rollup_sources

    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps({"request_id": r, "label_num": n, "ts": "2026-11-25T07:00:00Z"}) + "\n"
                              for r, n in (("a", 12.5), ("b", 1), ("c", 0))))
    got = rollup_sources.read_labels([rollup_sources.Source(str(labels))])
    assert sorted(zip(got.column("request_id").to_pylist(), got.column("label").to_pylist(),
                      got.column("label_num").to_pylist())) == [("a", "12.5", 12.5), ("b", "1", 1.0), ("c", "0", 0.0)]


def test_a_temporary_store_never_closed_is_removed_once_collected(tmp_path):
    """Scripts and tests that never call close() must not leave their temporary stores in /tmp."""
    import gc

    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(tmp_path / "p.jsonl")),))
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(row(i)) + "\n" for i in range(5)))
    w = Warehouse(cfg, ":memory:")
    w.refresh()
    folder = w.dir
    assert count(w) == 5 and folder.exists()
    del w
    gc.collect()
    assert not folder.exists()


def test_a_deleted_parquet_file_is_noted_once_as_a_deleted_jsonl_file_is(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    for name, n in (("a", 30), ("b", 20)):
        pl.DataFrame([row(i) | {"request_id": f"{name}{i}"} for i in range(n)]).write_parquet(logs / f"{name}.parquet")
    (logs / "c.jsonl").write_text("".join(json.dumps(row(i) | {"request_id": f"c{i}"}) + "\n" for i in range(5)))
    cfg = Config(source=None, root=Path("."), logs=(LogSource("predictions", str(logs / "*.parquet")),
                                                    LogSource("predictions", str(logs / "*.jsonl"))))
    w = Warehouse(cfg, tmp_path / "store")
    w.refresh()
    assert count(w) == 55
    (logs / "b.parquet").unlink()
    (logs / "c.jsonl").unlink()
    stats = w.refresh()
    assert count(w) == 35  # the JSONL rows were stored; the Parquet ones were read in place
    assert f"{logs / 'b.parquet'}: deleted" in stats.notes and any(n.startswith(f"{logs / 'c.jsonl'}: deleted or moved out of its folder; ") for n in stats.notes), \
        stats.notes
    assert not any("deleted" in n for n in w.refresh().notes)  # said once
    (logs / "a.parquet").unlink()  # deleted while no console runs: the next one says so
    w.close()
    later = Warehouse(cfg, tmp_path / "store")
    assert f"{logs / 'a.parquet'}: deleted" in later.refresh().notes


def _csv_rows(w: Warehouse) -> dict[str, str]:
    return dict(w.cursor().execute("SELECT request_id, note FROM predictions").fetchall())


def test_a_quoted_field_holding_newlines_is_one_row(tmp_path):
    """RFC 4180: a quoted field may hold line breaks (an LLM prompt logged as CSV). It was refused as two
    "unbalanced quote" rows; an unbalanced quote elsewhere still costs only its own line. Both the native
    reader (a file of many lines) and the line-by-line one (a few lines) are covered."""
    for n in (5, 300):
        p = tmp_path / f"q{n}.csv"
        notes = {f"r{i}": f"note {i}" for i in range(n)}
        notes["r1"] = "multi\nline"
        notes["r3"] = 'a, "quoted"\r\nthree\n\nlines'
        lines = [f'2026-11-25T06:00:{i % 60:02d}Z,m,1,r{i},{10 + i},"' + notes[f"r{i}"].replace('"', '""') + '"'
                 for i in range(n)]
        lines.insert(3, '2026-11-25T06:00:02Z,m,1,"broken,12,x')  # line 6 of the file (r1 takes 3-4): never closed
        p.write_bytes(("\ufeffts,model,version,request_id,latency_ms,note\n" + "\n".join(lines) + "\n").encode())
        w = wh(LogSource("predictions", str(p)))
        stats = w.refresh()
        assert stats.rows == {"predictions": n} and stats.malformed == 1, (n, stats)
        assert reasons(w) == {"unbalanced quote": 1}
        assert w.one("malformed_summary")[3] == "6"
        assert _csv_rows(w) == notes


def test_a_quoted_field_of_thousands_of_lines_is_one_row_up_to_the_bound(tmp_path):
    """A prompt of 3,000 lines (and 300 KB, past Python's csv field limit of 128 KiB) written by Python's csv
    writer: refused line by line when a record could span 128 lines at most; now one row, through the native
    reader (a file of many records) and the line-by-line one (a few). A record past the bound
    (`csv_records.MAX_RECORD_BYTES`) is still not glued together: the rows around it are read as they are."""
    import csv

    from console.sources.csv_records import MAX_RECORD_BYTES

    long_note = "\n".join(f"line {k}: " + "x" * 90 for k in range(3000))
    assert long_note.count("\n") > 128 and len(long_note) > 128 * 1024
    for n in (4, 300):
        p = tmp_path / f"long{n}.csv"
        notes = {f"r{i}": f"note {i}" for i in range(n)}
        notes["r2"] = long_note
        with p.open("w", newline="") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(["ts", "model", "version", "request_id", "latency_ms", "note"])
            out.writerows([f"2026-11-25T06:00:{i % 60:02d}Z", "m", "1", f"r{i}", 10 + i, notes[f"r{i}"]]
                          for i in range(n))
        w = wh(LogSource("predictions", str(p)))
        stats = w.refresh()
        assert stats.rows == {"predictions": n} and stats.malformed == 0, (n, stats)
        assert _csv_rows(w) == notes
    # past the bound: the record is not read as one; the rows before and after it still are
    p = tmp_path / "too-long.csv"
    huge = "\n".join("y" * 1000 for _ in range(MAX_RECORD_BYTES // 1000 + 10))
    with p.open("w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["ts", "model", "version", "request_id", "latency_ms", "note"])
        out.writerows([["2026-11-25T06:00:00Z", "m", "1", "before", 10, "ok"],
                       ["2026-11-25T06:00:01Z", "m", "1", "huge", 11, huge],
                       ["2026-11-25T06:00:02Z", "m", "1", "after", 12, "ok"]])
    clock = {"t": 1000.0}  # its closing line opens a quote too: the tail waits for a writer, for the grace
    w = Warehouse(Config(source=None, root=Path("."), logs=(LogSource("predictions", str(p)),)), tmp_path / "store",
                  grace_s=30.0, wall=lambda: clock["t"])
    w.refresh()
    clock["t"] += 31
    w.refresh()
    got = _csv_rows(w)
    assert got.get("before") == "ok" and got.get("after") == "ok" and "huge" not in got, sorted(got)[:5]
    assert reasons(w).get("unbalanced quote", 0) >= 1


def test_a_row_whose_quoted_field_is_being_written_waits_for_its_writer(tmp_path):
    """A complete line inside an open quoted field is not a complete row: it waits as a partial line does,
    and is read whole when its writer closes the quote; left open for the grace, the line that opened the
    quote is set aside alone and the lines after it are read as rows."""
    p = tmp_path / "live.csv"
    clock = {"t": 1000.0}
    cfg = Config(source=None, root=Path("."), logs=(LogSource("predictions", str(p)),))
    w = Warehouse(cfg, tmp_path / "store", grace_s=30.0, wall=lambda: clock["t"])
    head = "ts,model,version,request_id,latency_ms,note\n"
    p.write_text(head + '2026-11-25T06:00:00Z,m,1,r0,10,plain\n2026-11-25T06:00:01Z,m,1,r1,11,"first line\n')
    assert w.refresh().rows == {"predictions": 1}
    clock["t"] += 10
    with p.open("a") as fh:
        fh.write('second line"\n')
    assert w.refresh().rows == {"predictions": 1}
    assert _csv_rows(w) == {"r0": "plain", "r1": "first line\nsecond line"}
    with p.open("a") as fh:
        fh.write('2026-11-25T06:00:02Z,m,1,r2,12,"never closed\n2026-11-25T06:00:03Z,m,1,r3,13,after\n')
    assert w.refresh().rows == {} and count(w) == 2  # r3 may still be inside r2's note
    clock["t"] += 31
    stats = w.refresh()
    assert stats.rows == {"predictions": 1} and stats.malformed == 1
    assert reasons(w) == {"unbalanced quote": 1} and _csv_rows(w)["r3"] == "after"


def test_an_open_quote_or_a_partial_line_in_a_file_untouched_for_months_is_decided_by_one_refresh(tmp_path):
    """The grace is for a writer still writing (QA pass 4): a log whose mtime is older than the grace has none, so a
    one-shot refresh (`check`) decides its tail at once, as after the grace, with the store's clock pinned. Hand
    counts: the CSV keeps its 2 good rows and sets the line opening the never-closed quote aside; the JSONL keeps
    its whole last row (no newline) and sets the cut one aside."""
    old = time.time() - 90 * 86400
    head = "ts,model,version,request_id,latency_ms,note\n"
    q = tmp_path / "old.csv"
    q.write_text(head + '2026-08-25T06:00:00Z,m,1,r0,10,plain\n2026-08-25T06:00:01Z,m,1,r1,11,ok\n'
                        '2026-08-25T06:00:02Z,m,1,r2,12,"never closed\n')
    j, cut = tmp_path / "whole.jsonl", tmp_path / "cut.jsonl"
    j.write_text('{"ts": "2026-08-25T06:00:00Z", "model": "j", "version": "1", "request_id": "j0", "latency_ms": 1}\n'
                 '{"ts": "2026-08-25T06:00:01Z", "model": "j", "version": "1", "request_id": "j1", "latency_ms": 2}')
    cut.write_text('{"ts": "2026-08-25T06:00:00Z", "model": "c", "version": "1", "request_id": "c0", '
                   '"latency_ms": 1}\n{"ts": "2026-08')
    for p in (q, j, cut):
        os.utime(p, (old, old))
    logs = tuple(LogSource("predictions", str(p)) for p in (q, j, cut))
    w = Warehouse(Config(source=None, root=Path("."), logs=logs), tmp_path / "store", grace_s=30.0,
                  wall=lambda: 1000.0)
    stats = w.refresh()
    assert stats.rows == {"predictions": 2 + 2 + 1} and stats.malformed == 2, (stats, reasons(w))
    assert reasons(w) == {"unbalanced quote": 1, "truncated last line (no newline)": 1}


def test_a_negative_latency_is_set_aside_on_the_plain_path_too(tmp_path):
    """A chunk with nothing else wrong takes `conform_plain`'s path, which must refuse what the query refuses."""
    p = tmp_path / "p.jsonl"
    p.write_text("".join(json.dumps(row(i, latency_ms=-5.0 if i == 3 else 10.0)) + "\n" for i in range(50)))
    w = wh(LogSource("predictions", str(p)))
    assert w.refresh().rows == {"predictions": 49} and reasons(w) == {"latency_ms is negative": 1}
