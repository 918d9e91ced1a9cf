"""Bringing the store up to date (`refresh`): new lines tailed, parsed once into typed segments, committed.

The process holding the writer lock reads what is new since the store was last brought up to date, writes
it to immutable Parquet segments, and commits segments and read cursors together by replacing the
manifest; a cold backlog commits in steps so the first frame shows rows early. Kept apart from the
Warehouse class: ingest is the store's one writer path, and the only one that needs PyArrow and Polars.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import os
import shutil
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from console.config import LogSource, reveal
from console.private_files import sync_folder
from console.sources import compressed, endpoints, field_names, object_versions
from console.sources.contract import FIELDS, PREDICTION_RAW_ONLY, PROVENANCE_FIELDS, Rejected
from console.sources.files import FileCursor, Tailer
from console.sql import load_query
from console.store import label_events
from console.store.manifest import KINDS, Manifest
from console.store.on_first_use import conform_plain, filelock, locations, merge, pa, parse, pc, readers, trace_poll
from console.store.place import (FLUSH_BYTES, FLUSH_ROWS, MALFORMED_FIELDS, OWN_ROLLUPS, _sources_fingerprint,
                                 format_of, is_lake_dataset, is_lake_source, is_parquet_source, renamed,
                                 source_id, source_names)


@dataclass(frozen=True)
class RefreshStats:
    rows: dict[str, int] = field(default_factory=dict)  # new rows kept, by kind
    malformed: int = 0  # new rows set aside
    seconds: float = 0.0
    missing: tuple[str, ...] = ()  # configured paths with no file yet
    notes: tuple[str, ...] = ()  # rotations, truncations, unreadable files, a store held by another process


@dataclass(frozen=True)
class Progress:
    """How far a refresh has read, for the first frame of a cold start (a large JSONL backlog takes a while)."""
    path: str  # the file being read
    offset: int  # bytes of it read so far
    size: int  # its size when the piece was read (0: not known, a compressed file: no share is shown)
    rows: int  # rows kept by this refresh so far, all sources
    seconds: float  # since the refresh started
    ready: int = 0  # rows this refresh has committed so far in steps: readers see them already

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def _type_kind(arrow_type: str) -> str:
    """What a column's Arrow type holds, as the views unify it: integers and floats are both numbers."""
    if arrow_type.startswith(("int", "uint", "float", "double", "halffloat", "decimal")):
        return "number"
    return "text" if arrow_type in ("string", "large_string", "string_view") else arrow_type


def _retyped(arrow_type: str, known: set[str] | tuple) -> bool:
    """A piece's column holds another kind of value than the store's segments hold it as (nulls say nothing)."""
    had = {_type_kind(t) for t in known} - {"null"}
    return bool(had) and _type_kind(arrow_type) not in had | {"null"}


def _tail_judge(fmt: str | None):
    """What tells a whole unterminated last line from a cut one: one complete JSON object, for JSONL, a pattern of no
    one format, and every vendor format read as JSON Lines (an export written with "\\n".join keeps its last
    record); None for CSV and Parquet. A vendor format's readers are looked up only when a tail is decided."""
    if fmt in ("jsonl", None):
        return _whole_json_row
    if fmt in ("csv", "parquet"):
        return None
    return functools.partial(_vendor_whole_row, fmt)


def _vendor_whole_row(fmt: str, tail: bytes) -> bool:
    """A whole JSON object, or a whole array for a reader that reads a line holding one as its records
    (`JSON_ARRAYS`: the KServe blob logger writes a batch as one array, and never appends to it)."""
    reader = readers.READERS.get(fmt)
    arrays = bool(getattr(reader, "JSON_ARRAYS", False))
    return bool(getattr(reader, "LINE_BASED", False)) and parse.whole_json_row(tail, arrays=arrays)


def _whole_json_row(tail: bytes) -> bool:
    """`parse.whole_json_row`, the parser (and Polars with it) imported only when a tail is to be decided: a refresh
    that finds nothing new then costs no import, and a command answered from what the store keeps stays quick."""
    return parse.whole_json_row(tail)


@functools.cache
def malformed_schema() -> pa.Schema:
    """The malformed rows' columns (made on first use: PyArrow is imported by ingest, not by opening the store)."""
    return pa.schema([(n, pa.type_for_alias(t)) for n, t in MALFORMED_FIELDS.items()])


# the store, not the logs; EFBIG: a file-size limit (`ulimit -f`) a file of the store cannot be written under
_CANNOT_WRITE = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
_READ_BY_CONFORM = {n.lower() for n in (*FIELDS["predictions"], *PREDICTION_RAW_ONLY, *PROVENANCE_FIELDS)}
_PLAIN = ("is_float64", "is_int64", "is_boolean", "is_string", "is_large_string", "is_string_view")  # pa.types


def _features_aside(kind: str, table: pa.Table) -> list[str]:
    """The columns of a chunk of predictions that the conform query would pass through as they are (features
    and segments of plain types), when the chunk's line numbers can prove the order of its rows; else none.
    DuckDB matches names without regard to case, and so does this."""
    names = table.column_names
    if kind != "predictions" or "loc" not in names or len({n.lower() for n in names}) != len(names):
        return []
    aside = [n for n in names if n.lower() not in _READ_BY_CONFORM]
    plain = [getattr(pa.types, name) for name in _PLAIN]
    if not aside or any(not any(is_(table.schema.field(n).type) for is_ in plain) for n in aside):
        return []
    loc = table.column("loc")
    if loc.null_count or not pa.types.is_int64(loc.type) or (
            len(loc) > 1 and not pc.all(pc.greater(loc.slice(1), loc.slice(0, len(loc) - 1))).as_py()):
        return []  # line numbers that do not rise cannot show that the query kept the order
    return aside


