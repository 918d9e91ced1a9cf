"""Headless monitoring: `check` (a cron or CI gate), `ack` (acknowledge an incident) and `drift` (the drift
table), no Textual.

Text output passes through `console.safe_text.printable` (model, feature and segment names come from
the logs); `check` exits 2 on any error, so a gate never reads a crash as "alerts firing".
"""

from __future__ import annotations

import json
import sys

from console import exit_codes
from console.cli import TimeOptionError, add_window_options
from console.config import Config, ConfigError
from console.redact import redact_text
from console.safe_text import cells, pad, printable, printable_lines

EXIT_OK, EXIT_FIRING, EXIT_ERROR = exit_codes.OK, exit_codes.REFUSED, exit_codes.USAGE


def _print(line: str) -> None:
    print(printable(line))


def _cell(text: str, width: int) -> str:
    """`text` escaped and padded to `width` terminal cells (`safe_text.pad`)."""
    from console.safe_text import pad

    return pad(printable(text), width)


def add_parsers(sub) -> None:
    p = sub.add_parser("check", help="evaluate the alert rules once (never writes): exit 0 when none fire, 1 when some do "
                                          "or a source is stale or nothing can be evaluated, 2 on a config it cannot evaluate or "
                                          "rows it cannot read",
                       description="Evaluate the alert rules once over the incident history. A window given "
                                   "(--window 2026-11, --window 30d, --from/--to) is the history: check lists the "
                                   "incidents of that window (a duration shorter than 7 days keeps the 7 days "
                                   "before its end); --since sets the start outright.")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--all", action="store_true", help="also list resolved incidents")
    add_window_options(p)
    p.set_defaults(func=_errors_exit_2(cmd_check))
    p = sub.add_parser("ack", help="acknowledge a firing incident (audited with your name and the reason): "
                                   "`check` then reports it as acknowledged and no longer exits 1 on it")
    p.add_argument("incident", help="the incident id, as `check --format json` and the Incidents screen show it")
    p.add_argument("--reason", required=True, help="why it is accepted (recorded in the audit trail)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_window_options(p)
    p.set_defaults(func=cmd_ack)
    p = sub.add_parser("auto-retrain", help="call the retrain hook for standing recommendations (auto_retrain)")
    add_window_options(p)
    p.set_defaults(func=cmd_auto_retrain)
    p = sub.add_parser("drift", help="print a model's drift table (windows over 24h: from the hourly rollups, each "
                                     "score with its error bound; --exact re-reads the raw rows)")
    p.add_argument("model")
    add_window_options(p)
    p.add_argument("--exact", action="store_true",
                   help="re-run the exact tests over the raw rows of the window instead of the rollups' sketches")
    p.add_argument("--trend", action="store_true",
                   help="also each feature's score per bucket over the history (the Drift screen's TREND and chart)")
    p.add_argument("--environment", default="production")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_drift)
    add_report_parsers(sub)


def _service(args, cfg: Config):
    from console.cli import open_service

    return open_service(args, cfg)


