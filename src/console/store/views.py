"""The in-memory DuckDB views every query reads: segments, Parquet logs read in place and lakes, as one.

Each process builds its own views over the files the manifest names (`queries/views.sql`), lazily: a query
builds the ones it reads, and a build runs again only the statements whose text changed. Kept apart from
the Warehouse class because how the views are made is one concern, whoever asks for them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from console.sql import load_query, load_statements
from console.store.footers import as_written, touches
from console.store.mapped_parquet import quoted as _quoted
from console.store.manifest import KINDS, Manifest
from console.store.on_first_use import pa


def _sql_list(paths: list[str]) -> str:
    """Files for `read_parquet`, each named as written (`as_written`)."""
    return "[" + ", ".join(_sql_text(as_written(p)) for p in paths) + "]"


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_VIEW_NAME = re.compile(r"(?:\s*--[^\n]*\n)*\s*CREATE OR REPLACE VIEW (\w+)")
_VIEW_BODY = re.compile(r"(?:\s*--[^\n]*\n)*\s*CREATE OR REPLACE VIEW \w+ AS\s")
_STATEMENT_NAME = re.compile(r"(?:\s*--[^\n]*\n)*\s*CREATE OR REPLACE (?:VIEW|MACRO) (\w+)")
_WORD = re.compile(r"\w+")
_TEXT = re.compile(r"'(?:[^']|'')*'|--[^\n]*")  # string literals (file paths) and comments: no name is read there


def _read_by(query: str, reads: dict[str, set[str]]) -> set[str]:
    """The views `query` reads, and the views those read, down to the files (`reads`: view -> names it reads)."""
    need: set[str] = set()
    todo = [n for n in _names_in(query) if n in reads]
    while todo:
        n = todo.pop()
        if n not in need:
            need.add(n)
            todo.extend(d for d in reads[n] if d in reads and d != n)
    return need


def _names_in(sql: str) -> set[str]:
    """The words of a statement outside its literals and comments: among them, the views it reads."""
    return set(_WORD.findall(_TEXT.sub(" ", sql)))


TS_CAST = "log_instant(ts) AS _ts"  # the conform queries' reading of ts


def raw_columns(flat: set[str], nested: list[str], hidden: tuple[str, ...] = ()) -> str:
    """A raw view's select list: every column but `hidden`, and a `features` struct read as its fields (`nested`,
    the contract's one features object): a field also logged as a column of its own is one column, the column's
    value where it has one (a JSONL row's top-level field wins the same way: `parse._flatten_features`)."""
    if not nested:
        return f"* EXCLUDE ({', '.join(hidden)})" if hidden else "*"
    both = [n for n in nested if n in flat]
    out = f"* EXCLUDE ({', '.join([*hidden, 'features', *map(_quoted, both)])})"
    out += "".join(f", COALESCE({_quoted(n)}, features.{_quoted(n)}) AS {_quoted(n)}" for n in both)
    if len(both) < len(nested):
        out += ", features.*" + (f" EXCLUDE ({', '.join(map(_quoted, both))})" if both else "")
    return out


def struct_names(duck_type: str) -> list[str]:
    """The field names of a DuckDB STRUCT type as DuckDB prints it (`STRUCT(x DOUBLE, "a b" VARCHAR)`); [] for
    any other type."""
    return [name for name, _ in struct_fields(duck_type)]


def struct_fields(duck_type: str) -> list[tuple[str, str]]:
    """(name, type) of each field of a DuckDB STRUCT type as DuckDB prints it; [] for any other type."""
    if not duck_type.startswith("STRUCT(") or not duck_type.endswith(")"):
        return []
    parts, depth, quoted, start, body = [], 0, False, 0, duck_type[7:-1]
    for i, ch in enumerate(body):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
        elif not quoted and ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    fields = []
    for part in (p.strip() for p in parts if p.strip()):
        if part.startswith('"'):
            end = 1
            while end < len(part) and not (part[end] == '"' and part[end + 1:end + 2] != '"'):
                end += 2 if part[end] == '"' else 1
            fields.append((part[1:end].replace('""', '"'), part[end + 1:].strip()))
        else:
            name, _, typ = part.partition(" ")
            fields.append((name, typ.strip()))
    return fields


def arrow_members(schema) -> list:
    """The Arrow fields of a schema's `features` struct (the contract's one features object); [] without one."""
    import pyarrow.types as t

    if "features" not in schema.names or not t.is_struct(schema.field("features").type):
        return []
    return list(schema.field("features").type)


def as_features(top: dict, members: list[tuple[str, Any]]) -> dict:
    """A file's fields as the raw views read them (`raw_columns`): a `features` struct replaced by its `members`,
    a top-level field of the same name winning."""
    if not members:
        return dict(top)
    return {**{n: v for n, v in top.items() if n != "features"}, **{n: v for n, v in members if n not in top}}


def _lake_columns(schema) -> str:
    """`raw_columns` for a lake's Arrow dataset."""
    return raw_columns(set(schema.names) - {"features"}, [f.name for f in arrow_members(schema)])


def _lake_read(name: str, schema, fields) -> str:
    """A lake's rows as the views read them: its fields under the contract's names where the table maps its own
    (`[logs.fields]`: a projection, so a filter on ts still reaches the Arrow scan as one on the table's column)."""
    if not fields:
        return f"SELECT {_lake_columns(schema)} FROM {name}"
    from console.sources.field_names import as_contract
    from console.store import mapped_parquet

    own = mapped_parquet.select_list({f.name: f.type for f in schema}, fields)
    return f"SELECT {_lake_columns(as_contract(schema.empty_table(), fields).schema)} FROM (SELECT {own} FROM {name})"


def _arrow_ts_typed(schema) -> bool:
    """Whether a lake's ts (its schema as the views read it) is what the conform cast makes of it: a zone-less
    timestamp in us."""
    return "ts" in schema.names and schema.field("ts").type == pa.timestamp("us")


def _ts_as_is(conform: str) -> str:
    """A conform query for files whose ts is already a zone-less timestamp: ts is passed through, so DuckDB
    pushes time filters into the Parquet scan."""
    if TS_CAST not in conform:
        raise ValueError("conform query no longer reads ts as TS_CAST says")
    return conform.replace(TS_CAST, "ts AS _ts")


class Views:
    """The Warehouse's building of its views (mixed into it: `self` is the Warehouse)."""

    def _build_views(self, m: Manifest, parquet: dict[str, list[str]], check: bool = True, lazy: bool = False) -> None:
        """`check=False` scans no Parquet log: a file whose facts are not known yet is read as one with
        refused rows (the rules applied row by row), which gives the same rows. `lazy` runs no statement: each is
        run when a query first reads its view (`_ensure_views`), or by the next build that is not lazy."""
        self._view_files = {k: ([str(self.dir / n) for n in m.segments.get(k, [])], list(parquet.get(k, [])))
                            for k in KINDS}
        rejects = self._rejects if check else self._known_rejects
        clean = {k: [p for p in files if rejects(k, p) == 0] for k, files in parquet.items()}
        if check:
            self._facts.save()  # the files checked now (`_file_facts` saves at most every 2 s)
        parquet = {k: [p for p in files if p not in set(clean[k])] for k, files in parquet.items()}
        # clean files whose ts is already a timestamp are read with ts as it is, so a time filter reaches the
        # scan (row groups and whole files outside the window are skipped) instead of casting every row first;
        # so are the others whose ts is one ("pending": not checked yet, or with refused rows), rules and all
        typed = {k: [p for p in files if self._ts_typed(p)] for k, files in clean.items()}
        clean = {k: [p for p in files if p not in set(typed[k])] for k, files in clean.items()}
        pending = {k: [p for p in files if self._ts_typed(p)] for k, files in parquet.items()}
        parquet = {k: [p for p in files if p not in set(pending[k])] for k, files in parquet.items()}
        # a kind's segments, read by name when their columns differ; when they all have the same ones (a live log
        # adds segments like the last), without: DuckDB then binds them from one footer instead of all of them.
        # The skeleton is listed for a kind with no segment, or whose segments lack a contract field.
        seg: dict[str, list[str]] = {}
        union: dict[str, str] = {}
        self.read_segment_footers([n for k in KINDS for n in m.segments.get(k, [])])
        for k in KINDS:
            files = [str(self.dir / n) for n in m.segments.get(k, [])]
            skeleton = str(self.dir / f"skeleton-{k}.parquet")
            schemas = {self._schema(f) for f in files}
            alike = len(schemas) == 1 and {c for c, _ in self._schema(skeleton)} <= {c for c, _ in schemas.pop()}
            seg[k], union[k] = (files, "false") if alike else (files + [skeleton], "true")
        raw = str(self.dir / "skeleton-raw.parquet")
        # the horizon for rows dated in the future, to the next whole minute, in a macro the views call: their
        # text then changes only when a file or segment list does, and only the statements that changed are run
        # again (a refresh after a few appended rows rebinds the kind that got a segment, not every view)
        horizon = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=self.future_s)
        max_ts = (horizon.replace(second=0, microsecond=0) + timedelta(minutes=1)).isoformat(sep=" ")
        conform = {k: load_query(f"conform_{k}").replace("FROM chunk", f"FROM inplace_raw_{k}")
                   .replace("$max_ts", "store_horizon()") for k in ("predictions", "labels", "deployments")}
        # a lake whose ts is a zone-less timestamp is read with ts as it is too: a time filter then reaches the
        # Arrow scan, which skips the objects outside the window (their time spans are guarantees) unread
        # (a lake whose objects cannot be read now is left out until the next refresh: `_read`)
        up = {n: k for n, k in self._lake_kinds.items() if n not in self._lakes_down}
        lake_typed = {k: bool(names) and all(_arrow_ts_typed(self._lake_schema(n)) for n in names) for k, names in
                      ((k, [n for n, kk in up.items() if kk == k]) for k in KINDS)}
        lake = {k: " UNION ALL BY NAME ".join(_lake_read(n, self._lakes[n].schema, self._lake_fields.get(n, ()))
                                              for n, kk in up.items() if kk == k)
                or f"SELECT * FROM read_parquet({_sql_list([raw])})" for k in ("predictions", "labels", "deployments")}
        # a branch with no file to read is a typed, empty stand-in, not the conform query over an empty file
        # (queries/conformed_empty.sql): every query over the kind plans each branch
        empty = {k: load_query("conformed_empty").format(skeleton=_sql_list([str(self.dir / f"skeleton-{k}.parquet")]))
                 for k in conform}
        lakes = set(up.values())

        def branch(k: str, files, sql: str) -> str:
            return sql if files else empty[k]

        def fill(keep=None) -> dict[str, str]:
            """The statements by name, each file list cut to the files `keep` keeps (all for None)."""
            def only(lists: dict[str, list[str]]) -> dict[str, list[str]]:
                # a list cut to nothing keeps its first file: its columns stay in the view (an empty read has
                # the types a full one has), at the cost of one footer; its row groups are skipped by ts
                return lists if keep is None else {k: [p for p in v if keep(p)] or v[:1] for k, v in lists.items()}

            inplace, cln, typ, pend, sg = only(parquet), only(clean), only(typed), only(pending), only(seg)
            values = dict(
                max_ts=max_ts,
                **{f"lake_{k}": v for k, v in lake.items()},
                **{f"lake_conform_{k}": branch(k, k in lakes, (_ts_as_is if lake_typed.get(k) else str)(
                    v.replace(f"FROM inplace_raw_{k}", f"FROM lake_raw_{k}"))) for k, v in conform.items()},
                **{f"segments_{k}": _sql_list(sg[k]) for k in KINDS},
                **{f"union_{k}": union[k] for k in KINDS},
                **{f"inplace_{k}": self._parquet_read(inplace.get(k) or [raw])
                   for k in ("predictions", "labels", "deployments")},
                **{f"{name}_{k}": self._parquet_read(files.get(k) or [raw])
                   for name, files in (("clean", cln), ("typed", typ), ("pending", pend))
                   for k in ("predictions", "labels", "deployments")},
                **{f"columns_{name}_predictions": self._raw_columns(files.get("predictions") or [raw])
                   for name, files in (("inplace", inplace), ("clean", cln), ("typed", typ), ("pending", pend))},
                **{f"conform_{k}": branch(k, inplace.get(k), v) for k, v in conform.items()},
                **{f"clean_conform_{k}": branch(k, cln.get(k), v.replace(f"FROM inplace_raw_{k}",
                                                                           f"FROM clean_raw_{k}"))
                   for k, v in conform.items()},
                **{f"typed_conform_{k}": branch(k, typ.get(k), _ts_as_is(
                    v.replace(f"FROM inplace_raw_{k}", f"FROM typed_raw_{k}"))) for k, v in conform.items()},
                **{f"pending_conform_{k}": branch(k, pend.get(k), _ts_as_is(
                    v.replace(f"FROM inplace_raw_{k}", f"FROM pending_raw_{k}"))) for k, v in conform.items()})
            statements = [st.format(**values) for st in load_statements("views")]
            return {_STATEMENT_NAME.match(st).group(1): st for st in statements}

        named = fill()
        with self._views_lock:
            self._order, self._segment_lists, self._fill = list(named), seg, fill
            if lazy:
                self._lazy = {n: st for n, st in named.items() if self._views.get(n) != st or n in self._reshaped}
                return
            self._lazy = {}
            self._run_views(named, list(named))

    def _raw_columns(self, paths: list[str]) -> str:
        """`raw_columns` for Parquet logs read in place, from their footers' columns."""
        flat: set[str] = set()
        nested: dict[str, None] = {}
        for p in paths:
            columns = self._read_columns(p)
            if isinstance(columns, dict):
                flat.update(c for c in columns if c != "features")
                nested.update(dict.fromkeys(struct_names(str(columns.get("features", "")))))
        return raw_columns(flat, list(nested), ("filename", "file_row_number"))

    def _narrowed(self, query: str, ranges: list[tuple[datetime, datetime]]) -> str:
        """`query` over only the files whose rows may fall in one of `ranges` ((a, b], naive UTC): the views it
        reads, with their file lists cut to those files by their ts spans (`Footers.file_span`), put before it
        as common table expressions (inlined, so the time filter still reaches each scan). A read of a few hours
        then binds and opens the few files holding them, not every file of a month (DuckDB reads the footer of
        each file a view lists when it binds a query). The rows are the full views' rows in those ranges: a file
        left out holds none (its statistics say so)."""
        def keep(path: str) -> bool:
            return Path(path).name.startswith("skeleton-") or touches(self.file_span(path), ranges)

        with self._views_lock:
            named = self._fill(keep)
        self._facts.save()
        need = _read_by(query, {n: _names_in(st) for n, st in named.items()})
        views = [n for n in self._order if n in need and _VIEW_BODY.match(named[n])]
        self._ensure_views(" ".join(n for n in need if n not in views))  # the macros they call
        if not views:
            return query
        ctes = ",\n".join(f"{n} AS NOT MATERIALIZED ({named[n][_VIEW_BODY.match(named[n]).end():]})" for n in views)
        return f"WITH {ctes}\n{query}"

    def _run_views(self, named: dict[str, str], names: list[str]) -> None:
        """Runs the statements of `names`, in this order, that changed since they were last run here."""
        self._building.on = True
        try:
            with self.cursor() as cur:
                for name in names:
                    st = named[name]
                    if self._views.get(name) == st and name not in self._reshaped:
                        continue
                    cur.execute(st)
                    self._views[name] = st
                    self._reshaped.discard(name)
                    if name.startswith("stored_"):
                        # the views over a kind's segments are bound again only when their columns may have
                        # changed: a new segment of the same columns leaves them valid (DuckDB binds a view's
                        # parts per query; older versions refuse a view whose parts' types changed since it was made)
                        kind = name.removeprefix("stored_")
                        shape = self._shape(self._segment_lists[kind])
                        if self._shapes.get(kind, shape) != shape:
                            self._reshaped.add(kind)
                        self._shapes[kind] = shape
        finally:
            self._building.on = False

    def _ensure_views(self, query: str | None) -> None:
        """Builds the views not built yet that `query` reads, and the views they read (all of them for None):
        opening the store builds none, so a first look runs the statements of its two views, not all 39."""
        if not self._lazy or getattr(self._building, "on", False):
            return
        with self._views_lock:
            lazy = self._lazy
            if not lazy:
                return
            if query is None:
                need = set(lazy)
            else:
                need = _read_by(query, {n: _names_in(st) for n, st in {**self._views, **lazy}.items()})
            names = [n for n in self._order if n in need and n in lazy]
            if not names:
                return
            self._run_views(lazy, names)
            self._lazy = {n: st for n, st in lazy.items() if n not in need}
