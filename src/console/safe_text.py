"""Text from logs and the registry is data: before it reaches a terminal or a clipboard, every character
that could steer the terminal or reorder what the operator reads is spelled out instead.

One function for the CLI's text output, the TUI (through `ui/text.py`) and `y` (copy, OSC 52). JSON
output needs none of this: `json.dumps` escapes control characters itself, and with the default
`ensure_ascii=True` every non-ASCII character too, bidi controls included.
"""

from __future__ import annotations

import re

# C0 (minus \n and \t, handled below), DEL and C1 controls; bidi embeddings, overrides, isolates and marks;
# the line and paragraph separators some terminals honour; the characters that draw nothing and so hide or
# disguise text (zero-width spaces and joiners, the word joiner and invisible operators, the soft hyphen, the
# combining grapheme joiner, the Mongolian vowel separator, interlinear annotations, tag characters, Hangul
# fillers, BOM): `fraud\u2060-detector` printed as a second `fraud-detector`.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f"
                     "\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f]")


def _escape(m: re.Match) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(value: object) -> str:
    """The value as one line of inert characters: `\\x1b`, `\\u202e`, a newline as `\\n`, a tab as a space."""
    s = "" if value is None else str(value)
    s = s.replace("\n", "\\n").replace("\t", " ")
    return _UNSAFE.sub(_escape, s)


def printable_lines(value: object) -> str:
    """Like `printable`, but keeps line breaks: for multi-line text the console itself composed."""
    return "\n".join(printable(line) for line in ("" if value is None else str(value)).split("\n"))


def cells(text: str) -> int:
    """Terminal cells `text` takes: an emoji or a CJK character takes two (the padding counted characters, and
    each row holding one shifted its later columns)."""
    from rich.cells import cell_len

    return cell_len(text)


def pad(text: str, width: int) -> str:
    """`text` padded with spaces to `width` cells."""
    return text + " " * max(width - cells(text), 0)
