"""An acknowledgement refused for an incident that exists (already acknowledged, or not firing) is audited, as every
other refusal is: `ack` on an acknowledged incident said so, exit 1, and left no record of the attempt."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from console.actions import audit
from console.cli import main

START = datetime(2026, 12, 5, 0, 9)


def _workspace(tmp_path):
    with (tmp_path / "p.jsonl").open("w") as f:
        for i in range(120):  # one request every 2 minutes, every tenth failing: the error budget burns
            ts = START + timedelta(minutes=2 * i)
            f.write(json.dumps({"ts": f"{ts:%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1", "request_id": str(i),
                                "latency_ms": 10, **({"error": "boom"} if i % 10 == 0 else {})}) + "\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "store"}"\n[audit]\npath = "{tmp_path / "audit.jsonl"}"\n'
                   f'[[logs]]\nkind = "predictions"\npath = "{tmp_path / "p.jsonl"}"\n', encoding="utf-8")
    return cfg


def test_a_second_ack_is_refused_and_audited(tmp_path, capsys):
    cfg = _workspace(tmp_path)
    main(["--config", str(cfg), "--at", "latest", "check", "--format", "json"])
    [incident] = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["firing"]]
    assert main(["--config", str(cfg), "--at", "latest", "ack", incident["id"], "--reason", "on it"]) == 0
    assert main(["--config", str(cfg), "--at", "latest", "ack", incident["id"], "--reason", "me too"]) == 1
    assert "already acknowledged" in capsys.readouterr().err
    records = audit.read(tmp_path / "audit.jsonl")
    assert [r["phase"] for r in records if r.get("action") == "ack" or r.get("phase") == "ack"] == ["ack", "refused"]
    refused = records[-1]
    assert (refused["model"], refused["action"], refused["outcome"]) == ("m", "ack", "refused")
    assert "already acknowledged" in refused["message"]
    assert audit.verify(tmp_path / "audit.jsonl").ok
    # an id that names no incident is a usage error (exit 2), with no model's trail to write to
    assert main(["--config", str(cfg), "--at", "latest", "ack", "m:nothing:1", "--reason", "x"]) == 2
    assert len(audit.read(tmp_path / "audit.jsonl")) == len(records)


def test_an_ack_whose_trail_folder_cannot_be_written_says_so_in_one_line(tmp_path, capsys):
    """The audit trail's folder cannot be made (a file in its way, as a read-only state folder refuses it): `ack` said
    "error: OSError: [Errno 30] Read-only file system: ..." from the action lock beside the trail. Now it names the
    lock and why, as an unwritable trail is said (exit 4, as the action's failure), and nothing is recorded."""
    cfg = _workspace(tmp_path)
    (tmp_path / "blocker").write_text("")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(str(tmp_path / "audit.jsonl"),
                                                            str(tmp_path / "blocker" / "audit.jsonl")), encoding="utf-8")
    main(["--config", str(cfg), "--at", "latest", "check", "--format", "json"])
    [incident] = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["firing"]]
    assert main(["--config", str(cfg), "--at", "latest", "ack", incident["id"], "--reason", "on it"]) == 4
    err = capsys.readouterr().err
    assert "OSError" not in err and "blocker/locks" in err and "not acknowledged" in err, err
