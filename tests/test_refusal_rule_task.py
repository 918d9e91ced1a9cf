"""A refusal rule on a model that is not an LLM says why it cannot judge: only an llm model's `refused` column is
read, so the h7 probe's classifier logging `refused` (30 % of 144 rows a day) had its `refusal_rate > 0.1` rule
`insufficient data: no refused column in the log`, a false statement about the log, while the same rows under
`task = "llm"` fired. Both paths (raw, and rollups past `[rollups] min_rows`) say the same."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from console.analytics import evidence as ev
from console.config import parse_file
from console.service import Service

NOW = datetime(2026, 11, 30, 0, 0)


def _workspace(tmp, task: str, min_rows: int):
    (tmp / "logs").mkdir(parents=True, exist_ok=True)
    rows, refused = [], 0
    for i in range(6 * 144):  # a row every 10 minutes for 6 days, every third one refused
        ts = NOW - timedelta(minutes=10 * i)
        refused += i % 3 == 0
        rows.append({"ts": ts.isoformat() + "Z", "model": "m", "version": "1", "environment": "production",
                     "request_id": f"r{i}", "prediction": "1", "latency_ms": 10.0, "refused": i % 3 == 0})
    (tmp / "logs" / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = tmp / "mlops-console.toml"
    path.write_text(f"""
[[logs]]
kind = "predictions"
path = "logs/p.jsonl"
[models.m]
task = "{task}"
[store]
path = "store"
[rollups]
path = "rollups"
min_rows = {min_rows}
[[alerts]]
name = "refusals"
metric = "refusal_rate"
op = ">"
threshold = 0.1
window = "1h"
""")
    return path, refused / len(rows)


def _refusal(path):
    svc = Service(parse_file(path), clock=lambda: NOW)
    try:
        svc.refresh()
        return [f for f in svc.findings(max_age_s=0) if f.kind == "refusal_rate"]
    finally:
        svc.close()


@pytest.mark.parametrize("min_rows", [10**9, 100])  # raw rows; the rollups
def test_a_classifier_s_refusal_rule_says_it_reads_an_llm_s_column(tmp_path, min_rows):
    path, share = _workspace(tmp_path, "classification", min_rows)
    assert share > 0.3  # the hand count: a third of the rows refused, far past the 0.1 threshold
    found = _refusal(path)
    assert len(found) == 1 and found[0].state == ev.INSUFFICIENT and not found[0].firing
    assert "no refused column in the log" not in found[0].detail  # the log has one
    assert 'task is "classification"' in found[0].detail and "llm" in found[0].detail


@pytest.mark.parametrize("min_rows", [10**9, 100])
def test_the_same_rows_on_an_llm_fire(tmp_path, min_rows):
    path, share = _workspace(tmp_path, "llm", min_rows)
    found = _refusal(path)
    assert any(f.firing for f in found), [(f.state, f.detail) for f in found]
    assert all("no refused column" not in f.detail for f in found)
