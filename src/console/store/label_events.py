"""Labels of a whole event checked against the event's predictions before they are stored.

A SageMaker ground-truth record names an event (the capture's id) and holds its labels; a capture of N rows
became N predictions `{id}#{i}`, one of one row kept `{id}`. Only the store sees both, so a reader marks such
label rows (`contract.EVENT_*`) and the ingest holds them until its predictions of the refresh are at hand: a
record whose label count is not its capture's row count is set aside under its own line, with both counts, where
its labels joined nothing or the wrong rows without a word.

A record whose event has no prediction yet waits for its capture (ground truth often lands before the hourly
capture file is read): its rows are kept in a file of the store (`waiting/`, named in the manifest's cursors under
`WAITING`, so it commits with the cursors that read them), and each refresh that brings predictions checks them
against those new predictions only, then joins or sets them aside as if read after the capture. One still waiting
after `WAIT_S` (a capture sampled out never comes) is kept as keyed, joining nothing, and not checked again: what
waits is at most a day of ground truth. (With predictions read only in place, which the check cannot see, nothing
waits: a record is kept as keyed at once, as before.) Cost: a refresh bringing predictions or ground truth while
records wait reads the waiting file once and joins it with the request ids of its own new rows only.
"""

from __future__ import annotations

import functools
import uuid
from pathlib import Path

from console.private_files import sync_folder
from console.sources.contract import EVENT_ID, EVENT_RAW, EVENT_ROWS, Rejected
from console.sql import load_query
from console.store.on_first_use import pa, pc

COLUMNS = (EVENT_ID, EVENT_ROWS, EVENT_RAW)
SOURCE, PATH, SINCE = "_event_source", "_event_path", "_event_since"  # a waiting row's source id, file, first wait
WAITING = "events|waiting"  # the manifest cursors' key (no source id starts so) of {"file", "rows", "oldest"}
FOLDER = "waiting"
WAIT_S = 86_400.0


def marked(table: pa.Table) -> bool:
    return EVENT_ROWS in table.column_names


def _found(con, events: pa.Array, files: list[Path], pending: list[pa.Table]) -> pa.Table:
    """(event_id, n: its prediction rows among `files` and `pending`, bare: whether the bare id is one of them) of
    each event that has any."""
    ids = [t.column("request_id").cast(pa.string()) for t in pending if "request_id" in t.column_names]
    pending_ids = pa.table({"request_id": pa.chunked_array([c for col in ids for c in col.chunks], pa.string())})
    cur = con.cursor()
    try:
        cur.register("events", pa.table({"event_id": events}))
        cur.register("pending_ids", pending_ids)
        rows = cur.execute(load_query("label_event_rows"), {"files": [str(f) for f in files]}).fetchall()
    finally:
        cur.close()
    return pa.table({"event_id": pa.array([r[0] for r in rows], pa.string()),
                     "n": pa.array([r[1] for r in rows], pa.int64()),
                     "bare": pa.array([r[2] for r in rows], pa.bool_())})


def _split(table: pa.Table, found: pa.Table) -> tuple[pa.Table, list[Rejected], pa.Table]:
    """(labels to keep, records set aside, rows whose event has no prediction yet) of marked label rows; by
    columns, as a day of waiting rows may be checked on each refresh."""
    at = pc.index_in(table.column(EVENT_ID).cast(pa.string()), value_set=found.column("event_id").combine_chunks())
    rows = pc.fill_null(pc.take(found.column("n").combine_chunks().cast(pa.int64()), at), 0)
    bare = pc.fill_null(pc.take(found.column("bare").combine_chunks(), at), False)
    n = table.column(EVENT_ROWS).cast(pa.int64())
    wait = pc.equal(rows, 0)
    keep = pc.and_(pc.invert(wait), pc.and_(pc.equal(rows, n), pc.equal(bare, pc.equal(n, 1))))
    wrong = pc.invert(pc.or_(keep, wait))
    aside, said = [], set()
    if pc.any(wrong).as_py():
        for row, m in zip(table.filter(wrong).select(["loc", *COLUMNS]).to_pylist(), rows.filter(wrong).to_pylist()):
            if row["loc"] not in said:
                said.add(row["loc"])
                aside.append(Rejected(row["loc"], f"{row[EVENT_ROWS]} label(s) for a capture of {m} row(s): not "
                                      "joined (one label per captured row, in order)", row[EVENT_RAW] or ""))
    return table.filter(keep), aside, table.filter(wait)


