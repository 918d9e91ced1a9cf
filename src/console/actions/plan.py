"""Planning an action, once, for every door: what changes, which gates, on what evidence.

The TUI's confirmation dialog and the CLI's preflight both call `prepare`, and both run the action
with `execute`, which hands the operator the same live and drift evidence the plan was gated on. So
the two doors refuse and force the same way; the operator re-plans and re-gates under its lock.

Evidence, by action:
- offline: the candidate's run metrics against the champion's (the operator reads the registry);
- live canary: champion vs canary on the last hour, when the action moves or finishes a canary
  (canary step, canary promote, promoting the running canary's version);
- drift: the model's production inputs over the last 24 h against its reference, for every
  action that puts a version into traffic (a plan with `needs_gates`); a model without a reference
  or without enough rows gives no drift gate, and says so in the notes.
Gathering evidence never raises: what could not be read is a note, and the metric gates still apply.

Warnings, for every action that moves an alias: a target version that an open incident of the model names
among its suspects ("deploy v5 in production ...") is said before the operator confirms, by both doors (the
TUI's dialog shows `warnings`, the CLI prints them on stderr and in its JSON). So is a rollback to a version that
was itself rolled back away from (the deployment events' fold, analytics.serving.rollbacks: when, by whom, why).
A warning never refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from console.actions import catalog, policy
from console.actions.catalog import ActionState, version_text
from console.aliases import alias_name
from console.config import ConfigError
from console.safe_text import printable

STRATEGIES = ("direct", "canary", "blue-green", "shadow")  # the one list: the operator, the CLI and the TUI
LIVE_WINDOW = "1h"
LIVE_WINDOW_WORDS = "hour"  # how the notes say it
DRIFT_WINDOW = "24h"
# the actions whose plan sends traffic to its `version` (the champion's, a canary's, a slot's or the shadow's):
# a target that was itself rolled back away from earlier is warned about (`rolled_back_warnings`)
TOWARD_TARGET = ("promote", "canary-step", "canary-promote", "rollback")

# (model, environment, {"champion": version, "canary": version}) -> {"champion": {...}, "canary": {...}}
LiveReader = Callable[[str, str, dict], dict]
DriftReader = Callable[[str, str], "dict | None"]  # (model, environment) -> {"drifted", "share", ...} or None
IncidentReader = Callable[[], Iterable]  # () -> the incidents known (monitoring.Finding), firing or not
CatchUp = Callable[[], "str | None"]  # () -> brings the store up to date; why it could not, or None


@dataclass(frozen=True)
class Prepared:
    """One action request, planned: the policy verdict, the plan per strategy, the gates and their evidence."""
    action: str
    model: str
    environment: str
    allowed: bool
    reason: str  # the policy's reason, or why the action cannot run now
    state: ActionState | None = None
    plans: dict[str, Any] = field(default_factory=dict)  # strategy ("" when none) -> operator.Plan
    gates: tuple = ()  # analytics.gates.Gate for the gated plan
    live: dict | None = None
    drift: dict | None = None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # said before confirming, never a refusal (a suspect target version)
    typed: bool = False  # production: the operator types the model's name
    production: bool = False
    strategy: str = ""  # the strategy asked for (or shown first)
    version: str | None = None
    stopped: Any = None  # the operator's audited refusal (operator.ActionResult) when admission failed
    usage: bool = False  # not allowed because of what was typed (a version the registry does not hold): exit 2

    @property
    def plan(self):
        """The plan of the chosen strategy (or the only plan)."""
        return self.plans.get(self.strategy)

    @property
    def refusal(self) -> str | None:
        """Why this request cannot go ahead as asked, before gates: policy, applicability, a blocked plan."""
        if not self.allowed:
            return self.reason
        plan = self.plan
        return plan.blocked if plan is not None and plan.blocked else None

    @property
    def needs_reason(self) -> bool:
        """The audit trail records why: a promotion, a retrain and every production action need a reason, from
        the TUI's dialog and the CLI alike."""
        return self.action in ("promote", "retrain") or self.production

    @property
    def failed_gates(self) -> list:
        return [g for g in self.gates if not g.passed]

    def gate_refusal(self) -> str | None:
        failed = self.failed_gates
        if not failed:
            return None
        text = "; ".join(f"{g.name} {g.detail}" for g in failed)
        return f"gates failed: {text} (use --force with a reason to override)"


def _needs_live(action: str, version: str | None, canary: str | None) -> bool:
    return action in ("canary-step", "canary-promote") or (action == "promote" and bool(canary) and version == canary)


