"""Running the TUI for real: SSH-friendly defaults, and gone the instant the operator quits.

- Over SSH (`SSH_CONNECTION` set) animations are off unless TEXTUAL_ANIMATIONS says otherwise.
- SIGHUP (the SSH link or the tmux pane went away) keeps its default action: the kernel ends the process
  at once (the terminal is gone; there is nothing to restore). `q`, SIGTERM and a closed terminal (Textual's
  driver sees EOF) go through `Exit.begin`: DuckDB queries in flight are interrupted, the app is asked to
  exit, and a deadline (`EXIT_DEADLINE_S`) ends the process whatever a thread worker is doing (asyncio
  would otherwise wait for a worker mid-query); should a C call hold the GIL past it, a kernel timer
  (SIGALRM, default action) ends it anyway. At the deadline the terminal is put back as it was found
  (termios attributes saved at start, alternate screen left, cursor shown, mouse and paste modes off), so
  an abandoned Textual shutdown leaves no raw-mode shell behind.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from console.config import Config

EXIT_DEADLINE_S = 0.15  # from the quit request to a clean end (terminal restored by us if need be)
KERNEL_DEADLINE_S = 0.4  # then the kernel ends it (SIGALRM's default action), even if a C call holds the GIL
RESTORE = ("\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l"  # mouse reporting off
           "\x1b[?2004l\x1b[?1004l\x1b[<u"  # bracketed paste, focus events, kitty keyboard flags off
           "\x1b[?1049l\x1b[?25h\x1b[0m")  # main screen, cursor shown, attributes reset


def ssh_defaults(environ=os.environ) -> None:
    if environ.get("SSH_CONNECTION") and "TEXTUAL_ANIMATIONS" not in environ:
        environ["TEXTUAL_ANIMATIONS"] = "none"


class Exit:
    """The one way out of a real run: interrupt, ask the app to leave, and a deadline that does not wait."""

    def __init__(self) -> None:
        self.app = None
        self._tty_fd: int | None = None
        self._tty_attrs = None
        self._lock = threading.Lock()
        self._deadline: threading.Timer | None = None
        self.code = 0
        try:
            import termios

            fd = sys.stdin.fileno()
            if os.isatty(fd):
                self._tty_fd, self._tty_attrs = fd, termios.tcgetattr(fd)
        except Exception:  # noqa: BLE001 - no terminal (serve, pipes): nothing to restore
            pass

    def restore_terminal(self) -> None:
        try:
            if self._tty_fd is not None and self._tty_attrs is not None:
                import termios

                termios.tcsetattr(self._tty_fd, termios.TCSANOW, self._tty_attrs)
            out = sys.__stdout__
            if out is not None and out.isatty():
                os.write(out.fileno(), RESTORE.encode())
        except Exception:  # noqa: BLE001 - the terminal is gone (SIGHUP): nothing to restore
            pass

    def now(self, code: int | None = None) -> None:
        """Ends the process at once (after putting the terminal back)."""
        code = self.code if code is None else code
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        self.restore_terminal()
        os._exit(code)

    def begin(self, code: int = 0) -> None:
        """Called from the UI thread (q) or a signal handler: start leaving, with a hard deadline."""
        with self._lock:
            if self._deadline is not None:
                return
            self.code = code
            try:  # the last resort needs no Python: the kernel delivers SIGALRM with its default action
                signal.signal(signal.SIGALRM, signal.SIG_DFL)
                signal.setitimer(signal.ITIMER_REAL, KERNEL_DEADLINE_S)
            except (ValueError, OSError):  # not the main thread: the timer thread below still ends it
                pass
            self._deadline = threading.Timer(EXIT_DEADLINE_S, self.now)
            self._deadline.daemon = True
            self._deadline.start()
        app = self.app
        if app is None:
            return
        interrupt_queries(app)
        try:
            app.stop_live_writer(wait=False)
        except Exception:  # noqa: BLE001
            pass


def interrupt_queries(app) -> None:
    """Interrupts the store's queries in flight (the facade's `interrupt`), so a worker mid-query lets go
    (the process leaves at the deadline anyway)."""
    svc = getattr(app, "_service", None)
    if svc is None:
        return
    try:
        svc.interrupt()
    except Exception:  # noqa: BLE001 - leaving anyway
        pass


def run(cfg: Config, live_writer: Path | None = None) -> int:
    ssh_defaults()
    from console.ui.app import ConsoleApp

    leaving = Exit()
    app = ConsoleApp(cfg, live_writer=live_writer)
    leaving.app = app
    app.exit_watchdog = leaving.begin

    def on_signal(signum, frame) -> None:  # we were told to stop
        leaving.begin(0)
        try:
            app.call_later(app.exit)
        except Exception:  # noqa: BLE001 - not running yet or already gone
            leaving.now(129)

    # SIGHUP: the terminal is gone, there is nothing to restore and nobody to ask: the kernel ends us at once
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        app.run()
    finally:
        leaving.begin(app.return_code or 0)
    # Textual restored the terminal: leave now rather than wait for thread workers at interpreter exit
    leaving.now(app.return_code or 0)
    return app.return_code or 0
