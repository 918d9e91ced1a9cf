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


def _found(con, events: pa.Array, files: list[Path], pending: list[pa.Table]) -> dict[str, tuple[int, bool]]:
    """event id -> (its prediction rows among `files` and `pending`, whether the bare id is one of them)."""
    ids = [t.column("request_id").cast(pa.string()) for t in pending if "request_id" in t.column_names]
    pending_ids = pa.table({"request_id": pa.chunked_array([c for col in ids for c in col.chunks], pa.string())})
    cur = con.cursor()
    try:
        cur.register("events", pa.table({"event_id": events}))
        cur.register("pending_ids", pending_ids)
        return {r[0]: (r[1], r[2]) for r in
                cur.execute(load_query("label_event_rows"), {"files": [str(f) for f in files]}).fetchall()}
    finally:
        cur.close()


def _split(table: pa.Table, found: dict) -> tuple[pa.Table, list[Rejected], pa.Table]:
    """(labels to keep, records set aside, rows whose event has no prediction yet) of marked label rows."""
    keep, wait, aside, said = [], [], [], set()
    for row in table.select(["loc", *COLUMNS]).to_pylist():
        event, n = row[EVENT_ID], row[EVENT_ROWS]
        rows, bare = found.get(event, (0, False))
        keep.append(bool(rows) and rows == n and bare == (n == 1))
        wait.append(not rows)
        if rows and not keep[-1] and row["loc"] not in said:
            said.add(row["loc"])
            aside.append(Rejected(row["loc"], f"{n} label(s) for a capture of {rows} row(s): not joined "
                                  "(one label per captured row, in order)", row[EVENT_RAW] or ""))
    return table.filter(pa.array(keep, pa.bool_())), aside, table.filter(pa.array(wait, pa.bool_()))


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


def recheck(con, waiting: pa.Table, files: list[Path], pending: list[pa.Table],
            until: float | None) -> tuple[list[tuple[str, str, pa.Table, list[Rejected], int]], pa.Table]:
    """Waiting rows checked against the predictions new since they last were (`files`: this refresh's segments,
    the skeleton first; `pending`), and those that began to wait by `until` (None: none) kept as keyed:
    ([(source id, path, labels to keep, records set aside, records kept unchecked)], rows still waiting)."""
    found = _found(con, waiting.column(EVENT_ID).combine_chunks().cast(pa.string()), files, pending) \
        if files[1:] or any(t.num_rows for t in pending) else {}
    out, still = [], []
    for key in sorted({*zip(waiting.column(SOURCE).to_pylist(), waiting.column(PATH).to_pylist())}):
        mine = waiting.filter(pc.and_(pc.equal(waiting.column(SOURCE), key[0]), pc.equal(waiting.column(PATH), key[1])))
        kept, aside, wait = _split(mine, found)
        due = pc.less_equal(wait.column(SINCE), until if until is not None else float("-inf"))
        late = wait.filter(due)
        still.append(wait.filter(pc.invert(due)))
        kept = pa.concat_tables([kept, late]).drop_columns([*COLUMNS, SOURCE, PATH, SINCE])
        out.append((*key, kept, aside, len(set(late.column("loc").to_pylist()))))
    return out, pa.concat_tables(still) if still else waiting.slice(0, 0)


def records(table: pa.Table) -> dict[str, int]:
    """Waiting rows' records (lines) by file."""
    out: dict[str, set] = {}
    for path, loc in zip(table.column(PATH).to_pylist(), table.column("loc").to_pylist()):
        out.setdefault(path, set()).add(loc)
    return {p: len(locs) for p, locs in out.items()}


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
