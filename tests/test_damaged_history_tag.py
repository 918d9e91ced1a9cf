"""The console's alias-history tag (`console.history.<alias>`) is a registry tag anyone can write: one that is not
a JSON list of versions is damaged and names no former champion. `5` (or `null`) raised TypeError in every
action's `state()`, so no action on the model could even be planned; a string (`"34"`) was read as versions 3 and
4, so a rollback went to a version nobody recorded as champion."""

from __future__ import annotations

import pytest

from conftest import mlflow_client, seed_model, unique
from console.actions.operator import HISTORY_TAG, Operator, alias_history
from console.actions.policy import User
from console.config import parse
from console.sources.registry import Registry


@pytest.mark.parametrize("raw", ["5", "null", '"34"', '{"3": 1}', "true", "[null, true, {}]"])
def test_a_history_tag_that_is_not_a_list_of_versions_names_none(raw):
    assert alias_history({HISTORY_TAG + "champion": raw}, "champion") == []


def test_the_versions_of_a_history_list_are_kept():
    assert alias_history({HISTORY_TAG + "champion": '["1", 2]'}, "champion") == ["1", "2"]


def test_a_damaged_history_tag_neither_breaks_actions_nor_picks_their_target(sqlite_uri, tmp_path):
    name = unique("histtag")
    seed_model(sqlite_uri, name, 4, aliases={"champion": "2"})
    client = mlflow_client(sqlite_uri)
    cfg = parse({"audit": {"path": str(tmp_path / "audit.jsonl")}}, root=tmp_path)
    op = Operator(cfg, Registry(sqlite_uri), user=User("alice", ("mlops",)), lease_pause_s=0.01)

    client.set_registered_model_tag(name, HISTORY_TAG + "champion", "5")
    assert not op.state(name, "production").has_previous_champion
    result = op.rollback(name, reason="r")
    assert result.status == "refused" and "no previous champion known" in result.message, result.message

    client.set_registered_model_tag(name, HISTORY_TAG + "champion", '"34"')
    result = op.rollback(name, reason="r")
    assert result.status == "refused" and "no previous champion known" in result.message, result.message
    assert str(client.get_registered_model(name).aliases["champion"]) == "2"
