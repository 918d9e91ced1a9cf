"""Model quality once ground truth arrives: labels are joined to predictions by request_id.

Metrics are Polars aggregation expressions, so the same definitions serve a window, time buckets
and segments (fairness). A metric that is undefined on the data (no predicted positives for
precision, one class for ROC AUC, no labels yet) is None rather than a made-up 0.
ROC AUC is the Mann-Whitney U statistic from average ranks, so tied scores count one half.
MAPE skips rows whose actual is 0 (the ratio is undefined there); `mape_n` says how many it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

import polars as pl

from console.analytics.windows import JsonResult, bucket_expr, in_window, opt_float

CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION = ("mae", "rmse", "mape")


def join_labels(preds: pl.DataFrame, labels: pl.DataFrame, now: datetime | None = None) -> pl.DataFrame:
    """Predictions with `label`, `label_num` and `label_ts` (null until the label arrives).

    With `now`, labels logged after it are ignored; a request labelled twice keeps the latest label.
    """
    if now is not None:
        labels = labels.filter(pl.col("ts") <= now)
    cols = ["request_id", "label", "ts"] + (["label_num"] if "label_num" in labels.columns else [])
    latest = (labels.select(cols).sort("ts").unique("request_id", keep="last")
              .rename({"ts": "label_ts"}))
    if "label_num" not in latest.columns:
        latest = latest.with_columns(pl.col("label").cast(pl.Float64, strict=False).alias("label_num"))
    drop = [c for c in ("label", "label_num", "label_ts") if c in preds.columns]
    return preds.drop(drop).join(latest, on="request_id", how="left")


def is_value(column: str, value: str) -> pl.Expr:
    """`column` equals `value` as numbers when both are numbers ("1.0" is the class "1"), else as text."""
    text = pl.col(column).cast(pl.Utf8) == value
    try:
        number = float(value)
    except ValueError:
        return text
    as_num = pl.col(column).cast(pl.Utf8).cast(pl.Float64, strict=False)
    return pl.when(as_num.is_not_null()).then(as_num == number).otherwise(text)


def same_value(a: str, b: str) -> pl.Expr:
    """Two columns agree: as numbers when both parse as numbers, else as text."""
    na = pl.col(a).cast(pl.Utf8).cast(pl.Float64, strict=False)
    nb = pl.col(b).cast(pl.Utf8).cast(pl.Float64, strict=False)
    text = pl.col(a).cast(pl.Utf8) == pl.col(b).cast(pl.Utf8)
    return pl.when(na.is_not_null() & nb.is_not_null()).then(na == nb).otherwise(text)


def _div(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def classification_aggs(positive_label: str) -> list[pl.Expr]:
    """n, n_labelled, labelled_share and the classification metrics, as group aggregations."""
    pos = str(positive_label)
    labelled = pl.col("label").is_not_null()
    used = labelled & pl.col("prediction").is_not_null()
    y = is_value("label", pos)
    p = is_value("prediction", pos)
    tp = (used & y & p).sum()
    fp = (used & ~y & p).sum()
    fn = (used & y & ~p).sum()
    m = used.sum()
    precision = _div(tp, tp + fp)
    recall = _div(tp, tp + fn)
    # AUC over labelled rows with a score: ranks are taken inside each group
    scored = labelled & pl.col("score").is_not_null() & pl.col("score").is_not_nan()
    ranks = pl.col("score").filter(scored).rank("average")
    ypos = y.filter(scored).cast(pl.Float64)
    n_pos = ypos.sum()
    n_neg = ypos.len() - n_pos
    auc = pl.when((n_pos > 0) & (n_neg > 0)).then(
        ((ranks * ypos).sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)).otherwise(None)
    return [
        pl.len().alias("n"),
        labelled.sum().alias("n_labelled"),
        (labelled.sum() / pl.len()).alias("labelled_share"),
        _div((used & same_value("label", "prediction")).sum(), m)
        .alias("accuracy"),
        precision.alias("precision"),
        recall.alias("recall"),
        _div(2 * tp, 2 * tp + fp + fn).alias("f1"),
        auc.alias("roc_auc"),
    ]


def regression_aggs() -> list[pl.Expr]:
    """n, n_labelled, labelled_share, MAE, RMSE and MAPE (zero actuals skipped) as aggregations."""
    actual = pl.col("label_num").cast(pl.Float64).fill_nan(None)
    pred = pl.col("prediction_num").cast(pl.Float64).fill_nan(None)
    err = pred - actual  # null unless both are present
    nonzero = err.is_not_null() & (actual != 0)
    return [
        pl.len().alias("n"),
        pl.col("label").is_not_null().sum().alias("n_labelled"),
        (pl.col("label").is_not_null().sum() / pl.len()).alias("labelled_share"),
        err.abs().mean().alias("mae"),
        (err.pow(2).mean().sqrt()).alias("rmse"),
        (err.abs() / actual.abs()).filter(nonzero).mean().alias("mape"),
        nonzero.sum().alias("mape_n"),
    ]


def metric_aggs(task: str, positive_label: str = "1") -> list[pl.Expr]:
    return regression_aggs() if task == "regression" else classification_aggs(positive_label)


def primary_metric(task: str) -> tuple[str, bool]:
    """The metric that ranks segments and whether higher is better."""
    return ("mae", False) if task == "regression" else ("accuracy", True)


def quality_table(joined: pl.DataFrame, task: str, positive_label: str = "1",
                  by: Sequence[str] = ()) -> pl.DataFrame:
    """One row per group (or one row overall) with n, n_labelled, labelled_share and metrics."""
    aggs = metric_aggs(task, positive_label)
    if not by:
        return joined.select(aggs)
    return joined.group_by(list(by)).agg(aggs).sort(list(by), nulls_last=True)


def quality_series(joined: pl.DataFrame, task: str, positive_label: str = "1", every: str = "1h",
                   by: Sequence[str] = ()) -> pl.DataFrame:
    """Metrics per time bucket of the prediction timestamp (by-columns, bucket, n, ..., metrics)."""
    keys = [*by, "bucket"]
    return (joined.group_by([*by, bucket_expr(every).alias("bucket")])
            .agg(metric_aggs(task, positive_label)).sort(keys))


@dataclass(frozen=True)
class Quality(JsonResult):
    task: str
    window: str | None
    n: int
    n_labelled: int
    labelled_share: float | None
    metrics: dict[str, float | None]


def quality(joined: pl.DataFrame, task: str, positive_label: str = "1", now: datetime | None = None,
            window: str | None = None) -> Quality:
    """Quality over the trailing window (or over all rows given when `window` is None)."""
    rows = in_window(joined, now, window) if window and now is not None else joined
    r = quality_table(rows, task, positive_label).row(0, named=True)
    names = REGRESSION + ("mape_n",) if task == "regression" else CLASSIFICATION
    metrics = {k: opt_float(r[k]) for k in names}
    return Quality(task=task, window=window, n=int(r["n"]), n_labelled=int(r["n_labelled"] or 0),
                   labelled_share=opt_float(r["labelled_share"]), metrics=metrics)
