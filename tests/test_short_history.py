"""A history shorter than a rule's first evaluation step still evaluates the latest window. `check --since` the
last run (a cron every 30 minutes), or `--from/--to` over a few hours, gave the rules no window at all: "no rows in
the window", 0 firing, exit 0, though the rows were there (an hourly model failing one request in ten, 10x its
error budget). Such a history holds fewer rows than a verdict needs, so its windows reach back for them as a quiet
model's do; the count in the evidence is the hand count of the last 100 rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from console.cli import main

END = datetime(2026, 8, 1)


@pytest.mark.parametrize("extra", [["--since", "2026-07-31T23:30Z"], ["--since", "2026-07-31T20:00Z"],
                                   ["--from", "2026-07-31T20:00Z", "--to", "2026-08-01T00:00:01Z"],
                                   ["--since", "2026-07-31T23:59Z", "--at", "2026-07-31T23:59:30Z"]],
                         ids=["since-30m", "since-4h", "from-to", "no-row-in-the-history"])
def test_a_short_history_fires_on_its_latest_window(tmp_path, capsys, extra):
    rows = [{"ts": f"{END - timedelta(hours=h):%Y-%m-%dT%H:%M:%SZ}", "model": "alpha", "version": "1",
             "request_id": f"r{h}", "latency_ms": 10.0, "status": "error" if h % 10 == 0 else "ok"}
            for h in range(24 * 31)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reversed(rows)))
    cfg = tmp_path / "c.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
                   '[models.alpha]\ntask = "classification"\n[models.alpha.slo]\nerror_rate = 0.01\n', encoding="utf-8")
    at = [] if "--to" in extra or "--at" in extra else ["--at", "2026-08-01T00:00:00Z"]
    code = main(["--config", str(cfg), "check", "--format", "json", "--all", *at, *extra])
    burn = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["rule"] == "default: SLO burn"]
    assert code == 1 and [i["state"] for i in burn] == ["firing"], burn
    # the newest 100 rows up to the view's end: 10 errors (a history with no row of its own reads them all before it)
    last = rows[:100] if "--at" not in extra else rows[1:101]
    assert sum(r["status"] == "error" for r in last) == 10 and "on 100 rows" in burn[0]["evidence"]
    # and the incident is the one the default history (7 days) lists: its onset looked for before the short
    # history, so an ack by id covers it whatever `--since` a cron passes (data probe, F5)
    assert main(["--config", str(cfg), "check", "--format", "json", "--all", "--at", "2026-08-01T00:00:00Z"]) == 1
    week = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["rule"] == "default: SLO burn"]
    assert [i["id"] for i in week] == [burn[0]["id"]], (week, burn)
