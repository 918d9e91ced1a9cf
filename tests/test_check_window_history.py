"""`check --window 2026-11` lists November's incidents: a window given sets the incident history.

It used to move `--at` to the end of November and evaluate the 7 days before it, so an incident of Nov 18
was missing. The log spans six weeks, one row every 5 minutes, with four slow episodes (three hours of
900 ms against 100 ms): Oct 28, Nov 5, Nov 18 and Nov 27. The hand count of the episodes inside each window is
what `check --all` must list for the rule.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from console.cli import main

EPISODES = [datetime(2026, 10, 28, 10), datetime(2026, 11, 5, 10), datetime(2026, 11, 18, 10),
            datetime(2026, 11, 27, 10)]
FIRST, LAST = datetime(2026, 10, 20), datetime(2026, 12, 1, 12)


def write_workspace(tmp: Path) -> Path:
    rows, t, i = [], FIRST, 0
    while t <= LAST:
        slow = any(e <= t < e + timedelta(hours=3) for e in EPISODES)
        rows.append(json.dumps({"ts": f"{t:%Y-%m-%dT%H:%M:%S}Z", "model": "m", "request_id": f"r{i}",
                                "version": "1", "latency_ms": 900.0 if slow else 100.0 + i % 7, "status": "ok"}))
        t, i = t + timedelta(minutes=5), i + 1
    (tmp / "logs").mkdir()
    (tmp / "logs" / "preds.jsonl").write_text("\n".join(rows) + "\n")
    cfg = tmp / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "logs/preds.jsonl"\n'
                   '[models.m]\ntask = "classification"\n[store]\npath = "store"\n[audit]\npath = "audit.jsonl"\n'
                   '[[alerts]]\nname = "slow"\nmetric = "p95_ms"\nop = ">"\nthreshold = 500\nwindow = "1h"\n'
                   'severity = "critical"\n')
    return cfg


def in_window(start: datetime, end: datetime) -> list[str]:
    """The episodes whose slow hours lie in (start, end], by hand."""
    return [f"{e:%Y-%m-%d}" for e in EPISODES if start < e + timedelta(hours=1) and e <= end]


@pytest.mark.parametrize("args, start, end", [
    (["--window", "2026-11"], datetime(2026, 11, 1), datetime(2026, 12, 1)),
    (["--from", "2026-11-01", "--to", "2026-11-20"], datetime(2026, 11, 1), datetime(2026, 11, 20)),
    (["--at", "2026-12-01", "--window", "30d"], datetime(2026, 11, 1), datetime(2026, 12, 1)),
    (["--window", "2026-11", "--since", "2026-10-25"], datetime(2026, 10, 25), datetime(2026, 12, 1)),
    (["--at", "2026-12-01"], datetime(2026, 11, 24), datetime(2026, 12, 1)),  # no window: 7 days before --at
])
def test_check_lists_the_incidents_of_the_window(tmp_path, capsys, args, start, end):
    cfg = write_workspace(tmp_path)
    main(["--config", str(cfg), "check", "--all", "--format", "json", *args])
    out = json.loads(capsys.readouterr().out)
    days = sorted(i["onset"][:10] for i in out["incidents"] if i["rule"] == "slow" and i["state"] != "insufficient")
    assert days == in_window(start, end), out["incidents"]


def test_check_json_value_is_the_latest_evaluation_the_text_shows_and_peak_the_worst(tmp_path, capsys):
    """An incident still firing at --at: an hour at 900 ms, then two at 700 ms (every row of an hour alike, so
    each 1 h p95 is that hour's latency). The text's evidence and the JSON `value` are the latest (700), the
    JSON `peak` the run's worst (900)."""
    rows, t, i = [], datetime(2026, 11, 29), 0  # a row every 30 s: 120 an hour, more than a verdict needs (100)
    while t <= datetime(2026, 11, 30, 12):
        latency = 900.0 if datetime(2026, 11, 30, 9) < t <= datetime(2026, 11, 30, 10) else \
            700.0 if t > datetime(2026, 11, 30, 10) else 100.0
        rows.append(json.dumps({"ts": f"{t:%Y-%m-%dT%H:%M:%S}Z", "model": "m", "request_id": f"r{i}",
                                "version": "1", "latency_ms": latency, "status": "ok"}))
        t, i = t + timedelta(seconds=30), i + 1
    cfg = write_workspace(tmp_path)
    (tmp_path / "logs" / "preds.jsonl").write_text("\n".join(rows) + "\n")
    argv = ["--config", str(cfg), "check", "--at", "2026-11-30T12:00Z"]
    assert main([*argv, "--format", "json"]) == 1
    (slow,) = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["rule"] == "slow"]
    assert slow["firing"] and (slow["value"], slow["peak"]) == (700.0, 900.0), slow
    main(argv)
    line = next(ln for ln in capsys.readouterr().out.splitlines() if " slow " in ln)
    assert "  700 [700, 700] on 120 rows  " in line, line  # the p95 and its 95 % bounds (every row of the hour alike)
