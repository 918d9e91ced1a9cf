"""A model with plenty of rows but few labels in its history: the quality rules read back up to `SPARSE_REACH`
for the labelled rows a verdict needs, on the rollup path as on the raw one (`RollupRules.sparse_labels`, then
`RuleEvaluator._reaching`). `rollup_fleet`'s fraud over 12 days, 150 rows an hour: its labels are kept before the
last 7 days (the history) and one request in 150 within it (about 120 labels there, under the 200 a verdict needs), and
90% of its predictions flip over the last 6 days, so accuracy has dropped."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from console.config import parse_file
from console.incident_rules import MIN_LABELS
from console.service import Service
from rollup_fleet import START, fleet, write_hive

HOURS = 24 * 12
NOW = START + timedelta(hours=HOURS - 1, minutes=20)
HISTORY_FROM = NOW - timedelta(days=7)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("sparse-labels")
    preds, labels = fleet(hours=HOURS, per_hour=150, seed=9)
    preds = preds.filter((pl.col("model") == "fraud") & (pl.col("ts") <= NOW))
    rng = np.random.default_rng(4)
    flip = (pl.col("ts") > NOW - timedelta(days=6)) & pl.Series(rng.random(preds.height) < 0.9)
    preds = preds.with_columns(
        (pl.col("status") != "ok").alias("is_error"),
        pl.when(flip).then(pl.when(pl.col("prediction") == "1").then(pl.lit("0")).otherwise(pl.lit("1")))
        .otherwise(pl.col("prediction")).alias("prediction")).drop("status")
    labels = labels.join(preds.select("request_id", pl.col("ts").alias("pts")), on="request_id")
    keep = (pl.col("pts") <= HISTORY_FROM) | (pl.col("request_id").str.extract(r"(\d+)$").cast(pl.Int64) % 150 == 0)
    labels = labels.filter(keep & (pl.col("ts") <= NOW)).drop("pts")
    write_hive(preds, root)
    labels.write_parquet(root / "labels.parquet")
    early = preds.filter(pl.col("ts") < START + timedelta(days=3)).join(labels.select("request_id", "label"),
                                                                          on="request_id")
    early.select("amount", "label", "prediction").write_parquet(root / "fraud.parquet")
    (root / "console.toml").write_text(
        '[store]\npath = "store"\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[[logs]]\nkind = "labels"\npath = "labels.parquet"\n'
        '[models.fraud]\nfeatures = ["amount"]\nreference = "fraud.parquet"\n', encoding="utf-8")
    in_history = labels.join(preds.select("request_id", pl.col("ts").alias("pts")), on="request_id").filter(
        pl.col("pts") > HISTORY_FROM).height
    assert 0 < in_history < MIN_LABELS and preds.filter(pl.col("ts") > HISTORY_FROM).height > 10_000
    return root


def _quality(root, rollups: bool) -> list[tuple]:
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    try:
        svc.refresh()
        svc.monitor.rollups_after = 1_000 if rollups else 10**12
        return sorted((f.id, f.state, f.onset, f.detected, f.evidence) for f in svc.monitor.findings(at=NOW)
                      if f.kind == "accuracy_drop")
    finally:
        svc.close()


def test_quality_reaches_back_for_labels_on_both_paths_alike(root):
    raw = _quality(root, rollups=False)
    assert raw and all(f[1] == "firing" for f in raw), raw  # the raw path reached back
    assert _quality(root, rollups=True) == raw
