"""The Overview's numbers as plain data: what the service hands the screens, and what the first look's helper
process sends back to the UI through a pipe.

Kept apart from `service.py` so that reading one (unpickling it in the UI process) imports only this module and
`datetime`, not the store's libraries (DuckDB, PyArrow, NumPy: half a second the first frame would wait for).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RegistryState:
    status: str  # ok | unreachable | not configured
    message: str = ""
    models: tuple = ()  # sources.registry.ModelInfo
    checked_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class ModelRow:
    name: str
    environment: str
    production: bool
    champion: str | None
    aliases: dict[str, str]
    live: str  # canary %, shadow, blue/green standby, as words
    rpm: float
    requests: int  # last 24 h
    requests_1h: int
    p95_latency_ms: float | None
    error_rate: float | None
    drift: str  # "ok", "drift 3/8", "-", ...
    cost_usd: float | None  # today (UTC)
    alerts: int
    serving: dict = field(default_factory=dict)
    # why some of its rows cannot be read now (an S3 source down: one line naming the path), "" when every source
    # holding its rows answered: its numbers are then what the other sources hold, a lower bound, not "no traffic"
    source_down: str = ""
    # a rule of this model that could not be evaluated, with why (its accuracy rule with the registry holding the
    # expected level down): its ALERTS count is then a lower bound, as `check` says by exiting 2
    not_evaluated: str = ""

    @property
    def rows_state(self) -> str:
        """ "source down" (its numbers are partial: unknown beyond what was read) or "ok"."""
        return SOURCE_DOWN if self.source_down else "ok"

    def to_dict(self) -> dict:
        return {**asdict(self), "rows_state": self.rows_state}


SOURCE_DOWN = "source down"  # a row's state when a source holding its rows cannot be read now (`ModelRow`)


@dataclass(frozen=True)
class Snapshot:
    workspace: str
    now: datetime
    registry: RegistryState
    rows: tuple[ModelRow, ...]
    malformed: int
    counts: dict
    logs_configured: bool
    missing_logs: tuple[str, ...] = ()
    refresh_seconds: float = 0.0
    log_notes: tuple[str, ...] = ()  # the last refresh's notes: a folder matching a glob, rotations, ...
    # the wall clock when this process last brought the store up to date (None: not yet, a first look); `now` is
    # the view's end, which is the time cursor when the view is not live
    refreshed: datetime | None = None
    # False until the rules' first pass over this view has ended: the rows' `alerts` are then 0 for not known,
    # not for none firing (a pass ended earlier keeps its counts while the next one runs)
    alerts_checked: bool = True

    def to_dict(self) -> dict:
        return {
            "workspace": self.workspace,
            "now": self.now.isoformat() + "Z",
            "registry": {"status": self.registry.status, "message": self.registry.message},
            "logs_configured": self.logs_configured,
            "missing_logs": list(self.missing_logs),
            "log_notes": list(self.log_notes),
            "malformed": self.malformed,
            "counts": {k: (v.isoformat() + "Z" if isinstance(v, datetime) else v) for k, v in self.counts.items()},
            "models": [r.to_dict() for r in self.rows],
        }
