"""Where a configuration's hourly rollups are on this machine: `[rollups] path`, the store's `rollups/`, or the
local mirror of an s3:// folder. Paths alone (no Polars, no PyArrow): a kept answer (`answer_memo`) names the
rollup files it was made from without importing what reads them.
"""

from __future__ import annotations

import errno
import hashlib
import os
import urllib.parse
from pathlib import Path

from console.private_files import replace_private
from console.sources.locations import S3_SCHEMES
from console.store.place import OWN_ROLLUPS


def is_remote(path) -> bool:
    return str(path).startswith(S3_SCHEMES)


def unwritable(folder: Path) -> str | None:
    """Why the rollup folder cannot be written (made if missing), None when it can: a read-only mount, a full
    disk or a file in its way made every long-window read fail with the OSError (exit 4)."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    if not os.access(folder, os.W_OK | os.X_OK):
        return "not writable"
    return None


# the errors only a write gives (a disk that fills midway, a quota, a mount gone read-only, a file-size limit): a
# folder that took the probe of `unwritable` may still refuse the rollup files themselves
FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})


class FolderFull(Exception):
    """The rollup folder refused a file midway (`FULL`): `why` is the system's word for it."""

    def __init__(self, folder: Path, why: str):
        super().__init__(f"the rollup folder {folder} cannot be written ({why})")
        self.folder, self.why = folder, why


def mirror_dir(url: str, base: Path | None = None, kind: str = "") -> Path:
    """Where a remote rollup folder is mirrored (under the XDG cache, keyed by its URL). `kind="build"` is the
    `rollup` command's own mirror: a console on the same box keeps the hours it built for itself in its
    mirror, which a build must neither prune nor push."""
    root = base or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlops-console"
    return root / f"rollups-{hashlib.sha1(url.rstrip('/').encode()).hexdigest()[:16]}{f'-{kind}' if kind else ''}"


def read_only(folder: Path) -> bool:
    """A folder that exists and can be read but not written: a side box's (or Spark's) rollups on a shared
    read-only mount, which the console reads through a mirror of its own (`rollup_dir`)."""
    folder = Path(folder)
    return folder.is_dir() and os.access(folder, os.R_OK | os.X_OK) and not os.access(folder, os.W_OK)


def source_of(cfg) -> str | None:
    """Where rollups that others build are pulled from into this machine's mirror (`rollup_remote.pull`): an
    s3:// `[rollups] path`, or a local one this process cannot write. None: the console reads and writes the
    folder itself."""
    configured = getattr(cfg, "rollups_path", None)
    if not configured:
        return None
    if is_remote(configured) or read_only(Path(configured)):
        return str(configured)
    return None


def rollup_dir(cfg, store_dir: Path) -> Path:
    """`[rollups] path`, else `rollups/` inside the store (the `rollup` command's default too); for an
    s3:// path or a read-only local one, the local mirror of it (`rollup_remote`), which also keeps the hours
    this console builds itself (before, a read-only folder's rollups were not read at all: every long window
    took the raw rows)."""
    configured = getattr(cfg, "rollups_path", None)
    if (source := source_of(cfg)) is not None:
        return mirror_dir(source if is_remote(source) else str(Path(source).resolve()))
    return Path(configured) if configured else Path(store_dir) / OWN_ROLLUPS


# A model's folder name, percent-quoted, is used as is up to this many bytes: the file system refuses a name past
# 255 bytes, and the longest name made from it (a verified record's temporary file, `.<name>.labels.json.<pid>.
# <thread>.tmp`) adds up to 46. A longer one ("File name too long" from `rollup`) becomes a readable prefix and a
# hash of the whole name (`folder_name`), so names up to here keep the folders they had.
NAME_BYTES = 200
NAME_FILE = "_model-name.txt"  # in a hashed folder: the model's whole name, which its folder name no longer holds
_HASHED = "+"  # never in a percent-quoted name (`quote(safe="")` spells it %2B): a hashed folder meets no plain one


def folder_name(model: str) -> str:
    """The name of a model's folder: the model percent-quoted, or for a long name (past `NAME_BYTES` quoted) its
    first characters up to 150 quoted bytes, `+` and 32 hex digits of its SHA-256 (two long names sharing
    the prefix still get two folders)."""
    quoted = urllib.parse.quote(model, safe="")
    if len(quoted) <= NAME_BYTES:  # (ASCII: characters are bytes)
        return quoted
    prefix = ""
    for ch in model:
        if len(prefix) + len(q := urllib.parse.quote(ch, safe="")) > 150:
            break
        prefix += q
    return f"{prefix}{_HASHED}{hashlib.sha256(model.encode()).hexdigest()[:32]}"


def model_dir(path: str | os.PathLike, model: str) -> Path:
    """One model's folder of rollup files."""
    return Path(path) / folder_name(model)


def model_of(folder: Path) -> str | None:
    """The model whose rollups a folder holds: its name unquoted, or a hashed one's `NAME_FILE` (None when that
    is missing or does not name this folder's model: not a model's folder)."""
    if _HASHED not in folder.name:
        return urllib.parse.unquote(folder.name)
    try:
        model = (folder / NAME_FILE).read_text(encoding="utf-8")
    except (OSError, ValueError):  # (a name file that is not UTF-8)
        return None
    return model if folder_name(model) == folder.name else None


def name_folder(folder: Path, model: str) -> None:
    """Writes a hashed folder's `NAME_FILE` (once: the name never changes)."""
    if _HASHED in folder.name and not (folder / NAME_FILE).is_file():
        replace_private(folder / NAME_FILE, model)


def file_stamps(folder: Path) -> list:
    """The rollup files of a folder by name, size and modification time (names starting with `_` or `.`, the
    records kept beside them and files being written, left out); [] when there is none."""
    try:
        entries = [e for e in os.scandir(folder) if not e.name.startswith(("_", "."))]
        return sorted([e.name, (st := e.stat()).st_size, st.st_mtime_ns] for e in entries)
    except OSError:
        return []
