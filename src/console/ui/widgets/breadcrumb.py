"""The one-line header: where you are (`Overview > fraud-detector > Drift`), the workspace, a PROD badge.

The badge is words in reverse video, not a colour, so it survives NO_COLOR and 16-colour terminals.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from console.ui.text import safe
from console.ui.widgets.sparkline import glyph


def crumb_text(crumbs: Sequence[str], production: bool = False, workspace: str | None = None,
               read_only: bool = False) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis")
    if production:
        line.append(" PROD ", style="bold reverse")
        line.append(" ")
    sep = f" {glyph('›', '>')} "
    for i, crumb in enumerate(crumbs):
        if i:
            line.append(sep, style="dim")
        line.append_text(safe(crumb, style="bold" if i == len(crumbs) - 1 else ""))
    if read_only:
        line.append("  [read-only]", style="italic")
    if workspace is not None:
        line.append("  @ ", style="dim")
        line.append_text(safe(workspace, style="dim"))
    return line


def time_text(when: datetime | None, live: bool) -> Text:
    if when is None:
        return Text("")
    if live:
        return Text(f"{when:%Y-%m-%d %H:%M:%S}Z ", style="dim")
    return Text(f" AT {when:%Y-%m-%d %H:%M}Z (not live, l: live) ", style="bold reverse")


class Breadcrumb(Static):
    DEFAULT_CSS = """
    Breadcrumb { height: 1; width: 1fr; background: $primary-muted; color: $foreground; }
    Breadcrumb.-production { background: $error-muted; }
    """

    def show(self, crumbs: Sequence[str], production: bool = False, workspace: str | None = None,
             read_only: bool = False, when: datetime | None = None, live: bool = True) -> None:
        """`when`: the view's time, shown at the right (so every screenshot carries it); not live, it is
        `AT 2026-07-04 12:00 (not live)` in reverse video."""
        text = crumb_text(crumbs, production, workspace, read_only)
        right = time_text(when, live)
        width = self.size.width or (self.app.size.width if self.is_attached else 80)
        if right.plain:
            room = width - len(right.plain) - 1
            if text.cell_len > room:
                text.truncate(max(room, 0), overflow="ellipsis")
            text.append(" " * max(1, width - text.cell_len - len(right.plain)))
            text.append_text(right)
        self.set_class(production, "-production")
        if getattr(self, "_last", None) != text:
            self._last = text
            self.update(text, layout=False)  # always one row: skip the layout pass (a full repaint)
