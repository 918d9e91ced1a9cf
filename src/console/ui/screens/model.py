"""The model page: one model's serving, health, quality, drift, cost and firing incidents on one screen.

Also home of `MonitorScreen`, the small base the monitoring screens (drift, health, quality, fairness,
cost, incidents) share: `fetch(tag, fn, key)` runs a service call in a thread worker unless one for
that tag is already in flight, and drops a result whose request changed while it ran (a window
switched mid-fetch), fetching again instead; `show(tag, result)` receives what is current. Screens
re-fetch on every app refresh (`show_snapshot`). Formatting helpers for the cells live here too.

Keys on the model page: d drift, h health, u quality, f fairness, c cost, i incidents (this model),
enter on a firing incident opens the incidents screen at it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from console.analytics import health as he
from console.ui.incident_cells import duration, lasted, onset, severity, ts  # noqa: F401 - the screens' cells
from console.ui.navigation import register_screen
from console.ui.screens.action_flow import ActionsMixin, action_bindings
from console.ui.screens.base import ConsoleScreen
from console.ui.screens.drift_fetch import drift_verdicts
from console.ui.text import printable, safe
from console.ui.widgets import Col, FilterTable

WINDOWS = ("1h", "6h", "24h", "7d")
WINDOW_KEYS = {"1": "1h", "6": "6h", "2": "24h", "7": "7d"}


# ---------------------------------------------------------------------------------------- formatting


def _ok(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and not (isinstance(v, float) and not math.isfinite(v))


def num(v, digits: int = 2, justify: str = "right") -> Text:
    return Text(f"{v:,.{digits}f}" if _ok(v) else "-", justify=justify)


def count(v, justify: str = "right") -> Text:
    return Text(f"{int(v):,}" if _ok(v) else "-", justify=justify)


def pct(v, digits: int = 1, justify: str = "right") -> Text:
    return Text(f"{100 * v:.{digits}f}%" if _ok(v) else "-", justify=justify)


def usd(v, digits: int = 2, justify: str = "right") -> Text:
    return Text(f"${v:,.{digits}f}" if _ok(v) else "-", justify=justify)


def ms(v, justify: str = "right") -> Text:
    return Text(f"{v:,.0f}" if _ok(v) else "-", justify=justify)


def rate(v) -> str:
    """A burn or spike ratio: 0.68x."""
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return f"{v:.1f}x" if v >= 10 else f"{v:.2f}x"


def slo_verdict(slo, alert_word: str = "SLO ALERT", over: bool = False) -> Text:
    """The `burn_rate` rule's verdict now as the SLO panels say it (`burn_rule.BurnVerdict`): the rule's window,
    grown back to 100 requests, named when it is longer than the SLO's short window; too few requests, or a burn
    past the threshold on too few to tell from noise, said as the rule says them, never ALERT or ok; never ok beside
    the rule's incident still firing (`burn_rule.beside_firing`: "recovering")."""
    from console.analytics import burn_rule as br
    from console.analytics.windows import format_span, parse_window

    v = slo.verdict
    grown = v.span > parse_window(v.window)
    where = f" (last {v.requests:,} req, {format_span(v.span)})" if grown else f" over {v.window}" if over else ""
    if v.state == br.ALERT:
        return Text(alert_word + where, style="bold reverse")
    if v.state == br.RECOVERING:  # under the threshold, not yet evidence of recovery: the incident still fires
        # the incident first: at 80 columns the HEALTH line keeps about 28 cells for the verdict
        return Text(f"SLO firing, recovering: burn {rate(v.burn_rate)}{where}", style="bold reverse")
    if v.state == br.OK:
        return Text("SLO ok" + (where if grown else ""))
    said = "insufficient data" if v.state == br.INSUFFICIENT else "unsure"
    return Text(f"SLO {said}: {v.note}", style="bold reverse" if v.alert else "bold")










def line(label: str, *parts: Text | str, width: int = 9) -> Text:
    """One summary line: a bold fixed-width label, then the parts separated by two spaces."""
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(label.ljust(width), style="bold")
    first = True
    for part in parts:
        if part is None or part == "":
            continue
        if not first:
            out.append("  ")
        out.append_text(part if isinstance(part, Text) else Text(part))
        first = False
    return out


