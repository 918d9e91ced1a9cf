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


def lift(table: pa.Table, fields: Sequence[tuple[str, str]]) -> pa.Table:
    """`table` with each dotted name of the mapping (`model = "meta.name"`) that names a member of a struct column
    added as a column of that name (which `rename` then maps as any column). A column named with the dots wins;
    a path to no member leaves the field missing, as a JSON row without it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for _, column in fields:
        path = column.split(".")
        if len(path) < 2 or not all(path) or column in table.column_names or path[0] not in table.column_names \
                or not pa.types.is_struct(table.schema.field(path[0]).type):
            continue
        try:
            value = pc.struct_field(table.column(path[0]), path[1:])
        except (pa.ArrowException, KeyError, IndexError, TypeError):
            continue
        table = table.append_column(column, value)
    return table


def as_contract(table: pa.Table, fields: Sequence[tuple[str, str]]) -> pa.Table:
    """A piece of a log under its own names, under the contract's (`lift`, then `rename`)."""
    return rename(lift(table, fields), fields) if fields else table


def own_columns(names: Sequence[str], fields: Sequence[tuple[str, str]], present: Sequence[str]) -> list[str]:
    """The log's columns (of `present`) a read of the contract's `names` needs: a mapped field's own column, or the
    struct holding its member; a column bearing a mapped field's name is not read for it."""
    own = dict(fields)
    out: dict[str, None] = {}
    for name in names:
        column = own.get(name, name)
        top = column if column in present else column.split(".")[0]
        if top in present:
            out[top] = None
    return list(out)


def _names(name: str) -> str:
    """A reason about field `name` ("missing ts", "ts is not a timestamp"), as a pattern."""
    return f"^(missing )?{re.escape(name)}( |$)"


def _own(column: str) -> str:
    return f" (`{column}` in this log)"


def explain(refused: pa.Table, fields: Sequence[tuple[str, str]]) -> pa.Table:
    """Rows set aside, each reason naming a mapped field also naming the log's column for it ("missing ts" ->
    "missing ts (`timestamp` in this log)"): the operator looks for the log's name, not the contract's."""
    if not fields or not refused.num_rows:
        return refused
    import pyarrow.compute as pc

    reason = refused.column("reason")
    for name, column in fields:
        named = pc.match_substring_regex(reason, _names(name))
        reason = pc.if_else(named, pc.binary_join_element_wise(reason, _own(column), ""), reason)
    return refused.set_column(refused.column_names.index("reason"), "reason", reason)


def explain_reason(reason: str, fields: Sequence[tuple[str, str]]) -> str:
    """`explain` of one reason (a row of a file read in place, whose reasons the conform query makes)."""
    for name, column in fields:
        if re.match(_names(name), reason):
            reason += _own(column)
    return reason
