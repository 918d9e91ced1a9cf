"""The one exit-code table every command uses (README, "Exit codes", prints the same table).

A script can tell apart: refused (nothing was tried), a usage/config mistake, a conflict with another
operator, a remote failure (nothing changed), and an outcome nobody can know without looking.
"""

from __future__ import annotations

OK = 0           # done; `check`: no alert firing; `audit verify`: the trail is intact
REFUSED = 1      # refused: read-only, role, gate, not confirmed, blocked plan, audit trail fails verification;
                 # `check`: some alert fires that nobody acknowledged (`ack`)
USAGE = 2        # usage or configuration error: bad flag, unknown environment, model or version, malformed hook URL,
                 # unset ${VAR} that this command needs; `check`/`drift`: could not evaluate
CONFLICT = 3     # someone else moved the alias first, holds the model's lease, or is running on this box
REMOTE = 4       # a remote system failed (registry, deploy or retrain hook): nothing changed, or the message
                 # says exactly what did
UNKNOWN = 5      # the outcome is unknown: a hook timed out after the request was sent; check the deploy
                 # system, then re-run or roll back
INTERRUPTED = 130  # Ctrl-C, SIGTERM or SIGHUP

TABLE = (
    (OK, "done; `check`: nothing firing; `audit verify`: intact"),
    (REFUSED, "refused: read-only, role, gate, not confirmed, blocked plan, audit trail fails verification; "
              "`check`: alerts firing that nobody acknowledged"),
    (USAGE, "usage or configuration error (unknown environment, model or version, malformed hook URL, unset ${VAR} the "
            "command needs); `check`/`drift`: could not evaluate"),
    (CONFLICT, "conflict: another operator moved it first, holds its lease, or runs an action on it here"),
    (REMOTE, "a remote system failed (registry, hook): nothing changed, or the message says what did"),
    (UNKNOWN, "outcome unknown: a hook timed out after the request was sent; check, then re-run or roll back"),
    (INTERRUPTED, "interrupted (Ctrl-C, SIGTERM or SIGHUP); an action past its intent is recorded as unknown"),
)

BY_STATUS = {"done": OK, "refused": REFUSED, "conflict": CONFLICT, "failed": REMOTE, "unknown": UNKNOWN}


def for_status(status: str) -> int:
    """The exit code of an action result's status."""
    return BY_STATUS.get(status, REMOTE)
