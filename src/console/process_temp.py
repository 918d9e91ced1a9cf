"""Temporary folders named for the process that made them, and the sweep of those whose process is gone.

A process killed outright (SIGKILL, the OOM killer, a cron timeout's `kill -9`) runs no `finally` nor finalizer,
so what it kept in the temporary folder (a rollup build's parsed pieces, a temporary store's segments) stayed
there for good, one per killed process. Each such folder is named `<prefix><pid>-...`; the next process of its
kind removes the ones whose process is gone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

IDLE_S = 600.0


def make(prefix: str) -> str:
    """A new folder in the temporary folder, named for this process, after sweeping its kind's dead ones."""
    sweep(tempfile.gettempdir(), prefix)
    return tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")


def _changed(path: str) -> float:
    """When the folder or anything directly in it last changed (a temporary store writes into its kinds' folders)."""
    newest = os.stat(path).st_mtime
    with os.scandir(path) as entries:
        for entry in entries:
            try:
                newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
            except OSError:
                continue
    return newest


def sweep(parent: str, prefix: str, idle_s: float = IDLE_S, now: float | None = None) -> None:
    """Removes `parent`'s folders named `prefix` + pid whose process is gone. One whose process is alive, whose
    name says no pid, or that changed in the last `idle_s` (a pid not seen from here, another PID namespace sharing
    the folder, may still be writing it) is left alone."""
    now = time.time() if now is None else now
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        pid = name[len(prefix):].split("-", 1)[0] if name.startswith(prefix) else ""
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        path = os.path.join(parent, name)
        try:
            if now - _changed(path) < idle_s:
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:  # gone: its folder is nobody's
            shutil.rmtree(path, ignore_errors=True)
        except (OSError, OverflowError):  # alive (another user's: not ours to judge), no such pid, or not a folder
            continue
