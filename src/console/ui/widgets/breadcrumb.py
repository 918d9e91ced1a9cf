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
               read_only: bool = False, marker: str = "[read-only]") -> Text:
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
        line.append(f"  {marker}", style="italic")
    if workspace is not None:
        line.append("  @ ", style="dim")
        line.append_text(safe(workspace, style="dim"))
    return line


def fitted(crumbs: Sequence[str], production: bool, workspace: str | None, read_only: bool, room: int) -> Text:
    """`crumb_text` in `room` cells, giving up the least telling part first: the workspace, then the middle
    crumbs (a long model name), down to a few characters each, then the read-only marker's words (`[ro]`); the
    screen's own name (the last crumb) stays. Cut from its end, a past view's header at 80 columns lost which
    screen it was (`Overview › support-assistant …`) and the `[read-only]` marker (thirtieth session's TUI
    probe)."""
    text = crumb_text(crumbs, production, workspace, read_only)
    if text.cell_len <= room:
        return text
    for marker in ("[read-only]", "[ro]") if read_only else ("",):
        parts = list(crumbs)
        text = crumb_text(parts, production, None, read_only, marker)
        while text.cell_len > room:
            middle = [i for i in range(len(parts) - 1) if len(parts[i]) > 3]
            if not middle:
                break
            i = max(middle, key=lambda j: len(parts[j]))
            parts[i] = parts[i][:max(2, len(parts[i]) - (text.cell_len - room) - 1)] + "…"
            text = crumb_text(parts, production, None, read_only, marker)
        if text.cell_len <= room:
            break
    return text


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
        right = time_text(when, live)
        width = self.size.width or (self.app.size.width if self.is_attached else 80)
        room = width - len(right.plain) - 1 if right.plain else width
        text = fitted(crumbs, production, workspace, read_only, room)
        if right.plain:
            if text.cell_len > room:
                text.truncate(max(room, 0), overflow="ellipsis")
            text.append(" " * max(1, width - text.cell_len - len(right.plain)))
            text.append_text(right)
        self.set_class(production, "-production")
        if getattr(self, "_last", None) != text:
            self._last = text
            self.update(text, layout=False)  # always one row: skip the layout pass (a full repaint)
