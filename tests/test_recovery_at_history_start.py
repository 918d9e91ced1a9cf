"""An incident resolved inside the history is listed as resolved, whatever the history's grid. A rule's
evaluations start a span or a step into the history (`evidence.grid_after`; the budget's a day and a step), and
the rule looked back for an incident only when the history's first evaluation breached: the budget incident that
resolved a few hours after `--since` was listed resolved at one `--at` and gone an hour later (its recovery, and the
breach before it, fell before the history's first forecast), for a day of `--at`s and any `--since` within a day
before the recovery.

The log: one request every 10 minutes through November, 2,000 input tokens at $1 per million, 50,000 from
JUMP to DROP: the month-end forecast (spend plus the last 24 h's pace) crosses the $100 budget after JUMP and
falls back under it within a day of DROP."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from console.cli import main

FIRST, LAST = datetime(2026, 11, 1), datetime(2026, 11, 30)
JUMP, DROP = datetime(2026, 11, 6, 9), datetime(2026, 11, 12, 9)


def _workspace(tmp, rollups: bool):
    rows, t, i = [], FIRST, 0
    while t <= LAST:
        rows.append(json.dumps({"ts": f"{t:%Y-%m-%dT%H:%M:%S}Z", "model": "llm", "request_id": f"r{i}",
                                "version": "1", "latency_ms": 100.0, "status": "ok", "output_tokens": 0,
                                "input_tokens": 50_000 if JUMP <= t < DROP else 2_000}))
        t, i = t + timedelta(minutes=10), i + 1
    (tmp / "preds.jsonl").write_text("\n".join(rows) + "\n")
    cfg = tmp / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\n[store]\npath = "store"\n'
                   '[models.llm]\ntask = "llm"\nbudget_usd_month = 100\n[models.llm.prices]\ninput_per_1m = 1.0\n'
                   'output_per_1m = 1.0\n' + ('[rollups]\npath = "rollups"\nmin_rows = 100\n' if rollups else ""))
    return cfg


def _budget(capsys, cfg, *args):
    main(["--config", str(cfg), "check", "--all", "--format", "json", *args])
    return [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["rule"] == "default: budget"]


def _z(t: datetime) -> str:
    return f"{t:%Y-%m-%dT%H:%M}Z"


@pytest.mark.parametrize("rollups", [False, True], ids=["raw", "rollups"])
def test_a_budget_incident_resolved_inside_the_history_stays_listed(tmp_path, capsys, rollups):
    cfg = _workspace(tmp_path, rollups)
    # a history holding the whole incident: its onset, id and recovery
    whole = _budget(capsys, cfg, "--at", "2026-11-16T00:00Z")
    assert [i["state"] for i in whole] == ["resolved"], whole
    inc = whole[0]
    resolved = datetime.fromisoformat(inc["end"].replace("Z", ""))
    assert DROP < resolved < DROP + timedelta(days=1)
    # the 7-day history starting up to a day and a step before the recovery: the history's first forecast is at
    # or after it (a day and a step in), and the recovery is inside the history
    for before in (timedelta(hours=1), timedelta(hours=3), timedelta(hours=12), timedelta(hours=26)):
        at = resolved - before + timedelta(days=7)
        got = _budget(capsys, cfg, "--at", _z(at))
        assert [(i["id"], i["state"], i["end"]) for i in got] == [(inc["id"], "resolved", inc["end"])], \
            (at, got)
        # and the same with `--since` saying that history
        got = _budget(capsys, cfg, "--at", _z(at + timedelta(hours=5)), "--since", _z(resolved - before))
        assert [(i["id"], i["state"]) for i in got] == [(inc["id"], "resolved")], (at, got)
    # a history starting after the recovery does not list it
    after = _budget(capsys, cfg, "--at", _z(resolved + timedelta(days=7, hours=1)))
    assert [i for i in after if i["state"] != "insufficient data"] == [], after


def test_an_error_incident_resolved_at_the_history_start_stays_listed(tmp_path, capsys):
    """The same for a rate rule: a 1 h error rule's first window ends two hours into the history; an outage
    whose recovery is the history's first evaluation, or lies before it, is listed resolved, not dropped."""
    end, rows = datetime(2026, 8, 10), []
    t = end - timedelta(days=10)
    outage = (datetime(2026, 8, 2, 10), datetime(2026, 8, 2, 14))
    i = 0
    while t < end:
        rows.append({"ts": f"{t:%Y-%m-%dT%H:%M:%SZ}", "model": "alpha", "version": "1", "request_id": f"r{i}",
                     "latency_ms": 10.0, "status": "error" if outage[0] <= t < outage[1] and i % 2 else "ok"})
        t, i = t + timedelta(seconds=30), i + 1
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "c.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
                   '[models.alpha]\ntask = "classification"\n'
                   '[[alerts]]\nname = "errors"\nmetric = "error_rate"\nop = ">"\nthreshold = 0.05\nwindow = "1h"\n',
                   encoding="utf-8")

    def errors(*args):
        main(["--config", str(cfg), "check", "--all", "--format", "json", *args])
        return [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["rule"] == "errors"]

    whole = errors("--at", "2026-08-05T00:00Z")
    assert [i["state"] for i in whole] == ["resolved"], whole
    resolved = datetime.fromisoformat(whole[0]["end"].replace("Z", ""))
    for before in (timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2)):
        got = errors("--at", "2026-08-09T12:00Z", "--since", _z(resolved - before))
        assert [(i["id"], i["state"], i["end"]) for i in got] == [
            (whole[0]["id"], "resolved", whole[0]["end"])], (before, got)
    assert [i for i in errors("--at", "2026-08-09T12:00Z", "--since", _z(resolved)) if i["state"] != "insufficient data"] == []
