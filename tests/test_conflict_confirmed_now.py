"""A race lost: the result and the audit's refused record say what the operator confirmed and what the registry held.

Two CLI runs race: the first plans and confirms (its preflight), then the rival's whole run lands before the first's
run (the service's `run_action`, where it re-plans under the lock). The loser's `--format json` result, its text and
the trail's `refused` record are read against the versions typed and seeded here, never against the plan the
console re-made: a v5 -> v4 rollback that lost the race read `from 4 -> to 5`, and its record held no versions.
"""

from __future__ import annotations

import json

import pytest

from conftest import mlflow_client, seed_model, unique
from console import cli_actions
from console.actions import audit
from console.actions.operator import HISTORY_TAG
from console.service import Service
from test_cli_actions import aliases, run, write_config


def raced_by(monkeypatch, capsys, rival: list[str]) -> list:
    """The CLI's service, with the rival's whole run between this run's confirmation and its action."""
    rivals: list = []

    class Raced(Service):
        def run_action(self, prepared, **choice):
            if not rivals:
                rivals.append(None)
                rivals[0] = run(rival)
                capsys.readouterr()  # the rival's own output is not the loser's
            return super().run_action(prepared, **choice)

    monkeypatch.setattr(cli_actions, "make_service", Raced)
    return rivals


def change(alias, before, after):
    return {"alias": alias, "from_version": before, "to_version": after}


