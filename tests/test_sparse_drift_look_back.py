"""A quiet model's drift incident keeps its onset, and id, however short `--since` is, also beside a firing burn.

The h7 alert-rules probe: a model logging a row every 10 minutes (144 a day), features moved by one standard
deviation from 11-18 and errors at 15 % from 11-20, had its drift incident at 11-18 00:00 over a long history,
but `check --since` a day before `--at` 11-25 12:00 said 11-24 12:00 (another id; 11-22 12:00 at 06:00). The burn
rule, firing at the history's start, looked back first and made the longer histories the drift rule's look-back
then reused; made before the drift rule found the history too quiet for a verdict, they scored 24 h windows of
144 rows (no evidence), so the breach seemed to begin at the first window grown to 500 rows.
Oracles: the planted time, and scipy's normed Wasserstein on the 500 rows before and after it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from scipy import stats

from console.config import parse_file
from console.service import Service

START, END = datetime(2026, 11, 1), datetime(2026, 11, 25, 12)
DRIFT, ERRORS = datetime(2026, 11, 18), datetime(2026, 11, 20)


def _workspace(tmp):
    rng = np.random.default_rng(7)
    ts = [START + timedelta(minutes=10 * i) for i in range(int((END - START) / timedelta(minutes=10)) + 1)]
    moved = np.array([t > DRIFT for t in ts])
    a = rng.normal(0, 1, len(ts)) + moved
    b = rng.normal(5, 2, len(ts)) + 2 * moved
    err = rng.random(len(ts)) < np.where([t > ERRORS for t in ts], 0.15, 0.002)
    (tmp / "logs").mkdir()
    with open(tmp / "logs" / "p.jsonl", "w") as fh:
        for i, t in enumerate(ts):
            fh.write(json.dumps({"ts": t.isoformat() + "Z", "model": "m", "version": "1", "environment": "production",
                                 "request_id": f"r{i}", "prediction": "1", "latency_ms": 20.0,
                                 "error": "boom" if err[i] else "", "a": float(a[i]), "b": float(b[i])}) + "\n")
    ref = pl.DataFrame({"a": rng.normal(0, 1, 5000), "b": rng.normal(5, 2, 5000)})
    ref.write_parquet(tmp / "reference.parquet")
    path = tmp / "mlops-console.toml"
    path.write_text('[[logs]]\nkind = "predictions"\npath = "logs/p.jsonl"\n[models.m]\ntask = "classification"\n'
                    'reference = "reference.parquet"\nfeatures = ["a", "b"]\n[store]\npath = "store"\n')
    return path, ts, a, ref


def _drift(path, at: datetime, since: datetime):
    svc = Service(parse_file(path), clock=lambda: at)
    try:
        svc.refresh()
        svc.monitor.since = since
        found = svc.findings(max_age_s=0)
        return [f for f in found if f.kind == "drift_share"], [f for f in found if f.kind == "burn_rate"]
    finally:
        svc.close()


def test_a_quiet_model_s_drift_onset_does_not_move_with_a_short_since(tmp_path):
    path, ts, a, ref = _workspace(tmp_path)
    # the oracle: 500 rows up to the planted time are not drifted by the 0.1 cut-off, the 500 after it are
    before = np.array([t <= DRIFT for t in ts])
    sd = ref["a"].std()
    assert stats.wasserstein_distance(a[before][-500:], ref["a"].to_numpy()) / sd < 0.1
    assert stats.wasserstein_distance(a[~before][:500], ref["a"].to_numpy()) / sd > 0.5

    long, _ = _drift(path, END, END - timedelta(days=14))
    assert len(long) == 1 and long[0].firing
    assert abs(long[0].onset - DRIFT) <= timedelta(hours=12), long[0].onset
    short, burn = _drift(path, END, END - timedelta(days=1))
    assert any(f.firing and f.onset < END - timedelta(days=1) for f in burn)  # the burn looked back first
    assert [(f.id, f.onset, f.firing) for f in short] == [(long[0].id, long[0].onset, True)]