def lines(rows: Sequence[Text]) -> Text:
    return Text("\n", no_wrap=True, overflow="ellipsis").join(rows)


def verdict(drifted: bool, status: str) -> Text:
    """DRIFT / ok / no data in words (reverse video for DRIFT), never colour alone."""
    if drifted:
        return Text("DRIFT", style="bold reverse")
    if status in ("ok",):
        return Text("ok")
    return Text(status or "-", style="dim")




def state(firing: bool) -> Text:
    return Text("FIRING", style="bold reverse") if firing else Text("resolved", style="dim")


def frame_rows(frame) -> list[dict]:
    """A polars frame as row dicts (done in the worker, so the UI thread only reads plain data)."""
    return [] if frame is None else frame.to_dicts()


def series(frame, column: str) -> tuple[list, datetime | None, datetime | None]:
    """(values, first bucket, last bucket) of one column of a bucketed frame."""
    if frame is None or frame.height == 0 or column not in frame.columns:
        return [], None, None
    frame = frame.sort("bucket")
    buckets = frame.get_column("bucket").to_list()
    return frame.get_column(column).to_list(), buckets[0], buckets[-1]


def timed(frame, column: str) -> tuple[list, list]:
    """(values, bucket times) of one column of a bucketed frame, oldest first, for `TimeChart(times=...)`."""
    if frame is None or frame.height == 0 or column not in frame.columns:
        return [], []
    frame = frame.sort("bucket")
    return frame.get_column(column).to_list(), frame.get_column("bucket").to_list()


def chart_marks(svc, model: str, environment: str) -> list[tuple[datetime, str]]:
    """Worker: what a chart marks on its time axis: deployments of the model here (D) and the onsets of
    its open incidents (!)."""
    marks: list[tuple[datetime, str]] = []
    try:
        for r in svc.deployment_rows(model):
            if r.get("ts") is not None and (r.get("environment") in (None, environment)):
                marks.append((r["ts"], "D"))
    except Exception:  # noqa: BLE001 - no deployment log: nothing to mark
        pass
    try:
        marks += [(f.onset, "!") for f in svc.findings() if f.model == model and f.firing]
    except Exception:  # noqa: BLE001
        pass
    return marks


# ---------------------------------------------------------------------------------------- the base


