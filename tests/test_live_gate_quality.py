"""The canary's live quality gate counts a right answer as the Quality screen does.

Found by the thirtieth session's numbers probe: `Service.live_stats` compared label and prediction as text, so a
canary logging JSON booleans (`true`) against labels "1" had every answer counted wrong; `canary promote` refused
a canary 2 points better than its champion (`gate FAIL live:accuracy: 0 vs champion 0.8793`). A regression's live
"accuracy" was exact equality of two floats: zero on both sides, so its gate could never tell a worse canary. The
oracle is sklearn on the rows written here.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, mean_absolute_error

from conftest import seed_model
from console.config import parse_file
from console.service import Service

NOW = datetime(2026, 7, 4, 12, 0, 0)


def _workspace(root, task: str, canary_bias: float = 0.0):
    """3 h of a champion v1 and a canary v2 of model "m", every row labelled 5 s later. A classifier's champion logs
    "0"/"1", its canary booleans; a regressor logs numbers, the canary `canary_bias` further from the label."""
    rng = np.random.default_rng(7)
    rows, labels, truth = [], [], {"champion": ([], []), "canary": ([], [])}
    t, i = NOW - timedelta(hours=3), 0
    while t < NOW - timedelta(seconds=30):
        i += 1
        variant = "canary" if rng.random() < 0.4 else "champion"
        if task == "classification":
            pred = int(rng.random() < 0.5)
            y = pred if rng.random() < (0.92 if variant == "canary" else 0.88) else 1 - pred
            logged = bool(pred) if variant == "canary" else str(pred)
            label: object = str(y)
        else:
            y = float(rng.normal(100, 10))
            pred = y + float(rng.normal(0, 2)) + (canary_bias if variant == "canary" else 0.0)
            logged, label = pred, y
        rows.append({"ts": f"{t:%Y-%m-%dT%H:%M:%S}Z", "model": "m", "version": "2" if variant == "canary" else "1",
                     "variant": variant, "request_id": f"r{i}", "prediction": logged, "latency_ms": 40.0,
                     "status": "ok", "environment": "production"})
        labels.append({"request_id": f"r{i}", "label": label, "ts": f"{t + timedelta(seconds=5):%Y-%m-%dT%H:%M:%S}Z"})
        if t > NOW - timedelta(hours=1):
            truth[variant][0].append(y)
            truth[variant][1].append(pred)
        t += timedelta(seconds=10)
    (root / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labels))
    uri = f"sqlite:///{root}/mlflow.db"
    (root / "mlops-console.toml").write_text(
        f'[registry]\ntracking_uri = "{uri}"\n[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\n'
        '[[logs]]\nkind = "labels"\npath = "labels.jsonl"\n'
        f'[audit]\npath = "{root}/audit.jsonl"\n[store]\npath = "store"\n[models.m]\ntask = "{task}"\n')
    seed_model(uri, "m", n=2, aliases={"champion": "1", "canary": "2"})
    s = Service(parse_file(root / "mlops-console.toml"), clock=lambda: NOW)
    s.refresh()
    return s, truth


def test_a_canary_logging_booleans_is_judged_on_its_answers(tmp_path):
    s, truth = _workspace(tmp_path, "classification")
    try:
        live = s.live_stats("m", "production", {"champion": "1", "canary": "2"})
        for side in ("champion", "canary"):
            y, p = truth[side]
            assert live[side]["labelled"] == len(y)
            assert live[side]["accuracy"] == pytest.approx(accuracy_score(y, p), abs=1e-12), side
        assert live["canary"]["accuracy"] > live["champion"]["accuracy"]
        planned = s.plan_action("m", "production", "canary-promote")
        gate = next(g for g in planned.gates if g.name == "live:accuracy")
        assert gate.passed, gate.detail
    finally:
        s.close()


@pytest.mark.parametrize("bias, passes", [(0.0, True), (6.0, False)])
def test_a_regression_canary_is_gated_on_its_mae(tmp_path, bias, passes):
    s, truth = _workspace(tmp_path, "regression", canary_bias=bias)
    try:
        live = s.live_stats("m", "production", {"champion": "1", "canary": "2"})
        for side in ("champion", "canary"):
            y, p = truth[side]
            assert live[side]["labelled"] == len(y)
            assert live[side]["mae"] == pytest.approx(mean_absolute_error(y, p), rel=1e-9), side
            assert "accuracy" not in live[side]
        planned = s.plan_action("m", "production", "canary-promote")
        gate = next(g for g in planned.gates if g.name == "live:mae")
        assert gate.passed is passes, gate.detail
        assert not any(g.name == "live:accuracy" for g in planned.gates)
    finally:
        s.close()
