"""A shadow's answers reach no one, so its predictions are not the model's prediction drift (`health.served`, as
error rate, latency and accuracy already are). A v2 mirrored beside v1 that answers differently made v1's
prediction drift fire (qa10: 0.146 with the shadow, 0.006 over the served rows). Each route (raw rows, hourly
rollups) is checked against the same workspace written without the shadow's rows, and the counts against a
hand count of the champion's rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

NOW = datetime(2026, 5, 20, 12, 30)
DAYS = 8
PER_HOUR = 40
SHADOW_HOURS = 20  # the shadow started 20 h ago: inside the 24 h window, after the baseline days


def _workspace(root: Path, shadow: bool, truth: dict | None = None) -> tuple[Path, int, int]:
    """v1 (champion) is right on nine requests in ten all along (about one "1" in four); with `shadow`, v2 answers
    a copy of each request of the last SHADOW_HOURS hours, "1" to four in five from country A and wrong on every
    one from B. Every request is labelled ten minutes later. Returns the
    config, the champion's rows in the 24 h window, and how many of them are labelled by NOW; `truth` gets, by
    country, the (label, champion's answer) pairs of the 7-day history labelled by NOW."""
    rng = np.random.default_rng(7)
    rows, labels, in_window, labelled = [], [], 0, 0
    start = NOW - timedelta(days=DAYS)
    for h in range(DAYS * 24):
        for k in range(PER_HOUR):
            ts = start + timedelta(hours=h, seconds=int(k * 3600 / PER_HOUR) + 1)
            rid, x, y = f"r{h}-{k}", float(rng.normal()), "1" if rng.random() < 0.2 else "0"
            country = "AB"[k % 2]
            champion = y if rng.random() < 0.9 else {"0": "1", "1": "0"}[y]  # right 9 times in 10 everywhere
            variants = [("1", "champion", champion)]
            # the shadow: "1" to four in five requests, and wrong on every one from country B
            shadow_answer = ("1" if rng.random() < 0.8 else "0") if country == "A" else {"0": "1", "1": "0"}[y]
            if shadow and ts > NOW - timedelta(hours=SHADOW_HOURS):
                variants.append(("2", "shadow", shadow_answer))
            for version, variant, p in variants:
                rows.append({"ts": ts, "model": "fraud", "version": version, "variant": variant,
                             "environment": "production", "request_id": rid, "prediction": p, "x": x, "country": country,
                             "latency_ms": 20.0, "is_error": False})
            in_window += NOW - timedelta(hours=24) < ts <= NOW
            if truth is not None and NOW - timedelta(days=7) < ts <= NOW - timedelta(minutes=10):
                truth.setdefault(country, ([], []))[0].append(y)
                truth[country][1].append(champion)
            labelled += NOW - timedelta(hours=24) < ts <= NOW - timedelta(minutes=10)
            labels.append({"ts": ts + timedelta(minutes=10), "request_id": rid, "label": y})
    (root / "logs").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), root / "logs" / "p.parquet")
    pq.write_table(pa.Table.from_pylist(labels), root / "labels.parquet")
    pq.write_table(pa.table({"x": rng.normal(size=2000)}), root / "reference.parquet")
    cfg = root / "console.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs/*.parquet"\n'
                   'format = "parquet"\n[[logs]]\nkind = "labels"\npath = "labels.parquet"\n'
                   '[models.fraud]\ntask = "classification"\nreference = "reference.parquet"\nfeatures = ["x"]\n'
                   'segments = ["country"]\nsensitive = ["country"]\n',
                   encoding="utf-8")
    return cfg, in_window, labelled


def _target(cfg: Path, exact: bool) -> tuple[dict, dict]:
    from console.config import parse_file
    from console.service import Service

    svc = Service(parse_file(cfg), clock=lambda: NOW)
    try:
        svc.refresh()
        report = svc.drift("fraud", "24h", series=False, exact=exact)
        assert report.prediction is not None and report.label is not None
        return report.prediction.to_dict(), report.label.to_dict()
    finally:
        svc.close()


@pytest.mark.parametrize("exact", [True, False], ids=["raw", "rollups"])
def test_a_shadow_does_not_move_the_models_prediction_drift(tmp_path, exact):
    with_shadow, n, labelled = _workspace(tmp_path / "with", shadow=True)
    without, n_again, _ = _workspace(tmp_path / "without", shadow=False)
    assert n == n_again == 24 * PER_HOUR and n - 7 <= labelled < n
    prediction, label = _target(with_shadow, exact)
    assert (prediction, label) == _target(without, exact)
    assert prediction["n_cur"] == n and label["n_cur"] == labelled  # the champion's rows alone
    assert prediction["status"] != "drifted", json.dumps(prediction)  # v1 answers as it did in the baseline days
    if not exact:
        assert prediction["method"] == "sketch"


def _fairness_and_segments(cfg: Path) -> tuple[str, list]:
    from dataclasses import asdict

    from console.config import parse_file
    from console.service import Service

    svc = Service(parse_file(cfg), clock=lambda: NOW)
    try:
        svc.refresh()
        fairness = svc.monitor.fairness("fraud")
        found = [(f.kind, f.id, f.detail) for f in svc.monitor.findings(at=NOW) if f.kind == "segment"]
        table = {s.group: (s.n_labelled, s.metrics["accuracy"]) for s in fairness["segments"]}
        return json.dumps([[asdict(s) for s in fairness["segments"]], asdict(fairness["worst"]),
                           {k: asdict(v) for k, v in fairness["gaps"].items()}], sort_keys=True), found, table
    finally:
        svc.close()


def test_a_shadow_wrong_on_one_segment_is_not_that_segments_accuracy(tmp_path):
    """The champion is as right in country B as in A; its shadow is wrong on every B request. Neither fairness nor
    the worst-segment finding may show B's users a worse model than they got."""
    from sklearn.metrics import accuracy_score

    truth: dict = {}
    with_shadow, _, _ = _workspace(tmp_path / "with", shadow=True, truth=truth)
    without, _, _ = _workspace(tmp_path / "without", shadow=False)
    fairness, found, table = _fairness_and_segments(with_shadow)
    assert (fairness, found, table) == _fairness_and_segments(without)
    assert found == []
    assert set(table) == {"A", "B"}
    for country, (y, p) in truth.items():
        assert table[country][0] == len(y)
        assert table[country][1] == pytest.approx(accuracy_score(y, p), abs=1e-12)
