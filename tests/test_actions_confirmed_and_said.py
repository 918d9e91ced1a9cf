"""Every action is confirmed and every refusal says what was attempted: found by the twenty-eighth session's probe D.

- `retrain` from the CLI called the hook at once, on a terminal or not, while the TUI's dialog confirms it (Cancel
  focused): it now asks on a terminal ([y/N]) and needs --yes without one, as every other action.
- A `refused` record carried no reason although the operator gave one (--reason): it now carries it, as the
  intent does.
- A hidden key pressed in the TUI whose action does not apply (or the policy refuses) only showed a toast; the CLI
  audits the same refusal. The service now decides and audits it below both doors.
The hook is a real HTTP server on 127.0.0.1 (pytest-httpserver), the registry a real MLflow server.
"""

from __future__ import annotations

import json
import os
import sys

import pexpect
import pytest

from conftest import SRC, seed_model, unique
from test_cli_actions import HARNESS, run, write_config, subdir


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_retrain_needs_yes_without_a_terminal_and_asks_on_one(mlflow_server, tmp_path, httpserver):
    name = unique("rt")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    httpserver.expect_request("/retrain").respond_with_json({"ok": True})
    cfg = str(write_config(tmp_path, mlflow_server, extra=f'[webhooks.retrain]\nurl = "{httpserver.url_for("/retrain")}"\n'))
    assert run(["--config", cfg, "retrain", name, "--reason", "drift"]) == 2  # no terminal, no --yes
    assert len(httpserver.log) == 0
    for answer, code, calls in (("n", 1, 0), ("y", 0, 1)):
        child = pexpect.spawn(sys.executable, ["-c", HARNESS, "--config", cfg, "retrain", name, "--reason", "drift"],
                              env={**os.environ, "PYTHONPATH": SRC}, encoding="utf-8", timeout=90)
        child.expect(r"retrain in production\? \[y/N\]")
        child.sendline(answer)
        child.expect(pexpect.EOF)
        child.close()
        assert (child.exitstatus, len(httpserver.log)) == (code, calls), child.before
    assert run(["--config", cfg, "retrain", name, "--reason", "drift", "--yes"]) == 0
    assert len(httpserver.log) == 2


def test_a_refusal_records_the_reason_the_operator_gave(mlflow_server, tmp_path):
    name = unique("why")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    cfg = write_config(tmp_path, mlflow_server)
    assert run(["--config", str(cfg), "--read-only", "promote", name, "2", "--reason", "fix the outage", "--yes"]) == 1
    assert run(["--config", str(cfg), "canary", name, "abort", "--reason", "no canary here", "--yes"]) == 1
    refused = [r for r in _records(tmp_path / "audit.jsonl") if r["phase"] == "refused"]
    assert [(r["action"], r.get("reason")) for r in refused] == [("promote", "fix the outage"),
                                                                   ("canary-abort", "no canary here")]


async def test_a_hidden_key_pressed_in_the_tui_is_refused_and_audited(mlflow_server, tmp_path):
    from console.config import load
    from console.ui.app import ConsoleApp
    from ui_fixtures import until

    name = unique("tuirole")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    folder = subdir(tmp_path, "roles")
    cfg = load(str(write_config(folder, mlflow_server, extra='[roles.ops]\nusers = ["nobody-here"]\n')), None, False)
    app = ConsoleApp(cfg, poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        from console.ui.screens.model import ModelScreen

        await app.push_screen(ModelScreen(name, "production"))
        await until(pilot, lambda: isinstance(app.screen, ModelScreen), "the model page")
        flow = app.screen.flow
        await pilot.press("A")  # canary abort: the role refuses it (and there is no canary)
        await until(pilot, lambda: flow.last_refusal is not None and flow.busy is None, "the refusal")
        await until(pilot, lambda: (folder / "audit.jsonl").exists()
                    and any(r["phase"] == "refused" for r in _records(folder / "audit.jsonl")), "its record")
    (rec,) = [r for r in _records(folder / "audit.jsonl") if r["phase"] == "refused"]
    assert rec["action"] == "canary-abort" and rec["model"] == name and "role" in rec["message"], rec


def test_an_unreachable_registry_still_prints_a_json_result(tmp_path, capsys):
    """`--format json` printed nothing on stdout when the registry could not be reached (exit 4), where every other
    outcome prints its result object."""
    from conftest import free_port

    cfg = write_config(tmp_path, f"http://127.0.0.1:{free_port()}")
    assert run(["--config", str(cfg), "canary", "m", "abort", "--reason", "r", "--yes", "--format", "json"]) == 4
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["status"] == "failed" and out["exit_code"] == 4 and "127.0.0.1" in out["message"]
