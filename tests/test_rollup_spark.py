"""The rollup as a Spark job (local mode): same schema and counts as the local engine (the prediction and
label summaries too), and drift from the Spark-built sketches within the sketch bound of scipy on the raw
rows; prediction and label drift read by the console from Spark-built hours, without reading them raw.

One SparkSession for the whole test session, local[1] and a tiny fleet: a JVM start is the cost."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import stats

from console import rollup_engine
from console import store_rollups as ro
from console.analytics import sketches as sk
from console.cli import main
from console.config import parse_file
from console.service import Service
from rollup_fleet import CATEGORICAL, NUMERIC, START, fleet, write_hive

MODELS = {"fraud": {"numeric": NUMERIC, "categorical": CATEGORICAL, "segments": ["country"]},
          "eta": {"numeric": NUMERIC, "categorical": CATEGORICAL, "task": "regression"}}
EXACT = ["rows", "errors", "status", "labelled", "cls_tp", "cls_fp", "cls_fn", "cls_tn", "cls_correct", "cls_pos_hist",
         "cls_neg_hist", "input_tokens", "output_tokens", "reg_n", "reg_ape_n", "cat__country", "cat__channel",
         "cost_n", "pred_counts", "pred_text", "label_counts", "label_text", "label_ts"]
SUMS = ["cost_usd", "latency_sum", "score_sum", "reg_abs_sum", "reg_sq_sum", "sum__amount", "sq__speed",
        "uncosted_input", "uncosted_cached", "uncosted_output", "pred_sum", "pred_sq", "label_sum", "label_sq"]
SKETCHES = ["latency_kll", "num__amount", "num__age", "reg_err_kll", "pred_kll", "label_kll"]
KEYS = list(ro.KEYS)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from console.spark import rollup_job

    tmp = tmp_path_factory.mktemp("spark")
    preds, labels = fleet(hours=4, per_hour=150, seed=3)
    # what cost and quality read from rollups: requests without a logged cost (priced from tokens, cached apart),
    # and predictions of the class "1" written as the number "1.0"
    rng = np.random.default_rng(4)
    n = preds.height
    preds = preds.with_columns(
        pl.when(pl.Series(rng.random(n) < 0.4)).then(None).otherwise(pl.col("cost_usd")).alias("cost_usd"),
        pl.Series("output_tokens", rng.integers(0, 500, n)), pl.Series("cached_tokens", rng.integers(0, 120, n)),
        pl.when(pl.Series(rng.random(n) < 0.2) & (pl.col("model") == "fraud")).then(pl.col("prediction") + ".0")
        .otherwise(pl.col("prediction")).alias("prediction"),
        # a value past float32's range: both engines clip it to float32's largest (sketch and sums alike)
        pl.when(pl.int_range(n) == 7).then(1e39).otherwise(pl.col("speed")).alias("speed"),
        # rows stamped on an hour's first instant (a batch job's), kept apart by both engines (`ro.ON_HOUR`)
        pl.when(pl.int_range(n) % 37 == 0).then(pl.col("ts").dt.truncate("1h")).otherwise(pl.col("ts")).alias("ts"))
    # regression predictions that are no number (text counts), the rest numbers (sketch, counts by value)
    na = pl.Series(rng.random(n) < 0.03) & (pl.col("model") == "eta")
    preds = preds.with_columns(pl.when(na).then(pl.lit("n/a")).otherwise(pl.col("prediction")).alias("prediction"),
                               pl.when(na).then(None).otherwise(pl.col("prediction_num")).alias("prediction_num"))
    logs = write_hive(preds, tmp)
    specs = {m: ro.ModelSpec.of(s) for m, s in MODELS.items()}
    datasets = rollup_engine.src.dataset([str(logs)])
    end = START + timedelta(hours=4)
    local = rollup_engine.local_builder(datasets, labels.to_arrow(), specs)(START, end)
    spark = rollup_job.builder([str(logs)], labels.to_arrow(), specs, master="local[1]")(START, end)
    return preds, labels, local, spark


def test_spark_and_local_rollups_have_one_schema_and_the_same_counts(both):
    _, _, local, spark = both
    assert set(local) == set(spark) == set(MODELS)
    # the prediction and label summaries are written by Spark too (every one filled somewhere: numbers, counts by
    # value, and the text of the regression's predictions that are no number)
    assert {c for m in MODELS for c in ro.target_columns() if spark[m].column(c).null_count < spark[m].num_rows} \
        == set(ro.target_columns())
    preds = both[0]
    for m in MODELS:
        assert spark[m].schema.equals(local[m].schema), m
        a, b = pl.from_arrow(local[m]), pl.from_arrow(spark[m])
        assert a.height == b.height
        on = preds.filter((pl.col("model") == m) & (pl.col("ts") == pl.col("ts").dt.truncate("1h"))).height
        whole = pl.col("segment").is_null()
        assert on > 0 and [x.filter(whole & pl.col(ro.ON_HOUR))["rows"].sum() for x in (a, b)] == [on, on], m
        joined = a.join(b, on=KEYS, how="inner", nulls_equal=True, suffix="_spark")
        assert joined.height == a.height
        for c in EXACT:
            assert joined[c].to_list() == joined[f"{c}_spark"].to_list(), (m, c)
        for c in SUMS:
            assert np.allclose(joined[c].to_numpy(), joined[f"{c}_spark"].to_numpy(), rtol=1e-9, atol=1e-9), (m, c)
        for c in SKETCHES:
            ns = [(sk.deserialize(x).n if x else 0, sk.deserialize(y).n if y else 0)
                  for x, y in zip(joined[c].to_list(), joined[f"{c}_spark"].to_list())]
            assert all(x == y for x, y in ns), (m, c)


def test_spark_sketches_merge_with_python_ones_and_drift_within_the_bound(both, tmp_path):
    preds, _, local, spark = both
    ro.write({"fraud": spark["fraud"]}, tmp_path / "spark", START, START + timedelta(hours=4))
    ro.write({"fraud": local["fraud"]}, tmp_path / "local", START, START + timedelta(hours=4))
    cut = START + timedelta(hours=2)
    a = ro.read(tmp_path / "spark", "fraud", START, cut)
    b = ro.read(tmp_path / "spark", "fraud", cut, START + timedelta(hours=4))
    b_local = ro.read(tmp_path / "local", "fraud", cut, START + timedelta(hours=4))
    raw = preds.filter(pl.col("model") == "fraud")
    x = raw.filter(pl.col("ts") < cut)["amount"].cast(pl.Float32).cast(pl.Float64).to_numpy()
    y = raw.filter(pl.col("ts") >= cut)["amount"].cast(pl.Float32).cast(pl.Float64).to_numpy()
    for cur in (b, b_local):
        ks = sk.ks(a.numeric["amount"], cur.numeric["amount"])
        assert abs(ks.statistic - stats.ks_2samp(x, y).statistic) <= ks.bound + 1e-12
        w = sk.wasserstein(a.numeric["amount"], cur.numeric["amount"], ref_std=a.mean_std("amount")[1])
        assert abs(w.score - stats.wasserstein_distance(x, y) / np.std(x)) <= w.bound + 1e-9
    mixed = sk.merge([a.numeric["amount"], b_local.numeric["amount"]])  # Java-built + Python-built
    assert mixed.n == raw.height
    assert sk.jensenshannon(a.counts["channel"], b.counts["channel"]).score == pytest.approx(
        sk.jensenshannon(a.counts["channel"], b_local.counts["channel"]).score)


TARGET_CONFIG = (
    '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
    '[[logs]]\nkind = "labels"\npath = "labels.parquet"\n'
    '[models.fraud]\nreference = "reference.parquet"\nfeatures = ["amount", "speed", "country"]\n'
    '[models.eta]\ntask = "regression"\nreference = "reference.parquet"\nfeatures = ["amount", "speed", "country"]\n')


def _console_folder(root, preds: pl.DataFrame, labels: pl.DataFrame, now: datetime):
    write_hive(preds.with_columns((pl.col("status") != "ok").alias("is_error")).drop("status"), root)
    labels.filter(pl.col("ts") <= now).write_parquet(root / "labels.parquet")
    preds.head(2000).select("amount", "speed", "country").write_parquet(root / "reference.parquet")
    (root / "console.toml").write_text(TARGET_CONFIG, encoding="utf-8")
    return root / "console.toml"


def test_prediction_and_label_drift_read_from_spark_built_rollups_without_raw_fallback(tmp_path):
    """`rollup --engine spark` builds every closed hour of a 200-hour log; the console then reads prediction and
    label drift of 48 h from those hours' target summaries: its catch-up finds every hour current (builds none),
    only edge hours are read raw, and neither score falls back to the raw baseline and window (`method` stays
    "sketch"). Tests on counts (the classifier's text predictions, its 0/1 labels) give the score of the same
    console over locally built rollups and of the exact path; normed Wasserstein (the regression's predictions and
    labels) is within its stated bound of the exact path and of scipy, and within both bounds of the local one."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    preds, labels = fleet(hours=200, per_hour=40, seed=4)
    now = START + timedelta(hours=199, minutes=23)
    spark_cfg = _console_folder(tmp_path / "spark", preds, labels, now)
    local_cfg = _console_folder(tmp_path / "local", preds, labels, now)
    assert main(["rollup", "--config", str(spark_cfg), "--engine", "spark", "--master", "local[1]",
                 "--until", ro.floor_hour(now).isoformat(), "--format", "json"]) == 0
    spark_svc = Service(parse_file(spark_cfg), clock=lambda: now)
    local_svc = Service(parse_file(local_cfg), clock=lambda: now)
    try:
        spark_svc.refresh()
        local_svc.refresh()
        drift = spark_svc.monitor.sketch_drift
        for model in ("fraud", "eta"):
            got = spark_svc.drift(model, "48h", series=False, exact=False)
            assert drift.built == [], drift.built  # every hour read is the Spark job's
            assert all(b - a <= ro.HOUR for _, a, b in drift.raw_reads), drift.raw_reads  # edge hours only
            local = local_svc.drift(model, "48h", series=False, exact=False)
            exact = spark_svc.drift(model, "48h", series=False, exact=True)
            assert local_svc.monitor.sketch_drift.built  # the other console built its own, locally
            for g, lo, want in ((got.prediction, local.prediction, exact.prediction),
                                (got.label, local.label, exact.label)):
                assert g is not None and g.method == "sketch" and g.bound is not None, model  # not read raw
                for key in ("column", "kind", "test", "threshold", "n_ref", "n_cur"):
                    assert getattr(g, key) == getattr(lo, key) == getattr(want, key), (model, key)
                if g.test == "wasserstein":  # KLL sketches on both sides: within the stated bound
                    assert abs(g.score - want.score) <= g.bound, (model, g.column)
                    assert abs(g.score - lo.score) <= g.bound + lo.bound, (model, g.column)
                else:  # exact counts (by value or by text): the exact score
                    assert g.bound == 0.0 and g.score == pytest.approx(want.score, abs=1e-12), (model, g.column)
                    assert g.score == pytest.approx(lo.score, abs=1e-12) and g.status == want.status
            if model == "eta":  # the regression's predictions against scipy on the raw rows
                base_start = now - timedelta(days=7)
                rows = preds.filter(pl.col("model") == model).with_columns(
                    pl.col("prediction").cast(pl.Float64, strict=False).alias("p"))
                base = rows.filter((pl.col("ts") > base_start) & (pl.col("ts") <= base_start + timedelta(days=2)))
                cur = rows.filter(pl.col("ts") > now - timedelta(hours=48))
                b = base["p"].to_numpy().astype(np.float32).astype(np.float64)
                c = cur["p"].to_numpy().astype(np.float32).astype(np.float64)
                assert got.prediction.test == "wasserstein"
                assert abs(got.prediction.score - stats.wasserstein_distance(b, c) / np.std(b)) <= got.prediction.bound
    finally:
        spark_svc.close()
        local_svc.close()


def test_the_cost_and_quality_counts_are_the_hand_counts(both):
    preds, labels, local, spark = both
    for built in (local, spark):
        fraud = pl.from_arrow(built["fraud"]).filter(pl.col("segment").is_null())
        rows = preds.filter(pl.col("model") == "fraud")
        assert fraud["cost_n"].sum() == rows["cost_usd"].is_not_null().sum()
        bare = rows.filter(pl.col("cost_usd").is_null())
        assert fraud["uncosted_output"].sum() == pytest.approx(float(bare["output_tokens"].sum()))
        assert fraud["uncosted_input"].sum() == pytest.approx(
            float((bare["input_tokens"] - bare["cached_tokens"]).clip(lower_bound=0).sum()))
        joined = rows.join(labels, on="request_id", how="inner")
        correct = (joined["prediction"].cast(pl.Float64) == joined["label"].cast(pl.Float64)).sum()
        assert fraud["cls_correct"].sum() == correct
        assert fraud["cls_tp"].sum() == ((joined["prediction"].cast(pl.Float64) == 1) & (joined["label"] == "1")).sum()
        # the newest arrival of the labels each hour counts (`store_rollups.LABEL_TS`): what a past `--at` reads by
        newest = joined.group_by(pl.col("ts").dt.truncate("1h").alias("hour")).agg(pl.col("ts_right").max())
        got = fraud.group_by("hour").agg(pl.col("label_ts").max())
        assert dict(got.iter_rows()) == dict(newest.iter_rows())


def test_worker_scan_reads_what_the_dataset_scanner_reads(tmp_path):
    """The Spark task's reader (row groups streamed from each file, no Spark needed to run it) gives the
    rows of the window with the Hive folder's values, as pyarrow's dataset scanner over the same files."""
    import pyarrow.dataset as pads

    from console.spark import rollup_job
    from console.spark.scan_task import reader

    preds, _ = fleet(hours=4, per_hour=150, seed=5)
    root = tmp_path / "logs"
    for (country,), part in preds.partition_by("country", as_dict=True).items():
        (root / f"country={country}").mkdir(parents=True)
        part.drop("country").write_parquet(root / f"country={country}" / "part-0.parquet", row_group_size=100)
    start, end = START + timedelta(minutes=50), START + timedelta(hours=2, minutes=10)
    todo, schema = rollup_job.pieces([str(root)], start, end)
    ids = pl.DataFrame({"i": list(range(len(todo)))}).to_arrow().to_batches()
    got = pl.from_arrow(pa_table(list(reader(todo, schema, start, end)(ids)))).sort("request_id")
    want = preds.filter((pl.col("ts") >= start) & (pl.col("ts") < end)).sort("request_id")
    scanned = pl.from_arrow(pads.dataset(str(root), partitioning="hive").to_table()).filter(
        (pl.col("ts") >= start) & (pl.col("ts") < end)).sort("request_id")
    assert got.height == want.height == scanned.height > 0
    assert got["country"].to_list() == want["country"].to_list() == scanned["country"].to_list()
    for c in ("ts", "model", "version", "amount", "age", "speed", "channel", "score"):
        assert got[c].cast(want[c].dtype).to_list() == want[c].to_list(), c
    assert got["is_error"].to_list() == (~want["status"].is_in(["ok"])).to_list()


def pa_table(batches):
    import pyarrow as pa

    return pa.Table.from_batches(batches)


def test_a_spark_run_with_nothing_to_build_starts_no_jvm(tmp_path, monkeypatch):
    """A cron `rollup --engine spark` that finds every closed hour built cost a JVM start (7-11 s) for nothing:
    the session now starts at the first range to build."""
    from console.spark import rollup_job

    preds, _ = fleet(hours=3, per_hour=50, seed=9)
    logs = write_hive(preds, tmp_path)
    end = START + timedelta(hours=3)
    first = rollup_engine.catch_up([str(logs)], [], tmp_path / "rollups", now=end, since=START, engine="local")
    assert first.built
    started = []
    monkeypatch.setattr(rollup_job, "session", lambda master="local[2]": started.append(master))
    again = rollup_engine.catch_up([str(logs)], [], tmp_path / "rollups", now=end, engine="spark")
    assert not again.built and not again.rebuilt_hours and started == []


def test_a_float_segment_and_a_float_category_are_keyed_as_the_local_engine_keys_them(tmp_path):
    """A segment (or a feature counted as a category, not by value) logged as a float column: the local engine keys
    its values by Polars' text of them ("10000000.0", "inf", "0.0001"), the Spark job took Spark's cast to string
    (Java's "1.0E7", "Infinity", "1.0E-4"), so the two engines' rollups of one log had different keys and counts
    (the differential probe of 2026-12-06: a cost per prompt version logged as a float, a segment incident's
    value). Both now key them as the local engine does; hand counts of the rows."""
    from console.spark import rollup_job

    values = [1e7, 2.5, float("inf"), float("nan"), -0.0, 1e-4, 3.0, None]
    n = 64
    tier = [values[i % len(values)] for i in range(n)]
    rows = pl.DataFrame({"ts": [START + timedelta(seconds=30 * i + 1) for i in range(n)], "model": "m",
                         "version": "1", "request_id": [f"f{i}" for i in range(n)], "tier": tier,
                         "shard": [i % 3 for i in range(n)], "latency_ms": [10.0] * n},
                        schema_overrides={"tier": pl.Float64})
    (tmp_path / "logs").mkdir()
    rows.write_parquet(tmp_path / "logs" / "part-0.parquet")
    specs = {"m": ro.ModelSpec.of({"categorical": ["tier"], "segments": ["tier", "shard"]})}
    end = START + timedelta(hours=1)
    paths = [str(tmp_path / "logs")]
    local = rollup_engine.local_builder(rollup_engine.src.sources(paths), None, specs)(START, end)["m"]
    spark = rollup_job.builder(paths, None, specs, master="local[1]")(START, end)["m"]
    text = rows.with_columns(pl.col("tier").cast(pl.String)).get_column("tier")
    hand = {k: v for k, v in text.value_counts().iter_rows() if k is not None}
    assert set(hand) >= {"10000000.0", "inf", "NaN", "-0.0", "0.0001", "3.0"}
    for built in (local, spark):
        df = pl.from_arrow(built)
        seg = df.filter(pl.col("segment") == "tier").group_by("segment_value").agg(pl.col("rows").sum())
        assert dict(seg.iter_rows()) == hand
        shard = df.filter(pl.col("segment") == "shard").group_by("segment_value").agg(pl.col("rows").sum())
        assert dict(shard.iter_rows()) == {"0": 22, "1": 21, "2": 21}
        whole = df.filter(pl.col("segment").is_null())
        assert whole.height == 1 and sk.decode_counts(whole["cat__tier"][0]) == hand
    a = pl.from_arrow(local).sort(KEYS, nulls_last=False)
    b = pl.from_arrow(spark).sort(KEYS, nulls_last=False)
    assert a.select(KEYS).rows() == b.select(KEYS).rows()
    assert [sk.decode_counts(x) for x in a["cat__tier"]] == [sk.decode_counts(x) for x in b["cat__tier"]]


def test_a_field_logged_as_numbers_in_one_source_and_text_in_another_is_counted_alike(tmp_path):
    """A field logged as numbers in a JSONL log and as text in a Parquet log is text in the union of the sources:
    the local engine reads each source in its own types and writes the JSONL's floats as Polars does ("4.0",
    "NaN": the log's own text), the Spark task cast them to text with Arrow ("4", "nan"), so one value was two
    categories across the engines (the differential probe of 2026-12-06, a feature that changed type). Both now
    count the JSONL's 4.0 as "4.0"; the Parquet log's text stays as logged."""
    import json

    from console.spark import rollup_job

    floats = [4.0, 2.5, float("nan"), 12.0, None]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(
        {"ts": (START + timedelta(minutes=2 * i + 1)).isoformat() + "Z", "model": "m", "version": "1",
         "request_id": f"j{i}", "latency_ms": 5.0, **({} if floats[i % 5] is None else {"amount": floats[i % 5]})})
        + "\n" for i in range(20)), encoding="utf-8")
    (tmp_path / "pq").mkdir()
    pl.DataFrame({"ts": [START + timedelta(minutes=2 * i + 2) for i in range(10)], "model": "m", "version": "1",
                  "request_id": [f"p{i}" for i in range(10)], "latency_ms": 5.0,
                  "amount": ["4", "4.0", "high", "7.5", "7.5", "4", "low", "2.5", None, "12"]}).with_columns(
        pl.col("ts").dt.replace_time_zone("UTC")).write_parquet(tmp_path / "pq" / "part-0.parquet")
    paths = [str(tmp_path / "a.jsonl"), str(tmp_path / "pq")]
    specs = {"m": ro.ModelSpec.of({"categorical": ["amount"]})}
    end = START + timedelta(hours=1)
    local = rollup_engine.local_builder(rollup_engine.src.sources(paths), None, specs)(START, end)["m"]
    spark = rollup_job.builder(paths, None, specs, master="local[1]")(START, end)["m"]
    hand = {"4.0": 4 + 1, "2.5": 4 + 1, "NaN": 4, "12.0": 4, "4": 2, "high": 1, "7.5": 2, "low": 1, "12": 1}
    for built in (local, spark):
        df = pl.from_arrow(built)
        assert df["rows"].sum() == 30
        assert sk.merge_counts(df["cat__amount"].to_list()) == hand


