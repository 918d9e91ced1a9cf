"""A lone CR (classic Mac OS's line end) read as a line end, as LF and CRLF are, in JSON-lines logs.

A log whose writer ended some rows with `\\r` alone read those rows as one malformed line ("invalid JSON"): every
reader splits on LF. Each CR not followed by LF becomes LF, byte for byte, so offsets, sizes and cursors hold and
a CRLF is untouched (its CR is stripped as it always was). JSON escapes a CR inside a string, so a raw one in a row
is whitespace only between tokens; a row broken by one across lines is not a JSON line either way. CSV is left
alone: a quoted field may hold a CR of its own.
"""

from __future__ import annotations

import re

_LONE_CR = re.compile(rb"\r(?!\n)")


def lone_cr_as_lf(data: bytes) -> bytes:
    """`data` with every CR not followed by LF replaced by LF (the same length). A CR that is the last byte counts as
    a line end: the tailer reads a piece to its last LF, so only the end of what a writer has written so far ends
    in one, and a writer writes a CRLF in one go (split, its LF reads as a blank line)."""
    return _LONE_CR.sub(b"\n", data) if b"\r" in data else data
