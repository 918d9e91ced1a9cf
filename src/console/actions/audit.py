"""The audit trail: append-only JSONL, hash-chained, written before and after every action.

Each record carries `prev_hash` (the previous record's `hash`, 64 zeros for the first) and `hash`
(sha256 of the canonical JSON of the record without `hash`), so editing, inserting, deleting or
swapping a record breaks the chain at that line. A chain alone cannot show that the *last* records
were cut off, or that one was added by someone recomputing the hash, so a sidecar `<file>.head`
keeps the count and hash of the last record; `verify` compares both ways (fewer records: cut or
wiped; more: appended outside the console), and a non-empty trail without its sidecar fails.

`append` verifies the whole trail under the lock first and refuses to extend one that fails: a
damaged trail is investigated, never healed by the next action. Before writing a record the sidecar
notes it as `pending`, so a crash between the line and the sidecar update is told apart from a forged
append. Someone able to rewrite the file and the sidecar together can still forge a consistent
history: `[audit] sink` ships a copy of every record (HTTP POST or syslog) somewhere they cannot.

Writes hold a file lock (`<file>.lock`) and are flushed and fsynced before returning, so an action
never runs ahead of its intent record. An intent without an outcome is an interrupted action. The
files are created 0600 in folders created 0700 (`console.private_files`).
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from console.config import Secret, reveal
from console.private_files import open_private, private_dir, replace_private, tighten
from console.redact import redact_uri

GENESIS = "0" * 64
LOCK_TIMEOUT_S = 30.0
SINK_TIMEOUT_S = 2.0


class AuditError(Exception):
    """The audit trail cannot be written or read; no action proceeds without its intent record."""


class AuditTampered(AuditError):
    """The trail fails verification: appending would hide that, so nothing is appended."""


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
    """Who is acting and from where. `actor` is the account of the real uid; `sudo_user` (the login sudo
    came from) and `claimed_user` (USER/LOGNAME when they differ from the real account) are information only,
    since whoever starts the process sets them."""
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = f"uid:{uid}"
    claimed = os.environ.get("USER") or os.environ.get("LOGNAME")
    ssh = os.environ.get("SSH_CONNECTION", "").split()
    return {"actor": name, "uid": uid, "os_user": name, "sudo_user": os.environ.get("SUDO_USER"),
            "claimed_user": claimed if claimed and claimed != name else None,
            "ssh_client": ssh[0] if ssh else None, "host": socket.gethostname(), "pid": os.getpid()}


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def stored(record: dict[str, Any]) -> bytes:
    """A record as the trail holds it: the canonical form with every character past ASCII escaped, so a bidi
    override or a C1 control from a hook's answer or a `--reason` never reaches a terminal showing the file
    (`tail -f`, `less`, a syslog viewer). The hash stays over the canonical form, so older trails verify."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str).encode()


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


def _head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


_NO_HEAD, _BAD_HEAD = "missing", "unreadable"