def _errors_exit_2(handler):
    def run(args, cfg: Config) -> int:
        try:
            return handler(args, cfg)
        except (KeyboardInterrupt, BrokenPipeError, TimeOptionError):
            raise  # a bad --at/--window is a usage error, said as every command says it (`cli.main`): exit 2 too
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
    """Exit 0: rules evaluated, none firing; 1: firing incidents, a stale source, or nothing to evaluate;
    2: a configuration it cannot evaluate. Reads only: never triggers a retrain (see `auto-retrain`)."""
    from console.analytics.windows import window_fields

    if not cfg.has_logs:
        print("mlops-console: check needs log sources in the configuration", file=sys.stderr)
        return EXIT_ERROR
    svc = _service(args, cfg)
    problems = svc.rule_problems()
    if problems:
        for p in problems:
            print(printable(f"mlops-console: cannot evaluate: {p}"), file=sys.stderr)
        return EXIT_ERROR
    findings = svc.findings(max_age_s=0, overview=False)
    models = svc.models()
    shown = findings if args.all else [f for f in findings if f.firing]
    firing = [f for f in findings if f.firing]
    acked = [f for f in firing if not f.needs_attention]
    evaluated = [f for f in findings if f.status != "insufficient data"]
    nothing = not models or (not evaluated and not svc.has_rows())
    future = svc.empty_future()  # a view ending after now with no row in its history: nothing to evaluate either
    nothing = nothing or future is not None
    # a model whose rules raised (its rows could not be read: an S3 source down) is not "0 firing": exit 2
    failed = [f for f in findings if f.kind == "error"]
    # a model with rows in a source that cannot be read now (an S3 server down) is not "0 firing" either
    unread, down = svc.unreadable()
    # a model whose quality rule has no expected level because the registry did not answer: not "0 firing" either
    unread.update({m: why for m, why in svc.quality_unknown(findings).items() if m not in unread})
    recs = [r.to_dict() for r in svc.recommendations]
    silent = [m for m in svc.never_logged() if m not in unread]  # configured, no row ever: not "0 firing"
    # the history the exit code is about, said as every read command says its window (probe A4: check said none)
    at = svc.clock()
    history = window_fields(at, at - svc.history_start(at))
    if args.format == "json":
        print(dumps({"at": at.isoformat() + "Z", "history": history, "live": svc.live,
                     "firing": len(firing), "acknowledged": len(acked),
                     "stale": sum(f.kind == "stale_minutes" and f.needs_attention for f in firing),
                     "nothing_to_evaluate": nothing, "could_not_evaluate": sorted({f.model for f in failed} | set(unread)),
                     "never_logged": silent,
                     "models": models,
                     "incidents": [f.to_dict() for f in shown], "retrain_recommended": recs}))
    else:
        for f in shown:
            state = {"firing": "FIRING  ", "resolved": "resolved", "insufficient data": "no data "}[f.status]
            state = "ACKED   " if f.firing and f.ack is not None else state
            where = f.feature or (f"{f.segment['column']}={f.segment['value']}" if f.segment else "")
            suspect = f.suspects[0].detail if f.suspects else "-"
            ack_note = f"  acknowledged by {f.ack.by}: {f.ack.reason}" if f.ack is not None else ""
            # padded by terminal cells, after escaping: a CJK or emoji name shifted the later columns
            _print(f"{state}  {f.severity:<8}  {_cell(f.model, 20)}  {_cell(f.rule, 24)}  since {f.began()}Z"
                   f"  {_cell(where, 18)}  {f.evidence or f.detail}  suspect: {suspect}{ack_note}  id: {f.id}")
        for r in svc.recommendations:
            _print(f"RETRAIN   recommended {_cell(r.model, 20)}  {r.reason}  (holding since {r.since:%Y-%m-%d %H:%M}Z)")
        for model in silent:  # on stdout with the incidents: it is why `check` exits 1
            _print(f"NO ROWS   {'warning':<8}  {_cell(model, 20)}  configured, but the logs hold no rows for it")
        unknown = len({f.model for f in failed} | set(unread))
        print(f"history {history['window']} ({history['from']} to {history['to']})", file=sys.stderr)
        print(f"{len(firing)} firing" + (f" ({len(acked)} acknowledged)" if acked else "")
              + (f"; {unknown} model(s) could not be evaluated" if unknown else
                 "; a source could not be read" if down else ""), file=sys.stderr)
    if note := svc.rollup_note():
        print(printable(redact_text(f"mlops-console: note: {note}")), file=sys.stderr)
    for f in failed:
        print(printable(redact_text(f"mlops-console: check could not evaluate {f.model}: {f.detail}")), file=sys.stderr)
    for model, why in sorted(unread.items()):
        if model not in {f.model for f in failed}:
            print(printable(redact_text(f"mlops-console: check could not evaluate {model}: {why}")), file=sys.stderr)
    for note in down:  # each source down, also one no model line named (two down: both said)
        if note not in unread.values():
            print(printable(redact_text(f"mlops-console: check could not evaluate: {note}")), file=sys.stderr)
    if failed or down or unread:
        return EXIT_ERROR
    for model in silent:
        print(printable(f"mlops-console: check: {model} is configured but the logs hold no rows for it"),
              file=sys.stderr)
    if nothing:
        newest = future or svc.latest_ts()  # where the rows are, as every read command names it (probe H)
        print("mlops-console: nothing to evaluate: no predictions in the logs for the history window"
              + (f" (it ends after now; the newest row is at {future:%Y-%m-%d %H:%M}Z)" if future else
                 f" (the newest row is at {newest:%Y-%m-%d %H:%M}Z)" if newest is not None else ""),
              file=sys.stderr)
        return EXIT_FIRING
    return EXIT_FIRING if len(firing) > len(acked) or silent else EXIT_OK


