"""A headless rollup run (`mlops-console rollup`: cron, a side box, Spark): the sources it can read, the folder and
its writers' lock, the S3 mirror, the build, and the first reads. It sits beside the service facade, below the
CLI, so the command only parses and prints and no interface drives the rollup store itself."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from console.config import Config


class RollupRefused(Exception):
    """A run that did not build: `kind` is the exit-code table's name for why (usage, conflict, remote); the
    message is the line the command prints after its name."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class RollupRun:
    path: str  # the folder, or its s3:// URL
    engine: str
    out: object  # store_rollups.CatchUp
    skipped: list[str] = field(default_factory=list)  # sources it cannot read, one line each
    seconds: float = 0.0
    ready: list[str] = field(default_factory=list)
    ready_seconds: float = 0.0

    def summary(self) -> dict:
        out = self.out
        return {"path": self.path, "engine": self.engine, "ranges_built": len(out.built), "rows": out.rows,
                "late_label_hours_rebuilt": len(out.rebuilt_hours),
                "source_hours_rebuilt": len(out.source_hours), "source_hours_why": source_why(out),
                "store_hours_rebuilt": len(out.store_hours),
                "files": len(out.files),
                "skipped_sources": self.skipped, "seconds": round(self.seconds, 2), "ready": self.ready,
                "ready_seconds": round(self.ready_seconds, 2), "rows_left": out.left,
                "rows_left_from": out.left_from.isoformat() + "Z" if out.left_from else None,
                "rows_set_aside": out.set_aside}

    def text(self) -> str:
        out = self.out
        return (f"rollups in {self.path}: {len(out.built)} range(s), {out.rows:,} rows, "
                f"{len(out.rebuilt_hours)} hour(s) rebuilt for late labels" + source_text(out)
                + (f", {len(out.store_hours):,} hour(s) a deleted log file held rows of rebuilt from the store"
                   if out.store_hours else "")
                + f", {self.seconds:.1f} s"
                + (f"; {len(self.skipped)} source(s) skipped" if self.skipped else "") + left_text(out)
                + set_aside_text(out)
                + (f"; first reads ready ({', '.join(self.ready)}) in {self.ready_seconds:.1f} s"
                   if self.ready else ""))


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
    from console.store.place import OWN_ROLLUPS
    from console.warehouse import store_path

    store = store_path(cfg)
    return (store if store is not None else cfg.root) / OWN_ROLLUPS


LOCK_WAIT_S = 30.0  # a console's catch-up holds the folder's lock for seconds, another rollup run for minutes


def lock(path: Path):
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


def usable(cfg: Config, kind: str) -> tuple[list, list[str]]:
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
        from console.safe_text import printable

        print(printable(f"mlops-console: rollup: first reads not prepared: {type(exc).__name__}: {exc}"),
              file=sys.stderr)
    finally:
        if svc is not None:
            svc.close()
    return done