class MonitorScreen(ConsoleScreen):
    """A live monitoring screen: fetches on mount and on every app refresh, one fetch per tag at a time."""

    DEFAULT_CSS = """
    MonitorScreen .head { height: auto; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    MonitorScreen .title { height: 1; padding: 0 1; text-style: bold; text-wrap: nowrap; text-overflow: ellipsis; }
    MonitorScreen.-view-moved .head, MonitorScreen.-view-moved .title, MonitorScreen.-view-moved FilterTable,
    MonitorScreen.-view-moved TimeChart, MonitorScreen.-view-moved #dist { visibility: hidden; }
    """

    def __init__(self, model: str | None = None, environment: str | None = None, **kwargs):
        super().__init__(model, environment, **kwargs)
        self._inflight: dict[str, Any] = {}  # tag -> key of the request running
        self._asked_at: dict[str, tuple] = {}  # tag -> the data version its last fetch was asked for under
        self._latest: dict[str, tuple[Callable, Any]] = {}  # tag -> (fn, key) most recently asked for
        self.loaded: set[str] = set()  # tags that have shown a result at least once
        self.drawn_at: float | None = None  # monotonic time of the first frame (what needs no read shown)
        self._errors: dict[str, str] = {}  # tag -> the last error shown

    @property
    def env(self) -> str:
        return self.environment or "production"

    def on_mount(self) -> None:
        self.focus_table()  # keys go to the table, not to its (hidden) filter input
        self.show_ready()
        # the reads start once the screen is drawn: worker threads share the interpreter with the event loop,
        # and started during the mount they slowed the screen's first paint by seconds
        self.call_after_refresh(self._drawn)

    def _drawn(self) -> None:
        self.drawn_at = time.monotonic()  # benchmarks/bench_screens.py reads it: the first frame with data
        self.refresh_data()

    def show_ready(self) -> None:
        """Override: show what needs no read (from the app's snapshot) before the first paint."""

    def show_snapshot(self, snap) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        """Override: issue this screen's fetches (each with `fetch`)."""

    def fetch(self, tag: str, fn: Callable[[Any], Any], key: Any = None) -> None:
        """One cached read per tag at a time, as `ConsoleScreen.read`, but asked on every tick: read again when it
        lands only if the window (`key`) or the data version moved meanwhile, and not shown if the window did."""
        self._latest[tag] = (fn, key)
        self._asked_at[tag] = self.app.data_version
        if tag in self._inflight:
            return  # the running fetch finishes first; a changed key is re-fetched when it lands
        self._start(tag)

    def _start(self, tag: str) -> None:
        fn, key = self._latest[tag]
        # the read covers the version it starts at: started again (another window, a view that moved) under a newer
        # one than the last ask's, it landed "behind" that ask, was started again, landed from the cache at once,
        # and so on, never yielding the event loop
        self._inflight[tag] = (key, self.app.data_version)
        self._asked_at[tag] = self.app.data_version
        moving = self.__dict__.get("_moving")
        if moving is not None:
            moving.add(tag)
        self.call_service(tag, fn, cache=True)

    def view_moved(self) -> None:
        """The time cursor moved: what the screen shows is the old view's until its reads land again (Health kept
        the hour before's requests under the new header for a second, Drift its verdicts for longer). Hidden until
        every read started for the new view has landed; the progress line says the view is being read."""
        self._moving = set()
        self.add_class("-view-moved")
        self._show_progress()  # said in the frame that hides them, not at the progress timer's next quarter second

    def _landed(self, tag: str) -> None:
        moving = self.__dict__.get("_moving")
        if moving is None or tag not in moving:  # a read of the view left (the new one's is still to come)
            return
        moving.discard(tag)
        if not moving:
            self._moving = None
            self.remove_class("-view-moved")

    def moving_view(self) -> bool:
        return self.__dict__.get("_moving") is not None

    def busy(self, tag: str) -> bool:
        return tag in self._inflight

    def handle_result(self, tag: str, result: Any) -> None:
        key, version = self._inflight.pop(tag, (None, None))
        latest = self._latest.get(tag)
        if latest is not None and latest[1] != key:
            self._start(tag)  # asked for something else meanwhile (another window): this result is stale
            return
        self.loaded.add(tag)
        self._errors.pop(tag, None)
        self.show(tag, result)
        self._landed(tag)
        if latest is not None and self._asked_at.get(tag, version) != version:
            # new rows arrived while it read, and the refresh's fetch waited for it: read them now (the model page
            # opened on the first look's empty store said "no requests" until a later refresh). Shown meanwhile,
            # as a read that takes longer than a poll must still show something
            self._start(tag)

    def handle_error(self, tag: str, error: str) -> None:
        self._inflight.pop(tag, None)
        self._landed(tag)  # (shown again, the error saying what failed)
        self.show_error(tag, error)

    def handle_moved(self, tag: str) -> None:
        self._inflight.pop(tag, None)
        if tag in self._latest:
            self._start(tag)  # of the view now: the one read under the view left is of no view

    def show(self, tag: str, result: Any) -> None:
        """Override: a current result for `tag`, on the UI thread."""

    ERROR_TARGET = ""  # the Static (a selector) a failed fetch is reported in, besides one notification

    def show_error(self, tag: str, error: str) -> None:
        if self._errors.get(tag) != error:  # one notification per new error, not one per refresh tick
            self._errors[tag] = error
            super().handle_error(tag, error)
        if self.ERROR_TARGET:
            try:
                target = self.query_one(self.ERROR_TARGET, Static)
            except Exception:  # noqa: BLE001 - not composed (yet)
                return
            target.update(line("ERROR", Text(f"{tag}: {printable(error)}", style="bold")))

    # ------------------------------------------------------------------ navigation

    def open_screen(self, name: str, model: str | None = None, environment: str | None = None, **extra) -> None:
        """Pushes a registered screen (so a screen the lead re-registers under the same name wins)."""
        import console.ui.screens.monitoring_registry  # noqa: F401 - registers the monitoring screens
        from console.ui.navigation import SCREENS

        spec = SCREENS.get(name)
        if spec is None:
            self.app.notify(f"no screen named {name}", severity="error", markup=False)
            return
        stack = self.app.screen_stack
        for i, screen in enumerate(stack[:-1]):
            if getattr(screen, "SCREEN_NAME", None) == name and screen.model == model and screen.model \
                    and (screen.environment or "production") == (environment or "production") and not extra:
                for _ in range(len(stack) - 1 - i):  # already open below: go back to it, do not stack a loop
                    self.app.pop_screen()
                return
        screen = spec.factory(model=model, environment=environment, **extra) if extra else \
            spec.factory(model=model, environment=environment)
        self.app.push_screen(screen)


