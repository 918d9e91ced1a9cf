"""Headless monitoring: `check` (a cron or CI gate) and `drift` (the drift table), no Textual."""

from __future__ import annotations

import json
import sys

from console.config import Config

EXIT_OK, EXIT_FIRING, EXIT_ERROR = 0, 1, 2


def add_parsers(sub) -> None:
    p = sub.add_parser("check", help="evaluate the alert rules once (never writes): exit 0 when none fire, 1 when some do "
                                          "or a source is stale or nothing can be evaluated, 2 on a config it cannot evaluate")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--all", action="store_true", help="also list resolved incidents")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("auto-retrain", help="call the retrain hook for standing recommendations (auto_retrain)")
    p.set_defaults(func=cmd_auto_retrain)
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


def cmd_check(args, cfg: Config) -> int:
    """Exit 0: rules evaluated, none firing; 1: firing incidents, a stale source, or nothing to evaluate;
    2: a configuration it cannot evaluate. Reads only: never triggers a retrain (see `auto-retrain`)."""
    if not cfg.has_logs:
        print("mlops-console: check needs log sources in the configuration", file=sys.stderr)
        return EXIT_ERROR
    svc = _service(cfg)
    problems = svc.rule_problems()
    if problems:
        for p in problems:
            print(f"mlops-console: cannot evaluate: {p}", file=sys.stderr)
        return EXIT_ERROR
    findings = svc.findings(max_age_s=0)
    models = svc.models()
    shown = findings if args.all else [f for f in findings if f.firing]
    firing = [f for f in findings if f.firing]
    evaluated = [f for f in findings if f.status != "insufficient data"]
    nothing = not models or (not evaluated and not svc.has_rows())
    recs = [r.to_dict() for r in svc.recommendations]
    if args.format == "json":
        print(json.dumps({"firing": len(firing), "stale": sum(f.kind == "stale_minutes" for f in firing),
                          "nothing_to_evaluate": nothing, "models": models,
                          "incidents": [f.to_dict() for f in shown], "retrain_recommended": recs},
                         indent=2, default=str))
    else:
        for f in shown:
            state = {"firing": "FIRING  ", "resolved": "resolved", "insufficient data": "no data "}[f.status]
            where = f.feature or (f"{f.segment['column']}={f.segment['value']}" if f.segment else "")
            suspect = f.suspects[0].detail if f.suspects else "-"
            print(f"{state}  {f.severity:<8}  {f.model:<20}  {f.rule:<24}  since {f.onset:%Y-%m-%d %H:%M}Z"
                  f"  {where:<18}  {f.evidence or f.detail}  suspect: {suspect}")
        for r in svc.recommendations:
            print(f"RETRAIN   recommended {r.model:<20}  {r.reason}  (holding since {r.since:%Y-%m-%d %H:%M}Z)")
        print(f"{len(firing)} firing", file=sys.stderr)
    if nothing:
        print("mlops-console: nothing to evaluate: no predictions in the logs for the history window",
              file=sys.stderr)
        return EXIT_FIRING
    return EXIT_FIRING if firing else EXIT_OK


def cmd_auto_retrain(args, cfg: Config) -> int:
    """Calls the retrain hook for standing recommendations, when `[retrain] auto_retrain = true`."""
    if not cfg.auto_retrain:
        print("mlops-console: auto-retrain is off: set [retrain] auto_retrain = true", file=sys.stderr)
        return EXIT_ERROR
    svc = _service(cfg)
    results = svc.auto_retrain()
    for r in results:
        print(f"{r.status}: {r.message}")
    if not results:
        print("no standing retrain recommendation outside its cool-down", file=sys.stderr)
    return EXIT_OK if all(r.ok for r in results) else EXIT_FIRING


def cmd_drift(args, cfg: Config) -> int:
    svc = _service(cfg)
    if args.model not in svc.models():
        print(f"mlops-console: no model named {args.model!r} in the logs or configuration", file=sys.stderr)
        return EXIT_ERROR
    try:
        report = svc.drift(args.model, args.window)
    except ValueError as exc:
        print(f"mlops-console: {exc}", file=sys.stderr)
        return EXIT_ERROR
    data = report.to_dict()
    if args.format == "json":
        print(json.dumps(data, indent=2, default=str))
        return EXIT_OK
    if report.dataset is None:
        print(f"{args.model}: {report.note}")
        return EXIT_OK
    d = data["dataset"]
    print(f"{args.model}  window {args.window}  dataset drift: {'YES' if d['drifted'] else 'no'}  "
          f"({d['n_drifted']}/{d['n_evaluated']} features, share {d['share']:.2f} vs threshold {d['threshold']:.2f})")
    print(f"{'FEATURE':<22}{'KIND':<13}{'TEST':<15}{'SCORE':>10}  {'DRIFT WHEN':<16}{'VERDICT':<9}{'N':>8}")
    targets = [dict(c, column=f"({name}) {c['column']}") for name in ("prediction", "label")
               if (c := data.get(name)) is not None]
    for c in data["features"] + targets:
        score = "-" if c["score"] is None else f"{c['score']:.4g}"
        verdict = "DRIFT" if c["drifted"] else c["status"]
        print(f"{c['column'][:21]:<22}{c['kind']:<13}{c['test']:<15}{score:>10}  {c['direction']:<16}{verdict:<9}{c['n_cur']:>8}")
    if targets:
        print("(prediction) and (label) rows compare the window with the first two days of the history.")
    return EXIT_OK
