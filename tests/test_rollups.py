"""Hourly rollups: counts equal a direct group-by, drift from merged rollups within the sketch bound
of scipy on the raw rows, incremental catch-up and late labels."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from scipy import stats

from console import rollup_engine
from console import store_rollups as ro
from console import rollup_summarise as rs
from console.analytics import sketches as sk
from console.cli import main
from rollup_fleet import CATEGORICAL, NUMERIC, START, fleet, write_hive

KEYS = ["model", "version", "environment", "variant", "hour"]
FEATURES = tuple(NUMERIC + CATEGORICAL)
MODELS = {"fraud": SimpleNamespace(features=FEATURES, segments=("country",), task="classification",
                                   positive_label="1"),
          "eta": SimpleNamespace(features=FEATURES, segments=(), task="regression", positive_label="1")}
SPECS = {"fraud": {"numeric": NUMERIC, "categorical": CATEGORICAL, "segments": ["country"]},
         "eta": {"numeric": NUMERIC, "categorical": CATEGORICAL, "task": "regression"}}


@pytest.fixture(scope="module")
def data():
    preds, labels = fleet()
    preds = preds.with_columns((pl.col("status") != "ok").alias("is_error"),
                               pl.when(pl.col("status") != "ok").then(pl.col("status")).alias("error"))
    return preds, labels


@pytest.fixture(scope="module")
def built(data):
    preds, labels = data
    batches = preds.to_arrow().to_batches(max_chunksize=700)  # streamed in small batches
    return rs.build_rollups(batches, labels.to_arrow(), SPECS)


def _whole(t) -> pl.DataFrame:
    return pl.from_arrow(t).filter(pl.col("segment").is_null())


def test_counts_equal_a_direct_group_by(data, built):
    preds, _ = data
    exact = (preds.with_columns(pl.col("ts").dt.truncate("1h").alias("hour"))
             .group_by(KEYS).agg(pl.len().alias("rows"), pl.col("is_error").sum().alias("errors"),
                                 pl.col("input_tokens").sum(), pl.col("cost_usd").sum()))
    got = pl.concat([_whole(t) for t in built.values()])
    joined = exact.join(got, on=KEYS, how="full", coalesce=True)
    assert joined.height == exact.height == got.height
    assert (joined["rows"] == joined["rows_right"]).all()
    assert (joined["errors"] == joined["errors_right"]).all()
    assert (joined["input_tokens"] == joined["input_tokens_right"]).all()
    assert np.allclose(joined["cost_usd"], joined["cost_usd_right"])
    for row in got.iter_rows(named=True):
        status = sk.decode_counts(row["status"])
        assert sum(status.values()) == row["rows"] and status.get("ok", 0) == row["rows"] - row["errors"]


def test_categories_sketches_and_segments_per_group(data, built):
    preds, _ = data
    preds = preds.with_columns(pl.col("ts").dt.truncate("1h").alias("hour"))
    fraud = pl.from_arrow(built["fraud"])
    for row in fraud.filter(pl.col("segment").is_null()).iter_rows(named=True):
        sub = preds.filter(*[pl.col(k) == row[k] for k in KEYS])
        vc = sub["channel"].value_counts()
        assert sk.decode_counts(row["cat__channel"]) == dict(zip(vc["channel"], vc["count"]))
        amount = sk.deserialize(row["num__amount"])
        assert amount.n == sub.height
        assert row["sum__amount"] == pytest.approx(sub["amount"].cast(pl.Float32).cast(pl.Float64).sum(), rel=1e-9)
        assert sk.deserialize(row["latency_kll"]).n == sub.height
    seg = fraud.filter(pl.col("segment") == "country")
    by_country = seg.group_by("segment_value").agg(pl.col("rows").sum())
    exact = preds.filter(pl.col("model") == "fraud").group_by("country").agg(pl.len())
    assert dict(by_country.iter_rows()) == dict(exact.iter_rows())


def test_quality_cells_equal_hand_counts(data, built):
    preds, labels = data
    joined = preds.join(labels.select("request_id", "label"), on="request_id", how="inner")
    fraud = joined.filter(pl.col("model") == "fraud")
    y, p = fraud["label"] == "1", fraud["prediction"] == "1"
    s = ro.merge_table(built["fraud"])
    assert s.labelled == fraud.height
    assert s.confusion == {"tp": int((y & p).sum()), "fp": int((~y & p).sum()), "fn": int((y & ~p).sum()),
                           "tn": int((~y & ~p).sum())}
    edges = np.linspace(0, 1, ro.BUCKETS + 1)
    score = fraud["score"].to_numpy()
    b = np.clip(np.floor(score * ro.BUCKETS), 0, ro.BUCKETS - 1)
    assert s.pos_hist.tolist() == np.bincount(b[y.to_numpy()].astype(int), minlength=ro.BUCKETS).tolist()
    assert len(edges) == ro.BUCKETS + 1

    eta = joined.filter(pl.col("model") == "eta")
    err = eta["prediction_num"].to_numpy() - eta["label"].cast(pl.Float64).to_numpy()
    r = ro.merge_table(built["eta"])
    assert r.sums["reg_n"] == eta.height == r.reg_err.n
    assert r.sums["reg_abs_sum"] == pytest.approx(np.abs(err).sum(), rel=1e-9)
    assert r.sums["reg_sq_sum"] == pytest.approx(np.dot(err, err), rel=1e-9)


def test_streamed_and_whole_builds_agree(data, built):
    preds, labels = data
    whole = rs.build_rollups(preds.to_arrow(), labels.to_arrow(), SPECS)
    for m in built:
        a, b = pl.from_arrow(whole[m]), pl.from_arrow(built[m])
        assert a.schema == b.schema
        cols = ["rows", "errors", "status", "labelled", "cls_tp", "cat__channel", "reg_n"]
        assert a.select(KEYS + cols).equals(b.select(KEYS + cols))


def test_drift_between_windows_from_read_rollups_is_within_the_bound_of_scipy(tmp_path, data, built):
    preds, _ = data
    for m, t in built.items():
        ro.write({m: t}, tmp_path, START, START + timedelta(hours=6))
    early = ro.read(tmp_path, "fraud", START, START + timedelta(hours=3))
    late = ro.read(tmp_path, "fraud", START + timedelta(hours=3), START + timedelta(hours=6))
    raw = preds.filter(pl.col("model") == "fraud")
    cut = START + timedelta(hours=3)
    x = raw.filter(pl.col("ts") < cut)["amount"].cast(pl.Float32).cast(pl.Float64).to_numpy()
    y = raw.filter(pl.col("ts") >= cut)["amount"].cast(pl.Float32).cast(pl.Float64).to_numpy()
    assert (early.rows, late.rows) == (x.size, y.size)
    ks = sk.ks(early.numeric["amount"], late.numeric["amount"])
    assert abs(ks.statistic - stats.ks_2samp(x, y).statistic) <= ks.bound
    w = sk.wasserstein(early.numeric["amount"], late.numeric["amount"], ref_std=early.mean_std("amount")[1])
    assert early.mean_std("amount")[1] == pytest.approx(np.std(x), rel=1e-6)
    assert abs(w.score - stats.wasserstein_distance(x, y) / np.std(x)) <= w.bound + 1e-12
    js = sk.jensenshannon(early.counts["channel"], late.counts["channel"])
    exact = raw.with_columns((pl.col("ts") >= cut).alias("late")).group_by("late", "channel").len()
    assert js.verdict == sk.DRIFTED  # "api" appears only late
    table = sk.drift_table(early, late, tests={"speed": ("ks", 0.05)})
    assert set(table) == set(NUMERIC) | set(CATEGORICAL)
    assert table["channel"].score == js.score and table["speed"].test == "ks"
    assert table["amount"].score == pytest.approx(w.score)
    assert sum(late.counts["channel"].values()) == exact.filter(pl.col("late"))["len"].sum()


def test_catch_up_builds_closed_hours_once_and_rebuilds_hours_given_late_labels(tmp_path, data):
    preds, labels = data
    logs = write_hive(preds, tmp_path)
    hour1 = preds.filter(pl.col("ts").dt.truncate("1h") == START + timedelta(hours=1))
    early = labels.filter(~pl.col("request_id").is_in(hour1["request_id"].implode()))
    early.write_parquet(tmp_path / "labels.parquet")
    out_dir = tmp_path / "rollups"
    paths, lab = [str(logs)], [str(tmp_path / "labels.parquet")]

    first = rollup_engine.catch_up(paths, lab, out_dir, now=START + timedelta(hours=3, minutes=5), models=MODELS)
    assert first.built == [(START, START + timedelta(hours=3))]
    hour1_fraud = ro.read(out_dir, "fraud", START + timedelta(hours=1), START + timedelta(hours=2))
    assert hour1_fraud.labelled == 0

    # Hour 1's labels land (dated after the first build), and three more hours close.
    late = labels.filter(pl.col("request_id").is_in(hour1["request_id"].implode())).with_columns(
        pl.lit(START + timedelta(hours=7)).cast(pl.Datetime("us")).alias("ts"))
    pl.concat([early, late]).write_parquet(tmp_path / "labels.parquet")
    second = rollup_engine.catch_up(paths, lab, out_dir, now=START + timedelta(hours=6, minutes=1), models=MODELS)
    assert second.built == [(START + timedelta(hours=3), START + timedelta(hours=6))]
    assert second.rebuilt_hours == [START + timedelta(hours=1)]

    whole = ro.read(out_dir, "fraud", START, START + timedelta(hours=6))
    assert whole.rows == preds.filter(pl.col("model") == "fraud").height  # nothing counted twice
    hour1_fraud = ro.read(out_dir, "fraud", START + timedelta(hours=1), START + timedelta(hours=2))
    assert hour1_fraud.labelled == late.join(hour1.filter(pl.col("model") == "fraud"), on="request_id").height > 0
    third = rollup_engine.catch_up(paths, lab, out_dir, now=START + timedelta(hours=6, minutes=30), models=MODELS)
    assert third.built == [] and third.rebuilt_hours == []


def test_rollup_command_builds_from_the_configured_logs(tmp_path, data, capsys):
    preds, labels = data
    logs = write_hive(preds.drop("is_error", "error"), tmp_path)
    labels.write_parquet(tmp_path / "labels.parquet")
    (tmp_path / "live.jsonl").write_text("")  # a live log just rotated: no rows, not an error
    features = ", ".join(f'"{f}"' for f in FEATURES)
    (tmp_path / "console.toml").write_text(f"""
