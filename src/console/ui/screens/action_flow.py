"""Operator actions in the TUI: keys from the action catalog, gating, the confirmation dialog, the runner.

Any `ConsoleScreen` about one model can offer the actions (promote P, canary step +, canary promote F,
canary abort A, rollback R, retrain T, shadow stop S)::

    class VersionsScreen(ActionsMixin, ConsoleScreen):
        BINDINGS = [..., *action_bindings()]          # Textual merges BINDINGS of widget classes only

        def action_target(self, action_id):          # optional: (environment, version) to act on
            return self.env, self.selected_version()

        def handle_result(self, tag, result):        # when the screen overrides it:
            if self.flow.handle_result(tag, result):
                return
            ...

`ActionsMixin` provides `flow`, `check_action` (a key is hidden when policy refuses it: read-only mode,
roles; greyed when it does not apply to the model's state, fetched in a worker and cached on the
screen, and hidden then too below 100 columns, where the footer has no room), `action_act(id)`,
`action_commands()` for the palette and the result routing for screens that do not override
`handle_result`/`handle_error`.

The flow: policy check -> worker: `svc.plan_action` (actions.plan: policy, state, every strategy's plan
for promote, the gates with their live-canary and drift evidence, exactly as the CLI plans) ->
`ActionDialog` -> policy check again -> worker: `svc.run_action` with `expected_from` = the version shown in
the plan and the gates shown (judged again on the evidence at confirmation: a new failure is a conflict) -> notify `result.message` (severity by status) -> `app.action_refresh()`. A refused action never
reaches the operator's write path from here, whichever way it was invoked (key or palette).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.binding import Binding

from console.actions import catalog, policy
from console.actions.catalog import ActionSpec, ActionState
from console.actions.plan import suspect_versions
from console.config import ConfigError
from console.ui.screens.confirm import ActionChoice, ActionDialog, ActionRequest
from console.ui.text import printable

TAG = "action:"  # call_service tags of the flow start with this
KEY_NAMES = {"+": "plus"}
LABELS = {"promote": "Promote", "canary-step": "Canary step", "canary-promote": "Canary promote",
          "canary-abort": "Canary abort", "rollback": "Rollback", "shadow-stop": "Shadow stop",
          "retrain": "Retrain"}
SHORT = {"promote": "Promote", "canary-step": "Step", "canary-promote": "Finish", "canary-abort": "Abort",
         "rollback": "Rollback", "shadow-stop": "Unshadow", "retrain": "Retrain"}  # footer labels (80 columns)
SEVERITY = {"done": "information", "refused": "warning", "conflict": "warning", "failed": "error"}


def binding_id(action_id: str) -> str:
    return f"action.{action_id}"


def action_bindings() -> list[Binding]:
    """One binding per catalog action (key from the catalog, id `action.<id>`), for a screen's BINDINGS."""
    return [Binding(KEY_NAMES.get(a.key, a.key), f"act('{a.id}')", SHORT.get(a.id, a.id), id=binding_id(a.id),
                    key_display=a.key, tooltip=a.description)
            for a in catalog.ACTIONS]


@dataclass(frozen=True)
class Prepared:
    """What the worker found before the dialog: the policy verdict, the state and the request."""
    allowed: bool
    reason: str
    state: ActionState | None
    request: ActionRequest | None
    live: dict | None = None
    planned: Any = None  # actions.plan.Prepared: what `run` executes


def decide(spec: ActionSpec, cfg, environment: str) -> policy.Decision:
    """policy.check, with a malformed roles table reported as a refusal instead of raised."""
    try:
        return policy.check(spec, cfg, environment)
    except ConfigError as exc:
        return policy.Decision(False, f"{spec.id} refused: {exc}")


def incident_reason(finding) -> str:
    """The reason prefilled from the incident in view: what an auditor reads later."""
    where = finding.feature or (f"{finding.segment.get('column')}={finding.segment.get('value')}"
                                if finding.segment else "")
    text = f"incident {finding.rule}" + (f" ({where})" if where else "")
    return printable(text + f" since {finding.began()}Z")


def reason_for(incidents: list, incident: str | None, current: set[str] = frozenset()) -> str:
    """The incident on screen, else the newest one whose suspect is the serving version (what a rollback
    answers), else the newest with any suspect, else the newest."""
    chosen = next((f for f in incidents if f.id == incident), None)
    if chosen is None and incidents:
        chosen = min(incidents, key=lambda f: (not (suspect_versions(f) & current), not f.suspects))
    return incident_reason(chosen) if chosen is not None else ""


