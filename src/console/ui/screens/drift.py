"""Drift: one model's features by severity, each with its test, score, the condition that means drift,
the verdict in words and a sparkline of its score over time; enter opens a feature's distributions.

Keys: 1 6 2 7 pick the window (1h/6h/24h/7d), w cycles it, enter shows the selected feature's
reference vs current distributions side by side, x re-runs the window exactly over its raw rows (esc
cancels it). Windows over 6 h are scored from the hourly rollups: each score with its error bound, and
BORDER (borderline) where the bound straddles the threshold; `x` is offered (footer, help) only then.
"""

from __future__ import annotations

import math
import time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from console.analytics.windows import parse_window
from console.ui.navigation import register_screen
from console.ui.screens.drift_fetch import drift_report, drift_verdicts, score_or_none
from console.ui.screens.model import WindowedScreen, count, line, lines, num, verdict
from console.ui.text import printable, safe
from console.ui.widgets import Col, FilterTable, TimeChart, sparkline
from console.ui.widgets.sparkline import unicode_ok

TREND_POINTS = 14  # sparkline width in cells (80 columns)
TREND_POINTS_WIDE = 14  # from 120 columns: a fixed column width, so the table never measures it late
TREND_POINTS_XL = 40  # from 160 columns


def _verdict(f: dict) -> Text:
    if f.get("status") == "borderline":
        return Text("BORDER", style="bold")  # within the sketch's bound of the threshold: x settles it
    return verdict(f["drifted"], f["status"])


def _breach(f: dict | None) -> str | None:
    """The comparison that means drift ("p <= 0.05" -> "<="): the chart draws a score past its threshold
    line iff it compares so."""
    parts = str((f or {}).get("direction") or "").split()
    return parts[1] if len(parts) == 3 and parts[1] in ("<", "<=", ">", ">=") else None


def _bound(f: dict) -> Text:
    """A sketch score's bound ("D" when it bounds the KS statistic, not the p-value); "exact" otherwise."""
    b = f.get("bound")
    if f.get("method") != "sketch":
        return Text("exact", style="dim")
    if b is None or (isinstance(b, float) and math.isnan(b)):  # counts folded into "other": no bound is known
        return Text("unknown", style="dim")
    on_d = (f.get("stats") or {}).get("bound_of") == "statistic"
    pm = "\u00b1" if unicode_ok() else "+-"
    return Text(f"{'D' if on_d else ''}{pm}{b:.2g}")


