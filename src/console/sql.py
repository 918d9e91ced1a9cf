"""Named SQL statements from the shipped `queries/` folder: SQL lives in files, values are bound."""

from __future__ import annotations

from functools import cache

from console.resources import queries_dir


@cache
def load_query(name: str) -> str:
    path = queries_dir() / f"{name}.sql"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyError(f"no query named {name!r} in {queries_dir()}") from None
