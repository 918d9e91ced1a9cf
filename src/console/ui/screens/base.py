"""The base every console screen subclasses: breadcrumb, footer, too-small guard, `/`, esc, `y`, palette hooks.

Writing a screen::

    from console.ui.navigation import register_screen
    from console.ui.screens.base import ConsoleScreen
    from console.ui.widgets import Col, FilterTable, TimeChart, sparkline

    class DriftScreen(ConsoleScreen):
        SCREEN_NAME = "drift"            # registry name (`:drift` in the palette)
        SCREEN_TITLE = "Drift"           # breadcrumb label: Overview > fraud-detector > Drift
        BINDINGS = [Binding("d", "detail", "Detail", id="drift.detail")]   # every binding has an id

        def compose_body(self):          # NOT compose(): the base adds breadcrumb, guard and footer
            yield FilterTable([Col("feature", "FEATURE", width=24), Col("psi", "PSI")], id="features")

        def on_mount(self):              # the base's own mount work runs too (Textual calls both)
            self.call_service("drift", lambda svc: svc.drift(self.model))

        def handle_result(self, tag, result):      # on the UI thread; own your state here
            self.query_one(FilterTable).set_rows((r.feature, [safe(r.feature), ...]) for r in result)

        def show_snapshot(self, snap):   # optional: called on every app snapshot (refresh tick)
            self.call_service("drift", ...)

        def commands(self):              # optional: palette entries while this screen is on top
            return [("Recompute drift", self.action_detail, "run the drift tests again")]

    register_screen("drift", "Drift", DriftScreen, needs_model=True, help="feature drift of one model")

`self.model` / `self.environment` are the model context (None on fleet-wide screens).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from rich.text import Text
from textual.widgets import DataTable, Footer, Static

from console.ui.screens.too_small import MIN_HEIGHT, MIN_WIDTH, TooSmall
from console.ui.text import error_text, printable
from console.ui.widgets.breadcrumb import Breadcrumb
from console.ui.widgets.filter_table import FilterTable

Command = tuple[str, Callable[[], Any], str]  # (label, callback, help)


class ServiceResult(Message):
    """The outcome of `ConsoleScreen.call_service`: posted from the worker thread, handled on the UI thread."""

    def __init__(self, tag: str, result: Any = None, error: str | None = None, moved: bool = False) -> None:
        super().__init__()
        self.tag, self.result, self.error = tag, result, error
        self.moved = moved  # a read whose view moved while it ran (`ConsoleScreen.handle_moved`)


def cache_key(fn: Callable, version: tuple) -> tuple | None:
    """What a read depends on: its code, the values it closed over (model, window, ...) and the data
    version; None when a captured value is not hashable (then it is not cached)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    try:
        cells = tuple(c.cell_contents for c in (fn.__closure__ or ()))
        hash(cells)
    except (TypeError, ValueError):
        return None
    return (code, cells, getattr(fn, "__defaults__", None), version)


