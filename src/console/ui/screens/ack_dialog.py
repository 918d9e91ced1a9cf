"""`k` on the Incidents screen: the reason for acknowledging an incident. Dismisses with the reason, or None.

The dialog does no I/O: the screen sends the reason through the service (`Service.acknowledge`), the same
path as `mlops-console ack`, which records it in the audit trail."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from console.ui.text import safe


class AckDialog(ModalScreen):
    DEFAULT_CSS = """
    AckDialog { align: center middle; }
    AckDialog > #ack-box { width: 100%; max-width: 72; height: auto; border: thick $accent;
                           background: $surface; padding: 0 1; }
    AckDialog Input { width: 100%; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="ack.cancel")]
    AUTO_FOCUS = "#ack-reason"

    def __init__(self, incident_id: str, rule: str, model: str) -> None:
        super().__init__()
        self.incident_id, self.rule, self.model = incident_id, rule, model

    def compose(self) -> ComposeResult:
        with Vertical(id="ack-box"):
            head = Text("Acknowledge ", style="bold")
            head.append_text(safe(self.rule, "bold"))
            head.append(" on ")
            head.append_text(safe(self.model))
            head.append("\nRecorded in the audit trail with your name; `check` stops failing on it while it lasts. "
                        "Why is it accepted? (enter records, esc cancels)", style="dim")
            yield Static(head)
            yield Input(placeholder="reason", id="ack-reason", compact=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if not reason:
            self.app.notify("an acknowledgement needs a reason", severity="warning")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)
