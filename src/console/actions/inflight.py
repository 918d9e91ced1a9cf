"""Actions running in this process, so that quitting mid-action leaves an honest trail and a free model.

Without this, an operator who quits while a hook is slow leaves an intent without an outcome (the next
start reports it as incomplete) and the lease in the registry until its TTL refuses every re-run. The
operator registers each action here while it runs and passes each step through its `Flight`;
`abandon` (the operator insisted on quitting) writes the outcome, "interrupted by quit" with what may
have happened by then, and releases the lease and the model lock at once.

A worker that was abandoned stops at its next step (`Abandoned`): it never sends the hook, moves an
alias or writes a second outcome after that. Exactly one outcome follows each intent: the worker and
`abandon` both claim it under the flight's mutex, and the intent itself is written under that mutex, so
an abandonment never lands between "about to write the intent" and "intent written".
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

QUIT_REASON = "the operator quit the console"

# stage -> (outcome, what it means); stages before the intent need no record (nothing was written)
_DEPLOY = {
    "intent": ("failed", "before the deploy hook was called; nothing changed"),
    "hook": ("unknown", "while the deploy hook ran: unknown: the deploy system may have applied it; check it, "
                        "then re-run or roll back"),
    "aliases": ("unknown", "while the registry aliases were being moved: unknown: check the registry, then "
                           "re-run or roll back"),
    "record": ("done", "after the aliases were moved and read back as planned; the console's tags and the "
                       "deployment log event may be missing"),
}
_RETRAIN = {
    "intent": ("failed", "before the retrain hook was called; no retrain started"),
    "hook": ("unknown", "while the retrain hook ran: unknown: the training system may have started it; check it "
                        "before re-running"),
}


class Abandoned(Exception):
    """The operator quit while this action ran: the worker stops here; its outcome is already written."""


@dataclass(eq=False)
class Flight:
    """One action in flight: where it is, and what `abandon` needs to close it."""
    action: str
    model: str
    environment: str
    stage: str = "start"
    action_id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # the intent's fields, repeated in the outcome
    lease: Any = None  # actions.locks.Lease
    lock: Any = None  # filelock.FileLock (thread_local=False: `abandon` releases it from another thread)
    abandoned: bool = False
    claimed: bool = False  # the worker is writing the outcome itself
    result: Any = None  # the abandonment's outcome record (for the worker's ActionResult)
    _mutex: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _release_mutex: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def step(self, stage: str) -> None:
        """Move on to `stage`, unless the action was abandoned."""
        with self._mutex:
            if self.abandoned:
                raise Abandoned(self.action)
            self.stage = stage

    def record_intent(self, write: Callable[[], str], fields: dict[str, Any]) -> str:
        """Writes the intent (`write()` returns its action id) unless abandoned; abandon waits for it."""
        with self._mutex:
            if self.abandoned:
                raise Abandoned(self.action)
            self.action_id = write()
            self.fields, self.stage = dict(fields), "intent"
            return self.action_id

    def claim(self) -> None:
        """The worker is about to write the outcome: from now on `abandon` only releases."""
        with self._mutex:
            if self.abandoned:
                raise Abandoned(self.action)
            self.claimed = True

    def release(self) -> None:
        """Lease then lock, each at most once whoever calls (the worker's `finally`, or `abandon`)."""
        with self._release_mutex:
            if self.lease is not None:
                self.lease.release()
            if self.lock is not None and self.lock.is_locked:
                try:
                    self.lock.release()
                except Exception:  # noqa: BLE001 - the kernel frees it when the process ends
                    pass

    def abandon(self, audit: Any, reason: str) -> dict[str, Any] | None:
        """Marks the flight abandoned, writes its outcome when an intent is waiting for one, releases it.
        Returns the outcome record written, None when none was due (no intent yet, or the worker's own)."""
        with self._mutex:
            if self.abandoned or self.claimed:
                due = False
            else:
                self.abandoned, due = True, self.action_id is not None
            stage = self.stage
        record = None
        if due:
            table = _RETRAIN if self.action == "retrain" else _DEPLOY
            status, what = table.get(stage, ("unknown", f"at step {stage}: unknown: check the registry"))
            record = audit.outcome(self.action_id, self.action, self.model, self.environment, status,
                                   message=f"interrupted by quit {what}", interrupted=reason, stage=stage,
                                   **self.fields)
            self.result = record
        self.release()
        return record


class Flights:
    """The actions this process is running now (the operator's), for `abandon`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: list[Flight] = []

    @contextmanager
    def start(self, action: str, model: str, environment: str) -> Iterator[Flight]:
        flight = Flight(action, model, environment)
        with self._lock:
            self._running.append(flight)
        try:
            yield flight
        finally:
            with self._lock:
                self._running.remove(flight)

    def running(self) -> list[Flight]:
        with self._lock:
            return list(self._running)

    def abandon(self, audit: Any, which: list[tuple[str, str, str]] | None = None,
                reason: str = QUIT_REASON) -> list[dict[str, Any]]:
        """Abandons the flights on the (action, model, environment)s named (all when `which` is None; the
        action's name is not compared, a screen may call it by another); returns the outcome records written."""
        wanted = None if which is None else {tuple(w)[-2:] for w in which}
        out = []
        for flight in self.running():
            if wanted is not None and (flight.model, flight.environment) not in wanted:
                continue
            record = flight.abandon(audit, reason)
            if record is not None:
                out.append(record)
        return out
