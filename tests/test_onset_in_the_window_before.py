"""A rate's onset is sought in the first breaching window and the one before it (the rows of both are read), but
the change point was clamped to the first breaching window's start: a change late in a window that did not breach
yet (too few bad rows in it) had its onset put at the next window's start. The demo built at 10:47 showed it: the
delivery model's blue-green switch at 10:47 made it slow, its latency incident began at 10:47, its SLO burn
incident, from the same rows, at 11:00 ("switch ... 12m before onset"). Hand-placed change; both paths."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from console.cli import main

AT = "2026-03-10T12:00Z"
START = datetime(2026, 3, 10, 6)
CHANGE = datetime(2026, 3, 10, 10, 58)  # every request fails from here: 5 of 120 in (10:00, 11:00], burn 4.2 < 6


@pytest.mark.parametrize("extra", ["", "[rollups]\nmin_rows = 10\n"], ids=["raw", "rollups"])
def test_a_change_late_in_the_window_before_the_first_breach_is_the_onset(tmp_path, capsys, extra):
    rows = []
    t, i = START, 0
    while t < datetime(2026, 3, 10, 12):
        rows.append({"ts": f"{t:%Y-%m-%dT%H:%M:%S}Z", "model": "m", "version": "1", "request_id": f"r{i}",
                     "prediction": "1", "latency_ms": 20.0, "status": "error" if t >= CHANGE else "ok"})
        t, i = t + timedelta(seconds=30), i + 1
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n' + extra
                   + '[models.m]\ntask = "classification"\n[models.m.slo]\nerror_rate = 0.01\n')
    main(["--config", str(cfg), "--at", AT, "check", "--all", "--format", "json"])
    (burn,) = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["kind"] == "burn_rate"]
    assert burn["firing"], burn
    # (10:00, 11:00] (5 failing of 120, 10:58:00 to 11:00:00) did not breach; (11:00, 12:00] did: the onset was 11:00
    assert datetime.fromisoformat(burn["onset"].rstrip("Z")) == CHANGE, burn
