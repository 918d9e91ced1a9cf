"""Operator actions: promote, canary, blue/green, shadow, rollback, retrain (`actions.retraining`), in one
fixed order:

    policy (environment known exactly, read-only, roles) -> hook config valid -> model lock +
    registry lease -> expected_from check (conflict) -> blocked plan -> gates (refused unless
    force with a reason) -> audit intent -> deploy hook -> move alias(es) -> read back ->
    deployment log event -> audit outcome

Every action returns an `ActionResult`; none raises for an operational problem. Every refusal
and conflict is audited (a `refused` record). Once the intent is written an outcome always
follows, whatever is raised after it. A hook that was sent but not answered makes the outcome
`unknown` (the deploy system may have applied it), never "nothing changed". The UI calls these
from worker threads and asks for confirmation itself, using `plan()` and `gates()`. Each running
action is a `Flight` (actions.inflight): `abandon` (the operator quit mid-action) writes its outcome
and releases its lease and lock at once, and the worker stops at its next step.
"""

from __future__ import annotations

import contextvars
import json
import uuid
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from console.actions import acks as acks_mod
from console.actions import audit as audit_mod
from console.actions import deploylog, hooks, inflight, policy
from console.actions.audit import AuditError, AuditLog, AuditTampered
from console.actions.catalog import ActionState, get as get_spec, version_text
from console.actions.inflight import Abandoned, Flight
from console.actions.plan import STRATEGIES
from console.actions.records import ActionResult, Change, Plan
from console.actions.records import abandoned as _abandoned
from console.actions.retraining import Retraining
from console.actions.locks import (LEASE_PAUSE_S, LEASE_TTL_S, LOCK_WAIT_S, Conflict, Lease, Timeout,
                                   _parse_time, check_expected, last_move, model_lock, record_move)
from console.aliases import alias_name
from console.analytics.gates import Gate, evaluate_gates, failures, newly_failed
from console.analytics.windows import naive_utc
from console.analytics.serving import Serving, fold, rollbacks
from console.config import Config, ConfigError
from console.sources.registry import RegistryError, RegistryNotFound

HISTORY_TAG = "console.history."  # + alias: JSON list of earlier versions, oldest first
CANARY_PCT_TAG = "console.canary_pct."  # + canary alias
CANARY_PCT_AT_TAG = "console.canary_pct_at."  # + canary alias: when the console set the traffic it holds
HISTORY_MAX = 20


def _parse_ts(value: Any) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _v(version: str | None) -> str:
    return f"v{version}" if version else "unset"


def _describe(aliases: dict[str, str], names: list[str]) -> str:
    return ", ".join(f"{n} -> {_v(aliases.get(n))}" for n in dict.fromkeys(names))


def _side(plan: Plan, changes: tuple[Change, ...] | None = None, **typed: Any) -> dict[str, Any]:
    """One side of a refusal's record, as `plan` says it: the checked alias, its version (`from`), the action's
    target (`to`), the changes and a canary step's new traffic; `changes` and `typed` as the operator stated them."""
    side = {"alias": plan.checked_alias, "from": plan.from_version, "to": plan.version,
            "changes": [asdict(c) for c in (plan.changes if changes is None else changes)],
            **({"canary_pct": plan.canary_pct} if plan.action == "canary-step" else {})}
    return {**side, **typed}


def _sides(plan: Plan, seen_plan: Plan | None, expected_from: str | None, seen_changes: tuple[Change, ...] | None,
           expected_pct: int | None = None) -> dict[str, Any]:
    """`confirmed`: what the operator confirmed (the plan shown; without one, the plan now with the `--from` typed
    and the changes and step confirmed); `now`: the plan as the registry makes it now. An auditor reads both."""
    if seen_plan is not None:
        confirmed = _side(seen_plan)
    else:
        typed: dict[str, Any] = {}
        if expected_from is not None:
            v = str(expected_from).strip()
            typed["from"] = None if v.lower() in ("", "none", "-") else version_text(v)
        if expected_pct is not None and plan.action == "canary-step":
            typed["canary_pct"] = expected_pct
        confirmed = _side(plan, seen_changes, **typed)
    return {"confirmed": confirmed, "now": _side(plan)}


def alias_history(tags: dict[str, str], alias: str) -> list[str]:
    """An alias's earlier versions, oldest first, from the model's history tag (a damaged tag: none). Anything but
    a list of versions is damaged: `5` or `null` raised TypeError in every action's `state()`, and a string
    (`"34"`) was read as versions 3 and 4, a rollback target nobody recorded."""
    try:
        history = json.loads(tags.get(HISTORY_TAG + alias) or "[]")
    except ValueError:
        return []
    if not isinstance(history, list):
        return []
    return [str(v) for v in history if isinstance(v, (str, int)) and not isinstance(v, bool) and str(v).strip()]


# The reason the operator gave for the action being decided (the CLI's --reason, the dialog's): a refusal records it
# as the intent does, so the trail says what was being attempted and why (a refused record had no reason). A context
# variable: each worker thread and each CLI process decides one action at a time.
STATED_REASON: contextvars.ContextVar[str | None] = contextvars.ContextVar("stated_reason", default=None)


