"""The store's commit point: one small file naming every segment and every read cursor.

Segments are written first, under fresh names, and made durable; then the manifest that names them is
committed. So the rows and the cursors that cover them commit together: a crash or a failed refresh before
the commit leaves the previous manifest, whose cursors re-read what was lost.

The manifest file holds two fixed-size slots, written in place in turn: a commit overwrites the slot that
does not hold the newest manifest (a header with a sequence number, the length and a CRC-32, then the JSON)
and `fdatasync`s it. A reader takes the valid slot with the higher sequence number, so a slot torn by a crash
(or being written while it is read) is passed over for the previous commit. Overwriting blocks already
allocated changes no metadata the data needs, so the commit waits for no filesystem journal commit: on ext4
a live refresh's manifest and folder fsyncs (two journal commits, each waiting for every other process's
pending writes) become one data flush. The file is created, or grown when a manifest outgrows its slot,
by writing a whole new file and renaming it over the old one (the folder fsynced), as every commit was
before; that is rare (each growth doubles the slots).

A store written by earlier versions has `manifest.json` (one JSON document, replaced by rename): it is read
when there is no slot file, and the first commit writes the slot file and removes it.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

FORMAT = 2  # of the JSON document (unchanged by the slots around it)
KINDS = ("predictions", "labels", "deployments", "malformed")
NAME = "manifest.slots"
LEGACY = "manifest.json"  # the one-document manifest of earlier versions
_HEAD = struct.Struct("<8sQII")  # magic, sequence number, payload length, CRC-32 of the rest of the slot
_MAGIC = b"MLCMAN01"
_MIN_SLOT = 64 << 10  # bytes; a multiple of the page size, so the two slots never share a page (or a sector)


@dataclass
class Manifest:
    generation: int = 0
    segments: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})  # kind -> names
    cursors: dict[str, dict] = field(default_factory=dict)  # source id -> its read state (file cursors, objects seen, a poll)
    sources: str = ""  # fingerprint of the configured sources the rows came from
    retired: list[list] = field(default_factory=list)  # [name, when]: merged away, deleted once no reader needs them
    format: int = FORMAT

    @classmethod
    def load(cls, path: Path) -> "Manifest":
        """The newest committed manifest in the slot file `path` (or, with none, an earlier version's
        `manifest.json` beside it); an empty one for a new store."""
        for _ in range(5):  # both slots unreadable at once: a reader that met two commits in a row; read again
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                try:
                    return cls._from(json.loads(path.with_name(LEGACY).read_text(encoding="utf-8")))
                except FileNotFoundError:
                    if not path.exists():  # else the first commit of this version replaced it meanwhile
                        return cls()
                    continue
            try:
                found = _newest(fd)
            finally:
                os.close(fd)
            if found is not None:
                return cls._from(json.loads(found[2]))
        raise ValueError(f"{path}: no valid manifest in either slot")

    @classmethod
    def _from(cls, data: dict) -> "Manifest":
        if data.get("format") != FORMAT:
            return cls()
        m = cls(**data)
        for k in KINDS:
            m.segments.setdefault(k, [])
        return m

    def _text(self) -> str:
        """The manifest as JSON, in one call of the C encoder: `json.dump` to a file runs Python's own encoder,
        and `asdict` deep-copies every cursor first (together 4-5 ms of a live refresh's ~100 ms of CPU).
        Cursors are plain dicts by contract; anything else goes the general way."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # shallow: what asdict gives, uncopied
        try:
            return json.dumps(data, separators=(",", ":"))
        except TypeError:
            return json.dumps(asdict(self), separators=(",", ":"))

    def save(self, path: Path) -> None:
        """Commits this manifest to the slot file `path` (the caller holds the writer lock): into the slot not
        holding the newest valid commit, in place, then one `fdatasync`. Raises if the commit failed; a commit
        whose slot write was started may still reach the disk (the slot is marked invalid again, but that mark
        may not), so a caller keeps the files such a manifest names."""
        payload = self._text().encode()
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            fd = None
        if fd is None:  # a new store, or one of an earlier version
            _new_file(path, _record(1, payload))
            path.with_name(LEGACY).unlink(missing_ok=True)
            return
        try:
            # the slots as they are on disk, checked as a reader checks them: a torn slot with a higher number
            # than the valid one must be the one overwritten (~0.1 ms)
            newest = _newest(fd)
            seq, slot = (newest[0], newest[1]) if newest is not None else (0, 1)
            record = _record(seq + 1, payload)
            size = os.fstat(fd).st_size // 2
            if size >= _MIN_SLOT and len(record) <= size:
                _commit_slot(fd, (1 - slot) * size, record)
                return
        finally:
            os.close(fd)
        _new_file(path, record)  # the slots are too small for it: a new file with larger ones


def _record(seq: int, payload: bytes) -> bytes:
    head = _HEAD.pack(_MAGIC, seq, len(payload), 0)
    crc = zlib.crc32(payload, zlib.crc32(head[:16]))
    return _HEAD.pack(_MAGIC, seq, len(payload), crc) + payload


def _read_slot(fd: int, offset: int, size: int) -> tuple[int, bytes] | None:
    """(sequence number, manifest JSON) of the slot at `offset`, or None if it is empty, torn or damaged."""
    head = os.pread(fd, _HEAD.size, offset)
    if len(head) < _HEAD.size:
        return None
    magic, seq, length, crc = _HEAD.unpack(head)
    if magic != _MAGIC or _HEAD.size + length > size:
        return None
    payload = os.pread(fd, length, offset + _HEAD.size)
    if len(payload) != length or zlib.crc32(payload, zlib.crc32(head[:16])) != crc:
        return None
    return seq, payload


def _newest(fd: int) -> tuple[int, int, bytes] | None:
    """(sequence number, slot, JSON) of the newest valid slot, or None."""
    size = os.fstat(fd).st_size // 2
    found = [(got[0], slot, got[1]) for slot in (0, 1) if (got := _read_slot(fd, slot * size, size)) is not None]
    return max(found, key=lambda f: f[0]) if found else None


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def write_slot(fd: int, offset: int, record: bytes) -> None:
    """One slot written in place and flushed to the disk (a name of its own: the tests make it fail)."""
    _pwrite_all(fd, record, offset)
    os.fdatasync(fd)


def _commit_slot(fd: int, offset: int, record: bytes) -> None:
    try:
        write_slot(fd, offset, record)
    except BaseException:
        try:  # what the failed write left must not read as a commit (it is not one), here and in other readers
            os.pwrite(fd, bytes(_HEAD.size), offset)
        except OSError:
            pass
        raise


def _new_file(path: Path, record: bytes) -> None:
    """A slot file holding `record` in slot 0, replacing `path` by rename, with room for twice its size: the
    blocks are written (zeros), not only reserved, so later commits overwrite allocated blocks."""
    slot = _MIN_SLOT
    while slot < 2 * len(record):
        slot *= 2
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            _pwrite_all(fd, record + bytes(2 * slot - len(record)), 0)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
