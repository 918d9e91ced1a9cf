"""Versions (`:versions`, for a model): every version with aliases, created, status, run and key metrics;
the selected version's lineage below (git commit, datasets and digests, params, metrics; a prompt's text).

Keys: x marks a version for diff, x on another version opens the version diff; e cycles the
environment actions apply to; the action keys (P promote the selected version, + F A R T S for the
model) go through the confirmation dialog (`console.ui.screens.action_flow`).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from console.aliases import alias_name
from console.analytics.gates import direction
from console.ui.navigation import register_screen
from console.ui.screens.action_flow import ActionsMixin, action_bindings
from console.ui.screens.base import ConsoleScreen
from console.ui.screens.registry import aliases_text, status_line, vtext, when
from console.ui.text import safe
from console.ui.widgets import Col, FilterTable

MAX_LINEAGE = 50  # lineage (a run read per version) for the newest versions only
PROMPT_TEXT_TAG = "mlflow.prompt.text"


def key_metrics(metrics: dict[str, float], limit: int = 3) -> str:
    """The metrics that say better/worse first (auc, mae, ...), then the rest, as `name=value`."""
    names = sorted(metrics, key=lambda n: (direction(n) == 0, n))
    return " ".join(f"{n}={metrics[n]:.4g}" for n in names[:limit])


def load_versions(svc, model: str) -> dict[str, Any]:
    """Worker: the versions, newest first. Their lineage (a run read per version, most of a second for a
    few) is the second phase, `load_lineage`, so the list shows first."""
    return {"versions": svc.versions(model)}


def load_lineage(svc, model: str, versions: list[str]) -> dict[str, Any]:
    """Worker: the lineage of each of `versions`; one unreadable run is an error of its own."""
    lineages, errors = {}, {}
    for version in versions:
        try:
            lineages[version] = svc.lineage(model, version)
        except Exception as exc:  # noqa: BLE001 - one unreadable run must not hide the list
            errors[version] = f"{type(exc).__name__}: {exc}"
    return {"lineages": lineages, "errors": errors}


class VersionsScreen(ActionsMixin, ConsoleScreen):
    SCREEN_NAME = "versions"
    SCREEN_TITLE = "Versions"
    DEFAULT_CSS = """
    VersionsScreen #versions-head { height: 1; padding: 0 1; }
    VersionsScreen #versions-head.-degraded { height: auto; max-height: 3; }
    VersionsScreen #versions { height: 1fr; min-height: 5; }
    VersionsScreen #lineage { height: auto; max-height: 9; padding: 0 1; border-top: solid $panel-lighten-2; }
    VersionsScreen.-h-l #lineage { max-height: 16; }
    """
    BINDINGS = [
        Binding("x", "mark", "Mark/diff", id="versions.mark"),
        Binding("e", "cycle_env", "Env", id="versions.env"),
        *action_bindings(),
    ]
    COLUMNS = [
        Col("version", "VER", width=5),
        Col("aliases", "ALIASES", width=20, wide_width=36),
        Col("created", "CREATED", width=11),
        Col("status", "STATUS", width=8, min_width=100),
        Col("run", "RUN", width=8, min_width=90),
        Col("metrics", "KEY METRICS", width=30, wide_width=50),
        Col("mark", "", width=4),
    ]

    def __init__(self, model: str | None = None, environment: str | None = None, **kwargs):
        super().__init__(model, environment, **kwargs)
        self.versions: dict[str, Any] = {}  # version -> VersionInfo, newest first
        self.lineages: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.marked: str | None = None
        self.loaded = False
        self.failed: str | None = None  # why the last read of the versions failed (the registry down), until one works
        self._lineage_loading = False

    def crumb(self) -> str:
        return "Versions"

    @property
    def env(self) -> str:
        return self.environment or "production"

    def compose_body(self) -> ComposeResult:
        yield Static(id="versions-head")
        yield FilterTable(self.COLUMNS, id="versions")
        yield Static(id="lineage")

    @property
    def table(self) -> FilterTable:
        return self.query_one("#versions", FilterTable)

    def on_mount(self) -> None:
        self.focus_table()
        self._render_head()
        self.load()
        self.flow.refresh_state(self.env)

    def load(self) -> None:
        if not self.model:
            return
        model = self.model  # (asked while a read runs: read again when it lands, `read`; begun before an alias moved)
        self.read("versions", lambda svc: load_versions(svc, model))

    def _load_lineage(self) -> None:
        """The second phase: the runs of the listed versions not read yet."""
        wanted = [v for v, info in list(self.versions.items())[:MAX_LINEAGE]
                  if v not in self.lineages and v not in self.errors and info.run_id]
        if not wanted or self._lineage_loading:
            return
        self._lineage_loading = True
        model = self.model
        self.call_service("lineage", lambda svc: load_lineage(svc, model, wanted))

    def show_snapshot(self, snap) -> None:
        self.load()  # the action state is read again when the aliases move (handle_result)

    def after_action(self, result) -> None:
        self.load()
        self.flow.refresh_state(self.env)

    # ------------------------------------------------------------------ results

    def handle_result(self, tag: str, result: Any) -> None:
        if self.flow.handle_result(tag, result):
            self._render_head()
            return
        if tag == "versions":
            self.loaded, self.failed = True, None
            before = {v: info.aliases for v, info in self.versions.items()}
            self.versions = {v.version: v for v in result["versions"]}
            if before and before != {v: info.aliases for v, info in self.versions.items()}:
                self.flow.refresh_state(self.env)
            self.table.set_rows((v, self._cells(info)) for v, info in self.versions.items())
            self._render_head()
            self._render_lineage()
            self._load_lineage()
        elif tag == "lineage":
            self._lineage_loading = False
            self.lineages.update(result["lineages"])
            self.errors.update(result["errors"])
            self.table.set_rows((v, self._cells(info)) for v, info in self.versions.items())
            self._render_lineage()
            self._load_lineage()  # versions listed while it ran (skipped then: one lineage read at a time)

    def handle_error(self, tag: str, error: str) -> None:
        if tag == "versions":
            first, self.failed = self.failed is None, error
            self._render_head()
            self._render_lineage()
            if not first:  # said on the screen: one toast per outage, not one per refresh (the registry's
                return  # "not asked again for 9 s" made each one new, and they covered the screen)
        elif tag == "lineage":
            self._lineage_loading = False
        super().handle_error(tag, error)

    def _cells(self, v) -> list:
        lin = self.lineages.get(v.version)
        metrics = key_metrics(lin.metrics) if lin is not None else ("prompt" if PROMPT_TEXT_TAG in v.tags else "-")
        mark = Text("[x]", style="bold reverse") if v.version == self.marked else Text("")
        return [safe(vtext(v.version), style="bold" if v.aliases else ""),
                aliases_text({a: v.version for a in v.aliases}), Text(when(v.created)), safe(v.status),
                safe((v.run_id or "-")[:8]), safe(metrics), mark]

    def _render_head(self) -> None:
        # degraded, the head takes the lines its reason needs: on one line, 80 columns cut it at "registry URL is"
        self.query_one("#versions-head", Static).set_class(self.failed is not None, "-degraded")
        if self.failed is not None:  # an empty list read as "no versions"; a full one as the registry's now
            head = Text()
            head.append("registry DEGRADED", style="bold reverse")
            head.append(" (list as last read)" if self.versions else " (no versions read)", style="bold")
            head.append(" ")
            head.append_text(safe(self.failed))
            self.query_one("#versions-head", Static).update(head)
            return
        at = self.app.at
        if at is not None:  # the registry has no history of its aliases: say whose they are
            head = Text(f"aliases as the registry holds them now, not at {at:%Y-%m-%d %H:%M}Z", style="bold")
            head.append("  (l: live)", style="dim")
            self.query_one("#versions-head", Static).update(head)
            return
        head = Text("actions act on ", style="dim")
        head.append_text(safe(self.env, style="bold"))
        if self.app.cfg.environment(self.env).production:
            head.append(" PROD", style="bold reverse")
        head.append("  (e: other environment)", style="dim")
        if self.marked:
            head.append("  marked ")
            head.append_text(safe(vtext(self.marked), style="bold"))
            head.append(": x on another version to diff", style="dim")
        state = self.flow.states.get(self.env)
        if state is not None and state.is_prompt:
            head.append("  PROMPT", style="bold reverse")
        self.query_one("#versions-head", Static).update(head)

    def _render_lineage(self) -> None:
        self.query_one("#lineage", Static).update(self.lineage_text(self.selected_version()))

    def lineage_text(self, version: str | None) -> Text:
        if version is None or version not in self.versions:
            said = "no version selected" if self.loaded else "reading the registry..."
            if self.failed is not None:  # (not "did not answer" when there is none to ask)
                said = "the registry did not answer" if self.app.cfg.tracking_uri else "no registry configured"
            return Text(said, style="dim")
        v = self.versions[version]
        lin = self.lineages.get(version)
        lines: list[Text] = [status_line(Text(f"LINEAGE {vtext(version)}", style="bold"),
                                         Text("run ") + safe(v.run_id or "-"),
                                         Text("created ") + Text(when(v.created)))]
        if PROMPT_TEXT_TAG in v.tags:
            lines.append(Text("PROMPT TEXT", style="bold"))
            for row in str(v.tags[PROMPT_TEXT_TAG]).splitlines()[:6]:
                lines.append(safe("  " + row))
            return Text("\n").join(lines)
        if version in self.errors:
            lines.append(Text("lineage unavailable: ", style="bold") + safe(self.errors[version]))
            return Text("\n").join(lines)
        if lin is None:
            newest = version in list(self.versions)[:MAX_LINEAGE]
            lines.append(Text("no run recorded for this version" if not v.run_id else "reading its run..."
                              if newest else f"lineage not read (only the newest {MAX_LINEAGE} versions)",
                              style="dim"))
            return Text("\n").join(lines)
        lines.append(_field("COMMIT", safe(lin.git_commit or v.tags.get("git_commit") or "-")))
        datasets = Text(no_wrap=True, overflow="ellipsis")
        for i, (name, digest, context) in enumerate(lin.datasets):
            if i:
                datasets.append("; ")
            datasets.append_text(safe(name))
            datasets.append(" ")
            datasets.append_text(safe(f"({digest}{', ' + context if context else ''})", style="dim"))
        lines.append(_field("DATASETS", datasets if lin.datasets else Text("-")))
        lines.append(_field("PARAMS", safe(" ".join(f"{k}={lin.params[k]}" for k in sorted(lin.params)) or "-")))
        lines.append(_field("METRICS", safe(" ".join(f"{k}={lin.metrics[k]:.4g}" for k in sorted(lin.metrics))
                                            or "-")))
        return Text("\n").join(lines)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._render_lineage()
        self.refresh_bindings()

    # ------------------------------------------------------------------ selection, diff, env

    def selected_version(self) -> str | None:
        return self.table.selected_key if self.is_mounted else None

    def selected_id(self) -> str | None:
        v = self.selected_version()
        return f"models:/{self.model}/{v}" if v else self.model

    def action_target(self, action_id: str) -> tuple[str, str | None]:
        return self.env, (self.selected_version() if action_id == "promote" else None)

    def update_breadcrumb(self) -> None:
        super().update_breadcrumb()
        if self.is_mounted:
            self._render_head()  # the time cursor moved: the head says whose aliases these are

    def hide_in_footer(self, binding) -> bool:
        """`P` on the champion's own row has nothing to promote (its dialog offered every strategy BLOCKED): left
        out of the footer; the key still says why."""
        if binding.action == "act('promote')":
            info = self.versions.get(self.selected_version() or "")
            if info is not None and alias_name(self.env, "champion") in info.aliases:
                return True
        return super().hide_in_footer(binding)

    def action_mark(self) -> None:
        version = self.selected_version()
        if version is None:
            self.app.notify("no version selected", severity="warning")
            return
        if self.marked is None or self.marked == version:
            self.marked = None if self.marked == version else version
            self.table.set_rows((v, self._cells(info)) for v, info in self.versions.items())
            self._render_head()
            return
        first, self.marked = self.marked, None
        self.table.set_rows((v, self._cells(info)) for v, info in self.versions.items())
        self._render_head()
        from console.ui.screens.version_diff import VersionDiffScreen

        self.app.push_screen(VersionDiffScreen(self.model, self.environment, a=first, b=version))

    def action_cycle_env(self) -> None:
        envs = list(dict.fromkeys(["production", *self.app.cfg.environments]))
        self.environment = envs[(envs.index(self.env) + 1) % len(envs)] if self.env in envs else envs[0]
        self._render_head()
        self.update_breadcrumb()
        self.refresh_bindings()
        self.flow.refresh_state(self.env)

    def commands(self):
        out = []
        v = self.selected_version()
        if v:
            out.append((f"Mark v{v} for diff", self.action_mark, "x: mark, x on another version: diff"))
        out.append(("Other environment for actions", self.action_cycle_env, f"now {self.env}"))
        return out + self.action_commands()


def _field(label: str, value: Text) -> Text:
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(label.ljust(9), style="bold")
    out.append_text(value)
    return out


register_screen("versions", "Versions", VersionsScreen, needs_model=True,
                help="versions, aliases and lineage of a model; x x diffs two versions", order=11)
