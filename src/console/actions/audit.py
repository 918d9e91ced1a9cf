"""The audit trail: append-only JSONL, hash-chained, written before and after every action.

Each record carries `prev_hash` (the previous record's `hash`, 64 zeros for the first) and `hash`
(sha256 of the canonical JSON of the record without `hash`), so editing, inserting or deleting a
record breaks the chain at that line. A chain alone cannot show that the *last* records were cut
off, so a sidecar `<file>.head` keeps the count and hash of the last record; `verify` compares
both. Someone able to rewrite the file and the sidecar together can still forge a consistent
history: for that, ship the records to storage the operator cannot rewrite.

Writes hold a file lock (`<file>.lock`) and are flushed and fsynced before returning, so an action
never runs ahead of its intent record. An intent without an outcome is an interrupted action.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from filelock import FileLock, Timeout

GENESIS = "0" * 64
LOCK_TIMEOUT_S = 30.0


class AuditError(Exception):
    """The audit trail cannot be written or read; no action proceeds without its intent record."""


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    first_bad_line: int | None
    message: str


def default_path(cfg: Any = None) -> Path:
    """`[audit] path`, else `$XDG_STATE_HOME/mlops-console/audit.jsonl` (~/.local/state)."""
    if cfg is not None and getattr(cfg, "audit_path", None):
        return Path(cfg.audit_path)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "mlops-console" / "audit.jsonl"


def now_iso(clock: Callable[[], datetime] | None = None) -> str:
    t = (clock or (lambda: datetime.now(timezone.utc)))().astimezone(timezone.utc)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def actor_fields() -> dict[str, Any]:
    """Who is acting and from where: SUDO_USER over the OS user, the SSH client address, the host."""
    import getpass
    os_user = getpass.getuser()
    sudo = os.environ.get("SUDO_USER")
    ssh = os.environ.get("SSH_CONNECTION", "").split()
    return {"actor": sudo or os_user, "os_user": os_user, "sudo_user": sudo,
            "ssh_client": ssh[0] if ssh else None, "host": socket.gethostname(), "pid": os.getpid()}


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


def _head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


def _read_head(path: Path) -> dict[str, Any] | None:
    try:
        head = json.loads(_head_path(path).read_text(encoding="utf-8"))
        return head if isinstance(head, dict) and "count" in head and "hash" in head else None
    except (OSError, ValueError):
        return None


def _last_line(path: Path) -> str | None:
    """The last non-empty line, read from the end so a long trail stays cheap."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            chunk = 65536
            while True:
                start = max(0, size - chunk)
                f.seek(start)
                data = f.read(size - start)
                lines = [ln for ln in data.split(b"\n") if ln.strip()]
                if lines and (start == 0 or len(lines) > 1):
                    return lines[-1].decode("utf-8", errors="replace")
                if start == 0:
                    return None
                chunk *= 4
    except FileNotFoundError:
        return None


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as f:
            return sum(1 for ln in f if ln.strip())
    except FileNotFoundError:
        return 0