def cmd_ack(args, cfg: Config) -> int:
    """Exit 0: acknowledged (recorded); 2: no firing incident has that id, or a blank --reason (a usage error,
    as a missing reason on an action is); otherwise the action's status."""
    svc = _service(args, cfg)
    result = svc.acknowledge(args.incident, args.reason)
    if args.format == "json":
        print(dumps(result.to_dict()))
    else:
        print(printable(result.message), file=sys.stdout if result.ok else sys.stderr)
    if result.details.get("unknown_incident") or result.details.get("usage"):
        return EXIT_ERROR
    return exit_codes.for_status(result.status)


def cmd_auto_retrain(args, cfg: Config) -> int:
    """Calls the retrain hook for standing recommendations, when `[retrain] auto_retrain = true`."""
    if not cfg.auto_retrain:
        print("mlops-console: auto-retrain is off: set [retrain] auto_retrain = true", file=sys.stderr)
        return EXIT_ERROR
    svc = _service(args, cfg)
    results = svc.auto_retrain(past=True)  # the command's own --at is the operator's explicit choice
    for r in results:
        _print(f"{r.status}: {r.message}")
    if not results:
        print("no standing retrain recommendation outside its cool-down", file=sys.stderr)
    # the table's code of each result, as `retrain MODEL` gives it (a hook's 500: 4; timed out after sending: 5)
    return max((exit_codes.for_status(r.status) for r in results if not r.ok), default=EXIT_OK)


def _no_such_model(svc, model: str) -> int:
    """A model the store does not know: a typo, or, while a source cannot be read, one whose rows are all there."""
    _, down = svc.unreadable()
    where = f"; a source could not be read, which may hold its rows: {down[0]}" if down else ""
    print(printable(redact_text(f"mlops-console: no model named {model!r} in the logs or configuration{where}")),
          file=sys.stderr)
    return EXIT_ERROR


