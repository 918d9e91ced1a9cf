"""`mlops-console rollup`: build or catch up the hourly rollups headless (cron, a side box, Spark)."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from console.config import Config
from console.exit_codes import OK as EXIT_OK
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
    p.set_defaults(func=cmd_rollup)


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t.astimezone(timezone.utc).replace(tzinfo=None) if t.tzinfo else t


def rollup_path(cfg: Config, explicit: str | None = None) -> Path:
    """--path, else `[rollups] path` (once the config knows it), else `rollups/` inside the store."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    configured = getattr(cfg, "rollups_path", None)
    if configured:
        return Path(configured)
    from console.warehouse import store_path

    store = store_path(cfg)
    return (store if store is not None else cfg.root) / "rollups"


def cmd_rollup(args, cfg: Config) -> int:
    from console import rollup_engine

    preds = [s.path for s in cfg.logs if s.kind == "predictions"]
    labels = [s.path for s in cfg.logs if s.kind == "labels"]
    if not preds:
        print("mlops-console: rollup needs prediction log sources in the configuration", file=sys.stderr)
        return EXIT_USAGE
    try:
        since, until = _time(getattr(args, "since", None)), _time(args.until)
    except ValueError as exc:
        print(f"mlops-console: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.engine == "spark":
        try:
            import pyspark  # noqa: F401
        except ImportError:
            print("mlops-console: --engine spark needs PySpark: pip install 'mlops-console[spark]'", file=sys.stderr)
            return EXIT_USAGE
    path = rollup_path(cfg, args.path)
    started = time.perf_counter()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    out = rollup_engine.catch_up(preds, labels, path, now=now, models=cfg.models, since=since, until=until,
                                 engine=args.engine, master=args.master,
                                 progress=lambda msg: print(msg, file=sys.stderr))
    took = time.perf_counter() - started
    summary = {"path": str(path), "engine": args.engine, "ranges_built": len(out.built), "rows": out.rows,
               "late_label_hours_rebuilt": len(out.rebuilt_hours), "files": len(out.files), "seconds": round(took, 2)}
    if args.format == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(f"rollups in {path}: {len(out.built)} range(s), {out.rows:,} rows, "
              f"{len(out.rebuilt_hours)} hour(s) rebuilt for late labels, {took:.1f} s")
    return EXIT_OK
