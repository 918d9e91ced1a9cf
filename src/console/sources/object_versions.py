"""What is new in a text object written again under its key.

S3 has no append: a writer that adds rows to `logs/2026/12/06/part.jsonl` uploads the whole object again, and the
listing shows a new ETag (and size, LastModified) under the same key. Its rows were once named in a note and never
read. Each object's lines as read (inflated, without a BOM; a CSV's header apart) are remembered by a digest and
their length: a new version whose first that many bytes digest the same only grew, and only the bytes after them
are read; any other version is a different object, read whole, as a local file replaced is (the rows of the one
before stay counted). Exact where a local file's fingerprint samples KiBs: the new version is read whole either
way, the price of an object store without ranges of a version's own.
"""

from __future__ import annotations

import hashlib


def _digest(header: str | None, body: bytes, n: int) -> str:
    h = hashlib.sha256(b"\x00" if header is None else b"\x01" + header.encode("utf-8", "surrogatepass") + b"\n")
    h.update(memoryview(body)[:n])
    return h.hexdigest()[:32]


def mark(header: str | None, body: bytes) -> dict:
    """What a cursor keeps of one version read: its lines' digest and length (with the header, for CSV)."""
    return {"sha": _digest(header, body, len(body)), "len": len(body)}


def unread_from(before: dict, header: str | None, body: bytes) -> int | None:
    """The byte offset in `body` where lines not read yet start: the old length when this version starts with the
    lines read before (same header), None when it is another object or what was read is not known (a cursor
    written before versions were marked)."""
    n = before.get("len")
    if not isinstance(n, int) or not isinstance(before.get("sha"), str) or n > len(body):
        return None
    return n if before["sha"] == _digest(header, body, n) else None
