"""`mlops-console rollup`: build or catch up the hourly rollups headless (cron, a side box, Spark)."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from console.config import Config
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
    p.set_defaults(func=cmd_rollup)


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t.astimezone(timezone.utc).replace(tzinfo=None) if t.tzinfo else t


def remote_url(cfg: Config, explicit: str | None = None) -> str | None:
    """The s3:// URL of the rollup folder when it is in S3 (--path, or `[rollups] path`)."""
    from console.rollup_remote import is_remote

    url = explicit or str(getattr(cfg, "rollups_path", None) or "")
    return url if is_remote(url) else None


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


LOCK_WAIT_S = 30.0  # a console's catch-up holds the folder's lock for seconds, another rollup run for minutes


def _lock(path: Path):
    """The rollup folder's (or mirror's) writers' lock, held; None when another writer holds it past LOCK_WAIT_S.
    The same lock as the console's catch-up (`store_rollups.build_lock`): two runs into one mirror would prune
    and push each other's files half-built; into one local folder, race on the day files and the state."""
    import filelock

    from console import store_rollups

    lock = store_rollups.build_lock(path)
    try:
        lock.acquire(timeout=LOCK_WAIT_S)
    except filelock.Timeout:
        return None
    return lock


def _usable(cfg: Config, kind: str) -> tuple[list, list[str]]:
    """The sources of a kind the rollup can read, and one line for each it cannot."""
    from console.rollup_sources import unsupported

    keep, skipped = [], []
    for s in cfg.logs:
        if s.kind != kind:
            continue
        why = unsupported(s.path, s.format)
        if why is None:
            keep.append(s)
        else:
            skipped.append(why)
    return keep, skipped


def cmd_rollup(args, cfg: Config) -> int:
    from console import rollup_engine, rollup_remote
    from console.sources.s3 import StorageError

    preds, skipped = _usable(cfg, "predictions")
    labels, skipped_labels = _usable(cfg, "labels")
    skipped += skipped_labels
    for line in skipped:
        print(f"mlops-console: rollup: skipped {line}", file=sys.stderr)
    if not preds:
        print("mlops-console: rollup needs prediction log sources it can read in the configuration "
              "(Parquet, JSONL or CSV files, s3:// prefixes, Delta or Iceberg tables)", file=sys.stderr)
        return EXIT_USAGE
    try:
        since, until = _time(getattr(args, "since", None)), _time(args.until)
    except ValueError as exc:
        print(f"mlops-console: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if since is not None and until is not None and since >= until:
        print(f"mlops-console: error: --since {since:%Y-%m-%dT%H:%M}Z must be before --until {until:%Y-%m-%dT%H:%M}Z",
              file=sys.stderr)
        return EXIT_USAGE
    if args.engine == "spark":
        try:
            import pyspark  # noqa: F401
        except ImportError:
            print("mlops-console: --engine spark needs PySpark: pip install 'mlops-console[spark]'", file=sys.stderr)
            return EXIT_USAGE
    url = remote_url(cfg, args.path)
    storage = rollup_remote.storage_of(cfg)
    # built in a mirror of its own, then the new files go up (see rollup_remote)
    path = rollup_remote.mirror_dir(url, kind="build") if url else rollup_path(cfg, args.path)
    lock = _lock(path)
    if lock is None:  # cron overlapping itself: the run under way catches up, the next one goes on from it
        print(f"mlops-console: rollup: another writer of {url or path} (a rollup run or a console catching up) "
              f"has held it for {LOCK_WAIT_S:g} s", file=sys.stderr)
        return EXIT_CONFLICT
    started = time.perf_counter()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    from console.warehouse import future_seconds

    horizon = now + timedelta(seconds=future_seconds(cfg))  # rows past it are clock skew, as in the store
    try:
        if url:
            rollup_remote.pull(url, path, storage)
        out = rollup_engine.catch_up(preds, labels, path, now=now, models=cfg.models, since=since, until=until,
                                     engine=args.engine, master=args.master, storage=storage, horizon=horizon,
                                     progress=lambda msg: print(msg, file=sys.stderr))
        if url:
            rollup_remote.push(path, url, storage)
    except (StorageError, ConnectionError) as exc:  # one line naming the path or the Spark master; nothing was
        print(f"mlops-console: rollup: {exc}", file=sys.stderr)  # written for the failed range
        return EXIT_REMOTE
    except ValueError as exc:
        print(f"mlops-console: rollup: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        lock.release()
    took = time.perf_counter() - started
    summary = {"path": url or str(path), "engine": args.engine, "ranges_built": len(out.built), "rows": out.rows,
               "late_label_hours_rebuilt": len(out.rebuilt_hours), "files": len(out.files),
               "skipped_sources": skipped, "seconds": round(took, 2)}
    if args.format == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(f"rollups in {url or path}: {len(out.built)} range(s), {out.rows:,} rows, "
              f"{len(out.rebuilt_hours)} hour(s) rebuilt for late labels, {took:.1f} s"
              + (f"; {len(skipped)} source(s) skipped" if skipped else ""))
    # A source that cannot be rolled up is a configuration matter: the others are built, and the
    # exit code says not everything was.
    return EXIT_USAGE if skipped else EXIT_OK
