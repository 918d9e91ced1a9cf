"""Acknowledgements: an operator says "known, accepted" about an incident, in the audit trail.

An acknowledged incident still fires (the rule still breaches) but stops asking for attention: `check`
exits 0 on it and the screens say who acknowledged it and why. The record names the incident (model,
rule, id, onset) and the instant the console was looking at; it applies to that incident while it lasts,
and to nothing that starts after it (a new breach of the same rule asks again). Incident ids carry the
estimated onset, which may move by an evaluation step as the clock moves, so a record matches by id, or by
model and rule for an incident that was going on at the acknowledged instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

PHASE = "ack"


@dataclass(frozen=True)
class Ack:
    incident: str
    model: str
    rule: str
    at: datetime  # the instant the console was looking at (naive UTC, like the findings)
    by: str
    reason: str
    ts: str = ""  # when the record was written

    def to_dict(self) -> dict[str, Any]:
        return {"incident": self.incident, "by": self.by, "reason": self.reason,
                "at": self.at.isoformat() + "Z", "recorded": self.ts}


def record(incident: Any, at: datetime, reason: str) -> dict[str, Any]:
    """The audit record's fields for acknowledging `incident` (a finding) as seen at `at`."""
    return {"phase": PHASE, "action": "ack", "model": incident.model, "environment": "production",
            "incident": incident.id, "rule": incident.rule, "onset": _iso(incident.onset), "at": _iso(at),
            "reason": reason}


def from_records(records: Iterable[dict[str, Any]]) -> list[Ack]:
    out = []
    for rec in records:
        if rec.get("phase") != PHASE:
            continue
        at = _parse(rec.get("at"))
        if at is None or not rec.get("incident"):
            continue
        out.append(Ack(str(rec["incident"]), str(rec.get("model") or ""), str(rec.get("rule") or ""), at,
                       str(rec.get("actor") or "?"), str(rec.get("reason") or ""), str(rec.get("ts") or "")))
    return out


def matching(finding: Any, acks: Iterable[Ack], now: datetime) -> Ack | None:
    """The latest acknowledgement that covers `finding` as seen at `now`, None when none does."""
    best = None
    for a in acks:
        if a.at > now:  # acknowledged after the instant being looked at
            continue
        same = a.incident == finding.id or (
            a.model == finding.model and a.rule == finding.rule and finding.onset <= a.at
            and (finding.end is None or finding.end >= a.at))
        if same and (best is None or a.at >= best.at):
            best = a
    return best


def _iso(t: datetime) -> str:
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc).replace(tzinfo=None)
    return t.isoformat(timespec="seconds") + "Z"


def _parse(text: Any) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.astimezone(timezone.utc).replace(tzinfo=None) if t.tzinfo else t
