"""Sparklines for table cells: a rich `Text` of block glyphs, ASCII on terminals that cannot draw them.

Shape carries the meaning (no colour needed), so it reads the same in 16 colours and under NO_COLOR.
"""

from __future__ import annotations

import locale
import math
import os
import sys
from collections.abc import Sequence
from functools import cache

from rich.text import Text

BLOCKS = "▁▂▃▄▅▆▇█"
ASCII = "_.-~=+*#"  # eight levels, low to high, all 7-bit
ASCII_TERMS = ("vt100", "vt102", "vt220", "linux", "dumb", "ansi")


@cache
def unicode_ok() -> bool:
    """False on a vt100-class terminal or a non-UTF-8 locale; MLOPS_CONSOLE_ASCII=1 forces ASCII."""
    forced = os.environ.get("MLOPS_CONSOLE_ASCII")
    if forced is not None:
        return forced.strip().lower() in ("0", "", "no", "false")
    term = os.environ.get("TERM", "").lower()
    if term.split("-")[0] in ASCII_TERMS:
        return False
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = os.environ.get(var)
        if value:
            return "utf-8" in value.lower() or "utf8" in value.lower()
    enc = getattr(sys.stdout, "encoding", None) or locale.getpreferredencoding(False)
    return "utf" in (enc or "").lower()


def glyph(unicode_char: str, ascii_char: str, ascii: bool | None = None) -> str:
    """`unicode_char`, or `ascii_char` where the terminal cannot draw it."""
    use_ascii = (not unicode_ok()) if ascii is None else ascii
    return ascii_char if use_ascii else unicode_char


def resample(values: Sequence[float | None], width: int) -> list[float | None]:
    """`values` squeezed (bucket means) or kept to at most `width` points; gaps stay None."""
    vals = list(values)
    if width <= 0:
        return []
    if len(vals) <= width:
        return vals
    out: list[float | None] = []
    for i in range(width):
        lo, hi = i * len(vals) // width, (i + 1) * len(vals) // width
        bucket = [v for v in vals[lo:max(hi, lo + 1)] if _finite(v)]
        out.append(sum(bucket) / len(bucket) if bucket else None)
    return out


def _finite(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def levels(values: Sequence[float | None], n: int, lo: float | None = None, hi: float | None = None) -> list[int | None]:
    """Each value as a level 0..n-1 between lo and hi (default: the data's min and max)."""
    finite = [float(v) for v in values if _finite(v)]
    if not finite:
        return [None] * len(values)
    lo = min(finite) if lo is None else lo
    hi = max(finite) if hi is None else hi
    out: list[int | None] = []
    for v in values:
        if not _finite(v):
            out.append(None)
        elif hi <= lo:
            out.append(0 if hi == 0 else n // 2)
        else:
            out.append(max(0, min(n - 1, round((float(v) - lo) / (hi - lo) * (n - 1)))))
    return out


def sparkline(values: Sequence[float | None], width: int | None = None, *, ascii: bool | None = None,
              style: str = "", lo: float | None = None, hi: float | None = None,
              justify: str = "left") -> Text:
    """A one-line chart of `values` (oldest first), `width` cells at most; missing points are blank.

    `lo`/`hi` pin the scale (e.g. lo=0 for traffic) so rows of a table compare; `ascii` forces a glyph set.
    """
    use_ascii = (not unicode_ok()) if ascii is None else ascii
    chars = ASCII if use_ascii else BLOCKS
    vals = resample(values, width if width is not None else len(values))
    text = "".join(" " if lv is None else chars[lv] for lv in levels(vals, len(chars), lo, hi))
    if width is not None and justify == "right":
        text = text.rjust(width)
    return Text(text, style=style, no_wrap=True, overflow="crop")
