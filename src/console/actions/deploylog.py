"""The deployment event log the console appends to, so its own moves show up next to the platform's.

Target: the first `[[logs]]` entry of kind "deployments". A glob such as `deploy/*.jsonl` gets a
file of the console's own, `deploy/console-actions.jsonl`, so it is picked up by the same glob;
a non-JSONL file (csv, parquet) cannot be appended to and gets the same sibling file instead.
The events name who acted and why, like the audit trail: the file and its lock are created 0600 and a
missing folder 0700 (`console.private_files`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from filelock import FileLock

from console.config import Config
from console.private_files import open_private, private_dir, tighten

FILE_NAME = "console-actions.jsonl"
_GLOB_CHARS = set("*?[")


def target_path(cfg: Config) -> Path | None:
    """Where the console appends events; None when no deployments log is configured."""
    src = next((s for s in cfg.logs if s.kind == "deployments"), None)
    if src is None:
        return None
    path = Path(src.path)
    if any(ch in src.path for ch in _GLOB_CHARS):
        parts = path.parts
        fixed = next(i for i, part in enumerate(parts) if set(part) & _GLOB_CHARS)
        return Path(*parts[:fixed]) / FILE_NAME
    if (src.format or path.suffix.lstrip(".")) not in ("jsonl", "json", "ndjson"):
        return path.parent / FILE_NAME
    return path


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
