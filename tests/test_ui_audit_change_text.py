"""The Audit screen says what a record's action moved as the `audit` command does (`audit.change_text`, one
definition): a refused action's confirmed and current sides, each alias's move of a shadow start. The screen had its
own text: "-" for a refusal (its versions are in `confirmed`/`now`, not `from`/`to`) and "1->2" for a shadow start,
which reads as the champion moving from v1 to v2 (`from`/`to` are the champion's and the target)."""

from __future__ import annotations

from console import cli_actions
from console.ui.screens.audit import AuditScreen
from ui_fixtures import make_app, until


def _move(alias, before, after):
    return {"alias": alias, "from_version": before, "to_version": after}


REFUSED = {"phase": "refused", "action": "rollback", "model": "fraud-detector", "environment": "production",
           "outcome": "conflict", "message": "the champion moved",
           "confirmed": {"alias": "champion", "from": "5", "to": "4", "changes": [_move("champion", "5", "4")]},
           "now": {"alias": "champion", "from": "4", "to": "5", "changes": [_move("champion", "4", "5")]}}
SHADOW = {"phase": "outcome", "action": "promote", "model": "fraud-detector", "environment": "production",
          "outcome": "done", "from": "1", "to": "2", "changes": [_move("shadow", None, "2")], "message": "shadow v2"}
SAID = {"the champion moved": "confirmed champion: v5 -> v4; now champion is v4 (a plan made now: champion: v4 -> v5)",
        "shadow v2": "shadow: unset -> v2"}


async def test_the_audit_screen_says_what_moved_as_the_audit_command(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the workspace's default trail: this test's own
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        trail = app.service.operator.audit
        for rec in (REFUSED, SHADOW):
            trail.append(dict(rec))
        app.push_screen(AuditScreen())
        await until(pilot, lambda: app.screen.loaded and len(app.screen.records) >= 2, "the audit trail")
        screen = app.screen
        ours = {key: rec for key, rec in screen.records.items() if rec.get("message") in SAID}
        assert sorted(r["message"] for r in ours.values()) == sorted(SAID)
        for key, rec in ours.items():
            said = SAID[rec["message"]]
            assert screen.table.cells(key)[5].plain == said  # the change column
            assert f"  {said}  " in cli_actions._audit_line(rec)  # the `audit` command's line for the same record