class ConsoleScreen(Screen):
    SCREEN_NAME: ClassVar[str] = ""
    SCREEN_TITLE: ClassVar[str] = ""
    HORIZONTAL_BREAKPOINTS = [(0, "-w-xs"), (MIN_WIDTH, "-w-s"), (100, "-w-m"), (160, "-w-l")]
    VERTICAL_BREAKPOINTS = [(0, "-h-xs"), (MIN_HEIGHT, "-h-s"), (40, "-h-l")]

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("slash", "filter", "Filter", id="filter", key_display="/"),
        Binding("y", "copy_id", "Copy ID", id="copy", show=False),
    ]

    def __init__(self, model: str | None = None, environment: str | None = None, *, name: str | None = None,
                 id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self.model = model
        self.environment = environment

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Breadcrumb(id="crumbs")
        yield from self.compose_body()
        progress = Static("", id="progress")
        progress.display = False
        yield progress
        yield TooSmall(id="too-small")
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets; override this, not compose()."""
        yield from ()

    PROGRESS_AFTER_S = 0.5  # a read running longer than this says so (and esc leaves)

    def on_mount(self) -> None:
        # tag -> monotonic start of the read in flight (a subclass's on_mount may have started one already)
        self.__dict__.setdefault("_busy", {})
        self.set_interval(0.25, self._show_progress, name="progress")
        self.set_class(bool(getattr(self.app, "no_color", False)), "-no-color")
        self._check_size()
        self.watch(self.app, "snapshot", self._snapshot_changed)

    def on_screen_resume(self) -> None:
        self._check_size()
        self.update_breadcrumb()
        if getattr(self, "_stale", False):  # refreshes passed while covered: catch up (cached when unchanged)
            self._stale = False
            if self.app.snapshot is not None:
                self.show_snapshot(self.app.snapshot)
        self.call_after_refresh(self._refocus)

    def _refocus(self) -> None:
        """After "too small" (or a covering screen) the focus may be lost or on a hidden widget: give it back
        to the table, so the arrows move the cursor Enter acts on."""
        if self.has_class("-too-small"):
            return
        focused = self.focused
        if focused is None or not focused.display or not focused.visible:
            self.focus_table()

    def on_resize(self) -> None:
        self._check_size()
        self.update_breadcrumb()
        self.refresh_bindings()

    def _check_size(self) -> None:
        w, h = self.app.size
        small = w < MIN_WIDTH or h < MIN_HEIGHT
        was = self.has_class("-too-small")
        self.set_class(small, "-too-small")
        if small:
            self.query_one(TooSmall).show_size(w, h)
        elif was:
            self.call_after_refresh(self._refocus)

    # ------------------------------------------------------------------ context

    def crumb(self) -> str:
        """This screen's breadcrumb label."""
        return self.SCREEN_TITLE or type(self).__name__.removesuffix("Screen")

    def model_crumb(self) -> str:
        env = self.environment
        if env and not self.app.cfg.environment(env).production:
            return f"{self.model} ({env})"
        return str(self.model)

    def breadcrumbs(self) -> list[str]:
        crumbs: list[str] = []
        prev_model = None
        for screen in self.app.screen_stack:
            if not isinstance(screen, ConsoleScreen):
                continue
            if screen.model and screen.model != prev_model and screen.crumb() not in (screen.model, screen.model_crumb()):
                crumbs.append(screen.model_crumb())
            crumbs.append(screen.crumb())
            prev_model = screen.model or prev_model
            if screen is self:
                break
        return crumbs

    @property
    def production(self) -> bool:
        """True when this screen is about a production environment (the PROD badge shows)."""
        return bool(self.environment) and self.app.cfg.environment(self.environment).production

    def update_breadcrumb(self) -> None:
        try:
            crumbs = self.query_one("#crumbs", Breadcrumb)
        except Exception:  # noqa: BLE001 - not composed yet
            return
        cfg = self.app.cfg
        app = self.app
        crumbs.show(self.breadcrumbs(), production=self.production, workspace=cfg.workspace,
                    read_only=cfg.read_only, when=app.view_end() if hasattr(app, "view_end") else None,
                    live=getattr(app, "at", None) is None)

    def is_on_show(self) -> bool:
        """On show: the top console screen (a modal dialog over it leaves it on show); covered ones rest."""
        for screen in reversed(self.app.screen_stack):
            if isinstance(screen, ConsoleScreen):
                return screen is self
        return False

    def _snapshot_changed(self, snap) -> None:
        if not self.is_on_show():
            self._stale = True  # only the visible screen fetches; it catches up when it comes back
            return
        self.update_breadcrumb()
        if snap is not None:
            self.show_snapshot(snap)

    def show_snapshot(self, snap) -> None:
        """Called with every new `Snapshot` from the app's refresh; override to follow the refresh tick."""

    def empty_window_note(self, window, has_rows: bool | None = None) -> Text | None:
        """When the window ending at the view's time holds no predictions: says so, and when the newest
        row is (an old log must not read as an empty fleet). `has_rows`: what the screen's own numbers say
        (the Overview's 24 h requests); without it, a newest row after the view proves nothing, so nothing
        is said (a view stepped back from the newest row was told 'no predictions' over rows it showed)."""
        snap = self.app.snapshot
        end = self.app.view_end() if hasattr(self.app, "view_end") else None
        if snap is None or end is None or not snap.logs_configured or has_rows:
            return None
        newest = (snap.counts or {}).get("last_prediction")
        if newest is not None and (end - window < newest <= end or (newest > end and has_rows is None)):
            return None
        out = Text("no predictions in this window", style="bold reverse")
        if newest is None and getattr(snap, "malformed", 0):  # rows were read, and every one was set aside
            out.append(f"  (no good row read: {snap.malformed:,} malformed)")
        elif newest is None:
            out.append("  (none read yet)")
        else:
            out.append(f"  newest row {newest:%Y-%m-%d %H:%M}Z" + ("" if newest <= end else " (after the view)"))
            out.append("  @ latest: jump there", style="dim")
        return out

    def commands(self) -> list[Command]:
        """Palette entries that apply while this screen is on top: (label, callback, help)."""
        return []

    def context(self) -> tuple[str, str | None] | None:
        """(model, environment) that screens opened from here are about; the overview uses its cursor row."""
        return (self.model, self.environment) if self.model else None

    def selected_id(self) -> str | None:
        """What `y` copies: the selected row's key in the focused table, else the screen's model."""
        table = self.active_table()
        if table is not None and table.selected_key:
            return table.selected_key.split("\x00")[0]
        return self.model

    # ------------------------------------------------------------------ services

    def call_service(self, tag: str, fn: Callable[[Any], Any], cache: bool = False) -> None:
        """Runs `fn(app.service)` in a thread worker; the outcome arrives in `handle_result(tag, result)` or,
        if it raised, `handle_error(tag, error)`, on the UI thread. `cache`: a read whose result depends only
        on its arguments and the data, kept per data version (`app.data_version`), so a screen reopened, or
        a refresh that brought no new rows, does not compute it again."""
        key = cache_key(fn, self.app.data_version) if cache else None
        if key is not None and key in self.app.results:
            self.post_message(ServiceResult(tag, result=self.app.results[key]))
            return
        self.__dict__.setdefault("_busy", {})[tag] = time.monotonic()
        self._service_worker(tag, fn, key)

    def read(self, tag: str, fn: Callable[[Any], Any]) -> None:
        """`call_service` one read of `tag` at a time: asked again while it runs, it reads once more when that
        read lands (with the newest `fn`), however often it was asked meanwhile. The read that lands began before
        the change the ask came with (a record written, an alias moved) and must not stay on screen as current;
        a second read at once would only race the first. For reads with no data version to key on (the registry,
        the audit file); `MonitorScreen.fetch` does the same keyed by the window and the data version."""
        asked = self.__dict__.setdefault("_asked", {})  # tag in flight -> newest fn asked meanwhile, else None
        if tag in asked:
            asked[tag] = fn
            return
        asked[tag] = None
        self.call_service(tag, fn)

    def reading(self, tag: str | None = None) -> bool:
        """True while a `read` of `tag` (of any tag, without one) is in flight."""
        asked = self.__dict__.get("_asked") or {}
        return bool(asked) if tag is None else tag in asked

    def show_waiting(self, waiting: dict[str, float]) -> None:
        """Override: the reads still in flight (tag -> seconds so far), every quarter second while any runs and
        once when the last ends, so a screen says what it is computing and shows what is ready already."""

    def _show_progress(self) -> None:
        busy = self.__dict__.get("_busy") or {}
        now = time.monotonic()
        slow = sorted((tag, now - t) for tag, t in busy.items() if now - t >= self.PROGRESS_AFTER_S)
        try:
            bar = self.query_one("#progress", Static)
        except Exception:  # noqa: BLE001 - not composed yet
            return
        if busy or self.__dict__.get("_was_busy"):
            self._was_busy = bool(busy)
            self.show_waiting({tag: now - t for tag, t in busy.items()})
        moving = getattr(self, "moving_view", None)
        if not slow and callable(moving) and moving():  # the old view's numbers are hidden: say why at once
            bar.update(Text(" reading the view at the new time...", style="bold"))
            bar.display = True
            return
        if not slow:
            if bar.display:
                bar.display = False
            return
        longest = max(s for _, s in slow)
        spin = "|/-\\"[int(now * 4) % 4]
        names = ", ".join(dict.fromkeys(t.split(":")[1] if t.startswith("action:") else t for t, _ in slow))
        text = Text(f" {spin} working: {names} {longest:.1f} s", style="bold")
        text.append("  esc leaves (the result is dropped)" if len(self.app.screen_stack) > 2 else "", style="dim")
        bar.update(text)
        bar.display = True

    @work(thread=True, exit_on_error=False)
    def _service_worker(self, tag: str, fn: Callable[[Any], Any], key=None) -> None:
        svc = self.app.service
        gen = getattr(svc, "view_gen", None)
        try:
            result = fn(svc)
        except Exception as exc:  # noqa: BLE001 - reported on the screen, never raised into the UI
            self.post_message(ServiceResult(tag, error=error_text(exc)))
            return
        if key is not None and getattr(svc, "view_gen", None) != gen:
            # a read (not an action) the time cursor moved under: it may mix two views (the Incidents screen listed
            # the live view's incidents under the header of the hour before); neither kept nor shown
            self.post_message(ServiceResult(tag, result=result, moved=True))
            return
        if key is not None and key[-1] == self.app.data_version:
            self.app.results[key] = result
        self.post_message(ServiceResult(tag, result=result))

    @on(ServiceResult)
    def _on_service_result(self, message: ServiceResult) -> None:
        tag = message.tag
        self.__dict__.get("_busy", {}).pop(tag, None)
        asked = self.__dict__.get("_asked") or {}
        landed, again = tag in asked, asked.pop(tag, None)  # (no read of `tag` in flight while it is handled)
        if message.error is not None:
            self.handle_error(tag, message.error)
        elif message.moved:
            self.handle_moved(tag)
        else:
            self.handle_result(tag, message.result)
        if landed and again is not None and tag not in asked:  # (a read the handler began covers the ask)
            self.read(tag, again)

    def handle_moved(self, tag: str) -> None:
        """Override: a read for `tag` ended after the view moved; its result is dropped (read it again)."""

    def handle_result(self, tag: str, result: Any) -> None:
        """Override: a `call_service` result for `tag`."""

    def handle_error(self, tag: str, error: str) -> None:
        self.app.notify(f"{tag} failed: {printable(error)}", severity="error", markup=False)

    # ------------------------------------------------------------------ actions

    def active_table(self) -> FilterTable | None:
        focused = self.focused
        node = focused
        while node is not None and node is not self:
            if isinstance(node, FilterTable):
                return node
            node = node.parent
        tables = list(self.query(FilterTable))
        return tables[0] if tables else None

    # ------------------------------------------------------------------ the footer

    FOOTER_KEEP = ("help", "quit")  # binding ids the footer always shows, whatever the width
    FOOTER_ACTION_ORDER = tuple(f"action.{a}" for a in ("rollback", "canary-abort", "shadow-stop", "canary-step",
                                                         "canary-promote", "promote", "retrain"))
    PALETTE_CELLS = 15  # "^p Palette" at the footer's right, with its divider

    def hide_in_footer(self, binding) -> bool:
        """Override: a binding the footer leaves out here (its key still works)."""
        return False

    def offers(self, binding) -> bool:
        """Override: False for a key that has nothing to do in the current state (the footer and the help
        leave it out; its action is unchanged)."""
        return True

    @property
    def active_bindings(self):
        """The footer's keys: the screen's and the app's in order while they fit the width, `?` and `q`
        always (a footer cut at the right edge used to lose Audit and Help)."""
        active = {k: b for k, b in super().active_bindings.items()
                  if not self.hide_in_footer(b.binding) and self.offers(b.binding)}
        room = (self.app.size.width if self.is_attached else 80) - self.PALETTE_CELLS - 1  # (the footer's left cell)
        # `: Palette` is counted like any key, and goes first when room is short: `^p Palette` stays at the right
        shown = [(k, b) for k, b in active.items() if b.binding.show]

        def cells(item) -> int:  # "P Promote" and the two cells before the next key, as the footer draws them
            b = item[1].binding
            return len(self.app.get_key_display(b)) + len(b.description or "") + 3

        seen_actions: set[str] = set()
        keep_always = [it for it in shown if it[1].binding.id in self.FOOTER_KEEP]
        budget = room - sum(cells(it) for it in keep_always)
        drop = set()
        # operator actions that apply here come first (they are what an incident needs: the ones that undo a change
        # before the ones that make one; at 80 columns Rollback and Retrain fell off behind Promote/Step/Finish), then
        # the rest in order
        first = sorted((it for it in shown if (it[1].binding.id or "").startswith("action.")),
                       key=lambda it: self.FOOTER_ACTION_ORDER.index(it[1].binding.id)
                       if it[1].binding.id in self.FOOTER_ACTION_ORDER else len(self.FOOTER_ACTION_ORDER))
        rest = [it for it in shown if it not in first]
        rest.sort(key=lambda it: it[1].binding.action == "command_palette")  # (stable: the others keep their order)
        for item in first + rest:
            if item in keep_always or item[1].binding.action in seen_actions:
                continue
            seen_actions.add(item[1].binding.action)
            need = cells(item)
            if need <= budget:
                budget -= need
            else:
                drop.add(item[0])
        return {k: b for k, b in active.items() if k not in drop}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return len(self.app.screen_stack) > 2 or any(t.filtering for t in self.query(FilterTable))
        if action == "filter":
            return bool(self.query(FilterTable))
        return True

    def action_back(self) -> None:
        for table in self.query(FilterTable):
            if table.filtering or table.filter_text:
                table.clear_filter()
                return
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def action_filter(self) -> None:
        table = self.active_table()
        if table is None:
            self.app.notify("nothing to filter on this screen", severity="warning")
            return
        table.open_filter()

    def action_copy_id(self) -> None:
        value = self.selected_id()
        if not value:
            self.app.notify("nothing selected to copy", severity="warning")
            return
        self.app.copy_to_clipboard(printable(value))  # inert when pasted: no ESC, CR or bidi control
        self.app.notify(f"copied {printable(value)}", markup=False)

    def focus_table(self) -> None:
        table = self.active_table()
        if table is not None:
            table.query_one(DataTable).focus()