def from_store(cfg: Config, path: Path, hours: list[datetime], progress=None) -> list[datetime]:
    """The `hours` (built from the files there are, which lack the rows of a text log file deleted since: a rotated
    file logrotate's `rotate N` removed) brought to the store's count by the console's own catch-up
    (`RollupDrift.catch_up_all`, after a refresh): the store keeps the rows it read from that file, so the command
    and a console count those hours alike, where the console rebuilt them from the store after each such run. Costs
    a refresh of the store (as the first reads', `ready`, does) and a count of those hours; the hours rebuilt."""
    import dataclasses

    from console import store_rollups as ro
    from console.service import Service

    svc = None
    try:
        svc = Service(dataclasses.replace(cfg, rollups_path=path))
        svc.refresh()
        asks = [(model, a, b, False) for model in svc.warehouse.models() for a, b in ro.hour_ranges(hours)]
        built = svc.monitor.sketch_drift.catch_up_all(asks) if asks else []
    except Exception as exc:  # noqa: BLE001 - the hours are built from the files; a console counts them as before
        from console.safe_text import printable

        print(printable(f"mlops-console: rollup: hours of deleted log files not counted against the store: "
                        f"{type(exc).__name__}: {exc}"), file=sys.stderr)
        return []
    finally:
        if svc is not None:
            svc.close()
    out = sorted({a + i * ro.HOUR for done in built for a, b in done for i in range((b - a) // ro.HOUR)})
    if progress and out:
        progress(f"rollup: {len(out)} hour(s) a deleted log file held rows of rebuilt from the store's rows")
    return out


SOURCE_REASONS = {  # why an hour built before was built again, as the summary says it (`CatchUp.source_hours`)
    "added": "for files added (late rows, a backfill)",
    "removed": "for files removed",
    "appended": "for rows appended to text logs",
    "rewritten": "for files rewritten in place or table files replaced",
}


def source_why(out) -> dict[str, int]:
    """The hours rebuilt because their sources changed since they were built, counted by why."""
    got: dict[str, int] = {}
    for why in out.source_hours.values():
        got[why] = got.get(why, 0) + 1
    return dict(sorted(got.items()))


def source_text(out) -> str:
    """The hours rebuilt for changed sources, by why, for the summary."""
    if not out.source_hours:
        return ""
    parts = ", ".join(f"{n:,} {SOURCE_REASONS[why]}" for why, n in source_why(out).items())
    return f", {len(out.source_hours):,} hour(s) rebuilt for changed sources ({parts})"


def set_aside_text(out) -> str:
    """The text logs' bad rows, set aside as the store sets them aside (a bad row costs only itself)."""
    if not out.set_aside:
        return ""
    parts = ", ".join(f"{n:,} {why}" for why, n in sorted(out.set_aside.items()))
    return f"; {sum(out.set_aside.values()):,} row(s) set aside ({parts})"


def left_text(out) -> str:
    """The rows the build left at or after its end, counted by why (`rollup_engine.rows_left`), for the summary."""
    from console.rollup_engine import LEFT_REASONS

    if not out.left:
        return ""
    parts = ", ".join(f"{n:,} {LEFT_REASONS[why]}" for why, n in out.left.items())
    return f"; {sum(out.left.values()):,} row(s) left from {out.left_from:%Y-%m-%dT%H:%M}Z: {parts}"


def run(cfg: Config, *, since: datetime | None, until: datetime | None, engine: str = "local",
        master: str = "local[2]", path: str | None = None, first_reads: bool = True, note=None,
        progress=None) -> RollupRun:
    """Builds or catches up the rollups; raises `RollupRefused` when nothing could be built. `note` gets one line
    per source skipped, `progress` the build's and the first reads' progress."""
    from console import rollup_engine, rollup_remote
    from console.rollup_paths import FULL, FolderFull, unwritable
    from console.sources.s3 import StorageError

    preds, skipped = usable(cfg, "predictions")
    labels, skipped_labels = usable(cfg, "labels")
    skipped += skipped_labels
    for line in skipped:
        if note:
            note(f"skipped {line}")
    if not preds:
        raise RollupRefused("usage", "rollup needs prediction log sources it can read in the configuration "
                                     "(Parquet, JSONL or CSV files, s3:// prefixes, Delta or Iceberg tables)")
    if since is not None and until is not None and since >= until:
        raise RollupRefused("usage", f"error: --since {since:%Y-%m-%dT%H:%M}Z must be before --until {until:%Y-%m-%dT%H:%M}Z")
    if engine == "spark":
        try:
            import pyspark  # noqa: F401
        except ImportError:
            raise RollupRefused("usage", "--engine spark needs PySpark: pip install 'mlops-console[spark]'") from None
    url = remote_url(cfg, path)
    storage = rollup_remote.storage_of(cfg)
    # built in a mirror of its own, then the new files go up (see rollup_remote)
    folder = rollup_remote.mirror_dir(url, kind="build") if url else rollup_path(cfg, path)
    if (why := unwritable(folder)) is not None:
        raise RollupRefused("usage", f"rollup: the rollup folder {folder} cannot be written ({why})")
    held = lock(folder)
    if held is None:  # cron overlapping itself: the run under way catches up, the next one goes on from it
        raise RollupRefused("conflict", f"rollup: another writer of {url or folder} (a rollup run or a console catching up) "
                                        f"has held it for {LOCK_WAIT_S:g} s")
    started = time.perf_counter()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    from console.warehouse import future_seconds

    horizon = now + timedelta(seconds=future_seconds(cfg))  # rows past it are clock skew, as in the store
    from console import rollup_sources

    rollup_sources.UNREADABLE.clear()
    try:
        if url:
            rollup_remote.pull(url, folder, storage)
        out = rollup_engine.catch_up(preds, labels, folder, now=now, models=cfg.models, since=since, until=until,
                                     engine=engine, master=master, storage=storage, horizon=horizon,
                                     progress=progress)
        if url:
            rollup_remote.push(folder, url, storage)
    except (StorageError, ConnectionError) as exc:  # one line naming the path or the Spark master; nothing was
        raise RollupRefused("remote", f"rollup: {exc}") from None  # written for the failed range
    except ValueError as exc:
        raise RollupRefused("usage", f"rollup: {exc}") from None
    except OSError as exc:  # the folder took the probe above, then filled (or went read-only) midway
        if exc.errno not in FULL:
            raise
        raise RollupRefused("usage", f"rollup: {FolderFull(folder, os.strerror(exc.errno))}") from None
    finally:
        held.release()
    if out.gone_hours and not url:  # (an S3 folder's mirror: a console's catch-up counts them as before)
        out.store_hours = from_store(cfg, folder, out.gone_hours, progress)
    took = time.perf_counter() - started
    for path, why in sorted(rollup_sources.UNREADABLE.items()):  # left out, each alone: the rest was built
        skipped.append(f"{path}: unreadable Parquet file: {why}")
        if note:
            note(f"skipped {skipped[-1]}")
    readied: list[str] = []
    if not url and first_reads:  # rollups kept in S3 are read through a mirror each console keeps
        readied = ready(cfg, folder, until, progress=progress)
    return RollupRun(path=url or str(folder), engine=engine, out=out, skipped=skipped, seconds=took, ready=readied,
                     ready_seconds=time.perf_counter() - started - took)