class WindowedScreen(MonitorScreen):
    """A monitoring screen with a time window: 1 6 2 7 pick 1h/6h/24h/7d, w cycles."""

    DEFAULT_WINDOW = "24h"
    BINDINGS = [
        Binding("w", "cycle_window", "Window", id="window.cycle"),
        Binding("1", "window('1h')", "1h", id="window.1h", show=False),
        Binding("6", "window('6h')", "6h", id="window.6h", show=False),
        Binding("2", "window('24h')", "24h", id="window.24h", show=False),
        Binding("7", "window('7d')", "7d", id="window.7d", show=False),
    ]

    def __init__(self, model: str | None = None, environment: str | None = None, window: str | None = None,
                 **kwargs):
        super().__init__(model, environment, **kwargs)
        self.window = window if window in WINDOWS else self.DEFAULT_WINDOW
        self.window_rows: bool | None = None  # whether the screen's own result for the window held rows (`show`)

    def action_window(self, window: str) -> None:
        if window not in WINDOWS or window == self.window:
            return
        self.window = window
        self.window_changed()

    def action_cycle_window(self) -> None:
        self.action_window(WINDOWS[(WINDOWS.index(self.window) + 1) % len(WINDOWS)])

    def window_changed(self) -> None:
        self.window_rows = None  # the new window's result says
        self.refresh_data()

    def window_text(self) -> Text:
        from console.analytics.windows import parse_window

        out = Text(no_wrap=True, overflow="ellipsis")
        out.append("window ", style="bold")
        for i, w in enumerate(WINDOWS):
            if i:
                out.append(" ")
            out.append(f"[{w}]" if w == self.window else w, style="bold reverse" if w == self.window else "dim")
        # with the screen's own count, a window before the newest row says so too (as the Drift screen's)
        note = self.empty_window_note(parse_window(self.window), has_rows=self.window_rows)
        if note is not None:  # its own line: after the keys, 80 columns cut the newest row's time ("2026-12-05 2…")
            out.append("\n")
            out.append_text(note)
        return out

    def commands(self):
        return [(f"Window {w}", (lambda w=w: self.action_window(w)), f"show the last {w}") for w in WINDOWS]


# ---------------------------------------------------------------------------------------- the model page


