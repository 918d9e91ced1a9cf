"""The top-level column names of a Parquet file, from its footer, in plain Python.

Loading a configuration checks each reference file's columns (`config.check_files`); PyArrow would do it in
one call but costs 0.2-0.4 s to import (with NumPy), which a command answering from a kept answer
(`answer_memo`) otherwise never pays. The footer is Thrift's compact encoding of `FileMetaData`, whose second
field is the schema: a flattened tree of `SchemaElement`s (field 4 the name, field 5 the number of children).
Anything this reader does not expect (an encrypted footer, a malformed one) returns None, and the caller asks
PyArrow, so the answer is PyArrow's in every case but the plain one.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

_TAIL = 8
_MAX_FOOTER = 64 << 20


def names(path: Path) -> tuple[str, ...] | None:
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size < 12:
                return None
            fh.seek(size - _TAIL)
            tail = fh.read(_TAIL)
            if tail[4:] != b"PAR1":
                return None
            length = struct.unpack("<I", tail[:4])[0]
            if length <= 0 or length > min(size - 12, _MAX_FOOTER):
                return None
            fh.seek(size - _TAIL - length)
            meta = fh.read(length)
        return _Reader(meta).schema_names()
    except (OSError, IndexError, ValueError, struct.error, UnicodeDecodeError, RecursionError):
        return None


class _Reader:
    """Just enough of Thrift's compact protocol to walk `FileMetaData` to its schema."""

    def __init__(self, data: bytes):
        self.d, self.i = data, 0

    def byte(self) -> int:
        b = self.d[self.i]
        self.i += 1
        return b

    def varint(self) -> int:
        out, shift = 0, 0
        while True:
            b = self.byte()
            out |= (b & 0x7F) << shift
            if not b & 0x80:
                return out
            shift += 7
            if shift > 70:
                raise ValueError("varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def binary(self) -> bytes:
        n = self.varint()
        if n < 0 or self.i + n > len(self.d):
            raise ValueError("binary past the end")
        out = self.d[self.i:self.i + n]
        self.i += n
        return out

    def fields(self):
        """(field id, type) of each field of the struct at the cursor, until its stop byte."""
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return
            kind, delta = head & 0x0F, head >> 4
            last = last + delta if delta else self.zigzag()
            yield last, kind

    def skip(self, kind: int, depth: int = 0) -> None:
        if depth > 64:
            raise ValueError("nested too deep")
        if kind in (1, 2):  # booleans live in the field header
            return
        if kind == 3:
            self.i += 1
        elif kind in (4, 5, 6):
            self.varint()
        elif kind == 7:
            self.i += 8
        elif kind == 8:
            self.binary()
        elif kind in (9, 10):
            size, elem = self.list_header()
            for _ in range(size):
                self.skip_element(elem, depth + 1)
        elif kind == 11:
            size = self.varint()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.skip_element(types >> 4, depth + 1)
                    self.skip_element(types & 0x0F, depth + 1)
        elif kind == 12:
            for _, k in self.fields():
                self.skip(k, depth + 1)
        else:
            raise ValueError(f"unknown compact type {kind}")

    def skip_element(self, kind: int, depth: int) -> None:
        if kind in (1, 2):  # a boolean inside a list is a whole byte
            self.i += 1
        else:
            self.skip(kind, depth)

    def list_header(self) -> tuple[int, int]:
        head = self.byte()
        size = head >> 4
        if size == 15:
            size = self.varint()
        return size, head & 0x0F

    def schema_names(self) -> tuple[str, ...] | None:
        for fid, kind in self.fields():
            if fid != 2:
                self.skip(kind)
                continue
            if kind != 9:
                return None
            size, elem = self.list_header()
            if elem != 12:
                return None
            elements = []
            for _ in range(size):
                name, children = None, 0
                for f, k in self.fields():
                    if f == 4 and k == 8:
                        name = self.binary().decode("utf-8")
                    elif f == 5 and k == 5:
                        children = self.zigzag()
                    else:
                        self.skip(k)
                if name is None:
                    return None
                elements.append((name, children))
            return _top_level(elements)
        return None


def _top_level(elements: list[tuple[str, int]]) -> tuple[str, ...] | None:
    """The root's direct children, skipping each nested column's subtree."""
    if not elements:
        return None
    out, i = [], 1
    for _ in range(elements[0][1]):
        if i >= len(elements):
            return None
        out.append(elements[i][0])
        pending = elements[i][1]
        i += 1
        while pending:
            if i >= len(elements):
                return None
            pending += elements[i][1] - 1
            i += 1
    return tuple(out) if i == len(elements) else None
