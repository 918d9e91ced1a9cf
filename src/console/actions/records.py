"""What an operator action plans and returns: a `Plan` of `Change`s to the registry's aliases, and the
`ActionResult` every action gives (`actions.operator`), which the CLI and the TUI print and the audit trail records."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from console.actions.inflight import Flight


@dataclass(frozen=True)
class Change:
    alias: str
    from_version: str | None
    to_version: str | None  # None: the alias is removed


@dataclass(frozen=True)
class Plan:
    """What an action would change; `blocked` says why it cannot run at all."""
    action: str  # catalog id
    model: str
    environment: str
    strategy: str
    event: str  # deployment-log action
    version: str | None
    from_version: str | None  # the checked alias's current version
    checked_alias: str  # the alias `expected_from` refers to
    changes: tuple[Change, ...] = ()
    traffic_pct: int | None = None
    canary_alias: str | None = None
    canary_pct: int | None = None  # new canary traffic; 0 clears it; None leaves it
    needs_gates: bool = False
    summary: str = ""
    blocked: str | None = None
    usage: bool = False  # blocked by what was typed (a version the registry does not hold): exit 2, not 1


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    status: str  # done | refused | conflict | failed | unknown
    message: str
    action_id: str | None = None
    from_version: str | None = None
    to_version: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def abandoned(flight: Flight) -> ActionResult:
    """What the worker of an abandoned action returns (nobody waits for it: the console is leaving)."""
    rec = flight.result or {}
    return ActionResult(False, rec.get("outcome", "failed"),
                        rec.get("message", "interrupted by quit before the intent; nothing changed"),
                        flight.action_id, flight.fields.get("from"), flight.fields.get("to"),
                        {"abandoned": True, "stage": flight.stage})
