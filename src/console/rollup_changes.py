"""Which hours of the store changed since the rollups were last checked against it, from the store's files
rather than from a recount of every hour.

The catch-up (`RollupDrift.catch_up`) makes sure each closed hour's rollup rows count what the store holds.
Counting a month of a 100M-row store per hour costs seconds, and a refresh happens every few seconds, most of
them bringing no row or a few rows of the last hour. So the catch-up keys what it verified on the store's
content: every Parquet file the store's views read (segments, which never change under their names, and logs
read in place, known by inode, size and mtime), each with the time range its footer's statistics give. When
files are added, removed or rewritten, only the hours their time ranges cover are counted again.

Objects in S3 are parts too, known by URL, ETag, size and mtime, with the span their footers gave when the
store listed them (`sources.footers`); so are a Delta or Iceberg table's data files, by name (neither format
changes a data file under its name), with the span their statistics give. A file whose footer gives no time
range (a ts of text, no statistics) covers every hour: the catch-up then counts the whole range, as it did before.

The `rollup` command keys what it built on the same parts of its own sources (`Versions.sources`: the files it
reads in place, not the store's copies), kept in the rollup folder's state, and rebuilds the built hours the
parts that changed since cover (`hours`): late rows in a new file, a file rewritten in place, a model backfilled.
A local JSONL or CSV log's files are also kept with what finds them again by identity (`Content.files`, `known`), so a
rename rotation, a copytruncate or a compression of the same lines changes no hour already built.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from console.sources import footers
from console.sources.lakes import FILE_MARKS
# the time range of a part that may hold any hour, of a file with no rows, and a file's by its statistics: the
# store's (`store/footers.py`), which keeps a log's span across processes
from console.store.footers import EMPTY, EVERY, ts_span  # noqa: F401 - ts_span: tests import it from here


DELTA_FILE = FILE_MARKS["delta"]  # the mark of a Delta table's data file among the parts (`Warehouse.lake_files`)
LAKE_FILES = frozenset(FILE_MARKS.values())  # a Delta or Iceberg table's data files: never changed under their names


@dataclass(frozen=True)
class Content:
    """The store's content as a set of parts: identity -> (first ts, last ts), or EVERY when unknown. `marks`: a
    local text log's (sha1 of its first KiB, sha1 of its last KiB), kept so the next run can tell rows appended to
    it from a file rewritten; `grown`: such a log's identity now -> (its identity before, the span of the rows
    appended since), filled by `Versions.sources`."""

    parts: dict
    marks: dict = field(default_factory=dict)
    grown: dict = field(default_factory=dict)
    # a local text log's file -> (its device, the format it was first read as, its log's path): what `known` needs
    # to find it again by identity after a rename rotation or a copytruncate (`rollup_sources.text_files`)
    files: dict = field(default_factory=dict)
    # the text files the build before read that left their log since (a rotated file deleted): their rows existed,
    # as the store keeps them, so their hours stay as built (not "removed")
    retired: frozenset = frozenset()

    def __eq__(self, other) -> bool:
        return isinstance(other, Content) and self.parts == other.parts

    def changed(self, other: Content, only: str | None = None) -> list[tuple] | None:
        """The time ranges of the parts in one and not the other (added, removed or rewritten files; `only`
        "added": those `other` alone holds, "removed": those `self` alone holds); None when one of them may cover
        any hour."""
        out = []
        skip = _grown_pairs(self, other)
        differ = {"added": other.parts.keys() - self.parts.keys(), "removed": self.parts.keys() - other.parts.keys(),
                  None: self.parts.keys() ^ other.parts.keys()}[only]
        for key in differ - skip.keys() - set(skip.values()) - other.retired:
            span = self.parts.get(key, other.parts.get(key))
            if span == EVERY:
                return None
            if span != EMPTY:
                out.append(span)
        return out

    def rewritten(self, other: Content) -> list[tuple] | None:
        """The time ranges of the prediction files held by both under one name (a path, an object's URL) but in
        another version: rewritten in place; and of a Delta or Iceberg table's data files `other` no longer holds (an
        overwrite, merge, update or delete replaced their rows). Their hours' row counts may not move (a corrected
        export of as many rows), so the catch-up rebuilds those hours rather than counting them. Both versions'
        ranges; None when one of them may cover any hour."""
        def named(parts: dict) -> dict:
            return {k[:2]: k for k in parts if len(k) == 5 and k[0] == "predictions"}

        mine, theirs = named(self.parts), named(other.parts)
        grown = _grown_pairs(self, other)
        out = []
        for name in mine.keys() - theirs.keys():  # a table's data file removed: its rows replaced or deleted
            if mine[name][2] in LAKE_FILES:
                span = self.parts[mine[name]]
                if span == EVERY:
                    return None
                if span != EMPTY:
                    out.append(span)
        for name in mine.keys() & theirs.keys():
            if mine[name] == theirs[name] or grown.get(theirs[name]) == mine[name]:
                continue
            if mine[name] in other.retired or theirs[name] in grown or mine[name] in grown.values():
                continue  # another file under the name: the old one retired or renamed, the new one renamed here
            for span in (self.parts[mine[name]], other.parts[theirs[name]]):
                if span == EVERY:
                    return None
                if span != EMPTY:
                    out.append(span)
        return out

    def appended(self, other: Content) -> list[tuple] | None:
        """The time ranges of the rows appended to text logs held by both (`grown`); None when one may hold any hour."""
        out = []
        for new, old in _grown_pairs(self, other).items():
            span = other.grown[new][1]
            if span == EVERY:
                return None
            if span != EMPTY:
                out.append(span)
        return out


def _grown_pairs(before: Content, after: Content) -> dict:
    """A text log's identity in `after` -> its identity in `before`, for the logs that only grew in between."""
    return {new: old for new, (old, _) in after.grown.items() if old in before.parts and new in after.parts}


