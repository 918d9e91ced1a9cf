"""Shown instead of a screen's body when the terminal is below the floor (60x15), so nothing draws garbage."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

MIN_WIDTH, MIN_HEIGHT = 60, 15


def too_small_text(width: int, height: int) -> Text:
    return Text(f"terminal too small (need {MIN_WIDTH}x{MIN_HEIGHT}, have {width}x{height})\nq quits",
                style="bold", justify="center")


class TooSmall(Static):
    """Hidden unless the screen has the `-too-small` class (set by ConsoleScreen on resize)."""

    DEFAULT_CSS = """
    TooSmall { display: none; width: 1fr; height: 1fr; content-align: center middle; }
    """

    def show_size(self, width: int, height: int) -> None:
        self.update(too_small_text(width, height))
