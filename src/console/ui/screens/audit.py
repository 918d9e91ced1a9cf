"""Audit (`:audit`): the audit trail, newest first: when, actor, action, model, environment, from -> to,
outcome. An intent without an outcome (an action interrupted mid-way) is marked INCOMPLETE. `/` filters,
`v` verifies the hash chain (and the head file) and shows the verdict in the status line.

The trail is read again on every refresh tick, so an action taken in another console shows up.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from console.actions import audit
from console.analytics.windows import naive_utc
from console.ui.navigation import register_screen
from console.ui.screens.base import ConsoleScreen
from console.ui.screens.registry import as_datetime, when
from console.ui.text import printable, safe
from console.ui.widgets import Col, FilterTable

LIMIT = 2000  # the newest records shown


def load_audit(svc) -> dict[str, Any]:
    path = audit.default_path(svc.cfg)
    records = audit.read(path, limit=LIMIT)
    return {"path": str(path), "records": records, "incomplete": {r.get("action_id") for r in audit.incomplete(path)}}


def verify(svc) -> dict[str, Any]:
    path = audit.default_path(svc.cfg)
    return {"result": audit.verify(path), "incomplete": len(audit.incomplete(path))}


def outcome_cell(rec: dict, incomplete: set) -> Text:
    phase = rec.get("phase") or ""
    if phase == "intent":
        if rec.get("action_id") in incomplete:
            return Text("INCOMPLETE", style="bold reverse")
        return Text("intent", style="dim")
    outcome = str(rec.get("outcome") or phase or "-")
    if outcome in ("failed", "conflict", "refused"):
        return Text(printable(outcome).upper(), style="bold")
    return safe(outcome)


class AuditScreen(ConsoleScreen):
    SCREEN_NAME = "audit"
    SCREEN_TITLE = "Audit"
    DEFAULT_CSS = """
    AuditScreen #audit-status { height: auto; max-height: 2; padding: 0 1; }
    AuditScreen #audit-detail { height: auto; max-height: 4; padding: 0 1; border-top: solid $panel-lighten-2; }
    """
    BINDINGS = [Binding("v", "verify", "Verify chain", id="audit.verify")]
    COLUMNS = [
        Col("ts", "WHEN", width=11),
        Col("actor", "ACTOR", width=8, wide_width=16),
        Col("action", "ACTION", width=13, wide_width=14),
        Col("model", "MODEL", width=14, wide_width=28),
        Col("env", "ENV", width=10, min_width=100),
        Col("change", "FROM->TO", width=9),
        Col("outcome", "OUTCOME", width=10),
        Col("message", "MESSAGE / REASON", width=40, min_width=130, wide_width=70),
    ]

    def __init__(self, model: str | None = None, environment: str | None = None, **kwargs):
        super().__init__(model, None, **kwargs)  # opened from a model: that model's records only
        self.records: dict[str, dict] = {}
        self.incomplete: set = set()
        self.path = ""
        self.verdict = None  # audit.VerifyResult of the last `v`
        self.loaded = False
        self.after_view = 0  # records made after the end of a view of the past (dimmed, counted in the status)

    def compose_body(self) -> ComposeResult:
        yield Static("reading the audit trail...", id="audit-status")
        yield FilterTable(self.COLUMNS, id="audit")
        yield Static(id="audit-detail")

    @property
    def table(self) -> FilterTable:
        return self.query_one("#audit", FilterTable)

    def on_mount(self) -> None:
        self.focus_table()
        self.load()

    def load(self) -> None:
        self.read("audit", load_audit)  # (asked while a read runs: read again when it lands; it began before a record)

    def show_snapshot(self, snap) -> None:
        self.load()

    def handle_result(self, tag: str, result: Any) -> None:
        if tag == "audit":
            self.loaded = True
            self.path = result["path"]
            self.incomplete = result["incomplete"]
            self.records = {}
            rows = []
            # the trail is shown whole in a view of the past too (what was done since is worth seeing), but the
            # records made after the view's end are dimmed and counted: they were listed as if before it
            end = self.app.at
            self.after_view = 0
            for i, rec in enumerate(reversed(result["records"])):
                if self.model and rec.get("model") != self.model:
                    continue
                key = str(rec.get("hash") or f"line-{i}")
                if key in self.records:  # a duplicated line (tampering): keep both rows
                    key = f"{key}:{i}"
                self.records[key] = rec
                cells = self._cells(rec)
                t = as_datetime(rec.get("ts"))
                if end is not None and t is not None and t > naive_utc(end):
                    self.after_view += 1
                    for cell in cells:
                        cell.stylize("dim")
                rows.append((key, cells))
            self.table.set_rows(rows)
            self._render_status()
            self._render_detail()
        elif tag == "verify":
            self.verdict = result["result"]
            v = self.verdict
            extra = f"; {result['incomplete']} incomplete action(s)" if result["incomplete"] else ""
            self.app.notify(f"audit chain: {v.message}{extra}", severity="information" if v.ok else "error",
                            title="VERIFIED" if v.ok else "TAMPERED", timeout=8)
            self._render_status()

    def _cells(self, rec: dict) -> list:
        change = audit.change_text(rec) or "-"  # as the `audit` command says it
        return [Text(when(rec.get("ts"))), safe(rec.get("actor") or "-"), safe(rec.get("action") or "-"),
                safe(rec.get("model") or "-"), safe(rec.get("environment") or "-"), safe(change),
                outcome_cell(rec, self.incomplete), safe(rec.get("message") or rec.get("reason") or "")]

    def _render_status(self) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"{len(self.records)} records", style="bold")
        if self.model:
            line.append(" of ")
            line.append_text(safe(self.model, style="bold"))
        if self.incomplete:
            line.append(f"  {len(self.incomplete)} INCOMPLETE", style="bold reverse")
        if self.after_view:
            line.append(f"  {self.after_view} after the view's end (dim)", style="bold")
        line.append("  chain ")
        v = self.verdict
        if v is None:
            line.append("not verified (v)", style="dim")
        elif v.ok:
            line.append("VERIFIED ", style="bold")
            line.append_text(Text(printable(v.message)))
        else:
            line.append("TAMPERED ", style="bold reverse")
            line.append_text(Text(printable(v.message)))
        line.append("  ")
        line.append_text(safe(self.path, style="dim"))
        self.query_one("#audit-status", Static).update(line)

    def _render_detail(self) -> None:
        key = self.table.selected_key
        rec = self.records.get(key) if key else None
        detail = Text(no_wrap=False)
        if rec is not None:
            detail.append("id ", style="bold")
            detail.append_text(safe(rec.get("action_id") or "-"))
            detail.append("  host ", style="bold")
            detail.append_text(safe(rec.get("host") or "-"))
            if rec.get("ssh_client"):
                detail.append("  ssh ", style="bold")
                detail.append_text(safe(rec["ssh_client"]))
            if rec.get("forced"):
                detail.append("  FORCED", style="bold reverse")
            text = rec.get("message") or rec.get("reason")
            if text:
                detail.append("\n")
                detail.append_text(Text(printable(text)))
        self.query_one("#audit-detail", Static).update(detail)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._render_detail()

    def selected_id(self) -> str | None:
        key = self.table.selected_key
        rec = self.records.get(key) if key else None
        return str(rec.get("action_id")) if rec and rec.get("action_id") else None

    def action_verify(self) -> None:
        self.call_service("verify", verify)

    def commands(self):
        return [("Verify the audit chain", self.action_verify, "v: check hashes and the head file"),
                ("Reload the audit trail", self.load, "read the file again")]


register_screen("audit", "Audit", AuditScreen, help="the audit trail of actions; v verifies the chain", order=14)