class Versions:
    """Footer time ranges, read once per file version (a file's identity includes its size and mtime)."""

    def __init__(self) -> None:
        self._spans: dict[tuple, tuple] = {}

    def content(self, wh, kinds: tuple[str, ...] = ("predictions",), extra: tuple = ()) -> Content:
        """The parts the store's views read for `kinds`; `extra` identities (a refresh count, say) count as
        parts covering every hour, and so do label files: a label changes the hour of the prediction it joins,
        which its own time does not give."""
        parts: dict = {key: EVERY for key in extra}
        for kind in kinds:
            segments, inplace, lake = wh.content_files(kind)
            objects = wh.lake_objects(kind) if lake else []
            if objects is None:  # a lake table: its data files (Delta, Iceberg), else counted whole each refresh
                files = wh.lake_files(kind)
                if files is None:
                    parts[("lake", kind, wh.refreshes)] = EVERY
                parts.update(files or ())
            for identity, facts in objects or ():  # objects in S3, by URL, ETag, size and mtime, with their footers' span
                span = footers.span(facts) if kind == "predictions" else None
                parts[identity] = EVERY if span is None else EMPTY if span == ("empty", "empty") else span
            for path in [*segments, *inplace]:
                key = _identity(kind, path)
                span = self._spans.get(key)
                if span is None:
                    span = self._spans[key] = EVERY if key[2] is None or kind != "predictions" else wh.file_span(path)
                parts[key] = span
        return Content(parts)

    def sources(self, items, kept: Content | None = None) -> Content:
        """The parts the `rollup` command reads prediction rows from (`rollup_sources.Source`s), with the store's
        identities: a local file by inode, size and mtime, an S3 object by URL, ETag, size and mtime, a Delta or
        Iceberg table's data files by name; each with its rows' time range: a Parquet file's footer statistics, a
        table file's, and a JSONL or CSV file's rows as the build types them (parsed once per build within
        `rollup_text.parsed_once`, so the build reads the pieces again, and once per file version: spans known
        from the kept record are not read again, `prime`). A local text log that only grew since `kept` (the
        build before: same inode, its first and last KiB then unchanged) gets the span of the rows appended
        since (`grown`), so a cron `rollup` over a live log rebuilds their hours, not every hour the log holds. Its
        files are known by identity, as the store's tailer knows them (`rollup_sources.text_files`): one renamed or
        copied by a rotation is the file it was (only the rows appended to it before count as new), so is one
        compressed holding the same lines (`_compressed`), and one gone from the log since (a rotated file deleted)
        is `retired`: its hours stay as built, its rows having existed."""
        from console import rollup_sources as src
        from console.sources import lakes
        from console.store import mapped_parquet

        parts: dict = {}
        marks: dict = {}
        grown: dict = {}
        files: dict = {}
        retired: set = set()
        for s in items:
            if getattr(s, "fields", ()):  # the names its rows were read under: another mapping, other rows
                parts[("predictions", f"{s.path}#fields", json.dumps(s.fields), 0, 0)] = EVERY
            if s.format in FILE_MARKS:
                spans: dict = {}
                ts = mapped_parquet.time_column(getattr(s, "fields", ()))  # a table's own ts column
                if s.format == "delta":
                    lakes.delta_dataset(s.path, s.storage, spans=spans, time_column=ts)
                else:
                    lakes.iceberg_dataset(s.path, dict(s.options), s.storage, spans=spans, time_column=ts)
                parts.update({("predictions", f"{s.path}#{f}", FILE_MARKS[s.format], 0, 0): span
                              for f, span in spans.items()})
                continue
            carried: set = set()
            came: dict = {}  # a file -> the kept file it was found as (None: none)
            for key, kind, read, text, cursor in src.files_of(s):
                was = tuple(cursor.carry) if cursor is not None and cursor.carry else None
                came[key] = was
                zipped = text is None and cursor is not None  # a local log's compressed file (`p.jsonl.2.gz`)
                if zipped:
                    mark = kept.marks.get(key) if kept is not None and key in kept.files else _inflated_marks(key[1])
                    same = _compressed(kept, key, was, mark)
                    if same is not None and was in self._spans:  # compressed alone: the same rows
                        self._spans.setdefault(key, self._spans[was])
                elif was is not None and was[3:] == key[3:] and was in self._spans:  # renamed alone: the same rows
                    self._spans.setdefault(key, self._spans[was])
                span = self._spans.get(key)
                if span is None:
                    span = self._spans[key] = _span_of(kind, read)
                parts[key] = span
                if zipped:
                    if mark is not None:  # found again by identity next time, retired when deleted
                        marks[key], files[key] = tuple(mark), (cursor.dev, cursor.fmt, s.path)
                        carried.add(was)
                    if same is not None:
                        grown[key] = same
                    continue
                mark = _marks(key[1], key[3]) if text is not None else None
                if mark is not None:
                    marks[key] = mark
                    if cursor is not None:
                        files[key] = (cursor.dev, cursor.fmt, s.path)
                        carried.add(was)
                    grew = _followed(kept, key, was, text) if was is not None else _grew(kept, key, text)
                    if grew is not None:
                        grown[key] = grew
            if kept is not None:  # its files the build before read, gone from the log since: not found by identity,
                # nor under their name on their inode (rewritten in place) by a file not found as another kept one
                # (deleted, and a rotation's new file took the freed inode and the name: `p.jsonl.2.gz` again)
                held = {k[1:3] for k in parts if k in files and files[k][2] == s.path
                        and (k not in came or came[k] is None or came[k][2] == k[2])}
                retired |= {k for k, f in kept.files.items()
                            if f[2] == s.path and k not in carried and k not in parts and k[1:3] not in held}
        return Content(parts, marks, grown, files, frozenset(retired))