def cmd_drift(args, cfg: Config) -> int:
    svc = _service(args, cfg)
    if args.model not in svc.models():
        return _no_such_model(svc, args.model)
    if (code := _unknown_environment(svc, args)) is not None:
        return code
    try:
        data = svc.drift_table(args.model, svc.window_span, exact=True if args.exact else None, trend=args.trend,
                               environment=args.environment)
    except ValueError as exc:
        print(printable(f"mlops-console: {exc}"), file=sys.stderr)
        return EXIT_ERROR
    from console.analytics.windows import window_fields, window_text

    data = {**data, **window_fields(svc.clock(), svc.window_span)}  # its window, with its two ends (a copy: kept answers stay as made)
    note = data.get("note")
    empty = svc.empty_window_note(args.model, args.environment)  # the words health/quality/fairness/cost use
    if empty and not note:
        data["note"] = empty
    down = _sources_down(svc, args.model, data)
    d = data["dataset"]
    # no verdict (an empty or too thin window, no reference): exit 2, "could not evaluate", as the exit table says
    code = EXIT_OK if d is not None and d["n_evaluated"] and d["status"] != "few rows" else EXIT_ERROR
    if args.format == "json":
        print(dumps(data))
        return code
    if empty:
        _print(f"{args.model}: {empty}")
    if down:
        print(printable(f"{args.model}: partial: {down}"), file=sys.stderr)
    if d is None:
        _print(f"{args.model}: {note}")
        return code
    _print(f"{args.model}  {window_text(svc.clock(), svc.window_span)}  dataset drift: {_dataset_verdict(d)}  "
           f"({d['n_drifted']}/{d['n_evaluated']} features, share {d['share']:.2f} vs threshold {d['threshold']:.2f})")
    if d.get("status") == "few rows" and note:
        _print(f"{args.model}: {note}")
    sketched = any(c.get("method") == "sketch" for c in data["features"])
    bound_head = f"{'BOUND':<12}" if sketched else ""
    targets = [dict(c, column=f"({name}) {c['column']}") for name in ("prediction", "label")
               if (c := data.get(name)) is not None]
    rows = data["features"] + targets
    # the names whole, in cells (`transaction_amount_usd_raw` and `..._log` were both cut to 21 characters, an
    # escaped name mid-escape, and a wide character shifted the later columns)
    names = [printable(c["column"]) for c in rows]
    width = max([cells("FEATURE"), *map(cells, names)]) + 1
    print(f"{pad('FEATURE', width)}{'KIND':<13}{'TEST':<15}{'SCORE':>10}  {bound_head}{'DRIFT WHEN':<16}{'VERDICT':<11}"
          f"{'N':>8}")
    for c, name in zip(rows, names):
        score = "-" if c["score"] is None else f"{c['score']:.4g}"
        verdict = "DRIFT" if c["drifted"] else c["status"]
        bound = f"{_bound(c):<12}" if sketched else ""
        _print(f"{pad(name, width)}{c['kind']:<13}{c['test']:<15}{score:>10}  {bound}"
               f"{c['direction']:<16}{verdict:<11}{c['n_cur']:>8}")
    for c in data["features"]:  # a value the test could not use (not logged, text where numbers are expected,
        # a feature whose type changed between files, not finite) is left out, and said so
        if dropped := (c.get("stats") or {}).get("dropped"):
            _print(f"{printable(c['column'])}: {dropped} of {dropped + c['n_cur']} rows in the window without a usable "
                   f"value ({'not logged, not a number, or not finite' if c['kind'] == 'numeric' else 'not logged'}); "
                   f"left out of its test")
    for name, pts in (data.get("trend") or {}).items():  # as the Drift screen's chart heads it
        scores = [p["score"] for p in pts if p["score"] is not None]
        _print(f"trend {printable(name)}: " + (f"last {scores[-1]:.3g}  min {min(scores):.3g}  max {max(scores):.3g}  "
                                                f"({len(pts)} buckets from {pts[0]['start']})" if scores else "no data"))
    if targets:
        print("(prediction) and (label) rows compare the window with the first two days of the history.")
    if sketched:
        n = d.get("n_borderline", 0)
        print(f"Scores from hourly rollups (sketches): the exact score is within BOUND (KS: of the statistic D); "
              f"{n} borderline. --exact re-reads the raw rows.")
    return code


def _dataset_verdict(d: dict) -> str:
    """As the JSON's `status` says it: no feature evaluated (an empty window) is "no data", never "no"."""
    if not d.get("n_evaluated"):
        return "no data"
    if d.get("status") == "few rows":
        return "no verdict, too few rows (see the note below)"
    if d["drifted"]:
        return "YES"
    return "borderline (YES if the borderline features drift)" if d.get("status") == "borderline" else "no"


def _bound(c: dict) -> str:
    """A sketch score's error bound as text: on the score, or on the KS statistic D."""
    if c.get("method") != "sketch":
        return "exact"
    if c.get("bound") is None:  # counts folded into "other": no bound is known
        return "unknown"
    if (c.get("stats") or {}).get("bound_of") == "statistic":
        return f"D +-{c['bound']:.2g}"
    return f"+-{c['bound']:.2g}"


# ---------------------------------------------------------------------------- every screen's numbers, headless

