"""Text from logs and the registry is data: it becomes `rich.text.Text`, never markup.

Control and bidi characters (an ESC that would clear the screen, a bell, a carriage return, U+202E)
are shown as visible escapes instead of reaching the terminal: `console.safe_text.printable`, the
one sanitizer the CLI uses too.
"""

from __future__ import annotations

from rich.text import Text

from console.safe_text import printable

__all__ = ["printable", "safe"]


def safe(value: object, style: str = "") -> Text:
    return Text(printable(value), style=style, no_wrap=True, overflow="ellipsis")


def error_text(exc: BaseException) -> str:
    """An exception as an operator reads it: the console's own errors are phrased for the operator ("registry
    ... is unreachable"), and a class name before them ("RegistryUnavailable: ...") was noise; anything else is
    a fault, where the class name helps (KeyError: 'x')."""
    if type(exc).__module__.startswith("console.") and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
