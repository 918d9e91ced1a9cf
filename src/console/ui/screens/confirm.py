"""The confirmation dialog every operator action goes through (`ActionDialog`), a modal screen.

It shows exactly what will change (alias, from version, to version, environment, traffic), a warning
when the target version is a suspect of an open incident, the gate checks with PASS/FAIL in words, a
strategy choice for promote, a reason, a "force" checkbox when a gate fails (force needs the reason),
and for production the model's name to type. Outside production Cancel has the focus first; in
production the empty name field does, so an enter pressed by reflex changes nothing either way.

The dialog does no I/O: every strategy's plan and the gates arrive pre-computed in `ActionRequest`
(fetched by `console.ui.screens.action_flow` in a worker). It dismisses with an `ActionChoice`, or
None when cancelled. Keys: in production the name field has the focus first and enter there confirms
only when the name matches, typed as it is or as the dialog shows it (`policy.name_confirmed`); the reason is
prefilled with the incident in view; esc cancels; tab / shift+tab move between fields, space ticks the checkbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, RadioButton, RadioSet, Static

from console.actions.policy import name_confirmed
from console.ui.text import printable, safe

STRATEGY_HELP = {
    "direct": "champion moves at once (100 % of traffic)",
    "canary": "canary alias at the first traffic step; champion stays",
    "blue-green": "idle slot gets the version, champion switches to it",
    "shadow": "mirrored traffic only, serves no one",
}


@dataclass(frozen=True)
class ActionRequest:
    """Everything the dialog shows; built in a worker, read on the UI thread."""
    action: str  # catalog id
    label: str  # "Rollback", "Promote", ...
    model: str
    environment: str
    plans: dict = field(default_factory=dict)  # strategy -> operator.Plan ("" for actions without strategies)
    gates: tuple = ()  # analytics.gates.Gate, for plans with needs_gates
    typed: bool = False  # production: the operator types the model's name
    reason_required: bool = False
    production: bool = False
    strategy: str = ""  # the strategy selected first (promote: "direct")
    notes: tuple[str, ...] = ()  # extra lines: live stats used, retrain hook, ...
    reason: str = ""  # prefilled: the incident in view
    warnings: tuple[str, ...] = ()  # e.g. the target version is a suspect of an open incident
    evidence: dict = field(default_factory=dict)  # retrain: the firing incidents shown, sent with the request


@dataclass(frozen=True)
class ActionChoice:
    strategy: str
    plan: object  # operator.Plan or None (retrain)
    reason: str
    force: bool


def _v(version) -> str:
    return f"v{printable(version)}" if version not in (None, "") else "unset"


def plan_text(request: ActionRequest, strategy: str) -> Text:
    """What will change, one fact per line; data through `printable`, never markup."""
    plan = request.plans.get(strategy)
    out = Text(no_wrap=False)
    out.append("model       ", style="bold")
    out.append_text(safe(request.model))
    out.append("\nenvironment ", style="bold")
    out.append_text(safe(request.environment))
    if request.production:
        out.append("  PRODUCTION", style="bold reverse")
    if plan is None:
        for note in request.notes:
            out.append("\n")
            out.append_text(safe(note))
        return out
    out.append("\nchanges     ", style="bold")
    if plan.changes:
        for i, c in enumerate(plan.changes):
            if i:
                out.append("\n            ")
            out.append_text(safe(c.alias, style="bold"))
            out.append(f": {_v(c.from_version)} -> ")
            out.append("removed" if c.to_version is None else _v(c.to_version), style="bold")
    elif plan.canary_alias and plan.canary_pct is not None:
        out.append_text(safe(plan.canary_alias, style="bold"))
        out.append(f": {_v(plan.version)} traffic -> {plan.canary_pct} %")
    else:
        out.append("none")
    out.append("\ntraffic     ", style="bold")
    out.append(f"{plan.traffic_pct} %" if plan.traffic_pct is not None else "-")
    out.append("\nsummary     ", style="bold")
    out.append_text(Text(printable(plan.summary)))
    for warning in request.warnings:
        out.append("\n")
        out.append_text(Text(printable(warning), style="bold reverse"))
    for note in request.notes:
        out.append("\n")
        out.append_text(safe(note))
    return out


def confirms_text(request: ActionRequest, strategy: str) -> Text:
    """The plan's summary and warnings again, just above the name field that has the focus in production: at
    80x24 the body is scrolled down to that field, and the plan at its top is out of sight."""
    plan = request.plans.get(strategy)
    out = Text("confirms    ", style="bold")
    out.append_text(Text(printable(plan.summary) if plan is not None and plan.summary else "-"))
    for warning in request.warnings:
        out.append("\n")
        out.append_text(Text(printable(warning), style="bold reverse"))
    if gates_failed(request, strategy):  # the gates list is out of sight there too: its failures are not
        for g in request.gates:
            if not g.passed:
                out.append("\n")
                out.append("FAIL", style="bold reverse")
                out.append(" ")
                out.append_text(safe(g.name, style="bold"))
                out.append(" ")
                out.append_text(Text(printable(g.detail)))
    return out


def gates_text(request: ActionRequest, strategy: str) -> Text:
    plan = request.plans.get(strategy)
    out = Text()
    out.append("gates       ", style="bold")
    if plan is None or not plan.needs_gates:
        out.append("none for this action", style="dim")
        return out
    if not request.gates:
        out.append("no comparable metrics (nothing to check)", style="dim")
        return out
    failed = [g for g in request.gates if not g.passed]
    out.append(f"{len(request.gates) - len(failed)} PASS, {len(failed)} FAIL")
    for g in sorted(request.gates, key=lambda g: g.passed):  # failures first: visible without scrolling
        out.append("\n  ")
        out.append("PASS" if g.passed else "FAIL", style="bold" if g.passed else "bold reverse")
        out.append(" ")
        out.append_text(safe(g.name, style="bold"))
        out.append(" ")
        out.append_text(Text(printable(g.detail)))
    return out


def gates_failed(request: ActionRequest, strategy: str) -> bool:
    plan = request.plans.get(strategy)
    return bool(plan is not None and plan.needs_gates and any(not g.passed for g in request.gates))


def force_label(on: bool) -> Text:
    """The checkbox's state in words too (its mark differs by colour only)."""
    out = Text("ON  " if on else "OFF ", style="bold reverse" if on else "bold")
    out.append("force: override the failing gates (needs a reason)")
    return out