def add_report_parsers(sub) -> None:
    for name, default, about in (("health", "1h", "traffic, latency, errors and the SLO burn of one model"),
                                 ("quality", "24h", "accuracy (or MAE) as labels arrive, by version and over time"),
                                 ("fairness", "7d", "quality by segment and the fairness gaps of sensitive columns"),
                                 ("cost", "24h", "the window's spend, spend today and this month, budget, cost per 1k, spikes")):
        p = sub.add_parser(name, help=about)
        p.add_argument("model")
        add_window_options(p, default)
        p.add_argument("--environment", default="production")
        p.add_argument("--format", choices=("text", "json"), default="text")
        p.set_defaults(func=cmd_report, report=name)


def _unknown_environment(svc, args) -> int | None:
    """Exit 2 with the known names when `--environment` names none of the model's environments, else None."""
    known = svc.environments(args.model)
    if args.environment in known:
        return None
    print(printable(f"mlops-console: --environment: unknown environment {args.environment!r} for {args.model}; "
                    f"known: {', '.join(known)}"), file=sys.stderr)
    return EXIT_ERROR


def cmd_report(args, cfg: Config) -> int:
    from console.analytics.windows import window_fields

    svc = _service(args, cfg)
    if args.model not in svc.models():
        return _no_such_model(svc, args.model)
    if (code := _unknown_environment(svc, args)) is not None:
        return code
    span = svc.window_span
    result = svc.report(args.report, args.model, span, args.environment)
    at = svc.clock()
    said = window_fields(at, span)
    data = {"model": args.model, "environment": args.environment, "at": at.isoformat() + "Z",
            **said, "live": svc.live, **result}
    # the window again, by the same two ends: these held its exclusive start, an instant whose row is not counted
    # (`cost --window 2026-07-04` said `from 2026-07-04T00:00:00Z` over `range: 2026-07-03T23:59:59.999999Z, ...`)
    if "range" in data:
        data["range"] = [said["from"], said["to"]]
    if isinstance(data.get("window_spend"), dict):
        data["window_spend"] = {**data["window_spend"], "start": said["from"], "end": said["to"]}
    if (note := svc.empty_window_note(args.model, args.environment)) is not None:
        data["note"] = note
    elif args.report == "fairness" and (why := _fairness_unset(cfg.model(args.model))):
        data["note"] = why  # the Fairness screen says the same; empty tables alone said nothing
    down = _sources_down(svc, args.model, data)
    if args.format == "json":
        print(dumps(data))
    else:
        print(printable_lines(render_text(data)))  # keys can be data too (segment values, feature names)
        if down:
            print(printable(f"{args.model}: partial: {down}"), file=sys.stderr)
    return EXIT_OK


def _fairness_unset(mc) -> str | None:
    """Why `fairness` has nothing to show for a model whose config names no segment or sensitive column."""
    if mc.sensitive:
        return None
    if mc.segments:  # segments shown; the gaps need the columns named sensitive
        return "no sensitive columns configured for this model: the fairness gaps need sensitive = [...] under " \
               "[models.NAME]"
    return "no segment or sensitive columns configured for this model: set segments = [...] and sensitive = [...] " \
           "under [models.NAME]"


def _sources_down(svc, model: str, data: dict) -> str | None:
    """Why some of `model`'s rows cannot be read now (a source down), set as `sources_down` in `data`: a report
    answers from what was read before, and must not read as whole (qa6: `drift` with its S3 source down exited 0
    with nothing in its JSON to say so)."""
    if note := svc.rollup_note():  # long windows read raw: said, as a store that cannot be written is
        print(printable(f"mlops-console: note: {note}"), file=sys.stderr)
    down = svc.unreadable()[0].get(model)
    if down:
        data["sources_down"] = down
    return down


def dumps(data) -> str:
    """JSON for stdout: strict (a non-finite number is a bug, not output), text escaped as JSON does."""
    from console.analytics.windows import plain_json

    return json.dumps(plain_json(data), indent=2, default=str, allow_nan=False)


