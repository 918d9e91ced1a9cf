"""The action subcommands: promote, rollback, canary, shadow, retrain, audit.

`cli.py` calls `add_parsers(subparsers)`; each subcommand's handler is `handler(args, cfg) -> int`.
Exit codes come from `console.exit_codes` (one table for every command). stdout carries data;
diagnostics go to stderr; text output passes through `console.safe_text.printable` (model names,
messages and audit records come from the registry and logs), JSON output is escaped by `json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, Callable

from console import exit_codes
from console.actions.plan import STRATEGIES  # for --strategy's choices (the plan module is small)
from console.config import Config, ConfigError, reveal
from console.redact import redact_text
from console.safe_text import printable, printable_lines

if TYPE_CHECKING:  # the operator, the audit trail and the registry are imported by the commands that act: every
    # command builds this parser, and a read (`check`, `health`) would otherwise pay 30 ms for them
    from console.actions.operator import ActionResult, Plan
    from console.actions.plan import Prepared

DONE, REFUSED, USAGE, CONFLICT, REMOTE = (exit_codes.OK, exit_codes.REFUSED, exit_codes.USAGE, exit_codes.CONFLICT,
                                          exit_codes.REMOTE)
EXIT = exit_codes.BY_STATUS


def _err(message: str) -> None:
    print(printable_lines(redact_text(message)), file=sys.stderr, flush=True)


def _out(message: str) -> None:
    print(printable_lines(message), flush=True)


def _json_out(args: argparse.Namespace) -> bool:
    return getattr(args, "format", None) == "json"


def make_service(cfg: Config):
    """The service the CLI acts through (its one plan-and-gate path, the TUI's too); tests and `cli.py` may
    replace this for a custom registry."""
    from console.service import Service

    return Service(cfg)


class _Stop(Exception):
    """An action stopped before it ran (a usage error, or not confirmed): said by `_guarded` as every other error is,
    with the result object under `--format json` (a script read an empty stdout)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def _positive(text: str) -> int:
    """`audit --limit`: 0 printed every record and -1 all but the first (a slice)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a number of records, 1 or more, got {n}")
    return n


def _guarded(handler: Callable[[argparse.Namespace, Config], int]) -> Callable[[argparse.Namespace, Config], int]:
    """No traceback reaches the operator: known errors become one line and an exit code."""
    def run(args: argparse.Namespace, cfg: Config) -> int:
        from console.actions import audit as audit_mod
        from console.sources.registry import (RegistryError, RegistryNotConfigured, RegistryNotFound,
                                              RegistryUnavailable)

        def said(code: int, status: str, exc: BaseException | str) -> int:
            """One line on stderr; with --format json also the result object every other outcome prints (a
            script read an empty stdout when the registry was down)."""
            _err(f"{'refused' if status == 'refused' else 'error'}: {exc}")
            if _json_out(args):
                print(json.dumps({"ok": False, "status": status, "message": redact_text(str(exc)),
                                  "exit_code": code}, indent=2))
            return code

        try:
            return handler(args, cfg)
        except _Stop as exc:
            return said(exc.code, "refused" if exc.code == REFUSED else "usage", exc)
        except ConfigError as exc:
            return said(USAGE, "usage", exc)
        except (RegistryNotFound, RegistryNotConfigured) as exc:  # none configured was exit 4, "a remote failed"
            return said(USAGE, "usage", exc)
        except RegistryUnavailable as exc:
            return said(REMOTE, "failed", exc)
        except RegistryError as exc:  # it answered, but no (an invalid name, no permission): the request's fault,
            return said(USAGE, "usage", exc)  # not a failing system (`promote a/b` said exit 4, CLI probe finding 8)
        except audit_mod.AuditTampered as exc:
            return said(REFUSED, "refused", exc)
        except audit_mod.AuditError as exc:
            return said(REMOTE, "failed", exc)
        except KeyboardInterrupt:
            return said(exit_codes.INTERRUPTED, "interrupted", "interrupted")
    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def _confirm(action: str, cfg: Config, args: argparse.Namespace, plan: Plan | None, model: str,
             notes: tuple[str, ...] = (), warnings: tuple[str, ...] = ()) -> int | None:
    """None to go ahead, else the exit code. Dangerous actions need --yes without a terminal. The plan's
    warnings (a suspect target version) are printed before the question, as the TUI's dialog shows them."""
    from console.actions import policy
    from console.actions.catalog import get as get_spec

    spec = get_spec(action)
    if plan is not None:
        _err(f"plan: {plan.summary}")
    for warning in warnings:
        _err(warning)
    for note in notes:
        _err(f"note: {note}")
    if args.yes:
        return None
    if not sys.stdin.isatty():  # every action is confirmed, as the TUI's dialog confirms it (a retrain too)
        raise _Stop(USAGE, f"{action} is a dangerous action: pass --yes to run it without a terminal"
                    if spec.dangerous else f"{action} asks for confirmation: pass --yes to run it without a terminal")
    if policy.needs_typed_confirmation(spec, cfg, args.env):
        sys.stderr.write(f"{action} in {printable(args.env)}: type the model name ({printable(model)}) to confirm: ")
        sys.stderr.flush()
        ok = policy.name_confirmed(sys.stdin.readline(), model)  # the name, or as the prompt shows it
    else:
        sys.stderr.write(f"{action} in {printable(args.env)}? [y/N] ")
        sys.stderr.flush()
        ok = sys.stdin.readline().strip().lower() in ("y", "yes")
    if not ok:
        raise _Stop(REFUSED, "not confirmed: nothing changed")
    return None


def _report(args: argparse.Namespace, result: ActionResult) -> int:
    code = USAGE if result.details.get("config_error") or result.details.get("usage_error") else \
        exit_codes.for_status(result.status)
    if _json_out(args):
        out = result.to_dict()
        out["plan_warnings"] = list(getattr(args, "plan_warnings", ()))  # what stderr said before confirming
        out["exit_code"] = code  # as every other result object says it (an early stop, a fault)
        print(json.dumps(out, default=str, indent=2))
    # a result's message and warnings are one line each: they quote the registry (who moved an alias, from its
    # `console.last_move` tag), and a line break kept there printed a line of the tag's own after the console's
    elif result.ok:
        _out(printable(result.message))
    if not result.ok:
        _err(f"{result.status}: {printable(result.message)}")
        if result.status == "conflict" and "confirmed" in result.details and "now" in result.details:
            from console.actions.audit import sides_text

            _err(printable(sides_text(result.details)))
    for warning in result.details.get("warnings", []):
        _err(f"warning: {printable(warning)}")
    return code


def _preflight(svc, cfg: Config, args: argparse.Namespace, action: str, model: str,
               **plan_args: Any) -> tuple[Prepared | None, int | None]:
    """Plan through the service (the TUI's path too) and refuse early: environment, policy and hook config
    (audited), applicability, a conflict or blocked plan (audited), failed gates unless --force; then the plan's
    warnings and confirm.
    The operator re-checks all of it under the lock. Sets `args.expected_from` to what the plan saw when
    the operator gave no --from, so one who loses a race to the same change hears a conflict (exit 3).
    Returns (planned, exit code or None to go ahead)."""
    at, since = getattr(args, "at", None), getattr(args, "since", None)
    if since is not None and at is None:  # the start of a live view's incident history: nothing an action reads
        raise _Stop(USAGE, f"--since cannot be given to {action}: an action is planned and gated on the registry and "
                           "the traffic now")
    svc.state_reason(getattr(args, "reason", None))
    if at is not None:  # a view of the past, as the TUI's: the service refuses it below and audits the refusal
        try:  # (this refused it as a usage error and recorded nothing, where the TUI recorded it: two definitions)
            svc.view(at=at, since=since)
        except ValueError as exc:  # a time that cannot be read: a usage error, said as every command says it
            raise _Stop(USAGE, str(exc)) from None
        except OverflowError as exc:
            raise _Stop(USAGE, f"a time option is out of range ({exc})") from None
    planned = svc.plan_action(model, args.env, action, **plan_args)
    args.plan_warnings = planned.warnings
    if planned.stopped is not None:  # every refusal of planning (policy, does not apply) audited below both doors
        return planned, _report(args, planned.stopped)
    plan = planned.plan
    wanted = getattr(args, "expected_from", None)
    if plan is not None and wanted not in (None, "none"):
        from console.actions.catalog import version_text

        known = {version_text(v.version) for v in svc.versions(model)}
        if version_text(wanted) not in known:  # no such version: a typo, not a race lost ("moved by root", exit 3)
            raise _Stop(USAGE, f"--from {wanted}: {model} has no version {wanted}")
    if plan is not None:
        stopped = svc.stop_action(planned, getattr(args, "expected_from", None))
        if stopped is not None:
            return planned, _report(args, stopped)
        if getattr(args, "expected_from", None) is None:
            args.expected_from = plan.from_version or "none"
    for gate in planned.gates:
        _err(f"gate {'PASS' if gate.passed else 'FAIL'} {gate.name}: {gate.detail}")
    if planned.failed_gates and not getattr(args, "force", False):
        return planned, _report(args, svc.refuse_action(action, model, args.env, planned.gate_refusal(),
                                                        tuple(planned.gates), plan))
    if planned.needs_reason and not (getattr(args, "reason", "") or "").strip():
        raise _Stop(USAGE, f"{action} in {args.env} needs --reason TEXT (the audit trail records why)")
    return planned, _confirm(action, cfg, args, plan, model, planned.notes, planned.warnings)


@_guarded
def cmd_promote(args: argparse.Namespace, cfg: Config) -> int:
    """Promote a version: direct, canary start, blue/green switch or shadow start."""
    if args.force and not args.reason.strip():
        raise _Stop(USAGE, "--force needs --reason")
    if args.percent is not None and args.strategy != "canary":
        raise _Stop(USAGE, "--percent only applies to --strategy canary")
    svc = make_service(cfg)
    planned, code = _preflight(svc, cfg, args, "promote", args.model, version=args.version,
                               strategy=args.strategy, percent=args.percent)
    if code is not None:
        return code
    return _report(args, svc.run_action(planned, strategy=args.strategy, percent=args.percent,
                                        expected_from=args.expected_from, reason=args.reason, force=args.force))


@_guarded
def cmd_rollback(args: argparse.Namespace, cfg: Config) -> int:
    """Return the champion to the previous version (or --to VERSION)."""
    svc = make_service(cfg)
    planned, code = _preflight(svc, cfg, args, "rollback", args.model, to=args.to)
    if code is not None:
        return code
    return _report(args, svc.run_action(planned, to=args.to, expected_from=args.expected_from, reason=args.reason))


@_guarded
def cmd_canary(args: argparse.Namespace, cfg: Config) -> int:
    """Step, promote (full) or abort the running canary."""
    action = f"canary-{args.step}"
    if getattr(args, "force", False) and not args.reason.strip():
        raise _Stop(USAGE, "--force needs --reason")
    svc = make_service(cfg)
    planned, code = _preflight(svc, cfg, args, action, args.model)
    if code is not None:
        return code
    return _report(args, svc.run_action(planned, expected_from=args.expected_from, reason=args.reason,
                                        force=getattr(args, "force", False)))


@_guarded
def cmd_shadow(args: argparse.Namespace, cfg: Config) -> int:
    """Stop mirroring traffic to the shadow version (start one with `promote --strategy shadow`)."""
    svc = make_service(cfg)
    planned, code = _preflight(svc, cfg, args, "shadow-stop", args.model)
    if code is not None:
        return code
    return _report(args, svc.run_action(planned, expected_from=args.expected_from, reason=args.reason))


@_guarded
def cmd_retrain(args: argparse.Namespace, cfg: Config) -> int:
    """Trigger the retrain hook for a model."""
    evidence = {}
    if args.evidence:
        def strict(token: str):  # NaN and Infinity are not JSON: the hook and `audit --format json` refused them
            raise ValueError(token)

        try:
            evidence = json.loads(args.evidence, parse_constant=strict)
        except ValueError:
            evidence = None
        if not isinstance(evidence, dict):  # a list or a string crashed the action (AttributeError, exit 4)
            raise _Stop(USAGE, "--evidence must be a JSON object, such as '{\"drift_share\": 0.4}'")
    svc = make_service(cfg)
    planned, code = _preflight(svc, cfg, args, "retrain", args.model)
    if code is not None:
        return code
    return _report(args, svc.run_action(planned, reason=args.reason, evidence=evidence))


def _audit_line(rec: dict[str, Any]) -> str:
    from console.actions.audit import change_text

    status = rec.get("outcome") or ""  # an intent has none yet: its phase says it once ("intent ... intent")
    text = rec.get("message") or rec.get("reason") or ""
    return "  ".join(str(x) for x in (rec.get("ts", ""), rec.get("actor", ""), rec.get("phase", ""),
                                       rec.get("action", ""), rec.get("model", ""), rec.get("environment", ""),
                                       change_text(rec), status, text) if x != "")


@_guarded
def cmd_audit(args: argparse.Namespace, cfg: Config) -> int:
    """Show the audit trail, verify its hash chain, or list interrupted actions."""
    from console.actions import audit as audit_mod

    path = audit_mod.default_path(cfg)
    if args.what == "verify":
        result = audit_mod.verify(path)
        pending = audit_mod.incomplete(path) if result.ok else []
        if _json_out(args):
            print(json.dumps({"ok": result.ok, "count": result.count, "first_bad_line": result.first_bad_line,
                              "message": result.message, "path": str(path), "incomplete": len(pending)}))
        else:
            _out(f"{'ok' if result.ok else 'FAILED'}: {path}: {result.message}")
        for rec in pending:
            _err(f"warning: interrupted action {rec.get('action_id')}: {_audit_line(rec)}")
        return DONE if result.ok else REFUSED
    records = audit_mod.incomplete(path) if args.what == "incomplete" else audit_mod.read(path, args.model, args.limit)
    if args.what == "incomplete" and args.model:
        records = [r for r in records if r.get("model") == args.model]
    if _json_out(args):
        print(json.dumps(records, default=str, indent=2))
    else:
        for rec in records:
            _out(printable(_audit_line(rec)))
        if not records:
            _err(f"no audit records in {path}" if args.what != "incomplete" else "no interrupted actions")
    return DONE


def _common(p: argparse.ArgumentParser, confirm: bool = True) -> None:
    p.add_argument("--env", default="production",
                   help="environment, exactly as configured under [environments] (default: production)")
    if confirm:
        p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--format", dest="format", choices=("text", "json"), default=argparse.SUPPRESS,
                   help="output format")


