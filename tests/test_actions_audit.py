"""The audit trail on real files: chain, tampering, truncation, interrupted actions, concurrent writers."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from console.actions import audit
from console.actions.audit import AuditLog


def _write(path: Path, n: int = 3) -> AuditLog:
    log = AuditLog(path)
    for i in range(n):
        aid = log.intent("promote", "fraud", "production", **{"from": str(i), "to": str(i + 1)}, reason="r")
        log.outcome(aid, "promote", "fraud", "production", "done", changes=[
            {"alias": "champion", "from_version": str(i), "to_version": str(i + 1)}])
    return log


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_records_are_chained_and_verified(tmp_path):
    path = tmp_path / "audit.jsonl"
    _write(path)
    recs = audit.read(path)
    assert len(recs) == 6
    assert recs[0]["prev_hash"] == audit.GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(recs, recs[1:]))
    assert recs[0]["action_id"] == recs[1]["action_id"] and recs[0]["phase"] == "intent"
    assert {"actor", "os_user", "host", "ts"} <= set(recs[0])
    assert recs[0]["ts"].endswith("Z")
    result = audit.verify(path)
    assert result.ok and result.count == 6 and result.first_bad_line is None


def test_edited_record_fails_verify(tmp_path):
    path = tmp_path / "audit.jsonl"
    _write(path)
    lines = _lines(path)
    rec = json.loads(lines[2])
    rec["reason"] = "nothing to see"
    lines[2] = json.dumps(rec)
    path.write_text("\n".join(lines) + "\n")
    result = audit.verify(path)
    assert not result.ok and result.first_bad_line == 3 and "edited" in result.message


def test_deleted_middle_record_fails_verify(tmp_path):
    path = tmp_path / "audit.jsonl"
    _write(path)
    lines = _lines(path)
    del lines[1]
    path.write_text("\n".join(lines) + "\n")
    result = audit.verify(path)
    assert not result.ok and result.first_bad_line == 2


def test_deleted_last_record_fails_verify(tmp_path):
    path = tmp_path / "audit.jsonl"
    _write(path)
    path.write_text("\n".join(_lines(path)[:-1]) + "\n")
    result = audit.verify(path)
    assert not result.ok and "missing at the end" in result.message and result.first_bad_line == 6


def test_inserted_record_fails_verify(tmp_path):
    path = tmp_path / "audit.jsonl"
    _write(path)
    lines = _lines(path)
    forged = {"phase": "outcome", "action": "rollback", "prev_hash": json.loads(lines[1])["hash"]}
    forged["hash"] = audit.record_hash(forged)
    lines.insert(2, audit.stored(forged).decode())  # written as the console writes: the chain gives it away
    path.write_text("\n".join(lines) + "\n")
    result = audit.verify(path)
    assert not result.ok and result.first_bad_line == 4


@pytest.mark.parametrize("how", ["key given twice", "re-spaced", "blank line", "CRLF"])
def test_a_line_rewritten_so_the_parser_reads_the_same_record_fails_verify(tmp_path, how):
    """Security probe, F8: the hash was checked on the parsed record, so a duplicate key placed before the real one
    (`"outcome":"failed"`, which Python's parser drops while `grep` finds it), other spacing, blank lines or CRLF
    line ends passed as intact. Only the bytes the console wrote verify."""
    path = tmp_path / "audit.jsonl"
    _write(path)
    lines = _lines(path)
    if how == "key given twice":
        lines[2] = '{"outcome":"failed",' + lines[2][1:]
    elif how == "re-spaced":
        lines[2] = json.dumps(json.loads(lines[2]), sort_keys=True)
    elif how == "blank line":
        lines.insert(2, "")
    else:
        lines[2] += "\r"
    assert json.loads(lines[2] or lines[3]) is not None
    path.write_text("\n".join(lines) + "\n")
    result = audit.verify(path)
    assert not result.ok and result.first_bad_line == 3, result


def test_the_trail_file_holds_no_raw_bidi_or_c1_character(tmp_path):
    """Security probe, F5: the stored line kept U+202E and U+009B raw, so `tail -f` of the trail reordered a reason
    or let a hook's answer steer the terminal; `audit` itself was safe. Escaped in the file, the same record."""
    path = tmp_path / "audit.jsonl"
    log = audit.AuditLog(path)
    log.append({"phase": "intent", "action": "promote", "reason": "bidi \u202eevil\u202c C1 \u009b31m"})
    raw = path.read_bytes()
    assert raw.isascii() and b"\\u202e" in raw and b"\\u009b" in raw
    assert audit.read(path)[0]["reason"] == "bidi \u202eevil\u202c C1 \u009b31m" and audit.verify(path).ok


def test_incomplete_intent_is_reported(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = _write(path, 1)
    aid = log.intent("rollback", "churn", "staging")
    pending = audit.incomplete(path)
    assert [r["action_id"] for r in pending] == [aid]
    log.outcome(aid, "rollback", "churn", "staging", "failed")
    assert audit.incomplete(path) == []


def test_read_filters_and_limits(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = _write(path, 2)
    log.intent("retrain", "churn", "production")
    assert [r["model"] for r in audit.read(path, model="churn")] == ["churn"]
    assert len(audit.read(path, limit=2)) == 2
    assert audit.read(tmp_path / "none.jsonl") == []
    last = audit.last_change(path, "fraud", "champion")
    assert (last["from"], last["to"]) == ("1", "2") and last["by"]


def test_concurrent_writers_keep_the_chain(tmp_path):
    path = tmp_path / "audit.jsonl"

    def work():
        log = AuditLog(path)
        for _ in range(10):
            log.append({"phase": "note", "model": "m"})

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = audit.verify(path)
    assert result.ok and result.count == 40


def test_default_path_uses_xdg_state(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert audit.default_path(None) == tmp_path / "mlops-console" / "audit.jsonl"