def request_reason(request: ActionRequest) -> str:
    return printable(request.reason)


class ActionDialog(ModalScreen):
    """Confirm one action; dismisses with `ActionChoice` or None (cancelled)."""

    AUTO_FOCUS = "#cancel"
    DEFAULT_CSS = """
    ActionDialog { align: center middle; }
    ActionDialog > #dialog {
        width: 100%; max-width: 96; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ActionDialog.-production > #dialog { border: thick $error; }
    ActionDialog #dialog-title { height: 1; text-style: bold; }
    ActionDialog #dialog-body { height: auto; }
    ActionDialog #plan, ActionDialog #gates, ActionDialog #blocked { height: auto; }
    ActionDialog #blocked { text-style: bold; }
    ActionDialog #strategy { width: 100%; height: auto; layout: horizontal; }
    ActionDialog #strategy-help { height: 1; color: $text-muted; }
    ActionDialog .label { height: 1; margin-top: 1; }
    ActionDialog Input { width: 100%; }
    ActionDialog #confirms { height: auto; margin-top: 1; }
    ActionDialog #typed-label { margin-top: 0; }
    ActionDialog #error { height: auto; text-style: bold; }
    ActionDialog #buttons { height: auto; align-horizontal: right; margin-top: 1; }
    ActionDialog #buttons Button { margin-left: 2; min-width: 10; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, request: ActionRequest, on_refused=None) -> None:
        super().__init__()
        self.request = request
        self.on_refused = on_refused  # (message, plan, reason): a confirmation refused, to be audited (once per kind)
        self._refusals_said: set[tuple[str, str]] = set()
        # production: the name field first (typing the name is the deliberate act); else Cancel first
        self.AUTO_FOCUS = "#typed" if request.typed else "#cancel"
        self.strategy = request.strategy if request.strategy in request.plans else next(iter(request.plans), "")
        self.error = ""

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        r = self.request
        with Vertical(id="dialog"):
            title = Text(f"{r.label} ", style="bold")
            title.append_text(safe(r.model, style="bold"))
            title.append(" in ")
            title.append_text(safe(r.environment, style="bold"))
            yield Static(title, id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Static(id="plan")
                if len(r.plans) > 1:
                    yield Static(Text("strategy", style="bold"), classes="label")
                    with RadioSet(id="strategy", compact=True):
                        for name in r.plans:
                            yield RadioButton(name, value=name == self.strategy, name=name, compact=True)
                    yield Static(id="strategy-help")
                yield Static(id="gates")
                yield Static(id="blocked")
                reason = "reason (required, recorded in the audit trail)" if r.reason_required \
                    else "reason (recorded in the audit trail)"
                yield Static(Text(reason, style="bold"), classes="label")
                yield Input(request_reason(r), placeholder="why", id="reason", compact=True)
                yield Checkbox(force_label(False), id="force", compact=True)
                if r.typed:  # the body scrolls to the focused name field: what it confirms is said beside it
                    yield Static(id="confirms")
                    label = Text("type the model name to confirm: ", style="bold")
                    label.append_text(safe(r.model, style="bold reverse"))
                    yield Static(label, classes="label", id="typed-label")
                    yield Input(placeholder="model name", id="typed", compact=True)
                yield Static(id="error")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Confirm", id="confirm", variant="error" if r.production else "primary", compact=True)

    def on_mount(self) -> None:
        self.set_class(self.request.production, "-production")
        self._fit()
        self._redraw()
        # the focused field into view once the plan and gates are drawn above it: focus scrolled to it before they
        # grew the body, and at 80x24 a production dialog's name field was out of sight, taking the keys typed
        self.call_after_refresh(self._show_focused)

    def _show_focused(self) -> None:
        if self.focused is not None:
            self.focused.scroll_visible(animate=False)

    def _show_error(self) -> None:
        self.query_one("#error", Static).scroll_visible(animate=False)

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """The body scrolls, the title and the buttons always show (CSS has no calc for max-height)."""
        chrome = 6  # border 2, title 1, buttons 1 + margin 1, one spare row
        self.query_one("#dialog-body").styles.max_height = max(3, self.app.size.height - chrome)

    def _redraw(self) -> None:
        r, s = self.request, self.strategy
        self.query_one("#plan", Static).update(plan_text(r, s))
        self.query_one("#gates", Static).update(gates_text(r, s))
        plan = r.plans.get(s)
        blocked = Text()
        if plan is not None and plan.blocked:
            blocked.append("BLOCKED ", style="bold reverse")
            blocked.append_text(Text(printable(plan.blocked)))
        self.query_one("#blocked", Static).update(blocked)
        self.query_one("#blocked", Static).display = bool(blocked.plain)
        if r.typed:
            self.query_one("#confirms", Static).update(confirms_text(r, s))
        if len(r.plans) > 1:  # the radio dot differs by colour only: say the choice in words
            help_line = Text("selected: ")
            help_line.append(s, style="bold")
            help_line.append(f" - {STRATEGY_HELP.get(s, '')}")
            self.query_one("#strategy-help", Static).update(help_line)
        failing = gates_failed(r, s)
        force = self.query_one("#force", Checkbox)
        force.display = failing
        if not failing:
            force.value = False
        self.query_one("#error", Static).update(Text(self.error))
        self.query_one("#error", Static).display = bool(self.error)

    # ------------------------------------------------------------------ events

    @on(RadioSet.Changed, "#strategy")
    def _strategy_changed(self, event: RadioSet.Changed) -> None:
        self.strategy = event.pressed.name or self.strategy
        self.error = ""
        self._redraw()

    @on(Checkbox.Changed, "#force")
    def _force_changed(self, event: Checkbox.Changed) -> None:
        event.checkbox.label = force_label(event.value)

    @on(Input.Submitted, "#typed")
    def _typed_submitted(self) -> None:
        """Enter submits only when the typed name matches; the dialog says what is missing otherwise."""
        if not name_confirmed(self.query_one("#typed", Input).value, self.request.model):
            self.error = f"type the model name exactly ({printable(self.request.model)}) to confirm; esc cancels"
            self._redraw()
            return
        self.confirm()

    @on(Input.Submitted, "#reason")
    def _reason_submitted(self) -> None:
        if self.request.typed:
            self._typed_submitted()
        else:
            self.focus_next()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        self.confirm()

    def action_cancel(self) -> None:
        self.dismiss(None)

    # ------------------------------------------------------------------ confirming

    def _audit_refusal(self) -> None:
        """A confirmation the plan or the gates refuse is a refusal, audited as the CLI audits it; a field left to
        fill (the name, a reason) is not. Once per strategy and kind: a second Enter adds no record."""
        r, s = self.request, self.strategy
        plan = r.plans.get(s)
        if self.on_refused is None:
            return
        if plan is not None and plan.blocked:
            kind, message = "blocked", plan.blocked
        elif gates_failed(r, s) and not self.query_one("#force", Checkbox).value:
            failed = "; ".join(f"{g.name} {g.detail}" for g in r.gates if not g.passed)
            kind, message = "gates", f"gates failed: {failed} (tick force with a reason to override)"
        else:
            return
        if (s, kind) not in self._refusals_said:
            self._refusals_said.add((s, kind))
            self.on_refused(message, plan, self.query_one("#reason", Input).value.strip())  # recorded, as --reason

    def problem(self) -> tuple[str, str] | None:
        """(what is wrong, id of the field to fix) or None when the action may go ahead."""
        r, s = self.request, self.strategy
        plan = r.plans.get(s)
        reason = self.query_one("#reason", Input).value.strip()
        force = self.query_one("#force", Checkbox).value
        if plan is not None and plan.blocked:
            return f"cannot run: {printable(plan.blocked)}", "cancel"
        if r.typed and not name_confirmed(self.query_one("#typed", Input).value, r.model):
            return f"type the model name exactly ({printable(r.model)}) to confirm", "typed"
        if gates_failed(r, s) and not force:
            # the focus goes to Cancel, not to the force box: a second Enter (the first seemed to do nothing)
            # ticked "override the failing gates"
            return "a gate failed: tick force and give a reason to override, or cancel", "cancel"
        if force and (not reason or reason == request_reason(r)):
            # the override's reason is the operator's own: the text the dialog offered (an open incident's name)
            # was recorded as the reason of a forced promotion nobody explained
            return "force needs your own reason (it is recorded in the audit trail)", "reason"
        if r.reason_required and not reason:
            return "a reason is required (recorded in the audit trail)", "reason"
        return None

    def confirm(self) -> None:
        problem = self.problem()
        if problem is not None:
            self.error, target = problem
            if self.error.startswith(("cannot run:", "a gate failed")):  # not a field left to fill
                self._audit_refusal()
            self._redraw()
            self.query_one(f"#{target}").focus()
            self.call_after_refresh(self._show_error)  # below the fold at 80x24: Enter seemed to do nothing
            return
        force = self.query_one("#force", Checkbox).value and gates_failed(self.request, self.strategy)
        self.dismiss(ActionChoice(strategy=self.strategy, plan=self.request.plans.get(self.strategy),
                                  reason=self.query_one("#reason", Input).value.strip(), force=force))
