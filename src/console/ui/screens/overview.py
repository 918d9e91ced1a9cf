"""The Overview: one row per model and environment, refreshed from the app's snapshot, and the firing
incidents in the rows left under it: as many as fit, then a "+N more" row (enter opens them all).

Columns are kept by priority while they fit (80x24 keeps model, env, champion, live state, alerts, drift);
wider terminals add traffic, latency, errors, cost, 24 h volume and a traffic trend (scaled per row).
Numbers are compact (23.9k). The selected row's actions (R rollback, + F A canary, P promote the
challenger, T retrain) work here as on Deployments.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from console.aliases import alias_name
from console.ui.incident_cells import lasted, onset, severity
from console.ui.navigation import register_screen
from console.ui.screens.action_flow import ActionsMixin, action_bindings
from console.ui.screens.base import ConsoleScreen
from console.safe_text import printable
from console.analytics.windows import OVERVIEW_DRIFT_WINDOW
from console.ui.text import safe
from console.ui.widgets.filter_table import Col, FilterTable
from console.ui.widgets.sparkline import glyph, sparkline

TREND_POINTS = 48

# priority: what stays at 80x24 (model, env, champion, live state, alerts, drift), then traffic, latency, ...
COLUMNS = [
    Col("model", "MODEL", width=18, wide_width=28, priority=1, flex=True),
    Col("env", "ENV", width=12, wide_width=14, priority=2),
    Col("champion", "CHAMP", width=5, wide_width=8, priority=3),
    Col("live", "LIVE", width=14, wide_width=26, priority=4, flex=True),
    Col("rpm", "RPM", width=6, priority=7),
    Col("trend", "TREND", width=12, wide_width=24, priority=12),
    Col("p95", "P95ms", width=6, priority=8),
    Col("err", "ERR%", width=5, priority=9),
    Col("alerts", "ALRT", width=4, priority=5),
    Col("drift", f"DRIFT {OVERVIEW_DRIFT_WINDOW}", width=9, priority=6),  # named: `drift` reads 24 h by default
    Col("cost", "COST", width=7, priority=10),
    Col("req", "REQ24H", width=7, priority=11),
]
# at 80 columns: severity, model, rule, the feature or segment, and how long it has fired; the onset from 100
INCIDENTS = [
    Col("sev", "SEV", width=4, priority=1),
    Col("model", "MODEL", width=18, priority=2),
    Col("rule", "RULE", width=16, priority=3, flex=True),
    Col("onset", "ONSET", width=11, priority=6),
    Col("for", "FOR", width=7, priority=5),
    Col("what", "FEATURE/SEGMENT", width=14, priority=4, flex=True),
]


def compact(v: float | None, digits: int = 1) -> str:
    """23996.4 -> 23.9k; 1234567 -> 1.2M; small numbers keep `digits` decimals (fits a narrow column)."""
    if v is None:
        return "-"
    a = abs(v)
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{int(v / scale * 10) / 10:.1f}{suffix}"  # truncated, never rounded up past what it is
    return f"{v:.{digits}f}"


def money(v: float | None) -> str:
    """Today's spend in the COST column: cents below $100, as `snapshot` prints it ($0.24 read "$0", $0.55 "$1"),
    whole dollars (truncated) below $1,000, then compact; at most 7 characters with the source-down mark."""
    if v is None:
        return "-"
    a = abs(v)
    if a < 100:
        return f"${v:.2f}"
    return f"${int(v)}" if a < 1000 else f"${compact(v)}"


def percent(rate: float | None) -> str:
    """The ERR% column: a share with one decimal, and "<0.1" for errors too few to reach 0.05 % (one in 3,000 read
    "0.0", the same as none)."""
    if rate is None:
        return "-"
    p = 100 * rate
    return "<0.1" if 0 < p < 0.05 else f"{p:.1f}"


def prod_marker() -> str:
    return glyph("◆", "*")


class StatusBar(Static):
    """Registry status and the time of the last refresh: what an operator checks first."""


def challenger(row, env: str) -> str | None:
    """The version promote (P) takes from the Overview or the model page: the challenger alias, else the canary."""
    aliases = getattr(row, "aliases", None) or {}
    return aliases.get(alias_name(env, "challenger")) or aliases.get(alias_name(env, "canary"))


class OverviewScreen(ActionsMixin, ConsoleScreen):
    SCREEN_NAME = "overview"
    SCREEN_TITLE = "Overview"
    BINDINGS = [Binding("enter", "open", "Open", id="overview.open", show=False), *action_bindings()]
    _reading = False  # a refresh is reading a backlog: its progress holds the status line

    def __init__(self) -> None:
        super().__init__()
        self._trend: dict[str, list[float]] = {}
        self._trend_at = None
        self._rows: dict[str, object] = {}
        self._last_lines: dict[str, Text] = {}
        self._now = None  # the last snapshot's clock (the incidents' FOR column)
        self._models_cap: int | None = None  # the models table's height cap beyond 60% (`_fit_models`)

    def compose_body(self) -> ComposeResult:
        yield StatusBar("loading...", id="status")
        yield FilterTable(COLUMNS, id="models")
        yield Static("Firing incidents", id="incidents-title")
        yield FilterTable(INCIDENTS, id="incidents")
        yield Static("", id="notes")

    def on_mount(self) -> None:
        self.watch(self.app, "registry", lambda _: self._render_status())
        # a read past READ_PROGRESS_AFTER_S shows its progress at once; one that ended gives the line back
        self.watch(self.app, "read_is_slow", lambda _: self._render_progress(), init=False)
        self.focus_table()
        self._progress_timer = self.set_interval(0.5, self._render_progress, name="ingest-progress")

    def _render_progress(self) -> None:
        """While a refresh reads a backlog (a cold start on a large JSONL log takes a while), the status line
        says how far it has come, and the rows committed so far are shown as they land: the refresh worker
        publishes both, this only reads them. A read is shown only once it has lasted
        `app.READ_PROGRESS_AFTER_S` (the app's timer): a routine refresh never takes the line."""
        line = self.app.reading_progress()
        if line:
            self._reading = True
            self._set("#status", Text(f" {line}", no_wrap=True, overflow="ellipsis"))
            self.app.show_ready_steps()
        elif self._reading:
            self._reading = False
            if self.app.snapshot is not None:
                self._render_status()

    @property
    def table(self) -> FilterTable:
        return self.query_one("#models", FilterTable)

    def show_snapshot(self, snap) -> None:
        if snap.now != self._trend_at:  # one trend point per refresh, whatever redraws in between
            self._trend_at = snap.now
            for r in snap.rows:
                points = self._trend.setdefault(f"{r.name}\x00{r.environment}", [])
                points.append(r.rpm)
                del points[:-TREND_POINTS]
        self._rows = {f"{r.name}\x00{r.environment}": r for r in snap.rows}
        wide = self.app.size.width >= 160
        self.table.set_rows((key, _cells(r, self._trend.get(key, []), wide, snap.alerts_checked))
                            for key, r in self._rows.items())
        self._render_status()
        self._render_incidents(snap.now)

    def update_breadcrumb(self) -> None:
        """The view's time moved (the app calls this on every screen): the header says so, and the incident
        list, which belonged to the old time, is emptied at once ("checking the rules...")."""
        super().update_breadcrumb()
        if self.is_mounted and self._now is not None:
            self._render_incidents()

    def _render_incidents(self, now=None) -> None:
        now = self._now = now or self._now
        if now is None:
            return
        firing = sorted(self.app.incidents, key=lambda f: f.ack is not None)  # acknowledged ones last
        acked = sum(f.ack is not None for f in firing)
        title = f"Firing incidents ({len(firing) - acked}" + (f", {acked} acknowledged)" if acked else ")")
        if not getattr(self.app, "_have_findings", True):  # no rule check has ended yet: not "0 firing"
            title = ("Firing incidents (not checked: see the header)" if getattr(self.app, "last_error", None)
                     else "Firing incidents (checking the rules...)")
        self._set("#incidents-title", Text(title, style="bold"))
        table = self.query_one("#incidents", FilterTable)
        self._fit_models(table, len(firing))
        shown, more = fit(len(firing), self._incident_rows(table))
        rows = [(f.id, [severity(f.severity) if f.ack is None else Text("ack", style="dim"), safe(f.model),
                        safe(f.rule), safe(onset(f)), safe(lasted(f, now)), safe(_where(f))])
                for f in firing[:shown]]
        if more:
            rows.append((MORE, ["", Text(f"+{more} more", style="bold"), Text("enter: all incidents", style="dim")]))
        table.set_rows(rows)

    def _fit_models(self, incidents: FilterTable, firing: int) -> None:
        """The models table gets the rows the incidents do not need: with 60 models and nothing firing, 60% of
        the screen left six empty incident rows at 80x24 while the models scrolled. It never gets less than its
        60% (the stylesheet's cap), so a long incident list still ends in "+N more"."""
        if incidents.filter_text or incidents.filtering:
            return  # the filter's own line is in the list: the next render counts again
        models = self.query_one("#models", FilterTable)
        room = models.outer_size.height + incidents.outer_size.height
        if room <= 0:
            return  # not laid out yet
        want = room - max(firing + 1, 2)  # the list's header and its rows, at least one row
        cap = want if want > int(self.size.height * 0.6) else None
        if cap != self._models_cap:
            self._models_cap = cap
            models.styles.max_height = cap  # None: the stylesheet's 60% again

    @staticmethod
    def _incident_rows(table: FilterTable) -> int | None:
        """How many incident rows the list has room for (its height less the header); None while it is not
        laid out yet, or while it is filtered (then every row is given to the filter, and the list scrolls)."""
        if table.filter_text or table.filtering:
            return None
        height = table.table.size.height
        return height - 1 if height > 1 else None

    def on_filter_table_resized(self, event: FilterTable.Resized) -> None:
        if event.filter_table.id == "incidents":  # the rows that fit changed (the terminal, the table above)
            self._render_incidents()

    def on_filter_table_filtered(self, event: FilterTable.Filtered) -> None:
        if event.filter_table.id == "incidents":
            self._render_incidents()

    def _render_status(self) -> None:
        if self._reading:
            if self.app.reading_progress():
                return  # the reading progress holds the line until the read ends
            self._reading = False  # it ended since the last tick: the line is the status's again at once
        snap, reg = self.app.snapshot, self.app.registry
        line = Text(no_wrap=True, overflow="ellipsis")
        state = reg or (snap.registry if snap else None)
        line.append(" registry ", style="bold")
        if state is None or state.status == "connecting":
            line.append("connecting...")
        elif state.ok:
            line.append("ok")
        elif state.status == "not configured":
            line.append("not configured")
        else:
            # the message names the registry and says what is wrong ("registry URL is unreachable"): "DEGRADED
            # (unreachable: registry URL is unreachable)" said it twice and pushed the refresh time off 80 columns
            said = state.message.removeprefix("registry ") if state.message.startswith("registry ") else \
                f"{state.status}: {state.message}"
            line.append("DEGRADED (", style="bold reverse")
            line.append_text(safe(said[:60]))
            line.append(")", style="bold reverse")
        if snap is not None:
            # when the data was read (wall clock), not the view's end: a view moved back says so in the header
            line.append(f"  refreshed {snap.refreshed:%H:%M:%S}Z" if snap.refreshed else "  not refreshed yet")
            line.append(f"  models {len({r.name for r in snap.rows})}")
            if snap.malformed:
                line.append(f"  malformed rows {snap.malformed}", style="bold")
            if any(r.production for r in snap.rows):
                line.append(f"  {prod_marker()} = production", style="dim")
        self._set("#status", line)
        notes = Text()
        if snap is not None and not snap.logs_configured:
            notes.append("No logs are configured: traffic, latency, drift and cost panels are empty.")
        else:
            from datetime import timedelta

            # the Overview's numbers are the last 24 h: its requests say whether that window holds rows
            # (a model whose source is down is not "no predictions": its rows are unknown, the logs note says why)
            note = self.empty_window_note(timedelta(hours=24), has_rows=snap is not None and any(
                r.requests or r.source_down for r in snap.rows))
            if note is not None:
                notes.append_text(note)
        if snap is not None and snap.missing_logs:  # a typo in a labels path leaves Quality empty with no other sign
            missing = snap.missing_logs
            notes.append("  " if notes.plain else "")
            notes.append("configured log matches no file: ", style="bold")
            path = printable(missing[0])
            notes.append_text(safe(path if len(path) <= 60 else "…" + path[-59:]))  # the file's name, not the home
            if len(missing) > 1:
                notes.append(f" (+{len(missing) - 1} more)")
        if snap is not None and snap.log_notes:  # an unreadable file or a failing bucket: the rest is still shown
            first = printable(snap.log_notes[0])
            notes.append("  " if notes.plain else "")
            notes.append("logs: ", style="bold")
            notes.append_text(safe(_short_note(first)))
            if len(snap.log_notes) > 1:
                notes.append(f" (+{len(snap.log_notes) - 1} more)")
        self._set("#notes", notes)
        box = self.query_one("#notes")
        if box.display != bool(notes.plain):
            box.display = bool(notes.plain)  # an empty note takes no row from the incident list

    def _set(self, selector: str, text: Text) -> None:
        """Updates a line only when its text changed: an unchanged status costs no terminal bytes."""
        last = self._last_lines.get(selector)
        if last is None or last != text:
            self._last_lines[selector] = text
            # the status line is one row whatever it says: no layout pass, so no full-screen repaint
            self.query_one(selector, Static).update(text, layout=selector != "#status")

    # ------------------------------------------------------------------ context and actions

    def selected_row(self):
        """The models table's selected row; with the incidents list focused, the focused incident's model in
        production (the keys and the footer act on what is highlighted: `R` on a fraud-detector incident opened
        the rollback of the model row selected above it)."""
        f = self.focused_incident()
        if f is not None:
            return next((r for r in self._rows.values() if r.name == f.model and r.environment == "production"),
                        None)
        key = self.table.selected_key
        return self._rows.get(key) if key else None

    def focused_incident(self):
        """The incident highlighted in the focused incidents list, None when the models table has the focus."""
        incidents = self.query_one("#incidents", FilterTable)
        if not incidents.table.has_focus:
            return None
        key = incidents.selected_key
        return next((f for f in self.app.incidents if f.id == key), None) if key and key != MORE else None

    def on_descendant_focus(self, event) -> None:
        self.refresh_bindings()  # the footer's keys follow the table with the focus

    def context(self) -> tuple[str, str | None] | None:
        row = self.selected_row()
        return (row.name, row.environment) if row else None

    def selected_id(self) -> str | None:
        row = self.selected_row()
        if row is None:
            return None
        return f"models:/{row.name}/{row.champion}" if row.champion else row.name

    def select_model(self, model: str, environment: str | None = None) -> bool:
        for key, row in self._rows.items():
            if row.name == model and (environment is None or row.environment == environment):
                if self.table.filter_text and not self.table.select_key(key):
                    self.table.clear_filter()
                self.focus_table()
                return self.table.select_key(key)
        return False

    def action_open(self) -> None:
        ctx = self.context()
        if ctx is not None:
            self.app.open_model(*ctx)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        incidents = self.query_one("#incidents", FilterTable)
        if event.data_table is incidents.table:  # an incident: open it in Incidents ("+N more": all of them)
            key = incidents.selected_key
            if key == MORE:
                self.app.open_screen("incidents")
                return
            f = next((f for f in self.app.incidents if f.id == key), None)
            if f is not None:
                from console.ui.navigation import SCREENS

                import console.ui.screens.monitoring_registry  # noqa: F401 - registers Incidents
                spec = SCREENS.get("incidents")
                if spec is not None:
                    self.app.push_screen(spec.factory(model=f.model, environment="production", select=f.id))
            return
        self.action_open()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        row = self.selected_row()
        if row is not None and row.environment not in self.flow.states:
            self.flow.refresh_state(row.environment)
        self.refresh_bindings()

    def action_target(self, action_id: str) -> tuple[str, str | None]:
        row = self.selected_row()
        if row is None:
            return "production", None
        return row.environment, (challenger(row, row.environment) if action_id == "promote" else None)

    def incident_in_view(self) -> str | None:
        """The firing incident of the selected model listed under the table (the focused one, else the first)."""
        f = self.focused_incident()
        if f is not None:
            return f.id
        row = self.selected_row()
        for f in self.app.incidents:
            if row is not None and f.model == row.name:
                return f.id
        return None

    def commands(self):
        row = self.selected_row()
        out = []
        if row is not None:
            out.append((f"Open {row.name} ({row.environment})", self.action_open, "the selected model"))
        out.append(("Filter models", self.action_filter, "show only matching rows (esc clears)"))
        return out + (self.action_commands() if row is not None else [])


def checking_mark() -> str:
    """The ALRT cell while the rules' first pass over the view runs: neither "-" (none firing) nor "?" (its
    source is down)."""
    return glyph("…", "...")


def _cells(r, trend: list[float], wide: bool, alerts_checked: bool = True) -> list:
    env = safe(r.environment, style="bold" if r.production else "")
    env = Text(f"{prod_marker()} " if r.production else "  ", style="bold") + env
    # a source holding its rows cannot be read now: its numbers are what the other sources hold, so each says
    # "?" after it, ALRT is "?" (its rules could not be evaluated: `check` exits 2) and DRIFT names the state
    down = bool(r.source_down)
    checking = not alerts_checked and r.production  # alerts are evaluated on production only

    def num(text: str) -> Text:
        return Text(text + ("?" if down else ""), justify="right")

    return [
        safe(r.name, style="bold" if r.production else ""), env,
        safe(f"v{r.champion}" if r.champion else "-"), safe(r.live or "-"),
        num(compact(r.rpm)),
        sparkline(trend, 24 if wide else 12),  # scaled per row: a steady 2 rpm and 20 rpm both show shape
        num(f"{r.p95_latency_ms:.0f}" if r.p95_latency_ms is not None else "-"),
        num(percent(r.error_rate)),
        Text("?", justify="right", style="bold reverse") if (down or r.not_evaluated) and not r.alerts else
        Text(checking_mark(), justify="right", style="dim") if checking else
        # a rule not evaluated (the registry holding the expected accuracy down): the count is a lower bound
        Text(f"!{r.alerts}" + ("?" if r.not_evaluated else "") if r.alerts else "-", justify="right",
             style="bold reverse" if r.alerts else ""),
        Text("src down", style="bold reverse") if down else safe(r.drift),
        num(money(r.cost_usd)),
        num(compact(r.requests, 0)),
    ]


MORE = "\x00more"  # the key of the "+N more" row (no incident id starts with NUL)


def fit(total: int, room: int | None) -> tuple[int, int]:
    """(incidents listed, the number left for "+N more") when `room` rows are free: all when they fit,
    else one row fewer than the room, the last row saying how many more there are."""
    if room is None or total <= room:
        return total, 0
    shown = max(room - 1, 0)
    return shown, total - shown


def _where(f) -> str:
    if f.segment:
        return f"{f.segment.get('column')}={f.segment.get('value')}"
    return f.feature or ""


register_screen("overview", "Overview", OverviewScreen, help="every model and environment", order=0)


def _short_note(note: str, width: int = 90) -> str:
    """A "path: reason" note in `width` characters: the path's end (a file's name, not the home; a bucket's
    prefix) and the reason's start (what went wrong comes first; "showing what was read before..." last)."""
    if len(note) <= width:
        return note
    path, sep, reason = note.partition(": ")
    if not sep:
        return note[:width - 1] + "…"
    path = path if len(path) <= 40 else "…" + path[-39:]
    room = width - len(path) - 2
    return f"{path}: {reason if len(reason) <= room else reason[:room - 1] + '…'}"
