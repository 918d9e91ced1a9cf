"""Quitting while an action runs: the console asks first (y leaves and records the action as interrupted)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from console.ui.text import safe


class QuitConfirm(ModalScreen):
    """Dismisses with True (quit anyway) or False (stay)."""

    AUTO_FOCUS = "#stay"
    DEFAULT_CSS = """
    QuitConfirm { align: center middle; }
    QuitConfirm > #quit-box { width: 100%; max-width: 70; height: auto; border: thick $error;
                              background: $surface; padding: 0 1; }
    QuitConfirm #quit-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    QuitConfirm #quit-buttons Button { margin-left: 2; min-width: 10; }
    """
    BINDINGS = [Binding("escape,n", "stay", "Stay", id="quit.stay"),
                Binding("y", "insist", "Quit anyway", id="quit.insist")]

    def __init__(self, running: list) -> None:
        super().__init__()
        self.running = running

    def compose(self) -> ComposeResult:
        text = Text("An action is running:\n", style="bold")
        for r in self.running:
            text.append(f"  {r.label} ")
            text.append_text(safe(r.model, style="bold"))
            text.append(" in ")
            text.append_text(safe(r.environment))
            text.append("\n")
        text.append("Quit anyway? It is recorded as interrupted and its lease released; check the registry.\n")
        text.append("y", style="bold")
        text.append(" quit anyway   ")
        text.append("n / esc", style="bold")
        text.append(" stay")
        with Vertical(id="quit-box"):
            yield Static(text)
            with Horizontal(id="quit-buttons"):
                yield Button("Stay", id="stay", compact=True)
                yield Button("Quit anyway", id="insist", variant="error", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "insist")

    def action_stay(self) -> None:
        self.dismiss(False)

    def action_insist(self) -> None:
        self.dismiss(True)
