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
    p.add_argument("--no-ready", action="store_true",
                   help="do not run the first reads after building (see README, Long windows from rollups)")
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


# The reads `ready` runs per model, as the Drift screen asks them: the window and its trend. 24 h:
# the CLI's default window and the Drift screen's, whose trend has hour buckets over the 7-day history; 7 days and
# 30 days: 6-hour buckets (one kept file: a week's are a month's last ones).
READY_WINDOWS = ("24h", "7d", "30d")
READY_ENVIRONMENT = "production"  # the screens' and the CLI's


def ready(cfg: Config, path: Path, until: datetime | None = None, progress=None) -> list[str]:
    """Leaves the rollup folder as a first read leaves it, by running those reads (`Service.drift`, `quality`): the
    same functions, so what they keep is what the next reads look for (`rollup_memo`: the reference's sketches, the
    trend's scored closed buckets; `.verified/`: what the catch-up counted against the store). Without it, each
    console process's first Drift screen over a month paid 3-10 s scoring ~3,000 bucket-features and every first
    read the count of its window against the store. The reads end at the newest row (or `until`, when earlier):
    where an operator's `--at latest` or a live console's clock looks. A window the reads score exactly (6 h or
    less, or under `[rollups] min_rows` rows: `Monitor.drift_from_rollups`) keeps nothing and is not read. Returns "model window" per read run;
    a read that fails is said on stderr and the rollups stay built."""
    import dataclasses

    from console import store_rollups
    from console.analytics.windows import parse_window
    from console.monitoring import HISTORY
    from console.service import Service

    history = parse_window(HISTORY)  # the trend's reach behind a shorter window
    US = timedelta(microseconds=1)

    done: list[str] = []
    svc = None
    try:
        svc = Service(dataclasses.replace(cfg, rollups_path=path))
        svc.refresh()
        latest = svc.latest_ts()
        if latest is None:
            return done
        now = min(latest, until) if until is not None else latest
        svc.set_at(now)
        for model in [m for m, mc in cfg.models.items() if getattr(mc, "reference", None) is not None]:
            held = [f.start for f in store_rollups.files(path, model)]
            if not held:
                continue
            # not a window reaching before the folder's first hour into rows of the store: its read would build hours
            # this folder never held (another builder's range, say)
            first = min(held)
            fit = [w for w in READY_WINDOWS if now - max(parse_window(w), history) >= first
                   or not svc.warehouse.has_rows(model, now - max(parse_window(w), history), first - US, None)]
            for window in fit:
                if not svc.monitor.drift_from_rollups(model, window, READY_ENVIRONMENT):
                    continue  # read raw (a small log): nothing to keep
                svc.drift(model, window, environment=READY_ENVIRONMENT, series=True, target=False)
                done.append(f"{model} {window}")
                if progress:
                    progress(f"rollup: {model}: {window} drift and trend ready")
            if fit:  # the labels' catch-up record (`.verified/<model>.labels.json`): quality's first count
                svc.quality(model, fit[-1], environment=READY_ENVIRONMENT)
    except Exception as exc:  # noqa: BLE001 - the rollups are built; a read failing here fails in the console too
        print(f"mlops-console: rollup: first reads not prepared: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        if svc is not None:
            svc.close()
    return done


def _left_text(out) -> str:
    """The rows the build left at or after its end, counted by why (`rollup_engine.rows_left`), for the summary."""
    from console.rollup_engine import LEFT_REASONS

    if not out.left:
        return ""
    parts = ", ".join(f"{n:,} {LEFT_REASONS[why]}" for why, n in out.left.items())
    return f"; {sum(out.left.values()):,} row(s) left from {out.left_from:%Y-%m-%dT%H:%M}Z: {parts}"


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
    readied: list[str] = []
    if not url and not args.no_ready:  # rollups kept in S3 are read through a mirror each console keeps
        readied = ready(cfg, path, until, progress=lambda msg: print(msg, file=sys.stderr))
    summary = {"path": url or str(path), "engine": args.engine, "ranges_built": len(out.built), "rows": out.rows,
               "late_label_hours_rebuilt": len(out.rebuilt_hours), "files": len(out.files),
               "skipped_sources": skipped, "seconds": round(took, 2), "ready": readied,
               "ready_seconds": round(time.perf_counter() - started - took, 2),
               "rows_left": out.left, "rows_left_from": out.left_from.isoformat() + "Z" if out.left_from else None}
    if args.format == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(f"rollups in {url or path}: {len(out.built)} range(s), {out.rows:,} rows, "
              f"{len(out.rebuilt_hours)} hour(s) rebuilt for late labels, {took:.1f} s"
              + (f"; {len(skipped)} source(s) skipped" if skipped else "") + _left_text(out)
              + (f"; first reads ready ({', '.join(readied)}) in {summary['ready_seconds']:.1f} s" if readied else ""))
    # A source that cannot be rolled up is a configuration matter: the others are built, and the
    # exit code says not everything was.
    return EXIT_USAGE if skipped else EXIT_OK
