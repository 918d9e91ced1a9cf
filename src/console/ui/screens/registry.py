"""Models (`:models`): every registered model and MLflow 3 prompt, with aliases, latest version, last change.

enter opens the model's versions (and lineage). The list follows the app's registry check (every
15 s while polling) and is read again on `r`. Names, aliases and descriptions are data: `safe()`.
Also home of small formatting helpers the registry, rollout and audit screens share.
"""

from __future__ import annotations

from datetime import datetime, timezone

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from console.ui.navigation import register_screen
from console.ui.screens.base import ConsoleScreen
from console.ui.text import printable, safe
from console.ui.widgets import Col, FilterTable

ALIAS_ORDER = ("champion", "canary", "shadow", "blue", "green", "challenger")


# ---------------------------------------------------------------------------------------- helpers


def when(value) -> str:
    """A timestamp as `MM-DD HH:MM` (UTC): datetimes, ISO strings ("...Z") or epoch ms."""
    dt = as_datetime(value)
    return f"{dt:%m-%d %H:%M}" if dt else "-"


def as_datetime(value) -> datetime | None:
    """UTC, naive (for sorting mixed sources)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)):
        dt = datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    else:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt


def vtext(version) -> str:
    return f"v{printable(version)}" if version not in (None, "") else "-"


def alias_rank(alias: str) -> tuple[int, str]:
    from console.aliases import parse_alias

    env, role = parse_alias(alias)
    return (0 if env == "production" else 1, env, ALIAS_ORDER.index(role) if role in ALIAS_ORDER else 99, alias)


def aliases_text(aliases: dict[str, str]) -> Text:
    """`champion=v3 canary=v4`, production first; each alias and version is data."""
    out = Text(no_wrap=True, overflow="ellipsis")
    for i, alias in enumerate(sorted(aliases, key=alias_rank)):
        if i:
            out.append(" ")
        out.append_text(safe(alias, style="bold" if alias == "champion" else ""))
        out.append("=")
        out.append_text(safe(vtext(aliases[alias])))
    return out


def status_line(*parts) -> Text:
    out = Text(no_wrap=True, overflow="ellipsis")
    for i, part in enumerate(p for p in parts if p not in (None, "")):
        if i:
            out.append("  ")
        out.append_text(part if isinstance(part, Text) else Text(str(part)))
    return out


# ---------------------------------------------------------------------------------------- the screen


class ModelsScreen(ConsoleScreen):
    SCREEN_NAME = "models"
    SCREEN_TITLE = "Models"
    DEFAULT_CSS = """
    ModelsScreen #models-status { height: 1; padding: 0 1; }
    """
    BINDINGS = [Binding("enter", "open", "Versions", id="models.open")]
    COLUMNS = [
        Col("name", "NAME", width=24, wide_width=40),
        Col("kind", "KIND", width=6),
        Col("aliases", "ALIASES", width=20, wide_width=44),
        Col("latest", "LATEST", width=6),
        Col("changed", "CHANGED", width=11),
        Col("description", "DESCRIPTION", width=40, min_width=120, wide_width=60),
    ]

    def __init__(self, model: str | None = None, environment: str | None = None, **kwargs):
        super().__init__(None, None, **kwargs)
        self.models: dict[str, object] = {}
        self.state = None

    def compose_body(self) -> ComposeResult:
        yield Static("reading the registry...", id="models-status")
        yield FilterTable(self.COLUMNS, id="registry-models")

    @property
    def table(self) -> FilterTable:
        return self.query_one("#registry-models", FilterTable)

    def on_mount(self) -> None:
        self.focus_table()
        self.watch(self.app, "registry", self._registry_changed)
        self.load()

    def load(self) -> None:
        # (asked while a read runs: read once more when it lands, `read`: a refresh after a registration showed
        # the models read before it until the next one)
        self.read("models", lambda svc: svc.registry_state(max_age_s=5))

    def _registry_changed(self, state) -> None:
        if state is not None and state.status != "connecting":
            self.show_state(state)

    def handle_result(self, tag: str, result) -> None:
        if tag == "models":
            self.show_state(result)

    def show_state(self, state) -> None:
        self.state = state
        self.models = {m.name: m for m in state.models}
        self.table.set_rows((name, _cells(m)) for name, m in self.models.items())
        status = Text("registry ", style="bold")
        if state.ok:
            status.append("ok")
            prompts = sum(1 for m in state.models if m.is_prompt)
            status.append(f"  {len(state.models) - prompts} models, {prompts} prompts")
            if state.checked_at:
                status.append(f"  checked {state.checked_at:%H:%M:%S}Z", style="dim")
        else:
            status.append(f"{printable(state.status).upper()}", style="bold reverse")
            status.append(" ")
            status.append_text(safe(state.message[:80]))
        self.query_one("#models-status", Static).update(status)

    def show_snapshot(self, snap) -> None:
        if snap.registry is not None and snap.registry.status == "ok" and snap.registry.models \
                and snap.registry is not self.state:
            self.show_state(snap.registry)

    # ------------------------------------------------------------------ navigation

    def selected_model(self):
        key = self.table.selected_key
        return self.models.get(key) if key else None

    def context(self):
        m = self.selected_model()
        return (m.name, None) if m is not None else None

    def selected_id(self) -> str | None:
        m = self.selected_model()
        return m.name if m is not None else None

    def action_open(self) -> None:
        m = self.selected_model()
        if m is None:
            self.app.notify("no model selected", severity="warning")
            return
        self.app.open_screen("versions", m.name, None)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def commands(self):
        out = [("Reload the registry", self.load, "read the model list again")]
        m = self.selected_model()
        if m is not None:
            out.insert(0, (f"Versions of {m.name}", self.action_open, "versions and lineage of the selected model"))
        return out


def _cells(m) -> list:
    kind = Text("PROMPT", style="bold reverse") if m.is_prompt else Text("model", style="dim")
    return [safe(m.name, style="bold"), kind, aliases_text(m.aliases), safe(vtext(m.latest_version)),
            Text(when(m.last_updated)), safe(m.description.splitlines()[0] if m.description else "")]


register_screen("models", "Models", ModelsScreen, help="registered models and prompts in the registry", order=10)