def test_a_label_file_without_a_ts_is_counted_by_neither_engine(tmp_path):
    """The store sets aside a label row with no time ("missing ts", `queries/conform_labels.sql`). The `rollup`
    command's local engine read a label file without a ts column whole and counted every label of it, the Spark
    job counted them only when no other label file had a ts (else the null ts left them out of its window), so
    the engines' quality counts differed (the differential probe: 382 labelled locally, 191 under Spark, on one log)
    and each from the store's. Both now count the labels the store holds: here the 10 with a ts."""
    import json

    preds = pl.DataFrame({"ts": [START + timedelta(minutes=2 * i + 1) for i in range(30)], "model": "m",
                          "version": "1", "request_id": [f"r{i}" for i in range(30)], "latency_ms": 5.0,
                          "prediction": [str(i % 2) for i in range(30)], "score": 0.5})
    (tmp_path / "logs").mkdir()
    preds.write_parquet(tmp_path / "logs" / "part-0.parquet")
    (tmp_path / "timed.jsonl").write_text("".join(json.dumps(
        {"request_id": f"r{i}", "label": "1", "ts": (START + timedelta(hours=2)).isoformat() + "Z"}) + "\n"
        for i in range(0, 30, 3)), encoding="utf-8")
    (tmp_path / "untimed.jsonl").write_text("".join(json.dumps({"request_id": f"r{i}", "label": "0"}) + "\n"
                                                    for i in range(1, 30, 3)), encoding="utf-8")
    end = START + timedelta(hours=1)
    for labels in ([tmp_path / "timed.jsonl", tmp_path / "untimed.jsonl"], [tmp_path / "untimed.jsonl"]):
        got = []
        for engine in ("local", "spark"):
            folder = tmp_path / f"rollups-{engine}-{len(labels)}"
            rollup_engine.catch_up([str(tmp_path / "logs")], [str(p) for p in labels], folder,
                                   now=end + timedelta(hours=3), since=START, until=end, engine=engine,
                                   master="local[1]", compact=False)
            t = pl.from_arrow(ro.read_table(folder, "m", START, end)).filter(pl.col("segment").is_null())
            got.append((t["rows"].sum(), t["labelled"].sum(), t["cls_correct"].sum()))
        want = (30, 10, 5) if len(labels) == 2 else (30, 0, 0)  # r0, r3, ... labelled "1": the odd ones predicted 1
        assert got == [want, want], labels


