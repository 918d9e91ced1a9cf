"""The action subcommands through a minimal argparse harness standing in for the lead's cli.py."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from conftest import SRC, mlflow_client, seed_model, unique
from console import cli_actions
from console.actions import catalog
from console.config import load

HARNESS = """
import argparse, sys
from console import cli_actions
from console.config import ConfigError, load
p = argparse.ArgumentParser(prog="mlops-console")
p.add_argument("--config"); p.add_argument("--registry")
p.add_argument("--read-only", action="store_true"); p.add_argument("--format", default="text")
sub = p.add_subparsers(dest="command", required=True)
cli_actions.add_parsers(sub)
args = p.parse_args(sys.argv[1:])
try:
    cfg = load(args.config, args.registry, args.read_only)
except ConfigError as exc:
    print(f"error: {exc}", file=sys.stderr); sys.exit(2)
sys.exit(args.func(args, cfg))
"""


def write_config(tmp: Path, uri: str, extra: str = "") -> Path:
    path = tmp / "mlops-console.toml"
    path.write_text(f"""
[registry]
tracking_uri = "{uri}"
[audit]
path = "{tmp}/audit.jsonl"
[[logs]]
kind = "deployments"
path = "{tmp}/deploy/*.jsonl"
[environments.production]
production = true
[environments.staging]
{extra}
""")
    return path


def subdir(tmp: Path, name: str) -> Path:
    (tmp / name).mkdir()
    return tmp / name


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--config")
    p.add_argument("--registry")
    p.add_argument("--read-only", action="store_true")
    p.add_argument("--format", default="text")
    cli_actions.add_parsers(p.add_subparsers(dest="command", required=True))
    return p


def run(argv: list[str]) -> int:
    """In process: the handler with the config the lead's cli.py would load."""
    args = parser().parse_args(argv)
    return args.func(args, load(args.config, args.registry, args.read_only))