def settle(con, held: list[tuple[object, str, pa.Table]], files: list[Path],
           pending: list[pa.Table]) -> list[tuple[object, str, pa.Table, list[Rejected], pa.Table]]:
    """(source, path, labels to keep, records set aside, rows to wait) for each held (source, path, labels) piece;
    `files`: the prediction segments (the skeleton first, so the read has a `request_id`), `pending`: predictions
    not written. The kept labels lose the marks; the waiting rows keep them."""
    events = pa.concat_arrays([t.column(EVENT_ID).combine_chunks().cast(pa.string()) for _, _, t in held])
    found = _found(con, events, files, pending)
    out = []
    for src, path, table in held:
        kept, aside, wait = _split(table, found)
        out.append((src, path, kept.drop_columns(list(COLUMNS)), aside, wait))
    return out


def waiting_rows(src_id: str, path: str, table: pa.Table, now: float) -> pa.Table:
    """Marked rows about to wait, with what brings them back: their source, their file, when they began to wait."""
    n = table.num_rows
    return (table.append_column(SOURCE, pa.array([src_id] * n, pa.string()))
            .append_column(PATH, pa.array([path] * n, pa.string()))
            .append_column(SINCE, pa.array([now] * n, pa.float64())))


def recheck(con, folder: Path, entry: dict, files: list[Path], pending: list[pa.Table],
            until: float | None) -> tuple[list[tuple[str, str, pa.Table, list[Rejected], int]], pa.Table | None]:
    """The waiting rows of `entry`'s file checked against the predictions new since they last were (`files`: this
    refresh's segments, the skeleton first; `pending`), and those that began to wait by `until` (None: none) kept
    as keyed: ([(source id, path, labels to keep, records set aside, records kept unchecked)], rows still waiting,
    None when none moved). Only the event ids are read unless a row moves (kept in the process, by file name)."""
    ids = _event_ids(str(folder / entry["file"]))
    found = _found(con, ids, files, pending)
    moved = pc.is_in(ids, value_set=found.column("event_id").combine_chunks())
    due = until is not None and entry["oldest"] <= until
    if not found.num_rows and not due:
        return [], None
    waiting = load(folder, entry)
    if due:
        moved = pc.or_(moved, pc.less_equal(waiting.column(SINCE), until))
    moving, still = waiting.filter(moved), waiting.filter(pc.invert(moved))
    out = []
    for key in moving.select([SOURCE, PATH]).group_by([SOURCE, PATH]).aggregate([]).to_pylist():
        mine = moving.filter(pc.and_(pc.equal(moving.column(SOURCE), key[SOURCE]),
                                     pc.equal(moving.column(PATH), key[PATH])))
        kept, aside, late = _split(mine, found)  # `late`: none found, so moved for its wait
        kept = pa.concat_tables([kept, late]).drop_columns([*COLUMNS, SOURCE, PATH, SINCE])
        out.append((key[SOURCE], key[PATH], kept, aside, len(set(late.column("loc").to_pylist()))))
    return out, still


@functools.lru_cache(maxsize=2)
def _event_ids(path: str) -> pa.Array:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=[EVENT_ID]).column(EVENT_ID).combine_chunks().cast(pa.string())


def records(table: pa.Table) -> dict[str, int]:
    """Waiting rows' records (lines) by file."""
    counted = table.group_by(PATH).aggregate([("loc", "count_distinct")])
    return dict(zip(counted.column(PATH).to_pylist(), counted.column("loc_count_distinct").to_pylist()))


def load(folder: Path, entry: dict) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(folder / entry["file"])


def save(folder: Path, table: pa.Table) -> dict:
    """The waiting rows written to a new file (complete before the manifest names it); its cursors entry."""
    from console.store import merge

    name = f"{FOLDER}/{uuid.uuid4().hex}.parquet"
    (folder / FOLDER).mkdir(exist_ok=True)
    tmp = folder / f"{name}.tmp"
    merge.write(table, tmp, sort_by_model=False)  # (fsynced)
    tmp.replace(folder / name)
    sync_folder(tmp.parent)  # named on the disk before the manifest names it
    return {"file": name, "rows": table.num_rows, "oldest": pc.min(table.column(SINCE)).as_py()}


def sweep(folder: Path, entry: dict | None) -> None:
    """The waiting files the manifest no longer names (replaced, or left by a refresh that failed) removed."""
    keep = (entry or {}).get("file")
    for p in (folder / FOLDER).glob("*.parquet*"):
        if f"{FOLDER}/{p.name}" != keep:
            p.unlink(missing_ok=True)