def prepare(svc, model: str, environment: str, action_id: str, version: str | None,
            incident: str | None = None, incidents: list | None = None) -> Prepared:
    """Runs in a worker: everything the confirmation dialog shows (no write), planned by the service's one
    plan-and-gate path (actions.plan), the same the CLI uses. `incidents`: the model's open incidents as the
    console knows them (the monitor worker's, never recomputed here); `incident`: the id of the one in view
    on the screen (its reason is prefilled)."""
    p = svc.plan_action(model, environment, action_id, version=version, incidents=incidents or [])
    if not p.allowed:
        return Prepared(False, p.reason, p.state, None)
    label = LABELS.get(action_id, action_id)
    incidents = [f for f in incidents or () if f.model == model and f.firing]
    if action_id == "retrain":
        request = ActionRequest(action_id, label, model, environment, plans={}, typed=p.typed,
                                reason_required=p.needs_reason, production=p.production, notes=p.notes,
                                reason=reason_for(incidents, incident), evidence=retrain_evidence(incidents, incident))
        return Prepared(True, p.reason, p.state, request, planned=p)
    current = {str(x.from_version) for x in p.plans.values() if x.from_version}
    request = ActionRequest(action_id, label, model, environment, plans=p.plans, gates=p.gates, typed=p.typed,
                            reason_required=p.needs_reason, production=p.production,
                            strategy=p.strategy or "", notes=p.notes,
                            reason=reason_for(incidents, incident, current),
                            warnings=p.warnings)
    return Prepared(True, p.reason, p.state, request, p.live, planned=p)


def retrain_evidence(incidents: list, in_view: str | None) -> dict:
    """What a retrain from the TUI sends with its reason: the model's firing incidents as the console knows them
    (the CLI's `--evidence`, `auto-retrain`'s trigger). The catalog says "with the evidence shown"; it sent {}."""
    if not incidents:
        return {}
    return {"incident": in_view, "incidents": [
        {"id": f.id, "rule": f.rule, "kind": f.kind, "severity": f.severity, "feature": f.feature,
         "onset": f.onset.isoformat() + "Z" if f.onset else None, "evidence": f.evidence or f.detail}
        for f in incidents]}


def run(svc, request: ActionRequest, choice: ActionChoice, planned):
    """Runs in a worker: the planned action with `expected_from` = what the dialog showed; its gates are judged
    again below (actions.plan.execute), and one failing now that the dialog did not show failing is a conflict."""
    plan = choice.plan
    expected = (plan.from_version or "none") if plan is not None else None
    extra = {"evidence": request.evidence} if request.action == "retrain" else {}
    return svc.run_action(planned, strategy=choice.strategy or None, expected_from=expected, reason=choice.reason,
                          force=choice.force, **extra)


def abandon(svc, requests: list[ActionRequest]) -> list[dict]:
    """The operator quit while these actions ran: each gets its audit outcome ("interrupted by quit") and its
    lease and lock are released now, through the facade (`Service.abandon_actions`)."""
    return svc.abandon_actions([(r.action, r.model, r.environment) for r in requests],
                               reason="the operator quit the console")