def test_a_labelled_classifier_logging_no_score_is_built_by_spark(tmp_path):
    """A classifier whose log has no `score` column, with labels: the Spark job failed ("UNRESOLVED_COLUMN ...
    `score`", exit 4) where the local engine builds it (no score histograms). Found by the differential probe."""
    from console.spark import rollup_job

    preds = pl.DataFrame({"ts": [START + timedelta(minutes=2 * i + 1) for i in range(20)], "model": "m",
                          "version": "1", "request_id": [f"r{i}" for i in range(20)], "latency_ms": 5.0,
                          "prediction": [str(i % 2) for i in range(20)]})
    (tmp_path / "logs").mkdir()
    preds.write_parquet(tmp_path / "logs" / "part-0.parquet")
    labels = pl.DataFrame({"request_id": [f"r{i}" for i in range(0, 20, 2)], "label": "0",
                           "ts": START + timedelta(hours=1)}).to_arrow()
    specs = {"m": ro.ModelSpec()}
    end = START + timedelta(hours=1)
    paths = [str(tmp_path / "logs")]
    local = rollup_engine.local_builder(rollup_engine.src.sources(paths), labels, specs)(START, end)["m"]
    spark = rollup_job.builder(paths, labels, specs, master="local[1]")(START, end)["m"]
    for built in (local, spark):
        t = pl.from_arrow(built)
        assert (t["rows"].sum(), t["labelled"].sum(), t["cls_correct"].sum(), t["cls_tn"].sum()) == (20, 10, 10, 10)
        assert t["cls_pos_hist"].null_count() == t.height
    assert spark.schema.equals(local.schema)


