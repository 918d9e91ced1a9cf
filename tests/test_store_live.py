"""A live log refreshed piece by piece. The types that read one piece whole are tried first on the next (no
sample inferred); a piece they do not fit is read as if they were not given, so a value changing type, a new
field, a field gone or an explicit null costs nothing. A refresh that adds a segment of the same columns
rebinds only its kind's segment view; one with new columns rebinds the views built on it. Values are checked
against json.loads of the same lines."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from console.config import Config, LogSource
from console.sql import load_statements
from console.store import parse
from console.warehouse import _VIEW_NAME, Warehouse

SEGMENT_VIEWS = {f"{p}{k}" for p in ("", "stored_") for k in ("predictions", "labels", "deployments", "malformed")}
N = 100  # rows a piece: more than parse.SLOW_LINES, so the typed path is tried


def row(i: int, **extra) -> dict:
    return {"ts": f"2026-11-25T06:{i // 60 % 60:02d}:{i % 60:02d}Z", "model": f"m{i % 3}", "version": "1",
            "request_id": f"r{i}", "latency_ms": 10 + i % 7, "x": i} | extra


def body(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in rows)


def read(piece: bytes, types: dict) -> pa.Table | None:
    return parse._jsonl_typed(piece, piece.count(b"\n"), types)


def same(table: pa.Table, rows: list[dict]) -> bool:
    got = table.to_pylist()
    return len(got) == len(rows) and all({k: g.get(k) for k in r} == r for g, r in zip(got, rows, strict=True))


PIECES = [
    [row(i) for i in range(0, N)],  # x an integer
    [row(i) for i in range(N, 2 * N)],  # the same types: read with the remembered ones
    [row(i, x=i + 0.5) for i in range(2 * N, 3 * N)],  # x gets a fraction: refused by Int64, read afresh
    [row(i, note=f"n{i}") for i in range(3 * N, 4 * N)],  # a new field
    [{k: v for k, v in row(i).items() if k != "x"} for i in range(4 * N, 5 * N)],  # a field gone
    [row(i, x=None) if i % 2 else row(i, x=f"v{i}") for i in range(5 * N, 6 * N)],  # text and explicit nulls
]


def test_the_types_of_one_piece_are_tried_on_the_next_and_every_value_is_read_as_json_reads_it():
    types: dict = {}
    for rows in PIECES:
        table = read(body(rows), types)
        assert table is not None and same(table, rows), rows[0]
    assert types["x"] == parse.pl.String and types["ts"] == parse.pl.String


def test_remembered_types_are_used_when_they_fit_and_left_when_they_do_not():
    types: dict = {}
    read(body(PIECES[0]), types)
    remembered = dict(types)
    assert remembered["x"] == parse.pl.Int64
    read(body(PIECES[1]), types)
    assert types == remembered  # read whole with them: kept as they were
    read(body(PIECES[2]), types)
    assert types["x"] == parse.pl.Float64  # a fraction: the piece was read afresh, and those types kept


def test_a_field_first_seen_after_the_remembered_types_is_kept(monkeypatch):
    monkeypatch.setattr(parse, "FAST_SAMPLE", 2048)  # the sample: the first dozen lines
    types: dict = {}
    read(body(PIECES[0]), types)
    late = [row(i, new=i) if i == 3 * N - 5 else row(i) for i in range(2 * N, 3 * N)]
    table = read(body(late), types)
    # the remembered types lack `new`, and so does the sample: the count of keys sends it the general way
    assert table is None
    tables, rejected = parse.jsonl(body(late), source="p", first_line=1, types=types)
    assert not rejected
    assert [v for t in tables for v in t.column("new").to_pylist() if v is not None] == [3 * N - 5]


def test_a_live_log_refreshed_piece_by_piece_keeps_every_row_and_value(tmp_path: Path):
    p = tmp_path / "p.jsonl"
    p.write_bytes(b"")
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(p)),))
    w = Warehouse(cfg, tmp_path / "store")
    w.refresh()
    written: list[dict] = []
    for rows in PIECES:
        with open(p, "ab") as fh:
            fh.write(body(rows))
        written += rows
        assert w.refresh().rows == {"predictions": len(rows)}
    with w.cursor() as cur:
        count, distinct = cur.execute("SELECT count(*), count(DISTINCT request_id) FROM predictions").fetchone()
        assert (count, distinct) == (len(written), len(written))
        notes = dict(cur.execute("SELECT request_id, note FROM predictions WHERE note IS NOT NULL").fetchall())
        x = dict(cur.execute("SELECT request_id, CAST(x AS VARCHAR) FROM predictions WHERE x IS NOT NULL").fetchall())
    assert notes == {r["request_id"]: r["note"] for r in written if "note" in r}
    want = {r["request_id"]: r["x"] for r in written if r.get("x") is not None}
    assert x.keys() == want.keys()
    assert all(float(x[k]) == v if not isinstance(v, str) else x[k] == v for k, v in want.items())
    again = Warehouse(cfg, tmp_path / "store")  # a second process sees the same rows
    with again.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM predictions").fetchone()[0] == len(written)


def test_a_new_segment_of_the_same_columns_rebinds_only_the_segment_view(tmp_path: Path):
    p = tmp_path / "p.jsonl"
    p.write_bytes(body(PIECES[0]))
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(p)),))
    w = Warehouse(cfg, tmp_path / "store")
    w.refresh()
    run: list[str] = []
    cursor = w.cursor

    class Recording:
        def __init__(self):
            self.cur = cursor()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.cur.close()

        def execute(self, statement, *args):
            name = _VIEW_NAME.match(statement).group(1)
            if name in SEGMENT_VIEWS:  # the others change only with the in-place files, or the minute
                run.append(name)
            return self.cur.execute(statement, *args)

    w.cursor = Recording
    with open(p, "ab") as fh:
        fh.write(body(PIECES[1]))
    w.refresh()
    assert run == ["stored_predictions"]
    run.clear()
    with open(p, "ab") as fh:
        fh.write(body(PIECES[3]))  # a new field: the views over the segments are bound again
    w.refresh()
    assert run == ["stored_predictions", "predictions"]
    w.cursor = cursor
    with w.cursor() as cur:
        assert cur.execute("SELECT count(note), count(*) FROM predictions").fetchone() == (N, 3 * N)


def test_the_view_file_splits_into_one_statement_per_view():
    statements = load_statements("views")
    views = [s for s in statements if _VIEW_NAME.match(s)]
    names = [_VIEW_NAME.match(s).group(1) for s in views]
    assert len(names) == len(set(names)) == sum(s.count("CREATE OR REPLACE VIEW") for s in statements)
    assert names.index("stored_predictions") < names.index("predictions")
    (macro,) = [s for s in statements if s not in views]  # the horizon, which the views call
    assert "MACRO store_horizon()" in macro and statements.index(macro) < statements.index(views[0])
