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


def test_a_stale_incident_says_its_evidence_and_when_it_was_detected(tmp_path, capsys):
    """TUI probe (thirty-first session), finding 7: a stale incident's JSON had `evidence: ""` and `detected: null`
    (the Incidents screen's EVIDENCE "-"), while its detail said the silence. With a configured limit (20 minutes)
    it is detected the first second past it: a view then lists it, a view just before does not."""
    rows = [{"ts": (START + timedelta(minutes=i)).isoformat() + "Z", "model": "quiet", "version": "1",
             "request_id": f"r{i}", "latency_ms": 10.0, "prediction": "1"} for i in range(3 * 24 * 60)]
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\n'
                      '[models.quiet]\ntask = "classification"\n[[alerts]]\nname = "silent"\n'
                      'metric = "stale_minutes"\nthreshold = 20\n', encoding="utf-8")
    last = START + timedelta(minutes=3 * 24 * 60 - 1)
    _, found = _check(config, capsys, f"{last + timedelta(hours=2):%Y-%m-%dT%H:%M:%S}Z")
    [stale] = [i for i in found if i["rule"] == "silent"]
    assert stale["evidence"].startswith("no rows for") and f"newest row {last:%Y-%m-%d %H:%M}Z" in stale["evidence"]
    assert stale["detected"] == f"{last + timedelta(minutes=20, seconds=1):%Y-%m-%dT%H:%M:%S}Z"
    assert [i for i in _check(config, capsys, stale["detected"])[1] if i["rule"] == "silent"]
    before = datetime.fromisoformat(stale["detected"].replace("Z", "")) - timedelta(seconds=2)
    assert not [i for i in _check(config, capsys, f"{before:%Y-%m-%dT%H:%M:%S}Z")[1] if i["rule"] == "silent"]


def test_a_production_source_dead_longer_than_the_history_is_stale_while_staging_logs_on(tmp_path, capsys):
    """Window probe (thirty-third session): production stopped logging on 9 November, staging logged on to the end.
    A view whose 7-day history still held production rows fired `m:stale:20261109T2359`; one whose history held none
    (`--at` 29 November) took the model's newest row of any environment (staging's, a minute old) for the newest
    production row: nothing firing, exit 0, on a production source silent for 20 days. The silence is production's,
    with one id in both views."""
    rows, t = [], datetime(2026, 11, 1)
    while t < datetime(2026, 11, 30):
        for env in ("production", "staging"):
            if env == "staging" or t < datetime(2026, 11, 10):
                rows.append({"ts": t.isoformat() + "Z", "model": "m", "version": "1", "environment": env,
                             "request_id": f"r{len(rows)}", "latency_ms": 10.0, "prediction": "1"})
        t += timedelta(minutes=1)
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\n'
                      '[models.m]\ntask = "classification"\n', encoding="utf-8")
    newest = "newest row 2026-11-09 23:59Z"  # production's, by hand
    for at, silent in (("2026-11-15T00:00:00Z", "5d 0h"), ("2026-11-29T23:00:00Z", "19d 23h")):
        code, found = _check(config, capsys, at)
        assert code == 1 and [(i["id"], i["state"]) for i in found] == [("m:stale:20261109T2359", "firing")], (at, found)
        assert f"no rows for {silent}" in found[0]["evidence"] and newest in found[0]["evidence"], found[0]["evidence"]


def test_a_silence_longer_than_the_history_allows_the_sources_usual_gap(tmp_path, capsys):
    """Window probe (thirty-third session): a source logging every 10 minutes (allowed 10 x 10 min) that stopped on 9
    November was said to be allowed 1h 40m by a view whose history held its rows, 15m (the floor) by one whose
    history held none: the usual gap is learned from the rows before the silence, as long a stretch as the history."""
    rows, t = [], datetime(2026, 11, 1)
    while t < datetime(2026, 11, 10):
        rows.append({"ts": t.isoformat() + "Z", "model": "m", "version": "1", "request_id": f"r{len(rows)}",
                     "latency_ms": 10.0, "prediction": "1"})
        t += timedelta(minutes=10)
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\n'
                      '[models.m]\ntask = "classification"\n', encoding="utf-8")
    for at in ("2026-11-15T00:00:00Z", "2026-11-29T23:00:00Z"):
        code, [stale] = _check(config, capsys, at)
        assert code == 1 and stale["id"] == "m:stale:20261109T2350", stale
        assert "(allowed 1h 40m); newest row 2026-11-09 23:50Z" in stale["evidence"], (at, stale["evidence"])
