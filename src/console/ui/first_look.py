"""The first frame's numbers, read by a forked helper process while this one starts the terminal UI.

Importing the store's libraries and starting Textual both hold the GIL: in one process they run one after the
other, whatever the number of cores. Forked before Textual is imported, the helper imports the store (DuckDB only:
the first look needs neither PyArrow nor Polars) and reads the quick look (`Service.snapshot(quick=True)`: the
models, their serving states and the numbers of the last 24 h over what the store holds) on another core, and
hands the Snapshot back through a pipe. It is read here as plain data, `console.snapshot`'s classes and datetime:
unpickled through `console.service` it would import the store's libraries in this process after all, holding the
GIL the first paint needs. The helper never touches the terminal (its standard streams go to /dev/null) and ends
as soon as it has answered; the app then reads everything else itself, as before. Where fork is missing or
fails, the app's own first worker reads the quick look instead.
"""

from __future__ import annotations

import io
import os
import pickle
import select
import signal
import sys
import threading
import time

_POOLED = ("duckdb", "polars", "pyarrow", "numpy")  # libraries that start native thread pools
# what an answer may be made of: the snapshot's own data classes and datetime. Unpickling anything else would
# import it here, in the UI's process (the service module alone brings DuckDB, PyArrow and NumPy: half a second
# of the first frame); an answer that needs more is refused, and the app's worker reads the quick look itself.
_PLAIN = {("console.snapshot", "Snapshot"), ("console.snapshot", "ModelRow"), ("console.snapshot", "RegistryState"),
          ("datetime", "datetime"), ("datetime", "date"), ("datetime", "timedelta")}


class _Plain(pickle.Unpickler):
    """Our own child's answer, through a private pipe, read only as plain data (see _PLAIN)."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _PLAIN:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a snapshot")
        return super().find_class(module, name)


class FirstLook:
    """A helper process computing the quick look; `result` collects it (once)."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self._fd: int | None = fd

    @classmethod
    def start(cls, cfg, clock=None) -> FirstLook | None:
        """Forks the helper now; None if it cannot, or should not: a fork copies no thread, so it is safe only
        before any thread started and before the store's libraries (whose thread pools the child would lack)
        were loaded, which is how `ui.run` calls it."""
        if not hasattr(os, "fork") or not cfg.has_logs or threading.active_count() > 1 \
                or any(name in sys.modules for name in _POOLED):
            return None
        try:
            r, w = os.pipe()
        except OSError:
            return None
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return None
        if pid == 0:  # the helper: never returns
            _helper(r, w, cfg, clock)
        os.close(w)
        return cls(pid, r)

    def result(self, timeout: float = 30.0):
        """The helper's Snapshot, or None (it failed, or took longer than `timeout`). Blocks; the GIL is let go
        while waiting, so a worker thread may call it while the UI starts."""
        fd, self._fd = self._fd, None
        if fd is None:
            return None
        chunks: list[bytes] = []
        deadline = time.monotonic() + timeout
        ended = False
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([fd], [], [], left)[0]:
                    return None
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    ended = True
                    break
                chunks.append(chunk)
        except OSError:
            return None
        finally:
            os.close(fd)
            self._end(kill=not ended)
        try:
            return _Plain(io.BytesIO(b"".join(chunks))).load() if chunks else None
        except Exception:  # noqa: BLE001 - a helper cut short, or an answer not plain: the app reads it itself
            return None

    def close(self) -> None:
        """Gives up on the result (the app is leaving): the helper is ended and reaped."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
            self._end(kill=True)

    def _end(self, kill: bool) -> None:
        if kill:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _helper(r: int, w: int, cfg, clock) -> None:
    code = 1
    try:
        os.close(r)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # the terminal belongs to the UI
            os.dup2(null, fd)
        from console.service import Service

        service = Service(cfg, clock=clock, cache=True)
        snap = service.snapshot(refresh=False, quick=True, wait_for_registry=False, monitoring=False)
        data = pickle.dumps(snap)
        view = memoryview(data)
        while view:
            view = view[os.write(w, view):]
        code = 0
    except BaseException:  # noqa: BLE001 - the app reads the snapshot itself; nothing may reach the terminal
        pass
    finally:
        os._exit(code)  # no atexit handler, no flush of buffers the parent also holds
