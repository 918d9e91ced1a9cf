"""A history asked to start long before the first row (`check --from 1970-01-01`): every rule's windows and
read-backs ran hour by hour from the start asked, so on a two-month log the command did not end in minutes
(found by the CLI probe). The history now starts at most 30 days (BEFORE_OLDEST) before the store's oldest row, known
from its files' spans; the incidents are those of that history, on the raw path and from rollups."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from test_store_time import console, old_log  # noqa: F401 - the two-month log (June from Parquet, July JSONL)


def _check(root, since: str, config: str) -> dict:
    proc = console(root, "check", "--all", "--format", "json", "--at", "2026-08-02T00:00:00Z", "--from", since,
                   config=config)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("path", ["raw", "rollups"])
def test_a_history_from_long_before_the_first_row_starts_30_days_before_it(old_log, path):  # noqa: F811
    root, rows, _ = old_log
    config = "mlops-console.toml"
    if path == "rollups":
        config = "rollups.toml"
        (root / config).write_text((root / "mlops-console.toml").read_text() + '[rollups]\nmin_rows = 1\n'
                                   f'path = "{root / "rollups"}"\n')
    oldest = min(r["ts"] for r in rows)
    month_before = oldest - timedelta(days=30)
    asked_far = _check(root, "2025-01-01T00:00:00Z", config)
    first_instant = datetime.fromisoformat(asked_far["history"]["from"].removesuffix("Z"))
    assert first_instant == month_before + timedelta(microseconds=1), asked_far["history"]  # (start, end]
    asked_near = _check(root, month_before.isoformat() + "Z", config)
    key = lambda f: (f["id"], f["state"], f["onset"])  # noqa: E731
    assert asked_far["incidents"], asked_far  # (the July drift at least)
    assert sorted(map(key, asked_far["incidents"])) == sorted(map(key, asked_near["incidents"]))
    # the epoch too: the same history (it ran for minutes)
    epoch = _check(root, "1970-01-01T00:00:00Z", config)
    assert epoch["history"] == asked_far["history"]
    assert sorted(map(key, epoch["incidents"])) == sorted(map(key, asked_far["incidents"]))
