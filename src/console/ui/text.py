"""Text from logs and the registry is data: it becomes `rich.text.Text`, never markup.

Control characters (an ESC that would clear the screen, a bell, a carriage return) are shown as
visible escapes instead of reaching the terminal.
"""

from __future__ import annotations

import re

from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(value: object) -> str:
    """The value as one line of visible characters: control characters spelled out."""
    s = "" if value is None else str(value)
    s = s.replace("\n", "\\n").replace("\t", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


def safe(value: object, style: str = "") -> Text:
    return Text(printable(value), style=style, no_wrap=True, overflow="ellipsis")
