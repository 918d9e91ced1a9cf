"""A canary step moves no alias, only the canary's traffic tag (and the tag saying when the console set it). The
registry failing between those two writes left the traffic moved in the registry while the result and the audit
trail said "failed ... nothing changed" (exit 4: "nothing changed"): the registry and the trail disagreed. Found by
the thirty-eighth session's probe (which registry failure can leave the registry and the audit trail disagreeing).
The outcome is now unknown (exit 5: check, then re-run or roll back), as it is when an alias may have moved."""

from __future__ import annotations

from pathlib import Path

from conftest import mlflow_client, seed_model, unique
from console.actions import audit
from console.actions.operator import CANARY_PCT_AT_TAG, CANARY_PCT_TAG, Operator
from console.actions.policy import User
from console.config import parse
from console.sources.registry import Registry, RegistryUnavailable


class SecondTagFails(Registry):
    """The traffic tag is written; the registry drops the connection on the next write (its time)."""

    def set_model_tag(self, model, key, value):
        if key.startswith(CANARY_PCT_AT_TAG):
            raise RegistryUnavailable("registry unreachable (connection reset)")
        return super().set_model_tag(model, key, value)


def test_a_canary_step_cut_after_its_traffic_tag_is_not_said_unchanged(sqlite_uri, tmp_path: Path):
    name = unique("half")
    seed_model(sqlite_uri, name, 2, aliases={"champion": "1", "canary": "2"})
    mlflow_client(sqlite_uri).set_registered_model_tag(name, CANARY_PCT_TAG + "canary", "10")
    cfg = parse({"audit": {"path": str(tmp_path / "audit.jsonl")},
                 "environments": {"production": {"production": True}}}, root=tmp_path)
    op = Operator(cfg, SecondTagFails(sqlite_uri), user=User("alice", ("mlops",)), backoff_s=0.01,
                  lease_pause_s=0.05)
    result = op.canary_step(name, "production", expected_from="2", reason="healthy")
    now = mlflow_client(sqlite_uri).get_registered_model(name).tags.get(CANARY_PCT_TAG + "canary")
    assert now == "25"  # the traffic moved in the registry ...
    outcome = [r for r in audit.read(tmp_path / "audit.jsonl") if r.get("phase") == "outcome"][-1]
    # ... so neither the result nor the trail may say that nothing changed
    assert "nothing changed" not in result.message, result.message
    assert result.status == outcome["outcome"] == "unknown", (result.status, result.message)
