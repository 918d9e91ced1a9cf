"""Headless monitoring: `check` (a cron or CI gate) and `drift` (the drift table), no Textual.

Text output passes through `console.safe_text.printable` (model, feature and segment names come from
the logs); `check` exits 2 on any error, so a gate never reads a crash as "alerts firing".
"""

from __future__ import annotations

import json
import sys

from console import exit_codes
from console.config import Config, ConfigError
from console.redact import redact_text
from console.safe_text import printable

EXIT_OK, EXIT_FIRING, EXIT_ERROR = exit_codes.OK, exit_codes.REFUSED, exit_codes.USAGE


def _print(line: str) -> None:
    print(printable(line))


def add_parsers(sub) -> None:
    p = sub.add_parser("check", help="evaluate the alert rules once: exit 0 when none fire, 1 when some do")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--all", action="store_true", help="also list resolved incidents")
    p.set_defaults(func=_errors_exit_2(cmd_check))
    p = sub.add_parser("drift", help="print a model's drift table")
    p.add_argument("model")
    p.add_argument("--window", default="24h", help="current window: 1h, 6h, 24h or 7d (default 24h)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_drift)


def _service(cfg: Config):
    from console.service import Service

    svc = Service(cfg)
    svc.refresh()
    return svc


def _errors_exit_2(handler):
    def run(args, cfg: Config) -> int:
        try:
            return handler(args, cfg)
        except (KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as exc:  # noqa: BLE001 - `check` is a gate: an error is exit 2, never 1 or 4
            if isinstance(exc, ConfigError):
                message = str(exc)
            else:
                message = f"{type(exc).__name__}: {exc}"
            print(printable(redact_text(f"mlops-console: check could not evaluate: {message}")), file=sys.stderr)
            return EXIT_ERROR
    run.__name__, run.__doc__ = handler.__name__, handler.__doc__
    return run


def cmd_check(args, cfg: Config) -> int:
    if not cfg.has_logs:
        print("mlops-console: check needs log sources in the configuration", file=sys.stderr)
        return EXIT_ERROR
    svc = _service(cfg)
    findings = svc.findings(max_age_s=0)
    shown = findings if args.all else [f for f in findings if f.firing]
    firing = [f for f in findings if f.firing]
    recs = [r.to_dict() for r in svc.recommendations]
    if args.format == "json":
        print(json.dumps({"firing": len(firing), "incidents": [f.to_dict() for f in shown],
                          "retrain_recommended": recs}, indent=2, default=str))
    else:
        for f in shown:
            state = "FIRING " if f.firing else "resolved"
            where = f.feature or (f"{f.segment['column']}={f.segment['value']}" if f.segment else "")
            suspect = f.suspects[0].detail if f.suspects else "-"
            _print(f"{state}  {f.severity:<8}  {f.model:<20}  {f.rule:<24}  since {f.onset:%Y-%m-%d %H:%M}Z"
                   f"  {where:<18}  suspect: {suspect}")
        for r in svc.recommendations:
            _print(f"RETRAIN   recommended {r.model:<20}  {r.reason}  (holding since {r.since:%Y-%m-%d %H:%M}Z)")
        print(f"{len(firing)} firing", file=sys.stderr)
    return EXIT_FIRING if firing else EXIT_OK


def cmd_drift(args, cfg: Config) -> int:
    svc = _service(cfg)
    if args.model not in svc.monitor.models():
        print(f"mlops-console: no model named {printable(args.model)!r} in the logs or configuration", file=sys.stderr)
        return EXIT_ERROR
    try:
        report = svc.drift(args.model, args.window)
    except ValueError as exc:
        print(printable(f"mlops-console: {exc}"), file=sys.stderr)
        return EXIT_ERROR
    data = report.to_dict()
    if args.format == "json":
        print(json.dumps(data, indent=2, default=str))
        return EXIT_OK
    if report.dataset is None:
        _print(f"{args.model}: {report.note}")
        return EXIT_OK
    d = data["dataset"]
    _print(f"{args.model}  window {args.window}  dataset drift: {'YES' if d['drifted'] else 'no'}  "
           f"({d['n_drifted']}/{d['n_evaluated']} features, share {d['share']:.2f} vs threshold {d['threshold']:.2f})")
    print(f"{'FEATURE':<22}{'KIND':<13}{'TEST':<15}{'SCORE':>10}  {'DRIFT WHEN':<16}{'VERDICT':<9}{'N':>8}")
    targets = [dict(c, column=f"({name}) {c['column']}") for name in ("prediction", "label")
               if (c := data.get(name)) is not None]
    for c in data["features"] + targets:
        score = "-" if c["score"] is None else f"{c['score']:.4g}"
        verdict = "DRIFT" if c["drifted"] else c["status"]
        _print(f"{printable(c['column'])[:21]:<22}{c['kind']:<13}{c['test']:<15}{score:>10}  {c['direction']:<16}{verdict:<9}{c['n_cur']:>8}")
    if targets:
        print("(prediction) and (label) rows compare the window with the first two days of the history.")
    return EXIT_OK