class ActionFlow:
    """The action state of one screen: cached `ActionState` per environment, the flow in progress."""

    def __init__(self, screen) -> None:
        self.screen = screen
        self._states: dict[str | None, dict[str, ActionState]] = {}  # model -> environment -> state
        self.busy: str | None = None  # the action being prepared, confirmed or run
        self.running: ActionRequest | None = None  # the action whose operator call is in flight
        self._pending: dict[str, Any] = {}
        self.last_result = None  # the last ActionResult (tests, status lines)
        self.last_refusal: str | None = None
        self._decisions: dict[tuple[str, str], policy.Decision] = {}  # check_action runs on every repaint

    @property
    def app(self):
        return self.screen.app

    @property
    def model(self) -> str | None:
        """The screen's model, or the one its cursor is on (the Overview acts on the selected row)."""
        if self.screen.model:
            return self.screen.model
        ctx = self.screen.context()
        return ctx[0] if ctx else None

    @property
    def states(self) -> dict[str, ActionState]:
        """environment -> ActionState of the current model, fetched in a worker."""
        return self._states.setdefault(self.model, {})

    # ------------------------------------------------------------------ gating

    def decision(self, action_id: str, environment: str, fresh: bool = False) -> policy.Decision:
        key = (action_id, environment)
        if fresh or key not in self._decisions:
            self._decisions[key] = decide(catalog.get(action_id), self.app.cfg, environment)
        return self._decisions[key]

    def check(self, action_id: str, environment: str) -> bool | None:
        """For `check_action`: True whenever a model is in context, so a key that does not apply still
        reaches `start`, which says why; the footer hides such keys (`shown`)."""
        if not self.model:
            return False
        try:
            catalog.get(action_id)
        except KeyError:
            return False
        return True

    def shown(self, action_id: str, environment: str) -> bool:
        """Whether the footer shows the key: policy allows it and, when the state is known, it applies. Not in a
        view of the past: an action changes the present, and the service refuses it there (the key still says so)."""
        if not self.model or getattr(self.screen.app, "at", None) is not None:
            return False
        try:
            spec = catalog.get(action_id)
        except KeyError:
            return False
        if not self.decision(action_id, environment).allowed:
            return False
        state = self.states.get(environment)
        return state is not None and spec.applies(state)  # unknown yet: not offered until it is known

    def why_not(self, action_id: str, environment: str) -> str | None:
        """Why this action cannot be taken here, or None when it can (as far as the UI knows)."""
        if not self.model:
            return "no model selected"
        spec = catalog.get(action_id)
        decision = self.decision(action_id, environment, fresh=True)
        if not decision.allowed:
            return decision.reason
        state = self.states.get(environment)
        if state is not None and not spec.applies(state):
            return f"{LABELS.get(action_id, action_id)} does not apply to {self.model} in {environment}: {_why_not(spec)}"
        return None

    def refresh_state(self, environment: str) -> None:
        """Fetches the model's ActionState for `environment` in a worker (keys grey out when it lands)."""
        model = self.model
        if not model:
            return
        self.screen.call_service(f"{TAG}state:{model}\x00{environment}",
                                 lambda svc: svc.action_state(model, environment))

    # ------------------------------------------------------------------ the flow

    def start(self, action_id: str, environment: str, version: str | None = None) -> None:
        model = self.model
        if not model:
            self._refuse("no model selected")
            return
        # a key whose action the policy refuses or that does not apply (hidden from the footer, still pressed) is
        # decided by the service as the CLI's is, and audited there: the TUI only said it in a toast
        if action_id == "promote" and not version and self.why_not(action_id, environment) is None:
            self._refuse("promote: select a version first (on Versions or Deployments)")
            return
        if self.busy:
            self.app.notify(f"{self.busy} is still in progress", severity="warning")
            return
        self.busy = action_id
        self._pending = {"version": version, "model": model}
        incident = self.screen.incident_in_view() if hasattr(self.screen, "incident_in_view") else None
        incidents = list(getattr(self.app, "incidents", ()))
        self.screen.call_service(f"{TAG}prepare", lambda svc: prepare(svc, model, environment, action_id, version,
                                                                      incident, incidents))

    def _refuse(self, reason: str) -> None:
        self.last_refusal = reason
        self.app.notify(reason, severity="warning")

    def handle_result(self, tag: str, result: Any) -> bool:
        """Routes the flow's worker results; False when `tag` is not the flow's."""
        if not tag.startswith(TAG):
            return False
        what = tag[len(TAG):]
        if what.startswith("state:"):
            model, _, env = what[len("state:"):].partition("\x00")
            self._states.setdefault(model, {})[env] = result
            self.screen.refresh_bindings()
        elif what == "prepare":
            self._prepared(result)
        elif what == "run":
            self._done(result)
        elif what == "refused":
            self.last_refusal = result.message
        return True

    def handle_error(self, tag: str, error: str) -> bool:
        if not tag.startswith(TAG):
            return False
        what = tag[len(TAG):]
        if what.startswith("state:"):
            return True  # keys stay enabled; the flow checks again when used
        if what == "refused":  # the refusal stands (the dialog said it); only its record failed
            self.app.notify(f"refusal not audited: {printable(error)}", severity="error")
            return True
        self.busy = None
        self.running = None
        step = "preparing" if what == "prepare" else "running"
        self.app.notify(f"{step} the action failed: {printable(error)}", severity="error")
        return True

    def _prepared(self, prepared: Prepared) -> None:
        if prepared.state is not None and prepared.request is not None:
            self._states.setdefault(prepared.request.model, {})[prepared.request.environment] = prepared.state
            self.screen.refresh_bindings()
        if not prepared.allowed or prepared.request is None:
            self.busy = None
            self._refuse(prepared.reason)
            return
        self._pending["planned"] = prepared.planned
        request = prepared.request
        self.app.push_screen(ActionDialog(request, on_refused=lambda message, plan, reason: self._refused(
                                 request, message, plan, reason)),
                             lambda choice: self._decided(request, choice))

    def _refused(self, request: ActionRequest, message: str, plan, reason: str | None = None) -> None:
        """The dialog refused to run what the operator confirmed (failed gates not forced, a plan that cannot run):
        audited in a worker, as the CLI audits the same refusal (the TUI left no record of such an attempt), with
        the reason the operator typed (the CLI's --reason). The service classifies it (a race lost to the same
        change is a conflict, as the CLI says it)."""
        gates = tuple(request.gates) if plan is not None and getattr(plan, "needs_gates", False) \
            and not getattr(plan, "blocked", None) else ()
        self.screen.call_service(f"{TAG}refused", lambda svc: svc.refuse_action(
            request.action, request.model, request.environment, message, gates, plan, reason=reason))

    def _decided(self, request: ActionRequest, choice: ActionChoice | None) -> None:
        if choice is None:
            self.busy = None
            self.app.notify(f"{request.label} cancelled: nothing changed")
            return
        decision = self.decision(request.action, request.environment, fresh=True)  # again: config may differ by now
        if not decision.allowed:
            self.busy = None
            self._refuse(decision.reason)
            self._refused(request, decision.reason, None, choice.reason)  # audited, as every refusal is
            return
        planned = self._pending.get("planned")
        self.app.notify(f"{request.label} {printable(request.model)}: running...", timeout=3)
        self.running = request
        self.screen.call_service(f"{TAG}run", lambda svc: run(svc, request, choice, planned))

    def _done(self, result) -> None:
        self.busy = None
        self.running = None
        self.last_result = result
        self.app.notify(result.message, severity=SEVERITY.get(result.status, "information"),
                        title=result.status.upper(), timeout=8)
        self._states.clear()
        self.app.action_refresh()
        after = getattr(self.screen, "after_action", None)
        if callable(after):
            after(result)


