"""The deployment event log the console appends to, so its own moves show up next to the platform's.

Target: the first `[[logs]]` entry of kind "deployments". A glob such as `deploy/*.jsonl` gets a
file of the console's own, `deploy/console-actions.jsonl`, so it is picked up by the same glob;
a non-JSONL file (csv, parquet) cannot be appended to and gets the same sibling file instead.
"""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path
from typing import Any

from filelock import FileLock

from console.config import Config

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
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=30):
        with open(path, "ab") as f:
            f.write(json.dumps(event, separators=(",", ":"), default=str).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())


def events(cfg: Config, model: str, environment: str) -> list[dict[str, Any]]:
    """This model's events in this environment from every JSONL file of the deployments log, by ts."""
    src = next((s for s in cfg.logs if s.kind == "deployments"), None)
    if src is None:
        return []
    files = set(glob.glob(src.path)) if any(ch in src.path for ch in _GLOB_CHARS) else {src.path}
    target = target_path(cfg)
    if target is not None:
        files.add(str(target))
    out = []
    for name in sorted(files):
        if not name.endswith((".jsonl", ".json", ".ndjson")):
            continue
        try:
            with open(name, encoding="utf-8", errors="replace") as f:
                for line in f:
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(ev, dict) and ev.get("model") == model \
                            and ev.get("environment", environment) == environment:
                        out.append(ev)
        except OSError:
            continue
    return sorted(out, key=lambda e: str(e.get("ts", "")))


def canary_pct(evs: list[dict[str, Any]]) -> int | None:
    """Traffic of the running canary according to the last canary event; None if none is running."""
    for ev in reversed(evs):
        if ev.get("strategy") != "canary":
            continue
        if ev.get("action") in ("deploy", "canary-step"):
            try:
                return int(float(ev.get("traffic_pct")))
            except (TypeError, ValueError):
                return None
        return None  # promote / abort ended it
    return None


def _made_champion(e: dict[str, Any]) -> bool:
    """Events after which the version serves all traffic: promote, rollback, switch, or a full direct deploy."""
    if e.get("action") in ("promote", "rollback", "switch"):
        return True
    pct = e.get("traffic_pct")
    return (e.get("action") == "deploy" and e.get("strategy") in (None, "direct", "blue-green")
            and (pct is None or float(pct) >= 100))


def previous_champion(evs: list[dict[str, Any]], current: str | None) -> str | None:
    """The champion before `current`, from the events that changed the champion."""
    versions = [str(e.get("version")) for e in evs if e.get("version") is not None and _made_champion(e)]
    while versions and versions[-1] == str(current):
        versions.pop()
    return versions[-1] if versions else None