class Ingest:
    """The Warehouse's refresh: what is new, read and committed (mixed into it: `self` is the Warehouse)."""

    def refresh(self, lock_timeout_s: float = 60.0) -> RefreshStats:
        """Reads what is new since the store was last brought up to date, by this process or another.

        A store that stops taking writes while it is read into (a disk that fills, a quota, a mount gone
        read-only) is left as its last commit had it, for the other processes; this one goes on in a temporary
        store of its own, read from the logs' start, and every refresh's notes say so (qa7: a full disk made
        every command exit 4 with "OSError: [Errno 28] Error writing bytes to file").

        One round of reads (`endpoints`): once a source finds its endpoint unreachable (an S3 server that takes
        connections and never answers), the other sources on it are noted down at once with the same reason,
        not after a timeout each; the next refresh asks again."""
        self._round = endpoints.Round()  # kept: a query that finds a lake's server gone uses it too (`_lake_down`)
        with endpoints.one_round(self._round):
            try:
                stats = self._refresh(lock_timeout_s)
            except OSError as exc:
                if not self.persistent or exc.errno not in _CANNOT_WRITE:
                    raise
                self._move_to_temporary(os.strerror(exc.errno))
                stats = self._refresh(lock_timeout_s)
        if self.note:
            stats = dataclasses.replace(stats, notes=(self.note, *stats.notes))
        return stats

    def _refresh(self, lock_timeout_s: float) -> RefreshStats:
        started = time.perf_counter()
        with self._write:
            notes: list[str] = []
            try:
                self._lock.acquire(timeout=lock_timeout_s)
            except filelock.Timeout:
                self.manifest = self._readable(self._load_manifest())
                parquet, missing, pnotes = self._parquet_files()
                pnotes += self._open_lakes() + self._field_notes(parquet)
                missing = [*missing, *self._lakes_missing]
                self._build_views(self.manifest, parquet)
                damage = [self.manifest.damaged] if self.manifest.damaged else []
                return RefreshStats(seconds=time.perf_counter() - started, missing=tuple(missing),
                                    notes=("another console is bringing the store up to date; showing what it "
                                           "has so far", *damage, *pnotes))
            try:
                # a segment half-written by a refresh killed outright (SIGKILL, the OOM killer): only a merge swept
                # them, and a store with none due kept them for good (67 MB after 14 killed catch-ups in the h4 probe).
                # Once a process (its first refresh), not on every live refresh: another's kill is seen by the next
                # process, and this one's merges sweep too
                if not self._tmp_swept:
                    self._sweep_tmp()
                    self._tmp_swept = True
                m = self._readable(self._load_manifest())
                fingerprint, names = _sources_fingerprint(self.cfg), source_names(self.cfg)
                if m.damaged:
                    # which segments it named and how far their logs were read (or which rows a segment held) is
                    # lost with it: every segment goes and the logs are read again, so no row is missed or doubled
                    notes.append(f"{m.damaged}: the store is read again from the logs' start")
                    self._columns = {}
                    m = self.manifest = Manifest(generation=m.generation + 1)
                    self._save_manifest(m)
                    for kind in KINDS:
                        for seg in (self.dir / kind).glob("*.parquet"):
                            seg.unlink(missing_ok=True)
                if m.sources and m.sources != fingerprint:
                    notes.append("the configured log sources changed: the store is read again from the start")
                    before = m
                    # read before: a tailed log has a cursor; a Parquet log read in place, its files remembered; a
                    # source mapped before (a lakehouse table too) was read under those names
                    read = set(m.cursors) | set(m.names) | {
                        source_id(s) for s in self.cfg.logs if is_parquet_source(s)
                        and self._facts.remembered(f"parquet-files|{s.path}") is not None}
                    if renamed(m.names, names, read & {source_id(s) for s in self.cfg.logs}):
                        self._drop_own_rollups()
                    self._columns = {}
                    # the dropped segments are gone: what this process knows of the store's columns starts empty
                    m = self.manifest = Manifest(generation=before.generation + 1)
                    # the empty store committed before its old segments go: a refresh failing after this (a log it
                    # cannot parse) left a manifest naming deleted segments, and every later command failed on them
                    m.sources, m.names = fingerprint, names
                    self._save_manifest(m)
                    self._drop_segments(before)
                m.sources, m.names = fingerprint, names
                held = {"m": m}
                # a field is new to a store that had rows of its kind before this refresh: a first read (or a
                # re-read from the start) committed in steps would call every field after its first step new
                self._had_rows = {k for k in KINDS if m.segments.get(k)}
                # and new to the store as loaded now, not as this process last saw it: another console may have
                # committed segments since (their footers are read once per process, so this costs nothing new)
                self.manifest, self._columns = m, {}

                def commit(segments: dict[str, list[str]], cursors: dict[str, dict]) -> None:
                    held["m"] = self.manifest = self._commit(held["m"], segments, cursors)

                def stepped() -> None:
                    self._build_views(self.manifest, self._parquet_files()[0])
                    self.steps += 1
                    if self.on_step is not None:
                        self.on_step(self.manifest)

                kept, bad, new_files, cursors, tail_missing, tail_notes = self._ingest(m, commit, stepped)
                if sum(kept.values()) >= self.first_step_rows:
                    # a backlog's pieces are freed, but Arrow's allocator keeps their pages: ~0.2 GB at 1M rows,
                    # under what the rollup build that follows a first read then holds
                    pa.default_memory_pool().release_unused()
                self._remember_types()
                m = held["m"]
                if any(new_files.values()) or m.generation == 0 or cursors != m.cursors:
                    m = self._commit(m, new_files, cursors)
                if self._expire(m):
                    self._save_manifest(m)
                self.manifest = m
            except BaseException:
                raise
            finally:
                self.progress = None
                self._lock.release()
            parquet, missing, pnotes = self._parquet_files()
            pnotes = self._parquet_deleted() + pnotes
            pnotes += self._open_lakes()
            missing = [*missing, *self._lakes_missing]
            pnotes += self._field_notes(parquet)  # last: the Overview shows the first note, and a source down comes first
            self._build_views(m, parquet)
            self._facts.save()  # what was learnt of new Parquet logs' footers, for the next process (if any)
            for kind, files in parquet.items():
                total = sum(int(self._parquet_check(p)) for p in files)
                delta = total - self._parquet_rows.get(kind, 0)
                self._parquet_rows[kind] = total
                if delta > 0:
                    kept[kind] = kept.get(kind, 0) + delta
            self.refreshes += 1
        notes += [f"{kind}: field {col!r} holds values of more than one type; kept, as text if not all numbers"
                  for kind, col in sorted(self._changed_types)]
        notes += [f"{kind}: new field {col!r}" for kind, col in sorted(self._new_fields)]
        self._changed_types.clear()
        self._new_fields.clear()
        if self.merge_in_background:
            self._merge_soon()
        return RefreshStats(rows={k: v for k, v in kept.items() if v}, malformed=bad,
                            seconds=time.perf_counter() - started, missing=tuple(tail_missing + missing),
                            notes=tuple(notes + tail_notes + pnotes))

    def _commit(self, m: Manifest, segments: dict[str, list[str]], cursors: dict[str, dict]) -> Manifest:
        """A new manifest naming `segments` too, with the cursors that cover them, saved in one rename; `m`
        is left as it was, so a failed save changes nothing this process shows."""
        new = dataclasses.replace(m, generation=m.generation + 1, cursors=cursors, retired=list(m.retired),
                                  segments={k: m.segments.get(k, []) + segments.get(k, []) for k in KINDS})
        self._save_manifest(new)
        return new

    def _ingest(self, m: Manifest, commit=None, stepped=None):
        """Tails every line-based source; returns (kept by kind, set aside, new segment names by kind, the
        cursors to commit, missing patterns, notes). Segments written before a failure are removed again.

        A long backlog is committed in steps: once `first_step_rows` rows (then every `step_rows`) are read,
        what is pending is written and `commit(segments, cursors)` commits those segments with the cursors that
        cover exactly them (the sources done, the file being read as far as its last chunk, the old cursors
        of the sources not reached yet); then `stepped()`. A crash after a step keeps it; the next refresh
        reads on from it."""
        pending: dict[str, list[pa.Table]] = {k: [] for k in KINDS}
        written: dict[str, list[str]] = {}
        kept: dict[str, int] = {}
        cursors: dict[str, dict] = {}
        missing: list[str] = []
        notes: list[str] = []
        counts = {"bad": 0, "stepped": 0}
        reader_notes: dict[tuple[str, str], dict[str, None]] = {}  # (source, a reader's note) -> the files saying it
        events_held: list[tuple[LogSource, str, pa.Table]] = []  # labels of whole events, to check against predictions
        # such labels of earlier refreshes still waiting for their event's predictions (`label_events`), checked
        # against this refresh's new ones (the segments not in the manifest as loaded, and those not written)
        label_events.sweep(self.dir, m.cursors.get(label_events.WAITING))
        if m.cursors.get(label_events.WAITING):
            cursors[label_events.WAITING] = m.cursors[label_events.WAITING]
        known_predictions, began, waited = set(m.segments.get("predictions", [])), self.wall(), [False]
        # a record waits only for rows the check sees: predictions read into segments (not Parquet, Delta or Iceberg
        # read in place)
        waitable = any(s.kind == "predictions" and not (is_parquet_source(s) or is_lake_dataset(s))
                       for s in self.cfg.logs)
        self._ready = 0
        started = time.perf_counter()

        def maybe_step(sid: str, tailer: Tailer) -> None:
            read = sum(kept.values()) + counts["bad"]
            due = self.step_rows if counts["stepped"] else self.first_step_rows
            if commit is None or read - counts["stepped"] < due:
                return
            settle_events()
            self._flush(pending, written)
            live = {k: c.to_dict() for k, c in tailer.state_so_far().items()}
            commit({k: list(v) for k, v in written.items()}, {**m.cursors, **cursors, sid: live})
            written.clear()  # committed: no longer this refresh's to remove on failure
            counts["stepped"] = self._ready = read
            if stepped is not None:
                stepped()

        touched: set[str] = set()  # the sources whose one carry (`pairs_id`) took a piece in this refresh

        def take(src: LogSource, fmt_file: str | None, body: bytes, path: str, first_line: int, header: str | None,
                 carry, rejected: list[Rejected], lines: int | None = None, written: int | None = None,
                 continues: bool = False):
            """Parses one piece of a log once, into typed rows of each kind and rows set aside; returns the
            reader's carry (a vendor format's state between pieces). A reader whose carry is the source's
            (`SOURCE_CARRY`: a pair's events in any of its files) gets the source's instead, kept in `cursors` under
            `pairs_id` (so a step commits it with the cursors), and None goes back to the file's cursor. A reader
            that dates time-less records by their write (`WRITE_TIME`) gets `written`: the file's mtime as read, the
            object's LastModified (epoch ns); readers never stat a log themselves. `continues`: body's first line
            goes on a line set aside as truncated (`Chunk.continues`), counted once: its rejection is dropped."""
            pid = pairs_id(src) if fmt_file and _source_carried(fmt_file) else None
            if pid is not None:
                carry = cursors.get(pid)
            by_kind: list[tuple[str, pa.Table]] = []
            if fmt_file == "csv":
                tables, rej = parse.csv_lines(body, header=header or "", source=path, first_line=first_line,
                                              fields=getattr(src, "fields", ()))
                by_kind = [(src.kind, t) for t in tables]
            elif fmt_file == "jsonl":
                tables, rej = parse.jsonl(body, source=path, first_line=first_line, types=self._types(src),
                                          lines=lines, fields=getattr(src, "fields", ()))
                by_kind = [(src.kind, t) for t in tables]
                self._changed_types.update((src.kind, c) for t in tables for c in parse.retyped(t))
            elif fmt_file in readers.READERS:  # a vendor's format: its reader maps it onto the contract
                options = dict(getattr(src, "options", None) or {})
                reader = readers.READERS[fmt_file]
                extra = {"age": False} if pid else {}
                if getattr(reader, "WRITE_TIME", False):
                    extra["written"] = written
                parsed = reader.parse(body, source=path, first_line=first_line, options=options, carry=carry, **extra)
                carry = parsed.carry
                by_kind = list(parsed.tables().items())
                rej = parsed.rejected
                for n in parsed.notes:  # said once per source, not once per file of it (`_reader_notes`)
                    template, count = _counted(n)
                    files = reader_notes.setdefault((src.path, template), {})
                    files[path] = None if count is None else (files.get(path) or 0) + count
            else:
                why = f"unknown log format {fmt_file!r}" if fmt_file else \
                    "format not known from the file's name (set `format` on its [[logs]] entry)"
                rej = [Rejected(0, why, "")] if first_line == 1 else []
            if continues:
                rej = [r for r in rej if r.loc != first_line]
            queue(src, by_kind, rejected + list(rej), path)
            if pid is None:
                return carry
            cursors[pid] = carry or {}
            touched.add(pid)
            age(src, fmt_file, final=False)  # only the cap between pieces: a file still to read may hold a pair
            return None

        def age(src: LogSource, fmt: str, final: bool) -> None:
            """The source's waiting events aged by its reader (`settle`), each one set aside under its own file."""
            pid = pairs_id(src)
            carry, aside, said = readers.READERS[fmt].settle(cursors.get(pid), final=final,
                                                            options=dict(getattr(src, "options", None) or {}))
            cursors[pid] = carry or {}
            for path, rej in aside.items():
                queue(src, [], rej, path or src.path)
            for n in said:
                template, count = _counted(n)
                reader_notes.setdefault((src.path, template), {})[src.path] = count

        def queue(src: LogSource, by_kind: list[tuple[str, pa.Table]], rejected: list[Rejected], path: str) -> None:
            """Typed rows of each kind into `pending`, and rows set aside; flushes a large backlog."""
            for kind, t in by_kind:
                if kind == "labels" and label_events.marked(t):  # checked once this refresh's predictions are at hand
                    events_held.append((src, path, t))
                    continue
                good, refused = self._conform(kind, t)
                refused = field_names.explain(refused, getattr(src, "fields", ()))
                if good.num_rows:
                    pending[kind].append(good)
                    kept[kind] = kept.get(kind, 0) + good.num_rows
                if refused.num_rows:
                    pending["malformed"].append(refused)
                    counts["bad"] += refused.num_rows
            if rejected:
                pending["malformed"].append(pa.table({
                    "source": [path] * len(rejected), "location": [str(r.loc) for r in rejected],
                    "reason": [r.reason for r in rejected], "raw": [r.raw for r in rejected]},
                    schema=malformed_schema()))
                counts["bad"] += len(rejected)
            held = pending[src.kind]
            if sum(t.num_rows for t in held) >= FLUSH_ROWS or sum(t.nbytes for t in held) >= FLUSH_BYTES:
                self._flush(pending, written)

        def settle_events(final: bool = False) -> None:
            """The held labels of whole events checked against every prediction the store and this refresh hold
            (`label_events`), then queued as any labels; those whose event has none yet wait, with those of earlier
            refreshes, which are checked against this refresh's new predictions only (at the end, those that waited
            `WAIT_S` are kept as keyed). Before each write that commits, so none is lost."""
            entry = cursors.get(label_events.WAITING)
            segments = self.manifest.segments.get("predictions", []) + written.get("predictions", [])
            fresh = [n for n in segments if n not in known_predictions]
            now = self.wall()
            due = final and bool(entry) and entry["oldest"] <= now - label_events.WAIT_S
            recheck = bool(entry) and (due or bool(fresh) or any(t.num_rows for t in pending["predictions"]))
            if not events_held and not recheck:
                return
            skeleton = self.dir / "skeleton-predictions.parquet"
            waits, still = [], None  # records that begin to wait; the file's rows still waiting, when any moved
            if recheck:
                sources = {source_id(s): s for s in self.cfg.logs}
                until = now - label_events.WAIT_S if final else None
                files = [skeleton, *(self.dir / n for n in fresh)]
                settled, still = label_events.recheck(self._con, self.dir, entry, files, pending["predictions"], until)
                for sid, path, kept, aside, unchecked in settled:
                    if sid in sources:
                        queue(sources[sid], [("labels", kept)] if kept.num_rows else [], aside, path)
                    if unchecked:
                        notes.append(f"{path}: {unchecked} ground-truth record(s) kept as keyed, unchecked: no capture "
                                     f"of their event read within {label_events.WAIT_S / 3600:g} h")
            if events_held:
                for src, path, kept, aside, wait in label_events.settle(
                        self._con, events_held, [skeleton, *(self.dir / n for n in segments)], pending["predictions"]):
                    if wait.num_rows and not waitable:  # no prediction the check sees will come: kept as keyed
                        kept = pa.concat_tables([kept, wait.drop_columns(list(label_events.COLUMNS))])
                    queue(src, [("labels", kept)] if kept.num_rows else [], aside, path)
                    if wait.num_rows and waitable:
                        waits.append(label_events.waiting_rows(source_id(src), path, wait, now))
                        waited[0] = True
                events_held.clear()
            if still is None and not waits:
                return  # nothing left the file, nothing joined it
            if still is None and entry:  # new records wait beside the file's
                still = label_events.load(self.dir, entry)
            rows = pa.concat_tables([t for t in (still, *waits) if t is not None], promote_options="permissive")
            cursors[label_events.WAITING] = label_events.save(self.dir, rows) if rows.num_rows else {}

        read_by: dict[str, dict] = {}  # kind -> (a local file -> the first [[logs]] entry of that kind matching it)
        try:
            for src in self.cfg.logs:
                if is_parquet_source(src) or is_lake_dataset(src):
                    continue
                sid = source_id(src)
                # (the scheme first: importing the poller imports the readers and PyArrow)
                if src.path.startswith(locations.MLFLOW_SCHEME) and trace_poll.is_polled(src.format, src.path):  # a tracking server's traces: polled, not tailed
                    got = trace_poll.poll(src.path, dict(getattr(src, "options", None) or {}), m.cursors.get(sid),
                                          lambda: reveal(self.cfg.tracking_uri))
                    cursors[sid] = got.state
                    notes += got.notes
                    if got.parsed is not None:
                        notes += [f"{src.path}: {n}" for n in got.parsed.notes]
                        queue(src, list(got.parsed.tables().items()), got.parsed.rejected, src.path)
                    continue
                fmt = format_of(src.path, src.format)
                carried = src.format is not None and _source_carried(src.format)
                if carried:
                    cursors[pairs_id(src)] = m.cursors.get(pairs_id(src)) or {}
                if is_lake_source(src):
                    cursors[sid], more, nothing = self._ingest_objects(src, fmt, m.cursors.get(sid, {}), take)
                    notes += more
                    if nothing:  # a prefix listing no object: a log matching no file, as an empty local glob is
                        missing.append(src.path)
                    if pairs_id(src) in touched:
                        age(src, src.format, final=True)
                    continue
                state = {k: FileCursor.from_dict(v) for k, v in m.cursors.get(sid, {}).items()}
                if carried and any(c.carry is not None for c in state.values()):
                    # a store written while each file kept its own carry: one for the source, the files' cleared
                    held = [cursors[pairs_id(src)], *(c.carry for c in state.values())]
                    cursors[pairs_id(src)] = readers.READERS[src.format].merged(held) or {}
                    for c in state.values():
                        c.carry = None
                # JSONL: a whole last row with no newline is kept after the grace; CSV's tail cannot be told
                # whole (a number cut short still parses), so it stays set aside (parse.whole_json_row)
                # a pattern of no one format (`logs/*`) may match CSV and JSONL files: each file's own name says
                # a file two entries of one kind match (`logs/*.jsonl` and `logs/app.jsonl`) is read by the first
                # alone: each entry kept its own cursors and every row was stored twice, without a word (one file
                # under two kinds is two readings of it: its labels and its predictions)
                claimed = read_by.setdefault(src.kind, {})
                tailer = Tailer(state, grace_s=self.grace_s, wall=self.wall, max_chunk_bytes=self.chunk_bytes,
                                csv_headers=(fmt == "csv") if fmt else (lambda p: format_of(p, None) == "csv"),
                                complete_tail=_tail_judge(fmt),
                                exclude=dict(claimed))
                for chunk in tailer.scan([src.path]):
                    # a file's own name first (a.jsonl.1 and a.jsonl.1.gz are JSONL), then the name it was first seen
                    # under (renamed to `p.jsonl.old`, its unread rows were dropped without a word); one that names
                    # none keeps the format of the pattern that found it
                    fmt_file = src.format or format_of(chunk.path, None) or chunk.cursor.fmt or format_of(src.path, None)
                    if fmt_file == "parquet":
                        continue
                    vendor = _vendor(fmt_file)
                    if vendor and format_of(chunk.path, None) == "parquet":
                        # a vendor's table as a Parquet file (a Databricks inference table's, the KServe blob
                        # logger's): its rows through the reader's `parse_table`, read whole once at its start; its
                        # bytes are no lines (they were split on newline bytes: 100 'not UTF-8' rows, no prediction)
                        if chunk.start_of_file:
                            self._vendor_table(src, fmt_file, chunk.path, queue, notes)
                        continue
                    body = chunk.body
                    if chunk.start_of_file:
                        body, _ = parse.strip_bom(body)
                    rejected = [Rejected(loc, reason, raw) for loc, reason, raw in chunk.rejected]
                    carry = chunk.cursor.carry
                    if carry is None and vendor:  # one log's state across its rotations
                        carry = tailer.hand_over_carry(chunk.key)
                    chunk.cursor.carry = take(src, fmt_file, body, chunk.path, chunk.first_line, chunk.header,
                                              carry, rejected, chunk.lines if chunk.lines >= 0 else None,
                                              chunk.mtime_ns if chunk.mtime_ns >= 0 else None, chunk.continues)
                    self._report(chunk.path, chunk.cursor.offset, sum(kept.values()), started)
                    maybe_step(sid, tailer)
                claimed.update({i: src.path for i in tailer.matched if i not in claimed})
                cursors[sid] = {k: c.to_dict() for k, c in tailer.state_after().items()}
                if carried and pairs_id(src) in touched:  # every file of the source read: its clock is theirs
                    age(src, src.format, final=True)
                missing += tailer.missing
                notes += tailer.notes
            settle_events(final=True)
            waiting = cursors.get(label_events.WAITING)
            if waiting and waited[0]:  # said of the records that began to wait in this refresh
                new = label_events.load(self.dir, waiting)
                new = new.filter(pc.greater_equal(new.column(label_events.SINCE), began))
                notes += [f"{path}: {n} ground-truth record(s) wait for the capture of their event: joined or set "
                          "aside once it is read" for path, n in sorted(label_events.records(new).items())]
            self._flush(pending, written)
        except BaseException:
            for names in written.values():
                for n in names:
                    (self.dir / n).unlink(missing_ok=True)
            raise
        # (nothing waits: no entry)
        cursors = {k: v for k, v in cursors.items() if v or not (k.startswith(PAIRS) or k == label_events.WAITING)}
        return kept, counts["bad"], written, cursors, missing, notes + _reader_notes(reader_notes)

    @staticmethod
    def _vendor_table(src: LogSource, fmt: str, path: str, queue, notes: list[str]) -> None:
        """A Parquet file of a vendor's format, read whole with pyarrow and mapped by the reader's `parse_table`;
        a reader without one, or a file that cannot be read, is one note and no rows."""
        import pyarrow.parquet as pq

        reader = readers.READERS[fmt]
        if not hasattr(reader, "parse_table"):
            notes.append(f"{path}: a Parquet file, but the {fmt} reader reads JSON lines only; not read")
            return
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            notes.append(f"{path}: a Parquet file that cannot be read ({type(exc).__name__}: {str(exc)[:120]})")
            return
        parsed = reader.parse_table(table, source=path, first_row=1, options=dict(getattr(src, "options", None) or {}))
        notes.extend(f"{path}: {n}" for n in parsed.notes)
        queue(src, list(parsed.tables().items()), list(parsed.rejected), path)

    def _types(self, src: LogSource) -> dict:
        """The column types that read a JSONL log's last piece, kept across processes (in the store's facts):
        a console's first refresh then spares the sample too. Types that no longer fit only cost the sample."""
        key = (src.kind, src.path)
        if key not in self._json_types:
            self._json_types[key] = parse.types_named(self._facts.remembered(f"jsonl-types|{src.kind}|{src.path}"))
        return self._json_types[key]

    def _remember_types(self) -> None:
        for (kind, path), types in self._json_types.items():
            self._facts.remember(f"jsonl-types|{kind}|{path}", parse.type_names(types))
        self._facts.save()

    def _ingest_objects(self, src: LogSource, fmt: str | None, seen: dict, take) -> tuple[dict, list[str], bool]:
        """A line-based log in object storage (JSONL, CSV, a vendor's JSON Lines such as SageMaker capture):
        each is read whole when first listed and remembered by ETag and by what was read (`object_versions`). An
        object written again under its key (a new ETag) is read again: when it starts with what was read, only
        its new lines; else, a different object, whole and said (the old one's rows stay counted). A bucket that
        cannot be reached is a note, and the next refresh tries again. The bool: the listing found no object."""
        from console.sources import locations

        storage = {k: v for k, v in vars(self.cfg.s3).items() if v is not None} \
            if getattr(self.cfg, "s3", None) is not None else {}
        seen = dict(seen)
        notes: list[str] = []
        try:
            objects = locations.list_files(src.path, storage)
        except Exception as exc:  # noqa: BLE001 - a bucket that cannot be listed costs only itself
            why = str(exc if isinstance(exc, locations.StorageError) else locations.storage_error(src.path, exc, storage))
            self._objects_down[src.path] = why
            return seen, [why], False
        self._objects_down.pop(src.path, None)
        seen, gone = locations.s3.prune_seen(seen, objects, self.wall())  # deleted objects: kept a while, noted
        notes += [f"{url}: deleted from the bucket; the rows read from it stay counted" for url in gone]
        for info in objects:
            fmt_file = src.format or format_of(info.path, None) or fmt
            if fmt_file == "parquet":
                continue
            before = seen.get(info.path)
            if before is not None and before.get("etag") == info.etag:
                continue
            try:
                body = locations.open_range(info.path, 0, info.size, storage, etag=info.etag) if info.size else b""
            except locations.StorageError as exc:
                notes.append(str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - one unreadable object costs only itself
                notes.append(str(locations.storage_error(info.path, exc, storage)))
                continue
            body, header, first_line, lost = parse.whole_object(body, fmt_file == "csv")
            start = 0 if before is None else object_versions.unread_from(before, header, body)
            if start is None:  # another object under the key (or one read by an older release, nothing kept)
                start = 0
                notes.append(f"{info.path}: replaced under its key by an object that does not start with the one read"
                             ", reading it from the start; the rows read before stay counted" if "sha" in before else
                             f"{info.path}: replaced under its key; what was read of it before is not known (read by "
                             "an older release): reading it from the start, its earlier rows may count twice")
            if start < len(body) or lost:
                take(src, fmt_file, body[start:] if start else body, info.path,
                     first_line + body.count(b"\n", 0, start), header, None, lost, written=info.mtime_ns or None)
            seen[info.path] = {"etag": info.etag, "size": info.size, **object_versions.mark(header, body)}
            self._report(info.path, info.size, None, None)
        return seen, notes, not objects

    def _report(self, path: str, offset: int, rows: int | None, started: float | None) -> None:
        """Publishes how far the refresh has read (one immutable object, swapped: a reader on another thread
        sees the old one or the new one)."""
        prev = self.progress
        try:
            size = os.stat(path).st_size if not path.startswith("s3://") else offset
        except OSError:
            size = offset
        size = max(size, offset)
        if compressed.named(path) and not path.startswith("s3://"):  # its lines' length is known once they are read
            size = 0
        if rows is None:
            rows = prev.rows if prev else 0
        seconds = time.perf_counter() - started if started is not None else (prev.seconds if prev else 0.0)
        self.progress = Progress(path, offset, size, rows, seconds, self._ready)
        if self.on_progress is not None:
            self.on_progress(self.progress)

    def _conform(self, kind: str, table: pa.Table) -> tuple[pa.Table, pa.Table]:
        """(rows typed into the contract, rows set aside as malformed records).

        A prediction's features pass through the conform query unchanged, so when they are of plain types
        they go round it: the query reads the contract fields only (a third less work on a wide log), and
        the features are put back beside the typed rows when every row was kept, in the order the query
        keeps (checked on the line numbers). Anything else is conformed whole, as before."""
        aside = _features_aside(kind, table)
        if aside:
            typed = self._conform_query(kind, table.drop_columns(aside))
            loc = table.column("loc")
            if typed.column("_reject").null_count == typed.num_rows and typed.column("loc").equals(loc):
                good = typed.drop_columns(["_reject"])
                for name in aside:
                    col = table.column(name)
                    good = good.append_column(name, col.cast(pa.string()) if pa.types.is_string_view(col.type)
                                              or pa.types.is_large_string(col.type) else col)
                return good, malformed_schema().empty_table()
        typed = self._conform_query(kind, table)
        if typed.column("_reject").null_count == typed.num_rows:  # the usual case: every row kept
            return typed.drop_columns(["_reject"]), malformed_schema().empty_table()
        con = self._con.cursor()
        try:
            con.register("conformed", typed)
            refused = con.sql(load_query("conform_rejects")).to_arrow_table().cast(malformed_schema())
        finally:
            con.close()
        ok = typed.filter(pc.is_null(typed.column("_reject"))).drop_columns(["_reject"])
        return ok, refused

    def _conform_query(self, kind: str, table: pa.Table) -> pa.Table:
        """The conform query's rows, `_reject` included. Run as a statement, not as a relation: a relation
        plans the query twice (once to learn its columns, once to run it), which was half the cost of
        conforming a live refresh's 10,000 rows; the copy of the result it warns about costs less."""
        max_ts = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=self.future_s)
        if kind == "predictions":  # the plainest chunks, provably as the query types them, without planning it
            plain = conform_plain.predictions(table, max_ts)
            if plain is not None:
                return plain
        con = self._con.cursor()
        try:
            con.register("chunk", table)
            sql = load_query(f"conform_{kind}")
            con.execute(sql, {"max_ts": max_ts} if "$max_ts" in sql else {})
            with warnings.catch_warnings():  # "an extra copy": taken on purpose, see above
                warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)
                return con.to_arrow_table()
        finally:
            con.close()

    def _flush(self, pending: dict[str, list[pa.Table]], written: dict[str, list[str]]) -> None:
        for kind, tables in pending.items():
            if not tables:
                continue
            table, changed = parse.unify(tables)
            self._changed_types.update((kind, c) for c in changed)
            known = self._known_types(kind)
            # a field no kept row holds a value of is no new field of the store: a row set aside (no model) carried
            # it, and "new field 'bogus_field'" was said of it (thirtieth session's data-path probe)
            if kind in self._had_rows:
                empty = [c for c in table.column_names if c not in known and table.column(c).null_count == len(table)]
                table = table.drop_columns(empty)  # (as the segments before it, which lack it too)
                self._new_fields.update((kind, c) for c in table.column_names if c not in known)
                # a field the store holds as numbers now logged as text (or the reverse) in a later refresh: the
                # views read it as text from here on, which `unify` says only of pieces read together
                self._changed_types.update((kind, f.name) for f in table.schema
                                           if _retyped(str(f.type), known.get(f.name, ())))
            for f in table.schema:
                known.setdefault(f.name, set()).add(str(f.type))
            for name, piece in self._write_segments(kind, table):
                self._schema(str(self.dir / name), piece)
                self._parquet_meta[("segment", name)] = piece.num_rows
                written.setdefault(kind, []).append(name)
            tables.clear()

    def _write_segments(self, kind: str, table: pa.Table) -> list[tuple[str, pa.Table]]:
        """The table as one segment, or as halves (and so on) when a file of it is too large for this process
        (EFBIG: `ulimit -f`, a file-size limit the disk's free space does not show): a backlog written whole
        made every command exit 4 under such a limit. Each file is complete before it is named."""
        name = f"{kind}/{uuid.uuid4().hex}.parquet"
        tmp = self.dir / f"{name}.tmp"
        # grouped by model, each model's rows in the order they were logged (by time, as logs are written),
        # at a fraction of the cost of sorting by time as well
        try:
            merge.write(table, tmp, sort_by_model=kind == "predictions")  # (fsynced: `merge.durable`)
            os.replace(tmp, self.dir / name)
            sync_folder(tmp.parent)  # the name too, before the manifest (fsynced in its own folder) names it
        except OSError as exc:  # a full disk or a failed fsync: the refresh fails whole, leaving no file
            tmp.unlink(missing_ok=True)
            if exc.errno != errno.EFBIG or table.num_rows < 2:
                raise
            half = table.num_rows // 2
            return [*self._write_segments(kind, table.slice(0, half)), *self._write_segments(kind, table.slice(half))]
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return [(name, table)]

    def _drop_own_rollups(self) -> None:
        """The store's own rollup folder goes with the rows it was built from when they are read again under other
        names (`[logs.fields]` changed): as many rows an hour, so a count would find its old hours current. (A
        source added or removed moves its hours' counts: those hours are rebuilt, the others kept.)
        Moved aside first, so a reader sees the whole folder or none. A configured `[rollups] path` is the
        `rollup` command's and is left alone."""
        if getattr(self.cfg, "rollups_path", None):
            return
        own = self.dir / OWN_ROLLUPS
        if own.is_dir():
            gone = self.dir / f".{OWN_ROLLUPS}-dropped-{uuid.uuid4().hex[:8]}"
            os.replace(own, gone)
            shutil.rmtree(gone, ignore_errors=True)

    def _drop_segments(self, m: Manifest) -> None:
        for names in m.segments.values():
            for n in names:
                (self.dir / n).unlink(missing_ok=True)


