"""Every operator action, declared once; the TUI's key bindings and the CLI both read this table.

`role` is the serving role (alias) the action moves, "" when it moves none. `applies` says whether
the action makes sense for a model in a given `ActionState`, so the UI can grey it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class ActionState:
    """What the UI knows about a model in one environment."""
    has_champion: bool = False
    has_canary: bool = False
    has_previous_champion: bool = False
    has_shadow: bool = False
    is_prompt: bool = False


@dataclass(frozen=True)
class ActionSpec:
    id: str
    key: str
    description: str
    dangerous: bool
    role: str
    applies: Callable[[ActionState], bool]


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("promote", "P", "Promote a version (direct, canary start, blue/green switch, shadow start)",
               True, "champion", lambda s: True),
    ActionSpec("canary-step", "+", "Move the canary to the next traffic step", True, "canary",
               lambda s: s.has_canary),
    ActionSpec("canary-promote", "F", "Promote the canary to champion (full traffic)", True, "champion",
               lambda s: s.has_canary),
    ActionSpec("canary-abort", "A", "Abort the canary (0 % traffic)", True, "canary", lambda s: s.has_canary),
    ActionSpec("rollback", "R", "Return the champion to the previous version", True, "champion",
               lambda s: s.has_previous_champion),
    ActionSpec("shadow-stop", "S", "Stop mirroring traffic to the shadow version", True, "shadow",
               lambda s: s.has_shadow),
    ActionSpec("retrain", "T", "Trigger the retrain pipeline with the evidence shown", False, "",
               lambda s: not s.is_prompt),
)

# Not a serving action (it moves no alias and is not offered per model): the incident screen's `k` and the
# `ack` command. Read-only mode refuses it like any other write; roles do not gate it (it is not dangerous).
ACK = ActionSpec("ack", "k", "Acknowledge an incident (recorded in the audit trail; check stops failing on it)",
                 False, "", lambda s: True)

_BY_ID = {a.id: a for a in (*ACTIONS, ACK)}
_BY_KEY = {a.key: a for a in ACTIONS}


def get(action_id: str) -> ActionSpec:
    try:
        return _BY_ID[action_id]
    except KeyError:
        raise KeyError(f"unknown action {action_id!r}; expected one of {', '.join(_BY_ID)}") from None


def by_key(key: str) -> ActionSpec | None:
    return _BY_KEY.get(key)


def available(state: ActionState) -> list[ActionSpec]:
    return [a for a in ACTIONS if a.applies(state)]


def version_text(version) -> str | None:
    """A version as the registry names it: `v4`, `V4` and `04` are version 4 (MLflow numbers its versions), so the
    gates chosen for a version, the aliases set and the read-back all compare one spelling."""
    if version is None:
        return None
    text = str(version).strip()
    if text[:1] in "vV" and _digits(text[1:]):
        text = text[1:]
    return str(int(text)) if _digits(text) else text


def _digits(text: str) -> bool:
    """ASCII digits only: `str.isdigit` holds for `²` too, which `int` refuses (`promote m ²` ended in a ValueError
    and exit 4, not "has no version" and exit 2), and for other scripts' digits, which no MLflow version is."""
    return text.isascii() and text.isdigit()
