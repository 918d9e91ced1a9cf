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


@cache
def load_statements(name: str) -> tuple[str, ...]:
    """A file of several statements, split where a line outside a comment ends in `;` (the store's view
    file, whose placeholders are filled statement by statement: DuckDB's own splitter costs a parse of
    every statement each time)."""
    out: list[str] = []
    lines: list[str] = []
    for line in load_query(name).splitlines():
        lines.append(line)
        if not line.lstrip().startswith("--") and line.rstrip().endswith(";"):
            out.append("\n".join(lines).rstrip().removesuffix(";"))
            lines = []
    if any(ln.strip() and not ln.lstrip().startswith("--") for ln in lines):
        out.append("\n".join(lines))
    return tuple(out)
