"""Version diff (`:version-diff`, for a model): two versions side by side: code commit, dataset digests,
params and metrics. A row that differs is marked `≠` (`!=` on ASCII terminals), one present on one side
only `+`/`-`, equal rows `=`: the marker is a symbol, never colour alone. `d` shows only differences.

Opened from the versions screen (x on one version, x on another); from the palette it compares the
production champion with the newest version (or the two newest).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from console.analytics.gates import direction
from console.ui.navigation import register_screen
from console.ui.screens.base import ConsoleScreen
from console.ui.screens.registry import vtext
from console.ui.text import safe
from console.ui.widgets import Col, FilterTable, glyph

MISSING = None


def load_diff(svc, model: str, a: str | None, b: str | None) -> dict[str, Any]:
    """Worker: picks the versions when not given (champion vs newest), reads both lineages."""
    if not a or not b:
        versions = [v.version for v in svc.versions(model)]
        champion = svc.alias_version(model, "champion")
        newest = versions[0] if versions else None
        if champion and newest and champion != newest:
            a, b = champion, newest
        elif len(versions) >= 2:
            a, b = versions[1], versions[0]
        else:
            return {"a": a, "b": b, "rows": [], "note": "fewer than two versions: nothing to compare"}
    la, lb = svc.lineage(model, a), svc.lineage(model, b)
    va, vb = svc.model_version(model, a), svc.model_version(model, b)
    return {"a": a, "b": b, "rows": diff_rows(la, lb, va, vb), "note": ""}


def diff_rows(la, lb, va=None, vb=None) -> list[tuple[str, str, Any, Any]]:
    """(kind, name, value in A, value in B) for code, datasets, params, metrics; MISSING on a side lacking it."""
    rows: list[tuple[str, str, Any, Any]] = []
    commit_a = la.git_commit or (va.tags.get("git_commit") if va else None)
    commit_b = lb.git_commit or (vb.tags.get("git_commit") if vb else None)
    rows.append(("code", "git commit", commit_a, commit_b))
    rows.append(("code", "run", la.run_id, lb.run_id))
    da = {name: digest for name, digest, _ in la.datasets}
    db = {name: digest for name, digest, _ in lb.datasets}
    if da or db:
        # dataset names usually carry a date: compare by context ("training") when names differ
        ca = {ctx or name: (name, digest) for name, digest, ctx in la.datasets}
        cb = {ctx or name: (name, digest) for name, digest, ctx in lb.datasets}
        for key in sorted(set(ca) | set(cb)):
            a, b = ca.get(key), cb.get(key)
            rows.append(("dataset", f"{key} name", a[0] if a else MISSING, b[0] if b else MISSING))
            rows.append(("dataset", f"{key} digest", a[1] if a else MISSING, b[1] if b else MISSING))
    for name in sorted(set(la.params) | set(lb.params)):
        rows.append(("param", name, la.params.get(name, MISSING), lb.params.get(name, MISSING)))
    for name in sorted(set(la.metrics) | set(lb.metrics)):
        rows.append(("metric", name, la.metrics.get(name, MISSING), lb.metrics.get(name, MISSING)))
    return rows


def marker(a, b) -> str:
    if a is MISSING and b is not MISSING:
        return "+"
    if b is MISSING and a is not MISSING:
        return "-"
    return "=" if a == b else glyph("≠", "!=")


def fmt(value) -> str:
    if value is MISSING:
        return "(none)"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def metric_note(name: str, a, b) -> str:
    """`better`/`worse` for B against A when the metric's name says which way is better."""
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or a == b:
        return ""
    sign = direction(name)
    if sign == 0:
        return f"{b - a:+.4g}"
    return f"{b - a:+.4g} " + ("better" if (b - a) * sign > 0 else "worse")


class VersionDiffScreen(ConsoleScreen):
    SCREEN_NAME = "version-diff"
    SCREEN_TITLE = "Diff"
    DEFAULT_CSS = """
    VersionDiffScreen #diff-head { height: 1; padding: 0 1; }
    """
    BINDINGS = [Binding("d", "toggle_same", "Only diffs", id="diff.only")]
    COLUMNS = [
        Col("mark", "", width=2),
        Col("kind", "KIND", width=7),
        Col("name", "NAME", width=20, wide_width=30),
        Col("a", "A", width=18, wide_width=34),
        Col("b", "B", width=18, wide_width=34),
        Col("note", "B vs A", width=14, min_width=100),
    ]

    def __init__(self, model: str | None = None, environment: str | None = None, a: str | None = None,
                 b: str | None = None, **kwargs):
        super().__init__(model, environment, **kwargs)
        self.a, self.b = a, b
        self.rows: list[tuple[str, str, Any, Any]] = []
        self.only_diffs = False
        self.note = ""
        self.loaded = False

    def crumb(self) -> str:
        return f"Diff {vtext(self.a)} {vtext(self.b)}" if self.a and self.b else "Diff"

    def compose_body(self) -> ComposeResult:
        yield Static("reading both versions...", id="diff-head")
        yield FilterTable(self.COLUMNS, id="diff")

    def on_mount(self) -> None:
        self.focus_table()
        if self.model:
            model, a, b = self.model, self.a, self.b
            self.call_service("diff", lambda svc: load_diff(svc, model, a, b))

    def handle_result(self, tag: str, result: Any) -> None:
        if tag != "diff":
            return
        self.loaded = True
        self.a, self.b, self.rows, self.note = result["a"], result["b"], result["rows"], result["note"]
        self.update_breadcrumb()
        self._redraw()

    def _redraw(self) -> None:
        table = self.query_one("#diff", FilterTable)
        shown = []
        for i, (kind, name, a, b) in enumerate(self.rows):
            mark = marker(a, b)
            if self.only_diffs and mark == "=":
                continue
            differs = mark != "="
            style = "bold" if differs else ""
            shown.append((f"{i}", [Text(mark, style="bold reverse" if differs else "dim"), safe(kind),
                                   safe(name, style=style), safe(fmt(a), style=style), safe(fmt(b), style=style),
                                   safe(metric_note(name, a, b) if kind == "metric" else "")]))
        table.set_rows(shown)
        n = sum(1 for _, _, a, b in self.rows if marker(a, b) != "=")
        head = Text("A ", style="bold")
        head.append_text(safe(vtext(self.a), style="bold"))
        head.append("  B ", style="bold")
        head.append_text(safe(vtext(self.b), style="bold"))
        head.append(f"  {n} of {len(self.rows)} differ ({glyph('≠', '!=')} differs, + only in B, - only in A)")
        if self.only_diffs:
            head.append("  only differences (d: all)", style="dim")
        if self.note:
            head.append("  ")
            head.append_text(safe(self.note))
        self.query_one("#diff-head", Static).update(head)

    def action_toggle_same(self) -> None:
        self.only_diffs = not self.only_diffs
        self._redraw()

    def commands(self):
        return [("Only differences" if not self.only_diffs else "All rows", self.action_toggle_same,
                 "d: hide the rows that are equal")]


register_screen("version-diff", "Version diff", VersionDiffScreen, needs_model=True,
                help="two versions side by side: params, metrics, datasets, commit", order=12)
