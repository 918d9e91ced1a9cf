"""Files the console creates hold what operators did and what the logs say: only their owner reads them.

`private_dir` creates missing folders 0700 (folders that already exist are left as they are: an
operator's `[audit] path` may point into a shared place on purpose); `open_private` creates a file
0600 and tightens an existing one the console owns. The audit trail, its sidecar, the lock files and
the warehouse cache all go through here.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path
from typing import IO, Any

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | os.PathLike) -> Path:
    """`path` as a folder, missing parts created 0700 (whatever the umask)."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(d, DIR_MODE)
    return path


def _flags(mode: str) -> int:
    base = {"r": os.O_RDONLY, "w": os.O_WRONLY | os.O_CREAT | os.O_TRUNC, "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
            "x": os.O_WRONLY | os.O_CREAT | os.O_EXCL}[mode[0]]
    if "+" in mode:
        base = (base & ~(os.O_RDONLY | os.O_WRONLY)) | os.O_RDWR
        if mode[0] == "r":
            base |= os.O_CREAT
    return base | getattr(os, "O_CLOEXEC", 0)


def _no_foreign_link(path: Path) -> None:
    """Refuse a symbolic link another user made: in a shared folder (an `[audit] path` several operators append
    to), a link planted under the trail's name made the console write, truncate and chmod whatever it pointed at,
    with the operator's rights. A link the user made himself is followed."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) and st.st_uid != os.getuid():
        raise OSError(errno.ELOOP, f"{path} is a symbolic link another user made: not followed")


def open_private(path: str | os.PathLike, mode: str = "a", **kwargs: Any) -> IO[Any]:
    """`open(path, mode)`, but a created file is 0600 and one this user owns is tightened to 0600."""
    path = Path(path)
    private_dir(path.parent)
    _no_foreign_link(path)
    fd = os.open(path, _flags(mode), FILE_MODE)
    try:
        st = os.fstat(fd)
        if st.st_uid == os.getuid() and st.st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def tighten(path: str | os.PathLike) -> None:
    """Make an existing file this user owns 0600 (a lock file another library created); never through a link."""
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            return
        if st.st_uid == os.getuid() and st.st_mode & 0o777 != FILE_MODE:
            os.chmod(path, FILE_MODE)
    except OSError:
        pass


def replace_private(path: str | os.PathLike, text: str, durable: bool = False) -> None:
    """`path` replaced at once by a file of `text` (0600): a reader sees the old file or the new, never a part.

    The temporary file is named for this process and thread: two threads saving one file (a console's workers,
    the rollup catch-up's read-ahead) each write their own and the later rename wins, where one shared name let a
    thread rename the other's half-written file into place. `durable`: flushed to the disk, the folder's entry
    too, before it returns (a commit point). An OSError is raised after the temporary file is removed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.unlink(missing_ok=True)  # a leftover of a process of this pid; O_EXCL: never through a planted link
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        sync_folder(path.parent)


def sync_folder(folder: str | os.PathLike) -> None:
    """The folder's entries (a rename into it) flushed to the disk."""
    dfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def rename_durably(tmp: str | os.PathLike, target: str | os.PathLike) -> None:
    """`tmp`, written and closed, flushed to the disk and then renamed to `target`, the rename flushed too: without
    the first fsync a crash soon after (ext4's delayed allocation) could leave `target` named but empty, and an
    immutable file (a rollup hour or day) is never written again to mend it."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    sync_folder(Path(target).parent)