[[logs]]
kind = "predictions"
path = "{logs}/**/*.parquet"

[[logs]]
kind = "labels"
path = "labels.parquet"

[[logs]]
kind = "predictions"
path = "live.jsonl"

[models.fraud]
features = [{features}]
segments = ["country"]

[models.eta]
task = "regression"
features = [{features}]
""", encoding="utf-8")
    rc = main(["rollup", "--config", str(tmp_path / "console.toml"), "--path", str(tmp_path / "rollups"),
               "--since", START.isoformat(),
               "--until", (START + timedelta(hours=6)).isoformat(), "--format", "json"])
    assert rc == 0
    out = capsys.readouterr().out
    assert f'"rows": {preds.height}' in out
    s = ro.read(tmp_path / "rollups", "eta", START, START + timedelta(hours=6))
    assert s.rows == preds.filter(pl.col("model") == "eta").height
    assert s.errors == preds.filter((pl.col("model") == "eta") & pl.col("is_error")).height
    assert set(s.numeric) == set(NUMERIC) and set(s.counts) == set(CATEGORICAL)


def test_rollup_files_are_written_with_snappy_and_zstd_files_written_before_read_the_same(tmp_path, built):
    """Hour and day files use `COMPRESSION` (a read pays pyarrow's zstd per column chunk); a folder still holding
    zstd files from before gives the same rows and the same merged day from them."""
    import pyarrow.parquet as pq

    start, end = START, START + timedelta(days=1)
    table = pl.from_arrow(built["fraud"]).filter((pl.col("hour") >= start) & (pl.col("hour") < end)).to_arrow()
    (path,) = ro.write({"fraud": table}, tmp_path / "new", start, end)
    ro.compact_range(tmp_path / "new", "fraud", start, end)
    days = ro.day_files(tmp_path / "new", "fraud")
    assert len(days) == 1
    for p in (path, days[0].path):
        meta = pq.ParquetFile(p).metadata
        assert {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} == {"SNAPPY"}
    old = tmp_path / "old" / path.parent.name
    old.mkdir(parents=True)
    pq.write_table(pq.read_table(path), old / path.name, compression="zstd")  # as the writer did before
    assert pq.ParquetFile(old / path.name).metadata.row_group(0).column(0).compression == "ZSTD"
    hours = ro.read_table(tmp_path / "old", "fraud", start, end)
    assert hours.equals(ro.read_table(tmp_path / "new", "fraud", start, end))
    assert hours.num_rows == table.num_rows
    rows = pl.from_arrow(table).filter(pl.col("segment").is_null() & (pl.col("environment") == "production"))
    assert ro.read(tmp_path / "old", "fraud", start, end, where={"environment": "production"}).rows \
        == ro.read(tmp_path / "new", "fraud", start, end, where={"environment": "production"}).rows == rows["rows"].sum()
