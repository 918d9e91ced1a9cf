"""A report's `range` and `window_spend` name the window's first and last instants, as its `from` and `to` do
(boundary probe, helper h2 of session 39).

`cost m --window 2026-07-04` said `from: 2026-07-04T00:00:00Z` and, below it, `window_spend: start=2026-07-03T23:59:59.
999999Z` and `range: 2026-07-03T23:59:59.999999Z, ...`: the window's exclusive start, an instant whose row the spend
does not count. The README: every read command says its window by both ends, both in the window (a span printed
from its exclusive start "counted one row fewer at it"); `quality` names its window in `range`, `cost` its usage
over the same `range`.
"""

from __future__ import annotations

import json

import pytest

from console.cli import main

# by hand: the window 2026-07-04 holds the rows at 00:00:00 and 23:59:59.999999 of that day, not the two beside it
ROWS = ["2026-07-03T23:59:59.999999Z", "2026-07-04T00:00:00Z", "2026-07-04T23:59:59.999999Z", "2026-07-05T00:00:00Z"]


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    (tmp_path / "p.jsonl").write_text("".join(
        json.dumps({"ts": ts, "model": "m", "version": "1", "request_id": f"r{i}", "prediction": "1",
                    "latency_ms": 10, "cost_usd": 1.0}) + "\n" for i, ts in enumerate(ROWS)), encoding="utf-8")
    (tmp_path / "l.jsonl").write_text("".join(
        json.dumps({"request_id": f"r{i}", "label": "1", "ts": "2026-07-06T00:00:00Z"}) + "\n"
        for i in range(len(ROWS))), encoding="utf-8")
    path = tmp_path / "c.toml"
    path.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
                    '[[logs]]\nkind = "labels"\npath = "l.jsonl"\n[models.m]\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("report", ["health", "quality", "cost"])
@pytest.mark.parametrize("window", [["--window", "2026-07-04"], ["--from", "2026-07-04", "--to", "2026-07-05"],
                                    ["--at", "2026-07-04T23:59:59.999999Z", "--window", "24h"]])
def test_the_range_is_the_window_said_by_its_ends(config, capsys, report, window):
    assert main(["--config", str(config), report, "m", *window, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["from"], out["to"]) == ("2026-07-04T00:00:00Z", "2026-07-04T23:59:59.999999Z")
    assert out["range"] == [out["from"], out["to"]]
    if report == "cost":  # the spend of the two rows from `from` to `to`, said with those ends
        spend = out["window_spend"]
        assert (spend["start"], spend["end"], spend["usd"], spend["requests"]) == (out["from"], out["to"], 2.0, 2)