def _why_not(spec: ActionSpec) -> str:
    return {"canary-step": "no canary runs", "canary-promote": "no canary runs", "canary-abort": "no canary runs",
            "rollback": "no previous champion is known", "shadow-stop": "no shadow runs",
            "retrain": "prompts are not retrained"}.get(spec.id, "not applicable")


class ActionsMixin:
    """Put before `ConsoleScreen` in the bases; add `*action_bindings()` to the screen's BINDINGS."""

    @property
    def flow(self) -> ActionFlow:
        flow = self.__dict__.get("_action_flow")
        if flow is None:
            flow = self.__dict__["_action_flow"] = ActionFlow(self)
        return flow

    @property
    def action_environment(self) -> str:
        return getattr(self, "environment", None) or "production"

    def action_target(self, action_id: str) -> tuple[str, str | None]:
        """(environment, version) an action applies to; override (promote takes the selected version)."""
        return self.action_environment, None

    def hide_in_footer(self, binding) -> bool:
        """An action that does not apply here (or that policy refuses) leaves the footer; its key still
        works and says why."""
        action = binding.action
        if isinstance(action, str) and action.startswith("act('"):
            action_id = action[5:].split("'")[0]
            env, version = self.action_target(action_id)
            return not self.flow.shown(action_id, env) or (action_id == "promote" and not version)
        return super().hide_in_footer(binding)  # type: ignore[misc]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "act":
            action_id = str(parameters[0]) if parameters else ""
            env, _ = self.action_target(action_id)
            return self.flow.check(action_id, env)
        return super().check_action(action, parameters)  # type: ignore[misc]

    def on_resize(self) -> None:  # Textual calls every class's handler: the screen's own still runs
        self.refresh_bindings()  # type: ignore[attr-defined]

    def action_act(self, action_id: str) -> None:
        env, version = self.action_target(action_id)
        self.flow.start(action_id, env, version)

    def action_commands(self) -> list[tuple[str, Any, str]]:
        """Palette entries for the actions that apply here (a refused one explains why when chosen, and never
        runs); one the model's known state rules out (a canary step with no canary) is left out, as the footer
        leaves its key out. Until the state is known, every action is listed."""
        out = []
        for spec in catalog.ACTIONS:
            env, _ = self.action_target(spec.id)
            state = self.flow.states.get(env)
            if state is not None and not spec.applies(state):
                continue
            decision = self.flow.decision(spec.id, env)
            hint = spec.description + (f" [{spec.key}]" if decision.allowed else f" - {decision.reason}")
            # the model it acts on: the Overview's selected row (its own `model` is None: "Rollback None")
            out.append((f"{LABELS.get(spec.id, spec.id)} {printable(self.flow.model or '')} ({printable(env)})",
                        (lambda a=spec.id: self.action_act(a)), hint))
        return out

    def handle_result(self, tag: str, result: Any) -> None:
        if not self.flow.handle_result(tag, result):
            super().handle_result(tag, result)  # type: ignore[misc]

    def handle_error(self, tag: str, error: str) -> None:
        if not self.flow.handle_error(tag, error):
            super().handle_error(tag, error)  # type: ignore[misc]