def prepare(op, model: str, environment: str, action: str, *, version: str | None = None,
            strategy: str | None = None, percent: int | None = None, to: str | None = None,
            live_reader: LiveReader | None = None, drift_reader: DriftReader | None = None,
            user_check: bool = True, incident_reader: IncidentReader | None = None) -> Prepared:
    """Everything a confirmation shows, with no write. Raises RegistryError when the registry cannot be read.

    `strategy` None (promote, in the TUI): every strategy is planned and "direct" is shown first.
    `incident_reader`: the known incidents, read only when a plan moves an alias; the model's firing ones give
    the suspect warnings.
    """
    spec = catalog.get(action)
    cfg = op.cfg
    version, to = version_text(version), version_text(to)  # one spelling for the gates' choice and the plan
    base = dict(action=action, model=model, environment=environment, version=version,
                production=cfg.environment(environment).production)
    admit = getattr(op, "admit", None) if user_check else None
    if admit is not None:  # environment, policy, hook config: refusals are audited
        refused = admit(action, model, environment)
        if refused is not None:
            return Prepared(allowed=False, reason=refused.message, stopped=refused, **base)
    try:
        decision = op.check(action, environment) if user_check else policy.Decision(True, "")
    except ConfigError as exc:
        decision = policy.Decision(False, f"{action} refused: {exc}")
    if not decision.allowed:
        return Prepared(allowed=False, reason=decision.reason, **base)
    typed = policy.needs_typed_confirmation(spec, cfg, environment)
    try:
        state = op.state(model, environment)
    except Exception as exc:  # an unreachable registry: audited as the refusals above are, then said as before
        from console.sources.registry import RegistryNotConfigured, RegistryUnavailable  # (the parser imports us)

        # none configured is the operator's configuration to fix (exit 2): nothing was attempted, nothing recorded
        if isinstance(exc, RegistryUnavailable) and not isinstance(exc, RegistryNotConfigured) and user_check \
                and hasattr(op, "refuse"):
            op.refuse("failed", f"{exc}; nothing changed", action, model, environment, {"registry_error": True})
        raise
    # a rollback to a named version needs no default target: the plan checks that version (a former champion, not
    # the canary it aborts); without this, `--to 2` was refused as "does not apply" right after the plain rollback
    # had said to pass a version
    asked = replace(state, has_previous_champion=True) if action == "rollback" and to else state
    if not spec.applies(asked):
        why, usage = f"{action} does not apply to {model} in {environment} now", False
        if action not in ("retrain", "promote"):  # the plan says why in its own words ("no canary running ...")
            args = {"to": to} if action == "rollback" else {}
            blocked = op.plan(model, environment, action, **args)
            why, usage = blocked.blocked or why, blocked.usage
        return Prepared(allowed=False, reason=why, state=state, typed=typed, usage=usage, **base)
    if action == "retrain":
        return Prepared(allowed=True, reason=decision.reason, state=state, typed=typed,
                        notes=tuple(_retrain_notes(op, model, environment)), **base)

    if action == "promote":
        chosen = strategy or "direct"
        names = (chosen,) if strategy else STRATEGIES
        plans = {s: op.plan(model, environment, "promote", version=version, strategy=s, percent=percent)
                 for s in names}
    else:
        chosen = ""
        args = {"to": to} if action == "rollback" else {}
        plans = {"": op.plan(model, environment, action, **args)}

    gated = plans.get(chosen) if plans.get(chosen) is not None and plans[chosen].needs_gates else None
    if gated is None or not gated.version:
        gated = next((p for p in plans.values() if p.needs_gates and p.version), None)
    live = drift = None
    notes: list[str] = []
    if gated is not None:
        live, drift, notes = gather_evidence(op, model, environment, action, version, live_reader, drift_reader)
    gates = tuple(op.gates(model, gated.version, environment, live, drift)) if gated is not None else ()
    warnings: tuple[str, ...] = ()
    if incident_reader is not None and any(getattr(p, "changes", ()) for p in plans.values()):
        try:
            open_incidents = [f for f in incident_reader() or () if f.model == model and f.firing]
        except Exception as exc:  # noqa: BLE001 - no incidents: the plan stands, without the warning
            notes.append(f"open incidents unavailable: {_first_line(exc)}")
        else:
            warnings = suspect_warnings(plans, open_incidents, environment)
    if action in TOWARD_TARGET:
        warnings += rolled_back_warnings(op, plans, model, environment)
    return Prepared(allowed=True, reason=decision.reason, state=state, plans=plans, gates=gates, live=live,
                    drift=drift, notes=tuple(notes), typed=typed, strategy=chosen, warnings=warnings, **base)