def _span_of(kind: str, read) -> tuple:
    """A file's span: its Parquet footer's statistics (`read` gives the footer facts), or the rows of a text
    file as the build types them (`read` gives its pieces)."""
    from console.rollup_text import _span

    if kind == "parquet":
        got = read()
        return EVERY if got is None else got
    lo = hi = None
    for t in read():
        a, b, timed = _span(t)
        if not timed:
            return EVERY
        lo = a if lo is None or (a is not None and a < lo) else lo
        hi = b if hi is None or (b is not None and b > hi) else hi
    return (lo, hi) if lo is not None else EMPTY


def _marks(path: str, size: int) -> tuple[str, str] | None:
    """(sha1 of the first KiB, sha1 of the KiB ending at `size`) of a local text log; None when unreadable."""
    try:
        with open(path, "rb", buffering=0) as fh:
            head = fh.read(min(_MARK, size))
            fh.seek(max(0, size - _MARK))
            tail = fh.read(size - max(0, size - _MARK))
    except OSError:
        return None
    return hashlib.sha1(head).hexdigest(), hashlib.sha1(tail).hexdigest()


def _grew(kept: Content | None, key: tuple, text) -> tuple[tuple, tuple] | None:
    """(the identity `kept` knew this log by, the span of the rows appended since), when the log only grew: the
    same inode, more bytes, and the bytes it held then still there (its first KiB and the KiB that ended it, as
    `marks` kept them); else None (rewritten, truncated and regrown, or unknown: its hours are rebuilt whole)."""
    if kept is None:
        return None
    for old, mark in kept.marks.items():
        if old[1] != key[1] or old[2] != key[2] or not 0 <= old[3] < key[3] or old == key:
            continue
        now = _marks(key[1], old[3])
        if now is None or now != tuple(mark):
            return None
        tables = text.appended(old[3])
        if tables is None:
            return None
        span = _span_of("text", lambda: tables)
        return old, span
    return None