def render_text(data: dict) -> str:
    """A readable dump of a report: scalars as `key: value`, lists of records as aligned tables. A record's
    nested record of scalars is spelled out in its line (a quality window's `metrics`, a fairness segment's):
    they are the numbers asked for (qa7: `fairness` printed each segment's counts and no metric, `quality` the
    window's counts and not its accuracy)."""
    return "\n".join(_text_lines(data, ""))


def _text_lines(data: dict, indent: str) -> list[str]:
    """`render_text`'s lines at one depth. A record of records (fairness' `gaps`, one per sensitive column) is
    its own block, each inner record under its name: it printed `gaps: ` and nothing."""
    from console.safe_text import cells as width
    from console.safe_text import pad
    from console.safe_text import printable as plain

    lines = []
    for key, value in data.items():
        if isinstance(value, dict) and any(_nested(v) for v in value.values()):
            lines.append(f"{indent}{plain(str(key))}:")
            lines += _text_lines(value, indent + "  ")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            flat = [_flat(v) for v in value]
            cols = list(dict.fromkeys(k for v in flat for k in v if not isinstance(v[k], (dict, list))))
            cells = [[plain(_fmt(v.get(c), c)) for c in cols] for v in flat]
            widths = [max(width(c), *(width(r[i]) for r in cells)) for i, c in enumerate(cols)]
            lines.append(f"{indent}{key}:")
            lines.append(indent + "  " + "  ".join(pad(c.upper(), w) for c, w in zip(cols, widths)))
            lines += [indent + "  " + "  ".join(pad(x, w) for x, w in zip(r, widths)) for r in cells]
        elif isinstance(value, dict):
            lines.append(f"{indent}{key}: " + ", ".join(f"{k}={plain(_fmt(v, k))}" for k, v in _flat(value).items()
                                                           if not isinstance(v, (dict, list))))
        elif isinstance(value, list) and not any(isinstance(v, (dict, list)) for v in value):
            lines.append(f"{indent}{key}: " + ", ".join(plain(_fmt(v, key)) for v in value))
        else:
            lines.append(f"{indent}{key}: {plain(_fmt(value, key))}")
    return lines


def _nested(v) -> bool:
    """A value `_flat` cannot spell in its record's line: a table (a list of records), or a record holding one or
    a record (a record of scalars, a quality window's `metrics`, is spelled in the line)."""
    if isinstance(v, list):
        return bool(v) and all(isinstance(x, dict) for x in v)
    return isinstance(v, dict) and any(isinstance(x, (dict, list)) for x in v.values())


def _flat(record: dict) -> dict:
    """A record with each nested record of scalars in its place: by the inner names when there is one and
    none of them is the record's own (`metrics.mae` is `mae`), else prefixed (`error_short.burn_rate`)."""
    nested = [k for k, v in record.items()
              if isinstance(v, dict) and v and not any(isinstance(x, (dict, list)) for x in v.values())]
    plain = len(nested) == 1 and not set(record[nested[0]]) & set(record)
    out: dict = {}
    for k, v in record.items():
        if k in nested:
            out.update({(ik if plain else f"{k}.{ik}"): iv for ik, iv in v.items()})
        else:
            out[k] = v
    return out


def _fmt(v, key: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and _money(key) and 1 <= abs(v) < 1e15:  # cents kept: `usd=221` was $221.04
        return f"{v:.2f}"
    if isinstance(v, float):
        if 1e4 <= abs(v) < 1e15:  # dollars, counts, seconds: never "8.64e+04" (qa: a day's window in quality)
            return f"{v:.0f}" if v.is_integer() else f"{v:.1f}"
        return f"{v:.4g}"
    return str(v)


def _money(key: str) -> bool:
    """A field holding dollars: `usd`, `cost_usd`, `spent_usd`, `per_1k` (a cost per 1,000 requests) ..."""
    return key == "usd" or key.endswith(("_usd", "per_1k")) or key.startswith("usd_") or "_usd_" in key