def gather_evidence(op, model: str, environment: str, action: str, version: str | None,
                    live_reader: LiveReader | None,
                    drift_reader: DriftReader | None) -> tuple[dict | None, dict | None, list[str]]:
    """The live canary stats and the drift verdict a gated plan is judged on, as they are now, and the notes
    on what could not be read. Read when the dialog opens and again when the operator confirms (`execute`)."""
    notes: list[str] = []
    live = drift = None
    canary = op.registry.alias_version(model, alias_name(environment, "canary"))
    if _needs_live(action, version, canary) and live_reader is not None:
        try:
            # the rows of these versions alone: a canary just started is not judged on its predecessor's rows
            versions = {"champion": op.registry.alias_version(model, alias_name(environment, "champion")),
                        "canary": canary}
            live = live_reader(model, environment, versions) or None
        except Exception as exc:  # noqa: BLE001 - no live stats: the metric gates still apply
            notes.append(f"live canary stats unavailable: {_first_line(exc)}")
        if live and live.get("canary"):
            notes.append(f"live gates use the last {LIVE_WINDOW_WORDS}: " + ", ".join(
                f"{k} {v.get('requests', 0)} req" for k, v in live.items()))
            # a gate left out says so: during an accuracy incident "8 PASS" read as if accuracy had passed
            for key, words in (("error_rate", "error rate"), ("p95_ms", "p95 latency"), ("accuracy", "accuracy"),
                               ("mae", "MAE")):
                sides = {side: stats or {} for side, stats in live.items() if side in ("canary", "champion")}
                short = [f"{side} {_evidence(stats, key)}" for side, stats in sides.items() if stats.get(key) is None]
                if short and len(short) < len(sides):  # one side has it: the model logs it (labels, latency)
                    notes.append(f"live:{key} not evaluated ({words} unknown: {', '.join(short)})")
        else:
            notes.append(f"no live canary traffic in the last {LIVE_WINDOW_WORDS}: live gates not evaluated")
    if drift_reader is not None:
        try:
            drift = drift_reader(model, environment)
        except Exception as exc:  # noqa: BLE001 - no drift verdict: the other gates still apply
            notes.append(f"drift unavailable: {_first_line(exc)}")
        if drift is None:
            notes.append(f"no drift verdict for {model} ({DRIFT_WINDOW}): no reference or too few rows")
        elif drift.get("note"):
            notes.append(str(drift["note"]))
    return live, drift, notes


def _evidence(stats: dict | None, key: str) -> str:
    """What a side of the live stats held for a gate it could not give (`live_gates` skips it)."""
    stats = stats or {}
    if key in ("accuracy", "mae"):
        return f"{int(stats.get('labelled') or 0)} labels"
    return f"{int(stats.get('requests') or 0)} requests"


_VERSION = re.compile(r"(?:^|\s)v(\S+)(?: in (\S+))?")  # `analytics.incidents._deploy_detail`: "deploy v5 in staging"


def suspect_versions(finding, environment: str | None = None) -> set[str]:
    """Model versions an incident's suspects name ("deploy v5 in production ..." names 5), of the changes made in
    `environment` when given (a deploy that names none counts anywhere): a v5 staged in staging is no suspect of
    a production promote, nor production's v5 of a staging one. A prompt suspect ("prompt_version v3 first
    served") names a prompt's version, not the model's: it warned of a v3 promotion."""
    out = set()
    for s in finding.suspects:
        if getattr(s, "kind", None) == "prompt":
            continue
        m = _VERSION.search(str(getattr(s, "detail", "")))
        if m and (environment is None or m.group(2) is None or m.group(2).rstrip(",:);") == environment):
            out.add(m.group(1).rstrip(",:);"))
    return out


def suspect_warnings(plans: dict, incidents: Iterable, environment: str | None = None) -> tuple[str, ...]:
    """A plan that moves an alias in `environment` to a version an open incident names as its suspect there
    gets a warning."""
    out = []
    targets = {str(c.to_version) for p in plans.values() for c in getattr(p, "changes", ()) if c.to_version}
    for f in incidents:
        for v in sorted(targets & suspect_versions(f, environment)):
            out.append(f"WARNING v{printable(v)} is a suspect of the open incident {printable(f.rule)} "
                       f"(onset {f.onset:%m-%d %H:%M}Z)")
    return tuple(out)


