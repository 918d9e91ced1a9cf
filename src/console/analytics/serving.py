"""What serves where, folded from deployment events in time order: the one fold every reader uses.

The registry's aliases say which version holds a role; the deployment events also say how much
traffic a canary takes and which blue/green slot is live, which aliases cannot express. The
Overview, the Deployments screen, the operator (rollback target, canary share), the demo's fleet
and its live writer all read `Serving` from `fold`, so they cannot disagree.

The rules, one per event (unknown actions change nothing):
- `deploy` direct (or any `promote`, `rollback`): the version becomes champion. A canary or shadow
  of that version ends (it now serves everyone); a rollback ends any running canary.
- `deploy` canary, `canary-start`, `canary-step`: the canary and its share (`traffic_pct`).
- `abort`/`canary-abort`: the canary ends (or the shadow, when the event names the shadow).
- `deploy` shadow, `shadow-start` / `shadow-stop`: the mirrored version.
- blue/green: `deploy` puts the version on the idle slot (live at 100 %, or when no slot is live
  yet; staged otherwise); `switch` makes a slot live; a champion change (promote, rollback) while
  blue/green runs makes that version's slot live, placing it on the idle slot when it has none. The
  standby is whatever the idle slot holds, so after a rollback LIVE shows the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

from console.aliases import alias_name
from console.analytics.windows import to_jsonable

CANARY_DEFAULT_PCT = 10.0
_CANARY_ACTIONS = ("canary-step", "canary-start")
_ABORTS = ("abort", "canary-abort")


@dataclass(frozen=True)
class Serving:
    champion: str | None = None
    canary: str | None = None
    canary_pct: float | None = None  # set exactly when a canary runs
    shadow: str | None = None
    shadow_pct: float | None = None  # set exactly when a shadow runs
    slots: tuple[tuple[str, str], ...] = ()  # blue/green: (("blue", "4"), ("green", "5"))
    live: str | None = None  # the live colour while the model runs blue/green
    history: tuple[str, ...] = ()  # earlier champions, oldest first
    last_action: str | None = None
    last_ts: object = None

    # ------------------------------------------------------------------ derived

    @property
    def standby(self) -> str | None:
        """The version on the idle blue/green slot, when it is not the champion."""
        if self.live is None:
            return None
        idle = next((v for c, v in self.slots if c != self.live), None)
        return idle if idle != self.champion else None

    @property
    def previous_champion(self) -> str | None:
        """The rollback target: the latest earlier champion that is not the champion now."""
        return next((v for v in reversed(self.history) if v != self.champion), None)

    def champion_before(self, current: str | None) -> str | None:
        """The latest champion other than `current` (the registry's, which may differ from the log's)."""
        return next((v for v in reversed((*self.history, self.champion)) if v and v != current), None)

    @property
    def champion_variant(self) -> str:
        return self.live or "champion"

    @property
    def colors(self) -> tuple[tuple[str, str], ...]:
        return self.slots

    def color_of(self, version: str) -> str | None:
        return next((c for c, v in self.slots if v == version), None)

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

    def aliases(self, environment: str) -> dict[str, str]:
        out = {}
        if self.champion:
            out[alias_name(environment, "champion")] = self.champion
        if self.canary:
            out[alias_name(environment, "canary")] = self.canary
        if self.shadow:
            out[alias_name(environment, "shadow")] = self.shadow
        for color, v in self.slots:
            out[alias_name(environment, color)] = v
        return out

    def to_dict(self) -> dict:
        return {"champion": self.champion, "canary": self.canary, "canary_pct": self.canary_pct,
                "shadow": self.shadow, "shadow_pct": self.shadow_pct, "live_slot": self.live,
                "slots": dict(self.slots), "standby": self.standby, "previous_champion": self.previous_champion,
                "last_action": self.last_action,
                "last_ts": to_jsonable(self.last_ts)}

    # ------------------------------------------------------------------ one event

    def apply(self, event: Mapping[str, Any]) -> Serving:
        s = _apply(self, event)
        return replace(s, last_action=event.get("action") or "deploy", last_ts=event.get("ts"))


def _pct(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        pct = float(value)
    except (TypeError, ValueError):
        return None
    return pct if pct == pct else None  # NaN is no value


def _version(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    return text or None


def _apply(s: Serving, e: Mapping[str, Any]) -> Serving:
    action = e.get("action") or "deploy"
    strategy = e.get("strategy") or "direct"
    v, pct = _version(e.get("version")), _pct(e.get("traffic_pct"))

    if action in _ABORTS:
        if v is not None and v == s.shadow and v != s.canary:
            return replace(s, shadow=None, shadow_pct=None)
        return replace(s, canary=None, canary_pct=None)
    if action == "shadow-stop":
        return replace(s, shadow=None, shadow_pct=None)
    if v is None:
        return s
    if action == "shadow-start" or (action == "deploy" and strategy == "shadow"):
        if v == s.champion:
            return s
        share = pct if pct is not None and 0 < pct <= 100 else 100.0
        return replace(s, shadow=v, shadow_pct=share)
    if action in _CANARY_ACTIONS or (action == "deploy" and strategy == "canary"):
        if v == s.champion:
            return s
        if pct is not None and pct <= 0:
            return replace(s, canary=None, canary_pct=None)
        share = min(pct, 100.0) if pct is not None else max(s.canary_pct or 0.0, CANARY_DEFAULT_PCT)
        return replace(s, canary=v, canary_pct=share)
    if action == "deploy" and strategy == "blue-green":
        idle = "green" if s.live == "blue" else "blue"
        slots = _put(s.slots, idle, v)
        if s.live is None or pct is None or pct >= 100:
            return _crown(replace(s, slots=slots, live=idle), v)
        return replace(s, slots=slots)  # staged on the idle slot, no traffic yet
    if action == "switch":
        slots, live = s.slots, s.live
        if live is None:  # as the console's operator does it: the current champion holds blue
            live = "blue"
            if s.champion and not slots:
                slots = (("blue", s.champion),)
        color = s.color_of(v) if s.color_of(v) else ("green" if live == "blue" else "blue")
        return _crown(replace(s, slots=_put(slots, color, v), live=color), v)
    if action in ("deploy", "promote", "rollback"):
        if s.live is not None:  # blue/green: the version's slot goes live
            color = s.color_of(v) or ("green" if s.live == "blue" else "blue")
            s = replace(s, slots=_put(s.slots, color, v), live=color)
        s = _crown(s, v)
        if action == "rollback":
            s = replace(s, canary=None, canary_pct=None)
        return s
    return s


def _put(slots: tuple[tuple[str, str], ...], color: str, version: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({**dict(slots), color: version}.items()))


def _crown(s: Serving, v: str) -> Serving:
    """`v` serves everyone: it becomes champion; a canary or shadow of it ends."""
    history = s.history
    if s.champion is not None and s.champion != v:
        history = (*history, s.champion)
    canary, canary_pct = (None, None) if s.canary == v else (s.canary, s.canary_pct)
    shadow, shadow_pct = (None, None) if s.shadow == v else (s.shadow, s.shadow_pct)
    return replace(s, champion=v, history=history, canary=canary, canary_pct=canary_pct,
                   shadow=shadow, shadow_pct=shadow_pct)


# --------------------------------------------------------------------------- many events


def _ts_key(e: Mapping[str, Any]) -> str:
    ts = e.get("ts")
    return ts.isoformat() if hasattr(ts, "isoformat") else str(ts or "")


def fold(events: Iterable[Mapping[str, Any]]) -> Serving:
    """`events`: dicts with ts, version, strategy, traffic_pct, action, oldest first."""
    s = Serving()
    for e in events:
        s = s.apply(e)
    return s


def timeline(events: Iterable[Mapping[str, Any]]) -> list[tuple[Any, Serving]]:
    """(event ts, state from then on) for one model and environment, in the given order."""
    s, out = Serving(), []
    for e in events:
        s = s.apply(e)
        out.append((e.get("ts"), s))
    return out


def rollbacks(events: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Each rollback, oldest first, with the champion it rolled back away from: {ts, actor, reason, from, to}.
    The events say only the version rolled back to; the fold says which one served before."""
    s, out = Serving(), []
    for e in events:
        before = s.champion
        s = s.apply(e)
        if e.get("action") == "rollback" and before and before != s.champion:
            out.append({"ts": e.get("ts"), "actor": e.get("actor"), "reason": e.get("reason"),
                        "from": before, "to": s.champion})
    return out


def group(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    """Events by (model, environment); an event without an environment is production's."""
    grouped: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in rows:
        if not r.get("model"):
            continue
        grouped.setdefault((str(r["model"]), r.get("environment") or "production"), []).append(r)
    return grouped


def fold_all(rows: Iterable[Mapping[str, Any]], ordered: bool = True) -> dict[tuple[str, str], Serving]:
    """Rows of every model and environment -> {(model, environment): Serving}.

    `ordered`: the rows are oldest first already (the store's query); otherwise they are sorted by ts,
    keeping the given order between equal times."""
    out = {}
    for key, events in group(rows).items():
        out[key] = fold(events if ordered else sorted(events, key=_ts_key))
    return out
