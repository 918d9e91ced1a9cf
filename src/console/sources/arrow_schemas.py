"""One schema for Parquet files that do not agree on a field's type.

Arrow's permissive promotion merges numbers of any width, but refuses a field that is a number in one file and
text in the next, and one such field made a whole S3 prefix unreadable. DuckDB reads the same files on disk as
text; so does this: the scanner casts each file's column to the text type (`1` -> "1"), and the typing layer
counts the values that are not numbers where numbers are needed, as for a JSONL field of mixed types.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa


def unify(schemas: Sequence[pa.Schema]) -> pa.Schema:
    """The union of `schemas` (fields in first-seen order), each field promoted as Arrow promotes it, or text when
    its types do not merge."""
    try:
        return pa.unify_schemas(list(schemas), promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    types: dict[str, list[pa.DataType]] = {}
    for s in schemas:
        for f in s:
            types.setdefault(f.name, []).append(f.type)
    return pa.schema([pa.field(name, _merged(name, ts)) for name, ts in types.items()])


def _merged(name: str, types: list[pa.DataType]) -> pa.DataType:
    """One field's types merged: promoted, or a struct's (a `features` object's) fields merged one by one, or text."""
    try:
        return pa.unify_schemas([pa.schema([(name, t)]) for t in types], promote_options="permissive").field(name).type
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    if all(pa.types.is_struct(t) for t in types):
        return pa.struct(list(unify([pa.schema(list(t)) for t in types])))
    return pa.string()
