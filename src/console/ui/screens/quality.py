"""Quality: classifier metrics (accuracy, precision, recall, F1, ROC AUC) or regressor metrics (MAE, RMSE,
MAPE) with the labelled share, overall for the window and per version, and the primary metric over time.

Keys: 1 6 2 7 / w pick the window; the summary line, the per-version table and the chart all cover it (the one
`Service.quality` result the CLI's `quality` prints).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from console.ui.navigation import register_screen
from console.ui.screens.model import WindowedScreen, count, line, lines, num, pct, timed
from console.ui.text import safe
from console.ui.widgets import Col, FilterTable, TimeChart

CLASSIFICATION = (("accuracy", "ACC"), ("precision", "PREC"), ("recall", "REC"), ("f1", "F1"), ("roc_auc", "AUC"))
REGRESSION = (("mae", "MAE"), ("rmse", "RMSE"), ("mape", "MAPE"))


def task_of(cfg, model: str) -> str:
    task = cfg.model(model).task if model else "classification"
    return "regression" if task == "regression" else "classification"


def metric_cols(task: str) -> tuple[tuple[str, str], ...]:
    return REGRESSION if task == "regression" else CLASSIFICATION


def metric_cell(name: str, value) -> Text:
    return pct(value, 1) if name == "mape" else num(value, 3)


class QualityScreen(WindowedScreen):
    SCREEN_NAME = "quality"
    SCREEN_TITLE = "Quality"
    ERROR_TARGET = "#quality-head"
    DEFAULT_CSS = """
    QualityScreen #by-version { height: 1fr; min-height: 4; }
    QualityScreen #primary { height: 10; }
    QualityScreen.-h-l #primary { height: 18; }
    """

    def compose_body(self) -> ComposeResult:
        self.ml_task = task_of(self.app.cfg, self.model)
        cols = [Col("version", "VERSION", width=8), Col("n", "N", width=8),
                Col("labelled", "LABELLED", width=9, min_width=100), Col("share", "LBL%", width=6)]
        cols += [Col(name, label, width=7) for name, label in metric_cols(self.ml_task)]
        yield Static(self._head(None), id="quality-head", classes="head")
        yield FilterTable(cols, id="by-version")
        yield TimeChart("primary metric over time", id="primary")

    def refresh_data(self) -> None:
        if not self.model:
            return
        model, window, env = self.model, self.window, self.env
        self.fetch("quality", lambda svc: _quality(svc, model, window, env), key=window)

    def window_changed(self) -> None:
        self.window_rows = None
        self.query_one("#quality-head", Static).update(self._head(None, loading=True))
        super().window_changed()

    def _head(self, q, loading: bool = False, note: str | None = None) -> Text:
        rows = [self.window_text()]
        if q is None or loading:
            rows.append(line("NOW", Text("loading...", style="dim")))
            return lines(rows)
        share = f"{100 * q.labelled_share:.1f}%" if q.labelled_share is not None else "0%"
        rows.append(line("NOW", Text(q.task, style="dim"), f"n {q.n:,}", f"labelled {q.n_labelled:,} ({share})"))
        parts = []
        for name, label in metric_cols(self.ml_task):
            value = q.metrics.get(name)
            cell = metric_cell(name, value).plain
            parts.append(f"{label.lower()} {cell}")
        if not q.n_labelled:
            parts.append("(no labels in this window yet)")
        rows.append(line("", *parts))
        if note:  # read from hourly rollups (data-safe: the note may name a remote path)
            rows.append(line("SOURCE", Text(safe(note).plain, style="dim")))
        return lines(rows)

    def show(self, tag: str, result: Any) -> None:
        if tag != "quality":
            return
        self.window_rows = bool(result["now"].n)
        self.query_one("#quality-head", Static).update(self._head(result["now"], note=result.get("note")))
        names = [name for name, _ in metric_cols(self.ml_task)]
        self.query_one("#by-version", FilterTable).set_rows(
            (f"{r.get('version')}|{r.get('variant') or ''}", [
                safe((f"v{r['version']}" if r.get("version") is not None else "-")
                     + (f" {r['variant']}" if r.get("variant") else "")), count(r.get("n")),
                count(r.get("n_labelled")), pct(r.get("labelled_share"), 0),
                *[metric_cell(name, r.get(name)) for name in names]])
            for r in result["by_version"])
        primary = "mae" if self.ml_task == "regression" else "accuracy"
        values, times = result["series"]
        better = "lower is better" if primary == "mae" else "higher is better"
        self.query_one("#primary", TimeChart).set_series(
            values, times=times, window=result["range"],
            title=f"{primary} per {result['every']}, last {self.window} ({better})")


def _quality(svc, model: str, window: str, environment: str) -> dict:
    q = svc.quality(model, window, environment=environment)
    primary = "mae" if q["now"].task == "regression" else "accuracy"
    return {"now": q["now"], "by_version": q["by_version"].to_dicts(), "series": timed(q["series"], primary),
            "note": q.get("note"), "range": q["range"], "every": q["every"]}


register_screen("quality", "Quality", QualityScreen, needs_model=True, order=40,
                help="accuracy/F1/AUC or MAE/RMSE/MAPE, labelled share, per version and over time")
