"""Fairness: quality by segment value (with n), the worst segment marked, and the selection-rate and
true-positive-rate gaps (difference and ratio) across the values of each sensitive column.

Both tables cover the model's 7-day history. tab moves between the segment and the gap table.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from console.ui.navigation import register_screen
from console.ui.screens.model import MonitorScreen, count, line, lines, num
from console.ui.screens.quality import metric_cell, metric_cols, task_of
from console.ui.text import safe
from console.ui.widgets import Col, FilterTable
from console.ui.widgets.sparkline import glyph


def worst_mark() -> str:
    return glyph("▶", ">")


class FairnessScreen(MonitorScreen):
    SCREEN_NAME = "fairness"
    SCREEN_TITLE = "Fairness"
    ERROR_TARGET = "#fair-head"
    DEFAULT_CSS = """
    FairnessScreen #segments { height: 1fr; min-height: 5; }
    FairnessScreen #gaps { height: 6; }
    FairnessScreen.-h-l #gaps { height: 10; }
    FairnessScreen.-no-gaps #gaps { display: none; }
    """
    GAP_COLUMNS = [
        Col("column", "SENSITIVE", width=14),
        Col("groups", "GROUPS", width=7),
        Col("sel_diff", "SEL DIFF", width=8),
        Col("sel_ratio", "SEL RATIO", width=9),
        Col("tpr_diff", "TPR DIFF", width=8),
        Col("tpr_ratio", "TPR RATIO", width=9),
        Col("low_sel", "LOWEST SELECTION", width=22, min_width=120),
    ]

    def compose_body(self) -> ComposeResult:
        self.ml_task = task_of(self.app.cfg, self.model)
        metrics = metric_cols(self.ml_task)
        cols = [Col("mark", " ", width=1), Col("column", "COLUMN", width=12, wide_width=18),
                Col("value", "VALUE", width=13, wide_width=20), Col("n", "N", width=7),
                Col("labelled", "LABELLED", width=8, min_width=100)]
        for i, (name, label) in enumerate(metrics):
            # the fifth classifier metric (AUC) shows from 100 columns: the rest fit in 80
            cols.append(Col(name, label, width=6, min_width=100 if i >= 4 else 0))
        yield Static(Text("loading...", style="dim"), id="fair-head", classes="head")
        yield FilterTable(cols, id="segments")
        yield Static("Gaps across sensitive columns", id="gaps-title", classes="title")
        yield FilterTable(self.GAP_COLUMNS, id="gaps")

    def refresh_data(self) -> None:
        if not self.model:
            return
        model, env = self.model, self.env
        self.fetch("fairness", lambda svc: svc.fairness(model, environment=env))

    def show(self, tag: str, result: Any) -> None:
        if tag != "fairness":
            return
        worst = result.get("worst")
        names = [name for name, _ in metric_cols(self.ml_task)]
        rows = []
        for s in result.get("segments", []):
            is_worst = worst is not None and s.column == worst.column and str(s.group) == str(worst.group)
            style = "bold" if is_worst else ""
            rows.append((f"{s.column}={s.group}", [
                Text(worst_mark() if is_worst else " ", style="bold"), safe(s.column, style), safe(s.group, style),
                count(s.n), count(s.n_labelled), *[metric_cell(n, s.metrics.get(n)) for n in names]]))
        self.query_one("#segments", FilterTable).set_rows(rows)
        self.query_one("#fair-head", Static).update(self._head(worst, result))
        gaps = result.get("gaps", {})
        self.query_one("#gaps", FilterTable).set_rows(
            (col, [safe(col), count(len(g.groups)), num(g.selection_rate_difference, 3),
                   num(g.selection_rate_ratio, 2), num(g.tpr_difference, 3), num(g.tpr_ratio, 2),
                   safe(_lowest(g))])
            for col, g in gaps.items())
        title = "Gaps across sensitive columns (difference max-min, ratio min/max; 1.0 is parity)"
        self.set_class(not gaps, "-no-gaps")
        if not gaps:
            title = ("Gaps: selection-rate and TPR gaps apply to classifiers" if self.ml_task == "regression"
                     else "Gaps: no sensitive columns configured for this model")
        self.query_one("#gaps-title", Static).update(Text(title, no_wrap=True, overflow="ellipsis"))

    def _head(self, worst, result) -> Text:
        if worst is None:
            reason = "no segment has enough labelled rows" if result.get("segments") else "no segment columns configured"
            cfg = self.app.cfg.model(self.model)
            if not result.get("segments") and (cfg.segments or cfg.sensitive):
                # no row in the history (a view before the log, or after it stopped) is not a missing config:
                # it said "no segment columns configured" where the CLI says the window has no rows
                empty = self.empty_window_note(timedelta(days=7), has_rows=False)
                if empty is not None:
                    return line("WORST", empty, width=7)
                reason = "no served row of this environment in the history"
            return line("WORST", safe(reason, "dim"), width=7)
        metric_text = metric_cell(worst.metric, worst.value).plain
        return lines([line("WORST", Text(worst_mark(), style="bold"), safe(f"{worst.column}={worst.group}", "bold"),
                           f"{worst.metric} {metric_text}", f"n {worst.n:,} ({worst.n_labelled:,} labelled)",
                           Text("7-day history", style="dim"), width=7)])

    def selected_id(self) -> str | None:
        table = self.active_table()
        return table.selected_key if table is not None and table.selected_key else self.model


def _lowest(g) -> str:
    groups = [x for x in g.groups if x.selection_rate is not None]
    if not groups:
        return "-"
    low = min(groups, key=lambda x: x.selection_rate)
    return f"{low.group} {100 * low.selection_rate:.1f}%"


register_screen("fairness", "Fairness", FairnessScreen, needs_model=True, order=50,
                help="quality by segment with the worst marked; selection-rate and TPR gaps")
