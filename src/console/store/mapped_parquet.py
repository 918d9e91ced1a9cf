"""A Parquet log read in place under its own names (`[logs.fields]`): the select list that puts its columns under
the contract's names, as the parser does for a JSONL log (`sources.field_names`), and its footer's columns seen so.

The files are still read in place: the renaming is a projection in the view over them, so DuckDB reads only the
columns a query needs and a time filter on `ts` still reaches the scan as a filter on the log's own column.
Same rules as a JSONL log's mapping: a mapped column takes the contract's name; a column bearing a mapped field's
name is not that field and is left out; a dotted name (`model = "meta.name"`) is a member of a struct column; a
column whose name has the dots wins over the path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def quoted(name: str) -> str:
    """`name` as a DuckDB identifier (the views' select lists, a footer query's column)."""
    return '"' + name.replace('"', '""') + '"'


def _plan(columns: Mapping[str, Any],
          fields: Sequence[tuple[str, str]]) -> tuple[list[str], dict[str, tuple[str, Any]]]:
    """(the file's columns left out of `*`, contract name -> (the SQL reading it, its type)). `columns`: name ->
    DuckDB type as it prints (a file's footer), or Arrow type (a lake's dataset)."""
    to_contract = {column: name for name, column in fields}
    claimed = {name for name, _ in fields}
    left_out: list[str] = []
    taken: dict[str, tuple[str, str]] = {}
    for column, typ in columns.items():
        if column in to_contract:
            left_out.append(column)
            taken[to_contract[column]] = (quoted(column), typ)
        elif column in claimed:
            left_out.append(column)
    for name, column in fields:
        path = column.split(".")
        if column in columns or len(path) < 2 or not all(path) or path[0] not in columns:
            continue
        typ = columns[path[0]]
        for step in path[1:]:
            typ = _member(typ, step) if typ is not None else None
        if typ is not None:  # no such member: the field is missing, as a JSON row without it
            taken[name] = (".".join(map(quoted, path)), typ)
    return left_out, taken


def _member(typ, name: str):
    """The type of a struct's member `name` (a DuckDB type as it prints, or an Arrow type: a lake's dataset), or
    None when `typ` is no struct or has no such member."""
    if isinstance(typ, str):
        from console.store.views import struct_fields  # (the views read the footers, which read this)

        return dict(struct_fields(typ)).get(name)
    import pyarrow as pa

    if not pa.types.is_struct(typ) or typ.get_field_index(name) < 0:
        return None
    return typ.field(name).type


def select_list(columns: Mapping[str, Any], fields: Sequence[tuple[str, str]]) -> str:
    """What a view selects from a read of the log's files (`columns`: their union, name -> DuckDB type)."""
    left_out, taken = _plan(columns, fields)
    star = f"* EXCLUDE ({', '.join(map(quoted, left_out))})" if left_out else "*"
    return star + "".join(f", {sql} AS {quoted(name)}" for name, (sql, _) in taken.items())


def read(scan: str, columns: Mapping[str, str], fields: Sequence[tuple[str, str]]) -> str:
    """`scan` (a `read_parquet(...)` of the log's files) as a subquery under the contract's names."""
    return f"(SELECT {select_list(columns, fields)} FROM {scan})" if fields else scan


def contract_columns(columns: Mapping[str, str], fields: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The file's columns as the view reads them: name -> DuckDB type."""
    if not fields:
        return dict(columns)
    left_out, taken = _plan(columns, fields)
    out = {c: t for c, t in columns.items() if c not in left_out}
    out.update({name: typ for name, (_, typ) in taken.items()})
    return out


def key(fields: Sequence[tuple[str, str]]) -> str:
    """What a file's kept facts (rows refused, ts span) depend on besides its version: its mapping ("" for none)."""
    return ";".join(f"{name}={column}" for name, column in fields)


def time_column(fields: Sequence[tuple[str, str]]) -> str:
    """A lakehouse table's ts column, as its planner names it (a struct's member by its dotted path): what its
    file statistics and partition pruning are read by."""
    return dict(fields).get("ts", "ts")


def ts_column(fields: Sequence[tuple[str, str]]) -> str | None:
    """The column holding the log's ts, whose row-group statistics bound its files' hours; None for a struct's
    member (its statistics are not read: every file may hold any hour)."""
    column = dict(fields).get("ts", "ts")
    return None if "." in column else column
