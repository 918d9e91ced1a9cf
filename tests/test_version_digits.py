"""`str.isdigit` holds for `²` and for other scripts' digits: `int("²")` raised ValueError, so `promote m ²`,
`rollback --to ²` or `--from ²` ended in "error: ValueError" and exit 4 (a remote failure) instead of "has no
version" and exit 2, and a `console.canary_pct.<alias>` tag of `²` (anyone can write a registry tag) broke every
plan of the model's canary."""

from __future__ import annotations

import pytest

from console.actions.catalog import version_text
from console.actions.locks import _norm
from console.actions.operator import CANARY_PCT_TAG, Operator
from console.actions.policy import User
from console.config import parse


@pytest.mark.parametrize("typed", ["²", "v²", "٣", "v٣", "①"])
def test_a_version_of_non_ascii_digits_is_kept_as_typed(typed):
    assert version_text(typed) == typed
    assert _norm(typed) == typed


def test_versions_are_still_read_as_written():
    assert version_text("v04") == version_text("4") == _norm("V4") == "4"
    assert _norm("none") is None and version_text(None) is None


def test_a_canary_traffic_tag_of_non_ascii_digits_is_no_traffic(tmp_path):
    cfg = parse({"audit": {"path": str(tmp_path / "audit.jsonl")}}, root=tmp_path)
    op = Operator(cfg, None, user=User("alice", ("mlops",)))
    aliases = {"champion": "3", "canary": "4"}
    assert op.canary_pct("m", "production", aliases, {CANARY_PCT_TAG + "canary": "²"}) == cfg.canary_steps[0]
    assert op.canary_pct("m", "production", aliases, {CANARY_PCT_TAG + "canary": "50"}) == 50