class DriftScreen(WindowedScreen):
    SCREEN_NAME = "drift"
    SCREEN_TITLE = "Drift"
    ERROR_TARGET = "#drift-head"
    DEFAULT_CSS = """
    DriftScreen #features { height: 1fr; }
    DriftScreen #feature-chart { display: none; height: 10; }
    DriftScreen.-h-l #feature-chart { display: block; }
    """
    BINDINGS = [
        Binding("enter", "distributions", "Distributions", id="drift.distributions"),
        Binding("x", "exact", "Exact", id="drift.exact"),
    ]
    COLUMNS = [
        Col("feature", "FEATURE", width=16, wide_width=28, cut_middle=True),
        Col("kind", "KIND", width=11, min_width=100),
        Col("test", "TEST", width=13, min_width=100),
        Col("score", "SCORE", width=7),
        Col("when", "DRIFT WHEN", width=13),
        Col("verdict", "VERDICT", width=7),
        Col("bound", "BOUND", width=8, min_width=100),  # a sketch score's error bound (D: on the KS statistic)
        Col("n", "N", width=7),
        Col("n_ref", "N REF", width=7, min_width=160),
        Col("trend", "TREND", width=TREND_POINTS, wide_width=TREND_POINTS_XL),  # fixed: sized before the first draw
    ]

    def __init__(self, model: str | None = None, environment: str | None = None, window: str | None = None,
                 **kwargs):
        super().__init__(model, environment, window, **kwargs)
        self.report: dict | None = None
        # {"window", "at", "started", "report" | "cancelled" | "error"}: the x re-run of one window ending at one
        # view time (`app.at`, None when live); a step or jump in time drops it as a window change does
        self.exact: dict | None = None
        # the window's scores come from the hourly rollups (the report says so per feature: method "sketch"),
        # so `x` has something to settle; on an exact window (6 h or less, or a small log) it is not offered
        self.from_rollups = False

    def compose_body(self) -> ComposeResult:
        yield Static(self._head(), id="drift-head", classes="head")
        yield FilterTable(self.COLUMNS, id="features")
        yield TimeChart("score over time", lo=0.0, id="feature-chart")  # scores and p-values are >= 0

    def refresh_data(self) -> None:
        if not self.model:
            return
        if self.exact is not None and self.exact.get("at") != self.app.at:
            self.exact = None  # the view moved in time: those raw rows are another window's (one running is dropped)
        model, window, env = self.model, self.window, self.env
        # two phases: the verdicts first (the table shows within a second), then the trends per bucket
        self.fetch("drift", drift_verdicts(model, window, env), key=window)

    def _fetch_series(self) -> None:
        model, window, env = self.model, self.window, self.env
        self.fetch("series", lambda svc: drift_report(svc, model, window, env), key=window)

    def window_changed(self) -> None:
        self.exact = None  # an exact re-run belongs to its window (one still running is dropped when it lands)
        self._set_from_rollups(False)  # not known until the window's report lands
        self.query_one("#drift-head", Static).update(self._head(loading=True))
        super().window_changed()

    def _head(self, loading: bool = False) -> Text:
        rows = [self.window_text()]
        rep = self.report
        ex = self._exact_here()
        if loading or rep is None or rep.get("window") != self.window:
            seconds = (self.__dict__.get("_waiting") or {}).get("drift")
            took = f" {seconds:.1f} s" if seconds is not None else ""
            rows.append(line("DATASET", Text(f"computing drift over {self.window}: every feature against the "
                                             f"reference...{took}", style="dim")))
        elif rep.get("dataset") is None:
            rows.append(line("DATASET", safe(rep.get("note") or "no reference data")))
        else:
            ds = rep["dataset"]
            if not ds["n_evaluated"]:
                # no row in the window at all (not rows without feature values): say so and where the newest is,
                # as the Overview does, since an old log or a view stepped past the data must not read as calm
                note = None if any(f.get("n_cur") for f in rep.get("features", [])) else self.empty_window_note(
                    parse_window(self.window), has_rows=False)
                rows.append(line("DATASET", Text("no data", style="dim"),
                                 note if note is not None else f"no feature had rows in the last {self.window}"))
            else:
                cmp = ">=" if ds["share"] >= ds["threshold"] else "<"
                rows.append(line(
                    "DATASET", verdict(ds["drifted"], {"borderline": "BORDER", "few rows": "few rows"}.get(
                        ds.get("status"), "ok")),
                    f"{ds['n_drifted']}/{ds['n_evaluated']} features drifted = {100 * ds['share']:.0f}% "
                    f"{cmp} threshold {100 * ds['threshold']:.0f}%",
                    Text(f"ref {rep.get('reference_rows', 0):,} rows", style="dim")))
            if rep.get("note"):
                rows.append(line("NOTE", safe(rep["note"])))
            if unusable := unusable_text(rep.get("features", [])):
                rows.append(line("UNUSABLE", unusable))
        if ex is not None:
            rows.append(line("EXACT", self._exact_state(ex)))
        return lines(rows)

    # ------------------------------------------------------------------ the exact re-run (x)

    def _exact_here(self) -> dict | None:
        """The x re-run if it is of the window on show: its length and its end (the view's time cursor)."""
        ex = self.exact
        return ex if ex is not None and ex["window"] == self.window and ex.get("at") == self.app.at else None

    def _exact_state(self, ex: dict) -> Text:
        if "report" in ex:
            return Text(f"scores above are exact over the raw rows of the last {ex['window']} "
                        f"({ex['seconds']:.1f} s); a refresh keeps them until the window changes", style="dim")
        if ex.get("cancelled"):
            return Text("exact re-run cancelled; the sketch scores stand (x runs it again)", style="dim")
        if ex.get("error"):
            return Text("exact re-run failed: ") + safe(ex["error"])
        took = time.monotonic() - ex["started"]
        return Text(f"computing exact drift over the raw rows of the last {ex['window']}... {took:.1f} s  "
                    f"(esc cancels)", style="bold")

    @property
    def exact_running(self) -> bool:
        ex = self.exact
        return ex is not None and not ({"report", "cancelled", "error"} & set(ex))

    def action_exact(self) -> None:
        if not self.model:
            return
        if self.exact_running:
            self.app.notify("the exact re-run is still computing (esc cancels it)", severity="warning")
            return
        model, window, env = self.model, self.window, self.env
        self.exact = {"window": window, "at": self.app.at, "started": time.monotonic()}
        self.query_one("#drift-head", Static).update(self._head())
        self.call_service("exact", lambda svc: drift_report(svc, model, window, env, series=False, exact=True))

    def action_back(self) -> None:
        if self.exact_running:  # esc while the exact re-run computes cancels it, and stays here
            self.exact["cancelled"] = True
            self.app.service.interrupt()  # stops its DuckDB query; what it computes after is dropped
            self.query_one("#drift-head", Static).update(self._head())
            return
        super().action_back()

    def offers(self, binding) -> bool:
        if binding.action == "exact":
            return self.from_rollups
        return super().offers(binding)

    def _set_from_rollups(self, value: bool) -> None:
        if value != self.from_rollups:
            self.from_rollups = value
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back" and self.exact_running:
            return True
        return super().check_action(action, parameters)

    def handle_result(self, tag: str, result: Any) -> None:
        if tag != "exact":
            return super().handle_result(tag, result)
        ex = self.exact
        if ex is None or ex.get("cancelled") or self._exact_here() is None:
            return
        ex.update(report=result, seconds=time.monotonic() - ex["started"])
        self.report = {**result, "series": (self.report or {}).get("series", {})}  # the trend stays the sketches'
        self._draw()

    def handle_error(self, tag: str, error: str) -> None:
        if tag != "exact":
            return super().handle_error(tag, error)
        if self.exact is not None and not self.exact.get("cancelled"):
            self.exact["error"] = error
            self.query_one("#drift-head", Static).update(self._head())

    def show_waiting(self, waiting: dict[str, float]) -> None:
        self._waiting = waiting
        if "exact" in waiting and self.exact_running:
            self.query_one("#drift-head", Static).update(self._head())
        rep = self.report
        if "drift" in waiting and (rep is None or rep.get("window") != self.window):
            self.query_one("#drift-head", Static).update(self._head(loading=True))

    def show(self, tag: str, result: Any) -> None:
        if tag == "series":
            if result.get("window") != self.window:
                return
            self.report = result
        elif tag == "drift":
            if self.report is not None and self.report.get("window") == result.get("window") \
                    and self.report.get("series"):
                result = {**result, "series": self.report["series"]}  # keep the trends until the new ones land
            self.report = result
            self._fetch_series()
        else:
            return
        self._set_from_rollups(any(f.get("method") == "sketch" for f in result.get("features", [])))
        ex = self._exact_here()
        if ex is not None and "report" in ex:
            # the exact scores of this window stay until the window changes; the trend stays the sketches'
            self.report = {**ex["report"], "series": self.report.get("series", {})}
        self._draw()

    def _draw(self) -> None:
        result = self.report
        self.query_one("#drift-head", Static).update(self._head())
        series = result.get("series", {})
        rows = []
        for f in result.get("features", []):
            pts = series.get(f["column"], [])
            trend = sparkline([p[1] for p in pts], self._trend_width())  # scaled per row: the shape shows
            rows.append((f["column"], [
                safe(f["column"]), safe(f["kind"]), safe(f["test"]), num(score_or_none(f["score"]), 3),
                safe(f["direction"]), _verdict(f), _bound(f), count(f["n_cur"]), count(f["n_ref"]),
                trend]))
        table = self.query_one("#features", FilterTable)
        table.set_rows(rows)
        self._show_chart()

    def _trend_width(self) -> int:
        width = self.app.size.width
        return TREND_POINTS_XL if width >= 160 else TREND_POINTS_WIDE if width >= 120 else TREND_POINTS

    def on_resize(self) -> None:
        if self.report is not None:
            self._draw()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_chart()

    def _show_chart(self) -> None:
        table = self.query_one("#features", FilterTable)
        key = table.selected_key
        rep = self.report
        if not key or rep is None:
            return
        pts = rep.get("series", {}).get(key, [])
        feat = next((f for f in rep.get("features", []) if f["column"] == key), None)
        title = f"{printable(key)} {feat['test']} score, drift when {feat['direction']}" if feat else printable(key)
        threshold = feat.get("threshold") if feat else None
        self.query_one("#feature-chart", TimeChart).set_series(
            [p[1] for p in pts], times=[p[0] for p in pts], title=title,
            threshold=threshold if isinstance(threshold, (int, float)) else None, breach=_breach(feat))

    # ------------------------------------------------------------------ distributions

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_distributions()

    def action_distributions(self) -> None:
        key = self.query_one("#features", FilterTable).selected_key
        if not key:
            self.app.notify("no feature selected", severity="warning")
            return
        feat = next((f for f in (self.report or {}).get("features", []) if f["column"] == key), None)
        self.app.push_screen(DistributionScreen(self.model, self.environment, feature=key, window=self.window,
                                                column=feat))

    def selected_id(self) -> str | None:
        return self.query_one("#features", FilterTable).selected_key or self.model

    def commands(self):
        return [*super().commands(),
                ("Feature distributions", self.action_distributions, "reference vs current of the selected feature")]


