"""A cost spike is detected when the new version has the requests the rule needs, not at its first request.

Found by the thirty-second session's probe B: an LLM whose v2 tripled its input tokens had its spike "detected" at
v2's first request (10:00:01), while `check --at` any time before v2's 50th request (11:32) said "insufficient data:
no change of version with 50 requests on each side": `o` (go to detection) landed on a view without the incident.
The independent figure is the 50th v2 request's time, counted by hand.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from console.cli import main
from llm_versions import llm_workspace

START, CHANGE = datetime(2026, 8, 1), datetime(2026, 8, 3, 10, 0, 30)
STEP = timedelta(minutes=10)


def _workspace(tmp_path, rollups: bool):
    stamps, t = [], START
    while t < CHANGE + timedelta(days=1):
        stamps.append(t)
        t += STEP
    fiftieth = [t for t in stamps if t >= CHANGE][49]
    return llm_workspace(tmp_path, stamps, CHANGE, rollups), fiftieth


def _spike(capsys, cfg: str, at: datetime) -> dict:
    main(["--config", cfg, "check", "--at", at.isoformat() + "Z", "--all", "--format", "json"])
    [spike] = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["kind"] == "cost_spike"]
    return spike


@pytest.mark.parametrize("rollups", [False, True], ids=["raw", "rollups"])
def test_a_cost_spike_is_detected_once_the_new_version_has_its_requests(tmp_path, capsys, rollups):
    cfg, fiftieth = _workspace(tmp_path, rollups)
    assert _spike(capsys, cfg, fiftieth - timedelta(seconds=1))["state"] == "insufficient data"
    assert _spike(capsys, cfg, fiftieth)["state"] == "firing"
    later = _spike(capsys, cfg, CHANGE + timedelta(hours=20))
    assert later["state"] == "firing"
    detected = datetime.fromisoformat(later["detected"][:-1])
    if rollups:  # hourly blocks: the end of the hour holding the 50th request
        assert fiftieth <= detected < fiftieth.replace(minute=0, second=0) + timedelta(hours=1)
    else:
        assert detected == fiftieth
    assert _spike(capsys, cfg, detected)["state"] == "firing"  # `o` lands on a view that lists it
