"""`--at latest` of a command about one model ends at that model's newest row. It was the newest row of any
model, so a model whose log went quiet months ago showed an empty window ending at another model's newest row,
"no rows in this window", exactly when an operator asks for its last day."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from console.cli import main


def test_latest_is_the_models_own_newest_row(tmp_path, capsys):
    rows = []
    for model, end in (("quiet", datetime(2026, 8, 1)), ("busy", datetime(2026, 12, 4, 10))):
        rows += [{"ts": f"{end - timedelta(minutes=10 * i):%Y-%m-%dT%H:%M:%SZ}", "model": model, "version": "1",
                  "request_id": f"{model}{i}", "latency_ms": 10.0} for i in range(50)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "c.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n', encoding="utf-8")
    assert main(["--config", str(cfg), "health", "quiet", "--at", "latest", "--window", "24h", "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["at"] == "2026-08-01T00:00:00Z"
    assert main(["--config", str(cfg), "snapshot", "--at", "latest", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["now"] == "2026-12-04T10:00:00Z"  # the fleet's newest, as before


def test_latest_and_the_empty_window_note_are_of_the_environment_read(tmp_path, capsys):
    """Window probe (thirty-third session): production stopped on 1 August, staging logged on to 4 December. `health
    m --at latest` (production) ended at staging's newest row and said "no rows in this window; the newest row is at
    2026-12-04T10:00:00Z", the window's own end; a window of production's last day named staging's row too. Both are
    of the environment read, as every number of the command is."""
    rows = []
    for env, end in (("production", datetime(2026, 8, 1)), ("staging", datetime(2026, 12, 4, 10))):
        rows += [{"ts": f"{end - timedelta(minutes=10 * i):%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1",
                  "environment": env, "request_id": f"{env}{i}", "latency_ms": 10.0} for i in range(50)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "c.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n', encoding="utf-8")

    def health(*args: str) -> dict:
        assert main(["--config", str(cfg), "health", "m", *args, "--format", "json"]) == 0
        return json.loads(capsys.readouterr().out)

    got = health("--at", "latest", "--window", "24h")
    assert got["at"] == "2026-08-01T00:00:00Z" and got["table"][0]["requests"] == 50 and "note" not in got, got
    got = health("--at", "latest", "--window", "24h", "--environment", "staging")
    assert got["at"] == "2026-12-04T10:00:00Z" and got["table"][0]["requests"] == 50, got
    got = health("--window", "2026-09")
    assert got["note"] == "no rows in this window; the newest row is at 2026-08-01T00:00:00Z", got
