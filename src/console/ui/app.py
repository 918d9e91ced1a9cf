"""The Textual app: owns the live state; screens render it and route keys.

Polling follows dolphie's rule: a thread worker reads, posts a message, the handler updates the
screens and only then re-arms a one-shot timer, so polls never overlap on a slow box.
"""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive

from console.config import Config
from console.ui.messages import RefreshFailed, RegistryChecked, SnapshotReady


class ConsoleApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "mlops-console"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("r", "refresh", "Refresh", id="refresh"),
    ]

    snapshot = reactive(None, always_update=True)
    registry = reactive(None, always_update=True)

    def __init__(self, cfg: Config, service=None, live_writer: Path | None = None, poll: bool = True):
        super().__init__()
        self.cfg = cfg
        self._service = service
        self._live_writer_path = live_writer
        self._live_writer = None
        self._poll_enabled = poll
        self._timer = None
        self.last_error: str | None = None

    @property
    def service(self):
        if self._service is None:
            from console.service import Service

            self._service = Service(self.cfg)
        return self._service

    def on_mount(self) -> None:
        from console.ui.screens.overview import OverviewScreen

        if self.cfg.keys:
            self.set_keymap(dict(self.cfg.keys))
        self.push_screen(OverviewScreen())
        if self._live_writer_path is not None:
            self._start_live_writer()
        self.poll()
        self.check_registry()

    def _start_live_writer(self) -> None:
        try:
            from console.demo.live import LiveWriter

            self._live_writer = LiveWriter(self._live_writer_path)
            self._live_writer.start()
        except Exception as exc:  # noqa: BLE001 - the console still works on the built data
            self.notify(f"live writer did not start: {exc}", severity="warning")

    # ------------------------------------------------------------------ polling

    def poll(self) -> None:
        self._timer = None
        self._refresh_worker()

    @work(thread=True, exclusive=True, group="refresh", exit_on_error=False)
    def _refresh_worker(self) -> None:
        try:
            snap = self.service.snapshot(wait_for_registry=False)
        except Exception as exc:  # noqa: BLE001 - shown in the header, retried at the next tick
            self.post_message(RefreshFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(SnapshotReady(snap))

    @work(thread=True, exclusive=True, group="registry", exit_on_error=False)
    def check_registry(self) -> None:
        state = self.service.registry_state(max_age_s=0)
        self.post_message(RegistryChecked(state))

    @on(SnapshotReady)
    def _on_snapshot(self, message: SnapshotReady) -> None:
        self.last_error = None
        self.snapshot = message.snapshot
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

    def action_refresh(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.poll()
        self.check_registry()

    def on_unmount(self) -> None:
        if self._live_writer is not None:
            self._live_writer.stop()
