"""Running the TUI for real: SSH-friendly defaults, and gone the instant the operator quits.

- Over SSH (`SSH_CONNECTION` set) animations are off unless TEXTUAL_ANIMATIONS says otherwise.
- SIGHUP (the SSH link or the tmux pane went away) keeps its default action: the kernel ends the process
  at once (the terminal is gone; there is nothing to restore).
- `q`, SIGTERM and a closed terminal (Textual's driver sees EOF) go through `Exit.begin`, which ends the
  process at once: DuckDB queries in flight are interrupted, the terminal is put back as it was found
  (termios attributes saved at start, alternate screen left, cursor shown, mouse and paste modes off) and
  `os._exit` follows. Nothing is waited for: Textual's own shutdown and asyncio's wait for thread workers
  mid-query took most of a second on a busy box, and nothing the console writes needs them (the audit is
  fsynced per record, the store commits through an atomically replaced manifest). Should a C call hold the
  GIL, a kernel timer (SIGALRM, default action, `KERNEL_DEADLINE_S`) ends the process anyway.
- `q` is seen in the driver's input thread (`fast_quit_driver`): when it would quit here (no modal, no text
  field focused, no action running; `ConsoleApp.quits_at_once`), the process ends without the key waiting in
  the event loop's queue behind a repaint. Otherwise the key takes the normal path (quitting mid-action asks
  first, then `Service.abandon_actions` records the action and frees its lease).
- An unhandled error in the app (Textual ends the app on one) is not silent: the process had left before
  Textual printed its report, so the console vanished without a word. The terminal is put back, one line says
  what failed and where the details are (`crash.log` beside the audit trail, 0600: a traceback without its
  local values, which may hold secrets), and the exit code is the CLI's for an unexpected failure.
- SIGTERM mid-action cannot ask: the running actions are abandoned (outcome recorded, lease released) first,
  under the kernel timer.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from datetime import datetime, timezone
from pathlib import Path

from console import exit_codes
from console.config import Config

KERNEL_DEADLINE_S = 0.4  # the kernel ends the process (SIGALRM's default action), even if a C call holds the GIL
RESTORE = ("\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l"  # mouse reporting off
           "\x1b[?2004l\x1b[?1004l\x1b[<u"  # bracketed paste, focus events, kitty keyboard flags off
           "\x1b[?1049l\x1b[?25h\x1b[0m")  # main screen, cursor shown, attributes reset


def arm_kernel_deadline() -> None:
    """The last resort needs no Python: SIGALRM with its default action, once (a second call keeps the first)."""
    try:
        if signal.getitimer(signal.ITIMER_REAL)[0] == 0:
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.setitimer(signal.ITIMER_REAL, KERNEL_DEADLINE_S)
    except (ValueError, OSError):  # not the main thread: the caller ends the process at once anyway
        pass


def crash_log_path() -> Path:
    """`crash.log` in the folder the audit trail has by default (`$XDG_STATE_HOME/mlops-console`)."""
    from console.actions.audit import default_path  # imported on a crash only, never on the way in

    return default_path().with_name("crash.log")


def ssh_defaults(environ=os.environ) -> None:
    if environ.get("SSH_CONNECTION") and "TEXTUAL_ANIMATIONS" not in environ:
        environ["TEXTUAL_ANIMATIONS"] = "none"


class Exit:
    """The one way out of a real run: interrupt the queries, put the terminal back, end the process now."""

    def __init__(self) -> None:
        self.app = None
        self._tty_fd: int | None = None
        self._tty_attrs = None
        self._lock = threading.Lock()
        self._leaving = False
        self.code = 0
        self.crash: BaseException | None = None
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
        if self.crash is not None:
            code = exit_codes.REMOTE
            self.report_crash()
        os._exit(code)

    def record_crash(self, error: BaseException) -> None:
        if self.crash is None:
            self.crash = error

    def report_crash(self) -> None:
        """One line on stderr (the terminal is back by now); the traceback, without locals, in `crash.log`."""
        from console.safe_text import printable

        error = self.crash
        where = crash_log_path()
        try:
            from console.private_files import open_private

            stamp = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
            with open_private(where, "a", encoding="utf-8") as fh:
                fh.write(f"--- {stamp} mlops-console pid {os.getpid()}\n")
                fh.write("".join(traceback.format_exception(error)))
            said = f"the details are in {printable(where)}"
        except Exception as exc:  # noqa: BLE001 - the line below still tells the operator what failed
            said = f"the details could not be written to {printable(where)} ({printable(exc)})"
        message = printable(f"{type(error).__name__}: {error}")[:300]
        try:
            os.write(2, f"mlops-console: stopped on an internal error: {message}; {said}\n".encode())
        except OSError:
            pass

    def begin(self, code: int = 0) -> None:
        """Called from the UI thread (q), the input thread (q, fast path) or a signal handler: leave now."""
        with self._lock:
            if self._leaving:
                return
            self._leaving = True
            self.code = code
            arm_kernel_deadline()
        app = self.app
        if app is not None:
            interrupt_queries(app)
        self.now(code)

    def abandon_running(self) -> None:
        """SIGTERM mid-action (nobody to ask): the actions get their outcome and their leases go."""
        app = self.app
        try:
            running = app.running_actions() if app is not None else []
            if running:
                from console.ui.screens.action_flow import abandon

                abandon(app.service, running)
        except Exception:  # noqa: BLE001 - leaving anyway; the start-up check reports the intent
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


def fast_quit_driver(base: type) -> type:
    """`base` (the driver Textual picked) with `q` handled in its input thread when it quits here."""
    from textual import events

    class FastQuitDriver(base):
        def process_message(self, message) -> None:
            if isinstance(message, events.Key):
                app = self._app
                try:
                    quits = app.exit_watchdog is not None and app.quits_at_once(message.key)
                except Exception:  # noqa: BLE001 - unsure: the key takes the normal path
                    quits = False
                if quits:
                    app.exit_watchdog(0)  # ends the process
            super().process_message(message)

    FastQuitDriver.__name__ = f"FastQuit{base.__name__}"
    return FastQuitDriver


def run(cfg: Config, live_writer: Path | None = None, view: dict | None = None) -> int:
    """`view`: the read options the TUI opens at (`at`, `since`, as the CLI takes them); None: live."""
    ssh_defaults()
    from console.ui.first_look import FirstLook

    # forked first: no thread yet, and the store's imports run beside Textual's. Its look is of the last 24 h
    # before the wall clock: a console opened at another time goes straight to its own first read
    look = FirstLook.start(cfg) if view is None else None
    from console.ui.app import ConsoleApp

    leaving = Exit()
    app = ConsoleApp(cfg, live_writer=live_writer, first_look=look, view=view)
    app.driver_class = fast_quit_driver(app.driver_class)
    leaving.app = app
    app.exit_watchdog = leaving.begin
    app.crash_reporter = leaving.record_crash

    def on_signal(signum, frame) -> None:  # we were told to stop
        arm_kernel_deadline()
        leaving.abandon_running()
        leaving.begin(0)

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
