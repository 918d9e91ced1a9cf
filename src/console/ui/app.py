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

from console.config import Config
from console.ui.commands import ConsoleCommands
from console.ui.messages import RefreshFailed, RegistryChecked, SnapshotReady
from console.ui.text import printable

SHOTS_ENV = "MLOPS_CONSOLE_SHOTS"


def _clean(message: object) -> str:
    """A notification body as visible characters, keeping its line breaks."""
    return "\n".join(printable(line) for line in str(message).splitlines())


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
        Binding("s", "screenshot", "Screenshot", id="screenshot", show=False),
        Binding("ctrl+c", "help_quit", show=False, system=True),
    ]

    # no repaint of their own: the screens watching them update only the cells that changed
    snapshot = reactive(None, always_update=True, repaint=False)
    registry = reactive(None, always_update=True, repaint=False)

    def __init__(self, cfg: Config, service=None, live_writer: Path | None = None, poll: bool = True):
        super().__init__()
        self.cfg = cfg
        self._service = service
        self._service_lock = threading.Lock()
        self._live_writer_path = live_writer
        self._live_writer = None
        self._poll_enabled = poll
        self._timer = None
        self._monitoring = False  # a monitor worker is running
        # set by `ui.run` (never in tests): called as the app unmounts, to end the process soon after the
        # terminal is restored, instead of waiting for a thread worker that is still computing
        self.exit_watchdog = None
        self.last_error: str | None = None
        from console.ui import themes

        self._theme_name, self._theme_problems = themes.install(self, cfg.theme or themes.DEFAULT_THEME)
        self.theme = self._theme_name

    @property
    def service(self):
        """Created on first use by whichever worker comes first; the lock makes it one Service for all
        (two would mean two warehouses, one of them never refreshed)."""
        with self._service_lock:
            if self._service is None:
                from console.service import Service

                self._service = Service(self.cfg, cache=True)
            return self._service

    def on_mount(self) -> None:
        from console.ui.keymap import check_keymap, known_ids
        from console.ui.navigation import SCREENS, load_screens
        from console.ui.screens.overview import OverviewScreen

        for module, error in load_screens().items():
            self.notify(f"screen {module} did not load: {error}", severity="error", timeout=8)
        if self.cfg.keys:
            self.set_keymap(dict(self.cfg.keys))
            known = known_ids(type(self), [s.factory for s in SCREENS.values() if isinstance(s.factory, type)])
            for warning in check_keymap(self.cfg.keys, known):
                self.notify(warning, severity="warning", timeout=8)
        for problem in self._theme_problems:
            self.notify(problem, severity="warning", timeout=8)
        self.push_screen(OverviewScreen())
        if self._live_writer_path is not None:
            self._start_live_writer()
        self.poll()
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

    def stop_live_writer(self) -> None:
        writer, self._live_writer = self._live_writer, None
        if writer is not None:
            try:
                writer.stop()
            except Exception:  # noqa: BLE001 - leaving anyway
                pass

    # ------------------------------------------------------------------ polling

    def poll(self) -> None:
        self._timer = None
        self._refresh_worker()

    @work(thread=True, exclusive=True, group="refresh", exit_on_error=False)
    def _refresh_worker(self) -> None:
        """Ingest and the overview's numbers; drift and alerts come from the monitor worker's cache."""
        try:
            snap = self.service.snapshot(wait_for_registry=False, monitoring=False)
        except Exception as exc:  # noqa: BLE001 - shown in the header, retried at the next tick
            self.post_message(RefreshFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(SnapshotReady(snap))
        if self.service.monitoring_stale() and not self._monitoring:
            self._monitoring = True
            self._monitor_worker()

    @work(thread=True, exclusive=True, group="monitor", exit_on_error=False)
    def _monitor_worker(self) -> None:
        """Drift, alerts and incidents take a second or more: never in the way of the first frame."""
        try:
            self.service.findings()
            if self.cfg.auto_retrain:  # the TUI's timer is one of the two places retraining runs by itself
                self.service.auto_retrain()
            snap = self.service.snapshot(refresh=False, wait_for_registry=False, monitoring=False)
        except Exception as exc:  # noqa: BLE001
            self.post_message(RefreshFailed(f"monitoring: {type(exc).__name__}: {exc}"))
            return
        finally:
            self._monitoring = False
        self.post_message(SnapshotReady(snap, rearm=False))

    @work(thread=True, exclusive=True, group="registry", exit_on_error=False)
    def check_registry(self) -> None:
        state = self.service.registry_state(max_age_s=0)
        self.post_message(RegistryChecked(state))

    @on(SnapshotReady)
    def _on_snapshot(self, message: SnapshotReady) -> None:
        self.last_error = None
        self.snapshot = message.snapshot
        if message.rearm:
            self._rearm()

    @on(RefreshFailed)
    def _on_failed(self, message: RefreshFailed) -> None:
        self.last_error = message.error
        self.notify(f"refresh failed: {message.error}", severity="error", timeout=4)
        self._rearm(backoff=True)

    @on(RegistryChecked)
    def _on_registry(self, message: RegistryChecked) -> None:
        self.registry = message.state
        if self._poll_enabled:
            self.set_timer(self.service.REGISTRY_TTL_S, self.check_registry)

    def _rearm(self, backoff: bool = False) -> None:
        if not self._poll_enabled:
            return
        delay = self.cfg.refresh_seconds * (4 if backoff else 1)
        self._timer = self.set_timer(delay, self.poll)

    # ------------------------------------------------------------------ navigation

    def open_screen(self, name: str, model: str | None = None, environment: str | None = None) -> None:
        from console.ui.navigation import SCREENS

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
        if self._timer is not None:
            self._timer.stop()
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

    def on_unmount(self) -> None:
        self.stop_live_writer()
        if self.exit_watchdog is not None:  # a real run: do not wait on a thread worker mid-query
            self.exit_watchdog(self.return_code or 0)
