"""Quality metrics against sklearn.metrics on the same rows."""

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from console.analytics import quality as q

NOW = datetime(2026, 3, 10, 12, 0)
T0 = NOW - timedelta(hours=4)


def classified(n=400, seed=3, labelled=0.8):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = np.round(np.clip(y * 0.3 + rng.random(n) * 0.7, 0, 1), 1)  # rounding makes ties
    pred = (score >= 0.5).astype(int)
    ts = [T0 + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 4 * 3600, n))]
    preds = pl.DataFrame({"ts": ts, "request_id": [f"r{i}" for i in range(n)], "model": "m",
                          "prediction": pred.astype(str), "score": score})
    keep = rng.random(n) < labelled
    labels = pl.DataFrame({"request_id": [f"r{i}" for i in range(n) if keep[i]],
                           "label": y[keep].astype(str), "label_num": y[keep].astype(float),
                           "ts": [NOW - timedelta(minutes=1)] * int(keep.sum())})
    return preds, labels, y, pred, score, keep


def test_classification_matches_sklearn():
    preds, labels, y, pred, score, keep = classified()
    res = q.quality(q.join_labels(preds, labels), "classification", "1")
    yk, pk, sk = y[keep], pred[keep], score[keep]
    assert res.n == 400 and res.n_labelled == keep.sum()
    assert res.labelled_share == pytest.approx(keep.mean())
    m = res.metrics
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(yk, pk))
    assert m["precision"] == pytest.approx(skm.precision_score(yk, pk))
    assert m["recall"] == pytest.approx(skm.recall_score(yk, pk))
    assert m["f1"] == pytest.approx(skm.f1_score(yk, pk))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(yk, sk))
    json.dumps(res.to_dict())


def test_positive_label_other_than_one():
    preds, labels, y, pred, score, keep = classified(seed=5, labelled=1.0)
    preds = preds.with_columns(pl.col("prediction").replace({"1": "fraud", "0": "ok"}))
    labels = labels.with_columns(pl.col("label").replace({"1": "fraud", "0": "ok"}))
    m = q.quality(q.join_labels(preds, labels), "classification", "fraud").metrics
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score))


def test_per_bucket_matches_sklearn():
    preds, labels, y, pred, score, keep = classified()
    out = q.quality_series(q.join_labels(preds, labels), "classification", "1", every="1h")
    hours = np.array([(t - T0).total_seconds() // 3600 for t in preds.get_column("ts").to_list()])
    assert out.height == 4
    for i, r in enumerate(out.iter_rows(named=True)):
        sel = (hours == i) & keep
        assert r["n"] == (hours == i).sum() and r["n_labelled"] == sel.sum()
        assert r["accuracy"] == pytest.approx(skm.accuracy_score(y[sel], pred[sel]))
        assert r["f1"] == pytest.approx(skm.f1_score(y[sel], pred[sel]))
        assert r["roc_auc"] == pytest.approx(skm.roc_auc_score(y[sel], score[sel]))


def test_window_and_labels_arriving_later():
    preds, labels, *_ = classified(labelled=1.0)
    late = labels.with_columns(pl.lit(NOW + timedelta(hours=1)).alias("ts"))
    res = q.quality(q.join_labels(preds, late, now=NOW), "classification", "1", now=NOW, window="1h")
    assert res.n_labelled == 0 and res.labelled_share == 0.0
    assert all(v is None for v in res.metrics.values())
    assert res.n == preds.filter(pl.col("ts") > NOW - timedelta(hours=1)).height


def test_duplicate_label_keeps_latest():
    preds = pl.DataFrame({"ts": [T0], "request_id": ["a"], "prediction": ["1"], "score": [0.9]})
    labels = pl.DataFrame({"request_id": ["a", "a"], "label": ["0", "1"], "label_num": [0.0, 1.0],
                           "ts": [T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]})
    assert q.join_labels(preds, labels).get_column("label").to_list() == ["1"]


def test_single_class_and_empty():
    preds = pl.DataFrame({"ts": [T0] * 3, "request_id": ["a", "b", "c"], "prediction": ["1", "0", "1"],
                          "score": [0.9, 0.2, 0.6]})
    labels = pl.DataFrame({"request_id": ["a", "b", "c"], "label": ["1"] * 3, "ts": [T0] * 3})
    m = q.quality(q.join_labels(preds, labels), "classification", "1").metrics
    assert m["roc_auc"] is None
    assert m["accuracy"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["precision"] == 1.0
    # no predicted positives: precision is undefined, not 0
    none_pos = preds.with_columns(pl.lit("0").alias("prediction"))
    assert q.quality(q.join_labels(none_pos, labels), "classification", "1").metrics["precision"] is None
    empty = q.quality(q.join_labels(preds.clear(), labels), "classification", "1")
    assert empty.n == 0 and empty.labelled_share is None and empty.metrics["accuracy"] is None


def test_regression_matches_sklearn():
    rng = np.random.default_rng(7)
    n = 300
    actual = rng.normal(50, 10, n)
    predicted = actual + rng.normal(0, 3, n)
    preds = pl.DataFrame({"ts": [T0] * n, "request_id": [str(i) for i in range(n)],
                          "prediction": predicted.astype(str), "prediction_num": predicted})
    labels = pl.DataFrame({"request_id": [str(i) for i in range(n)], "label": actual.astype(str),
                           "label_num": actual, "ts": [T0] * n})
    m = q.quality(q.join_labels(preds, labels), "regression").metrics
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(actual, predicted))
    assert m["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(actual, predicted)))
    assert m["mape"] == pytest.approx(skm.mean_absolute_percentage_error(actual, predicted))


def test_mape_skips_zero_actuals():
    preds = pl.DataFrame({"ts": [T0] * 4, "request_id": list("abcd"), "prediction": ["x"] * 4,
                          "prediction_num": [1.0, 12.0, 15.0, None]})
    labels = pl.DataFrame({"request_id": list("abcd"), "label": ["0", "10", "20", "5"],
                           "label_num": [0.0, 10.0, 20.0, 5.0], "ts": [T0] * 4})
    res = q.quality(q.join_labels(preds, labels), "regression")
    assert res.n_labelled == 4
    assert res.metrics["mae"] == pytest.approx((1 + 2 + 5) / 3)
    assert res.metrics["rmse"] == pytest.approx(np.sqrt((1 + 4 + 25) / 3))
    assert res.metrics["mape"] == pytest.approx((2 / 10 + 5 / 20) / 2)
    assert res.metrics["mape_n"] == 2


def test_label_num_derived_when_missing():
    preds = pl.DataFrame({"ts": [T0] * 2, "request_id": ["a", "b"], "prediction": ["3", "5"],
                          "prediction_num": [3.0, 5.0]})
    labels = pl.DataFrame({"request_id": ["a", "b"], "label": ["4", "5"], "ts": [T0] * 2})
    assert q.quality(q.join_labels(preds, labels), "regression").metrics["mae"] == pytest.approx(0.5)
