"""Alerts that fire on real trouble and stay quiet otherwise, on generated logs whose truth is known.

- a low-traffic model (900 rows a day) whose drift is found the day it starts, named by the feature that
  moved most;
- accuracy that swings with the hour of day but does not decay raises nothing;
- an 8-point decay is found within a day of its labels;
- a stale log makes `check` exit 1; a rule it cannot evaluate exits 2; states say what is known.
Oracles are independent: the planted change times and scipy's KS/binomial figures, not the console's code.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from console.analytics import evidence as ev
from console.config import parse_file
from console.service import Service

SRC = str(Path(__file__).resolve().parents[1] / "src")
NOW = datetime(2026, 7, 30, 12, 0)
PER_DAY = 900


def _arrivals(rng, start: datetime, end: datetime, per_day: int) -> list[datetime]:
    n = int((end - start).total_seconds() / 86400 * per_day)
    offsets = np.sort(rng.uniform(0, (end - start).total_seconds(), n))
    return [start + timedelta(seconds=float(s)) for s in offsets]


def _workspace(tmp: Path, rows: list[dict], labels: list[dict] | None, reference: pl.DataFrame,
               features: list[str], extra: str = "") -> Path:
    (tmp / "logs").mkdir(parents=True, exist_ok=True)
    with open(tmp / "logs" / "predictions.jsonl", "w") as fh:
        for r in rows:
            fh.write(json.dumps({**r, "ts": r["ts"].isoformat() + "Z"}) + "\n")
    label_log = ""
    if labels is not None:
        pl.DataFrame({"ts": [lb["ts"].isoformat() + "Z" for lb in labels],
                      "request_id": [lb["request_id"] for lb in labels],
                      "label": [lb["label"] for lb in labels]}).write_csv(tmp / "logs" / "labels.csv")
        label_log = '[[logs]]\nkind = "labels"\npath = "logs/labels.csv"\n'
    reference.write_parquet(tmp / "reference.parquet")
    path = tmp / "mlops-console.toml"
    path.write_text(f"""
