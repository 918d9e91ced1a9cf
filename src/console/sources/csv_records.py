"""Where CSV records end, when a quoted field may hold line breaks (RFC 4180: an LLM prompt logged as CSV).

One rule, used by the tailer (how far a file holds complete records) and by the store's CSV parser (which
lines make one record), so the two always agree. A line with an odd number of quote characters opens a
quoted field that runs on to the next such line, if that comes within `MAX_RECORD_BYTES` bytes: those lines
are one record if they read as one under RFC 4180's strict rules (a closing quote is followed by a comma or
the line end) with as many fields as the header. Otherwise, or if no such line comes that soon, the opening
line is a broken row on its own (an unbalanced quote costs only its line and never glues the rows after it),
and the next odd line is looked at afresh. While
the data ends before `OPEN_RECORD_LINES` lines have followed, the record is open: its writer may still be writing
the field, so the tailer waits for it as for a partial line (and, once its grace is over, hands the lines
on, where the opening one is set aside alone).

Escaped quotes (`""`) count twice, so they never change a line's parity. The scan is NumPy's over the
bytes; only the lines with an odd count are looked at one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.csv_header import DELIMITERS, delimiter_of, fields_of  # noqa: F401 - re-exported

# Bytes one record may span, whatever its line count: an LLM prompt and answer logged by a CSV writer, with as many
# line breaks as they hold (a bound in lines, 128, refused a long prompt line by line). The bound keeps a quote left
# open by a broken writer from gluing megabytes of rows into one. The tailer's pieces are larger (64 MiB).
MAX_RECORD_BYTES = 8 << 20
# While the data ends inside a quoted field opened fewer than this many lines before, the record may still be being
# written, and the tailer waits for it (for the grace). Past it, the opening line is taken as a broken quote, so one
# left open by a broken writer holds back only these lines of the rows after it. A writer writes a row whole (one
# write call, flushed at once past its buffer), so a complete long record is seldom seen half written.
OPEN_RECORD_LINES = 128


def _long_fields() -> None:
    """Python's csv module refuses a field over 128 KiB ("field larger than field limit"): records up to
    MAX_RECORD_BYTES are read by it too (here and in the store's line-by-line parser), so its limit is raised
    to that once, for this process, never lowered."""
    import csv

    if csv.field_size_limit() < MAX_RECORD_BYTES:
        csv.field_size_limit(MAX_RECORD_BYTES)


_long_fields()


@dataclass
class Split:
    """The records of some whole lines. `starts`: byte offset of each record, then the end; `lines`: the index
    (from 0) of each record's first line; `broken`: indexes (into the records) of lines that opened a quote
    never closed; `open_at`: byte offset of a record still open at the end (None: every record is complete)."""

    starts: list[int]
    lines: list[int]
    broken: set[int]
    open_at: int | None


def split(data: bytes, fields: int | None = None, final: bool = True, delimiter: str = ",") -> Split | None:
    """The records of `data` (whole lines, starting at a record's start); None when every line is a record of
    its own (no line has an odd count of quotes: the common case, found with one pass over the bytes).
    `fields`: the header's count (None: not known). `final`: nothing more will follow, so a record still
    open is taken as its opening line, broken."""
    import numpy as np

    arr = np.frombuffer(data, np.uint8)
    quotes = np.flatnonzero(arr == 0x22)
    if not quotes.size:
        return None
    ends = np.flatnonzero(arr == 0x0A)
    n = len(ends) + (1 if not len(ends) or ends[-1] != len(data) - 1 else 0)  # a last line without newline counts
    # quotes before each line end (one search per line, not per quote), then per line
    before = np.searchsorted(quotes, ends[:n])
    per_line = np.diff(np.concatenate(([0], before, [quotes.size] if n > len(ends) else [])))
    odd = np.flatnonzero(per_line % 2).tolist()
    if not odd:
        return None
    line_start = np.concatenate(([0], ends[:n - 1] + 1)).tolist()
    joined: list[tuple[int, int]] = []  # (first, last) line of each record of several lines
    broken_lines: list[int] = []
    open_line = None
    k = 0
    while k < len(odd):
        i = odd[k]
        j = odd[k + 1] if k + 1 < len(odd) else None
        stop = (line_start[j + 1] if j + 1 < n else len(data)) if j is not None else None
        if j is not None and stop - line_start[i] <= MAX_RECORD_BYTES and \
                _one_record(data[line_start[i]:stop], fields, delimiter):
            joined.append((i, j))
            k += 2
            continue
        if j is None and n - 1 - i < OPEN_RECORD_LINES - 1 and len(data) - line_start[i] < MAX_RECORD_BYTES \
                and not final:
            open_line = i  # a closing line may still come
            break
        broken_lines.append(i)
        k += 1
    keep = np.ones(n, bool)
    for i, j in joined:
        keep[i + 1:j + 1] = False
    if open_line is not None:
        keep[open_line:] = False
    first = np.flatnonzero(keep).tolist()
    index = {line: r for r, line in enumerate(first)}
    end = line_start[open_line] if open_line is not None else len(data)
    return Split(starts=[line_start[i] for i in first] + [end], lines=first,
                 broken={index[i] for i in broken_lines}, open_at=None if open_line is None else end)


def _one_record(raw: bytes, fields: int | None, delimiter: str = ",") -> bool:
    import csv
    import io

    try:
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8", "replace"), newline=""), strict=True,
                               delimiter=delimiter))
    except csv.Error:
        return False
    return len(rows) == 1 and (fields is None or len(rows[0]) == fields)


def complete(data: bytes, fields: int | None = None, delimiter: str = ",") -> int:
    """How many bytes of `data` (whole lines, from a record's start) are complete records; the rest is a
    record whose quoted field may still be being written."""
    got = split(data, fields, final=False, delimiter=delimiter)
    return len(data) if got is None or got.open_at is None else got.open_at
