"""The deployment event log the console appends to, so its own moves show up next to the platform's.

Target: the first `[[logs]]` entry of kind "deployments". A glob such as `deploy/*.jsonl` gets a
file of the console's own, `deploy/console-actions.jsonl`, so it is picked up by the same glob (one such as
`deploy/events-*.jsonl`, whose names that does not match, `deploy/events-console-actions.jsonl`);
a non-JSONL file (csv, parquet) cannot be appended to and gets the same sibling file instead.
The events name who acted and why, like the audit trail: the file and its lock are created 0600 and a
missing folder 0700 (`console.private_files`).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from pathlib import Path
from typing import Any

from filelock import FileLock

from console.config import Config
from console.private_files import open_private, private_dir, tighten
from console.sources.files import format_by_name, is_glob

FILE_NAME = "console-actions.jsonl"
_GLOB_CHARS = set("*?[")


def remote(cfg: Config) -> str | None:
    """The deployments log's location when it is not a local path (`s3://...`): nothing the console appends to."""
    src = next((s for s in cfg.logs if s.kind == "deployments"), None)
    return src.path if src is not None and "://" in src.path else None


def target_path(cfg: Config) -> Path | None:
    """Where the console appends events; None when no deployments log is configured, or it is remote (`remote`:
    `Path("s3://b/deploy/*.jsonl")` is the local folder `s3:/b/deploy`, made wherever the console ran)."""
    src = next((s for s in cfg.logs if s.kind == "deployments"), None)
    if src is None or remote(cfg):
        return None
    path = Path(src.path)
    if is_glob(src.path):  # (a file named as written, `deploy[eu].jsonl`, is the log itself: appended to)
        parts = path.parts
        fixed = next(i for i, part in enumerate(parts) if set(part) & _GLOB_CHARS)
        beside = Path(*parts[:fixed]) / FILE_NAME
        if _matches(beside, path) or src.format not in (None, "jsonl"):
            return beside
        # a glob with its wildcard in the name (`deploy-*.jsonl`) never read `console-actions.jsonl` back: the
        # Overview kept showing the canary's old step (thirtieth session's actions probe). A name of the
        # console's own that the glob matches, and that reads as JSONL, instead.
        own = Path(*(_filled(p) for p in parts if p != "**"))
        if _matches(own, path) and (src.format == "jsonl" or format_by_name(str(own)) == "jsonl"):
            return own
        return beside
    if (src.format or path.suffix.lstrip(".")) not in ("jsonl", "json", "ndjson"):
        return path.parent / FILE_NAME
    return path


def _filled(part: str) -> str:
    """A path component's wildcards filled in: `*` with the console's name, `?` and a `[...]` class with one
    character they match."""
    part = re.sub(r"\[![^\]]*\]", "_", part)  # a negated class (`_matches` checks it is not in it)
    part = re.sub(r"\[([^\]])[^\]]*\]", r"\1", part)
    return part.replace("*", FILE_NAME.removesuffix(".jsonl"), 1).replace("*", "").replace("?", "x")


def _matches(candidate: Path, pattern: Path) -> bool:
    """`candidate` is a path the glob `pattern` finds (a `**` component matching no folder, as `glob` does)."""
    want = [p for p in pattern.parts if p != "**"]
    have = candidate.parts
    return len(want) == len(have) and all(fnmatch.fnmatchcase(h, w) for h, w in zip(have, want))


def append(path: Path, event: dict[str, Any]) -> None:
    """One JSON line, under a lock, flushed and fsynced. Raises OSError."""
    private_dir(path.parent)
    lock = str(path) + ".lock"
    tighten(lock)
    with FileLock(lock, timeout=30, mode=0o600):
        with open_private(path, "ab") as f:
            f.write(json.dumps(event, separators=(",", ":"), default=str).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())