class Operator(Retraining):
    """Runs actions against one registry with one config; shareable across worker threads."""

    def __init__(self, cfg: Config, registry: Any, audit: AuditLog | str | Path | None = None,
                 user: policy.User | str | None = None, clock: Callable[[], datetime] | None = None,
                 *, backoff_s: float = hooks.BACKOFF_S, lease_pause_s: float = LEASE_PAUSE_S,
                 lock_wait_s: float = LOCK_WAIT_S,
                 deployments: Callable[[str, str], list[dict]] | None = None):
        """`deployments(model, environment)`: that model's deployment events, oldest first, from the store
        (every log format); the service passes its reader. Without it, only tags and the audit are known."""
        self.cfg, self.registry = cfg, registry
        self._deployments = deployments
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        if not isinstance(audit, AuditLog):
            audit = AuditLog(audit or audit_mod.default_path(cfg), self.clock, sink=getattr(cfg, "audit_sink", None))
        self.audit = audit
        self.lock_dir = self.audit.path.parent / "locks"
        self._user = user if not isinstance(user, str) else policy.User(user, policy.groups_of(user))
        self.backoff_s, self.lease_pause_s, self.lock_wait_s = backoff_s, lease_pause_s, lock_wait_s
        self.flights = inflight.Flights()

    def abandon(self, which: list[tuple[str, str, str]] | None = None,
                reason: str = inflight.QUIT_REASON) -> list[dict[str, Any]]:
        """The operator quit while actions ran: each gets its outcome ("interrupted by quit") and its lease
        and lock are released now; returns the outcome records written (actions.inflight)."""
        return self.flights.abandon(self.audit, which, reason)

    @property
    def user(self) -> policy.User:
        if self._user is None:
            self._user = policy.current_user()
        return self._user

    def _now(self) -> str:
        return audit_mod.now_iso(self.clock)

    # ------------------------------------------------------------------ reading state

    def check(self, action_id: str, environment: str) -> policy.Decision:
        return policy.check(get_spec(action_id), self.cfg, environment, self.user)

    def _snapshot(self, model: str) -> tuple[dict[str, str], dict[str, str], bool]:
        info = self.registry.get_model(model)
        return dict(info.aliases), dict(info.tags), info.is_prompt

    def state(self, model: str, environment: str) -> ActionState:
        """What the UI needs to grey out actions that do not apply."""
        aliases, tags, is_prompt = self._snapshot(model)
        champ = alias_name(environment, "champion")
        return ActionState(
            has_champion=champ in aliases, has_canary=alias_name(environment, "canary") in aliases,
            has_previous_champion=bool(self._previous(model, environment, aliases, tags)),
            has_shadow=alias_name(environment, "shadow") in aliases, is_prompt=is_prompt)

    def canary_pct(self, model: str, environment: str, aliases: dict[str, str] | None = None,
                   tags: dict[str, str] | None = None) -> int | None:
        """Traffic on the running canary: the console's tag, unless the deployment log moved this canary since the
        console last did (another tool ended it and started it again at 10 %: the tag's 50 % stayed, and one step
        took real traffic from 10 % to 100 %); else the deployment log; None: no canary."""
        if aliases is None or tags is None:
            aliases, tags, _ = self._snapshot(model)
        canary = alias_name(environment, "canary")
        if canary not in aliases:
            return None
        raw = tags.get(CANARY_PCT_TAG + canary)
        tagged = int(raw) if raw and raw.isascii() and raw.isdigit() else None  # (`²` is a digit int() refuses)
        s = self.serving(model, environment)
        if s.canary == str(aliases[canary]) and s.canary_pct is not None and (
                tagged is None or self._moved_since(s.last_ts, tags.get(CANARY_PCT_AT_TAG + canary))):
            return int(s.canary_pct)
        if tagged is not None:
            return tagged
        return int(s.canary_pct) if s.canary_pct is not None else self.cfg.canary_steps[0]

    @staticmethod
    def _moved_since(event_ts, tagged_at: str | None) -> bool:
        """Whether the deployment log's last event is newer than the console's setting of the canary's traffic
        (`CANARY_PCT_AT_TAG`); False when either time is unknown (the traffic tag is then kept)."""
        at = _parse_time(tagged_at) if tagged_at else None
        if at is None or not isinstance(event_ts, datetime):
            return False
        return naive_utc(event_ts) > naive_utc(at)

    def serving(self, model: str, environment: str) -> Serving:
        """What serves where according to the deployment events (the one fold, analytics.serving)."""
        return fold(self._deployments(model, environment)) if self._deployments else Serving()

    def rollbacks(self, model: str, environment: str) -> list[dict]:
        """The model's rollbacks in `environment`, oldest first, each with the version rolled back away from
        (analytics.serving.rollbacks over the deployment events; none known without them)."""
        return rollbacks(self._deployments(model, environment)) if self._deployments else []

    def _previous(self, model: str, environment: str, aliases: dict[str, str], tags: dict[str, str]) -> str | None:
        """The version a rollback returns the champion to: the latest former champion that is neither the champion
        nor the canary the same rollback aborts (a rollback during canary v4, after v4 had been rolled back once,
        sent 100 % of the traffic to v4 while saying it aborted it)."""
        champ = alias_name(environment, "champion")
        current = aliases.get(champ)
        skip = {str(current), str(aliases.get(alias_name(environment, "canary")))}
        for version in reversed(alias_history(tags, champ)):
            if str(version) not in skip:
                return str(version)
        change = audit_mod.last_change(self.audit.path, model, champ)
        if change and change.get("to") == current and change.get("from") and str(change["from"]) not in skip:
            return str(change["from"])
        before = self.serving(model, environment).champion_before(current)
        return before if before is not None and str(before) not in skip else None

    def former_champions(self, model: str, environment: str, aliases: dict[str, str], tags: dict[str, str]) -> set[str]:
        """Versions that were champion in `environment` before: the alias history the console keeps, the moves
        audited and the deployment events' fold. A rollback may return only to one of them; any other
        version is a promotion, and goes through the promote gates."""
        champ = alias_name(environment, "champion")
        former = set(alias_history(tags, champ)) | audit_mod.former_versions(self.audit.path, model, champ)
        serving = self.serving(model, environment)
        former.update(str(v) for v in (*serving.history, serving.champion) if v)
        return former - {str(aliases.get(champ))}

    def _unusable(self, model: str, version: str) -> str | None:
        """Why a version cannot be served: not in the registry, or a registration pending or failed (MLflow's
        `PENDING_REGISTRATION` / `FAILED_REGISTRATION`: no model files behind it); None when it can."""
        try:
            info = self.registry.get_version(model, version)
        except RegistryNotFound:
            return f"{model} has no version {version}"
        status = str(info.status or "").upper()
        if "PENDING" in status or "FAILED" in status:
            return f"v{version} of {model} is not ready in the registry ({status.rsplit('.', 1)[-1]})"
        return None

    def history(self, model: str, environment: str, role: str = "champion") -> list[str]:
        """Earlier versions of an alias, oldest first, as the console recorded them."""
        return alias_history(self.registry.model_tags(model), alias_name(environment, role))

    # ------------------------------------------------------------------ plans

    def plan(self, model: str, environment: str, action: str = "promote", version: str | None = None,
             strategy: str = "direct", percent: int | None = None, to: str | None = None) -> Plan:
        """What `action` would change right now (for the confirmation dialog). Raises RegistryError."""
        aliases, tags, _ = self._snapshot(model)
        a = lambda role: alias_name(environment, role)  # noqa: E731
        champ, canary, shadow = a("champion"), a("canary"), a("shadow")
        cur = aliases.get(champ)
        base = dict(model=model, environment=environment, from_version=cur, checked_alias=champ)
        version, to = version_text(version), version_text(to)
        if version is not None and action == "promote":
            why = self._unusable(model, version)
            if why is not None:
                return Plan(action, strategy=strategy, event="promote", version=version, **base,
                            blocked=why, usage=why.endswith(f"has no version {version}"))

        if action == "promote":
            if strategy not in STRATEGIES:
                return Plan(action, strategy=strategy, event="promote", version=version, **base,
                            blocked=f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
            if strategy == "direct":
                changes = [Change(champ, cur, version)]
                if aliases.get(canary) == version:
                    changes.append(Change(canary, version, None))
                blocked = f"v{version} is already {champ}" if version == cur else None
                if version is None:
                    blocked = "promote needs a version"
                return Plan(action, strategy="direct", event="promote", version=version, **base,
                            changes=tuple(changes), traffic_pct=100, needs_gates=True, blocked=blocked,
                            canary_alias=canary if len(changes) > 1 else None,
                            canary_pct=0 if len(changes) > 1 else None,
                            summary=f"{champ}: {_v(cur)} -> {_v(version)} (100 % of traffic) in {environment}")
            if strategy == "canary":
                steps = self.cfg.canary_steps
                pct = int(percent) if percent is not None else steps[0]
                running = aliases.get(canary)
                blocked, usage = None, False
                if version is None:
                    blocked = "a canary needs a version"
                elif version == cur:
                    blocked = f"v{version} is already {champ}"
                elif running == version:
                    blocked = f"v{version} is already the canary"
                elif running:
                    blocked = (f"canary v{running} is already running at "
                               f"{self.canary_pct(model, environment, aliases, tags)} %: promote or abort it first")
                elif not 0 < pct <= 100:
                    blocked, usage = f"canary traffic must be between 1 and 100 %, got {pct}", True  # a bad --percent
                return Plan(action, strategy="canary", event="deploy", version=version, **base,
                            changes=(Change(canary, running, version),), traffic_pct=pct, canary_alias=canary,
                            canary_pct=pct, needs_gates=True, blocked=blocked,
                            usage=usage,
                            summary=f"{canary}: {_v(running)} -> {_v(version)} at {pct} % of traffic "
                                    f"({champ} stays {_v(cur)}) in {environment}")
            if strategy == "blue-green":
                blue, green = a("blue"), a("green")
                active = next((slot for slot in (blue, green) if cur and aliases.get(slot) == cur), None)
                idle = green if active == blue else blue
                target = version or aliases.get(idle)
                changes = []
                if active is None and cur:
                    active, idle = blue, green
                    changes.append(Change(blue, aliases.get(blue), cur))
                if target and aliases.get(idle) != target:
                    changes.append(Change(idle, aliases.get(idle), target))
                changes.append(Change(champ, cur, target))
                ends_canary = bool(target) and aliases.get(canary) == target  # as a direct promote of it does
                if ends_canary:
                    changes.append(Change(canary, target, None))
                blocked = None
                if not target:
                    blocked = f"nothing to switch to: {idle} is unset; pass a version"
                elif target == cur:
                    blocked = f"v{target} is already {champ}"
                return Plan(action, strategy="blue-green", event="switch", version=target, **base,
                            changes=tuple(changes), traffic_pct=100, needs_gates=True, blocked=blocked,
                            canary_alias=canary if ends_canary else None, canary_pct=0 if ends_canary else None,
                            summary=f"switch {champ} from {active or 'no slot'} ({_v(cur)}) to {idle} "
                                    f"({_v(target)}) in {environment}")
            # shadow
            running = aliases.get(shadow)
            blocked = None
            if version is None:
                blocked = "a shadow needs a version"
            elif version == running:
                blocked = f"v{version} is already the shadow"
            elif version == cur:
                blocked = f"v{version} is {champ}; shadowing it compares it with itself"
            return Plan(action, strategy="shadow", event="shadow-start", version=version, **base,
                        changes=(Change(shadow, running, version),), traffic_pct=0, blocked=blocked,
                        summary=f"{shadow}: {_v(running)} -> {_v(version)} (mirrored traffic, serves no one) "
                                f"in {environment}")

        if action in ("canary-step", "canary-promote", "canary-abort"):
            running = aliases.get(canary)
            base = dict(base, from_version=running, checked_alias=canary)
            pct = self.canary_pct(model, environment, aliases, tags) if running else None
            blocked = None if running else f"no canary running for {model} in {environment}"
            if action == "canary-step":
                nxt = next((s for s in self.cfg.canary_steps if pct is not None and s > pct), None)
                if running and nxt is None:
                    blocked = f"canary v{running} is at {pct} %, the last step: promote it or abort it"
                return Plan(action, strategy="canary", event="canary-step", version=running, **base,
                            traffic_pct=nxt, canary_alias=canary, canary_pct=nxt, needs_gates=True, blocked=blocked,
                            summary=f"{canary} v{running}: {pct} % -> {nxt} % of traffic in {environment}")
            if action == "canary-promote":
                return Plan(action, strategy="canary", event="promote", version=running, **base,
                            changes=(Change(champ, cur, running), Change(canary, running, None)), traffic_pct=100,
                            canary_alias=canary, canary_pct=0, needs_gates=True, blocked=blocked,
                            summary=f"{champ}: {_v(cur)} -> {_v(running)} (100 %), {canary} removed in {environment}")
            return Plan(action, strategy="canary", event="abort", version=running, **base,
                        changes=(Change(canary, running, None),), traffic_pct=0, canary_alias=canary, canary_pct=0,
                        blocked=blocked, summary=f"{canary} v{running} removed (0 %); {champ} stays {_v(cur)} "
                                                 f"in {environment}")

        if action == "rollback":
            target = to or self._previous(model, environment, aliases, tags)
            blocked, usage = None, False
            if not cur:
                blocked = f"{champ} is not set: nothing to roll back"
            elif not target:
                # (not "pass a version": a version that was never champion is refused as a rollback target)
                blocked = (f"no previous {champ} known for {model} (the alias history, the audit trail and the "
                           f"deployment log name none): promote the version to serve instead (its gates apply)")
            elif target == cur:
                blocked = f"v{target} is already {champ}"
            elif to and str(target) == str(aliases.get(canary)):
                # the canary this rollback aborts: it went to 100 % with no gate while the plan said "aborted"
                blocked, usage = (f"v{target} is the running {canary}, which a rollback aborts: promote it with "
                                  f"`canary promote` (its live gates apply) or roll back to an earlier {champ}"), True
            elif to:
                why = self._unusable(model, target)
                if why is not None:
                    blocked, usage = why, why.endswith(f"has no version {target}")
                elif target not in self.former_champions(model, environment, aliases, tags):
                    blocked, usage = (f"v{target} was never {champ} of {model}: a rollback returns to an "
                                      f"earlier champion; promote v{target} instead (its gates apply)"), True
            elif (why := self._unusable(model, target)) is not None:
                # the former champion the history names was deleted (or never finished registering): the deploy hook
                # was told to serve a version that does not exist, then moving the alias failed
                blocked = (f"the previous {champ} v{target} cannot be served: {why}; pass --to VERSION with an "
                           f"earlier {champ}")
            # A rollback aborts a canary in flight (as Argo Rollouts does): all traffic back to the rolled-back
            # champion, the canary alias and its traffic tag removed, said in the plan and audited as a change.
            running = aliases.get(canary)
            changes = (Change(champ, cur, target),) + ((Change(canary, running, None),) if running else ())
            aborted = ""
            if running:
                aborted = f"; {canary} v{running} aborted (was {self.canary_pct(model, environment, aliases, tags)} %)"
            return Plan(action, strategy="direct", event="rollback", version=target, **base,
                        changes=changes, traffic_pct=100, blocked=blocked, usage=usage,
                        canary_alias=canary if running else None, canary_pct=0 if running else None,
                        summary=f"roll {champ} back: {_v(cur)} -> {_v(target)}{aborted} in {environment}")

        if action == "shadow-stop":
            running = aliases.get(shadow)
            return Plan(action, strategy="shadow", event="shadow-stop", version=running,
                        **dict(base, from_version=running, checked_alias=shadow),
                        changes=(Change(shadow, running, None),), traffic_pct=0,
                        blocked=None if running else f"no shadow running for {model} in {environment}",
                        summary=f"{shadow} v{running} removed in {environment}")
        raise ValueError(f"plan: unknown action {action!r}")

    # ------------------------------------------------------------------ gates

    def gates(self, model: str, version: str | None, environment: str, live: dict | None = None,
              drift: dict | None = None) -> list[Gate]:
        """Candidate `version` vs the current champion's run metrics, plus live and drift checks."""
        champ_version = self.registry.alias_version(model, alias_name(environment, "champion"))
        cand = self.registry.lineage(model, version).metrics if version else {}
        champ = self.registry.lineage(model, champ_version).metrics \
            if champ_version and champ_version != version else None
        return evaluate_gates(cand, champ, live=live, drift=drift,
                              slo_error_rate=self.cfg.model(model).slo.error_rate if live else None)

    # ------------------------------------------------------------------ actions

    def promote(self, model: str, version: str | None, env: str = "production", strategy: str = "direct",
                percent: int | None = None, expected_from: str | None = None, reason: str = "",
                force: bool = False, live: dict | None = None, drift: dict | None = None,
                seen_gates: tuple[Gate, ...] | None = None,
                seen_changes: tuple[Change, ...] | None = None,
                seen_plan: Plan | None = None) -> ActionResult:
        """Direct, canary start, blue/green switch or shadow start. `expected_from`: the champion you saw;
        `seen_gates`: the gates you confirmed on (a gate failing now that did not then is a conflict);
        `seen_changes`: the plan's changes you confirmed (other changes now are a conflict); `seen_plan`: the
        plan you confirmed, which a refusal records beside the plan as it is now (every action takes both)."""
        return self._run("promote", model, env, dict(version=version, strategy=strategy, percent=percent),
                         expected_from, reason, force, live, drift, seen_gates=seen_gates,
                         seen_changes=seen_changes, seen_plan=seen_plan)

    def canary_step(self, model: str, env: str = "production", expected_from: str | None = None,
                    reason: str = "", force: bool = False, live: dict | None = None,
                    drift: dict | None = None, expected_pct: int | None = None,
                    seen_gates: tuple[Gate, ...] | None = None,
                    seen_changes: tuple[Change, ...] | None = None,
                    seen_plan: Plan | None = None) -> ActionResult:
        """`expected_pct`: the step the operator confirmed (the plan's new traffic); another step first is a
        conflict, never a further step nobody confirmed."""
        return self._run("canary-step", model, env, {}, expected_from, reason, force, live, drift,
                         expected_pct=expected_pct, seen_gates=seen_gates,
                         seen_changes=seen_changes, seen_plan=seen_plan)

    def canary_promote(self, model: str, env: str = "production", expected_from: str | None = None,
                       reason: str = "", force: bool = False, live: dict | None = None,
                       drift: dict | None = None, seen_gates: tuple[Gate, ...] | None = None,
                       seen_changes: tuple[Change, ...] | None = None,
                       seen_plan: Plan | None = None) -> ActionResult:
        return self._run("canary-promote", model, env, {}, expected_from, reason, force, live, drift,
                         seen_gates=seen_gates, seen_changes=seen_changes, seen_plan=seen_plan)

    def canary_abort(self, model: str, env: str = "production", expected_from: str | None = None,
                     reason: str = "", seen_changes: tuple[Change, ...] | None = None,
                     seen_plan: Plan | None = None) -> ActionResult:
        return self._run("canary-abort", model, env, {}, expected_from, reason, False, None, None,
                         seen_changes=seen_changes, seen_plan=seen_plan)

    def rollback(self, model: str, env: str = "production", to: str | None = None,
                 expected_from: str | None = None, reason: str = "",
                 seen_changes: tuple[Change, ...] | None = None,
                 seen_plan: Plan | None = None) -> ActionResult:
        return self._run("rollback", model, env, dict(to=to), expected_from, reason, False, None, None,
                         seen_changes=seen_changes, seen_plan=seen_plan)

    def shadow_stop(self, model: str, env: str = "production", expected_from: str | None = None,
                    reason: str = "", seen_changes: tuple[Change, ...] | None = None,
                    seen_plan: Plan | None = None) -> ActionResult:
        return self._run("shadow-stop", model, env, {}, expected_from, reason, False, None, None,
                         seen_changes=seen_changes, seen_plan=seen_plan)

    # ------------------------------------------------------------------ the pipeline

    def refuse(self, status: str, message: str, spec_id: str, model: str, env: str,
               details: dict | None = None, plan: Plan | None = None) -> ActionResult:
        """Refusals and conflicts change nothing; they are still audited (a trail that cannot take the
        record is named in the result's warnings). `details` "confirmed" and "now" (`_sides`: what the operator
        confirmed, what the registry holds) go into the record too, and the result's from/to are the confirmed
        ones: a refusal re-planned under the lock said the plan made then (`from 4 -> to 5` for a v5 -> v4
        rollback that lost the race), and its record said no versions at all."""
        warnings: list[str] = []
        sides = {k: details[k] for k in ("confirmed", "now") if details and k in details}
        try:
            gates = {"gates": details["gates"]} if details and "gates" in details else {}  # as evaluated then
            stated = (STATED_REASON.get() or "").strip()
            self.audit.append({"phase": "refused", "action": spec_id, "model": model, "environment": env,
                               "outcome": status, "message": message, **({"reason": stated} if stated else {}),
                               **gates, **sides, **audit_mod.actor_fields()})
            if self.audit.sink_error:
                warnings.append(self.audit.sink_error)
        except AuditError as exc:
            warnings.append(f"refusal not audited: {exc}")
        seen = sides.get("confirmed")
        return ActionResult(False, status, message,
                            from_version=seen["from"] if seen else plan.from_version if plan else None,
                            to_version=seen["to"] if seen else plan.version if plan else None,
                            details={**(details or {}), **({"plan": asdict(plan)} if plan else {}),
                                     **({"warnings": warnings} if warnings else {})})

    _refuse = refuse

    def admit(self, action: str, model: str, env: str) -> ActionResult | None:
        """The checks that need no registry: the environment (exactly a configured one), read-only, roles,
        and the hook's configuration. None when the action may go on, else the audited refusal
        (`details.config_error` for a configuration mistake: exit 2)."""
        spec = get_spec(action)
        try:
            decision = policy.check(spec, self.cfg, env, self.user)
            if decision.allowed:
                hooks.validate(self.cfg, "retrain" if action == "retrain" else "deploy")
        except ConfigError as exc:
            return self.refuse("refused", str(exc), action, model, env, {"config_error": True})
        if not decision.allowed:
            return self.refuse("refused", decision.reason, action, model, env, {"policy": decision.reason})
        return None

    def conflict_or_blocked(self, plan: Plan, expected_from: str | None,
                            expected_pct: int | None = None,
                            seen_changes: tuple[Change, ...] | None = None,
                            seen_plan: Plan | None = None) -> ActionResult | None:
        """The audited answer for a plan that cannot run, None when it can; its record and result say what was
        confirmed (`seen_plan`, else `expected_from` and `seen_changes`) and the plan as it is now (`_sides`).

        The alias moved away from `expected_from`: a conflict. Blocked because the target is already in
        place and another action put it there within the lease time: a conflict too (the operator lost a
        race to the same change), so scripts see exit 3 either way. A canary step whose traffic is no longer
        the one the operator confirmed (`expected_pct`: another operator stepped it first) is a conflict too, and
        so is a plan whose changes are no longer the ones confirmed (`seen_changes`: another operator started a
        shadow, which this shadow start would replace, or a canary, which this rollback would abort).
        Otherwise a blocked plan is refused; one
        blocked by what the operator typed (an unknown version) says so (`details.usage_error`: exit 2, as an
        unknown model or environment is)."""
        sides = _sides(plan, seen_plan, expected_from, seen_changes, expected_pct)
        shown = seen_plan or plan
        try:
            check_expected(self.registry, plan.model, plan.checked_alias, expected_from, self.audit.path)
            if seen_changes is not None and tuple(plan.changes) != tuple(seen_changes):
                for c in seen_changes:  # the alias that moved since, and who moved it
                    check_expected(self.registry, plan.model, c.alias, c.from_version or "none", self.audit.path)
                now = ", ".join(f"{c.alias}: {_v(c.from_version)} -> {_v(c.to_version) if c.to_version else 'removed'}"
                                for c in plan.changes)
                seen = {c.alias for c in seen_changes}
                new = next((c.alias for c in plan.changes if c.alias not in seen), None)
                moved = (last_move(self.registry, plan.model, new, self.audit.path) or {}) if new else {}
                who = f" ({new} was moved by {moved.get('by')} at {moved.get('at')})" if moved.get("by") else ""
                raise Conflict(f"the plan changed since you confirmed it: it now changes {now or 'nothing'}{who}; "
                               "refresh and try again", moved)
        except Conflict as exc:
            return self.refuse("conflict", exc.message, plan.action, plan.model, plan.environment,
                               {"moved": exc.moved, **sides}, shown)
        if expected_pct is not None and plan.action == "canary-step" and plan.canary_pct != expected_pct:
            now = self.canary_pct(plan.model, plan.environment)
            return self.refuse("conflict", f"{plan.checked_alias} v{plan.version} is at {now} % now, not the step "
                                           f"to {expected_pct} % you confirmed: another action stepped it first; "
                                           "refresh and try again", plan.action, plan.model, plan.environment,
                               {"canary_pct": now, **sides}, shown)
        if not plan.blocked:
            return None
        moves_checked = plan.action == "rollback" or (plan.action == "promote" and plan.strategy in ("direct",
                                                                                                  "blue-green"))
        if moves_checked and plan.version is not None and plan.version == plan.from_version:
            moved = last_move(self.registry, plan.model, plan.checked_alias, self.audit.path) or {}
            at = _parse_ts(moved.get("at"))
            now = self.clock()
            now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
            recent = at is not None and abs((now - at).total_seconds()) < LEASE_TTL_S
            if recent and str(moved.get("to")) == str(plan.version):
                return self.refuse("conflict", f"{plan.blocked}: {moved.get('by')} made this change at "
                                               f"{moved.get('at')}; nothing to do", plan.action, plan.model,
                                   plan.environment, {"moved": moved, **sides}, shown)
        return self.refuse("refused", plan.blocked, plan.action, plan.model, plan.environment,
                           {**({"usage_error": True} if plan.usage else {}), **sides}, plan=shown)

    def _run(self, action: str, model: str, env: str, args: dict[str, Any], expected_from: str | None,
             reason: str, force: bool, live: dict | None, drift: dict | None,
             expected_pct: int | None = None, seen_gates: tuple[Gate, ...] | None = None,
             seen_changes: tuple[Change, ...] | None = None, seen_plan: Plan | None = None) -> ActionResult:
        spec = get_spec(action)
        seen = {"confirmed": _side(seen_plan)} if seen_plan is not None else {}  # no plan now: the lock, the lease
        refused = self.admit(spec.id, model, env)
        if refused is not None:
            return refused
        if force and not reason.strip():
            return self._refuse("refused", "--force needs a reason (it is recorded in the audit trail)",
                                action, model, env)
        with self.flights.start(spec.id, model, env) as flight:
            lock = flight.lock = model_lock(self.lock_dir, model, self.lock_wait_s)
            try:
                flight.step("lock")
                lock.acquire()
            except Timeout:
                return self._refuse("conflict", f"another action on {model} is still running on this machine",
                                    action, model, env, seen, seen_plan)
            except Abandoned:
                return _abandoned(flight)
            lease = flight.lease = Lease(self.registry, model, self.user.name, pause_s=self.lease_pause_s,
                                         clock=self.clock)
            try:
                try:
                    flight.step("lease")
                    lease.acquire()
                except Conflict as exc:
                    return self._refuse("conflict", exc.message, action, model, env, {"moved": exc.moved, **seen},
                                        seen_plan)
                return self._locked(spec.id, model, env, args, expected_from, reason, force, live, drift, flight,
                                    expected_pct, seen_gates, seen_changes, seen_plan)
            except Abandoned:
                return _abandoned(flight)
            except RegistryError as exc:  # before anything moved (the lease or the plan): stopped, and audited
                return self._refuse("failed", f"{exc}; nothing changed", spec.id, model, env,
                                    {"registry_error": True})
            finally:
                flight.release()

    def _locked(self, action: str, model: str, env: str, args: dict[str, Any], expected_from: str | None,
                reason: str, force: bool, live: dict | None, drift: dict | None, flight: Flight,
                expected_pct: int | None = None, seen_gates: tuple[Gate, ...] | None = None,
                seen_changes: tuple[Change, ...] | None = None, seen_plan: Plan | None = None) -> ActionResult:
        flight.step("plan")
        plan = self.plan(model, env, action, **args)
        stopped = self.conflict_or_blocked(plan, expected_from, expected_pct, seen_changes, seen_plan)
        if stopped is not None:
            return stopped
        flight.step("gates")
        gate_list = self.gates(model, plan.version, env, live, drift) if plan.needs_gates else []
        failed = failures(gate_list)
        gate_records = [asdict(g) for g in gate_list]
        sides = _sides(plan, seen_plan, expected_from, seen_changes, expected_pct)
        new = newly_failed(seen_gates, gate_list) if seen_gates is not None else []
        if new:  # the verdict changed since the operator confirmed: never go ahead (or force) on unseen failures
            text = "; ".join(f"{g.name} {g.detail}" for g in new)
            return self._refuse("conflict", f"gates changed since you confirmed: now failing {text}; nothing "
                                            "changed: review the new gates and confirm again",
                                action, model, env, {"gates": gate_records, "gates_changed": True,
                                                     "seen_gates": [asdict(g) for g in seen_gates], **sides}, plan)
        if failed and not force:
            text = "; ".join(f"{g.name} {g.detail}" for g in failed)
            return self._refuse("refused", f"gates failed: {text} (use --force with a reason to override)",
                                action, model, env, {"gates": gate_records, **sides}, plan)
        before = self.registry.aliases(model)
        changes = [asdict(c) for c in plan.changes]
        watched = [c.alias for c in plan.changes] or [plan.checked_alias]
        common = dict(strategy=plan.strategy, changes=changes, reason=reason, traffic_pct=plan.traffic_pct,
                      gates=gate_records, forced=bool(force and failed),
                      **{"from": plan.from_version, "to": plan.version})
        try:
            action_id = flight.record_intent(lambda: self.audit.intent(action, model, env, **common), common)
        except AuditError as exc:
            return ActionResult(False, "refused" if isinstance(exc, AuditTampered) else "failed",
                                f"{exc}; nothing changed", from_version=plan.from_version,
                                to_version=plan.version, details={"plan": asdict(plan), "audit_error": True})
        actor = self.user.name
        details: dict[str, Any] = {"plan": asdict(plan), "gates": gate_records, "warnings": []}
        if self.audit.sink_error:
            details["warnings"].append(self.audit.sink_error)
        written: list[ActionResult] = []

        def finish(status: str, message: str, **extra: Any) -> ActionResult:
            flight.claim()  # abandoned: its outcome is written already; the worker stops (Abandoned)
            details.update(extra)
            try:
                self.audit.outcome(action_id, action, model, env, status, message=message, **common,
                                   hooks={"deploy": details.get("hook")}, warnings=details["warnings"])
                if self.audit.sink_error:
                    details["warnings"].append(self.audit.sink_error)
            except AuditError as exc:
                details["warnings"].append(f"audit outcome not written: {exc}")
                message += f" (warning: {exc})"
            written.append(ActionResult(status == "done", status, message, action_id, plan.from_version,
                                        plan.version, details))
            return written[-1]

        try:
            return self._after_intent(action, model, env, plan, before, watched, action_id, actor, reason,
                                      details, finish, flight)
        except Abandoned:
            raise
        except BaseException as exc:  # an intent never stays without its outcome
            if written:
                raise
            now = self._read_back(model)
            state = _describe(now, watched) if now is not None else "registry state unknown"
            result = finish("unknown", f"interrupted after the intent was recorded ({type(exc).__name__}); now "
                                       f"{state}: unknown: the deploy system may have applied it; check it, then "
                                       "re-run or roll back")
            if not isinstance(exc, Exception):
                raise
            return result

    def _after_intent(self, action: str, model: str, env: str, plan: Plan, before: dict[str, str],
                      watched: list[str], action_id: str, actor: str, reason: str, details: dict[str, Any],
                      finish: Callable[..., ActionResult], flight: Flight) -> ActionResult:
        """Hook, aliases, read-back, deployment log; every exit goes through `finish` (the audit outcome)."""
        changes = [asdict(c) for c in plan.changes]

        payload = {"action": plan.event, "action_id": action_id, "model": model, "environment": env,
                   "strategy": plan.strategy, "version": plan.version, "from_version": plan.from_version,
                   "traffic_pct": plan.traffic_pct, "changes": changes, "actor": actor, "reason": reason}
        flight.step("hook")
        hook = hooks.invoke(self.cfg, "deploy", payload, action_id, self.backoff_s)
        details["hook"] = hook.to_record()
        if not hook.ok and hook.unknown:
            return finish("unknown", f"{hook.message}: unknown: the deploy system may have applied it; check it, "
                                     f"then re-run or roll back (the registry still has "
                                     f"{_describe(before, watched)})")
        if not hook.ok:
            return finish("failed", f"{hook.message}; {_describe(before, watched)} unchanged; nothing changed")

        flight.step("aliases")
        wrote: list[str] = []
        try:
            self._apply(model, plan, before, wrote)
        except RegistryError as exc:
            now = self._read_back(model)
            state = _describe(now, watched) if now is not None else "registry state unknown"
            sent = "the deploy hook already accepted the change; " if not hook.skipped else ""
            # "failed" (exit 4) says nothing changed: only when the registry reads back as it was and no hook was
            # told; otherwise the move may have landed (a slow registry applied it and timed out) or the deploy
            # system serves it: unknown (exit 5), and the operator checks before re-running. A canary step moves
            # no alias, only the traffic tag: one written (or reading back as the plan's) is a change too (the trail
            # said "nothing changed" while the registry held the new traffic)
            unchanged = now is not None and hook.skipped and not wrote and not self._traffic_moved(model, plan) \
                and all(now.get(a) == before.get(a) for a in watched)
            if unchanged:
                return finish("failed", f"registry failed while moving aliases ({exc}); now {state}: nothing changed")
            return finish("unknown", f"registry failed while moving aliases ({exc}); {sent}now {state}: unknown: "
                                     "check the registry, then re-run the action or roll back")
        now = self._read_back(model)
        wrong = [c for c in plan.changes if now is None or now.get(c.alias) != c.to_version]
        if wrong:
            state = _describe(now, watched) if now is not None else "registry state unknown"
            return finish("failed" if now is not None else "unknown",
                          f"read back does not match the plan: now {state}")
        flight.step("record")

        self._record_tags(model, plan, action_id, actor, details["warnings"])
        event = {"ts": self._now(), "model": model, "version": plan.version, "environment": env,
                 "strategy": plan.strategy, "traffic_pct": plan.traffic_pct, "action": plan.event,
                 "actor": actor, "reason": reason}
        target = deploylog.target_path(self.cfg)
        if target is None:
            where = deploylog.remote(self.cfg)
            details["warnings"].append(f"the deployments log {where} is remote: event not appended (the console "
                                       "appends to a local log only)" if where else
                                       "no deployments log configured: event not appended")
        else:
            try:
                deploylog.append(target, event)
                details["event_path"] = str(target)
            except OSError as exc:
                details["warnings"].append(f"deployment event not appended to {target}: {exc.strerror or exc}")
        details["event"] = event
        skipped = " (no deploy hook configured)" if hook.skipped else ""
        return finish("done", f"{plan.summary}{skipped}")

    def _apply(self, model: str, plan: Plan, before: dict[str, str], wrote: list[str] | None = None) -> None:
        """Moves the aliases and the canary's traffic tags; `wrote` collects each write that landed (a registry
        failing midway: what changed already)."""
        wrote = [] if wrote is None else wrote
        for c in plan.changes:
            if c.to_version is None:
                self.registry.delete_alias(model, c.alias)
                wrote.append(c.alias)
            elif before.get(c.alias) != c.to_version:
                self.registry.set_alias(model, c.alias, c.to_version)
                wrote.append(c.alias)
        if plan.canary_alias and plan.canary_pct is not None:
            key = CANARY_PCT_TAG + plan.canary_alias
            if plan.canary_pct:
                self.registry.set_model_tag(model, key, str(plan.canary_pct))
                wrote.append(key)
                self.registry.set_model_tag(model, CANARY_PCT_AT_TAG + plan.canary_alias, self._now())
            else:
                self.registry.delete_model_tag(model, key)
                wrote.append(key)
                self.registry.delete_model_tag(model, CANARY_PCT_AT_TAG + plan.canary_alias)

    def _traffic_moved(self, model: str, plan: Plan) -> bool:
        """After a failed write: whether the canary's traffic tag reads back as the plan's new traffic (the write
        that raised may have landed); True when it cannot be read (not known to be unchanged)."""
        if not (plan.canary_alias and plan.canary_pct):
            return False
        try:
            return self.registry.model_tags(model).get(CANARY_PCT_TAG + plan.canary_alias) == str(plan.canary_pct)
        except RegistryError:
            return True

    def _read_back(self, model: str) -> dict[str, str] | None:
        try:
            return self.registry.aliases(model)
        except RegistryError:
            return None

    def _record_tags(self, model: str, plan: Plan, action_id: str, actor: str, warnings: list[str]) -> None:
        """Who moved what (for conflict messages) and alias history (for rollback). Best effort."""
        try:
            tags = self.registry.model_tags(model)
            for c in plan.changes:
                record_move(self.registry, model, c.alias, actor, self._now(), c.from_version, c.to_version, action_id)
                if c.from_version and c.from_version != c.to_version:
                    history = (alias_history(tags, c.alias) + [c.from_version])[-HISTORY_MAX:]
                    self.registry.set_model_tag(model, HISTORY_TAG + c.alias, json.dumps(history))
        except RegistryError as exc:
            warnings.append(f"console tags not updated ({exc}): conflict messages and rollback may know less")

    # ------------------------------------------------------------------ acknowledge

    def acknowledge(self, incident: Any, at: datetime, reason: str) -> ActionResult:
        """Record that the current user acknowledges `incident` (a finding) as seen at `at`, with a reason.

        The one "already acknowledged" check of the CLI and the TUI, made on the trail under the lock: an incident
        acknowledged before, whether long ago or while the operator looked (the `ack` command beside the TUI's k),
        is refused alike, exit 1, a plan that would change nothing (the README's "blocked plan"). The service and
        the screen checked the findings they had read as well, and refused (1) or lost the race (3) by timing."""
        env = "production"
        refused = self.admit_plain("ack", incident.model, env)
        if refused is not None:
            return refused
        reason = " ".join((reason or "").split())
        try:
            # the trail read again and written under one lock: two operators acknowledging one incident at once
            # (the `ack` command beside the TUI's k) each saw it unacknowledged, and both were recorded
            with model_lock(self.lock_dir / "ack", incident.model, self.lock_wait_s):
                first = self._acknowledged(incident, at)
                if first is not None:
                    when = f" at {first.ts}" if first.ts else ""
                    return self.refuse("refused", f"{incident.id} is already acknowledged by {first.by}{when}: "
                                                  f"{first.reason}; not recorded again", "ack", incident.model, env,
                                       {"already": True})
                if not reason:
                    return self.refuse("refused", "an acknowledgement needs a reason (--reason)", "ack",
                                       incident.model, env, {"usage": True})
                rec = self.audit.append({**acks_mod.record(incident, at, reason), "action_id": uuid.uuid4().hex,
                                         **audit_mod.actor_fields()})
        except Timeout:
            return self.refuse("conflict", f"another acknowledgement on {incident.model} is being recorded",
                               "ack", incident.model, env)
        except AuditError as exc:
            return ActionResult(False, "refused" if isinstance(exc, AuditTampered) else "failed",
                                f"{exc}; not acknowledged", details={"audit_error": True})
        message = f"{incident.id} acknowledged by {rec.get('actor')}: {reason}"
        details = {"ack": rec, **({"warnings": [self.audit.sink_error]} if self.audit.sink_error else {})}
        return ActionResult(True, "done", message, rec.get("action_id"), details=details)

    def _acknowledged(self, incident: Any, at: datetime) -> acks_mod.Ack | None:
        """An acknowledgement in the trail of this very incident id, whenever it was made, or one covering it as
        seen at `at` (none when the trail cannot be read: the append then says why)."""
        try:
            known = acks_mod.from_records(audit_mod.read(self.audit.path, incident.model))
        except OSError:
            return None
        return next((a for a in reversed(known) if a.incident == incident.id), None) \
            or acks_mod.matching(incident, known, at)

    def admit_plain(self, action: str, model: str, env: str) -> ActionResult | None:
        """`admit` for an action with no hook: the environment, read-only mode and roles."""
        try:
            decision = policy.check(get_spec(action), self.cfg, env, self.user)
        except ConfigError as exc:
            return self.refuse("refused", str(exc), action, model, env, {"config_error": True})
        if not decision.allowed:
            return self.refuse("refused", decision.reason, action, model, env, {"policy": decision.reason})
        return None
