"""The live writer appends at the history's own rate for the hour of day (not 60x it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np

from console.demo import fleet as F
from console.demo.live import LiveWriter


def test_rate_integrates_to_the_daily_volume():
    day = F.us(datetime(2026, 11, 30, tzinfo=UTC))
    for model, per_day in F.DAILY.items():
        total = sum(F.rate_per_s(model, "production", day + m * 60_000_000) * 60 for m in range(1440))
        assert abs(total - per_day) / per_day < 0.01
        assert abs(F.rate_per_s(model, "staging", day) - F.rate_per_s(model, "production", day) * F.STAGING_SHARE) < 1e-12


def test_live_writer_follows_the_history_rate(tmp_path):
    (tmp_path / "logs" / "predictions").mkdir(parents=True)
    events = [{"ts": "2026-11-01T00:00:00Z", "model": m, "version": "1", "environment": "production",
               "strategy": "direct", "traffic_pct": 100, "action": "deploy"} for m in F.VERSIONS]
    (tmp_path / "logs" / "deployments.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (tmp_path / "mlops-console.toml").write_text(
        '[[logs]]\nkind = "predictions"\npath = "logs/predictions/*.jsonl"\n'
        '[[logs]]\nkind = "deployments"\npath = "logs/deployments.jsonl"\n')
    writer = LiveWriter(tmp_path / "mlops-console.toml", seed=4)
    for hour in (3, 19):  # a quiet night hour and an evening peak
        at = datetime(2026, 11, 30, hour, 30, tzinfo=UTC)
        before = _count(tmp_path)
        for k in range(30):  # 30 minutes, a minute at a time
            writer.write_batch(seconds=60, now=at + timedelta(minutes=k))
        after = _count(tmp_path)
        rows_by_model = {m: after.get(m, 0) - before.get(m, 0) for m in F.VERSIONS}
        for model in F.VERSIONS:
            expected = sum(F.rate_per_s(model, "production", F.us(at + timedelta(minutes=k)) - 30_000_000) * 60
                           for k in range(30))
            assert abs(rows_by_model.get(model, 0) - expected) <= 5 * np.sqrt(expected) + 2, (model, hour, expected)


def _count(root) -> dict[str, int]:
    path = root / "logs" / "predictions" / "live.jsonl"
    out: dict[str, int] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if row.get("environment") == "production":
                out[row["model"]] = out.get(row["model"], 0) + 1
    return out