[[logs]]
kind = "predictions"
path = "logs/predictions.jsonl"
{label_log}
[models.m]
task = "classification"
reference = "reference.parquet"
features = {json.dumps(features)}
{extra}
""")
    return path


def _findings(path: Path, now: datetime = NOW):
    svc = Service(parse_file(path), clock=lambda: now)
    try:
        svc.refresh()
        return svc.findings(max_age_s=0)
    finally:
        svc.close()


# --------------------------------------------------------------------------- drift on a modest model


def test_drift_on_900_rows_a_day_is_found_the_day_it_starts(tmp_path):
    rng = np.random.default_rng(1)
    start = NOW - timedelta(days=2, hours=9)  # mid-morning two days ago
    ts = _arrivals(rng, NOW - timedelta(days=7), NOW, PER_DAY)
    after = np.array([t > start for t in ts])
    n = len(ts)
    a = rng.normal(0, 1, n) + np.where(after, 1.0, 0.0)  # moves by one standard deviation
    b = rng.normal(5, 2, n) + np.where(after, 0.6, 0.0)  # moves by 0.3 of its standard deviation
    c = rng.normal(0, 1, n)  # never moves
    rows = [{"ts": t, "model": "m", "version": "1", "environment": "production", "request_id": f"r{i}", "prediction": "1", "latency_ms": 10.0,
             "a": float(a[i]), "b": float(b[i]), "c": float(c[i])} for i, t in enumerate(ts)]
    ref = pl.DataFrame({"a": rng.normal(0, 1, 5000), "b": rng.normal(5, 2, 5000), "c": rng.normal(0, 1, 5000)})
    path = _workspace(tmp_path, rows, None, ref, ["a", "b", "c"])

    # the oracle: scipy sees the shift in the day after the change and not in the day before
    day_after = [i for i, t in enumerate(ts) if start < t <= start + timedelta(days=1)]
    day_before = [i for i, t in enumerate(ts) if start - timedelta(days=1) < t <= start]
    assert stats.ks_2samp(a[day_after], ref["a"].to_numpy()).pvalue < 1e-6
    assert stats.ks_2samp(a[day_before], ref["a"].to_numpy()).pvalue > 0.01

    findings = _findings(path)
    drift = [f for f in findings if f.kind == "drift_share"]
    assert len(drift) == 1, [(f.kind, f.status, f.detail) for f in findings]
    f = drift[0]
    assert f.firing and f.status == ev.FIRING
    assert f.detected - start <= timedelta(days=1)  # a daily verdict on 900 rows a day
    assert abs(f.onset - start) <= timedelta(hours=12), (f.onset, start)
    assert f.feature == "a" and f.first_drifted[0] == "a" and "c" not in f.first_drifted  # moved most first
    assert "moved most: a" in f.detail
    # nothing on the quiet days before
    assert all(g.onset > start - timedelta(hours=12) for g in drift)


# --------------------------------------------------------------------------- accuracy against its expected level


def _labelled(rng, accuracy_at, days: int = 7, per_day: int = PER_DAY):
    ts = _arrivals(rng, NOW - timedelta(days=days), NOW, per_day)
    rows, labels = [], []
    for i, t in enumerate(ts):
        label = str(int(rng.random() < 0.5))
        right = rng.random() < accuracy_at(t)
        pred = label if right else str(1 - int(label))
        rows.append({"ts": t, "model": "m", "version": "1", "environment": "production", "request_id": f"r{i}", "prediction": pred, "latency_ms": 10.0,
                     "x": float(rng.normal())})
        if t + timedelta(hours=1) <= NOW:
            labels.append({"ts": t + timedelta(hours=1), "request_id": f"r{i}", "label": label})
    return rows, labels


def _labelled_reference(rng, accuracy: float, n: int = 4000) -> pl.DataFrame:
    label = rng.integers(0, 2, n)
    right = rng.random(n) < accuracy
    return pl.DataFrame({"x": rng.normal(0, 1, n), "label": label.astype(str),
                         "prediction": np.where(right, label, 1 - label).astype(str)})


def test_time_of_day_swing_without_decay_raises_nothing(tmp_path):
    rng = np.random.default_rng(2)

    def accuracy_at(t: datetime) -> float:  # 0.66 at 18:00, 0.90 at 06:00, 0.78 on average
        return 0.78 + 0.12 * math.cos((t.hour + t.minute / 60 - 6) / 24 * 2 * math.pi)

    rows, labels = _labelled(rng, accuracy_at)
    hourly = {}
    for r, lb in zip(rows, labels):
        hourly.setdefault(r["ts"].hour, []).append(r["prediction"] == lb["label"])
    assert min(np.mean(v) for v in hourly.values()) < 0.70 < 0.86 < max(np.mean(v) for v in hourly.values())
    path = _workspace(tmp_path, rows, labels, _labelled_reference(rng, 0.78), ["x"])
    findings = _findings(path)
    assert not [f for f in findings if f.kind == "accuracy_drop" and f.status != ev.RESOLVED], \
        [(f.status, f.onset, f.evidence) for f in findings if f.kind == "accuracy_drop"]
    assert not [f for f in findings if f.firing]


def test_an_eight_point_decay_is_found_within_a_day_of_labels(tmp_path):
    rng = np.random.default_rng(3)
    start = NOW - timedelta(days=2, hours=4)
    rows, labels = _labelled(rng, lambda t: 0.70 if t > start else 0.78)
    path = _workspace(tmp_path, rows, labels, _labelled_reference(rng, 0.78), ["x"])

    # the oracle: a day of labels after the change is significantly below 0.78 by an exact binomial test
    day = [r["prediction"] == lb["label"] for r, lb in zip(rows, labels) if start < r["ts"] <= start + timedelta(days=1)]
    assert stats.binomtest(sum(day), len(day), 0.78, alternative="less").pvalue < 0.001

    findings = _findings(path)
    drops = [f for f in findings if f.kind == "accuracy_drop" and f.status != ev.INSUFFICIENT]
    assert len(drops) == 1, [(f.status, f.onset, f.evidence) for f in drops]
    f = drops[0]
    assert f.firing
    assert f.detected - start <= timedelta(days=1, hours=1)  # within a day of labels (labels lag 1 h)
    assert abs(f.onset - start) <= timedelta(hours=12), (f.onset, start)
    assert "vs expected 0.78" in f.evidence and "labels" in f.evidence


def test_few_labels_are_insufficient_data_not_resolved(tmp_path):
    rng = np.random.default_rng(4)
    rows, labels = _labelled(rng, lambda t: 0.5, days=1, per_day=100)  # 100 labels: too few to judge
    path = _workspace(tmp_path, rows, labels, _labelled_reference(rng, 0.78), ["x"])
    quality = [f for f in _findings(path) if f.kind == "accuracy_drop"]
    assert [f.status for f in quality] == [ev.INSUFFICIENT] and not quality[0].firing
    assert "needs 200" in quality[0].detail


# --------------------------------------------------------------------------- stale sources and check's exit codes


def _check(path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "console", "--config", str(path), "check", "--format", "json",
                           *extra], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC})


def _steady(tmp_path: Path, end: datetime, days: float = 3) -> Path:
    rng = np.random.default_rng(5)
    ts = _arrivals(rng, end - timedelta(days=days), end, PER_DAY)
    rows = [{"ts": t, "model": "m", "version": "1", "environment": "production", "request_id": f"r{i}", "prediction": "1", "latency_ms": 10.0,
             "x": float(rng.normal())} for i, t in enumerate(ts)]
    return _workspace(tmp_path, rows, None, pl.DataFrame({"x": rng.normal(0, 1, 3000)}), ["x"])


def test_a_stale_log_makes_check_exit_1(tmp_path):
    real_now = datetime.utcnow()
    path = _steady(tmp_path, real_now - timedelta(days=2))
    proc = _check(path)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    stale = [i for i in data["incidents"] if i["kind"] == "stale_minutes"]
    assert data["stale"] == 1 and stale and stale[0]["state"] == "firing"
    assert stale[0]["value"] > 47 * 60  # minutes since the newest row


def test_a_log_that_stopped_weeks_ago_is_stale_too(tmp_path):
    path = _steady(tmp_path, datetime.utcnow() - timedelta(days=30))
    proc = _check(path)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["stale"] == 1


def test_a_live_log_is_not_stale_and_check_exits_0(tmp_path):
    path = _steady(tmp_path, datetime.utcnow() - timedelta(minutes=1), days=2)
    proc = _check(path)
    data = json.loads(proc.stdout)
    assert proc.returncode == 0, (proc.stderr, data["incidents"])
    assert data["firing"] == 0 and not data["nothing_to_evaluate"]


def test_check_exits_2_on_a_rule_it_cannot_evaluate(tmp_path):
    path = _steady(tmp_path, datetime.utcnow())
    path.write_text(path.read_text() + '\n[[alerts]]\nmetric = "p95_ms"\nthreshold = 100\nmodel = "nope"\n')
    proc = _check(path)
    assert proc.returncode == 2 and "model 'nope'" in proc.stderr


def test_check_says_when_there_is_nothing_to_evaluate(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "predictions.jsonl").write_text("")
    path = tmp_path / "mlops-console.toml"
    path.write_text('[[logs]]\nkind = "predictions"\npath = "logs/predictions.jsonl"\n')
    proc = _check(path)
    assert proc.returncode == 1 and "nothing to evaluate" in proc.stderr


def test_check_never_writes(tmp_path):
    path = _steady(tmp_path, datetime.utcnow() - timedelta(days=2))
    path.write_text(path.read_text().replace("[models.m]", "[retrain]\nauto_retrain = true\n[audit]\n"
                                                           'path = "state/audit.jsonl"\n[models.m]'))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    _check(path)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


# --------------------------------------------------------------------------- the statistics themselves


@pytest.mark.parametrize("k, n", [(0, 10), (7, 10), (780, 1000), (1000, 1000)])
def test_wilson_interval_matches_statsmodels_formula(k, n):
    lo, hi = ev.wilson(k, n)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert lo == pytest.approx(ci.low, abs=1e-9) and hi == pytest.approx(ci.high, abs=1e-9)


def test_evidence_windows_grow_to_the_minimum_rows():
    ts = pl.Series("ts", [NOW - timedelta(minutes=16 * i) for i in range(900)]).sort()  # 90 rows a day
    spans = ev.windows(ts, NOW, timedelta(hours=6), 500, NOW - timedelta(days=10))
    full = [(lo, hi, n) for lo, hi, n in spans if n >= 500]
    assert full and all(hi - lo >= timedelta(hours=6) for lo, hi, _ in full)
    for lo, hi, n in spans:  # each count is the rows in (lo, hi]
        assert n == ts.filter((ts > lo) & (ts <= hi)).len()
    assert spans[-1][1] == NOW and spans[-1][2] == 500  # the last 500 rows: 5.5 days here
    # the windows before the latest end on the grid: a step of span/4 rounded up to whole hours (2 h), counted
    # from the epoch (even hours of the day), the newest strictly before NOW (12:00 is itself a grid point)
    closed = [hi for _, hi, _ in spans[:-1]]
    assert closed[-1] == NOW - timedelta(hours=2)
    assert all(b - a == timedelta(hours=2) for a, b in zip(closed, closed[1:]))
    assert all(hi.minute == 0 and hi.second == 0 and hi.microsecond == 0 and hi.hour % 2 == 0 for hi in closed)
