"""`?`: every key that works on the screen below, then the global ones, read from the live bindings
(so remapped keys show their new key) with each binding's id (the name to use in `[keys]`)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from console.ui.screens.base import ConsoleScreen
from console.ui.text import safe
from console.ui.widgets.filter_table import Col, FilterTable

COLUMNS = [Col("scope", "SCOPE", width=8), Col("key", "KEY", width=12), Col("what", "WHAT", width=26),
           Col("id", "ID (for [keys])", width=22)]


def key_rows(app, screen) -> list[tuple[str, list[Text]]]:
    """(row key, [scope, key, description, id]) for every binding of `screen`: its own, its widgets' (those
    with an id or shown in the footer), then the app's. Keys come from the live chain, so remaps show."""
    rows: list[tuple[int, str, list[Text]]] = []
    seen: set[tuple[str, str]] = set()
    for node, bindings_map in screen._binding_chain:
        scope = "global" if node is app else ("screen" if node is screen else "widget")
        for key, bindings in bindings_map.key_to_bindings.items():
            for b in bindings:
                if b.system or key.startswith("super+"):
                    continue
                if scope == "widget" and not b.id and not b.show:
                    continue  # a widget's internal keys (cursor movement)
                if scope == "screen" and isinstance(screen, ConsoleScreen) and not screen.offers(b):
                    continue  # nothing to do in the screen's current state (x on an exact drift window)
                ident = (scope, b.id or f"{b.action}:{key}")
                if ident in seen:
                    continue
                seen.add(ident)
                rank = {"screen": 0, "widget": 1, "global": 2}[scope]
                rows.append((rank, f"{scope}:{key}:{b.id or b.action}", [
                    safe(scope), safe(app.get_key_display(b), style="bold"), safe(b.description or b.action),
                    safe(b.id or "-")]))
    rows.sort(key=lambda r: r[0])
    return [(key, cells) for _, key, cells in rows]


class HelpScreen(ConsoleScreen):
    SCREEN_NAME = "help"
    SCREEN_TITLE = "Help"
    BINDINGS = [Binding("question_mark", "close_help", "Close help", id="help.close", key_display="?")]

    def __init__(self, target: ConsoleScreen | None = None):
        super().__init__()
        self.target = target

    def compose_body(self) -> ComposeResult:
        yield Static(id="help-title")
        yield FilterTable(COLUMNS, id="keys")

    def on_mount(self) -> None:
        target = self.target or self.app.screen_stack[-2]
        title = Text("Keys for ", style="bold")
        title.append_text(safe(" > ".join(target.breadcrumbs()) if isinstance(target, ConsoleScreen) else "this screen"))
        rows = key_rows(self.app, target)
        keys = {cells[3].plain: cells[1].plain for _, cells in rows}  # binding id -> its key, as `[keys]` maps it
        title.append_text(safe(f"   {keys.get('filter', '/')} filters, {keys.get('back', 'esc')} goes back", style="dim"))
        self.query_one("#help-title", Static).update(title)
        self.query_one(FilterTable).set_rows(rows)
        self.focus_table()

    def action_close_help(self) -> None:
        self.dismiss()

    def selected_id(self) -> str | None:
        table = self.active_table()
        key = table.selected_key if table else None
        if key is None:
            return None
        return table.cells(key)[3].plain