def test_a_class_written_with_spaces_or_a_java_suffix_is_text_in_both_engines(tmp_path):
    """A prediction or label that is a number only to Spark's cast (`" 1 "`, `"\\t0"`: Spark trims them; `"1d"`:
    Java's parser takes the suffix) is text on the raw path (`analytics.quality.is_value`, Polars' parse) and in the
    local engine, so `" 1 "` is not the class "1". The Spark job compared them as numbers: its confusion counts of one
    log differed from the local engine's and from `quality --exact` (the differential probe of odd inputs, 2026-12-06).
    Hand counts of the cells, as the raw path's rule reads each pair."""
    from console.spark import rollup_job

    pairs = [(" 1 ", "1"), ("1", " 1"), ("1d", "1"), ("1.0", "1"), ("0", "\t0"), ("TRUE", "1"), ("1e0", "1"),
             ("0", "0"), ("1", "1D"), ("+1", "1")]
    n = len(pairs)
    preds = pl.DataFrame({"ts": [START + timedelta(minutes=2 * i + 1) for i in range(n)], "model": "m",
                          "version": "1", "request_id": [f"r{i}" for i in range(n)], "latency_ms": 5.0,
                          "prediction": [p for p, _ in pairs], "score": 0.5})
    (tmp_path / "logs").mkdir()
    preds.write_parquet(tmp_path / "logs" / "part-0.parquet")
    labels = pl.DataFrame({"request_id": [f"r{i}" for i in range(n)], "label": [y for _, y in pairs],
                           "ts": START + timedelta(hours=1)}).to_arrow()
    # by hand: a number is a plain decimal (a sign, digits, a point, an exponent) or true/yes/false/no, else text
    #   " 1 "/1 FN, 1/" 1" FP, 1d/1 FN, 1.0/1 TP, 0/"\t0" TN (not equal: text), TRUE/1 TP, 1e0/1 TP, 0/0 TN,
    #   1/1D FP, +1/1 TP
    hand = {"cls_tp": 4, "cls_fp": 2, "cls_fn": 2, "cls_tn": 2, "cls_correct": 5, "labelled": n}
    specs = {"m": ro.ModelSpec()}
    end = START + timedelta(hours=1)
    paths = [str(tmp_path / "logs")]
    local = rollup_engine.local_builder(rollup_engine.src.sources(paths), labels, specs)(START, end)["m"]
    spark = rollup_job.builder(paths, labels, specs, master="local[1]")(START, end)["m"]
    for built in (local, spark):
        t = pl.from_arrow(built).filter(pl.col("segment").is_null())
        assert {k: int(t[k].sum()) for k in hand} == hand


