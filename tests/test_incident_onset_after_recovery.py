"""A drift incident that resolves and fires again starts after the first one ended (qa4, on sklearn's diabetes data).

The onset of a drift incident walks back through the evaluations in which the feature that moved most had already
moved (`_drift_began`); nothing stopped that walk at the evaluation that had resolved the rule's previous incident.
On a log whose `bmi` shifts for good while a second feature drifts, stops, and drifts again, the second incident
started days before the first one ended; with the default history both had the same onset, so two incidents of one
rule (one resolved, one firing) carried the same id (`model:rule:onset`), which `ack` takes as unique.
The breaches are computed here with scipy's `wasserstein_distance`, as analytics/drift.py defines the test.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from scipy.stats import wasserstein_distance

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_operator_pass2 import _cli  # noqa: E402

START, END = datetime(2026, 7, 1), datetime(2026, 7, 11)
SHIFT = datetime(2026, 7, 4)  # x moves for good
Y_OFF = (datetime(2026, 7, 6), datetime(2026, 7, 8))  # y drifts from SHIFT, except between these
FEATURES = ("x", "y", "z")


def _workspace(tmp: Path) -> tuple[Path, pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(11)
    n = 600 * (END - START).days
    secs = np.sort(rng.uniform(0, (END - START).total_seconds(), n))
    ts = [START + timedelta(seconds=float(s)) for s in secs]
    t = np.array(ts, dtype="datetime64[us]")
    x_on = t >= np.datetime64(SHIFT)
    y_on = x_on & ~((t >= np.datetime64(Y_OFF[0])) & (t < np.datetime64(Y_OFF[1])))
    rows = pl.DataFrame({"ts": ts, "model": "reg", "version": "1", "request_id": [f"r{i}" for i in range(n)],
                         "latency_ms": 10.0, "x": (rng.normal(0, 1, n) + 1.0 * x_on).round(4),
                         "y": (rng.normal(0, 1, n) + 0.6 * y_on).round(4), "z": rng.normal(0, 1, n).round(4)})
    rows.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")).write_ndjson(tmp / "p.jsonl")
    ref = pl.DataFrame({f: rng.normal(0, 1, 3000).round(4) for f in FEATURES})
    ref.write_parquet(tmp / "ref.parquet")
    cfg = tmp / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n[models.reg]\ntask = "regression"\n'
                   'reference = "ref.parquet"\nfeatures = ["x", "y", "z"]\n[store]\npath = "store"\n'
                   '[audit]\npath = "a.jsonl"\n')
    return cfg, rows, ref


def _breaches(rows: pl.DataFrame, ref: pl.DataFrame, ends: list[datetime]) -> list[bool]:
    """The 24 h drift rule at each grid point, by scipy: share of features with W/std(ref) >= 0.1 is >= 0.5."""
    out = []
    for end in ends:
        cur = rows.filter((pl.col("ts") > end - timedelta(hours=24)) & (pl.col("ts") <= end))
        drifted = [wasserstein_distance(ref[f].to_numpy(), cur[f].to_numpy()) / max(float(np.std(ref[f].to_numpy())),
                                                                                    0.001) >= 0.1 for f in FEATURES]
        out.append(sum(drifted) / len(FEATURES) >= 0.5)
    return out


def test_a_drift_incident_after_a_recovery_starts_after_it(tmp_path):
    cfg, rows, ref = _workspace(tmp_path)
    ends = [START + timedelta(hours=12 * k) for k in range(2, 2 * (END - START).days + 1)]  # the 24 h rule's grid
    breach = _breaches(rows, ref, ends)
    first = breach.index(True)
    resolved = breach.index(False, first)
    again = breach.index(True, resolved)
    assert all(breach[again:]) and ends[resolved] <= Y_OFF[1], list(zip(ends, breach))  # the scenario holds
    for since in ("2026-07-01", "2026-07-03T12:00Z"):
        res = _cli(cfg, "check", "--at", "2026-07-11T00:00Z", "--since", since, "--all", "--format", "json")
        assert res.returncode == 1, res.stderr
        found = sorted((i for i in json.loads(res.stdout)["incidents"] if i["kind"] == "drift_share"),
                       key=lambda i: i["detected"])
        assert [i["state"] for i in found] == ["resolved", "firing"], (since, found)
        old, new = found
        assert old["end"] == f"{ends[resolved]:%Y-%m-%dT%H:%M:%SZ}" and new["detected"] == f"{ends[again]:%Y-%m-%dT%H:%M:%SZ}"
        assert new["onset"] >= old["end"], (since, old["onset"], old["end"], new["onset"])
        assert old["id"] != new["id"]
