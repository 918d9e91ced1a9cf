"""`mlops-console`: the TUI by default, headless subcommands for scripts.

stdout holds data only; diagnostics go to stderr. Exit codes: the one table in `console.exit_codes`.
Text output from logs and the registry goes through `console.safe_text.printable` (no control or
bidi character reaches the terminal) and error lines through `console.redact` (no credentials).
Textual is imported only for the commands that draw.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path

from console import __version__, exit_codes
from console.config import Config, ConfigError, load
from console.redact import redact_text
from console.safe_text import cells, pad, printable

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_CONFLICT, EXIT_REMOTE = (
    exit_codes.OK, exit_codes.REFUSED, exit_codes.USAGE, exit_codes.CONFLICT, exit_codes.REMOTE)


def _diag(message: str) -> None:
    """One line on stderr: credentials masked, control characters spelled out."""
    print(printable(redact_text(message)), file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors exit 2 with one line, as argparse does, minus the noise
        self.print_usage(sys.stderr)
        # the message quotes the command line (an unknown argument): its control characters are spelled out
        print(f"mlops-console: error: {printable(message)}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                   help="configuration file (else $MLOPS_CONSOLE_CONFIG, ./mlops-console.toml, the XDG file)")
    p.add_argument("--registry", metavar="URI", default=argparse.SUPPRESS,
                   help="MLflow tracking URI for this run (sqlite:///path or http(s)://host)")
    p.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS,
                   help="refuse every dangerous action")
    p.add_argument("--at", metavar="TIME", default=argparse.SUPPRESS,
                   help="end of the view: an ISO time, or 'latest' for the newest row (the model's, for a command about one; default: now)")
    p.add_argument("--since", metavar="TIME", default=argparse.SUPPRESS,
                   help="start of the incident history (default: the window's start when --from or a --window "
                        "period or duration of 7 days or more is given, else 7 days before --at)")
    return p


def add_window_options(p: argparse.ArgumentParser, default: str = "24h") -> None:
    """The window every read command takes: a duration ending at --at, a calendar period, or a range."""
    p.add_argument("--window", metavar="W", default=None,
                   help=f"a duration ending at --at (1h, 24h, 30d; default {default}) or a calendar period "
                        "(2026-07, 2026-W27, 2026-07-04)")
    p.add_argument("--from", dest="start", metavar="TIME", default=None, help="start of the window (with --to)")
    p.add_argument("--to", dest="end", metavar="TIME", default=None, help="end of the window")
    p.set_defaults(default_window=default)


def open_service(args, cfg: Config, **kwargs):
    """A Service brought up to date with the store and moved to the view the options ask for.
    A bad time option raises ValueError, which `main` turns into one line and exit 2."""
    from console.service import Service

    options = dict(at=getattr(args, "at", None), window=getattr(args, "window", None),
                   start=getattr(args, "start", None), end=getattr(args, "end", None),
                   since=getattr(args, "since", None), default_window=getattr(args, "default_window", "24h"))
    _check_view(**options)
    svc = Service(cfg, **kwargs)
    svc.warehouse.keep_footers()  # a script reads one state of the store
    svc.warehouse.on_source_down = lambda note: _diag(f"mlops-console: note: {note}")  # found after the refresh
    stats = svc.refresh()
    report_refresh(stats)
    svc.hold_clock()
    try:
        model = getattr(args, "model", None) if isinstance(getattr(args, "model", None), str) else None
        # the environment the command reads (production unless `--environment`), for `--at latest`
        svc.view(**options, model=model,
                 environment=(getattr(args, "environment", None) or "production") if model is not None else None)
    except ValueError as exc:
        svc.close()
        raise TimeOptionError(str(exc)) from None
    except OverflowError as exc:  # --at 0001-01-01, --window 99999999d: a time out of range is a usage error too
        svc.close()
        raise TimeOptionError(f"a time option is out of range ({exc})") from None
    return svc


def report_refresh(stats) -> None:
    """What the store's refresh set aside or could not read, one line each on stderr: a configured log
    that matches no file (a typo in a labels path leaves Quality empty with no other sign), a folder or an
    unreadable file matching a pattern, a rotation. stdout keeps only the data."""
    for path in getattr(stats, "missing", ()) or ():
        _diag(f"mlops-console: configured log matches no file: {path}")
    for note in getattr(stats, "notes", ()) or ():
        _diag(f"mlops-console: note: {note}")


_TIME_OPTIONS = ("--at", "--since", "--window", "--from", "--to")


def _dash_values(argv: list[str]) -> list[str]:
    """`--window -1d` as `--window=-1d`: argparse takes a value that starts with '-' for an option and says only
    "expected one argument"; joined, the value reaches the time parser, which says what is wrong with it."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return out + argv[i:]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if token in _TIME_OPTIONS and nxt is not None and nxt.startswith("-") and not nxt.startswith("--"):
            out.append(f"{token}={nxt}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


class TimeOptionError(ValueError):
    """A --at/--window/--from/--to/--since value that cannot be read: exit 2, one line."""


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(prog="mlops-console", parents=[common],
                     description="A keyboard-driven operations console for ML and LLM models in production.")
    parser.add_argument("--version", action="version", version=f"mlops-console {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("demo", parents=[common], help="build the demo workspace and open the console on it")
    p.add_argument("--dir", default="mlops-demo", help="workspace folder (default ./mlops-demo)")
    p.add_argument("--reset", action="store_true", help="build it again from scratch")
    p.add_argument("--no-open", action="store_true", help="build only; do not open the console")
    p.add_argument("--live", action=argparse.BooleanOptionalAction, default=None,
                   help="keep appending predictions while the console is open (default: on when it opens)")
    p.set_defaults(func=cmd_demo, needs_config=False)

    p = sub.add_parser("snapshot", parents=[common], help="print the overview once, without the TUI")
    add_window_options(p)
    p.add_argument("--format", choices=("text", "json", "svg"), default="text")
    p.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout (required for svg)")
    p.set_defaults(func=cmd_snapshot)

    p = sub.add_parser("serve", parents=[common], help="serve the console in a browser (textual-serve)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_port, default=8000)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("ui", parents=[common], help="open the console (the default)")
    p.set_defaults(func=cmd_ui)

    for register in _extensions():
        register(sub, common)
    return parser


def _extensions():
    """Subcommands that other modules contribute (actions, monitoring); absent modules are skipped."""
    registers = []
    try:
        from console import cli_actions

        registers.append(lambda sub, common: _add_with_common(cli_actions.add_parsers, sub, common))
    except ImportError:
        pass
    try:
        from console import cli_rollup

        registers.append(lambda sub, common: _add_with_common(cli_rollup.add_parsers, sub, common))
    except ImportError:
        pass
    try:
        from console import cli_monitor

        registers.append(lambda sub, common: _add_with_common(cli_monitor.add_parsers, sub, common))
    except ImportError:
        pass
    return registers


def _add_with_common(add_parsers, sub, common) -> None:
    """Gives every subcommand an extension adds the global flags too, wherever the user types them."""
    original = sub.add_parser

    def add_parser(name, **kwargs):
        kwargs.setdefault("parents", [common])
        return original(name, **kwargs)

    sub.add_parser = add_parser
    try:
        add_parsers(sub)
    finally:
        sub.add_parser = original


ARROW_POOL = "system"  # the memory pool Arrow takes its buffers from in a console process (see `main`)
# Polars' own allocator (jemalloc, configured by `_RJEM_MALLOC_CONF`) gives freed pages back after 50 ms; Polars'
# defaults (dirty 500 ms, then muzzy 1000 ms) keep them resident for about 1.5 s, through several rollup pieces; see `main`
POLARS_MALLOC_CONF = "dirty_decay_ms:50,muzzy_decay_ms:0"


def main(argv: list[str] | None = None) -> int:
    # Arrow's buffers from the C library's malloc, not its bundled mimalloc, which kept freed ingest and rollup
    # buffers mapped: a cold 1M JSONL `snapshot` 567-598 -> 527-530 MB peak, a cold 10M one 944 -> 867 MB and
    # 48 -> 40 s (half the system time), the same elsewhere (benchmarks/README.md, twenty-second session). Read
    # when Arrow first allocates, which is later than this; an operator's own setting is kept.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", ARROW_POOL)
    # The same for Polars' buffers, read when Polars is first imported (later than this): a cold 1M JSONL `snapshot`
    # 492-537 -> 484-487 MB, a cold 10M one 894 -> 872 MB, no time lost that the runs could tell (0.5 s more system
    # time at 1M; benchmarks/README.md, twenty-third session). An operator's own setting is kept.
    os.environ.setdefault("_RJEM_MALLOC_CONF", POLARS_MALLOC_CONF)
    parser = build_parser()
    args = parser.parse_args(_dash_values(sys.argv[1:] if argv is None else list(argv)))
    for name, default in (("config", None), ("registry", None), ("read_only", False), ("at", None), ("since", None)):
        if not hasattr(args, name):
            setattr(args, name, default)
    func = getattr(args, "func", cmd_ui)
    if func not in (cmd_ui, cmd_demo, cmd_serve):  # the TUI has its own (its quit path records the outcomes)
        _interrupt_on_termination()
    try:
        cfg = None
        if getattr(args, "needs_config", True):
            cfg = load(args.config, registry=args.registry, read_only=args.read_only)
        with warnings.catch_warnings():
            if not os.environ.get("MLOPS_CONSOLE_DEBUG"):  # numpy's "invalid value encountered" and its source
                warnings.simplefilter("ignore", RuntimeWarning)  # line are not an operator's business (a NaN is
            return int(func(args, cfg) or 0)  # already counted and said as a malformed value)
    except ConfigError as exc:
        _diag(f"mlops-console: configuration error: {exc}")
        return EXIT_USAGE
    except TimeOptionError as exc:
        print(f"mlops-console: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return exit_codes.INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - an operator never sees a traceback
        if os.environ.get("MLOPS_CONSOLE_DEBUG"):
            raise
        _diag(f"mlops-console: error: {type(exc).__name__}: {exc}")
        return EXIT_REMOTE


def _interrupt_on_termination() -> None:
    """SIGTERM and SIGHUP (`timeout`, a cancelled CI job, a closed SSH session) end a command as Ctrl-C does: an
    action past its intent still writes its outcome ("unknown") to the audit trail, instead of dying with none."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, interrupt)
        except (ValueError, OSError):  # not the main thread (an embedding caller): left as it is
            pass


# ---------------------------------------------------------------------------- commands


def _output_problem(output: str | None) -> str | None:
    """Why `--output FILE` cannot be written, checked before the work (a folder, a missing or read-only one was
    'a remote system failed', exit 4, after the whole computation); None when it can."""
    if not output:
        return None
    path = Path(output)
    if path.is_dir():
        return f"--output {output}: is a folder"
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return f"--output {output}: no such folder {parent}"
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"--output {output}: cannot be written"
    return None


def cmd_snapshot(args, cfg: Config) -> int:
    problem = _output_problem(args.output)
    if problem:
        print(f"mlops-console: {printable(problem)}", file=sys.stderr)
        return EXIT_USAGE
    if args.format == "svg":
        from console.ui.headless import save_svg

        if not args.output:
            print("mlops-console: error: --format svg needs --output FILE", file=sys.stderr)
            return EXIT_USAGE
        try:
            save_svg(cfg, Path(args.output))
        except OSError as exc:  # as the text's write below: not "error: FileNotFoundError", exit 4 (remote)
            print(f"mlops-console: --output {printable(args.output)}: {printable(exc.strerror or str(exc))}",
                  file=sys.stderr)
            return EXIT_USAGE
        print(f"saved {printable(args.output)}", file=sys.stderr)
        return EXIT_OK
    service = open_service(args, cfg)
    snap = service.snapshot(refresh=False)
    spans = overview_spans(snap.now)
    asked = _asked_window_note(args, service, spans)
    # an old log at the wall clock, or a view after the rows: the overview's 24 h are empty; say so, naming the newest
    note = service.empty_window_note(span=OVERVIEW_SPAN) if service.models() else None
    # why rows were set aside (a Parquet log without `version`: every row, and the count alone said nothing)
    why = service.malformed_summary(lakes=False)[:MALFORMED_SHOWN["json"]] if snap.malformed else []
    if args.format == "json":
        from console.analytics.windows import parse_window, window_fields

        # the top-level window every read command gives: the overview's 24 h (each number's own span in `spans`)
        text = json.dumps({**snap.to_dict(), **window_fields(snap.now, parse_window(OVERVIEW_SPAN)), "spans": spans,
                           **({"malformed_by": why} if why else {}),
                           **({"window_note": asked} if asked else {}), **({"note": note} if note else {})},
                          indent=2, default=str)
    else:
        text = render_snapshot_text(snap) + render_malformed(why, snap.malformed) + \
            "".join(f"\n\n{n}" for n in (asked, note) if n)
    if args.output:
        try:
            Path(args.output).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:  # the disk filled, a read-only mount: checked above, but the disk changes
            print(f"mlops-console: --output {printable(args.output)}: {printable(exc.strerror or str(exc))}",
                  file=sys.stderr)
            return EXIT_USAGE
    else:
        print(text)
    if snap.registry.status == "unreachable":
        _diag(f"mlops-console: registry unreachable: {snap.registry.message}")
    return EXIT_OK


MALFORMED_SHOWN = {"json": 20, "text": 5}  # the (file, reason) groups a snapshot lists, most rows first


def render_malformed(why: list[dict], total: int) -> str:
    """The rows set aside, by file and reason, most first: what the count in the header is made of."""
    if not why:
        return ""
    out = ["", "", f"malformed rows set aside ({total}), by file and reason:"]
    for r in why[:MALFORMED_SHOWN["text"]]:
        out.append(printable(f"  {r['n']:>8}  {r['reason']}  {r['source']}:{r['first_location']} (first)"))
    shown = sum(r["n"] for r in why[:MALFORMED_SHOWN["text"]])
    if shown < total:
        out.append(f"  {total - shown:>8}  more (snapshot --format json lists {MALFORMED_SHOWN['json']} groups as "
                   f"malformed_by; rows set aside in lake tables and S3 objects are counted, not listed)")
    return "\n".join(out)


OVERVIEW_SPAN = "24h"  # the longest of the Overview's fixed spans (queries/overview_window.sql): REQ 24H


def overview_spans(end: datetime) -> dict:
    """What each of the Overview's numbers covers, ending at `end`: fixed spans by design (a glance at now,
    not a report on a window; `health`, `drift`, `quality` and `cost` take any window). The SQL's spans are
    those of queries/overview_window.sql; DRIFT's is the monitor's (6 h, or the last rows the drift rule needs
    when fewer), which is why it can differ from `drift` (24 h by default) and from `check` (each rule's window)."""
    from console.analytics.windows import MIN_DRIFT_ROWS, OVERVIEW_DRIFT_WINDOW, parse_window, window_fields

    def span(text: str, what: str) -> dict:  # its two ends as every read command writes them (`window_fields`)
        w = window_fields(end, parse_window(text))
        return {"span": text, "from": w["from"], "to": w["to"], "what": what}

    day = end.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "rpm": span("5m", "requests per minute over the last 5 minutes"),
        "requests": span(OVERVIEW_SPAN, "requests (REQ 24H)"),
        "requests_1h": span("1h", "requests in the last hour"),
        "p95_latency_ms": span("1h", "p95 latency over the last hour"),
        "error_rate": span("1h", "share of errors over the last hour"),
        "drift": {**span(OVERVIEW_DRIFT_WINDOW, f"dataset drift verdict over the last {OVERVIEW_DRIFT_WINDOW}, "
                                                f"or the last {MIN_DRIFT_ROWS} rows when it holds fewer")},
        "cost_usd": {"span": "today", "from": day.isoformat() + "Z", "to": end.isoformat() + "Z",
                     "what": "spend since midnight UTC"},
        "alerts": {"span": "rules", "to": end.isoformat() + "Z",
                   "what": "incidents firing and not acknowledged, each rule over its own window (`check`)"},
    }


def _asked_window_note(args, service, spans: dict) -> str | None:
    """When the window asked for (--window/--from/--to) is not the Overview's 24 h: say what the numbers cover
    and where that window's numbers are."""
    asked = [f"{flag} {value}" for flag, value in (("--window", getattr(args, "window", None)),
                                                   ("--from", getattr(args, "start", None)),
                                                   ("--to", getattr(args, "end", None))) if value is not None]
    from console.analytics.windows import parse_window, window_text

    if not asked or service.window_span == parse_window(OVERVIEW_SPAN):
        return None
    return (f"{' '.join(asked)} asks for the {window_text(service.clock(), service.window_span)}, but the overview's numbers cover "
            f"fixed spans ending at {spans['requests']['to']}: requests 24h, p95 latency and errors 1h, RPM 5m, "
            f"drift {spans['drift']['span']}, cost today (`spans` in --format json); for that window's numbers: "
            f"health, drift, quality or cost MODEL {' '.join(asked)}")


NAME_WIDTH = 48  # a model or environment name in the text table: a 3,000-character name padded every row to it


def _cell(text: str, width: int | None) -> str:
    """`text` cut to `width` with an ellipsis (the whole name is in `--format json`)."""
    return text if width is None or len(text) <= width else text[:width - 1] + "\u2026"


def render_snapshot_text(snap) -> str:
    """The overview as plain text; every value from logs or the registry through `printable`. The headers
    name each number's span (`overview_spans`); a ROWS column says "source down" for a model whose rows are
    partly in a source that cannot be read now (only when there is one)."""
    from console.snapshot import SOURCE_DOWN

    head = (f"workspace {printable(snap.workspace)}   registry {printable(snap.registry.status)}   "
            f"at {snap.now:%Y-%m-%d %H:%M:%S}Z   malformed rows {snap.malformed}")
    from console.analytics.windows import OVERVIEW_DRIFT_WINDOW

    cols = ("MODEL", "ENV", "CHAMPION", "LIVE", "RPM 5M", "REQ 24H", "P95 MS 1H", "ERR % 1H",
            f"DRIFT {OVERVIEW_DRIFT_WINDOW.upper()}", "COST TODAY", "ALERTS")
    lines = [head, ""]
    rows = [cols]
    for r in snap.rows:
        rows.append((r.name, r.environment, f"v{r.champion}" if r.champion else "-", r.live or "-",
                     f"{r.rpm:.1f}", str(r.requests),
                     f"{r.p95_latency_ms:.0f}" if r.p95_latency_ms is not None else "-",
                     f"{100 * r.error_rate:.2f}" if r.error_rate is not None else "-", r.drift,
                     f"${r.cost_usd:,.2f}" if r.cost_usd is not None else "-",
                     # a source down: its rules could not be evaluated (`check` exits 2), so not "0", as the TUI's "?"
                     "?" if r.source_down and not r.alerts else str(r.alerts)))
        rows[-1] = tuple(_cell(printable(c), NAME_WIDTH if i < 2 else None) for i, c in enumerate(rows[-1]))
    down = [r for r in snap.rows if r.source_down]
    if down:  # a source holding their rows cannot be read now: their numbers are partial, not "no traffic"
        rows = [(*row, "ROWS" if i == 0 else snap.rows[i - 1].rows_state) for i, row in enumerate(rows)]
    widths = [max(cells(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines += ["  ".join(pad(str(c), w) for c, w in zip(row, widths)).rstrip() for row in rows]
    if down:
        names = ", ".join(dict.fromkeys(printable(r.name) for r in down))
        lines += ["", f"{SOURCE_DOWN}: the numbers of {names} are only what the other sources hold (partial: "
                      f"unknown, not zero) and their alerts could not be evaluated; {printable(down[0].source_down)}"]
    if not snap.logs_configured:
        lines += ["", "no logs are configured: traffic, latency and drift panels are empty"]
    return "\n".join(lines)


def cmd_demo(args, cfg) -> int:
    from console.demo.workspace import build_workspace

    directory = Path(args.dir).resolve()
    try:
        config_path = _build_with_progress(build_workspace, directory, args.reset)
    except FileExistsError as exc:  # a folder of the operator's own: nothing removed, another one to choose
        print(f"mlops-console: demo: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    print(f"demo workspace ready: {config_path}", file=sys.stderr)
    if args.no_open:
        return EXIT_OK
    from console.config import parse_file

    cfg = parse_file(config_path)
    if args.read_only:
        from dataclasses import replace

        cfg = replace(cfg, read_only=True)
    live = True if args.live is None else args.live
    return run_tui(cfg, live_writer=config_path if live else None)


def _build_with_progress(build_workspace, directory: Path, reset: bool) -> Path:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task("building the demo workspace", total=1.0)

        def report(message: str, fraction: float) -> None:
            progress.update(task, description=message, completed=max(0.0, min(1.0, fraction)))

        path = build_workspace(directory, reset=reset, progress=report)
        progress.update(task, description="demo workspace ready", completed=1.0)
    return path


def cmd_ui(args, cfg: Config) -> int:
    return run_tui(cfg, view=start_view(args))


def start_view(args) -> dict | None:
    """`mlops-console --at T [--since T]`: the TUI opens at that time, as the scripts read it (`latest` is resolved
    once its first refresh has read the logs). Checked here, so a bad value is one line and exit 2, not a TUI."""
    view = {k: getattr(args, k) for k in ("at", "since") if getattr(args, k, None) is not None}
    if not view:
        return None
    _check_view(now=datetime.now(timezone.utc).replace(tzinfo=None), **view)
    return view


def _check_view(**options) -> None:
    """`service.check_view`, its errors as a TimeOptionError (one line, exit 2)."""
    from console.service import check_view

    try:
        check_view(**options)
    except ValueError as exc:
        raise TimeOptionError(str(exc)) from None
    except OverflowError as exc:  # --at 0001-01-01, --window 99999999d: a time out of range is a usage error too
        raise TimeOptionError(f"a time option is out of range ({exc})") from None


def run_tui(cfg: Config, live_writer: Path | None = None, view: dict | None = None) -> int:
    from console.ui.run import run

    return run(cfg, live_writer=live_writer, view=view)


def _port(text: str) -> int:
    """`serve --port`: 99999 was 'OverflowError: bind(): port must be 0-65535', exit 4."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {port}")
    return port


def cmd_serve(args, cfg: Config) -> int:
    import socket

    from textual_serve.server import Server

    try:  # a port in use is the operator's to change (it was 'a remote system failed', exit 4)
        with socket.create_server((args.host, args.port)):
            pass
    except OSError as exc:
        print(f"mlops-console: serve: cannot listen on {printable(args.host)}:{args.port} "
              f"({printable(exc.strerror or str(exc))})", file=sys.stderr)
        return EXIT_USAGE

    argv = [sys.executable, "-m", "console"]
    if cfg.source:
        argv += ["--config", str(cfg.source)]
    elif cfg.tracking_uri:  # through the environment, not argv: `ps` shows every user a command line
        from console.config import reveal

        os.environ["MLFLOW_TRACKING_URI"] = reveal(cfg.tracking_uri)
    if cfg.read_only:
        argv.append("--read-only")
    import shlex

    Server(shlex.join(argv), host=args.host, port=args.port, title="mlops-console").serve()
    return EXIT_OK
