"""The command palette (ctrl+p, and `:` like k9s): every registered screen, every model, the actions here.

Labels are built as plain `Content` (never markup) because model names are data. Textual's own fuzzy
`Matcher.highlight` parses its input as markup, so we score with the matcher and highlight by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from console.ui.text import printable


@dataclass(frozen=True)
class Entry:
    label: str
    callback: Callable[[], object]
    help: str = ""
    group: str = ""  # "screen", "model", "action", "theme"


def entries(app, screen) -> list[Entry]:
    """Everything the palette offers when opened over `screen`."""
    from console.ui.navigation import screens

    out: list[Entry] = []
    for spec in screens():
        hint = spec.help + (" (for the selected model)" if spec.needs_model else "")
        out.append(Entry(f"{spec.title}  :{spec.name}", partial(app.open_screen, spec.name), hint, "screen"))
    snap = app.snapshot
    if snap is not None:
        for row in snap.rows:
            env = row.environment
            tag = " PROD" if row.production else ""
            out.append(Entry(f"model {printable(row.name)} ({printable(env)}){tag}",
                             partial(app.open_model, row.name, env), "open this model", "model"))
    getter = getattr(screen, "commands", None)
    if callable(getter):
        try:
            for label, callback, hint in getter():
                out.append(Entry(printable(label), callback, printable(hint), "action"))
        except Exception as exc:  # noqa: BLE001 - a screen's broken commands() must not break the palette
            app.notify(f"commands of this screen failed: {printable(exc)}", severity="error", markup=False)
    out += [
        Entry("Refresh now", app.action_refresh, "read new log rows and the registry", "action"),
        Entry("Help: keys", app.action_help, "every key of this screen and the global ones", "action"),
        Entry("Cycle theme", app.action_cycle_theme, "next theme", "action"),
        Entry("Screenshot (SVG)", app.action_screenshot, "save an SVG of this screen", "action"),
        Entry("Copy selected ID", app.action_copy_id, "OSC 52 clipboard", "action"),
        Entry("Quit", app.action_quit, "leave the console", "action"),
    ]
    for name in app.theme_names():
        out.append(Entry(f"theme {name}", partial(app.set_theme, name), "switch to this theme", "theme"))
    return out


def _highlight(label: str, offsets: tuple[int, ...], style: str) -> Content:
    content = Content(label)
    for offset in offsets:
        if 0 <= offset < len(label) and not label[offset].isspace():
            content = content.stylize(style, offset, offset + 1)
    return content


class ConsoleCommands(Provider):
    async def discover(self) -> Hits:
        for e in entries(self.app, self.screen):
            if e.group in ("screen", "model"):
                yield DiscoveryHit(Content(e.label), e.callback, text=e.label, help=Content(e.help))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query.lstrip(":"))
        for e in entries(self.app, self.screen):
            score = matcher.match(e.label)
            if score > 0:
                _, offsets = matcher.fuzzy_search.match(matcher.query, e.label)
                yield Hit(score, _highlight(e.label, offsets, "bold underline"), e.callback, text=e.label,
                          help=Content(e.help))