def _read_head(path: Path) -> dict[str, Any] | str:
    """The sidecar as a dict, or `_NO_HEAD` / `_BAD_HEAD`."""
    try:
        head = json.loads(_head_path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return _NO_HEAD
    except (OSError, ValueError):
        return _BAD_HEAD
    ok = isinstance(head, dict) and isinstance(head.get("count"), int) and isinstance(head.get("hash"), str)
    return head if ok else _BAD_HEAD


@dataclass(frozen=True)
class _State:
    result: VerifyResult
    count: int
    last_hash: str


INVESTIGATE = ("run `mlops-console audit verify` and compare the trail with its copies (the [audit] sink, "
               "backups); to start a new trail after investigating, move both files ({path} and {path}.head) "
               "aside")


def _ends_with_newline(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"
    except OSError:  # empty or gone: nothing to join
        return True


def _check(path: Path) -> _State:
    """The chain, then the sidecar both ways; the state an append would continue from."""
    prev, count, hashes = GENESIS, 0, []
    for n, rec, raw in _lines(path):
        if rec is None:
            return _State(VerifyResult(False, count, n, f"line {n}: not a JSON record"), count, prev)
        if rec.get("prev_hash") != prev:
            return _State(VerifyResult(False, count, n, f"line {n}: chain broken (a record before it was "
                                                        "deleted, inserted, swapped or edited)"), count, prev)
        if rec.get("hash") != record_hash(rec):
            return _State(VerifyResult(False, count, n, f"line {n}: record was edited (hash mismatch)"), count, prev)
        if raw not in (stored(rec), canonical(rec)):  # the bytes, not only what a parser keeps of them
            return _State(VerifyResult(False, count, n, f"line {n}: not as the console wrote it (re-written: other "
                                                        "spacing or line ends, a key given twice)"), count, prev)
        prev = rec["hash"]
        hashes.append(prev)
        count += 1
    bad = lambda line, msg: _State(VerifyResult(False, count, line, msg), count, prev)  # noqa: E731
    if count and not _ends_with_newline(path):  # the console ends every record with one: the next append would
        return bad(count, f"line {count}: no newline at its end (the file was cut or edited); "  # join this line
                          "the next record would be written on the same line")
    head = _read_head(path)
    if head == _BAD_HEAD:
        return bad(None, f"the sidecar {_head_path(path).name} is unreadable: the end of the trail cannot be checked")
    if head == _NO_HEAD:
        if count:
            return bad(None, f"{count} records but the sidecar {_head_path(path).name} is missing: records cut "
                             "off the end or appended cannot be ruled out")
        return _State(VerifyResult(True, 0, None, "0 records (no trail yet)"), 0, GENESIS)
    expected = int(head["count"])
    if count < expected:
        what = "the trail was wiped" if count == 0 else "records were cut off the end"
        return bad(count + 1, f"{expected - count} record(s) missing at the end ({what}: expected {expected}, "
                              f"found {count})")
    if expected and hashes[expected - 1] != head["hash"]:
        return bad(expected, f"line {expected}: does not match the recorded head (the trail was rewritten)")
    if count == expected + 1 and head.get("pending") == hashes[-1]:
        return _State(VerifyResult(True, count, None, f"{count} records, chain intact (the last append was "
                                                      "interrupted before its sidecar update; it is complete)"),
                      count, prev)
    if count > expected:
        return bad(expected + 1, f"{count - expected} record(s) after the recorded head, from line {expected + 1}: "
                                 "appended outside the console (or forged)")
    return _State(VerifyResult(True, count, None, f"{count} records, chain intact"), count, prev)


class AuditLog:
    """Appends chained records to one audit file; safe across threads and processes.

    `sink`: "http(s)://..." (each record POSTed as JSON), "syslog" (the local syslog) or
    "syslog://host:port" (UDP). A sink that fails does not stop the action: `sink_error` says why.
    """

    def __init__(self, path: str | os.PathLike, clock: Callable[[], datetime] | None = None,
                 sink: str | Secret | None = None):
        self.path = Path(path)
        self.clock = clock
        self.sink = sink or None
        self.sink_error: str | None = None
        # (inode, size, mtime_ns, count, last hash) right after this object's last append: while the file is
        # exactly as it left it, the next append skips re-walking the chain it already verified
        self._known: tuple[int, int, int, int, str] | None = None

    def _lock(self) -> FileLock:
        return FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_S, mode=0o600)

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Verify, chain, write, fsync; returns the record as written (with ts, prev_hash, hash).

        Raises `AuditTampered` (nothing written) when the trail fails verification, `AuditError` when it
        cannot be written."""
        try:
            private_dir(self.path.parent)
            with self._lock():
                tighten(str(self.path) + ".lock")
                count, last_hash = self._verified_end()
                rec = {"ts": now_iso(self.clock), **record, "prev_hash": last_hash}
                rec["hash"] = record_hash(rec)
                self._write_head(count, last_hash, pending=rec["hash"])
                with open_private(self.path, "ab") as f:
                    f.write(stored(rec) + b"\n")
                    f.flush()
                    os.fsync(f.fileno())
                    st = os.fstat(f.fileno())
                self._write_head(count + 1, rec["hash"])
                self._known = (st.st_ino, st.st_size, st.st_mtime_ns, count + 1, rec["hash"])
        except Timeout:
            raise AuditError(f"audit trail {self.path} is locked by another process") from None
        except OSError as exc:
            raise AuditError(f"cannot write the audit trail {self.path}: {exc.strerror or exc}") from None
        self._ship(rec)
        return rec

    def _verified_end(self) -> tuple[int, str]:
        """(count, last hash) of a trail that passes verification; raises AuditTampered otherwise."""
        try:
            st = os.stat(self.path)
            now = (st.st_ino, st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            now = None
        head = _read_head(self.path)
        if self._known is not None and now == self._known[:3] and isinstance(head, dict) \
                and (head.get("count"), head.get("hash"), head.get("pending")) == (*self._known[3:], None):
            return self._known[3], self._known[4]
        state = _check(self.path)
        if not state.result.ok:
            self._known = None
            raise AuditTampered(f"audit trail {self.path} fails verification ({state.result.message}); refusing to "
                                f"append to it: " + INVESTIGATE.format(path=self.path))
        return state.count, state.last_hash

    def _write_head(self, count: int, last_hash: str, pending: str | None = None) -> None:
        # a temporary file of this process, created new (O_EXCL): the fixed `<head>.tmp` name let a link planted
        # in a shared folder turn the write into one of any file the operator may write
        replace_private(_head_path(self.path),
                        json.dumps({"count": count, "hash": last_hash, **({"pending": pending} if pending else {})}),
                        durable=True)

    def _ship(self, rec: dict[str, Any]) -> None:
        """Send a copy to the second sink; a failure is remembered, never raised."""
        self.sink_error = None
        if not self.sink:
            return
        shown = self.sink.template if isinstance(self.sink, Secret) else self.sink  # its ${VAR}s, not their values
        try:
            ship(reveal(self.sink), rec)
        except Exception as exc:  # noqa: BLE001 - the local record is written; the sink is best effort
            why = str(exc) if str(exc).startswith("HTTP ") else type(exc).__name__  # never a message quoting the URL
            self.sink_error = f"audit sink {_where(shown or '')} did not take the record: {why}"

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


def _where(sink: str) -> str:
    """The sink as a message names it: an HTTP one by scheme, host and port alone (a token may sit in its path or
    query under any name: `sig=`, `/hooks/<token>`), the rest as configured, masked."""
    if sink.startswith(("http://", "https://")):
        parts = urlsplit(sink)
        try:
            port = f":{parts.port}" if parts.port else ""
        except ValueError:
            port = ""
        return f"{parts.scheme}://{parts.hostname or ''}{port}"
    return redact_uri(sink)


def ship(sink: str, rec: dict[str, Any]) -> None:
    """One record to `sink` (see `AuditLog`); raises on any failure. The record as the trail stores it (`stored`): a
    syslog viewer or a collector's console shows the shipped copy, and a reason's bidi override or C1 control
    reached them raw in the canonical form."""
    body = stored(rec)
    if sink.startswith(("http://", "https://")):
        import httpx

        from console.actions.hooks import _exchange

        # the status alone, its body never read: a collector trickling one (each read inside the timeout) held the
        # action between its intent and its deploy hook for as long as it kept sending; and its headers cut at the
        # timeout (`_exchange`): one trickling those held every record for over a minute
        with httpx.Client(timeout=SINK_TIMEOUT_S) as client:
            code, _ = _exchange(client, "POST", sink, time.monotonic() + SINK_TIMEOUT_S, body=False, content=body,
                                headers={"Content-Type": "application/json"})
        if code >= 300:
            raise OSError(f"HTTP {code}")
        return
    message = b"mlops-console[%d]: " % os.getpid() + body
    if sink == "syslog":
        import syslog

        syslog.openlog("mlops-console", syslog.LOG_PID, syslog.LOG_AUTH)
        syslog.syslog(syslog.LOG_NOTICE, body.decode("utf-8", errors="replace"))
        return
    if sink.startswith("syslog://"):
        parts = urlsplit(sink)
        priority = 4 * 8 + 5  # facility auth, severity notice (RFC 5424 PRI)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"<%d>" % priority + message, (parts.hostname or "127.0.0.1", parts.port or 514))
        return
    raise ValueError("unsupported sink: expected http(s)://..., syslog or syslog://host:port")


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, bytes]]:
    """(line number, record or None, the line's bytes without its newline), every line, for verification: a
    blank line, a line re-spaced or a key given twice before the real one (which Python's parser drops, while
    `grep` reads the record as failed) is a change to the file the console never makes."""
    try:
        with open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                raw = line[:-1] if line.endswith(b"\n") else line
                try:
                    rec = json.loads(raw)
                except ValueError:
                    yield n, None, raw
                    continue
                yield n, rec if isinstance(rec, dict) else None, raw
    except FileNotFoundError:
        return


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
    """Walk the chain and compare its end with the sidecar; the first thing that does not fit names the line."""
    return _check(Path(path)).result


def read(path: str | os.PathLike, model: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Records oldest first (the last `limit` of them), optionally for one model; unreadable lines skipped."""
    out = [rec for _, rec in _records(Path(path)) if rec is not None and (model is None or rec.get("model") == model)]
    return out[-limit:] if limit else out


def retrain_since(records: list[dict[str, Any]], since: str, environment: str | None = None) -> dict[str, Any] | None:
    """The intent of a retrain among `records` (of one model; of `environment`, None for any) requested at or
    after `since`, or still running then (its outcome recorded since), unless its hook said none started
    (`failed`): a refused retrain, or one whose hook answered 500, started nothing to wait for. What two retrains
    asked at once (`Operator.retrain`) and the auto-retrain cool-down (`Service`) both ask."""
    ours = [r for r in records if r.get("action") == "retrain"
            and (environment is None or r.get("environment") == environment)]
    failed = {r.get("action_id") for r in ours if r.get("phase") == "outcome" and r.get("outcome") == "failed"}
    recent = {r.get("action_id") for r in ours if r.get("phase") in ("intent", "outcome")
              and str(r.get("ts", "")) >= since} - failed
    return next((r for r in ours if r.get("phase") == "intent" and r.get("action_id") in recent), None)


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


def former_versions(path: str | os.PathLike, model: str, alias: str) -> set[str]:
    """Every version a completed move took `alias` away from (a rollback's allowed targets, with the history tag)."""
    return {str(change["from_version"]) for rec in read(path, model=model)
            if rec.get("phase") == "outcome" and rec.get("outcome") == "done"
            for change in rec.get("changes") or []
            if change.get("alias") == alias and change.get("from_version")}


def traffic_text(rec: dict[str, Any]) -> str | None:
    """A canary step's or abort's change as the audit views show it, "v4 50%": the version does not move (its
    from and to are the same), the traffic does, and "4->4" read as nothing changed. None for other records."""
    action, pct = str(rec.get("action") or ""), rec.get("traffic_pct")
    if action not in ("canary-step", "canary-abort") or not isinstance(pct, (int, float)):
        return None
    return f"v{rec.get('to') or rec.get('from') or '?'} {pct:g}%"


def _v(version: Any, none: str) -> str:
    return f"v{version}" if version not in (None, "") else none


def side_text(side: Any) -> str:
    """One side of a refusal (`operator._side`): its changes as the plan says them, else its alias's version."""
    if not isinstance(side, dict):
        return "-"
    changes = [c for c in side.get("changes") or () if isinstance(c, dict)]
    text = ", ".join(f"{c.get('alias')}: {_v(c.get('from_version'), 'unset')} -> {_v(c.get('to_version'), 'removed')}"
                     for c in changes) or f"{side.get('alias')} {_v(side.get('from'), 'unset')}"
    pct = f" at {side['canary_pct']} %" if side.get("canary_pct") is not None else ""
    return text + pct


def sides_text(rec: dict[str, Any]) -> str:
    """What a refused action's operator confirmed and what the registry holds now, in one line (a conflict's
    versions read as the re-made plan's, `from 4 -> to 5` for a v5 -> v4 rollback that lost the race)."""
    now = rec.get("now") if isinstance(rec.get("now"), dict) else {}
    return (f"confirmed {side_text(rec.get('confirmed'))}; now {now.get('alias')} is {_v(now.get('from'), 'unset')}"
            f" (a plan made now: {side_text(now)})")


def change_text(rec: dict[str, Any]) -> str:
    """What a record's action moved, as every view of the trail says it (the `audit` command, the Audit screen):
    a refusal's confirmed and current sides, a canary's traffic, each alias's move, else from -> to; "" for none.
    The Audit screen had its own: "-" for a refusal (its versions are in `confirmed`/`now`) and the champion's
    "3->2" for a shadow start."""
    changes = rec.get("changes") if isinstance(rec.get("changes"), list) else None
    traffic = traffic_text(rec)
    if "confirmed" in rec and "now" in rec:  # a refusal: what was confirmed, what the registry held instead
        return sides_text(rec)
    if traffic:  # a canary step or abort: its traffic moved, not its version ("4->4")
        return f"canary {traffic} of traffic"
    if changes:  # what moved, alias by alias: `from`/`to` are the champion's, "3->2" for a shadow start
        return ", ".join(f"{c.get('alias')}: {_v(c.get('from_version'), 'unset')} -> "
                         f"{_v(c.get('to_version'), 'removed')}" for c in changes if isinstance(c, dict))
    return f"{_v(rec.get('from'), '-')}->{_v(rec.get('to'), '-')}" if ("from" in rec or "to" in rec) else ""