class AuditLog:
    """Appends chained records to one audit file; safe across threads and processes."""

    def __init__(self, path: str | os.PathLike, clock: Callable[[], datetime] | None = None):
        self.path = Path(path)
        self.clock = clock

    def _lock(self) -> FileLock:
        return FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_S)

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Chain, write, fsync; returns the record as written (with ts, prev_hash, hash)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock():
                last = _last_line(self.path)
                prev, count = GENESIS, 0
                if last is not None:
                    try:
                        prev = json.loads(last)["hash"]
                    except (ValueError, KeyError, TypeError):
                        prev = hashlib.sha256(last.encode()).hexdigest()  # damaged tail: chain past it
                    head = _read_head(self.path)
                    count = head["count"] if head and head["hash"] == prev else _count_lines(self.path)
                rec = {"ts": now_iso(self.clock), **record, "prev_hash": prev}
                rec["hash"] = record_hash(rec)
                line = canonical(rec) + b"\n"
                with open(self.path, "ab") as f:
                    if f.tell() > 0 and not _ends_with_newline(self.path):
                        f.write(b"\n")
                    f.write(line)
                    f.flush()
                    os.fsync(f.fileno())
                self._write_head(count + 1, rec["hash"])
                return rec
        except Timeout:
            raise AuditError(f"audit trail {self.path} is locked by another process") from None
        except OSError as exc:
            raise AuditError(f"cannot write the audit trail {self.path}: {exc.strerror or exc}") from None

    def _write_head(self, count: int, last_hash: str) -> None:
        head = _head_path(self.path)
        tmp = head.with_name(head.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"count": count, "hash": last_hash}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, head)

    def intent(self, action: str, model: str, environment: str, **fields: Any) -> str:
        """Record what is about to happen; returns the action_id that links the outcome."""
        action_id = fields.pop("action_id", None) or uuid.uuid4().hex
        self.append({"phase": "intent", "action_id": action_id, "action": action, "model": model,
                     "environment": environment, **actor_fields(), **fields})
        return action_id

    def outcome(self, action_id: str, action: str, model: str, environment: str, outcome: str,
                **fields: Any) -> dict[str, Any]:
        return self.append({"phase": "outcome", "action_id": action_id, "action": action, "model": model,
                            "environment": environment, "outcome": outcome, **actor_fields(), **fields})


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(line number, record or None when the line is not a JSON object), blank lines skipped."""
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    yield n, None
                    continue
                yield n, rec if isinstance(rec, dict) else None
    except FileNotFoundError:
        return


def verify(path: str | os.PathLike) -> VerifyResult:
    """Walk the chain; the first record that does not fit names the line to look at."""
    path = Path(path)
    prev, count, hashes = GENESIS, 0, []
    for n, rec in _records(path):
        if rec is None:
            return VerifyResult(False, count, n, f"line {n}: not a JSON record")
        if rec.get("prev_hash") != prev:
            return VerifyResult(False, count, n, f"line {n}: chain broken (a record before it was "
                                                 "deleted, inserted or edited)")
        if rec.get("hash") != record_hash(rec):
            return VerifyResult(False, count, n, f"line {n}: record was edited (hash mismatch)")
        prev = rec["hash"]
        hashes.append(prev)
        count += 1
    head = _read_head(path)
    if head is not None:
        expected = int(head["count"])
        if count < expected:
            return VerifyResult(False, count, count + 1,
                                f"{expected - count} record(s) missing at the end (expected {expected}, found {count})")
        if expected and hashes[expected - 1] != head["hash"]:
            return VerifyResult(False, count, expected, f"line {expected}: does not match the recorded head")
    elif count:
        return VerifyResult(True, count, None, f"{count} records, chain intact (no head file: "
                                               "truncation at the end cannot be checked)")
    return VerifyResult(True, count, None, f"{count} records, chain intact")


def read(path: str | os.PathLike, model: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Records oldest first (the last `limit` of them), optionally for one model; unreadable lines skipped."""
    out = [rec for _, rec in _records(Path(path)) if rec is not None and (model is None or rec.get("model") == model)]
    return out[-limit:] if limit else out


def incomplete(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Intents with no outcome: actions interrupted by a crash, oldest first."""
    intents: dict[str, dict[str, Any]] = {}
    for rec in read(path):
        aid = rec.get("action_id")
        if rec.get("phase") == "intent" and aid:
            intents[aid] = rec
        elif rec.get("phase") == "outcome":
            intents.pop(aid, None)
    return list(intents.values())


def last_change(path: str | os.PathLike, model: str, alias: str) -> dict[str, Any] | None:
    """The latest completed move of `alias`: {by, at, from, to, action_id}."""
    for rec in reversed(read(path, model=model)):
        if rec.get("phase") != "outcome" or rec.get("outcome") != "done":
            continue
        for change in rec.get("changes") or []:
            if change.get("alias") == alias:
                return {"by": rec.get("actor"), "at": rec.get("ts"), "from": change.get("from_version"),
                        "to": change.get("to_version"), "action_id": rec.get("action_id")}
    return None
