"""What the alert rules find, as plain values: an incident (`Finding`), the changes suspected of causing it
(`Suspect`), a retraining recommendation, and the evaluation states. No Polars: a kept answer
(`answer_memo`) is read back into these without importing the analytics that made it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from console.analytics.windows import JsonResult

FIRING, RESOLVED, INSUFFICIENT = "firing", "resolved", "insufficient data"

# What an incident id never holds raw: C0 and C1 controls (newline and tab included), DEL, bidi embeddings,
# overrides, isolates and marks, line and paragraph separators, zero-width characters and BOM (safe_text's
# set, plus \n and \t) and "%" itself, so that the escape below is one-to-one.
_ID_UNSAFE = re.compile("[%\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def incident_id(*parts: object) -> str:
    """An incident's id from its parts (model, rule, onset, segment...), joined by ":". Ids are printed, copied
    and typed back (`ack ID`): a model or segment name from the logs is data, so every character that could
    steer a terminal is percent-escaped (%07, %u202E; "%" as %25). Plain names keep the id they always had,
    so acknowledgements recorded under them still match; the escape is one-to-one, so ids stay unique."""
    return ":".join(_ID_UNSAFE.sub(_escape_id, str(p)) for p in parts)


def _escape_id(m: re.Match) -> str:
    code = ord(m.group())
    return f"%{code:02X}" if code < 0x100 else f"%u{code:04X}"


@dataclass(frozen=True)
class Suspect(JsonResult):
    kind: str  # "deployment" | "alias" | "prompt"
    ts: datetime
    detail: str


@dataclass(frozen=True)
class Recommendation(JsonResult):
    model: str
    reason: str
    since: datetime  # first window of the run that triggered it
    at: datetime  # the window in which the trigger had held long enough


@dataclass(frozen=True)
class Finding:
    """One incident: a rule that breached over a run of buckets, with what changed before it."""

    id: str
    model: str
    kind: str  # the rule's metric, or "segment"
    rule: str
    severity: str
    onset: datetime
    end: datetime | None  # None while it is still firing
    value: float | None  # the run's peak (the worst evaluation): JSON "peak", the Incidents screen's "peak"
    threshold: float | None
    feature: str | None = None
    segment: dict | None = None
    suspects: tuple = ()  # analytics.incidents.Suspect
    first_drifted: tuple[str, ...] = ()  # drifted features, by how far they moved, largest first
    detail: str = ""
    state: str = ""  # firing | resolved | insufficient data (analytics.evidence); "" = by `end`
    window: str = ""  # the rule's window (evaluation windows are at least this long)
    detected: datetime | None = None  # when the evidence was there (the first breaching window's end)
    evidence: str = ""  # the latest evaluation: value, interval, count
    ack: object | None = None  # actions.acks.Ack: someone acknowledged it (set by the service)
    latest: float | None = None  # the latest evaluation's value, the one `evidence` says: JSON "value"
    onset_before: bool = False  # breaching as far back as the rules look: it began before `onset`, not at it

    @property
    def firing(self) -> bool:
        return self.state == FIRING if self.state else self.end is None

    def began(self, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """The onset as text says it: "before ..." when it was breaching as far back as the rules look."""
        return ("before " if self.onset_before else "") + format(self.onset, fmt)

    @property
    def first_listed(self) -> datetime:
        """The earliest view time (`--at`) that lists this incident with this onset: its detection, the end of the
        first breaching window. The onset itself is an estimate of the change inside the windows before it, so a
        view at the onset has not seen the evidence yet and lists nothing. A finding with no detection (a segment's,
        a stale source's) is listed from its onset on; a minute after it puts the onset's bucket in the window."""
        if self.detected is not None and self.detected >= self.onset:
            return self.detected
        return self.onset + timedelta(minutes=1)

    @property
    def needs_attention(self) -> bool:
        """Firing and nobody acknowledged it: what `check` fails on."""
        return self.firing and self.ack is None

    @property
    def status(self) -> str:
        return self.state or (FIRING if self.end is None else RESOLVED)

    def to_dict(self) -> dict:
        return {
            "id": self.id, "model": self.model, "kind": self.kind, "rule": self.rule, "severity": self.severity,
            "onset": self.onset.isoformat() + "Z", "onset_before": self.onset_before, "end": self.end.isoformat() + "Z" if self.end else None,
            "firing": self.firing, "state": self.status, "window": self.window, "evidence": self.evidence,
            "detected": self.detected.isoformat() + "Z" if self.detected else None, "value": self.latest, "peak": self.value, "threshold": self.threshold, "feature": self.feature,
            "segment": self.segment, "first_drifted": list(self.first_drifted), "detail": self.detail,
            "acknowledged": self.ack.to_dict() if self.ack is not None else None,
            "suspects": [{"kind": s.kind, "ts": s.ts.isoformat() + "Z", "detail": s.detail} for s in self.suspects],
        }
