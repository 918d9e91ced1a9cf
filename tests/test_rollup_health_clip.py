"""Health over a week from the hourly rollups when latencies exceed float32 (1e308 ms: a logging bug's value):
the rollups' KLL sketches hold float32 and clip such values to 3.4e38, so a percentile there is not known
from them (`sketches.clipped`) and the window is read raw, where it is exact. On `rollup_fleet`'s eta over 30
hours with one latency in ten set to 1e308, every p95 and p99 equals NumPy's linear quantile of the rows."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from console.config import parse_file
from console.service import Service
from rollup_fleet import START, fleet, write_hive

NOW = START + timedelta(hours=30, minutes=30)


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    root = tmp_path_factory.mktemp("clip")
    preds, _ = fleet(hours=30, per_hour=200, seed=7)
    rng = np.random.default_rng(1)
    preds = preds.filter(pl.col("model") == "eta").with_columns(
        (pl.col("status") != "ok").alias("is_error"),
        pl.when(pl.Series(rng.random(preds.height // 2) < 0.1)).then(1e308).otherwise(pl.col("latency_ms"))
        .alias("latency_ms")).drop("status")
    write_hive(preds, root)
    (root / "console.toml").write_text(
        '[store]\npath = "store"\n[rollups]\nmin_rows = 0\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[models.eta]\ntask = "regression"\n'
        '[[alerts]]\nname = "eta p95"\nmodel = "eta"\nmetric = "p95_ms"\nop = ">"\nthreshold = 300\nwindow = "1h"\n',
        encoding="utf-8")
    return root, preds


def test_a_week_of_latencies_past_float32_reads_exact_percentiles(log):
    root, preds = log
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    try:
        svc.refresh()
        assert svc.monitor._many_rows("eta", NOW - timedelta(days=7), NOW, "production")  # the rollups' path
        table = svc.health("eta", "7d")["table"]
    finally:
        svc.close()
    assert table.height == 4
    for row in table.iter_rows(named=True):
        lat = preds.filter((pl.col("version") == row["version"]) & (pl.col("variant") == row["variant"]))["latency_ms"]
        for q, col in ((0.95, "p95_ms"), (0.99, "p99_ms")):
            assert row[col] == pytest.approx(float(np.quantile(lat.to_numpy(), q)), rel=1e-12), (row, col)
    assert table["p95_ms"].max() == 1e308  # not float32's largest value, 3.4e38


def test_the_p95_rule_from_rollups_says_the_exact_value(log):
    """The p95 rule's latest window from the rollups (`RollupRules.rate`) reads its raw rows when the sketch's
    p95 sits at the clip, as it does near the threshold: its evidence says 1e+308 (a window with a tenth of its
    rows at 1e308 has that p95: by hand, ranks past 90% are all 1e308), not 3.403e+38."""
    root, preds = log
    hour = START + timedelta(hours=30)  # on the hour: the latest window is closed hours, from the rollups alone
    svc = Service(parse_file(root / "console.toml"), clock=lambda: hour)
    try:
        svc.refresh()
        svc.monitor.rollups_after = 1_000
        (f,) = [f for f in svc.monitor.findings(at=hour) if f.rule == "eta p95" and f.firing]
    finally:
        svc.close()
    assert f.latest == 1e308 and f.evidence.startswith("1e+308 [") and "3.4e+38" not in f.evidence, f.evidence
