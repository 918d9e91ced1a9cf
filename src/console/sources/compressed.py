"""Compressed logs, gzip (logrotate's `compress`, Firehose's GZIP objects), zstd (logrotate with `compresscmd zstd`,
Vector's and Fluent Bit's S3 sinks), bzip2 or xz (`compresscmd bzip2` / `xz`): their decompressed bytes.

A compressed log is read as the lines it holds. Offsets and fingerprints are taken on those lines, not on the
compressed bytes, so a file compressed after it was rotated (`p.jsonl.1` -> `p.jsonl.1.gz`, the original
then deleted) is the same file to the tailer, read on from where it stood: nothing lost, nothing read twice.

Decompression is streamed 64 KiB of input at a time (a rotated day may be gigabytes), member after
member (concatenated gzip files or zstd frames are one stream, as `zcat` and `zstdcat` read them), each member's
codec known by its magic bytes (bzip2 and xz from the standard library). A stream that stops short (the
compressor still writing) gives what it holds so far; corrupt data ends the content where it starts, with a
reason. zstd comes from `zstandard` (imported when a zstd member is met; Python 3.11 has no zstd of its own).
"""

from __future__ import annotations

import bz2
import lzma
import os
import zlib
from collections.abc import Callable

MAGIC = b"\x1f\x8b"  # gzip
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CODECS = {MAGIC: "gzip", ZSTD_MAGIC: "zstd", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz"}  # by a member's first bytes
SUFFIXES = (".gz", ".zst", ".zstd", ".bz2", ".xz")
# compressed bytes fed at a time: zlib drops a call's output when it finds damage, so this bounds what a corrupt
# spot costs beyond itself (about 5x as much content)
_RAW_STEP = 1 << 16


def named(path: str) -> bool:
    """A compressed log by its name: the tailer knows files by name before it opens them."""
    return path.lower().endswith(SUFFIXES)


def original(path: str) -> str:
    """The name a compressed file had before it was compressed (`p.jsonl.1.gz` -> `p.jsonl.1`)."""
    low = path.lower()
    return next((path[:-len(s)] for s in SUFFIXES if low.endswith(s)), path)


def magic(body: bytes) -> bool:
    """Whether bytes start as compressed data this reads (an object's name need not say so)."""
    return body.startswith(tuple(CODECS))


class Inflated:
    """The decompressed bytes of a compressed file, read forward from an open descriptor (or any `source` of its
    compressed bytes, b"" once there are no more for now). `read(at, n)` may go back within the bytes it returned
    last (the tailer re-reads a cut line's start), never before them."""

    def __init__(self, fd: int = -1, source: Callable[[], bytes] | None = None):
        self._fd = fd
        self._raw = 0  # compressed bytes taken from the file
        self._input = source or self._pread
        self._d = None  # a member's decompressor (zlib's or zstandard's, alike); None: between members
        self._codec = "gzip"
        self._spare = b""  # compressed bytes after the last member's end
        self._buf = b""  # decompressed bytes from content offset _at
        self._at = 0
        self.exhausted = False  # nothing more can be read now (complete, cut short or corrupt)
        self.complete = False  # every member ended, and the file with the last one
        self.error: str | None = None  # why the content ends before the file does

    def _pread(self) -> bytes:
        data = os.pread(self._fd, _RAW_STEP, self._raw)
        self._raw += len(data)
        return data

    def _more(self, want: int) -> bytes:
        parts: list[bytes] = []
        got = 0
        while got < want and not self.exhausted:
            if self._d is None:  # a member starts here, if anything does (`zcat` reads concatenated files)
                data, self._spare = self._spare or self._input(), b""
                if not data:
                    self.complete = self.exhausted = True
                    break
                if not data.strip(b"\0"):  # (gzip itself ignores trailing zeros)
                    continue
                if any(len(data) < len(m) and m.startswith(data) for m in CODECS):
                    self.exhausted = True  # a member's first bytes, the rest still being written
                    break
                self._codec = next((c for m, c in CODECS.items() if data.startswith(m)), "gzip")
                self._d = _decompressor(self._codec)
            else:
                data = self._d.unconsumed_tail or self._input()
                if not data:  # cut short: a writer still at work, or a file that ends mid-stream
                    self.exhausted = True
                    break
            try:  # (only zlib's takes a bound: another's step output, ~1 MB at a log's ratio, is kept whole)
                out = self._d.decompress(data, want - got) if self._codec == "gzip" else self._d.decompress(data)
            except Exception as exc:  # noqa: BLE001 - zlib.error, zstandard.ZstdError, OSError (bz2), LZMAError
                self.error = f"corrupt {self._codec} data after {self._at + len(self._buf) + got:,} bytes ({exc})"
                self.exhausted = True
                break
            parts.append(out)
            got += len(out)
            if self._d.eof:
                self._spare, self._d = self._d.unused_data, None
        return b"".join(parts)

    def read(self, at: int, n: int) -> bytes:
        """Up to n bytes of content from offset `at`; fewer only where the content ends (for now)."""
        if at < self._at:
            raise ValueError("a compressed stream is read forward")
        while self._at + len(self._buf) < at and not self.exhausted:  # skipped: read before, by an earlier scan
            skip = at - self._at - len(self._buf)
            self._at += len(self._buf)
            self._buf = self._more(min(skip, _RAW_STEP * 8))
        self._buf = self._buf[at - self._at:] if at - self._at < len(self._buf) else b""
        self._at = at
        if len(self._buf) < n:
            self._buf += self._more(n - len(self._buf))
        return self._buf[:n]


def head(path: str, n: int) -> tuple[bytes, bool]:
    """The first n bytes of a compressed file's content, and whether the content is known to end there or before
    (complete, or corrupt: nothing more will come). Raises OSError as `open` does."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        stream = Inflated(fd)
        data = stream.read(0, n)
        if len(data) == n:
            return data, False
        return data, stream.complete or stream.error is not None
    finally:
        os.close(fd)


def inflate(body: bytes, limit: int | None = None) -> tuple[bytes, str | None]:
    """A whole object's content when it is compressed data (by its magic bytes), else the body as it is; with the
    reason it ends short, if it does. `limit`: at most this many bytes (a sample, which may end mid-stream)."""
    if not magic(body):
        return body, None
    stream = Inflated(source=_pieces(body).__next__)  # (in memory: fed a piece at a time all the same)
    data = stream.read(0, 1 << 62 if limit is None else limit)
    if stream.error or limit is not None:
        return data, stream.error
    return data, None if stream.complete else f"{stream._codec} data cut short"


def _decompressor(codec: str):
    if codec == "gzip":
        return zlib.decompressobj(31)
    if codec == "zstd":
        return _zstd().ZstdDecompressor().decompressobj()
    return _Whole(bz2.BZ2Decompressor() if codec == "bzip2" else lzma.LZMADecompressor(lzma.FORMAT_XZ))


class _Whole:
    """bz2's and lzma's decompressors as `Inflated` reads zlib's: each keeps the input it has not used inside, so
    it has no tail to hand back, and it is asked for all it can give."""

    unconsumed_tail = b""

    def __init__(self, d):
        self._d = d

    def decompress(self, data: bytes) -> bytes:
        return self._d.decompress(data)

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data


def _zstd():
    import zstandard

    return zstandard


def _pieces(body: bytes):
    for i in range(0, len(body), _RAW_STEP):
        yield body[i:i + _RAW_STEP]
    while True:
        yield b""
