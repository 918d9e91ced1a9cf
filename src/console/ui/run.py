"""Running the TUI for real: SSH-friendly defaults, and no process left behind when the terminal goes.

- Over SSH (`SSH_CONNECTION` set) animations are off unless TEXTUAL_ANIMATIONS says otherwise.
- SIGHUP (the SSH link or the tmux pane went away) and SIGTERM make the app exit; a closed stdin does too
  (Textual's driver sees EOF).
- As the app unmounts, the live writer (a daemon thread) is stopped, and a daemon watchdog ends the
  process shortly after, so a thread worker still computing (asyncio would wait for it) keeps nothing alive.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from console.config import Config

EXIT_GRACE_S = 1.5  # time for Textual to restore the terminal after unmounting


def ssh_defaults(environ=os.environ) -> None:
    if environ.get("SSH_CONNECTION") and "TEXTUAL_ANIMATIONS" not in environ:
        environ["TEXTUAL_ANIMATIONS"] = "none"


def _watchdog(code: int) -> None:
    def kill() -> None:
        os._exit(code)

    timer = threading.Timer(EXIT_GRACE_S, kill)
    timer.daemon = True
    timer.start()


def run(cfg: Config, live_writer: Path | None = None) -> int:
    ssh_defaults()
    from console.ui.app import ConsoleApp

    app = ConsoleApp(cfg, live_writer=live_writer)
    app.exit_watchdog = _watchdog

    def leave(signum, frame) -> None:  # the terminal went away: leave, do not spin on a dead tty
        try:
            app.call_later(app.exit)
        except Exception:  # noqa: BLE001 - not running yet or already gone
            os._exit(129)

    signal.signal(signal.SIGHUP, leave)
    signal.signal(signal.SIGTERM, leave)
    try:
        app.run()
    finally:
        app.stop_live_writer()
        _watchdog(app.return_code or 0)
    return app.return_code or 0