def spawn(argv: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen([sys.executable, "-c", HARNESS, *argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def aliases(uri, name):
    return {k: str(v) for k, v in mlflow_client(uri).get_registered_model(name).aliases.items()}


def test_promote_canary_rollback_audit(mlflow_server, tmp_path, capsys):
    name = unique("cli")
    seed_model(mlflow_server, name, 3, aliases={"champion": "1"})
    cfg = str(write_config(tmp_path, mlflow_server))
    assert run(["--config", cfg, "promote", name, "2", "--from", "1", "--reason", "weekly", "--yes"]) == 0
    out = capsys.readouterr()
    assert "champion: v1 -> v2" in out.out and "plan:" in out.err
    assert aliases(mlflow_server, name) == {"champion": "2"}

    assert run(["--config", cfg, "promote", name, "3", "--strategy", "canary", "--reason", "try", "--yes"]) == 0
    assert run(["--config", cfg, "canary", name, "step", "--yes", "--reason", "step"]) == 0
    assert run(["--config", cfg, "canary", name, "abort", "--yes", "--reason", "stop"]) == 0
    assert aliases(mlflow_server, name) == {"champion": "2"}
    assert run(["--config", cfg, "rollback", name, "--yes", "--reason", "oops"]) == 0
    assert aliases(mlflow_server, name) == {"champion": "1"}
    assert run(["--config", cfg, "promote", name, "3", "--strategy", "shadow", "--reason", "mirror", "--yes"]) == 0
    assert aliases(mlflow_server, name)["shadow"] == "3"
    assert run(["--config", cfg, "shadow", name, "stop", "--yes", "--reason", "done"]) == 0
    assert aliases(mlflow_server, name) == {"champion": "1"}
    capsys.readouterr()

    assert run(["--config", cfg, "--format", "json", "audit", "--model", name, "--limit", "2"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["phase"] for r in records] == ["intent", "outcome"] and records[-1]["action"] == "shadow-stop"
    # the text names what moved, alias by alias: a shadow start read "1->3" as if the champion had moved
    assert run(["--config", cfg, "audit", "--model", name]) == 0
    shadow_start = next(line for line in capsys.readouterr().out.splitlines() if "intent" in line and "mirror" in line)
    assert "shadow: unset -> v3" in shadow_start and "1->3" not in shadow_start, shadow_start
    assert run(["--config", cfg, "audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("ok:")


def test_exit_codes(mlflow_server, tmp_path, capsys, httpserver):
    httpserver.expect_request("/deploy").respond_with_data("down", status=503)
    name = unique("codes")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    cfg = str(write_config(tmp_path, mlflow_server))
    # no terminal and no --yes: usage error, nothing changed
    assert run(["--config", cfg, "promote", name, "2", "--reason", "r"]) == 2
    assert "--yes" in capsys.readouterr().err
    # read-only: refused
    assert run(["--config", cfg, "--read-only", "promote", name, "2", "--reason", "r", "--yes"]) == 1
    # conflict: the champion is not the one the operator saw (a version that exists; one that does not is a typo, 2)
    assert run(["--config", cfg, "promote", name, "2", "--from", "2", "--reason", "r", "--yes"]) == 3
    assert run(["--config", cfg, "promote", name, "2", "--from", "7", "--reason", "r", "--yes"]) == 2
    # unknown version: a usage error, as an unknown model is (README, Exit codes), refused before anything runs
    assert run(["--config", cfg, "promote", name, "9", "--reason", "r", "--yes"]) == 2
    assert "has no version 9" in capsys.readouterr().err
    assert run(["--config", cfg, "rollback", name, "--to", "9", "--reason", "r", "--yes"]) == 2
    assert run(["--config", cfg, "promote", name, "v9", "--strategy", "canary", "--reason", "r", "--yes"]) == 2
    assert aliases(mlflow_server, name) == {"champion": "1"}
    # unknown model: usage
    assert run(["--config", cfg, "rollback", unique("ghost"), "--yes"]) == 2
    # retrain without a hook: configuration error
    assert run(["--config", cfg, "retrain", name, "--reason", "drift"]) == 2
    # deploy hook down: remote failure, alias unchanged
    hooked = write_config(subdir(tmp_path, "hooked"), mlflow_server,
                          extra=f'[webhooks.deploy]\nurl = "{httpserver.url_for("/deploy")}"\nretries = 0\n')
    capsys.readouterr()
    assert run(["--config", str(hooked), "promote", name, "2", "--reason", "r", "--yes"]) == 4
    assert "nothing changed" in capsys.readouterr().err
    assert aliases(mlflow_server, name) == {"champion": "1"}


def test_read_only_and_roles_refuse_every_dangerous_command(mlflow_server, tmp_path, capsys):
    name = unique("clipolicy")
    seed_model(mlflow_server, name, 3, aliases={"champion": "3", "canary": "2", "shadow": "1"})
    commands = {
        "promote": ["promote", name, "1", "--reason", "r", "--yes"],
        "canary-step": ["canary", name, "step", "--yes"],
        "canary-promote": ["canary", name, "promote", "--yes"],
        "canary-abort": ["canary", name, "abort", "--yes"],
        "rollback": ["rollback", name, "--to", "1", "--yes"],
        "shadow-stop": ["shadow", name, "stop", "--yes"],
    }
    assert set(commands) == {a.id for a in catalog.ACTIONS if a.dangerous}
    ro = str(write_config(tmp_path, mlflow_server))
    roles = write_config(subdir(tmp_path, "roles"), mlflow_server,
                         extra='[roles.ops]\nusers = ["nobody-here"]\n')
    for action, argv in commands.items():
        assert run(["--config", ro, "--read-only", *argv]) == 1, action
        assert run(["--config", str(roles), *argv]) == 1, action
    assert run(["--config", ro, "--read-only", "retrain", name, "--reason", "r"]) == 1
    assert aliases(mlflow_server, name) == {"champion": "3", "canary": "2", "shadow": "1"}


def test_two_processes_racing_one_wins_one_conflicts(mlflow_server, tmp_path):
    name = unique("race")
    seed_model(mlflow_server, name, 3, aliases={"champion": "1"})
    cfg = str(write_config(tmp_path, mlflow_server))
    procs = [spawn(["--config", cfg, "promote", name, v, "--from", "1", "--reason", "race", "--yes"])
             for v in ("2", "3")]
    results = [(p.wait(timeout=120), p.communicate()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 3], results
    winner = "2" if results[0][0] == 0 else "3"
    assert aliases(mlflow_server, name) == {"champion": winner}
    loser_err = next(err for code, (_, err) in results if code == 3)
    assert "conflict" in loser_err


def test_audit_verify_fails_on_edit_and_reports_interrupted(mlflow_server, tmp_path, capsys):
    name = unique("cliaudit")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    cfg_path = write_config(tmp_path, mlflow_server)
    cfg = str(cfg_path)
    assert run(["--config", cfg, "promote", name, "2", "--reason", "r", "--yes"]) == 0
    from console.actions.audit import AuditLog
    AuditLog(tmp_path / "audit.jsonl").intent("rollback", name, "production")  # a crash after the intent
    capsys.readouterr()
    assert run(["--config", cfg, "audit", "incomplete"]) == 0
    assert "rollback" in capsys.readouterr().out
    assert run(["--config", cfg, "audit", "verify"]) == 0
    assert "interrupted" in capsys.readouterr().err

    path = tmp_path / "audit.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")  # delete the last record
    assert run(["--config", cfg, "audit", "verify"]) == 1
    assert "FAILED" in capsys.readouterr().out
    rec = json.loads(lines[0])
    rec["actor"] = "someone-else"
    path.write_text("\n".join([json.dumps(rec), *lines[1:]]) + "\n")  # edit the first record
    assert run(["--config", cfg, "--format", "json", "audit", "verify"]) == 1
    assert json.loads(capsys.readouterr().out)["first_bad_line"] == 1


@pytest.mark.parametrize("typed, code", [("right", 0), ("wrong", 1)])
def test_typed_confirmation_on_a_terminal(mlflow_server, tmp_path, typed, code):
    name = unique("tty")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    cfg = str(write_config(tmp_path, mlflow_server))
    child = pexpect.spawn(sys.executable, ["-c", HARNESS, "--config", cfg, "promote", name, "2", "--reason", "r"],
                          env={**os.environ, "PYTHONPATH": SRC}, encoding="utf-8", timeout=60)
    child.expect("type the model name")
    child.sendline(name if typed == "right" else "nope")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == code
    assert aliases(mlflow_server, name)["champion"] == ("2" if code == 0 else "1")


def test_production_action_needs_a_reason_as_in_the_tui(mlflow_server, tmp_path, capsys):
    """The TUI's dialog will not confirm a production action without a reason (README: "Production actions
    need a reason"); `rollback`, `canary` and `shadow` from the CLI ran with none and wrote an audit record
    without one. Now they stop with exit 2 before anything is written."""
    name = unique("why")
    seed_model(mlflow_server, name, 3, aliases={"champion": "1"})
    cfg = str(write_config(tmp_path, mlflow_server))
    assert run(["--config", cfg, "promote", name, "2", "--reason", "weekly", "--yes"]) == 0
    assert run(["--config", cfg, "promote", name, "3", "--strategy", "canary", "--reason", "try", "--yes"]) == 0
    audit = tmp_path / "audit.jsonl"
    before = audit.read_text()
    for argv in (["rollback", name], ["canary", name, "abort"], ["canary", name, "step"]):
        capsys.readouterr()
        assert run(["--config", cfg, *argv, "--yes"]) == 2, argv
        assert "needs --reason" in capsys.readouterr().err
    assert aliases(mlflow_server, name) == {"champion": "2", "canary": "3"}
    assert audit.read_text() == before  # nothing was recorded as run
    assert run(["--config", cfg, "canary", name, "abort", "--yes", "--reason", "errors"]) == 0
    assert run(["--config", cfg, "rollback", name, "--yes", "--reason", "bad release"]) == 0
    assert aliases(mlflow_server, name) == {"champion": "1"}
    records = [json.loads(x) for x in audit.read_text().splitlines()]
    assert [r.get("reason") for r in records if r["action"] == "rollback"][0] == "bad release"


def test_a_canary_percent_out_of_range_is_a_usage_error(sqlite_uri, tmp_path, capsys):
    """`--percent 150` is a bad flag value (exit 2, as an unknown version is), not a refusal (exit 1)."""
    name = unique("pct")
    seed_model(sqlite_uri, name, 2, aliases={"champion": "1"})
    cfg = str(write_config(tmp_path, sqlite_uri))
    for pct in ("150", "0", "-5"):
        code = run(["--config", cfg, "promote", name, "2", "--strategy", "canary", "--percent", pct,
                    "--reason", "try", "--yes"])
        assert code == 2, (pct, capsys.readouterr().err)
        assert "between 1 and 100" in capsys.readouterr().err
    assert aliases(sqlite_uri, name) == {"champion": "1"}
    assert run(["--config", cfg, "promote", name, "2", "--strategy", "canary", "--percent", "20",
                "--reason", "try", "--yes"]) == 0


def test_a_model_name_the_registry_refuses_is_a_usage_error(tmp_path, capsys):
    """CLI probe, finding 8: `promote a/b 1` said "Invalid model name 'a/b'" and exited 4 (a remote system
    failed); the registry answered, and refused the request: exit 2."""
    uri = f"sqlite:///{tmp_path / 'reg.db'}"
    seed_model(uri, "real", 2, aliases={"champion": "1"})
    config = write_config(subdir(tmp_path, "ws"), uri)
    assert run(["--config", str(config), "promote", "a/b", "1", "--reason", "x", "--yes"]) == 2
    assert "a/b" in capsys.readouterr().err


def test_an_action_refuses_a_view_time_it_would_ignore(tmp_path, capsys):
    """CLI probe, finding 16: `--at 2026-12-01 --since garbage canary ... step` ran, judging now: an operator acting
    on the view they were looking at was not told, and an invalid value was not even checked. A view of the past is
    refused as the TUI's is (exit 1, audited: test_action_at_audited); an unreadable time is a usage error."""
    from console.cli import main

    uri = f"sqlite:///{tmp_path / 'reg.db'}"
    seed_model(uri, "m", 2, aliases={"champion": "1"})
    config = write_config(subdir(tmp_path, "ws"), uri)
    assert main(["--config", str(config), "--at", "2026-12-01T00:00Z", "promote", "m", "2", "--reason", "x",
                 "--yes"]) == 1
    assert "the view is at 2026-12-01 00:00Z, not live" in capsys.readouterr().err
    assert main(["--config", str(config), "--at", "2026-12-01T00:00Z", "--since", "garbage", "promote", "m", "2",
                 "--reason", "x", "--yes"]) == 2
    assert "--since 'garbage'" in capsys.readouterr().err
    assert aliases(uri, "m") == {"champion": "1"}


def test_a_from_version_that_does_not_exist_is_a_usage_error(tmp_path, capsys):
    """CLI probe, finding 16: `promote M 2 --from 9` (no version 9) said "champion is v1, not v9 as you saw: it
    was moved by ..." and exited 3 (a race lost); nobody moved it."""
    uri = f"sqlite:///{tmp_path / 'reg.db'}"
    seed_model(uri, "m", 2, aliases={"champion": "1"})
    config = write_config(subdir(tmp_path, "ws"), uri)
    assert run(["--config", str(config), "promote", "m", "2", "--from", "9", "--reason", "x", "--yes"]) == 2
    assert "has no version 9" in capsys.readouterr().err
    assert aliases(uri, "m") == {"champion": "1"}
    assert run(["--config", str(config), "promote", "m", "2", "--from", "v1", "--reason", "x", "--yes"]) == 0


def test_every_early_stop_prints_its_result_object_with_format_json(sqlite_uri, tmp_path, capsys):
    """Actions probe: an action stopped before it ran (no --yes without a terminal, a production action with no
    --reason, --force with no reason, an unknown --from version, --at given) said so on stderr and printed nothing
    on stdout with `--format json`: a script parsing stdout read an empty document, where every other outcome (a
    refusal, a conflict, a registry down) prints its result object. Each prints one, with its exit code."""
    name = unique("json")
    seed_model(sqlite_uri, name, 2, aliases={"champion": "1"})
    cfg = str(write_config(tmp_path, sqlite_uri))
    cases = [
        (["promote", name, "2", "--reason", "r"], 2, "--yes"),
        (["promote", name, "2", "--reason", " ", "--yes"], 2, "needs --reason"),
        (["promote", name, "2", "--reason", " ", "--force", "--yes"], 2, "--force needs --reason"),
        (["promote", name, "2", "--from", "9", "--reason", "r", "--yes"], 2, "has no version 9"),
        (["canary", name, "step", "--force", "--yes"], 2, "--force needs --reason"),
        (["retrain", name, "--reason", "r", "--evidence", "[1]", "--yes"], 2, "--evidence"),
    ]
    for argv, code, said in cases:
        capsys.readouterr()
        assert run(["--config", cfg, "--format", "json", *argv]) == code, argv
        out = capsys.readouterr()
        assert said in out.err, (argv, out.err)
        result = json.loads(out.out)
        assert result["ok"] is False and result["exit_code"] == code and said in result["message"], (argv, result)
    assert aliases(sqlite_uri, name) == {"champion": "1"}
    # and an action that ran (or was refused, or lost a race) says its exit code in the same field: the result
    # objects had two shapes, `exit_code` only on early stops and faults
    for argv, code in ((["promote", name, "2", "--from", "2", "--reason", "r", "--yes"], 3),
                       (["retrain", name, "--reason", "r", "--yes"], 2),
                       (["promote", name, "2", "--reason", "r", "--yes"], 0)):
        capsys.readouterr()
        assert run(["--config", cfg, "--format", "json", *argv]) == code, argv
        assert json.loads(capsys.readouterr().out)["exit_code"] == code, argv
    assert aliases(sqlite_uri, name) == {"champion": "2"}
