"""Finding log files and reading only their complete new lines (placeholder: identity by path).

The tailer never changes the state it was given: it hands out chunks with the cursor each one
leads to, and the caller commits those cursors with the rows they cover.
"""

from __future__ import annotations

import glob
import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace

FP_BYTES = 1024


@dataclass
class FileCursor:
    path: str
    dev: int = 0
    ino: int = 0
    fp_len: int = 0
    fp: str = ""
    offset: int = 0
    line_no: int = 0
    header: str | None = None
    pending_size: int = -1
    pending_since: float | None = None
    carry: object = None
    gone_since: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FileCursor":
        return cls(**d)


@dataclass
class Chunk:
    key: str
    path: str
    first_line: int
    body: bytes
    rejected: list[tuple[int, str, str]]
    header: str | None
    cursor: FileCursor
    start_of_file: bool


class Tailer:
    def __init__(self, state: dict[str, FileCursor], *, grace_s: float = 30.0, wall=time.time,
                 max_chunk_bytes: int = 64 << 20, csv_headers: bool = False):
        self._old = state
        self._new = {k: replace(v) for k, v in state.items()}
        self.grace_s, self.wall, self.max_chunk_bytes, self.csv_headers = grace_s, wall, max_chunk_bytes, csv_headers
        self.notes: list[str] = []
        self.missing: list[str] = []

    def state_after(self) -> dict[str, FileCursor]:
        return self._new

    def scan(self, patterns: list[str]) -> Iterator[Chunk]:
        for pattern in patterns:
            paths = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else (
                [pattern] if os.path.exists(pattern) else [])
            if not paths:
                self.missing.append(pattern)
            for path in paths:
                if not os.path.isfile(path):
                    self.notes.append(f"{path}: matched the pattern but is not a file")
                    continue
                try:
                    yield from self._read(path)
                except OSError as exc:
                    self.notes.append(f"{path}: unreadable: {exc.strerror or exc}")

    def _read(self, path: str) -> Iterator[Chunk]:
        st = os.stat(path)
        cur = self._new.get(path) or FileCursor(path, st.st_dev, st.st_ino)
        if st.st_size < cur.offset:
            self.notes.append(f"{path}: truncated, reading from the start")
            cur = FileCursor(path, st.st_dev, st.st_ino)
        if st.st_size == cur.offset and cur.pending_size < 0:
            self._new[path] = cur
            return
        with open(path, "rb") as fh:
            while True:
                fh.seek(cur.offset)
                data = fh.read(min(st.st_size - cur.offset, self.max_chunk_bytes))
                if not data:
                    break
                start = cur.offset == 0
                cur = replace(cur)
                end = data.rfind(b"\n") + 1
                body, tail = data[:end], data[end:]
                rejected: list[tuple[int, str, str]] = []
                header = cur.header
                first = cur.line_no + 1
                if self.csv_headers and header is None and body:
                    nl = body.index(b"\n") + 1
                    header = body[:nl].decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r\n")
                    body = body[nl:]
                    cur.offset += nl
                    cur.line_no += 1
                    first += 1
                    cur.header = header
                cur.offset += len(body)
                cur.line_no += body.count(b"\n")
                if tail and cur.offset + len(tail) >= st.st_size:
                    now = self.wall()
                    size = cur.offset + len(tail)
                    if cur.pending_size != size:
                        cur.pending_size, cur.pending_since = size, now
                    elif now - (cur.pending_since or now) >= self.grace_s:
                        rejected.append((cur.line_no + 1, "truncated last line (no newline)",
                                         tail[:300].decode("utf-8", "replace")))
                        cur.offset += len(tail)
                        cur.line_no += 1
                        cur.pending_size, cur.pending_since = -1, None
                else:
                    cur.pending_size, cur.pending_since = -1, None
                if not cur.fp:
                    with open(path, "rb") as f2:
                        head = f2.read(FP_BYTES)
                    cur.fp_len, cur.fp = len(head), hashlib.sha1(head).hexdigest()
                self._new[path] = cur
                yield Chunk(path, path, first, body, rejected, header, cur, start)
                if not body and not rejected:
                    break
