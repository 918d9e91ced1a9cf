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

START, CHANGE = datetime(2026, 8, 1), datetime(2026, 8, 3, 10, 0, 30)
STEP = timedelta(minutes=10)


def _workspace(tmp_path, rollups: bool):
    rows, t, i = [], START, 0
    while t < CHANGE + timedelta(days=1):
        v2 = t >= CHANGE
        rows.append({"ts": t.isoformat() + "Z", "model": "llm", "version": "2" if v2 else "1", "request_id": f"r{i}",
                     "prediction": "ok", "latency_ms": 100.0, "input_tokens": 3000 if v2 else 1000,
                     "output_tokens": 200})
        i, t = i + 1, t + STEP
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = ('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
              '[models.llm]\ntask = "llm"\n[models.llm.prices]\ninput_per_1m = 3.0\noutput_per_1m = 15.0\n')
    if rollups:
        config += "[rollups]\nmin_rows = 10\n"
    (tmp_path / "mlops-console.toml").write_text(config, encoding="utf-8")
    fiftieth = [datetime.fromisoformat(r["ts"][:-1]) for r in rows if r["version"] == "2"][49]
    return str(tmp_path / "mlops-console.toml"), fiftieth


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
