"""Where a configuration's store lives, what it is tuned by, and which sources it reads how.

Kept apart from the Warehouse class so the commands that only need the store's place (`rollup`, the demo
workspace) or a source's kind read it here, and every part of the store reads the same sizes and delays.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from console import __version__
from console.config import Config, LogSource
from console.sources.files import format_by_name, globbed, is_glob, parquet_under, staged


OWN_ROLLUPS = "rollups"  # the store's own rollup folder, inside it (when `[rollups] path` names none)
MALFORMED_FIELDS = {"source": "string", "location": "string", "reason": "string", "raw": "string"}
FLUSH_ROWS = 1_000_000  # a backlog is written in segments of about this many rows, so memory stays bounded
FLUSH_BYTES = 96 << 20  # or fewer, when their typed columns hold this much (a wide log: ~400 rows a MB at 25 features)
FIRST_STEP_ROWS = 100_000  # a cold ingest commits its first rows early, for the first frame to show them
STEP_ROWS = FLUSH_ROWS  # then a step every this many rows: each a segment and the cursors covering it
CHUNK_BYTES = 32 << 20  # what the tailer hands out at a time (parsing a piece holds several times its size)
COMPACT_AT = 8  # a merge takes this many small segments of one tier (a live log adds one per refresh)
TIER_ROWS = 10_000  # tier 0 holds segments below COMPACT_AT times this; each tier up is COMPACT_AT times larger
SMALL_ROWS = 200_000  # a segment below this is small: merged with others of its tier
RETIRE_S = 600.0  # a merged-away segment is deleted this long after, so a reader holding the old list still works
MERGE_LOCK_WAIT_S = 30.0  # how long a finished merge waits for the writer lock to commit before it is dropped


def format_of(path: str, declared: str | None) -> str | None:
    return declared or format_by_name(path)


def store_path(cfg: Config) -> Path | None:
    """Where this configuration's store lives: `[store] path`, else the XDG cache, keyed by the config file.
    None (a private temporary store) when there is no config file."""
    explicit = getattr(cfg, "store_path", None)
    if explicit:
        return Path(explicit)
    if cfg.source is None:
        return None
    src = Path(cfg.source).resolve()
    key = hashlib.sha1(str(src).encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlops-console"
    return base / f"store-{key}"


cache_path = store_path  # the name the TUI and older tests know it by


def is_lake_source(src: LogSource) -> bool:
    """Object storage and lakehouse tables: scanned in place through an Arrow dataset."""
    return src.path.startswith("s3://") or src.format in ("delta", "iceberg")


def is_lake_dataset(src: LogSource) -> bool:
    """Object storage and lakehouse sources scanned in place (Parquet, Delta, Iceberg); line-based logs in
    object storage are read once into the store instead."""
    return is_lake_source(src) and format_of(src.path.rstrip("/*"), src.format) in (None, "parquet", "delta", "iceberg")


def is_parquet_source(src: LogSource) -> bool:
    """Parquet logs are read in place; everything else is tailed line by line."""
    if is_lake_source(src):
        return False
    if src.format is not None:
        return src.format == "parquet"
    return format_of(src.path, None) == "parquet" or os.path.isdir(src.path)


def _sources_fingerprint(cfg: Config) -> str:
    # a log's `fields` only when it has them: a mapping changed is a new store (its rows are read again by it)
    spec = [(s.kind, s.path, s.format, *([list(map(list, s.fields))] if getattr(s, "fields", ()) else []))
            for s in cfg.logs]
    return hashlib.sha1(json.dumps([spec, __version__]).encode()).hexdigest()[:16]


def source_id(src: LogSource) -> str:
    """A source's key in the manifest's cursors."""
    return f"{src.kind}|{src.format or ''}|{src.path}"


def source_names(cfg: Config) -> dict[str, list]:
    """What `[logs.fields]` says of each source that maps a field, by source id."""
    return {source_id(s): list(map(list, s.fields)) for s in cfg.logs if getattr(s, "fields", ())}


def renamed(before: dict[str, list], after: dict[str, list], sources: set[str]) -> bool:
    """Whether one of `sources` (read before and configured now) reads its fields under other names: its rows read
    again may fill each hour with as many rows of other values. (A source added or removed moves the counts of
    its hours instead, which the catch-up rebuilds.)"""
    return any(before.get(sid, []) != after.get(sid, []) for sid in sources)


def _expand(pattern: str) -> list[str]:
    if is_glob(pattern):
        return [p for p in globbed(pattern) if not staged(p, pattern)]
    if os.path.isdir(pattern):  # a Hive-partitioned folder: every Parquet file under it
        return parquet_under(pattern)
    return [pattern] if os.path.exists(pattern) else []
