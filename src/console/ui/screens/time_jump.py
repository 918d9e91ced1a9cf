"""`@`: jump the view to a time (the time cursor of issue 8). Dismisses with the text typed, or None."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class TimeJump(ModalScreen):
    DEFAULT_CSS = """
    TimeJump { align: center middle; }
    TimeJump > #jump-box { width: 100%; max-width: 64; height: auto; border: thick $accent;
                           background: $surface; padding: 0 1; }
    TimeJump Input { width: 100%; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="jump.cancel")]
    AUTO_FOCUS = "#jump-at"

    def __init__(self, current: str = "") -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="jump-box"):
            head = Text("View the console as of a time (UTC)\n", style="bold")
            head.append("2026-07-04 12:00, 2026-07-04T12:00:00Z, 'latest' (the newest row) or 'live'; esc cancels")
            yield Static(head)
            yield Input(self.current, placeholder="YYYY-MM-DD HH:MM", id="jump-at", compact=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