class ModelScreen(ActionsMixin, MonitorScreen):
    SCREEN_NAME = "model"
    SCREEN_TITLE = "Model"
    DEFAULT_CSS = """
    ModelScreen #firing { height: 1fr; }
    """
    BINDINGS = [
        Binding("d", "open('drift')", "Drift", id="model.drift"),
        Binding("h", "open('health')", "Health", id="model.health"),
        Binding("u", "open('quality')", "Quality", id="model.quality"),
        Binding("f", "open('fairness')", "Fairness", id="model.fairness"),
        Binding("c", "open('cost')", "Cost", id="model.cost"),
        Binding("i", "open('incidents')", "Incidents", id="model.incidents"),
        Binding("v", "open('versions')", "Versions", id="model.versions"),
        Binding("e", "open('deployments')", "Deploys", id="model.deployments"),
        Binding("a", "open('audit')", "Audit", id="model.audit", show=False),
        Binding("o", "onset", "Go to detection", id="model.onset", show=False),
        *action_bindings(),
    ]
    COLUMNS = [
        Col("sev", "SEV", width=4, priority=1),
        Col("rule", "RULE", width=20, wide_width=30, priority=2, flex=True),
        Col("onset", "ONSET", width=11, priority=3),
        Col("for", "FOR", width=7, priority=5),
        Col("value", "PEAK", width=9, priority=6),  # the run's worst, as the Incidents screen says it
        Col("threshold", "LIMIT", width=8, priority=7),
        Col("what", "FEATURE/SEGMENT", width=18, priority=4, flex=True),
    ]
    PANELS = ("serving", "health", "burn", "quality", "drift", "cost", "alerts")

    def __init__(self, model: str | None = None, environment: str | None = None, **kwargs):
        super().__init__(model, environment, **kwargs)
        self.parts: dict[str, Text] = {}
        self.firing: list = []

    def crumb(self) -> str:
        return self.model_crumb() if self.model else "Model"

    def compose_body(self) -> ComposeResult:
        yield Static(self._summary_text(), id="summary", classes="head")
        yield Static("Firing incidents", id="firing-title", classes="title")
        yield FilterTable(self.COLUMNS, id="firing")

    def on_mount(self) -> None:  # MonitorScreen's on_mount runs too (Textual calls every class's handler)
        if self.model:
            self.call_after_refresh(self.flow.refresh_state, self.env)

    def view_moved(self) -> None:
        """The time cursor moved: every panel is the old view's until its read lands again (the firing list and
        ALERTS for the whole of the new view's rule pass, half a minute on the demo); each says what it waits for."""
        self.parts.clear()
        self.firing = []
        self.query_one("#firing", FilterTable).set_rows([])
        self._render_summary()

    def show_ready(self) -> None:
        if self.model and self.app.snapshot is not None:
            self._show_serving(self.app.snapshot)

    def action_target(self, action_id: str) -> tuple[str, str | None]:
        if action_id != "promote":
            return self.env, None
        snap = self.app.snapshot
        row = next((r for r in snap.rows if r.name == self.model and r.environment == self.env), None) if snap else None
        from console.ui.screens.overview import challenger

        return self.env, (challenger(row, self.env) if row is not None else None)

    def action_onset(self) -> None:
        """The time cursor to the onset of the firing incident under the cursor."""
        key = self.incident_in_view()
        f = next((f for f in self.firing if f.id == key), None)
        if f is None:
            self.app.notify("no firing incident to go to", severity="warning")
            return
        self.app.jump_to_onset(f)

    def incident_in_view(self) -> str | None:
        """The firing incident under the cursor (else the first): its reason is prefilled in the dialog."""
        table = self.query_one("#firing", FilterTable)
        return table.selected_key or (self.firing[0].id if self.firing else None)

    def refresh_data(self) -> None:
        if not self.model:
            return
        model, env = self.model, self.env
        snap = self.app.snapshot
        if snap is not None:
            self._show_serving(snap)
        self.fetch("health", lambda svc: svc.health(model, "1h", environment=env))
        self.fetch("quality", lambda svc: svc.quality(model, "24h", environment=env)["now"])
        self.fetch("drift", drift_verdicts(model, "24h", env))  # the Drift screen's first phase: cached for it
        self.fetch("cost", lambda svc: _cost_summary(svc.cost(model, environment=env)))
        self.fetch("incidents", lambda svc: _incidents(svc, model))

    # ------------------------------------------------------------------ panels

    def _show_serving(self, snap) -> None:
        row = next((r for r in snap.rows if r.name == self.model and r.environment == self.env), None)
        if row is None:
            self.parts["serving"] = line("SERVING", Text("not seen in this environment", style="dim"))
        else:
            self.parts["serving"] = line(
                "SERVING", safe(f"champion v{row.champion}" if row.champion else "no champion"),
                safe(row.live) if row.live else "", f"{row.rpm:.1f} rpm", f"{row.requests:,} req/24h",
                Text("PROD", style="bold reverse") if row.production else safe(row.environment))
        self._render_summary()

    def show(self, tag: str, result: Any) -> None:
        cfg = self.app.cfg.model(self.model)
        if tag == "health":
            table, slo = result["table"], result["slo"]
            served = he.served(table)  # the error rate users met, as the burn and the rules count it
            req = served["requests"].sum() if served.height else 0
            err = (served["errors"].sum() / req) if req else None
            alert = slo_verdict(slo)  # the burn rule's verdict, as Health and `check` say it
            if not req:  # no request is no evidence: it read "SLO ok" on a view before the log, or a model gone quiet
                self.parts["health"] = line("HEALTH", self.empty_window_note(timedelta(hours=1), has_rows=False)
                                            or Text("no requests", style="bold reverse"), Text("(1h)", style="dim"))
            else:
                self.parts["health"] = line(
                    # the latency users met too: a shadow's p95 beside the versions served read as one of them
                    "HEALTH", _p95s(served) + Text(f" (SLO {cfg.slo.p95_ms:g})", style="dim"),
                    Text(f"err {100 * err:.2f}%" if err is not None else "err -")
                    + Text(f" (SLO {100 * cfg.slo.error_rate:g}%)", style="dim"), alert, Text("(1h)", style="dim"))
            self.parts["burn"] = line(
                "BURN", f"errors {slo.error_short.window} {rate(slo.error_short.burn_rate)} "
                        f"{slo.error_long.window} {rate(slo.error_long.burn_rate)}",
                f"latency {slo.latency_short.window} {rate(slo.latency_short.burn_rate)} "
                f"{slo.latency_long.window} {rate(slo.latency_long.burn_rate)}",
                Text(f"alert at {slo.factor:g}x", style="dim"))
        elif tag == "quality":
            q = result
            name = "mae" if q.task == "regression" else "accuracy"
            value = q.metrics.get(name)
            # labelled rows but no metric: the answers are missing (no `prediction` logged), not the labels
            # and no predictions in the window: there is nothing to label (it said "no labels yet" over none)
            why = ("no predictions" if not q.n else "no labels yet") if not q.n_labelled else \
                "labelled rows have no prediction"
            self.parts["quality"] = line(
                "QUALITY", f"{name} {value:.3f}" if value is not None else f"{name} - ({why})",
                f"labelled {100 * q.labelled_share:.1f}% of {q.n:,}" if q.labelled_share is not None
                else f"labelled 0 of {q.n:,}", Text(f"({q.window})", style="dim"))
        elif tag == "drift":
            ds = result.get("dataset")
            if ds is None:
                self.parts["drift"] = line("DRIFT", Text(result.get("note") or "no reference", style="dim"))
            elif not ds["n_evaluated"]:
                self.parts["drift"] = line("DRIFT", Text("no data in the last 24h", style="dim"))
            else:
                drifted = [f["column"] for f in result["features"] if f["drifted"]]
                self.parts["drift"] = line(
                    "DRIFT", verdict(ds["drifted"], "ok"),
                    f"{ds['n_drifted']}/{ds['n_evaluated']} features ({100 * ds['share']:.0f}% vs {100 * ds['threshold']:.0f}%, 24h)",
                    safe(", ".join(drifted[:4]) + (", ..." if len(drifted) > 4 else "")) if drifted else "")
        elif tag == "cost":
            c = result
            budget = ""
            if c["budget_usd_month"]:
                budget = (f"month ${c['spent']:,.0f} of ${c['budget_usd_month']:,.0f} "
                          f"({100 * (c['share_used'] or 0):.0f}%) -> {100 * (c['projected_share'] or 0):.0f}% projected")
            spike = Text(f"SPIKE {rate(c['spike_ratio'])}", style="bold reverse") if c["spiking"] else ""
            self.parts["cost"] = line("COST", usd(c["today"], justify="left") + Text(" today"), budget, spike)
        elif tag == "incidents":
            now, findings, unknown = result
            self.firing = [f for f in findings if f.firing]
            if self.firing:
                names = ", ".join(dict.fromkeys(f.rule for f in self.firing))
                self.parts["alerts"] = line("ALERTS", Text(f"{len(self.firing)} firing", style="bold reverse"),
                                            safe(names))
            else:
                self.parts["alerts"] = line("ALERTS", "none firing")
            if unknown:  # the registry holding the expected accuracy down: "none firing" is not all clear
                self.parts["alerts"].append("  not evaluated: ", style="bold reverse")
                self.parts["alerts"].append_text(safe(unknown))
            if self.env != "production":
                self.parts["alerts"].append("  (alerts are evaluated on production)", style="dim")
            self.query_one("#firing-title", Static).update(
                Text(f"Firing incidents ({len(self.firing)})  enter: open in Incidents", no_wrap=True,
                     overflow="ellipsis"))
            self.query_one("#firing", FilterTable).set_rows(
                (f.id, [severity(f.severity), safe(f.rule), safe(onset(f)), safe(lasted(f, now)),
                        num(f.value, 3), num(f.threshold, 3), safe(_where(f))])
                for f in self.firing)
        self._render_summary()

    def show_error(self, tag: str, error: str) -> None:
        super().show_error(tag, error)
        label = {"incidents": "ALERTS"}.get(tag, tag.upper())
        self.parts["alerts" if tag == "incidents" else tag] = line(label, Text(f"error: {printable(error)}",
                                                                               style="bold"))
        if tag == "health":
            self.parts.pop("burn", None)
        self._render_summary()

    def _summary_text(self) -> Text:
        rows = []
        for name in self.PANELS:
            if name == "burn" and "burn" not in self.parts:
                continue  # comes with health
            rows.append(self.parts.get(name) or line(name.upper(), self._pending(name)))
        return lines(rows)

    def _pending(self, name: str) -> Text:
        """A panel not here yet: what it waits for and for how long (the ready ones already show)."""
        seconds = (self.__dict__.get("_waiting") or {}).get("incidents" if name == "alerts" else name)
        what = {"alerts": "evaluating alert rules", "drift": "computing drift (24h)",
                "quality": "joining labels (24h)", "health": "reading the last hour", "cost": "adding up cost",
                "serving": "reading deployments"}.get(name, "loading")
        return Text(f"{what}... {seconds:.1f} s" if seconds is not None else f"{what}...", style="dim")

    def show_waiting(self, waiting: dict[str, float]) -> None:
        self._waiting = waiting
        if any(name not in self.parts for name in self.PANELS if name != "burn"):
            self._render_summary()

    def _render_summary(self) -> None:
        self.query_one("#summary", Static).update(self._summary_text())

    # ------------------------------------------------------------------ keys

    def action_open(self, name: str) -> None:
        if not self.model:
            self.app.notify("no model selected", severity="warning")
            return
        if name == "incidents":
            self.open_screen("incidents", model=self.model, environment=self.environment)
            return
        self.open_screen(name, model=self.model, environment=self.environment)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value if event.row_key is not None else None
        if key:
            self.open_screen("incidents", model=self.model, environment=self.environment, select=key)

    def commands(self):
        return [(f"Open {n}", (lambda n=n: self.action_open(n)), f"{n} of {self.model}")
                for n in ("drift", "health", "quality", "fairness", "cost", "incidents")] + self.action_commands()