def rolled_back_warnings(op, plans: dict, model: str, environment: str) -> tuple[str, ...]:
    """A plan whose target was itself rolled back away from (support-assistant: R planned v2 -> v3, v3 rolled
    back five days before; or P promoting, + stepping a canary to, such a version) is warned about, naming the
    latest such rollback: when, by whom, and why."""
    targets = {str(p.version) for p in plans.values() if p.version and not p.blocked}
    if not targets:
        return ()
    try:
        done = op.rollbacks(model, environment)
    except Exception:  # noqa: BLE001 - no deployment history: the plan stands, without the warning
        return ()
    out = []
    for v in sorted(targets):
        rec = next((r for r in reversed(done) if str(r["from"]) == v), None)
        if rec is None:
            continue
        ts = rec["ts"]
        when = f"{ts:%Y-%m-%d %H:%M}Z" if hasattr(ts, "strftime") else str(ts)[:16].replace("T", " ") + "Z"
        why = f" ({printable(str(rec['reason']))})" if rec.get("reason") else ""
        out.append(f"WARNING v{printable(v)} was itself rolled back on {when} by "
                   f"{printable(str(rec.get('actor') or 'unknown'))}, to v{printable(str(rec['to']))}{why}")
    return tuple(out)


def _retrain_notes(op, model: str, environment: str) -> list[str]:
    from console.actions import hooks

    champion = op.registry.alias_version(model, alias_name(environment, "champion"))
    notes = [f"retrains from the champion ({'v' + champion if champion else 'none'}); no alias moves"]
    if not hooks.configured(op.cfg, "retrain"):
        notes.append("no retrain hook is configured ([webhooks.retrain]): the request will fail")
    return notes


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def execute(op, prepared: Prepared, *, strategy: str | None = None, expected_from: str | None = None,
            reason: str = "", force: bool = False, percent: int | None = None, to: str | None = None,
            evidence: dict | None = None, live_reader: LiveReader | None = None,
            drift_reader: DriftReader | None = None, catch_up: CatchUp | None = None):
    """Runs the planned action through the operator. A gated action is judged on its evidence as it is at
    confirmation (the readers are asked again; without them, the evidence the plan was gated on), and the
    operator refuses it as a conflict when a gate fails now that did not fail in what the operator saw
    (`prepared.gates`): a dialog left open while a label arrived never goes ahead on gates nobody saw.
    `catch_up` is called first, so the readers see the rows that arrived while the operator read the plan (the
    CLI's store is otherwise as it was when it planned); what it returns (why it could not) is a warning."""
    a, model, env = prepared.action, prepared.model, prepared.environment
    live, drift = prepared.live, prepared.drift
    seen = tuple(prepared.gates)  # what the operator confirmed on (none shown: every failure now is new)
    gated = any(getattr(p, "needs_gates", False) for p in prepared.plans.values())
    stale = None
    if gated and (live_reader is not None or drift_reader is not None):
        stale = catch_up() if catch_up is not None else None
        live, drift, _ = gather_evidence(op, model, env, a, prepared.version, live_reader, drift_reader)
    result = _run(op, prepared, live, drift, seen, strategy=strategy, expected_from=expected_from, reason=reason,
                  force=force, percent=percent, to=to, evidence=evidence)
    if stale:  # judged on the rows read before: said with the result, as the operator's own warnings are
        result.details.setdefault("warnings", []).append(stale)
    return result


def _run(op, prepared: Prepared, live, drift, seen, *, strategy, expected_from, reason, force, percent, to,
         evidence):
    a, model, env = prepared.action, prepared.model, prepared.environment
    # the changes the operator confirmed (the chosen strategy's plan): others now are a conflict, never run unseen;
    # the plan itself is recorded with any refusal beside the plan made under the lock (`seen_plan`)
    shown = prepared.plans.get(strategy or prepared.strategy)
    changes = tuple(shown.changes) if shown is not None else None
    if a == "promote":
        return op.promote(model, prepared.version, env, strategy=strategy or prepared.strategy or "direct",
                          percent=percent, expected_from=expected_from, reason=reason, force=force,
                          live=live, drift=drift, seen_gates=seen, seen_changes=changes, seen_plan=shown)
    if a == "canary-step":
        return op.canary_step(model, env, expected_from=expected_from, reason=reason, force=force, live=live,
                              drift=drift, expected_pct=shown.canary_pct if shown is not None else None,
                              seen_gates=seen, seen_changes=changes, seen_plan=shown)
    if a == "canary-promote":
        return op.canary_promote(model, env, expected_from=expected_from, reason=reason, force=force, live=live,
                                 drift=drift, seen_gates=seen, seen_changes=changes, seen_plan=shown)
    if a == "canary-abort":
        return op.canary_abort(model, env, expected_from=expected_from, reason=reason, seen_changes=changes,
                               seen_plan=shown)
    if a == "rollback":
        return op.rollback(model, env, to=to, expected_from=expected_from, reason=reason, seen_changes=changes,
                           seen_plan=shown)
    if a == "shadow-stop":
        return op.shadow_stop(model, env, expected_from=expected_from, reason=reason, seen_changes=changes,
                              seen_plan=shown)
    if a == "retrain":
        return op.retrain(model, env, reason, evidence=evidence or {})
    raise ValueError(f"unknown action {a!r}")
