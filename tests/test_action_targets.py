"""An action's target version must be servable: a version whose registration failed is not promoted (it was, to
champion, with a metric gate 'passed' on no metric), and a rollback whose default target (the former champion the
history names) was deleted is refused before anything is written (the deploy hook was told to serve a version that
no longer exists, then moving the alias failed: exit 5). The action probe's findings 2 and 4."""

from __future__ import annotations

import sqlite3

from console.cli import main
from test_ui_actions import alias, client, records, ws  # noqa: F401 - fixtures: a copy of the demo


def _run(ws, *args) -> int:  # noqa: F811
    return main(["--config", str(ws / "mlops-console.toml"), *args])


def test_a_version_whose_registration_failed_is_not_promoted(ws, capsys):  # noqa: F811
    mlflow = client(ws)
    mv = mlflow.create_model_version("fraud-detector", "file:///nonexistent/model")
    with sqlite3.connect(ws / "mlflow.db") as db:
        db.execute("UPDATE model_versions SET status = 'FAILED_REGISTRATION' WHERE name = ? AND version = ?",
                   ("fraud-detector", int(mv.version)))
    assert _run(ws, "promote", "fraud-detector", str(mv.version), "--yes", "--force", "--reason", "r") == 1
    assert "is not ready in the registry (FAILED_REGISTRATION)" in capsys.readouterr().err
    assert alias(ws, "fraud-detector", "champion") == "3"


def test_a_rollback_to_a_deleted_former_champion_is_refused_before_anything_moves(ws, capsys):  # noqa: F811
    assert _run(ws, "promote", "fraud-detector", "4", "--yes", "--force", "--reason", "v4") == 0  # v3 is former
    client(ws).delete_model_version("fraud-detector", "3")
    before = records(ws)
    capsys.readouterr()
    assert _run(ws, "rollback", "fraud-detector", "--yes", "--reason", "bad v4") == 1
    err = capsys.readouterr().err
    assert "the previous champion v3 cannot be served: fraud-detector has no version 3" in err, err
    assert alias(ws, "fraud-detector", "champion") == "4"
    assert [r["phase"] for r in records(ws)[len(before):]] == ["refused"]


def test_a_rollback_with_no_former_champion_points_to_what_works(ws, capsys):  # noqa: F811
    """The refusal said "pass a version to roll back to", and that was refused next ("v2 was never champion"): it
    names the promotion instead. A model whose champion has no history: `solo`, one version, champion v1."""
    mlflow = client(ws)
    mlflow.create_registered_model("solo")
    for _ in range(2):
        mlflow.create_model_version("solo", "file:///nonexistent/model")
    mlflow.set_registered_model_alias("solo", "champion", "1")
    assert _run(ws, "rollback", "solo", "--yes", "--reason", "r") == 1
    err = capsys.readouterr().err
    assert "promote the version to serve instead" in err and "pass a version" not in err, err


def test_the_audit_views_say_a_canary_steps_traffic_not_4_to_4(ws, capsys):  # noqa: F811
    """A canary step moves traffic, not the version: `audit` printed `4->4` (and the Audit screen `v4->v4`), read as
    nothing changed (action probe 8b)."""
    from console.actions.audit import traffic_text

    assert _run(ws, "canary", "fraud-detector", "step", "--yes", "--force", "--reason", "to 50") == 0
    stepped = [r for r in records(ws) if r.get("action") == "canary-step"]
    assert stepped and all(traffic_text(r) == "v4 50%" for r in stepped if r["phase"] == "intent"), stepped
    capsys.readouterr()
    assert _run(ws, "audit", "--model", "fraud-detector") == 0
    lines = [t for t in capsys.readouterr().out.splitlines() if "canary-step" in t]
    assert lines and all("4->4" not in t for t in lines) and any("canary v4 50% of traffic" in t for t in lines), lines
