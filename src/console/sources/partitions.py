"""What a folder's name says about time, and which names a glob can still reach.

Log folders carry their time in the path: Hive (`date=2026-11-30/`, `dt=2026-11-30/hour=05/`,
`year=2026/month=11/day=30/`) or SageMaker data capture (`.../2026/11/30/05/`). Reading that lets a listing
skip a whole day or hour of objects without asking the store for them, which on S3 is most of the cost.
A folder that says nothing about time is never skipped.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

DATE_KEYS = {"date", "dt", "ds", "day_date", "event_date", "partition_date", "log_date"}
YEAR_KEYS = {"year", "yyyy", "y"}
MONTH_KEYS = {"month", "mm", "m", "mon"}
DAY_KEYS = {"day", "dd", "d"}
HOUR_KEYS = {"hour", "hh", "hr", "h"}

_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})(?:[T _-](\d{2})(?:(?::|%3A)\d{2})*)?Z?")


def _valid(y, m=1, d=1, h=0) -> bool:
    try:
        datetime(y, m, d, h)
    except ValueError:
        return False
    return 1970 <= y <= 2999


def time_parts(segments: list[str]) -> dict[str, int]:
    """Year/month/day/hour named by these folder names (outermost first); {} when none."""
    parts: dict[str, int] = {}
    bare = 0  # position in a bare yyyy/mm/dd/hh run (SageMaker), 0 = not in one
    for seg in segments:
        if "=" in seg:
            bare = 0
            key, _, value = seg.partition("=")
            key = key.lower()
            if key in DATE_KEYS:
                m = _DATE.fullmatch(value)
                if m and _valid(int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0)):
                    parts.update(year=int(m[1]), month=int(m[2]), day=int(m[3]))
                    if m[4]:
                        parts["hour"] = int(m[4])
                continue
            if not value.isdigit():
                continue
            for keys, name in ((YEAR_KEYS, "year"), (MONTH_KEYS, "month"), (DAY_KEYS, "day"), (HOUR_KEYS, "hour")):
                if key in keys:
                    parts[name] = int(value)
            continue
        if not seg.isdigit():
            bare = 0
            continue
        if bare == 0 and len(seg) == 4 and 1970 <= int(seg) <= 2999:
            parts = {"year": int(seg)}
            bare = 1
        elif bare in (1, 2, 3) and len(seg) == 2:
            parts[("month", "day", "hour")[bare - 1]] = int(seg)
            bare += 1
        else:
            bare = 0
    return parts


def time_range(segments: list[str]) -> tuple[datetime, datetime] | None:
    """[start, end) of the period these folders hold (naive UTC), or None when they do not say."""
    p = time_parts(segments)
    if "year" not in p:
        return None
    y, m, d, h = p["year"], p.get("month"), p.get("day"), p.get("hour")
    if m is None:
        d = h = None
    elif d is None:
        h = None
    if not _valid(y, m or 1, d or 1, h or 0):
        return None
    start = datetime(y, m or 1, d or 1, h or 0)
    if h is not None:
        return start, start + timedelta(hours=1)
    if d is not None:
        return start, start + timedelta(days=1)
    if m is not None:
        return start, datetime(y + (m == 12), m % 12 + 1, 1)
    return start, datetime(y + 1, 1, 1)


def outside(rng, since: datetime | None, until: datetime | None) -> bool:
    """The period holds no instant of [since, until]."""
    if rng is None:
        return False
    start, end = rng
    return (since is not None and end <= since) or (until is not None and start > until)


def inside(rng, since: datetime | None, until: datetime | None) -> bool:
    """Every instant of the period is in [since, until] (so nothing below it can be skipped)."""
    if since is None and until is None:
        return True
    if rng is None:
        return False
    start, end = rng
    return (since is None or start >= since) and (until is None or end <= until)


GLOB_CHARS = re.compile(r"[*?\[]")


def _segment_regex(seg: str) -> str:
    out, i = [], 0
    while i < len(seg):
        c = seg[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = seg.find("]", i + 2)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = seg[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


class Glob:
    """A path glob relative to a location's root: `*`, `?`, `[...]` within a name, `**` across folders."""

    def __init__(self, pattern: str | None):
        self.pattern = pattern
        self.segments = [s for s in (pattern or "").split("/") if s]
        if not self.segments:
            self.regex = None
            return
        rx = ""
        for i, seg in enumerate(self.segments):
            last = i == len(self.segments) - 1
            if seg == "**":
                rx += ".*" if last else "(?:[^/]+/)*"
            else:
                rx += _segment_regex(seg) + ("" if last else "/")
        self.regex = re.compile(rx)
        self._seg_rx = [None if s == "**" else re.compile(_segment_regex(s)) for s in self.segments]

    def match(self, rel: str) -> bool:
        """A file (path relative to the root) is wanted. Without a pattern: every file not hidden."""
        if self.regex is None:
            return not any(part.startswith((".", "_")) for part in rel.split("/"))
        return self.regex.fullmatch(rel) is not None

    def may_contain(self, rel_dir_parts: list[str]) -> bool:
        """Some file below this folder can match."""
        if self.regex is None:
            return not any(part.startswith((".", "_")) for part in rel_dir_parts)
        for i, part in enumerate(rel_dir_parts):
            if i >= len(self._seg_rx):
                return False
            rx = self._seg_rx[i]
            if rx is None:
                return True
            if i == len(self._seg_rx) - 1 or not rx.fullmatch(part):
                return False
        return True