PAIRS = "pairs|"  # a manifest cursors key no source id starts with (theirs start with a kind)


def pairs_id(src: LogSource) -> str:
    """Where a source's one carry sits in the manifest's cursors: beside its files' cursors, committed with them."""
    return PAIRS + source_id(src)


def _vendor(fmt: str | None) -> bool:
    """A vendor's format, read by one of `readers`. JSONL and CSV are none, and are told without importing the
    readers (66 ms of a JSONL ingest's CPU, asked of every piece, for a log no vendor reader reads)."""
    return fmt not in (None, "jsonl", "csv", "parquet") and fmt in readers.READERS


def _source_carried(fmt: str) -> bool:
    """A vendor reader whose carry is the source's, not one file's (`SOURCE_CARRY`: kserve-cloudevents)."""
    return fmt not in ("jsonl", "csv", "parquet") and getattr(readers.READERS.get(fmt), "SOURCE_CARRY", False)


def _counted(note: str) -> tuple[str, int | None]:
    """A reader's note as (its text with its leading count as `{n}`, that count): the same note from several files
    or pieces is said once, with their counts summed (it showed one file's count as the total)."""
    head, _, rest = note.partition(" ")
    return ("{n} " + rest, int(head)) if head.isdigit() and rest else (note, None)


def _reader_notes(said: dict[tuple[str, str], dict[str, int | None]]) -> list[str]:
    """A vendor reader's notes, each once: named by its file, or by its source when several files said it (a
    sampled SageMaker capture says so in each of its hourly files), a count the note leads with summed."""
    out = []
    for (source, template), files in said.items():
        counts = [c for c in files.values() if c is not None]
        note = template.replace("{n}", str(sum(counts)), 1) if template.startswith("{n} ") else template
        out.append(f"{next(iter(files))}: {note}" if len(files) == 1 else f"{source} ({len(files)} files): {note}")
    return out
