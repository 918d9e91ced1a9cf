"""Quality of long windows from the hourly rollups, through the real Service and CLI: accuracy, precision,
recall and F1 of a classifier and MAE, RMSE and MAPE of a regressor over 72 h and over 8 days equal
sklearn.metrics on the same labelled rows and the raw path (to float rounding), ROC AUC is within its
stated bound of sklearn's, the per-version table and the 6 h series equal the raw path's, labels that land
after their hours were built are counted (the hours are rebuilt), and the output says where the numbers
come from.

The log is `rollup_fleet`'s two models over 200 hours as Hive Parquet, with a tenth of the classifier's
predictions written "1.0"/"0.0" (the class "1" as a number, which quality compares as numbers) and the
labels in a Parquet file; the clock sits mid-hour.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from console.cli import main
from console.config import parse_file
from console.service import Service
from rollup_fleet import START, fleet, write_hive

HOURS = 200
NOW = START + timedelta(hours=HOURS - 1, minutes=23)
LATE = START + timedelta(hours=150)  # labels of predictions before this hour land after the first build


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> tuple[Path, pl.DataFrame, pl.DataFrame]:
    root = tmp_path_factory.mktemp("rollup-quality")
    preds, labels = fleet(hours=HOURS, per_hour=150, seed=3)
    preds = preds.with_columns((pl.col("status") != "ok").alias("is_error")).drop("status")
    rng = np.random.default_rng(1)
    preds = preds.with_columns(pl.when(pl.Series(rng.random(preds.height) < 0.1) & (pl.col("model") == "fraud"))
                               .then(pl.col("prediction") + ".0").otherwise(pl.col("prediction")).alias("prediction"))
    preds = preds.filter(pl.col("ts") <= NOW)
    labels = labels.filter(pl.col("ts") <= NOW)
    write_hive(preds, root)
    labels.write_parquet(root / "labels.parquet")
    (root / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[[logs]]\nkind = "labels"\npath = "labels.parquet"\n'
        '[models.fraud]\nfeatures = ["amount", "country"]\n[models.eta]\ntask = "regression"\n'
        'features = ["amount", "country"]\n', encoding="utf-8")
    return root, preds, labels


def _service(root: Path) -> Service:
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    svc.refresh()
    return svc


@pytest.fixture(scope="module")
def results(log):
    root, _, _ = log
    svc = _service(root)
    out = {}
    try:
        for model in ("fraud", "eta"):
            for window in ("72h", "8d"):
                out[model, window] = (svc.quality(model, window, rollups=False),
                                      svc.quality(model, window, rollups=True))
    finally:
        svc.close()
    return out


def _labelled(preds: pl.DataFrame, labels: pl.DataFrame, model: str, window: timedelta) -> pl.DataFrame:
    rows = preds.filter((pl.col("model") == model) & (pl.col("ts") > NOW - window))
    return rows.join(labels.select("request_id", pl.col("label").alias("y")), on="request_id", how="inner")


@pytest.mark.parametrize("window", ["72h", "8d"])
def test_classifier_metrics_equal_sklearn(log, results, window):
    _, preds, labels = log
    raw, rolled = results["fraud", window]
    assert rolled["source"] == "rollups" and "from hourly rollups" in rolled["note"]
    span = timedelta(hours=72) if window == "72h" else timedelta(days=8)
    df = _labelled(preds, labels, "fraud", span)
    y = df["y"].to_numpy()
    p = np.where(df["prediction"].cast(pl.Float64).to_numpy() == 1.0, "1", "0")  # "1.0" is the class "1"
    q = rolled["now"]
    assert q.n == preds.filter((pl.col("model") == "fraud") & (pl.col("ts") > NOW - span)).height == raw["now"].n
    assert q.n_labelled == df.height == raw["now"].n_labelled
    want = {"accuracy": skm.accuracy_score(y, p), "precision": skm.precision_score(y, p, pos_label="1"),
            "recall": skm.recall_score(y, p, pos_label="1"), "f1": skm.f1_score(y, p, pos_label="1")}
    for k, v in want.items():
        assert q.metrics[k] == pytest.approx(v, rel=1e-12), k
        assert raw["now"].metrics[k] == pytest.approx(v, rel=1e-12), k
    auc = skm.roc_auc_score(y == "1", df["score"].to_numpy())
    bound = q.metrics["roc_auc_bound"]
    assert 0 < bound < 0.1 and abs(q.metrics["roc_auc"] - auc) <= bound + 1e-12
    assert raw["now"].metrics["roc_auc"] == pytest.approx(auc, rel=1e-12)


@pytest.mark.parametrize("window", ["72h", "8d"])
def test_regressor_metrics_equal_sklearn(log, results, window):
    _, preds, labels = log
    raw, rolled = results["eta", window]
    span = timedelta(hours=72) if window == "72h" else timedelta(days=8)
    df = _labelled(preds, labels, "eta", span)
    y, p = df["y"].cast(pl.Float64).to_numpy(), df["prediction_num"].to_numpy()
    q = rolled["now"]
    assert q.n_labelled == df.height == raw["now"].n_labelled and q.metrics["mape_n"] == df.height
    want = {"mae": skm.mean_absolute_error(y, p), "rmse": np.sqrt(skm.mean_squared_error(y, p)),
            "mape": skm.mean_absolute_percentage_error(y, p)}
    for k, v in want.items():
        assert q.metrics[k] == pytest.approx(v, rel=1e-9), k
        assert raw["now"].metrics[k] == pytest.approx(v, rel=1e-9), k


@pytest.mark.parametrize("model", ["fraud", "eta"])
def test_the_version_table_and_series_equal_the_raw_path(results, model):
    raw, rolled = results[model, "72h"]
    for key in ("by_version", "series"):
        a, b = rolled[key], raw[key]
        keys = ["version"] if key == "by_version" else ["bucket"]
        assert a.select(keys).to_dicts() == b.select(keys).to_dicts()
        for col in [c for c in b.columns if c not in keys]:
            if col == "roc_auc":
                continue  # from score buckets: within the bound, checked above on the window
            x, y = a[col].to_list(), b[col].to_list()
            assert [v is None for v in x] == [v is None for v in y], (key, col)
            assert [v for v in x if v is not None] == pytest.approx([v for v in y if v is not None], rel=1e-9), \
                (key, col)


def test_late_labels_rebuild_their_hours(log, tmp_path):
    root, preds, labels = log
    late = labels.join(preds.filter(pl.col("ts") < LATE).select("request_id"), on="request_id", how="semi")
    early = labels.join(late.select("request_id"), on="request_id", how="anti")
    early_root = tmp_path / "late"
    early_root.mkdir()
    (early_root / "logs").symlink_to(root / "logs", target_is_directory=True)
    cfg = (root / "console.toml").read_text(encoding="utf-8")
    (early_root / "console.toml").write_text(cfg, encoding="utf-8")
    early.vstack(late.head(0)).write_parquet(early_root / "labels.parquet")
    svc = _service(early_root)
    try:
        first = svc.quality("fraud", "8d", rollups=True)
    finally:
        svc.close()
    labels.write_parquet(early_root / "labels.parquet")  # the late ones land
    svc = _service(early_root)
    try:
        raw = svc.quality("fraud", "8d", rollups=False)
        again = svc.quality("fraud", "8d", rollups=True)
        rebuilt = list(svc.monitor.sketch_drift.built)
    finally:
        svc.close()
    assert first["now"].n_labelled < again["now"].n_labelled == raw["now"].n_labelled
    assert rebuilt and min(a for _, a, _ in rebuilt) < LATE
    for k in ("accuracy", "precision", "recall", "f1"):
        assert again["now"].metrics[k] == pytest.approx(raw["now"].metrics[k], rel=1e-12)


def test_the_cli_says_where_the_numbers_come_from(log, results, capsys, monkeypatch):
    root, _, _ = log
    large = root / "as-large.toml"  # a large fleet, as far as the choice goes
    large.write_text((root / "console.toml").read_text(encoding="utf-8") + "\n[rollups]\nmin_rows = 1\n",
                     encoding="utf-8")
    assert main(["quality", "fraud", "--config", str(large), "--window", "72h",
                 "--at", NOW.isoformat() + "Z", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    _, rolled = results["fraud", "72h"]
    assert data["source"] == "rollups" and data["note"] == rolled["note"]
    assert data["now"]["metrics"]["f1"] == pytest.approx(rolled["now"].metrics["f1"], rel=1e-12)
    assert "joined" not in data
    assert main(["quality", "eta", "--config", str(large), "--window", "72h",
                 "--at", NOW.isoformat() + "Z"]) == 0
    assert "source: rollups" in capsys.readouterr().out


async def test_the_quality_screen_says_where_its_numbers_come_from(log):
    from console.ui.app import ConsoleApp
    from console.ui.screens import monitoring_registry  # noqa: F401 - registers the screens
    from console.ui.screens.quality import QualityScreen
    from ui_fixtures import screen_text, until

    root, _, _ = log
    cfg = parse_file(root / "console.toml")
    svc = Service(cfg, clock=lambda: NOW)
    svc.refresh()
    svc.monitor.rollups_after = 1  # a large fleet, as far as the choice goes
    want = svc.quality("fraud", "7d")
    assert want["source"] == "rollups"
    app = ConsoleApp(cfg, service=svc, poll=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await app.push_screen(QualityScreen("fraud", "production", window="7d"))
            await until(pilot, lambda: "from hourly rollups" in screen_text(app), "the quality screen's source line")
            assert f"labelled {want['now'].n_labelled:,}" in screen_text(app)
            await app.workers.wait_for_complete()
    finally:
        import asyncio

        # a screen's fetch still running in the loop's executor (not a Textual worker) ends before the store closes
        await asyncio.get_running_loop().shutdown_default_executor()
        svc.close()