def _followed(kept: Content | None, key: tuple, old: tuple, text) -> tuple[tuple, tuple] | None:
    """(`old`, the span of the rows appended since) for a text log file found by identity as the one `kept` knew as
    `old` (`sources.files.log_files`: the same inode or a copytruncate's copy, its first KiB and the KiB that ended it
    then still there): renamed alone (the same size and mtime) it holds nothing new; grown, its appended rows are read
    alone. None otherwise (a file of the same size written again: its hours are rebuilt)."""
    if kept is None or old not in kept.parts or old == key:
        return None
    if key[3] == old[3] and key[4] == old[4]:
        return old, EMPTY
    if key[3] <= old[3]:
        return None
    tables = text.appended(old[3])
    return None if tables is None else (old, _span_of("text", lambda: tables))


def _inflated_marks(path: str) -> tuple[str, str, int] | None:
    """(sha1 of the first KiB, sha1 of the last KiB, length) of a compressed log's content, streamed once (a rotated
    day may be gigabytes); None when unreadable or corrupt (its hours are then rebuilt as a new file's)."""
    from console.sources.compressed import Inflated

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        stream, at, head, tail = Inflated(fd), 0, b"", b""
        while data := stream.read(at, 1 << 20):
            head = head or data[:_MARK]
            tail = (tail + data)[-_MARK:]
            at += len(data)
    except OSError:
        return None
    finally:
        os.close(fd)
    if stream.error is not None or not stream.complete:
        return None
    return hashlib.sha1(head).hexdigest(), hashlib.sha1(tail).hexdigest(), at


def _compressed(kept: Content | None, key: tuple, old: tuple | None, mark: tuple | None) -> tuple[tuple, tuple] | None:
    """(`old`, EMPTY) for a compressed file found by identity as the one `kept` knew as `old` (logrotate's `compress`:
    `p.jsonl.1` -> `p.jsonl.2.gz`) whose content is that file's, whole and no more: the same rows under a new
    identity, no hour to rebuild. None otherwise (rows appended before it was compressed: its hours are rebuilt as a
    new file's)."""
    if mark is None or kept is None or old is None or old == key or old not in kept.marks:
        return None
    then = kept.marks[old]
    size = then[2] if len(then) > 2 else old[3]  # a compressed file's content length; a plain file's is its size
    return (old, EMPTY) if (mark[0], mark[1], mark[2]) == (then[0], then[1], size) else None


def known(kept: Content | None, path: str) -> dict:
    """The files of the log at `path` the build before read, as the tailer's cursors (`sources.files.FileCursor`):
    each found again by identity wherever it went (`rollup_sources.text_files`), carrying the identity it was
    kept under (`carry`)."""
    from console.sources.files import FileCursor, key_of

    out = {}
    for key, (dev, fmt, log) in (kept.files.items() if kept is not None else ()):
        if log != path or key not in kept.marks:
            continue
        head, tail, *length = kept.marks[key]  # (a compressed file's: its content's length too)
        end = length[0] if length else key[3]
        out[key_of(dev, key[2])] = FileCursor(path=key[1], dev=dev, ino=key[2], fp_len=min(_MARK, end), fp=head,
                                              offset=end, line_no=0, size=key[3], mtime_ns=key[4], tail_fp=tail,
                                              fmt=fmt, carry=list(key))
    return out


def hours(spans: list[tuple] | None, start: datetime, end: datetime) -> list[datetime]:
    """The hours of [start, end) that parts of these time ranges may hold rows of (every one for None: a part
    that may hold any hour). The ranges are merged first: a Delta table compacted (every file replaced) costs the
    hours it covers, not hours times files."""
    if spans is None:
        spans = [(start, end - _HOUR)]
    merged: list[list[datetime]] = []
    for lo, hi in sorted((_floor(lo), hi) for lo, hi in spans):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    out = []
    for lo, hi in merged:  # disjoint, each starting on an hour: no hour twice
        h = max(lo, start)
        while h < end and h <= hi:
            out.append(h)
            h += _HOUR
    return out


