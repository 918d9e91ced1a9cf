"""Parquet logs read in place: which files each source matches, and what the conform rules make of each.

A file is checked once per version (inode, size, mtime) by whichever process first sees it, and the facts
(rows refused, newest kept time) are kept across processes (`store/facts.py`): the views read a clean file
without the rules, and the counts come from the facts, not a scan. Kept apart from the Warehouse class.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from console.sources.files import folder_of_logs, unlisted
from console.sql import load_query
from console.store import mapped_parquet
from console.store.facts import ts_text, ts_value
from console.store.place import _expand, is_parquet_source
from console.store.lakes import TABLE_KEYS
from console.store.views import _sql_list, as_features, struct_fields


class InPlace:
    """The Warehouse's Parquet logs read in place and their facts (mixed into it: `self` is the Warehouse)."""

    def _parquet_files(self) -> tuple[dict[str, list[str]], list[str], list[str]]:
        """Parquet logs by kind (read in place), missing patterns and notes; an unreadable file is named and
        left out, so the others are still read."""
        out: dict[str, list[str]] = {}
        missing: list[str] = []
        notes: list[str] = []
        found = {src: _expand(src.path) for src in self.cfg.logs if is_parquet_source(src)}
        # a log under its own names (`[logs.fields]`): each of its files read through its mapping
        self._mapped = {p: src.fields for src, paths in found.items() if getattr(src, "fields", ()) for p in paths}
        new = [p for paths in found.values() for p in paths if self._unchecked(p) and not os.path.isdir(p)
               and self._footer_fact(p, "rows") is None]
        self._rows_read = self._file_rows(new) if len(new) > 1 else {}  # one footer query, not one per file
        for src, paths in found.items():
            if not paths:
                # a folder it cannot list, or one of JSONL files: not a typo
                hidden = unlisted(src.path) or folder_of_logs(src.path)
                (notes if hidden else missing).append(hidden or src.path)
            for p in paths:
                if os.path.isdir(p):
                    notes.append(f"{p}: matched the pattern but is a folder")
                    continue
                rows = self._parquet_check(p)
                if isinstance(rows, str):
                    notes.append(f"{p}: unreadable Parquet file: {rows}")
                    continue
                out.setdefault(src.kind, []).append(p)
        return out, missing, notes

    def _parquet_read(self, paths: list[str], union: bool = True) -> str:
        """What a view reads `paths` with: one `read_parquet` (provenance columns included) per mapping, the logs
        under their own names through theirs (`mapped_parquet`), joined by name."""
        groups: dict[tuple, list[str]] = {}
        for p in paths:
            groups.setdefault(tuple(self._mapped.get(p, ())), []).append(p)
        reads = []
        for fields, files in groups.items():
            scan = (f"read_parquet({_sql_list(files)},{' union_by_name = true,' if union else ''} filename = true, "
                    "file_row_number = true)")
            if fields:
                columns: dict[str, str] = {}
                for p in files:
                    found = self._footer_columns(p)
                    if isinstance(found, dict):
                        columns.update({c: t for c, t in found.items() if c not in columns})
                scan = mapped_parquet.read(scan, columns, fields)
            reads.append(scan)
        if len(reads) == 1:
            return reads[0]
        return "(" + " UNION ALL BY NAME ".join(f"SELECT * FROM {r}" for r in reads) + ")"

    def _read_columns(self, path: str) -> dict[str, str] | str:
        """A Parquet log's columns as the views read them (under the contract's names where the log maps its own),
        or why it cannot be read."""
        found = self._footer_columns(path)
        fields = self._mapped.get(path, ())
        return mapped_parquet.contract_columns(found, fields) if fields and isinstance(found, dict) else found

    def _field_notes(self, files: dict[str, list[str]]) -> list[str]:
        """Notes on the fields of the Parquet logs read in place, from the footers' columns every file's check has
        read already (no scan):
        - a field whose files disagree on what it holds (numbers in one day's file, text in the next), on every
          refresh while they do: read, the types unified as DuckDB unifies them (to text), as a JSONL field of mixed
          types is kept and said; the tests that need numbers count the values that are not as unusable. Numbers
          of different widths (int32 here, double there) are one kind and need no word;
        - a field new to the store (a feature first logged in today's file), once, by whichever process first
          sees it, as a JSONL field new to the store is said (a first read says none).
        Parquet objects in S3 count as files here, from the footers the store keeps of them (`_lake_columns`)."""
        columns: dict[str, dict[str, dict[str, str]]] = {}  # kind -> file -> field -> what it holds
        for kind, paths in files.items():
            for p in paths:
                found = self._read_columns(p)
                if isinstance(found, dict):  # a features struct's fields are features, as its view reads them
                    fields = as_features(found, struct_fields(str(found.get("features", ""))))
                    # a Hive partition key is typed from one file's folder name (`hour=09` text, `hour=10` a
                    # number): not a field the files disagree on (every command said so of `hour=HH` folders)
                    keys = _partition_keys(p)
                    columns.setdefault(kind, {})[p] = {name: _kind_of(typ) for name, typ in fields.items()
                                                       if name not in keys}
        for kind, objects in self._lake_columns().items():  # S3 objects: the same notes, from their kept footers
            columns.setdefault(kind, {}).update(objects)
        notes = []
        for kind, held in columns.items():
            kinds: dict[str, dict[str, list[str]]] = {}
            for p, fields in held.items():
                for name, what in fields.items():
                    if what != NO_VALUES:  # a zero-row file's column typed null holds nothing to disagree with
                        kinds.setdefault(name, {}).setdefault(what, []).append(p)
            for name, by in sorted(kinds.items()):
                if len(by) > 1:
                    said = "; ".join(f"{k} in {len(ps)} file{'s' if len(ps) > 1 else ''}, e.g. {ps[0]}"
                                     for k, ps in sorted(by.items(), key=lambda kv: -len(kv[1])))
                    notes.append(f"{kind}: field {name!r} holds values of more than one type across its Parquet "
                                 f"files ({said}); kept, as text if not all numbers")
            key = f"parquet-fields|{kind}"
            before = self._facts.remembered(key)
            if before is not None:
                known = set(before) | self._known_columns(kind)
                for name in sorted(set(kinds) - known):
                    having = [p for ps in kinds[name].values() for p in ps]
                    notes.append(f"{kind}: new field {name!r} ({_where(having)})")
            self._facts.remember(key, sorted(set(kinds) | set(before or ())))
        return notes

    def _parquet_deleted(self) -> list[str]:
        """A note per Parquet log gone since the last refresh of any process, as the tailer notes a deleted
        JSONL or CSV file: its rows were read in place, so they leave the screens with it, and say so. The
        files each source matched are kept with the footer facts; the process that finds one gone says it,
        once."""
        notes: list[str] = []
        for src in self.cfg.logs:
            if not is_parquet_source(src):
                continue
            key = f"parquet-files|{src.path}"
            now = [p for p in _expand(src.path) if not os.path.isdir(p)]
            seen = set(now)
            notes += [f"{p}: deleted" for p in self._facts.remembered(key) or [] if p not in seen
                      and not os.path.lexists(p)]
            self._facts.remember(key, now)
        return notes

    def _rejects(self, kind: str, path: str) -> int:
        """How many rows of one Parquet log the conform rules refuse."""
        return int(self._file_facts(kind, path)["rejects"])

    def _known_rejects(self, kind: str, path: str) -> int | None:
        """The same, when known without a scan; None when the file is still to be checked."""
        known = self._known_facts(kind, path)
        return int(known["rejects"]) if known is not None else None

    def _facts_key(self, kind: str, path: str) -> str:
        """A file's facts are those of its version read through its mapping (a mapping changed reads it anew)."""
        mapping = mapped_parquet.key(self._mapped.get(path, ()))
        return f"{kind}|{os.path.abspath(path)}" + (f"|{mapping}" if mapping else "")

    def _known_facts(self, kind: str, path: str) -> dict | None:
        """A file's facts when they still hold (see `_file_facts`), without checking it."""
        key = self._facts_key(kind, path)
        known = self._facts.get(key, path)
        if known is not None and ((key, *known["version"]) in self._checked or
                                  (ts_value(known.get("newest")) or datetime.min)
                                  <= (ts_value(known.get("horizon")) or datetime.min)):
            return known
        return None

    def _file_facts(self, kind: str, path: str, want: str | None = None) -> dict:
        """What the conform rules make of one Parquet log: checked once per file version, by whichever
        process first sees it. A fact holds for good unless a row was refused as dated in the future, which
        time may cure: such a file is checked again by each process. `want`: a fact facts kept by an earlier
        release lack (`oldest_kept`): the file is checked again once."""
        known = self._known_facts(kind, path)
        if known is not None and (want is None or want in known):
            return known
        key = self._facts_key(kind, path)
        max_ts = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=self.future_s)
        sql = load_query("file_rejects").format(read=self._parquet_read([path], union=False), conform=load_query(
            f"conform_{kind}").replace("FROM chunk", "FROM chunk_file"))
        with self.cursor() as cur:
            rejects, kept, newest, oldest = cur.execute(sql, {"max_ts": max_ts} if "$max_ts" in sql else {}
                                                        ).fetchall()[-1]
        known = self._facts.put(key, path, rejects=int(rejects), newest_kept=ts_text(kept), newest=ts_text(newest),
                                horizon=ts_text(max_ts), oldest_kept=ts_text(oldest))
        self._facts.save(every=2.0)  # what was checked is kept while a first scan goes on; the views save at its end
        self._checked.add((key, *known["version"]))
        return known


