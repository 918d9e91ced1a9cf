"""Segment metrics and Fairlearn-style gaps, counted by hand."""

import json
from datetime import datetime

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from console.analytics import fairness as f

T0 = datetime(2026, 3, 10, 9, 0)


def joined(rows):
    """rows: (group, prediction, label or None)."""
    return pl.DataFrame({"ts": [T0] * len(rows), "request_id": [str(i) for i in range(len(rows))],
                         "sex": [r[0] for r in rows], "prediction": [r[1] for r in rows],
                         "label": [r[2] for r in rows], "score": [0.5] * len(rows)},
                        schema_overrides={"sex": pl.Utf8, "label": pl.Utf8})


HAND = [
    # group A: selection 2/4 = .5; positives r0, r2, TP r0 -> TPR 1/2
    ("A", "1", "1"), ("A", "1", "0"), ("A", "0", "1"), ("A", "0", "0"),
    # group B: selection 2/2 = 1; positives both, TP both -> TPR 1; plus an unlabelled prediction
    ("B", "1", "1"), ("B", "1", "1"), ("B", "1", None),
    # group C: one row, predicted positive, label negative -> selection 1, no TPR
    ("C", "1", "0"),
]


def test_gaps_hand_counted():
    g = f.fairness_gaps(joined(HAND), "sex", "1")
    by = {x.group: x for x in g.groups}
    assert by["A"].selection_rate == 0.5 and by["A"].true_positive_rate == 0.5
    assert by["B"].selection_rate == 1.0 and by["B"].true_positive_rate == 1.0 and by["B"].n == 3
    assert by["C"].n == 1 and by["C"].selection_rate == 1.0 and by["C"].true_positive_rate is None
    assert g.selection_rate_difference == pytest.approx(0.5)
    assert g.selection_rate_ratio == pytest.approx(0.5)
    assert g.tpr_difference == pytest.approx(0.5)  # C has no positive labels, so it is left out
    assert g.tpr_ratio == pytest.approx(0.5)
    json.dumps(g.to_dict())


def test_gaps_zero_selection_and_missing_group():
    rows = [("A", "0", "1"), ("A", "0", "0"), (None, "1", "1")]
    g = f.fairness_gaps(joined(rows), "sex", "1")
    by = {x.group: x for x in g.groups}
    assert set(by) == {"A", f.MISSING}
    assert g.selection_rate_difference == 1.0 and g.selection_rate_ratio == 0.0
    assert g.tpr_difference == 1.0 and g.tpr_ratio == 0.0
    # every group at 0: the ratio min/max is undefined
    g = f.fairness_gaps(joined([("A", "0", "1"), ("B", "0", "0")]), "sex", "1")
    assert g.selection_rate_difference == 0.0 and g.selection_rate_ratio is None


def test_segments_match_sklearn_per_group():
    rng = np.random.default_rng(11)
    n = 500
    grp = rng.choice(["x", "y", "z"], n)
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < np.where(grp == "z", 0.5, 0.85), y, 1 - y)
    df = joined([(g, str(a), str(b)) for g, a, b in zip(grp, p, y)])
    segs = {s.group: s for s in f.segments(df, ["sex"], "classification", "1")}
    for g in "xyz":
        sel = grp == g
        assert segs[g].n == sel.sum()
        assert segs[g].metrics["accuracy"] == pytest.approx(skm.accuracy_score(y[sel], p[sel]))
        assert segs[g].metrics["recall"] == pytest.approx(skm.recall_score(y[sel], p[sel]))
    worst = f.worst_segment(df, ["sex"], "classification", "1", min_n=30)
    accs = {g: skm.accuracy_score(y[grp == g], p[grp == g]) for g in "xyz"}
    assert worst.group == min(accs, key=accs.get) == "z"
    assert worst.value == pytest.approx(accs["z"])


def test_worst_segment_respects_min_n():
    rows = [("big", "1", "1")] * 40 + [("big", "0", "1")] * 10 + [("tiny", "0", "1")]
    df = joined(rows)
    w = f.worst_segment(df, ["sex"], "classification", "1", min_n=30)
    assert w.group == "big" and w.value == pytest.approx(0.8) and w.n_labelled == 50
    w = f.worst_segment(df, ["sex"], "classification", "1", min_n=1)
    assert w.group == "tiny" and w.value == 0.0 and w.n == 1
    assert f.worst_segment(df, ["sex"], "classification", "1", min_n=100) is None
    assert f.worst_segment(df, ["no_such_column"], "classification", "1") is None


def test_worst_segment_regression_is_highest_mae():
    df = pl.DataFrame({"ts": [T0] * 4, "request_id": list("abcd"), "channel": ["web", "web", "app", "app"],
                       "prediction_num": [1.0, 2.0, 5.0, 5.0], "label_num": [1.0, 3.0, 1.0, 2.0],
                       "label": ["1", "3", "1", "2"]})
    w = f.worst_segment(df, ["channel"], "regression", min_n=1)
    assert (w.group, w.metric, w.value) == ("app", "mae", pytest.approx(3.5))
