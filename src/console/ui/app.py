"""The Textual app: owns the live state; screens render it and route keys.

Polling follows dolphie's rule: a thread worker reads, posts a message, the handler updates the
screens and only then re-arms a one-shot timer, so polls never overlap on a slow box.

Global keys live here (each with an id that `[keys]` can remap); screen keys live on the screens
(`console.ui.screens.base.ConsoleScreen`). Screens are reached by name through `console.ui.navigation`.
"""

from __future__ import annotations

import os
from datetime import datetime
import threading
from pathlib import Path

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Input

from console.config import Config
from console.ui.commands import ConsoleCommands
from console.ui.libraries import ensure
from console.ui.messages import RefreshFailed, RegistryChecked, SnapshotReady
from console.safe_text import printable_lines
from console.ui.text import error_text, printable

SHOTS_ENV = "MLOPS_CONSOLE_SHOTS"


def _clean(message: object) -> str:
    """A notification body as visible characters, keeping its line breaks ("\\n" alone: `str.splitlines` also
    split on a carriage return, a vertical tab and U+2028, which a registry text could use to forge a line)."""
    return printable_lines(message)


class ConsoleApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "mlops-console"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = {ConsoleCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+q", "quit", "Quit", id="quit.ctrl", show=False, priority=True),
        Binding("question_mark", "help", "Help", id="help", key_display="?"),
        Binding("colon", "command_palette", "Palette", id="palette.colon", key_display=":"),
        Binding("ctrl+p", "command_palette", "Palette", id="palette", show=False, priority=True),
        Binding("r", "refresh", "Refresh", id="refresh"),
        Binding("t", "cycle_theme", "Theme", id="theme", show=False),
        Binding("left_square_bracket", "step_time(-1)", "Back in time", id="time.back", key_display="[",
                show=False),
        Binding("right_square_bracket", "step_time(1)", "Forward in time", id="time.forward", key_display="]",
                show=False),
        Binding("at", "jump_time", "Jump to a time", id="time.jump", key_display="@", show=False),
        Binding("l", "live", "Back to live", id="time.live", show=False),
        Binding("s", "screenshot", "Screenshot", id="screenshot", show=False),
        Binding("ctrl+c", "help_quit", show=False, system=True),
    ]

    # no repaint of their own: the screens watching them update only the cells that changed
    snapshot = reactive(None, always_update=True, repaint=False)
    registry = reactive(None, always_update=True, repaint=False)
    # the refresh in flight has read for longer than READ_PROGRESS_AFTER_S: its progress may be shown
    read_is_slow = reactive(False, repaint=False)
    READ_PROGRESS_AFTER_S = 1.0  # a routine refresh ends well before this: its progress would only flicker

    def __init__(self, cfg: Config, service=None, live_writer: Path | None = None, poll: bool = True,
                 first_look=None, view: dict | None = None):
        """`first_look`: a `ui.first_look.FirstLook` started before Textual was imported (`ui.run` does), whose
        quick look is the first frame; without one, the first worker reads it itself. `view`: the CLI's `--at` /
        `--since` (`Service.view`'s options) the console opens at, applied by the first poll once it has read
        the logs (so `latest` is the newest row read); the quick look, which is of the live 24 h, is skipped."""
        super().__init__()
        self.cfg = cfg
        self._service = service
        self._first_look_helper = first_look
        self._start_view = view
        self._left_live: datetime | None = None  # where `[` last left live: `]` back to it is live again
        self._painted = threading.Event()  # the quick look is on screen: the worker may take the GIL again
        self._service_lock = threading.Lock()
        self._live_writer_path = live_writer
        self._live_writer = None
        self._poll_enabled = poll
        self._timer = None
        self._again = False  # `r` pressed during a poll: poll once more when it ends (instead of a 2nd timer)
        self._polling = False  # a poll is in flight: the next one skips (k9s); the timer re-arms when it ends
        self._read_timer = None  # started with a poll's read, stopped when it ends; firing, it allows the progress
        self._monitoring = False  # a monitor worker is running
        self._partial_steps = 0  # store steps a partial snapshot has shown (a cold ingest commits in steps)
        self._partial_busy = False
        self.incidents: list = []  # firing incidents, from the monitor worker (what the Overview lists)
        self._have_findings = False  # the incidents above come from a findings read (not just the empty start)
        self._looked = False  # the first poll shows a quick look before its refresh (`_first_look`)
        self._checks_started = False  # the registry and audit checks (`_start_checks`)
        self._screens_loaded = False  # every screen module imported (`_load_screens`)
        self.data_version: tuple = ()  # what the warehouse holds (counts + time cursor): the result cache's key
        self.results: dict = {}  # (call, data_version) -> result, see `ConsoleScreen.call_service`
        # set by `ui.run` (never in tests): called as the app unmounts, to end the process soon after the
        # terminal is restored, instead of waiting for a thread worker that is still computing
        self.exit_watchdog = None
        self.crash_reporter = None  # set by `ui.run`: an unhandled error is said after the terminal is back
        self.last_error: str | None = None
        from console.ui import themes

        self._theme_name, self._theme_problems = themes.install(self, cfg.theme or themes.DEFAULT_THEME)
        self.theme = self._theme_name

    @property
    def service(self):
        """Created on first use by whichever worker comes first; the lock makes it one Service for all
        (two would mean two warehouses, one of them never refreshed). The store's libraries are imported first,
        one thread at a time (`libraries.ensure`)."""
        if self._service is not None:
            return self._service
        ensure()
        with self._service_lock:
            if self._service is None:
                from console.service import Service

                self._service = Service(self.cfg, cache=True)
            return self._service

    def reading_progress(self) -> str | None:
        """How far the refresh in flight has read the logs, once it has lasted READ_PROGRESS_AFTER_S (a
        read that ends sooner is never shown); without creating the service on the event loop."""
        svc = self._service
        return svc.ingest_progress() if svc is not None and self.read_is_slow else None

    def _read_started(self) -> None:
        self._read_ended()
        self._read_timer = self.set_timer(self.READ_PROGRESS_AFTER_S, self._read_slow, name="read-progress")

    def _read_slow(self) -> None:
        self._read_timer = None
        self.read_is_slow = True

    def _read_ended(self) -> None:
        if self._read_timer is not None:
            self._read_timer.stop()
            self._read_timer = None
        self.read_is_slow = False

    def show_ready_steps(self) -> None:
        """While a refresh reads a large backlog it commits in steps: each new step is shown (the Overview's
        numbers over what is read so far) by a worker, one at a time, instead of waiting for the whole read."""
        svc = self._service
        if svc is None or self._partial_busy:
            return
        steps = getattr(svc.warehouse, "steps", 0)
        if steps <= self._partial_steps:
            return
        self._partial_steps, self._partial_busy = steps, True
        self._partial_worker()

    @work(thread=True, exclusive=True, group="partial", exit_on_error=False)
    def _partial_worker(self) -> None:
        try:
            snap = self.service.snapshot(refresh=False, wait_for_registry=False, monitoring=False)
        except Exception:  # noqa: BLE001 - the whole refresh's snapshot follows anyway
            return
        finally:
            self._partial_busy = False
        self.post_message(SnapshotReady(snap, rearm=False))

    def on_mount(self) -> None:
        from console.ui.screens.overview import OverviewScreen

        if self.cfg.keys:
            self.set_keymap(dict(self.cfg.keys))
        for problem in self._theme_problems:
            self.notify(problem, severity="warning", timeout=8)
        self.push_screen(OverviewScreen())
        if self._live_writer_path is not None:
            self._start_live_writer()
        self.poll()
        # the other screens are imported once the Overview is drawn (once its first numbers are, while the first
        # look's helper is reading them: they would arrive as the imports run), and the registry and the audit
        # trail are read once the first numbers are in: all of it holds the GIL the first frame needs
        if self._first_look_helper is None:
            self.call_after_refresh(self._load_screens)

    def _load_screens(self) -> None:
        if self._screens_loaded:
            return
        self._screens_loaded = True
        from console.ui.keymap import check_keymap, known_ids
        from console.ui.navigation import SCREENS, load_screens

        for module, error in load_screens().items():
            self.notify(f"screen {module} did not load: {error}", severity="error", timeout=8)
        if self.cfg.keys:
            known = known_ids(type(self), [s.factory for s in SCREENS.values() if isinstance(s.factory, type)])
            for warning in check_keymap(self.cfg.keys, known):
                self.notify(warning, severity="warning", timeout=8)

    def _start_checks(self) -> None:
        """The registry and the audit trail, read once after the first numbers (or the first failure)."""
        if self._checks_started:
            return
        self._checks_started = True
        self._load_screens()
        self.check_registry()
        self.check_audit()

    @work(thread=True, group="audit", exit_on_error=False)
    def check_audit(self) -> None:
        """An action interrupted by a crash left an intent without an outcome: say so at start."""
        try:
            pending = self.service.incomplete_actions()
        except Exception:  # noqa: BLE001 - an unreadable audit file is reported by `audit verify`
            return
        for record in pending[:3]:
            self.call_from_thread(
                self.notify, f"incomplete action from a previous session: {record.get('action')} "
                f"{record.get('model')} in {record.get('environment')} at {record.get('ts')} "
                f"by {record.get('actor', {}).get('user') if isinstance(record.get('actor'), dict) else record.get('actor')}"
                " - check the registry and the Audit screen", severity="warning", timeout=15)

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Notifications default to plain text (not markup), control characters escaped: they carry data."""
        if not markup:
            message, title = _clean(message), printable(title)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def _start_live_writer(self) -> None:
        try:
            from console.demo.live import LiveWriter

            self._live_writer = LiveWriter(self._live_writer_path)
            self._live_writer.start()
        except Exception as exc:  # noqa: BLE001 - the console still works on the built data
            self.notify(f"live writer did not start: {exc}", severity="warning")

    def stop_live_writer(self, wait: bool = True) -> None:
        writer, self._live_writer = self._live_writer, None
        if writer is None:
            return
        if not wait:  # leaving: do not wait for the writer's tick
            threading.Thread(target=self._stop_writer, args=(writer,), daemon=True).start()
            return
        self._stop_writer(writer)

    @staticmethod
    def _stop_writer(writer) -> None:
        try:
            writer.stop()
        except Exception:  # noqa: BLE001 - leaving anyway
            pass

    # ------------------------------------------------------------------ polling

    def poll(self) -> None:
        """One poll at a time: a tick or `r` while one is in flight is skipped; the timer is re-armed only
        when the poll in flight finishes, so there is never more than one timer chain."""
        self._timer = None
        if self._polling:
            return
        self._polling = True
        self._read_started()
        self._refresh_worker()

    def pending_polls(self) -> int:
        """Poll timers armed and not yet fired (tests: one chain, never two)."""
        return sum(1 for t in list(self._timers) if t.name == "poll" and t._task is not None and not t._task.done())

    @work(thread=True, exclusive=True, group="refresh", exit_on_error=False)
    def _refresh_worker(self) -> None:
        """Ingest and the overview's numbers; drift and alerts come from the monitor worker's cache."""
        if not self._looked and self._start_view is None:
            self._first_look()
        try:
            opening = self._start_view is not None
            if opening:
                self._open_at(self._start_view)
                self._start_view = None
            gen = self.service.view_gen
            # the start view's read of the logs was this poll's: the snapshot need not read them again
            snap = self.service.snapshot(refresh=not opening, wait_for_registry=False, monitoring=False)
            stale = self.service.monitoring_stale()
            # a service handed over with fresh findings (computed before the app started) lists them at
            # once, instead of an empty incident list until they go stale
            findings = self.service.findings() if not stale and not self._have_findings else None
        except Exception as exc:  # noqa: BLE001 - shown in the header, retried at the next tick
            self.post_message(RefreshFailed(error_text(exc)))
            return
        self.post_message(SnapshotReady(snap, findings=findings, gen=gen))
        if stale and not self._monitoring:
            self._monitoring = True
            self._monitor_worker()

    def _first_look(self) -> None:
        """The first frame shows what is cheap at once (the models, their serving states and numbers over what
        the store already holds, read from the last 24 h only); the refresh, its checks and the full list follow."""
        self._looked = True
        helper, self._first_look_helper = self._first_look_helper, None
        try:
            snap = helper.result() if helper is not None else None
            if snap is None:
                snap = self.service.snapshot(refresh=False, quick=True, wait_for_registry=False, monitoring=False)
        except Exception:  # noqa: BLE001 - the full snapshot follows and reports any failure
            return
        if snap.rows:  # an empty store shows nothing yet, rather than an empty table before the read
            self.post_message(SnapshotReady(snap, rearm=False, first=True))
            # importing the store's libraries next would hold the GIL while the UI draws the look: wait for it
            self._painted.wait(timeout=1.0)

    @work(thread=True, exclusive=True, group="monitor", exit_on_error=False)
    def _monitor_worker(self) -> None:
        """Drift, alerts and incidents take a second or more: never in the way of the first frame."""
        gen = self.service.view_gen
        try:
            findings = self.service.findings()
            if self.cfg.auto_retrain:  # the TUI's timer is one of the two places retraining runs by itself
                self.service.auto_retrain()
            snap = self.service.snapshot(refresh=False, wait_for_registry=False, monitoring=False)
        except Exception as exc:  # noqa: BLE001
            self.post_message(RefreshFailed(f"monitoring: {error_text(exc)}", poll=False))
            return
        finally:
            self._monitoring = False
        self.post_message(SnapshotReady(snap, rearm=False, findings=findings, gen=gen))

    @work(thread=True, exclusive=True, group="registry", exit_on_error=False)
    def check_registry(self) -> None:
        state = self.service.registry_state(max_age_s=0)
        self.post_message(RegistryChecked(state))

    @on(SnapshotReady)
    def _on_snapshot(self, message: SnapshotReady) -> None:
        svc = self._service
        if message.gen is not None and svc is not None and message.gen != svc.view_gen:
            self._another_view(message)
            return
        self.last_error = None
        snap = message.snapshot
        if message.findings is not None:
            self.incidents = [f for f in message.findings if f.firing]
            self._have_findings = True
        version = (tuple(sorted((k, str(v)) for k, v in (snap.counts or {}).items())), self.at)  # (not `service`:
        # building it here would import the store on the event loop)
        if version != self.data_version:
            self.data_version = version
            self.results.clear()  # computed on older data
        if message.rearm:  # the poll's read has ended (before the screens redraw: no stale progress line)
            self._read_ended()
        self.snapshot = snap
        if message.first:  # the table's rows are laid out on one refresh and painted on the next: wait for both
            # before the worker imports the store and the checks start (either holds the GIL the paint needs)
            self.call_after_refresh(self.call_after_refresh, self._first_painted)
        else:
            self.call_after_refresh(self._start_checks)
        if message.rearm:
            self._polling = False
            if self._again:
                self._again = False
                self.poll()
            else:
                self._rearm()

    def _another_view(self, message: SnapshotReady) -> None:
        """Work begun before the time cursor moved: its numbers and incidents are the old view's (they listed a
        week-old view's incidents under a live header), so none is shown; the new view's are asked for."""
        if message.rearm:
            self._read_ended()
            self._polling = self._again = False
            self.poll()  # the new view's numbers (set_time's refresh was folded into this poll)
        elif not self._monitoring and self.service.monitoring_stale():
            self._monitoring = True
            self._monitor_worker()

    def _first_painted(self) -> None:
        self._painted.set()
        self._start_checks()

    @on(RefreshFailed)
    def _on_failed(self, message: RefreshFailed) -> None:
        self.last_error = message.error
        self.notify(f"refresh failed: {message.error}", severity="error", timeout=4)
        self._start_checks()
        if message.poll:
            self._read_ended()
            self._polling = False
            self._rearm(backoff=True)

    @on(RegistryChecked)
    def _on_registry(self, message: RegistryChecked) -> None:
        self.registry = message.state
        if self._poll_enabled:
            self.set_timer(self.service.REGISTRY_TTL_S, self.check_registry)

    def _rearm(self, backoff: bool = False) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if not self._poll_enabled:
            return
        delay = self.cfg.refresh_seconds * (4 if backoff else 1)
        self._timer = self.set_timer(delay, self.poll, name="poll")

    # ------------------------------------------------------------------ the time cursor

    def _open_at(self, view: dict) -> None:
        """The start view, in the first poll's worker: read the logs, then move the cursor (a bad value was
        refused by the CLI before the TUI opened)."""
        self._looked = True
        self.service.refresh()
        self.service.view(**view)
        self.call_from_thread(self.notify_time)

    @property
    def at(self) -> datetime | None:
        """The end of the view, None when live (the service's time cursor)."""
        svc = self._service
        return getattr(svc, "at", None) if svc is not None else None

    def set_time(self, at: datetime | None) -> None:
        """Moves the view to `at` (None: live) and reads again; cached results belong to the old time."""
        if at == self.at:
            return
        self.service.set_at(at)
        self.results.clear()
        # the incidents listed are the old view's: until the rules are checked at `at`, none is listed as firing
        self.incidents, self._have_findings = [], False
        for screen in self.screen_stack:  # what a screen shows is the old view's until its reads land again
            moved = getattr(screen, "view_moved", None)
            if callable(moved):
                moved()
        self.notify_time()
        self.action_refresh()

    def notify_time(self) -> None:
        for screen in self.screen_stack:
            updater = getattr(screen, "update_breadcrumb", None)
            if callable(updater):
                updater()
            screen.refresh_bindings()  # an action's key leaves the footer in a view of the past (`ActionFlow.shown`)

    def view_end(self) -> datetime | None:
        """What the screens show as "now": the cursor, else the last refresh's clock."""
        if self.at is not None:
            return self.at
        return self.snapshot.now if self.snapshot is not None else None

    def action_step_time(self, direction: int) -> None:
        from console.analytics.windows import parse_window

        window = getattr(self.screen, "window", None) or "1h"
        end = self.view_end()
        if end is None:
            return
        target = end + int(direction) * parse_window(window)
        if self.at is None and direction > 0:
            self.notify("already live: nothing after now", severity="warning")
            return
        from console.analytics.windows import EARLIEST

        if target < EARLIEST:
            self.notify(f"the view cannot step before {EARLIEST:%Y-%m-%d}", severity="warning")
            return
        wall = self.service._wall() if self._service is not None else None
        if self.at is None:  # leaving live: stepping forward back to here is live again, however long it took
            self._left_live = end
        back = self._left_live
        live = (wall is not None and target >= wall) or (direction > 0 and back is not None and target >= back)
        self.set_time(None if live else target)

    def action_jump_time(self) -> None:
        from console.ui.screens.time_jump import TimeJump

        current = f"{self.at:%Y-%m-%d %H:%M}" if self.at is not None else ""
        self.push_screen(TimeJump(current), self._jumped)

    def _jumped(self, text: str | None) -> None:
        if not text:
            return
        if text.lower() == "live":
            self.set_time(None)
            return
        if text.lower() == "latest":
            self._jump_latest()
            return
        from console.analytics.windows import OutOfRange, TooFine, parse_time

        try:  # `--at`'s one reading: an offset converted to UTC (it was dropped: 21:00+02:00 opened at 21:00Z)
            at = parse_time(text.replace("z", "Z"))
        except ValueError as exc:  # out of range in the CLI's words, with the value as typed
            said = printable(f"{text!r}: {exc}" if isinstance(exc, (OutOfRange, TooFine)) else f"not a time: {text!r}")
            self.notify(f"{said} (try 2026-07-04 12:00)", severity="error", markup=False)
            return
        self.set_time(at)

    @work(thread=True, group="jump", exit_on_error=False)
    def _jump_latest(self) -> None:
        """The newest row's time is a store query: off the event loop, then the cursor moves there."""
        try:
            latest = self.service.latest_ts()
        except Exception as exc:  # noqa: BLE001 - said, the view stays where it is
            self.call_from_thread(self.notify, f"latest: {error_text(exc)}", severity="error")
            return
        if latest is None:
            self.call_from_thread(self.notify, "no rows yet: staying live", severity="warning")
        else:
            self.call_from_thread(self.set_time, latest)

    def action_live(self) -> None:
        if self.at is None:
            return
        self.set_time(None)
        self.notify("back to live")

    def jump_to_onset(self, finding) -> None:
        """The view as of an incident's first breach (`Finding.first_listed`): the incident is listed there with
        the same onset, which lies in the window before it. The onset itself lists nothing: the evidence came later."""
        self.set_time(finding.first_listed)

    # ------------------------------------------------------------------ navigation

    def open_screen(self, name: str, model: str | None = None, environment: str | None = None) -> None:
        from console.ui.navigation import SCREENS

        self._load_screens()  # (asked for before the first numbers: the screens are not imported yet)

        spec = SCREENS.get(name)
        if spec is None:
            self.notify(f"no screen named {name}", severity="error")
            return
        if name == "overview":
            self.go_home()
            return
        if spec.needs_model:
            if model is None:
                getter = getattr(self.screen, "context", None)
                ctx = getter() if callable(getter) else None
                if ctx is None:
                    self.notify(f"{spec.title}: select a model first (on the overview)", severity="warning")
                    return
                model, environment = ctx
            screen = spec.factory(model=model, environment=environment)
        else:
            screen = spec.factory()
        top = self.screen
        if type(top) is type(screen) and getattr(top, "model", None) == getattr(screen, "model", None) \
                and getattr(top, "environment", None) == getattr(screen, "environment", None):
            return  # already here
        self.push_screen(screen)

    def open_model(self, model: str, environment: str | None = None) -> None:
        from console.ui.navigation import SCREENS

        self._load_screens()

        if "model" in SCREENS:
            self.open_screen("model", model, environment)
            return
        overview = self.go_home()
        if overview is not None:
            overview.select_model(model, environment)

    def go_home(self):
        from console.ui.screens.overview import OverviewScreen

        while len(self.screen_stack) > 2 and not isinstance(self.screen, OverviewScreen):
            self.pop_screen()
        return self.screen_stack[-1] if isinstance(self.screen_stack[-1], OverviewScreen) else None

    # ------------------------------------------------------------------ actions

    def action_refresh(self) -> None:
        if self._polling:  # one more poll right after the one in flight, still one timer chain
            self._again = True
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.poll()
        self.check_registry()

    def action_help(self) -> None:
        from console.ui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        self.push_screen(HelpScreen(target=self.screen))

    def theme_names(self) -> list[str]:
        from console.ui.themes import cycle_order

        return cycle_order(self)

    def set_theme(self, name: str) -> None:
        self.theme = name
        self.notify(f"theme {name}")

    def action_cycle_theme(self) -> None:
        names = self.theme_names()
        if not names:
            return
        nxt = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else names[0]
        self.set_theme(nxt)

    def action_screenshot(self) -> None:
        folder = Path(os.environ.get(SHOTS_ENV) or Path.cwd()).expanduser()
        name = getattr(self.screen, "SCREEN_NAME", "") or "screen"
        filename = f"mlops-console-{name}-{datetime.now():%Y%m%d-%H%M%S}.svg"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = self.save_screenshot(filename=filename, path=str(folder))
        except OSError as exc:
            self.notify(f"screenshot failed: {exc}", severity="error")
            return
        self.notify(f"saved {path}")

    def action_copy_id(self) -> None:
        action = getattr(self.screen, "action_copy_id", None)
        if callable(action):
            action()

    # ------------------------------------------------------------------ leaving

    def running_actions(self) -> list:
        """Action requests whose operator call is running now (on any screen of the stack)."""
        out = []
        for screen in self.screen_stack:
            flow = screen.__dict__.get("_action_flow")
            if flow is not None and flow.running is not None:
                out.append(flow.running)
        return out

    QUIT_IDS = ("quit", "quit.ctrl")

    def quit_keys(self) -> tuple[frozenset[str], frozenset[str]]:
        """(keys of the screen-level quit binding, keys of the priority one), after `[keys]` remaps."""
        keys = []
        for binding_id in self.QUIT_IDS:
            default = next(b.key for b in self.BINDINGS if isinstance(b, Binding) and b.id == binding_id)
            chosen = (self.cfg.keys or {}).get(binding_id, default)
            keys.append(frozenset(k.strip() for k in str(chosen).split(",") if k.strip()))
        return keys[0], keys[1]

    def quits_at_once(self, key: str) -> bool:
        """Whether `key` would quit right now with nothing to ask: read from the driver's input thread (run.py),
        so a busy event loop does not hold the quit behind a repaint. Conservative: a text field focused, a
        modal on top or an action running sends the key the normal way."""
        plain, priority = self.__dict__.get("_quit_keys") or self.__dict__.setdefault("_quit_keys", self.quit_keys())
        if key not in plain and key not in priority:
            return False
        if not self.is_running or self.running_actions():
            return False
        if key in priority:
            return True
        stack = list(self.screen_stack)
        if not stack or isinstance(stack[-1], ModalScreen):
            return False
        return not isinstance(stack[-1].focused, Input)  # the console's only text fields (imported at start:
        # an import here cost 0.2 s on the quit path)

    async def action_quit(self) -> None:
        """Quitting while an action runs asks first; otherwise the console is gone at once."""
        running = self.running_actions()
        if running:
            from console.ui.screens.quit_confirm import QuitConfirm

            if isinstance(self.screen, QuitConfirm):
                return
            self.push_screen(QuitConfirm(running), self._quit_decided)
            return
        self.leave()

    def _quit_decided(self, insist: bool | None) -> None:
        if not insist:
            return
        from console.ui.screens.action_flow import abandon

        running = self.running_actions()
        for screen in self.screen_stack:  # their results will not be waited for
            flow = screen.__dict__.get("_action_flow")
            if flow is not None:
                flow.running = None
        try:
            abandon(self.service, running)
        except Exception as exc:  # noqa: BLE001 - leaving anyway; the start-up check reports the intent
            self.last_error = f"recording the interrupted action failed: {exc}"
        self.leave()

    def leave(self, code: int = 0) -> None:
        if self.exit_watchdog is not None:  # a real run: the process ends now, whatever workers do
            self.exit_watchdog(code)
        self.exit(code)

    def _handle_exception(self, error: Exception) -> None:
        """Textual ends the app on an unhandled error and reports it after its own shutdown, which a real run
        never reaches (it leaves as the app unmounts): the error is handed to `ui.run` to say instead."""
        if self.crash_reporter is not None:
            self.crash_reporter(error)
        super()._handle_exception(error)

    def on_unmount(self) -> None:
        helper, self._first_look_helper = self._first_look_helper, None
        if helper is not None:  # left before the first poll collected it
            helper.close()
        self.stop_live_writer(wait=self.exit_watchdog is None)
        if self.exit_watchdog is not None:  # a real run: do not wait on a thread worker mid-query
            self.exit_watchdog(self.return_code or 0)
