"""Two operators acknowledging one incident at once (the `ack` command beside the TUI's k, two terminals): each
service had read the incident unacknowledged, and both acknowledgements were recorded. The operator reads the
trail again under a lock before writing: the second hears who acknowledged it first (a conflict, exit 3)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from console.actions import audit
from console.actions.operator import Operator
from console.actions.policy import User
from console.config import parse


@dataclass(frozen=True)
class Incident:
    id: str = "fraud:accuracy:20261201T1000"
    model: str = "fraud"
    rule: str = "accuracy"
    onset: datetime = datetime(2026, 12, 1, 10)
    end: datetime | None = None
    firing: bool = True


def operator(tmp_path, name: str) -> Operator:
    cfg = parse({"audit": {"path": str(tmp_path / "audit.jsonl")}}, root=tmp_path)
    return Operator(cfg, None, user=User(name, ("mlops",)))


def acks(tmp_path) -> list[dict]:
    return [r for r in audit.read(tmp_path / "audit.jsonl") if r.get("phase") == "ack"]


def test_an_incident_acknowledged_meanwhile_is_not_acknowledged_again(tmp_path):
    at = datetime(2026, 12, 1, 12)
    first = operator(tmp_path, "alice").acknowledge(Incident(), at, "known: label delay")
    assert first.ok, first.message
    second = operator(tmp_path, "bob").acknowledge(Incident(), at, "me too")  # read before alice's ack landed
    assert second.status == "conflict" and "already" in second.details, second
    assert "was acknowledged by" in second.message and "known: label delay" in second.message
    assert len(acks(tmp_path)) == 1
    assert audit.verify(tmp_path / "audit.jsonl").ok


def test_two_operators_at_once_record_one_acknowledgement(tmp_path):
    results = []
    go = threading.Barrier(4)

    def ack(name):
        op = operator(tmp_path, name)
        go.wait()
        results.append(op.acknowledge(Incident(), datetime(2026, 12, 1, 12), f"seen by {name}"))

    workers = [threading.Thread(target=ack, args=(n,)) for n in ("a", "b", "c", "d")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert sorted(r.status for r in results) == ["conflict", "conflict", "conflict", "done"]
    assert len(acks(tmp_path)) == 1
