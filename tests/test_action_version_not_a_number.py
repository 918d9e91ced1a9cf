"""A deployment log written by a deploy system names its releases its own way (`1.4.2`, a git sha), where an MLflow
version is a number. Probe h6 (text safety, a version holding OSC 52): `rollback MODEL` took such a former
champion from the deployment log as its target and asked MLflow for it, which answered "Parameter 'version' must be
an integer": exit 2, a usage error for a command typed right, and no record in the audit trail. The registry holds
no such version, so it is said as one it does not hold: the rollback is refused (exit 1, audited) naming it and
pointing at `--to`, as a deleted former champion is; a promotion of one is a usage error as for version 99."""

from __future__ import annotations

import json

from console.actions import audit
from console.cli import main
from test_ui_actions import alias, client, ws  # noqa: F401 - fixtures: a copy of the demo


def _solo(ws, released: str) -> None:  # noqa: F811
    """`solo`: two registered versions, champion v2; the deployment log says `released` served before v2."""
    mlflow = client(ws)
    mlflow.create_registered_model("solo")
    for _ in range(2):
        mlflow.create_model_version("solo", "file:///nonexistent/model")
    mlflow.set_registered_model_alias("solo", "champion", "2")
    with open(ws / "logs" / "deployments.jsonl", "a", encoding="utf-8") as fh:
        for day, version in ((3, released), (1, "2")):
            fh.write(json.dumps({"ts": f"2026-01-0{day}T00:00:00Z", "model": "solo", "version": version,
                                 "environment": "production", "strategy": "direct", "action": "deploy",
                                 "actor": "ci"}) + "\n")


def _run(ws, *args) -> int:  # noqa: F811
    return main(["--config", str(ws / "mlops-console.toml"), *args])


def test_a_former_champion_named_by_release_is_refused_as_not_in_the_registry(ws, capsys):  # noqa: F811
    _solo(ws, "1.4.2")
    before = len(audit.read(ws / "audit.jsonl"))
    code = _run(ws, "rollback", "solo", "--yes", "--reason", "bad v2")
    err = capsys.readouterr().err
    assert code == 1, err
    assert "the previous champion v1.4.2 cannot be served: solo has no version 1.4.2" in err, err
    assert "must be an integer" not in err
    assert alias(ws, "solo", "champion") == "2"
    new = audit.read(ws / "audit.jsonl")[before:]
    assert [(r["phase"], r["action"], r.get("reason")) for r in new] == [("refused", "rollback", "bad v2")], new


def test_a_version_that_is_no_number_is_one_the_registry_does_not_hold(ws, capsys):  # noqa: F811
    _solo(ws, "1.4.2")
    for argv in (["promote", "solo", "1.4.2"], ["rollback", "solo", "--to", "1.4.2"]):
        code = _run(ws, *argv, "--yes", "--reason", "r")
        err = capsys.readouterr().err
        assert code == 2 and "solo has no version 1.4.2" in err and "must be an integer" not in err, (argv, err)
    assert alias(ws, "solo", "champion") == "2"
