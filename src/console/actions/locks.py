"""Two operators, one model: exactly one of them moves an alias, the other hears who won.

On one box a `filelock.FileLock` per model (next to the audit file) serialises actions, and the
winner's move is then visible to the loser's `expected_from` check. Across boxes the console
records a lease as a registered-model tag (`console.lease`), writes it, pauses, reads it back and
only proceeds if it is still its own. MLflow has no compare-and-set, so two boxes writing within
the same pause can both believe they won: across boxes this is best-effort with a small window.

A lease whose holder was a process on this box that no longer exists (crash, kill, quit mid-action)
is taken over at once instead of refusing every re-run until it expires. Lock files are 0600 in a
0700 folder.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from filelock import FileLock, Timeout

from console.actions.catalog import version_text
from console.actions.audit import AuditError
from console.private_files import open_private, private_dir, tighten
from console.sources.registry import Registry, RegistryUnavailable

LEASE_TAG = "console.lease"
LAST_MOVE_TAG = "console.last_move."  # + alias
LOCK_WAIT_S = 30.0
LEASE_TTL_S = 120.0
LEASE_PAUSE_S = 0.3


class Conflict(Exception):
    """Someone else changed the model first, or holds it right now."""

    def __init__(self, message: str, moved: dict[str, Any] | None = None):
        super().__init__(message)
        self.message, self.moved = message, moved or {}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:120]


def model_lock(lock_dir: str | os.PathLike, model: str, timeout: float = LOCK_WAIT_S) -> FileLock:
    """The model's lock on this box, beside the audit trail. Its file is made here: a folder that cannot be written
    (read-only, a file in its way) is the trail's `AuditError`, said in one line, not an OSError from the acquire."""
    path = Path(lock_dir) / f"{_safe(model)}.lock"
    try:
        private_dir(lock_dir)
        open_private(path, "a").close()
        tighten(path)
    except OSError as exc:
        raise AuditError(f"cannot take the action lock {path}: {exc.strerror or exc}") from None
    # thread_local=False: quitting mid-action (actions.inflight) releases it from the UI thread
    return FileLock(str(path), timeout=timeout, mode=0o600, thread_local=False)


def holder_gone(lease: dict[str, Any]) -> bool:
    """True when the lease names a process on this box that no longer runs (its pid is free)."""
    if lease.get("host") != socket.gethostname():
        return False
    try:
        pid = int(lease.get("pid"))
    except (TypeError, ValueError):
        return False
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def _utc(clock: Callable[[], datetime] | None) -> datetime:
    return (clock or (lambda: datetime.now(timezone.utc)))().astimezone(timezone.utc)


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


class Lease:
    """The cross-box guard: a registered-model tag naming the holder until it expires."""

    def __init__(self, registry: Registry, model: str, owner: str, ttl_s: float = LEASE_TTL_S,
                 pause_s: float = LEASE_PAUSE_S, clock: Callable[[], datetime] | None = None):
        self.registry, self.model, self.owner = registry, model, owner
        self.ttl_s, self.pause_s, self.clock = ttl_s, pause_s, clock
        self.token = uuid.uuid4().hex
        self.held = False

    def _current(self) -> dict[str, Any] | None:
        raw = self.registry.model_tags(self.model).get(LEASE_TAG)
        try:
            lease = json.loads(raw) if raw else None
        except ValueError:
            return None
        return lease if isinstance(lease, dict) else None

    def acquire(self) -> None:
        now = _utc(self.clock)
        held = self._current()
        if held and held.get("token") != self.token:
            expires = _parse_time(held.get("expires"))
            if expires and expires > now and not holder_gone(held):
                raise Conflict(f"{self.model} is being changed by {held.get('owner')} on {held.get('host')} "
                               f"(lease until {held.get('expires')})", {"lease": held})
        mine = {"owner": self.owner, "host": socket.gethostname(), "pid": os.getpid(), "token": self.token,
                "expires": (now + timedelta(seconds=self.ttl_s)).isoformat(timespec="seconds").replace("+00:00", "Z")}
        self.registry.set_model_tag(self.model, LEASE_TAG, json.dumps(mine, sort_keys=True))
        time.sleep(self.pause_s)
        back = self._current()
        if back is None:  # nothing read back: a server answering 200 to everything is not a registry that keeps tags
            raise RegistryUnavailable(f"registry {self.registry.display_uri}: the lease tag written on {self.model} "
                                      "was not there when read back (is the tracking URI an MLflow server?)")
        if back.get("token") != self.token:
            raise Conflict(f"{self.model}: another console ({(back or {}).get('owner')} on "
                           f"{(back or {}).get('host')}) took the lease at the same moment", {"lease": back})
        self.held = True

    def release(self) -> None:
        """Drop the lease if it is still ours; a lost lease simply expires."""
        if not self.held:
            return
        self.held = False
        try:
            back = self._current()
            if back and back.get("token") == self.token:
                self.registry.delete_model_tag(self.model, LEASE_TAG)
        except Exception:  # the registry went away: the lease expires on its own
            pass


def record_move(registry: Registry, model: str, alias: str, by: str, at: str, from_version: str | None,
                to_version: str | None, action_id: str) -> None:
    registry.set_model_tag(model, LAST_MOVE_TAG + alias, json.dumps(
        {"by": by, "at": at, "from": from_version, "to": to_version, "action_id": action_id}, sort_keys=True))


def last_move(registry: Registry, model: str, alias: str, audit_path: str | os.PathLike | None = None,
              tags: dict[str, str] | None = None) -> dict[str, Any] | None:
    """Who moved `alias` last and when: the console's tag, else the audit trail."""
    raw = (tags if tags is not None else registry.model_tags(model)).get(LAST_MOVE_TAG + alias)
    if raw:
        try:
            return json.loads(raw)
        except ValueError:
            pass
    if audit_path:
        from console.actions.audit import last_change
        return last_change(audit_path, model, alias)
    return None


def _norm(version: str | None) -> str | None:
    if version is None:
        return None
    v = str(version).strip()
    if v.lower() in ("", "none", "-"):
        return None
    return version_text(v)  # `03` is version 3, `v3` too, as the plan reads them


def check_expected(registry: Registry, model: str, alias: str, expected_from: str | None,
                   audit_path: str | os.PathLike | None = None) -> str | None:
    """Raise Conflict unless `alias` still points where the operator saw it ("none": unset).

    `expected_from=None` skips the check. Returns the alias's current version.
    """
    current = registry.alias_version(model, alias)
    if expected_from is None or _norm(expected_from) == _norm(current):
        return current
    moved = last_move(registry, model, alias, audit_path) or {}
    shown = lambda v: f"v{v}" if v else "unset"  # noqa: E731
    who = f" by {moved.get('by')} at {moved.get('at')}" if moved.get("by") else ""
    raise Conflict(f"{alias} is {shown(current)}, not {shown(_norm(expected_from))} as you saw: "
                   f"it was moved{who}; refresh and try again", {**moved, "current": current})


__all__ = ["Conflict", "Lease", "Timeout", "model_lock", "check_expected", "last_move", "record_move"]