# What a column typed null holds (Arrow's `null`, DuckDB's `"NULL"`): a zero-row file's columns, written from no
# values. No kind at all, so not a field whose files disagree, on disk or in S3.
NO_VALUES = "no values"

_NUMBERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
            "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def _where(having: list[str]) -> str:
    """Where a new field is: the Parquet files bringing it (one named), and the Delta or Iceberg tables whose schema
    holds it (`lakes.table_key`)."""
    tables = [p for p in having if p.startswith(TABLE_KEYS)]
    files = [p for p in having if p not in tables]
    said = [f"in {len(files)} Parquet file{'s' if len(files) > 1 else ''}, e.g. {files[-1]}"] if files else []
    return "; ".join(said + [f"in {t}" for t in tables])


def arrow_kind(arrow_type) -> str:
    """`_kind_of` for an Arrow type (an S3 object's footer)."""
    import pyarrow.types as t

    if t.is_integer(arrow_type) or t.is_floating(arrow_type) or t.is_decimal(arrow_type):
        return "numbers"
    if t.is_string(arrow_type) or t.is_large_string(arrow_type) or t.is_string_view(arrow_type):
        return "text"
    if t.is_timestamp(arrow_type) or t.is_date(arrow_type) or t.is_time(arrow_type):
        return "times"
    if t.is_boolean(arrow_type):
        return "true/false"
    if t.is_null(arrow_type):
        return NO_VALUES
    return str(arrow_type)


def _kind_of(duck_type: str) -> str:
    """What a column holds, as an operator would say it: a number of any width, text, a time, true/false."""
    t = duck_type.upper()
    if t.startswith(_NUMBERS):
        return "numbers"
    if t == "VARCHAR":
        return "text"
    if t.startswith(("TIMESTAMP", "DATE", "TIME")):
        return "times"
    if t == "BOOLEAN":
        return "true/false"
    if t in ("NULL", '"NULL"'):
        return NO_VALUES
    return duck_type


def _partition_keys(path: str) -> set[str]:
    """The Hive partition keys of a file's folders (`dt=2026-11-30/hour=09/` -> {"dt", "hour"})."""
    return {seg.split("=", 1)[0] for seg in os.path.dirname(path).split(os.sep) if "=" in seg}