def add_parsers(subparsers: Any) -> None:
    """Register promote, rollback, canary, retrain and audit on the lead's argparse subparsers."""
    p = subparsers.add_parser("promote", help="promote a model version",
                              description="Promote a version: direct, canary start, blue/green switch or shadow.")
    p.add_argument("model")
    p.add_argument("version")
    _common(p)
    p.add_argument("--strategy", choices=STRATEGIES, default="direct")
    p.add_argument("--percent", type=int, help="first canary traffic step (default: first of rollout.canary_steps)")
    p.add_argument("--from", dest="expected_from", metavar="VERSION",
                   help="the champion you expect to replace; a different one is a conflict (exit 3)")
    p.add_argument("--reason", required=True)
    p.add_argument("--force", action="store_true", help="promote although gates fail (needs --reason)")
    p.set_defaults(func=cmd_promote)

    p = subparsers.add_parser("rollback", help="return the champion to the previous version")
    p.add_argument("model")
    _common(p)
    p.add_argument("--to", metavar="VERSION")
    p.add_argument("--from", dest="expected_from", metavar="VERSION")
    p.add_argument("--reason", default="")
    p.set_defaults(func=cmd_rollback)

    p = subparsers.add_parser("canary", help="step, promote or abort a canary")
    p.add_argument("model")
    p.add_argument("step", choices=("step", "promote", "abort"))
    _common(p)
    p.add_argument("--from", dest="expected_from", metavar="VERSION", help="the canary version you expect")
    p.add_argument("--reason", default="")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_canary)

    p = subparsers.add_parser("shadow", help="stop a shadow deployment")
    p.add_argument("model")
    p.add_argument("step", choices=("stop",))
    _common(p)
    p.add_argument("--from", dest="expected_from", metavar="VERSION", help="the shadow version you expect")
    p.add_argument("--reason", default="")
    p.set_defaults(func=cmd_shadow)

    p = subparsers.add_parser("retrain", help="trigger the retrain hook")
    p.add_argument("model")
    _common(p)
    p.add_argument("--reason", required=True)
    p.add_argument("--evidence", help="JSON object sent with the request")
    p.set_defaults(func=cmd_retrain)

    p = subparsers.add_parser("audit", help="show or verify the audit trail")
    p.add_argument("what", nargs="?", choices=("verify", "incomplete"), help="verify the chain / list interrupted")
    p.add_argument("--format", dest="format", choices=("text", "json"), default=argparse.SUPPRESS)
    p.add_argument("--model")
    p.add_argument("--limit", type=_positive, help="the last N records (N >= 1)")
    p.set_defaults(func=cmd_audit)
