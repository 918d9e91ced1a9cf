"""What serves where, folded from the deployment log's events in time order.

The registry's aliases say which version holds a role; the deployment log also says how much traffic
a canary takes and which blue/green slot is live, which aliases cannot express.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Serving:
    champion: str | None = None
    canary: str | None = None
    canary_pct: float | None = None
    shadow: str | None = None
    standby: str | None = None  # the idle blue/green slot after a switch
    last_action: str | None = None
    last_ts: object = None

    def describe(self) -> str:
        parts = []
        if self.canary:
            pct = f" {self.canary_pct:g}%" if self.canary_pct is not None else ""
            parts.append(f"canary v{self.canary}{pct}")
        if self.shadow:
            parts.append(f"shadow v{self.shadow}")
        if self.standby:
            parts.append(f"b/g standby v{self.standby}")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["last_ts"] = self.last_ts.isoformat() if hasattr(self.last_ts, "isoformat") else self.last_ts
        return d


def fold(events: list[dict]) -> Serving:
    """`events`: dicts with ts, version, strategy, traffic_pct, action, oldest first."""
    s = Serving()
    for e in events:
        action, version, pct = (e.get("action") or "deploy"), str(e.get("version")), e.get("traffic_pct")
        strategy = e.get("strategy") or "direct"
        full = pct is None or float(pct) >= 100
        if action == "deploy" and strategy == "blue-green" and not full:
            s.standby = version  # staged on the idle slot, no traffic yet
        elif action == "switch" or (action in ("deploy", "promote") and strategy == "blue-green"):
            s.standby = s.champion if s.champion != version else s.standby
            s.champion = version
        elif action in ("promote", "rollback") or (action == "deploy" and strategy == "direct" and full):
            if s.canary == version or action == "rollback":
                s.canary, s.canary_pct = None, None
            s.champion = version
        elif action in ("canary-step", "canary-start") or (action == "deploy" and strategy == "canary"):
            s.canary, s.canary_pct = version, pct
        elif action in ("abort", "canary-abort"):
            s.canary, s.canary_pct = None, None
        elif action == "shadow-start" or (action == "deploy" and strategy == "shadow"):
            s.shadow = version
        elif action == "shadow-stop":
            s.shadow = None
        s.last_action, s.last_ts = action, e.get("ts")
    return s


def fold_all(rows: list[dict]) -> dict[tuple[str, str], Serving]:
    """Rows of every model and environment, oldest first -> {(model, environment): Serving}."""
    grouped: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        grouped.setdefault((r["model"], r["environment"]), []).append(r)
    return {key: fold(events) for key, events in grouped.items()}
