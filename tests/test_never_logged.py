"""A model configured under [models.X] whose rows never reach the logs (a service not wired to log, a name mistyped):
it was missing from `snapshot` and the Overview, `check` said "0 firing" and exited 0 (a silent model has no rhythm
to be late on), and `health` said the logs hold no rows when they held thousands of another model's."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from console.cli import main

AT = datetime(2026, 11, 30, 12, 0)


def _workspace(tmp_path):
    with (tmp_path / "p.jsonl").open("w") as f:
        for i in range(600):
            ts = AT - timedelta(hours=10) + timedelta(minutes=i)
            f.write(json.dumps({"ts": f"{ts:%Y-%m-%dT%H:%M:%SZ}", "model": "real", "version": "1",
                                "request_id": f"r{i}", "latency_ms": 10}) + "\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "store"}"\n[[logs]]\nkind = "predictions"\n'
                   f'path = "{tmp_path / "p.jsonl"}"\n[models.real]\ntask = "regression"\n'
                   '[models.ghost]\ntask = "classification"\n', encoding="utf-8")
    return str(cfg)


def test_a_configured_model_never_logged_is_listed_named_by_check_and_explained(tmp_path, capsys):
    cfg, at = _workspace(tmp_path), AT.isoformat()
    assert main(["--config", cfg, "--at", at, "snapshot", "--format", "json"]) == 0
    rows = {(r["name"], r["environment"]): r for r in json.loads(capsys.readouterr().out)["models"]}
    assert rows[("ghost", "production")]["requests"] == 0 and rows[("real", "production")]["requests"] == 600

    assert main(["--config", cfg, "--at", at, "check", "--format", "json"]) == 1
    out = capsys.readouterr()
    assert json.loads(out.out)["never_logged"] == ["ghost"]
    assert "ghost is configured but the logs hold no rows for it" in out.err

    assert main(["--config", cfg, "--at", at, "health", "ghost", "--format", "json"]) == 0
    out = capsys.readouterr()
    assert "the logs hold no rows for ghost" in out.out + out.err


def test_check_text_says_the_never_logged_model_on_stdout(tmp_path, capsys):
    """`check` exits 1 for it: its stdout says why, beside the incidents (only stderr did)."""
    cfg = _workspace(tmp_path)
    assert main(["--config", cfg, "--at", AT.isoformat(), "check"]) == 1
    assert any(t.startswith("NO ROWS") and "ghost" in t for t in capsys.readouterr().out.splitlines())


def test_snapshot_json_names_its_window_as_every_read_command_does(tmp_path, capsys):
    """`window`, `from` and `to` at the top level (the overview's 24 h), as health, quality, cost and drift give
    them; snapshot had only `spans` (numbers probe 7)."""
    cfg = _workspace(tmp_path)
    assert main(["--config", cfg, "--at", AT.isoformat(), "snapshot", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["window"], out["from"], out["to"]) == ("24h", "2026-11-29T12:00:00.000001Z", "2026-11-30T12:00:00Z")