def _p95s(table) -> Text:
    """p95 per row of the Health table (a p95 cannot be averaged across variants): "p95 36ms v3, 39ms v4". A version
    in two rows (the canary promoted within the hour: v4 canary, then v4 champion) is named with its variant, as
    the Health table and `health` name the row: "v4, v4" left the two numbers unattributable."""
    rows = [r for r in table.iter_rows(named=True) if r.get("requests") and r.get("p95_ms") is not None]
    if not rows:
        return Text("p95 -")
    if len(rows) == 1:
        return Text(f"p95 {rows[0]['p95_ms']:,.0f}ms")
    versions = [r.get("version") for r in rows]

    def name(r) -> str:
        twice = versions.count(r.get("version")) > 1 and r.get("variant")
        return f"v{r.get('version')}" + (f" {r['variant']}" if twice else "")

    return Text("p95 ") + safe(", ".join(f"{r['p95_ms']:,.0f}ms {name(r)}" for r in rows))


def _incidents(svc, model: str) -> tuple:
    """(the view's end, the model's findings, why a rule of it was not evaluated), from one rule pass."""
    findings = svc.findings()
    return svc.clock(), [f for f in findings if f.model == model], svc.quality_unknown(findings).get(model, "")


def _cost_summary(cost: dict) -> dict:
    w = cost["windows"][0] if cost["windows"] else None
    b, s = cost["budget"], cost["spike"]
    return {"today": w.today_usd if w else None, "spent": b.spent_usd, "budget_usd_month": b.budget_usd_month,
            "share_used": b.share_used, "projected_share": b.projected_share, "spiking": s.spiking,
            "spike_ratio": s.ratio}


def _where(f) -> str:
    if f.segment:
        return f"{f.segment.get('column')}={f.segment.get('value')}"
    return f.feature or ""


register_screen("model", "Model", ModelScreen, needs_model=True, order=10,
                help="one model: serving, health, quality, drift, cost and firing incidents")
