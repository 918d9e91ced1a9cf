"""An acknowledgement of one silence of a source is not one of the next: the stale incident's id carries the
silence's start, so a source that dies days after someone acknowledged a short logging gap fires again.

Found by the twenty-fifth session's probe (ws9): the id was `MODEL:stale`, the same for every silence, so an ack of
a 3 h collector restart covered the source dying five days later and `check` exited 0 on a dead source.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from console.cli import main

START = datetime(2026, 11, 20)


def _check(config, capsys, at: str) -> tuple[int, list[dict]]:
    code = main(["--config", str(config), "check", "--format", "json", "--at", at])
    return code, [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["kind"] == "stale_minutes"]


def test_an_ack_of_a_logging_gap_does_not_cover_the_source_dying_later(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # this test's audit trail
    gap = (datetime(2026, 11, 24, 10), datetime(2026, 11, 24, 13))
    end = datetime(2026, 11, 29, 12)
    rows, t = [], START
    while t < end:
        if not gap[0] <= t < gap[1]:
            rows.append({"ts": t.isoformat() + "Z", "model": "gap", "version": "1", "request_id": f"r{len(rows)}",
                         "latency_ms": 10.0, "prediction": "1"})
        t += timedelta(minutes=1)
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\n'
                      '[models.gap]\ntask = "classification"\n', encoding="utf-8")

    code, [first] = _check(config, capsys, "2026-11-24T12:00:00Z")
    assert code == 1 and first["state"] == "firing" and first["onset"] == "2026-11-24T09:59:00Z"
    assert main(["--config", str(config), "--at", "2026-11-24T12:00:00Z", "ack", first["id"],
                 "--reason", "collector restart"]) == 0
    capsys.readouterr()
    code, [same] = _check(config, capsys, "2026-11-24T12:30:00Z")  # the same silence: acknowledged
    assert code == 0 and same["id"] == first["id"] and same["acknowledged"]["reason"] == "collector restart"

    code, [later] = _check(config, capsys, "2026-11-29T18:00:00Z")  # rows stopped for good at 11:59
    assert later["onset"] == "2026-11-29T11:59:00Z" and later["id"] != first["id"]
    assert later["state"] == "firing" and later["acknowledged"] is None and code == 1
