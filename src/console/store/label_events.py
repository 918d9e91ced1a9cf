"""Labels of a whole event checked against the event's predictions before they are stored.

A SageMaker ground-truth record names an event (the capture's id) and holds its labels; a capture of N rows
became N predictions `{id}#{i}`, one of one row kept `{id}`. Only the store sees both, so a reader marks such
label rows (`contract.EVENT_*`) and the ingest holds them until its predictions of the refresh are at hand: a
record whose label count is not its capture's row count is set aside under its own line, with both counts, where
its labels joined nothing or the wrong rows without a word. A record whose event has no prediction in the store
yet (its capture not read, or read later) is kept as keyed: it joins if the counts agree, and is not checked again.
"""

from __future__ import annotations

from pathlib import Path

from console.sources.contract import EVENT_ID, EVENT_RAW, EVENT_ROWS, Rejected
from console.sql import load_query
from console.store.on_first_use import pa

COLUMNS = (EVENT_ID, EVENT_ROWS, EVENT_RAW)


def marked(table: pa.Table) -> bool:
    return EVENT_ROWS in table.column_names


def settle(con, held: list[tuple[object, str, pa.Table]], files: list[Path],
           pending: list[pa.Table]) -> list[tuple[object, str, pa.Table, list[Rejected]]]:
    """(source, path, labels to keep, records set aside) for each held (source, path, labels) piece; `files`: the
    prediction segments (the skeleton first, so the read has a `request_id`), `pending`: predictions not written."""
    events = pa.table({"event_id": pa.concat_arrays(
        [t.column(EVENT_ID).combine_chunks().cast(pa.string()) for _, _, t in held])})
    ids = [t.column("request_id").cast(pa.string()) for t in pending if "request_id" in t.column_names]
    pending_ids = pa.table({"request_id": pa.chunked_array([c for col in ids for c in col.chunks], pa.string())})
    cur = con.cursor()
    try:
        cur.register("events", events)
        cur.register("pending_ids", pending_ids)
        found = {r[0]: (r[1], r[2]) for r in
                 cur.execute(load_query("label_event_rows"), {"files": [str(f) for f in files]}).fetchall()}
    finally:
        cur.close()
    out = []
    for src, path, table in held:
        keep, aside, said = [], [], set()
        for row in table.select(["loc", *COLUMNS]).to_pylist():
            event, n = row[EVENT_ID], row[EVENT_ROWS]
            rows, bare = found.get(event, (0, False))
            ok = not rows or (rows == n and bare == (n == 1))
            keep.append(ok)
            if not ok and row["loc"] not in said:
                said.add(row["loc"])
                aside.append(Rejected(row["loc"], f"{n} label(s) for a capture of {rows} row(s): not joined "
                                      "(one label per captured row, in order)", row[EVENT_RAW] or ""))
        kept = table.filter(pa.array(keep, pa.bool_())).drop_columns(list(COLUMNS))
        out.append((src, path, kept, aside))
    return out

