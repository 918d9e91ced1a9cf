"""`mlops-console rollup`: build or catch up the hourly rollups headless (cron, a side box, Spark)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from datetime import datetime, timezone

from console.config import Config
from console.safe_text import printable
from console.exit_codes import CONFLICT as EXIT_CONFLICT
from console.exit_codes import OK as EXIT_OK
from console.exit_codes import REMOTE as EXIT_REMOTE
from console.exit_codes import USAGE as EXIT_USAGE


def add_parsers(sub) -> None:
    # --since (the common option) is the first hour to (re)build; default: where the last build stopped, and
    # the first build starts at the oldest row.
    p = sub.add_parser("rollup", help="build the hourly rollups that closed since the last build (--since T "
                                      "rebuilds from T)")
    p.add_argument("--until", metavar="T", help="build hours before T (default: the current hour, which stays open)")
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="local: this process; spark: a PySpark job (pip install 'mlops-console[spark]')")
    p.add_argument("--master", default="local[2]", help="Spark master: local[N], spark://HOST:7077, sc://HOST:15002")
    p.add_argument("--path", metavar="DIR", help="rollup folder (default: [rollups] path, else rollups/ in the store)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--no-ready", action="store_true",
                   help="do not run the first reads after building (see README, Long windows from rollups)")
    p.set_defaults(func=cmd_rollup)


def _time(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:  # (an empty value too: it was taken for none given)
        raise ValueError(f"{option} {text!r}: expected an ISO time such as 2026-11-30T12:00Z") from None
    return t.astimezone(timezone.utc).replace(tzinfo=None) if t.tzinfo else t


# what Spark takes as a master: local, local[N], local[*], local[N,F], spark://, sc://, yarn, k8s://
_MASTER = re.compile(r"local(\[(\*|[1-9]\d*)(,[1-9]\d*)?\])?|(spark|sc|k8s)://\S+|yarn")


def _spark_problem(master: str) -> str | None:
    """Why a Spark build cannot start, said before a JVM is (7-11 s, then a line without the cause): a master
    Spark cannot parse, or no Java to run it."""
    if not _MASTER.fullmatch(master or ""):
        return (f"--master {master!r}: not a Spark master (local[N], local[*], spark://HOST:7077, sc://HOST:15002, "
                "yarn, k8s://...)")
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and os.access(os.path.join(java_home, "bin", "java"), os.X_OK)):
        return "--engine spark needs Java 17: no java on PATH and JAVA_HOME is not set"
    return None


def cmd_rollup(args, cfg: Config) -> int:
    from console import rollup_build

    def say(msg: str) -> None:  # progress and notes name models, paths and objects: data, spelled out
        print(printable(msg), file=sys.stderr)

    try:
        since, until = _time(getattr(args, "since", None), "--since"), _time(args.until, "--until")
    except ValueError as exc:
        print(f"mlops-console: error: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    problem = _spark_problem(args.master) if args.engine == "spark" else None
    if problem:
        print(f"mlops-console: rollup: {printable(problem)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        run = rollup_build.run(cfg, since=since, until=until, engine=args.engine, master=args.master, path=args.path,
                               first_reads=not args.no_ready, progress=say,
                               note=lambda line: say(f"mlops-console: rollup: {line}"))
    except rollup_build.RollupRefused as exc:
        print(f"mlops-console: {printable(str(exc))}", file=sys.stderr)
        return _EXIT[exc.kind]
    print(json.dumps(run.summary(), indent=2) if args.format == "json" else printable(run.text()))
    # A source that cannot be rolled up is a configuration matter: the others are built, and the
    # exit code says not everything was.
    return EXIT_USAGE if run.skipped else EXIT_OK


_EXIT = {"usage": EXIT_USAGE, "conflict": EXIT_CONFLICT, "remote": EXIT_REMOTE}
