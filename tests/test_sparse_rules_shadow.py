"""A quiet model's rate rules reach back before the history for the 100 requests a verdict needs when the whole
history holds fewer (`RuleEvaluator._reaching`); it counted every row, a shadow's mirrored copies too, while its
windows count the requests users were served. A failing champion with 60 requests in the week, each mirrored to a
shadow, had 120 rows: no read-back, a window of 60 served requests, "insufficient data" for ever, though the
90 days held its 100. Found reading the read-back shared with the SLO panels (`burn_now`). Hand counts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from console.cli import main

NOW = datetime(2026, 3, 10, 12, 0, 0)
AT = "2026-03-10T12:00Z"


def _workspace(root: Path, shadow: bool) -> Path:
    """60 champion requests in the last hour, 20 failed (each mirrored to a clean shadow when `shadow`), and 40 clean
    ones 10 days before: the 100 served requests a burn verdict needs hold 20 errors (20x a 1 % budget)."""
    rows = []
    for i in range(100):
        ts = NOW - timedelta(minutes=59) + timedelta(seconds=i * 50) if i < 60 else NOW - timedelta(days=10, minutes=i)
        for variant in ("champion", "shadow") if shadow and i < 60 else ("champion",):
            rows.append({"ts": ts.isoformat() + "Z", "model": "m", "version": "1" if variant == "champion" else "2",
                         "variant": variant, "request_id": f"r{i}", "prediction": "1", "latency_ms": 20.0,
                         "status": "error" if variant == "champion" and i < 20 else "ok"})
    (root / "logs").mkdir(parents=True)
    (root / "logs/p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = root / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "logs/p.jsonl"\n'
                   '[models.m]\ntask = "classification"\n[models.m.slo]\nerror_rate = 0.01\n')
    return cfg


@pytest.mark.parametrize("shadow", [False, True])
def test_a_shadows_copies_do_not_stop_the_read_back(tmp_path, capsys, shadow):
    cfg = str(_workspace(tmp_path, shadow))
    assert main(["--config", cfg, "--at", AT, "check", "--format", "json", "--all"]) == 1
    burn = next(f for f in json.loads(capsys.readouterr().out)["incidents"] if f["kind"] == "burn_rate")
    assert burn["state"] == "firing" and burn["value"] == pytest.approx(20 / 100 / 0.01), burn
    assert main(["--config", cfg, "--at", AT, "health", "m", "--format", "json"]) == 0
    verdict = json.loads(capsys.readouterr().out)["slo"]["verdict"]
    assert (verdict["state"], verdict["requests"]) == ("alert", 100)
    assert verdict["burn_rate"] == pytest.approx(20.0)
