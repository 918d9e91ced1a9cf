"""A log's own names for the contract's fields (`[logs.fields]`), applied where its rows are first parsed.

Teams write `timestamp`, `model_name`, `latency`; the contract says `ts`, `model`, `latency_ms`. The store's
parser renames each piece here as it hands it out (`store.parse.jsonl` and `csv_lines`, for the store's ingest
and the rollup's text reading alike), before anything reads a field, so the conform rules, the rejects' reasons
and every count are those of a log written with the contract's names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a table's own methods do the work: opening the store imports no PyArrow for this
    import pyarrow as pa


def rename(table: pa.Table, fields: Sequence[tuple[str, str]]) -> pa.Table:
    """`table` with each mapped column under its contract name. A column that already bears a mapped field's
    name is not that field (the log said which column is) and is dropped; every other column is kept as it is."""
    if not fields:
        return table
    to_contract = {column: name for name, column in fields}
    claimed = {name for name, _ in fields}
    drop = [c for c in table.column_names if c in claimed and c not in to_contract]
    if drop:
        table = table.drop_columns(drop)
    if not any(c in to_contract for c in table.column_names):
        return table
    return table.rename_columns([to_contract.get(c, c) for c in table.column_names])


def explain(refused: pa.Table, fields: Sequence[tuple[str, str]]) -> pa.Table:
    """Rows set aside, each reason naming a mapped field also naming the log's column for it ("missing ts" ->
    "missing ts (`timestamp` in this log)"): the operator looks for the log's name, not the contract's."""
    if not fields or not refused.num_rows:
        return refused
    import pyarrow.compute as pc

    reason = refused.column("reason")
    for name, column in fields:
        named = pc.match_substring_regex(reason, f"^(missing )?{re.escape(name)}( |$)")
        reason = pc.if_else(named, pc.binary_join_element_wise(reason, f" (`{column}` in this log)", ""), reason)
    return refused.set_column(refused.column_names.index("reason"), "reason", reason)