# ---------------------------------------------------------------------------------------- distributions

EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(share: float, top: float, width: int, ascii: bool | None = None) -> str:
    """A horizontal bar of `share` scaled so `top` fills `width` cells (eighth blocks, or # in ASCII)."""
    use_ascii = (not unicode_ok()) if ascii is None else ascii
    if width <= 0 or top <= 0 or share <= 0:
        return " " * max(width, 0)
    eighths = round(share / top * width * 8)
    full, part = divmod(min(eighths, width * 8), 8)
    if use_ascii:
        text = "#" * full + ("." if part else "")
    else:
        text = "█" * full + (EIGHTHS[part] if part else "")
    if not text:
        text = "." if use_ascii else "▏"  # a non-zero share is never drawn as nothing
    return text.ljust(width)[:width]


def distribution_text(hist, width: int, ascii: bool | None = None) -> Text:
    """Reference and current share per bin, as two bar columns side by side, with labels and percentages."""
    labels = [printable(label) for label in hist.labels]
    label_w = min(max([len(label) for label in labels] + [3]), 22)
    pct_w = 6
    bar_w = max(4, (width - label_w - 2 * (pct_w + 1) - 4) // 2)
    top = max([*hist.ref_share, *hist.cur_share, 0.0])
    out = Text(no_wrap=True, overflow="crop")
    head = "BIN" if hist.edges else "VALUE"
    out.append(head.ljust(label_w) + "  " + "REFERENCE".ljust(bar_w + pct_w + 1) + "  "
               + "CURRENT".ljust(bar_w + pct_w + 1) + "\n", style="bold")
    for i, label in enumerate(labels):
        ref, cur = hist.ref_share[i], hist.cur_share[i]
        cut = label if len(label) <= label_w else label[: label_w - 1] + "~"
        out.append(cut.ljust(label_w) + "  ")
        out.append(bar(ref, top, bar_w, ascii))
        out.append(f"{100 * ref:5.1f}%".rjust(pct_w + 1) + "  ")
        out.append(bar(cur, top, bar_w, ascii), style="bold")
        out.append(f"{100 * cur:5.1f}%".rjust(pct_w + 1))
        if i < len(labels) - 1:
            out.append("\n")
    return out


class DistributionScreen(WindowedScreen):
    """One feature's reference vs current distribution (opened with enter on the Drift screen)."""

    SCREEN_NAME = "distribution"
    SCREEN_TITLE = "Distribution"
    ERROR_TARGET = "#dist"
    DEFAULT_CSS = """
    DistributionScreen #dist-scroll { height: 1fr; padding: 0 1; }
    DistributionScreen #dist { height: auto; }
    """

    def __init__(self, model: str | None = None, environment: str | None = None, *, feature: str = "",
                 window: str | None = None, column: dict | None = None, **kwargs):
        super().__init__(model, environment, window, **kwargs)
        self.feature = feature
        self.column = column
        self.hist = None

    def crumb(self) -> str:
        return self.feature or "Distribution"

    def compose_body(self) -> ComposeResult:
        yield Static(self._head(), id="dist-head", classes="head")
        with VerticalScroll(id="dist-scroll"):
            yield Static(Text("loading distributions...", style="dim"), id="dist")

    def refresh_data(self) -> None:
        if not self.model or not self.feature:
            return
        model, feature, window, env = self.model, self.feature, self.window, self.env
        self.fetch("hist", lambda svc: svc.histograms(model, feature, window), key=window)
        self.fetch("drift", lambda svc: _column(svc, model, feature, window, env), key=window)

    def _head(self) -> Text:
        rows = [self.window_text()]
        c = self.column
        if c is not None:
            rows.append(line("FEATURE", safe(c["column"]), safe(c["kind"]), safe(c["test"]),
                             Text(f"score {score_or_none(c['score']):.3g}" if score_or_none(c["score"]) is not None else "score -"),
                             Text("drift when ") + safe(c["direction"]), verdict(c["drifted"], c["status"])))
            dropped = _dropped(c)
            rows.append(line("ROWS", f"reference {c['n_ref']:,}", f"current {c['n_cur']:,} (last {self.window})",
                             Text(f"{dropped:,} more without a usable value, left out", style="bold")
                             if dropped else "",
                             Text("bars: share of rows per bin, same scale", style="dim")))
        return lines(rows)

    def window_changed(self) -> None:
        self.query_one("#dist-head", Static).update(self._head())
        super().window_changed()

    def show(self, tag: str, result: Any) -> None:
        if tag == "drift":
            if result is not None:
                self.column = result
            self.query_one("#dist-head", Static).update(self._head())
        elif tag == "hist":
            self.hist = result
            self._render_hist()

    def on_resize(self) -> None:
        self._render_hist()

    def _render_hist(self) -> None:
        target = self.query_one("#dist", Static)
        if self.hist is None:
            if "hist" in self.loaded:
                target.update(Text("no reference for this feature", style="dim"))
            return
        width = max(40, self.app.size.width - 4)
        target.update(distribution_text(self.hist, width))

    def selected_id(self) -> str | None:
        return self.feature or self.model


def _dropped(feature: dict) -> int:
    return int((feature.get("stats") or {}).get("dropped") or 0)


def unusable_text(features: list[dict]) -> Text | None:
    """The features some of whose window rows had no usable value (not logged, text where numbers are expected,
    not finite), with how many: their tests ran over the rest, which the N column alone does not tell (the `drift`
    command says the same)."""
    hit = [(f["column"], _dropped(f)) for f in features if _dropped(f)]
    if not hit:
        return None
    out = Text()
    for i, (column, n) in enumerate(hit):
        out.append(", " if i else "")
        out.append_text(safe(column))
        out.append(f" {n:,} rows")
    out.append(" without a usable value, left out of their tests")
    return out


def _column(svc, model: str, feature: str, window: str, environment: str) -> dict | None:
    rep = svc.drift(model, window, environment=environment, series=False, target=False).to_dict()  # nor is the trend
    return next((f for f in rep["features"] if f["column"] == feature), None)


register_screen("drift", "Drift", DriftScreen, needs_model=True, order=20,
                help="feature drift by severity with score trends; enter: distributions")