def test_a_number_written_with_spaces_is_summarised_as_the_store_casts_it(tmp_path):
    """The prediction and label summaries (what prediction and label drift read) take a row's text as a number as the
    store casts it (DuckDB's TRY_CAST: `" 1 "` and `"0\\n"` are numbers, `"1d"` and `"\\x011"` are not). The local
    engine's Polars cast took no spaces (it left `" 1 "` out of the numbers), the Spark job's cast also took `"1d"`:
    the differential probe of odd inputs found the two engines' `pred_sum` and counts of one hour apart. Hand counts."""
    from console.analytics import sketches as sk
    from console.spark import rollup_job

    preds = [" 1 ", "\t0", "1d", "2.5 ", "1", "0", "\x011"]
    labels = [" 1 ", "0\n", "1d", "1", "x", "2", "\x011"]
    n = len(preds)
    (tmp_path / "logs").mkdir()
    pl.DataFrame({"ts": [START + timedelta(minutes=2 * i + 1) for i in range(n)], "model": "m", "version": "1",
                  "request_id": [f"r{i}" for i in range(n)], "latency_ms": 5.0, "prediction": preds}) \
        .write_parquet(tmp_path / "logs" / "part-0.parquet")
    table = pl.DataFrame({"request_id": [f"r{i}" for i in range(n)], "label": labels,
                          "ts": START + timedelta(hours=1)}).to_arrow()
    specs = {"m": ro.ModelSpec()}
    end = START + timedelta(hours=1)
    paths = [str(tmp_path / "logs")]
    local = rollup_engine.local_builder(rollup_engine.src.sources(paths), table, specs)(START, end)["m"]
    spark = rollup_job.builder(paths, table, specs, master="local[1]")(START, end)["m"]
    for built in (local, spark):
        t = pl.from_arrow(built).filter(pl.col("segment").is_null())
        assert t.height == 1
        row = t.row(0, named=True)
        assert row["pred_sum"] == pytest.approx(4.5) and row["label_sum"] == pytest.approx(4.0)
        assert sk.decode_counts(row["pred_counts"]) == {"1.0": 2, "0.0": 2, "2.5": 1}
        assert sk.decode_counts(row["pred_text"]) == {"1d": 1, "\x011": 1}
        assert sk.decode_counts(row["label_counts"]) == {"1.0": 2, "0.0": 1, "2.0": 1}
