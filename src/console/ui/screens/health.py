"""Health: per version/variant traffic, error rate and latency percentiles; the SLO with its multiwindow
burn rates; p95 latency over the window (its x axis is the window, the SLO is a line, deployments D and
the onsets of open incidents ! are marked).

Keys: 1 6 2 7 / w pick the table's window (the SLO burn windows come from the model's config).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from console.ui.navigation import register_screen
from console.ui.screens.model import (WindowedScreen, chart_marks, count, line, lines, ms, num, pct, rate,
                                      slo_verdict, timed)
from console.ui.text import safe
from console.ui.widgets import Col, FilterTable, TimeChart


class HealthScreen(WindowedScreen):
    SCREEN_NAME = "health"
    SCREEN_TITLE = "Health"
    DEFAULT_WINDOW = "1h"
    ERROR_TARGET = "#slo"
    DEFAULT_CSS = """
    HealthScreen #versions { height: 1fr; min-height: 4; }
    HealthScreen #p95 { height: 8; }
    HealthScreen.-h-l #p95 { height: 16; }
    """
    COLUMNS = [
        Col("version", "VERSION", width=8),
        Col("variant", "VARIANT", width=10),
        Col("rpm", "REQ/MIN", width=8),
        Col("requests", "REQUESTS", width=9, min_width=100),
        Col("errors", "ERRORS", width=7, min_width=120),
        Col("err", "ERR%", width=6),
        Col("p50", "P50ms", width=7),
        Col("p95", "P95ms", width=7),
        Col("p99", "P99ms", width=7),
    ]

    def compose_body(self) -> ComposeResult:
        yield Static(self.window_text(), id="health-head", classes="head")
        yield FilterTable(self.COLUMNS, id="versions")
        yield Static(Text("SLO  loading...", style="dim"), id="slo", classes="head")
        yield TimeChart("p95 latency", unit="ms", lo=0.0, id="p95")  # a latency axis never goes below 0

    def refresh_data(self) -> None:
        if not self.model:
            return
        model, window, env = self.model, self.window, self.env
        self.fetch("health", lambda svc: _health(svc, model, window, env), key=window)
        self.fetch("marks", lambda svc: chart_marks(svc, model, env))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.marks: list = []
        self.p95: dict | None = None
        self.note: str | None = None

    def window_changed(self) -> None:
        self.note = None  # the new window's result says whether it came from rollups
        self.window_rows = None
        self.query_one("#health-head", Static).update(self.window_text())
        super().window_changed()

    def window_text(self) -> Text:
        """The window keys, and for a window read from hourly rollups how close its percentiles are (on the
        same line: the layout does not change)."""
        out = super().window_text()
        if getattr(self, "note", None):
            out.append("  ")
            out.append(safe(self.note).plain, style="dim")  # data-safe text (the note may name a remote path)
        return out

    def show(self, tag: str, result: Any) -> None:
        if tag == "marks":
            self.marks = result
            self._chart()
            return
        if tag != "health":
            return
        self.note = result.get("note")
        self.window_rows = any(r.get("requests") for r in result["rows"])
        self.query_one("#health-head", Static).update(self.window_text())
        self.query_one("#versions", FilterTable).set_rows(
            (f"{r.get('version')}\x00{r.get('variant')}", [
                safe(f"v{r['version']}" if r.get("version") else "-"), safe(r.get("variant") or "-"),
                num(r.get("throughput_rpm"), 1), count(r.get("requests")), count(r.get("errors")),
                pct(r.get("error_rate"), 2), ms(r.get("p50_ms")), ms(r.get("p95_ms")), ms(r.get("p99_ms"))])
            for r in result["rows"])
        self.query_one("#slo", Static).update(self._slo_text(result["slo"]))
        self.p95 = result
        self._chart()

    def _chart(self) -> None:
        if self.p95 is None:
            return
        values, times = self.p95["p95"]
        slo_ms = self.app.cfg.model(self.model).slo.p95_ms
        self.query_one("#p95", TimeChart).set_series(
            values, times=times, window=self.p95["range"], threshold=slo_ms, marks=self.marks, breach=">",
            title=f"p95 per {self.p95['every']}, {self.window} (SLO {slo_ms:g}ms; D deploy, ! incident)")

    def _slo_text(self, slo) -> Text:
        target = self.app.cfg.model(self.model).slo
        verdict = slo_verdict(slo, "ALERT: burning", over=True)

        def burn_line(label: str, short, long, alert: bool) -> Text:
            # the verdict is the burn rule's (`slo_verdict`): its window, and too few requests said as it says them
            return line(label, f"{short.window} {rate(short.burn_rate)}", f"{long.window} {rate(long.burn_rate)}",
                        verdict if alert else
                        # no request in either window is no evidence: "ok" there read as a healthy service
                        Text("no data", style="dim") if short.burn_rate is None and long.burn_rate is None else
                        Text("ok") if slo.alert else Text(verdict.plain.removeprefix("SLO "), style=verdict.style),
                        width=10)

        head = line("SLO", f"p95 <= {target.p95_ms:g}ms (budget {100 * slo.latency_short.budget:g}% slow)",
                    f"errors <= {100 * target.error_rate:g}%",
                    Text(f"alert when burn > {slo.factor:g}x over {slo.error_short.window}", style="dim"), width=10)
        return lines([head,
                      burn_line(" errors", slo.error_short, slo.error_long, slo.error_alert),
                      burn_line(" latency", slo.latency_short, slo.latency_long, slo.latency_alert)])


def _health(svc, model: str, window: str, environment: str) -> dict:
    """Runs in the worker: plain rows, the SLO status and the p95 series."""
    h = svc.health(model, window, environment=environment)
    return {"rows": h["table"].to_dicts(), "slo": h["slo"], "p95": timed(h["series"], "p95_ms"),
            "range": h["range"], "every": h["every"], "note": h.get("note")}


register_screen("health", "Health", HealthScreen, needs_model=True, order=30,
                help="traffic, errors, latency percentiles and SLO burn rates by version")
