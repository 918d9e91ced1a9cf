"""The Overview: one row per model and environment, refreshed from the app's snapshot."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from console.ui.text import safe

COLUMNS = (("model", "MODEL"), ("env", "ENV"), ("champion", "CHAMP"), ("live", "LIVE"), ("rpm", "RPM"),
           ("p95", "P95ms"), ("err", "ERR%"), ("drift", "DRIFT"), ("cost", "COST"), ("alerts", "ALRT"))


class StatusBar(Static):
    """Workspace, registry status and the time of the last refresh: what an operator checks first."""


class OverviewScreen(Screen):
    BINDINGS = [Binding("enter", "open", "Open", id="overview.open", show=False)]

    def compose(self) -> ComposeResult:
        yield StatusBar("loading...", id="status")
        yield DataTable(id="models", cursor_type="row", zebra_stripes=False)
        yield Static("", id="notes")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.watch(self.app, "snapshot", self._render_snapshot)
        self.watch(self.app, "registry", lambda _: self._render_status())

    def _render_snapshot(self, snap) -> None:
        if snap is None:
            return
        table = self.query_one(DataTable)
        seen = set()
        for r in snap.rows:
            key = f"{r.name}\x00{r.environment}"
            seen.add(key)
            cells = _cells(r)
            if key in table.rows:
                for (col, _), value in zip(COLUMNS, cells):
                    table.update_cell(key, col, value)
            else:
                table.add_row(*cells, key=key)
        for key in [k.value for k in table.rows if k.value not in seen]:
            table.remove_row(key)
        self._render_status()

    def _render_status(self) -> None:
        snap, reg = self.app.snapshot, self.app.registry
        status = self.query_one("#status", StatusBar)
        line = Text()
        line.append(" workspace ", style="bold")
        line.append_text(safe(self.app.cfg.workspace))
        state = reg or (snap.registry if snap else None)
        line.append("  registry ", style="bold")
        if state is None or state.status == "connecting":
            line.append("connecting...")
        elif state.ok:
            line.append("ok")
        else:
            line.append(f"DEGRADED ({state.status}: ", style="bold reverse")
            line.append_text(safe(state.message[:60]))
            line.append(")")
        if snap is not None:
            line.append(f"  refreshed {snap.now:%H:%M:%S}Z")
            if snap.malformed:
                line.append(f"  malformed rows {snap.malformed}", style="bold")
        status.update(line)
        notes = []
        if snap is not None and not snap.logs_configured:
            notes.append("No logs are configured: traffic, latency, drift and cost panels are empty.")
        self.query_one("#notes", Static).update("\n".join(notes))


def _cells(r) -> list:
    env = safe(r.environment, style="bold" if r.production else "")
    if r.production:
        env = Text("*", style="bold") + env
    return [
        safe(r.name), env, safe(f"v{r.champion}" if r.champion else "-"), safe(r.live or "-"),
        Text(f"{r.rpm:.1f}", justify="right"),
        Text(f"{r.p95_latency_ms:.0f}" if r.p95_latency_ms is not None else "-", justify="right"),
        Text(f"{100 * r.error_rate:.1f}" if r.error_rate is not None else "-", justify="right"),
        safe(r.drift), Text(f"${r.cost_usd:,.0f}" if r.cost_usd is not None else "-", justify="right"),
        Text(str(r.alerts) if r.alerts else "-", justify="right", style="bold" if r.alerts else ""),
    ]
