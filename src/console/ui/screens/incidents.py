"""Incidents: every rule breach over the history, firing first, and for the selected one what changed
before it (deployments, alias moves, prompt changes), the first features to drift and the worst segment,
so triage starts from the cause.

Fleet-wide from the palette (`:incidents`, built without a model); filtered to one model when built with
one, as the model page does (`a` toggles between that model and all). `m` opens the model page of the selected incident;
`k` acknowledges the selected firing incident with a reason (`Service.acknowledge`, as `mlops-console ack` does).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from console.ui.navigation import register_screen
from console.ui.screens.ack_dialog import AckDialog
from console.ui.screens.model import MonitorScreen, duration, lasted, num, onset, severity, state, ts
from console.ui.text import printable, safe
from console.ui.widgets import Col, FilterTable


INSUFFICIENT = "insufficient data"  # analytics.evidence.INSUFFICIENT (the UI reads the service's findings only)


def status_cell(f) -> Text:
    """FIRING, resolved, or "too few" for a rule whose window lacks the rows or labels to say."""
    if f.firing and f.ack is not None:
        return Text("ACKED", style="bold")
    if f.firing:
        return state(True)
    if f.status == INSUFFICIENT:
        return Text("too few", style="italic")
    return state(False)


def evidence(f) -> str:
    """The rows or labels behind the verdict (the latest evaluation), or what is missing for one."""
    if f.evidence:
        return f.evidence
    return (f.detail or "").removeprefix("insufficient data: ") if f.status == INSUFFICIENT else ""


def where(f) -> str:
    if f.segment:
        return f"{f.segment.get('column')}={f.segment.get('value')}"
    return f.feature or ""


class IncidentsScreen(MonitorScreen):
    SCREEN_NAME = "incidents"
    SCREEN_TITLE = "Incidents"
    ERROR_TARGET = "#detail"
    DEFAULT_CSS = """
    IncidentsScreen #incidents { height: 1fr; min-height: 5; }
    IncidentsScreen #detail-box { height: 11; border-top: solid $primary-muted; padding: 0 1; }
    IncidentsScreen.-h-l #detail-box { height: 16; }
    IncidentsScreen #detail { text-wrap: wrap; }
    """
    BINDINGS = [
        Binding("m", "open_model", "Model page", id="incidents.model"),
        Binding("a", "toggle_all", "All/this model", id="incidents.all"),
        Binding("o", "onset", "Go to detection", id="incidents.onset"),
        Binding("k", "ack", "Acknowledge", id="incidents.ack"),
    ]

    def _ack_refused(self) -> str | None:
        """Why policy refuses an acknowledgement here (read-only mode, a role), as the service would say it."""
        from console.actions import catalog
        from console.ui.screens.action_flow import decide

        decision = decide(catalog.get("ack"), self.app.cfg, "production")
        return None if decision.allowed else decision.reason

    def hide_in_footer(self, binding) -> bool:
        """`k` leaves the footer where it is refused, as every refused action's key does (read-only mode offered
        it, opened the dialog and refused only the Enter); the key still says why."""
        if binding.action == "ack":
            return self._ack_refused() is not None
        return super().hide_in_footer(binding)

    def action_ack(self) -> None:
        """Acknowledge the selected firing incident with a reason (the `ack` command's path, audited)."""
        f = self.current()
        if f is None or not f.firing:
            self.app.notify("select a firing incident to acknowledge", severity="warning")
            return
        incident_id = f.id
        # refused without a dialog, by the service, which audits the refusal as the CLI's `ack` is: read-only or a
        # role, or an incident acknowledged already (the operator's one check, on the trail)
        if self._ack_refused() is not None or f.ack is not None:
            self.call_service("ack", lambda svc: svc.acknowledge(incident_id, ""))  # as the CLI's `ack` is
            return

        def done(reason: str | None) -> None:
            if reason:
                self.call_service("ack", lambda svc: svc.acknowledge(incident_id, reason))

        self.app.push_screen(AckDialog(f.id, f.rule, f.model), done)

    def _acked(self, result: Any) -> None:
        self.app.notify(printable(result.message), severity="information" if result.ok else "error")
        if result.ok:
            self.acks_seen += 1  # a new key for the findings read: the cached list predates the record
            self.refresh_data()

    def action_onset(self) -> None:
        """The time cursor to the selected incident's first breach (`Finding.first_listed`): every screen shows
        that moment, the incident listed with its onset in the window before it."""
        f = self.current()
        if f is None:
            self.app.notify("select an incident first", severity="warning")
            return
        self.app.jump_to_onset(f)
    COLUMNS = [
        Col("state", "STATE", width=8, priority=1),
        Col("sev", "SEV", width=4, priority=2),
        Col("model", "MODEL", width=14, wide_width=22, priority=4),
        Col("rule", "RULE", width=18, wide_width=30, priority=3, flex=True),
        Col("onset", "ONSET", width=11, priority=7),
        Col("for", "FOR", width=7, priority=8),
        Col("end", "END", width=11, priority=9),
        Col("what", "FEATURE/SEGMENT", width=16, wide_width=30, priority=6, flex=True),
        Col("evidence", "EVIDENCE", width=22, wide_width=48, priority=5, flex=True),
    ]

    def __init__(self, model: str | None = None, environment: str | None = None, *, select: str | None = None,
                 **kwargs):
        super().__init__(model, environment, **kwargs)
        self.scope = model  # the model the list is filtered to; None: the fleet
        self.select = select  # a finding id to put the cursor on when it first shows
        self.now: datetime | None = None
        self.findings: list = []
        self.by_id: dict = {}
        self.worst: dict[str, Any] = {}  # model -> WorstSegment | None (fetched when an incident is selected)
        self.acks_seen = 0  # acknowledgements made here (part of the findings read's cache key)

    def compose_body(self) -> ComposeResult:
        yield Static("", id="inc-head", classes="head")
        yield FilterTable(self.COLUMNS, id="incidents")
        with VerticalScroll(id="detail-box"):
            yield Static(Text("loading incidents...", style="dim"), id="detail")

    def refresh_data(self) -> None:
        acks = self.acks_seen
        self.fetch("findings", lambda svc: (svc.clock(), svc.findings(), acks)[:2], key=acks)
        current = self.current()
        if current is not None and "findings" in self.loaded:
            self._fetch_worst(current.model, force=True)

    def view_moved(self) -> None:
        """The time cursor moved: the list is the old view's (its durations, evidence, firing or not), and the
        new view's rule pass can take half a minute; it was shown under the new header all that while."""
        self.select = self.selected_id() or self.select  # the same incident is selected when the list is back
        self.findings, self.by_id, self.worst = [], {}, {}
        self.loaded.discard("findings")
        self.query_one("#incidents", FilterTable).set_rows([])
        self.query_one("#inc-head", Static).update(Text("evaluating the alert rules at the new time...", style="dim"))
        self._render_detail()

    def _fetch_worst(self, model: str, force: bool = False) -> None:
        if not force and model in self.worst:
            return
        env = "production"
        self.fetch("worst", lambda svc: (model, svc.fairness(model, environment=env)["worst"]), key=model)

    def show_waiting(self, waiting: dict[str, float]) -> None:
        if "findings" in waiting and "findings" not in self.loaded:
            head = Text(f"evaluating the alert rules over the history... {waiting['findings']:.1f} s", style="dim")
            self.query_one("#inc-head", Static).update(head)

    def show(self, tag: str, result: Any) -> None:
        if tag == "ack":
            self._acked(result)
        elif tag == "findings":
            self.now, self.findings = result
            self._render_list()
        elif tag == "worst":
            model, worst = result
            self.worst[model] = worst
            self._render_detail()

    def _visible(self) -> list:
        return [f for f in self.findings if self.scope is None or f.model == self.scope]

    def _render_list(self) -> None:
        shown = self._visible()
        self.by_id = {f.id: f for f in self.findings}
        firing = sum(1 for f in shown if f.firing)
        unknown = sum(1 for f in shown if f.status == INSUFFICIENT)
        scope = f"model {self.scope}" if self.scope else "all models"
        head = Text(no_wrap=True, overflow="ellipsis")
        acked = sum(1 for f in shown if f.firing and f.ack is not None)
        head.append(f"{firing} firing", style="bold reverse" if firing > acked else "")
        if acked:
            head.append(f" ({acked} acked)")
        head.append(f", {len(shown) - firing - unknown} resolved")
        head.append(f", {unknown} insufficient data  " if unknown else "  ")
        head.append_text(safe(scope, "dim"))
        if self.model:
            head.append("  (a: " + ("all models" if self.scope else f"only {printable(self.model)}") + ")",
                        style="dim")
        self.query_one("#inc-head", Static).update(head)
        table = self.query_one("#incidents", FilterTable)
        now = self.now
        table.set_rows((f.id, [
            status_cell(f), severity(f.severity), safe(f.model), safe(f.rule), safe(onset(f)),
            safe(lasted(f, f.end or now)), safe(ts(f.end) if f.end else "-"),
            safe(where(f)), safe(evidence(f), "dim" if f.status == INSUFFICIENT else "")]) for f in shown)
        if self.select and table.select_key(self.select):
            self.select = None
        self._render_detail()

    def current(self):
        key = self.query_one("#incidents", FilterTable).selected_key
        return self.by_id.get(key) if key else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        f = self.current()
        if f is not None:
            self._fetch_worst(f.model)
        self._render_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.query_one("#detail-box").focus()

    def _render_detail(self) -> None:
        f = self.current()
        detail = self.query_one("#detail", Static)
        if f is None:
            detail.update(Text("no incidents" if "findings" in self.loaded else "loading incidents...", style="dim"))
            return
        detail.update(incident_text(f, self.now, self.worst.get(f.model, ...)))

    # ------------------------------------------------------------------ keys

    def action_open_model(self) -> None:
        f = self.current()
        if f is None:
            self.app.notify("no incident selected", severity="warning")
            return
        self.open_screen("model", model=f.model, environment="production")

    def action_toggle_all(self) -> None:
        if not self.model:
            self.app.notify("already showing all models", severity="information")
            return
        self.scope = None if self.scope else self.model
        self._render_list()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_all":
            return bool(self.model)
        return super().check_action(action, parameters)

    def selected_id(self) -> str | None:
        f = self.current()
        return f.id if f is not None else None

    def commands(self):
        return [("Open the incident's model page", self.action_open_model, "model page of the selected incident")]


def incident_text(f, now: datetime | None, worst: Any = ...) -> Text:
    """The triage pane: what fired, then the suspects before onset, first drifted features, worst segment."""
    out = Text()

    def label(name: str) -> None:
        out.append(f"{name:<12}", style="bold")

    out.append_text(status_cell(f) if f.firing or f.status != INSUFFICIENT else Text(INSUFFICIENT, style="italic"))
    out.append(" ")
    out.append_text(severity(f.severity))
    out.append(" ")
    out.append_text(safe(f.rule, "bold"))
    out.append("  ")
    out.append_text(safe(f.model))
    end = f.end or now
    if f.status == INSUFFICIENT:
        out.append(f"  at {ts(f.onset)}: not enough evidence either way\n")
    else:
        began = f.began("%m-%d %H:%M")  # as `ts`
        since = f"since {began}" if f.firing else f"{began} to {ts(f.end)}"
        over = "over " if f.onset_before else ""
        out.append(f"  {since}" + (f" ({over}{duration(end - f.onset)})" if end else "") + "\n")
    label("RULE")
    out.append_text(safe(f.detail or f.kind))
    if f.value is not None:
        out.append(f"  peak {num(f.value, 3).plain}")
    out.append("\n")
    if f.ack is not None:
        label("ACKED")
        out.append_text(safe(f"by {f.ack.by} at {ts(f.ack.at)}: {f.ack.reason}"))
        out.append("\n")
    label("EVIDENCE")
    shown = evidence(f)
    if shown:
        out.append_text(safe(shown))
        if f.window:
            out.append(f"  (window {f.window})", style="dim")
    else:
        out.append("-", style="dim")
    out.append("\n")
    label("SUSPECTS")
    if not f.suspects:
        out.append("no deployment, alias or prompt change found before detection\n", style="dim")
    else:
        # "before onset" was said of changes the estimate placed after it too ("26m after the estimated onset"):
        # suspects are the changes up to detection, each placed against the onset in its own words
        out.append(f"{len(f.suspects)} change(s) before detection, latest first\n", style="dim")
        for s in sorted(f.suspects, key=lambda s: s.ts, reverse=True):
            out.append(f"  {ts(s.ts)} ")
            out.append_text(safe(f"{s.kind:<10}", "bold"))
            out.append(" ")
            out.append_text(safe(s.detail))
            out.append("\n")
    label("FIRST DRIFT")
    if f.first_drifted:
        out.append_text(safe(", ".join(f.first_drifted)))
    else:
        out.append("no feature drifted before onset", style="dim")
    out.append("\n")
    label("SEGMENT")
    if f.segment:
        out.append_text(safe(f"{f.segment.get('column')}={f.segment.get('value')}", "bold"))
        out.append("  (this incident is about the segment)")
    elif worst is ...:
        out.append("loading worst segment...", style="dim")
    elif worst is None:
        out.append("no segment stands out", style="dim")
    else:
        out.append_text(safe(f"{worst.column}={worst.group}", "bold"))
        out.append(f"  worst {worst.metric} {worst.value:.3f} (n {worst.n:,}, 7d)")
    return out


register_screen("incidents", "Incidents", IncidentsScreen, needs_model=False, order=15,
                help="firing and resolved incidents with their suspects (fleet-wide)")