def gone(kept_spans: list | None, before: Content | None, after: Content) -> list[tuple] | None:
    """The time ranges of the text log files deleted since a build read them (a rotated file logrotate's `rotate N`
    removed: `after.retired`, their spans as `before` kept them), with those of earlier deletions (`kept_spans`).
    The store keeps the rows it read from such a file, the files there are no longer hold them: an hour of these
    ranges built again from the files would lose them. Merged by hour, so a log rotated daily for a year keeps a
    range per stretch of hours, not a part per file; None when one may hold any hour (rows of no readable time)."""
    if kept_spans is None:
        return None
    spans = list(kept_spans)
    for key in after.retired:
        span = before.parts.get(key, EMPTY) if before is not None else EMPTY
        if span == EVERY:
            return None
        if span != EMPTY:
            spans.append(span)
    merged: list[list[datetime]] = []
    for lo, hi in sorted((_floor(lo), _floor(hi)) for lo, hi in spans):
        if merged and lo <= merged[-1][1] + _HOUR:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def encode_spans(spans: list[tuple] | None) -> list:
    """`gone` as JSON values (["every"] for None)."""
    return ["every"] if spans is None else [[lo.isoformat(), hi.isoformat()] for lo, hi in spans]


def decode_spans(kept: object) -> list[tuple] | None:
    """`encode_spans` read back; none kept (a folder built before they were) is no range."""
    if kept == ["every"]:
        return None
    try:
        return [(datetime.fromisoformat(lo), datetime.fromisoformat(hi)) for lo, hi in kept or ()]
    except (TypeError, ValueError):
        return None  # unreadable: any hour may be one


def changed_hours(before: Content | None, after: Content, start: datetime,
                  end: datetime) -> dict[datetime, str]:
    """The hours of [start, end) built from `before` that `after` may hold other rows for, each with why:
    "rewritten" (a file rewritten in place, a table's data file replaced or deleted: `Content.rewritten`), else
    "appended" (rows appended to a text log: `Content.appended`), else "added" (files added: `Content.changed`),
    else "removed" (files deleted). None before: nothing is known to have changed."""
    if before is None or before == after:
        return {}
    out = dict.fromkeys(hours(before.changed(after, "removed"), start, end), "removed")
    out.update(dict.fromkeys(hours(before.changed(after, "added"), start, end), "added"))
    out.update(dict.fromkeys(hours(before.appended(after), start, end), "appended"))
    out.update(dict.fromkeys(hours(before.rewritten(after), start, end), "rewritten"))
    return out


_HOUR = timedelta(hours=1)
_MARK = 1024


def _floor(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def _identity(kind: str, path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError:
        return (kind, path, None)
    return (kind, path, st.st_ino, st.st_size, st.st_mtime_ns)


# ------------------------------------------------------------------------- kept between processes


def encode(content: Content) -> list | None:
    """The content as JSON values; None when a part's identity says nothing outside this process (a lake
    table's refresh count, a refresh's pull, a file that could not be stat'ed)."""
    out = []
    for key, span in content.parts.items():
        if len(key) != 5 or key[2] is None:
            return None
        lo, hi = span
        out.append([*key, *(t.isoformat() if isinstance(t, datetime) else t for t in (lo, hi)),
                    *([list(content.marks[key])] if key in content.marks else []),
                    *([list(content.files[key])] if key in content.files and key in content.marks else [])])
    return sorted(out, key=repr)


def decode(parts: list) -> Content:
    def when(t):
        return datetime.fromisoformat(t) if isinstance(t, str) and t != "empty" else t

    return Content({tuple(p[:5]): (when(p[5]), when(p[6])) for p in parts},
                   {tuple(p[:5]): tuple(p[7]) for p in parts if len(p) > 7},
                   files={tuple(p[:5]): tuple(p[8]) for p in parts if len(p) > 8})


def prime(versions: Versions, content: Content) -> None:
    """Footer time ranges known from a kept record: the files with the same identity are not opened again."""
    for key, span in content.parts.items():
        if key[0] == "predictions":
            versions._spans.setdefault(key, span)
