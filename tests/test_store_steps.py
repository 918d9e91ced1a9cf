"""A cold ingest commits in steps, so the first frame shows what is ready: each step's segments and the
cursors covering exactly them are one manifest, which a second process reads while the first goes on; a
crash between steps keeps what was committed and reads on from there, every row once. The typed JSONL path
keeps a field that first appears after its sample. Counts are checked against the file's own lines."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from console import warehouse as wmod
from console.config import Config, LogSource
from console.store import parse
from console.warehouse import Warehouse

ROWS = 1000


def row(i: int, **extra) -> dict:
    return {"ts": f"2026-11-25T06:{i // 60 % 60:02d}:{i % 60:02d}Z", "model": f"m{i % 3}", "version": "1",
            "request_id": f"r{i}", "latency_ms": 10 + i % 7, "x": i / 2} | extra


def workspace(tmp_path: Path, rows: int = ROWS) -> tuple[Config, Path]:
    p = tmp_path / "p.jsonl"
    p.write_text("".join(json.dumps(row(i)) + "\n" for i in range(rows)))
    return Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(p)),)), p


def stepping(w: Warehouse, first: int = 100, every: int = 300, chunk: int = 8 << 10) -> Warehouse:
    w.first_step_rows, w.step_rows, w.chunk_bytes = first, every, chunk
    return w


def counted(w: Warehouse) -> tuple[int, int]:
    with w.cursor() as cur:
        return cur.execute("SELECT count(*), count(DISTINCT request_id) FROM predictions").fetchone()


def lines_before(path: Path, offset: int) -> int:
    return path.read_bytes()[:offset].count(b"\n")


def test_a_second_process_reads_each_committed_step_while_the_first_ingests(tmp_path):
    cfg, p = workspace(tmp_path)
    store = tmp_path / "store"
    first = stepping(Warehouse(cfg, store))
    seen: list[tuple[int, int, int, int, list[str]]] = []

    def look(manifest):
        # the refreshing process holds the writer lock; a second one opens the store and sees the steps so far
        (cursor,) = manifest.cursors[f"predictions||{p}"].values()
        second = Warehouse(cfg, store)
        try:
            notes = list(second.refresh(lock_timeout_s=0).notes)
            seen.append((lines_before(p, cursor["offset"]), *counted(second), counted(first)[0], notes))
        finally:
            second.close()

    first.on_step = look
    stats = first.refresh()
    assert stats.rows == {"predictions": ROWS} and counted(first) == (ROWS, ROWS)
    assert len(seen) >= 3 and first.steps == len(seen)
    for committed, rows, distinct, own, notes in seen:
        assert rows == distinct == own == committed  # exactly the lines the committed cursor covers
        assert any("another console" in n for n in notes)
    assert 0 < seen[0][0] < seen[-1][0] < ROWS  # each step shows more, and none waited for the end
    assert seen[0][0] >= 100


def test_a_crash_between_steps_keeps_them_and_the_next_refresh_reads_on(tmp_path):
    cfg, p = workspace(tmp_path)
    store = tmp_path / "store"
    w = stepping(Warehouse(cfg, store))
    done: list[int] = []

    def crash(manifest):
        (cursor,) = manifest.cursors[f"predictions||{p}"].values()
        done.append(lines_before(p, cursor["offset"]))
        if len(done) == 2:
            raise KeyboardInterrupt  # the process dies between steps

    w.on_step = crash
    try:
        w.refresh()
    except KeyboardInterrupt:
        pass
    w.close()
    assert 0 < done[1] < ROWS
    again = Warehouse(cfg, store)
    assert counted(again) == (done[1], done[1])  # what was committed survives the crash, and only that
    stats = again.refresh()
    assert stats.rows == {"predictions": ROWS - done[1]}
    assert counted(again) == (ROWS, ROWS)
    assert {f"predictions/{f.name}" for f in (store / "predictions").iterdir()} == set(again.manifest.segments["predictions"])


def test_many_steps_are_compacted(tmp_path):
    cfg, _ = workspace(tmp_path)
    w = stepping(Warehouse(cfg, tmp_path / "store"), first=10, every=10, chunk=1 << 10)
    w.refresh()
    w.compact()  # what the background merge started by the refresh has not done yet
    assert w.steps > wmod.COMPACT_AT
    assert len(w.manifest.segments["predictions"]) < wmod.COMPACT_AT
    assert counted(w) == (ROWS, ROWS)


def test_the_typed_jsonl_path_keeps_a_field_first_seen_after_its_sample(tmp_path, monkeypatch):
    monkeypatch.setattr(parse, "FAST_SAMPLE", 4096)  # the sample: the first few dozen lines
    clean = b"".join(json.dumps(row(i)).encode() + b"\n" for i in range(500))
    assert parse._jsonl_typed(clean, 500) is not None  # the typed path takes a clean piece
    late = [row(i) for i in range(500)]
    late[400]["new"] = 7  # a feature that first appears late
    late[450]["x"] = "v450"  # a feature that changes type late
    late[460]["latency_ms"] = 12.5  # an integer column that gets a fraction
    body = b"".join(json.dumps(r).encode() + b"\n" for r in late)
    assert parse._jsonl_typed(body, 500) is None  # not provably read whole: the general path reads it
    (tmp_path / "p.jsonl").write_bytes(body)
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(tmp_path / "p.jsonl")),))
    w = Warehouse(cfg, tmp_path / "store")
    stats = w.refresh()
    assert stats.rows == {"predictions": 500}
    assert any("'x'" in n and "more than one type" in n for n in stats.notes), stats.notes
    with w.cursor() as cur:
        assert cur.execute("SELECT count(new), sum(new) FROM predictions").fetchone() == (1, 7)
        assert cur.execute("SELECT x FROM predictions WHERE request_id = 'r450'").fetchone()[0] == "v450"
        assert cur.execute("SELECT sum(latency_ms) FROM predictions").fetchone()[0] == \
            sum(r["latency_ms"] for r in late)


def test_a_late_field_written_with_a_space_before_its_colon_is_kept(tmp_path, monkeypatch):
    """The typed path counts keys by their `":`; a writer that spaces one key's colon (`"new" : 7`) on a
    late line only would hide a field the reader drops: such a piece goes the general way."""
    monkeypatch.setattr(parse, "FAST_SAMPLE", 4096)
    lines = [json.dumps(row(i), separators=(",", ":")) for i in range(500)]
    for i, spacing in ((400, " "), (420, "  "), (440, "\t")):
        lines[i] = lines[i][:-1] + f',"new{i}"{spacing}:{i}}}'
    body = "".join(line + "\n" for line in lines).encode()
    assert parse._jsonl_typed(body, 500) is None
    (tmp_path / "p.jsonl").write_bytes(body)
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(tmp_path / "p.jsonl")),))
    w = Warehouse(cfg, tmp_path / "store")
    assert w.refresh().rows == {"predictions": 500}
    with w.cursor() as cur:
        assert cur.execute("SELECT sum(new400), sum(new420), sum(new440) FROM predictions").fetchone() == \
            (400, 420, 440)


def test_the_typed_path_reads_what_json_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(parse, "FAST_SAMPLE", 4096)
    rows = [row(i, **({"note": None} if i % 5 == 0 else {"note": f"n{i}"})) for i in range(300)]
    rows[250].pop("x")  # a field missing from a row is null
    body = b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in rows)
    table = parse._jsonl_typed(body, len(rows))
    assert table is not None
    got = table.to_pylist()
    for want, have in zip(rows, got, strict=True):
        assert {k: have.get(k) for k in want} == {k: v for k, v in want.items()}
    assert table.schema.field("latency_ms").type == pa.int64()


def test_a_field_new_to_the_store_is_said(tmp_path):
    cfg, p = workspace(tmp_path, 100)
    w = Warehouse(cfg, tmp_path / "store")
    assert not [n for n in w.refresh().notes if "new field" in n]
    with open(p, "a") as fh:
        fh.writelines(json.dumps(row(i, tenure=i)) + "\n" for i in range(100, 200))
    stats = w.refresh()
    assert "predictions: new field 'tenure'" in stats.notes
    with w.cursor() as cur:
        assert cur.execute("SELECT count(tenure), sum(tenure) FROM predictions").fetchone() == (100, sum(range(100, 200)))


def test_a_logs_types_are_remembered_across_processes_and_a_piece_they_do_not_fit_is_read_whole(tmp_path):
    """The types that read a JSONL log's last piece are kept in the store's facts, so another process's first
    refresh reads with them; a piece where a field changed type (x: number -> text), or gained one, does not
    fit them and is read as if they were not known."""
    cfg, p = workspace(tmp_path)
    first = Warehouse(cfg, tmp_path / "store")
    first.refresh()
    facts = json.loads((tmp_path / "store" / "inplace-facts.json").read_text())
    assert facts[f"jsonl-types|predictions|{p}"]["value"]["x"] == "Float64"
    with open(p, "a") as fh:
        fh.writelines(json.dumps(row(i)) + "\n" for i in range(ROWS, 2 * ROWS))
    second = Warehouse(cfg, tmp_path / "store")  # another process: the remembered types read this piece
    assert second.refresh().rows == {"predictions": ROWS}
    with open(p, "a") as fh:
        fh.writelines(json.dumps(row(i, x=f"v{i}", extra=i)) + "\n" for i in range(2 * ROWS, 3 * ROWS))
    third = Warehouse(cfg, tmp_path / "store")
    assert third.refresh().rows == {"predictions": ROWS}
    with third.cursor() as cur:
        assert cur.execute("SELECT count(*), count(DISTINCT request_id), sum(extra) FROM predictions").fetchone() == \
            (3 * ROWS, 3 * ROWS, sum(range(2 * ROWS, 3 * ROWS)))
        assert cur.execute("SELECT x FROM predictions WHERE request_id = 'r2500'").fetchone()[0] == "v2500"
        assert cur.execute("SELECT x FROM predictions WHERE request_id = 'r1500'").fetchone()[0] in ("750.0", "750")


def test_a_first_read_in_steps_calls_no_field_new(tmp_path):
    """A cold ingest committed in steps, a field first logged in a later step (another model's feature): the store
    had no rows before this read, so no field is new to it; one logged after, in the next refresh, is."""
    p = tmp_path / "p.jsonl"
    p.write_text("".join(json.dumps(row(i, **({"tenure": i} if i >= 600 else {}))) + "\n" for i in range(ROWS)))
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(p)),))
    w = stepping(Warehouse(cfg, tmp_path / "store"))
    first = w.refresh()
    assert w.steps > 1 and counted(w) == (ROWS, ROWS)
    assert not [n for n in first.notes if "new field" in n], first.notes
    with open(p, "a") as fh:
        fh.write(json.dumps(row(ROWS, tenure=1, channel="web")) + "\n")
    assert [n for n in w.refresh().notes if "new field" in n] == ["predictions: new field 'channel'"]
    w.close()


def test_rows_another_process_committed_bring_no_new_fields(tmp_path):
    """A console opened on an empty store while another reads the log: its next refresh finds the other's segments
    and reads only the rows appended since. None of their fields is new to the store (they were, before the fix,
    every one, since the columns it knew were those of the empty store it opened)."""
    cfg, p = workspace(tmp_path, 100)
    late = Warehouse(cfg, tmp_path / "store")  # opened first, on the empty store
    first = Warehouse(cfg, tmp_path / "store")
    assert first.refresh().rows == {"predictions": 100}
    with open(p, "a") as fh:
        fh.writelines(json.dumps(row(i)) + "\n" for i in range(100, 150))
    stats = late.refresh()
    assert stats.rows == {"predictions": 50}
    assert not [n for n in stats.notes if "new field" in n]
    with open(p, "a") as fh:
        fh.writelines(json.dumps(row(i, tenure=i)) + "\n" for i in range(150, 160))
    assert [n for n in first.refresh().notes if "new field" in n] == ["predictions: new field 'tenure'"]


def test_a_field_logged_as_text_after_numbers_is_said(tmp_path):
    """The store holds `x` as numbers; a later refresh reads it as text (a deploy changed the logger): said, as it
    is when both are read in one refresh, once, and the rows of both kept."""
    cfg, p = workspace(tmp_path, 100)
    w = Warehouse(cfg, tmp_path / "store")
    assert not [n for n in w.refresh().notes if "more than one type" in n]
    with open(p, "a") as fh:
        fh.writelines(json.dumps(row(i, x=f"v{i}")) + "\n" for i in range(100, 150))
    said = [n for n in w.refresh().notes if "more than one type" in n]
    assert said == ["predictions: field 'x' holds values of more than one type; kept, as text if not all numbers"]
    with open(p, "a") as fh:
        fh.writelines(json.dumps(row(i, x=f"w{i}")) + "\n" for i in range(150, 160))
    assert not [n for n in w.refresh().notes if "more than one type" in n]  # said once
    with open(p, "a") as fh:  # numbers of the other kind are still numbers
        fh.writelines(json.dumps(row(i, x=0.5)) + "\n" for i in range(160, 170))
    again = Warehouse(cfg, tmp_path / "store")  # another process knows both kinds from the footers
    assert not [n for n in again.refresh().notes if "more than one type" in n]
    with again.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM predictions").fetchone() == (170,)


def test_a_damaged_manifest_is_said_and_the_store_read_again_once(tmp_path):
    """A manifest cut short (a disk error, an editor) made every command exit 4 with "JSONDecodeError": the store
    opens, says so, and the writer reads the logs again from the start; the old segments go, so no row counts twice."""
    cfg, p = workspace(tmp_path)
    store = tmp_path / "store"
    w = stepping(Warehouse(cfg, store))
    w.refresh()
    w.close()
    manifest = store / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[: len(manifest.read_bytes()) // 2])
    again = Warehouse(cfg, store)
    notes = again.refresh().notes
    assert [n for n in notes if "manifest.json cannot be read" in n and "read again from the logs' start" in n]
    assert counted(again) == (ROWS, ROWS)
    assert {f"predictions/{f.name}" for f in (store / "predictions").iterdir()} == set(again.manifest.segments["predictions"])
    assert not [n for n in again.refresh().notes if "cannot be read" in n]  # said once: the store is whole again
    again.close()



def test_a_damaged_or_missing_segment_is_said_and_the_store_read_again_once(tmp_path):
    """A segment the manifest names that is cut short or gone made every command exit 4 (ArrowInvalid, or
    FileNotFoundError): a reader shows the other segments and says so; the writer reads the logs again."""
    cfg, p = workspace(tmp_path)
    store = tmp_path / "store"
    w = stepping(Warehouse(cfg, store))
    w.refresh()
    w.close()
    first, second = Warehouse(cfg, store).manifest.segments["predictions"][:2]
    cut = store / first
    cut.write_bytes(cut.read_bytes()[:100])
    (store / second).unlink()
    reader = Warehouse(cfg, store)  # opens and reads what it can, while another process holds the writer lock
    with reader._lock:
        other = Warehouse(cfg, store)
        notes = other.refresh(lock_timeout_s=0).notes
        assert [n for n in notes if first in n and "cannot be read" in n]
        assert 0 < counted(other)[0] < ROWS
        other.close()
    notes = reader.refresh().notes
    assert [n for n in notes if first in n and "read again from the logs' start" in n]
    assert counted(reader) == (ROWS, ROWS)
    assert {f"predictions/{f.name}" for f in (store / "predictions").iterdir()} == set(reader.manifest.segments["predictions"])
    reader.close()