# action argv (after the model), rival argv, aliases seeded, history seeded,
# confirmed (from, to, changes), now (from, to, changes), the aliases after the rival
CASES = {
    "rollback": (["rollback"], ["rollback"], {"champion": "5"}, ["4"],
                 ("5", "4", [change("champion", "5", "4")]), ("4", "5", [change("champion", "4", "5")]),
                 {"champion": "4"}),
    "promote": (["promote", "3"], ["promote", "2"], {"champion": "1"}, [],
                ("1", "3", [change("champion", "1", "3")]), ("2", "3", [change("champion", "2", "3")]),
                {"champion": "2"}),
    "shadow start": (["promote", "2", "--strategy", "shadow"], ["promote", "3", "--strategy", "shadow"],
                     {"champion": "1"}, [],
                     ("1", "2", [change("shadow", None, "2")]), ("1", "2", [change("shadow", "3", "2")]),
                     {"champion": "1", "shadow": "3"}),
    "shadow stop": (["shadow", "stop"], ["shadow", "stop"], {"champion": "1", "shadow": "2"}, [],
                    ("2", "2", [change("shadow", "2", None)]), (None, None, [change("shadow", None, None)]),
                    {"champion": "1"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_race_lost_records_what_was_confirmed_and_what_the_registry_held(sqlite_uri, tmp_path, monkeypatch,
                                                                           capsys, case):
    argv, rival_argv, seeded, history, confirmed, now, after = CASES[case]
    name = unique("lost")
    seed_model(sqlite_uri, name, 5, aliases=seeded)
    if history:
        mlflow_client(sqlite_uri).set_registered_model_tag(name, HISTORY_TAG + "champion", json.dumps(history))
    cfg = str(write_config(tmp_path, sqlite_uri))
    rivals = raced_by(monkeypatch, capsys, ["--config", cfg, rival_argv[0], name, *rival_argv[1:], "--yes",
                                            "--reason", "rival"])
    code = run(["--config", cfg, "--format", "json", argv[0], name, *argv[1:], "--yes", "--reason", "mine"])
    out = capsys.readouterr()
    assert rivals == [0], out.err
    assert aliases(sqlite_uri, name) == after  # the loser changed nothing
    result = json.loads(out.out)
    assert result["exit_code"] == code and code in (1, 3), out.err
    want_confirmed = {"from": confirmed[0], "to": confirmed[1], "changes": confirmed[2]}
    want_now = {"from": now[0], "to": now[1], "changes": now[2]}
    assert (result["from_version"], result["to_version"]) == confirmed[:2]
    assert {k: result["details"]["confirmed"][k] for k in want_confirmed} == want_confirmed
    assert {k: result["details"]["now"][k] for k in want_now} == want_now
    record = audit.read(tmp_path / "audit.jsonl", model=name)[-1]
    assert record["phase"] == "refused" and record["message"] == result["message"]
    assert {k: record["confirmed"][k] for k in want_confirmed} == want_confirmed
    assert {k: record["now"][k] for k in want_now} == want_now


def test_a_canary_step_lost_records_the_step_confirmed_and_the_step_now(sqlite_uri, tmp_path, monkeypatch, capsys):
    name = unique("steplost")
    seed_model(sqlite_uri, name, 2, aliases={"champion": "1"})
    cfg = str(write_config(tmp_path, sqlite_uri, "[rollout]\ncanary_steps = [5, 50, 100]\n"))
    assert run(["--config", cfg, "promote", name, "2", "--strategy", "canary", "--reason", "try", "--yes"]) == 0
    capsys.readouterr()
    raced_by(monkeypatch, capsys, ["--config", cfg, "canary", name, "step", "--yes", "--reason", "rival"])
    assert run(["--config", cfg, "--format", "json", "canary", name, "step", "--yes", "--reason", "mine"]) == 3
    result = json.loads(capsys.readouterr().out)
    steps = load_steps(cfg)
    assert result["details"]["confirmed"]["canary_pct"] == steps[1]  # 5 % -> the second step, as confirmed
    assert result["details"]["now"]["canary_pct"] == steps[2]  # a step made now would go on to the third
    assert (result["from_version"], result["to_version"]) == ("2", "2")
    record = audit.read(tmp_path / "audit.jsonl", model=name)[-1]
    assert (record["confirmed"]["canary_pct"], record["now"]["canary_pct"]) == (steps[1], steps[2])


def load_steps(cfg: str) -> list[int]:
    from console.config import load

    return list(load(cfg).canary_steps)


def test_the_text_output_and_the_audit_line_say_confirmed_and_now(sqlite_uri, tmp_path, monkeypatch, capsys):
    name = unique("lostext")
    seed_model(sqlite_uri, name, 5, aliases={"champion": "5"})
    mlflow_client(sqlite_uri).set_registered_model_tag(name, HISTORY_TAG + "champion", json.dumps(["4"]))
    cfg = str(write_config(tmp_path, sqlite_uri))
    raced_by(monkeypatch, capsys, ["--config", cfg, "rollback", name, "--yes", "--reason", "rival"])
    assert run(["--config", cfg, "rollback", name, "--yes", "--reason", "mine"]) == 3
    err = capsys.readouterr().err
    line = "confirmed champion: v5 -> v4; now champion is v4 (a plan made now: champion: v4 -> v5)"
    assert line in err, err
    assert run(["--config", cfg, "audit", "--model", name]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert "refused" in last and line in last and "conflict" in last


async def test_the_dialog_left_open_while_the_champion_moved_records_both(tmp_path, monkeypatch):
    """The TUI's door: the promote dialog (champion v3 -> v4, as shown) is left open while another tool moves the
    champion to v2; confirmed, the conflict's record says v3 -> v4 confirmed and v2 now."""

    from console.config import parse_file
    from demo_copy import demo_at
    from console.ui.app import ConsoleApp
    from console.ui.screens.model import ModelScreen
    from test_action_refusals_alike import MODEL, REASON, _client, _service
    from ui_fixtures import confirm_dialog, dialog_ready, until

    ws = demo_at(tmp_path / "ws").parent
    monkeypatch.chdir(ws)
    cfg = parse_file(ws / "mlops-console.toml")
    app = ConsoleApp(cfg, service=_service(cfg), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(ModelScreen(MODEL, "production"))
        await until(pilot, lambda: isinstance(app.screen, ModelScreen), "the model page", rounds=2000)
        flow = app.screen.flow
        flow.start("promote", "production", "4")
        await until(pilot, lambda: dialog_ready(app), "the promote dialog", rounds=4000)
        dialog = app.screen
        shown = dialog.request.plans[dialog.request.strategy or "direct"]
        assert (shown.from_version, shown.version) == ("3", "4")
        _client(ws).set_registered_model_alias(MODEL, "champion", "2")  # another tool, while the dialog is open
        await confirm_dialog(pilot, dialog, MODEL, REASON)
        await until(pilot, lambda: any(r.get("phase") == "refused" for r in audit.read(ws / "audit.jsonl")),
                    "the refusal recorded", rounds=2000)
    (rec,) = [r for r in audit.read(ws / "audit.jsonl") if r.get("phase") == "refused"]
    assert rec["outcome"] == "conflict", rec
    assert (rec["confirmed"]["from"], rec["confirmed"]["to"]) == ("3", "4")
    assert (rec["now"]["from"], rec["now"]["to"]) == ("2", "4")
