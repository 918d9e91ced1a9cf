"""Running the TUI for real: SSH-friendly defaults, and no process left behind when the terminal goes."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from console.config import Config


def run(cfg: Config, live_writer: Path | None = None) -> int:
    if os.environ.get("SSH_CONNECTION") and "TEXTUAL_ANIMATIONS" not in os.environ:
        os.environ["TEXTUAL_ANIMATIONS"] = "none"
    from console.ui.app import ConsoleApp

    app = ConsoleApp(cfg, live_writer=live_writer)

    signal.signal(signal.SIGHUP, lambda signum, frame: app.exit())  # the SSH link dropped: leave, do not spin
    app.run()
    return app.return_code or 0
