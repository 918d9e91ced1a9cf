"""A one-shot command reads at one instant and says its times in UTC.

Found by the twenty-eighth session: `cost --format json` said `at` 07:30:05.61 over a window whose spend ended at
07:30:05.22 (each table took the moving wall clock again), and the nested times (`window_spend.start`, an hourly
bucket, a rule window) were naive ISO strings where the top level said `Z`. The clock is replaced by one that ticks
a second at every reading, so any second reading shows.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

import console.service as service
from console.cli import main

NOW = datetime(2026, 11, 30, 12)


def _iso_times(value, path=""):
    """Every string in a JSON document that reads as an ISO time, with where it is."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _iso_times(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _iso_times(v, f"{path}[{i}]")
    elif isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        yield path, value


@pytest.mark.parametrize("report", ["cost", "health", "quality"])
def test_a_report_reads_one_instant_and_says_utc(tmp_path, capsys, monkeypatch, report):
    rows = [{"ts": (NOW - timedelta(minutes=7 * i)).isoformat() + "Z", "model": "m", "request_id": f"r{i}",
             "prediction": i % 2, "score": (i % 10) / 10, "latency_ms": 40.0 + i % 7, "input_tokens": 100,
             "output_tokens": 20} for i in range(600)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "mlops-console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
        '[models.m]\ntask = "classification"\n[models.m.prices]\ninput_per_1m = 3.0\noutput_per_1m = 15.0\n',
        encoding="utf-8")
    ticks = iter(range(10**6))
    monkeypatch.setattr(service, "utc_now", lambda: NOW + timedelta(seconds=next(ticks)))
    assert main(["--config", str(tmp_path / "mlops-console.toml"), report, "m", "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["live"] is True and got["to"] == got["at"]
    times = list(_iso_times(got))
    assert len(times) > 3, times
    naive = [(p, t) for p, t in times if not t.endswith("Z")]
    assert not naive, naive
    at = datetime.fromisoformat(got["at"].removesuffix("Z"))
    later = [(p, t) for p, t in times if datetime.fromisoformat(t.removesuffix("Z")) > at]
    assert not later, (got["at"], later)  # a second reading of the ticking clock would be after `at`
    if report == "cost":
        assert got["window_spend"]["end"] == got["at"]
