"""Model quality once ground truth arrives: labels are joined to predictions by request_id.

Metrics are Polars aggregation expressions, so the same definitions serve a window, time buckets
and segments (fairness). A metric that is undefined on the data (no predicted positives for
precision, one class for ROC AUC, no labels yet) is None rather than a made-up 0.
ROC AUC is the Mann-Whitney U statistic from average ranks, so tied scores count one half.
MAPE skips rows whose actual is 0 (the ratio is undefined there); `mape_n` says how many it used.

Every metric but ROC AUC is a ratio of additive counts (`count_aggs`), so a long window is the sum of
its hours' counts: the hourly rollups keep them with these same expressions, and `from_counts` turns
summed counts into the metrics `quality_table` computes from rows. ROC AUC from counts is read off the
score histograms by true class (`score_hist`), within the stated bound of the rank-based value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

import polars as pl

from console.analytics.windows import JsonResult, bucket_expr, format_span, in_window, opt_float

CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION = ("mae", "rmse", "mape")


def join_labels(preds: pl.DataFrame, labels: pl.DataFrame, now: datetime | None = None) -> pl.DataFrame:
    """Predictions with `label`, `label_num` and `label_ts` (null until the label arrives).

    With `now`, labels logged after it are ignored; a request labelled twice keeps the latest label
    (`latest_labels`).
    """
    if now is not None:
        labels = labels.filter(pl.col("ts") <= now)
    cols = ["request_id", "label", "ts"] + (["label_num"] if "label_num" in labels.columns else [])
    latest = latest_labels(labels.select(cols)).rename({"ts": "label_ts"})
    if "label_num" not in latest.columns:
        latest = latest.with_columns(pl.col("label").cast(pl.Float64, strict=False).alias("label_num"))
    drop = [c for c in ("label", "label_num", "label_ts") if c in preds.columns]
    return preds.drop(drop).join(latest, on="request_id", how="left")


def latest_labels(labels: pl.DataFrame, ts: str = "ts") -> pl.DataFrame:
    """One label per request id: the one logged last (`ts`); of two logged at the same instant with different values,
    the one whose text sorts last (then its number): "1" over "0", "spam" over "ham". No time settles such a
    conflict, and the order the store, a rollup chunk or Spark hands rows over in is not the log's, so the winner
    followed the sort: the raw path and a rollup could count different labels for one request. The one definition of
    the raw join (`join_labels`) and both rollup engines' (`rollup_summarise._labels_frame`)."""
    keys = [ts, *(c for c in ("label", "label_num") if c in labels.columns)]
    return labels.sort(keys, nulls_last=False).unique("request_id", keep="last", maintain_order=True)


_BOOLEANS = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0}


def _number(column: str) -> pl.Expr:
    """A class as a number: a number's text, or a JSON boolean's (`true` is the class 1, `false` 0: a classifier
    logging booleans against 0/1 labels had every answer counted wrong while its ROC AUC was right)."""
    text = pl.col(column).cast(pl.Utf8)
    return text.cast(pl.Float64, strict=False).fill_null(text.str.to_lowercase().replace_strict(
        _BOOLEANS, default=None, return_dtype=pl.Float64))


def is_value(column: str, value: str) -> pl.Expr:
    """`column` equals `value` as numbers when both are numbers ("1.0" is the class "1", `true` too), else as
    text."""
    text = pl.col(column).cast(pl.Utf8) == value
    number = _BOOLEANS.get(value.lower())
    if number is None:
        try:
            number = float(value)
        except ValueError:
            return text
    as_num = _number(column)
    return pl.when(as_num.is_not_null()).then(as_num == number).otherwise(text)


def same_value(a: str, b: str) -> pl.Expr:
    """Two columns agree: as numbers when both parse as numbers (a boolean as 1 or 0), else as text."""
    na, nb = _number(a), _number(b)
    text = pl.col(a).cast(pl.Utf8) == pl.col(b).cast(pl.Utf8)
    return pl.when(na.is_not_null() & nb.is_not_null()).then(na == nb).otherwise(text)


def served_quality(rows: pl.DataFrame, task: str) -> dict:
    """What the canary's live gates compare of label-joined `rows`, counted as `count_aggs` counts it: a
    classifier's (an LLM's) correct answers among the rows with a label and a prediction, compared by
    `same_value` (text equality counted a canary logging `true` against labels "1" wrong on every row, and the
    gate refused a better canary); a regression's MAE over the rows with both numbers (exact equality of two
    floats made a regression's live "accuracy" zero on both sides)."""
    if "label" not in rows.columns or "prediction" not in rows.columns:
        return {"labelled": 0, "correct": 0, "accuracy": None} if task != "regression" else {"labelled": 0, "mae": None}
    if task == "regression":
        num = [c for c in ("prediction_num", "label_num") if c not in rows.columns]
        if num:
            rows = rows.with_columns(pl.col(c.removesuffix("_num")).cast(pl.Utf8).cast(pl.Float64, strict=False)
                                     .alias(c) for c in num)
        err, _ = _reg_terms()
        got = rows.select(err.is_not_null().sum().alias("n"), err.abs().mean().alias("mae")).row(0, named=True)
        return {"labelled": int(got["n"]), "mae": got["mae"]}
    used = pl.col("label").is_not_null() & pl.col("prediction").is_not_null()
    got = rows.select(used.sum().alias("n"), (used & same_value("label", "prediction")).sum().alias("k")).row(0)
    n, k = int(got[0]), int(got[1])
    return {"labelled": n, "correct": k, "accuracy": k / n if n else None}


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


# ------------------------------------------------------------------ additive counts (rollups)

COUNTS = ("n", "n_labelled", "cls_tp", "cls_fp", "cls_fn", "cls_tn", "cls_correct",
          "reg_n", "reg_abs_sum", "reg_sq_sum", "reg_ape_sum", "reg_ape_n")
BUCKETS = 20  # score buckets of width 0.05 for the histograms ROC AUC is read from


def _reg_terms() -> tuple[pl.Expr, pl.Expr]:
    actual = pl.col("label_num").cast(pl.Float64).fill_nan(None)
    pred = pl.col("prediction_num").cast(pl.Float64).fill_nan(None)
    return pred - actual, actual


def count_aggs(task: str, positive_label: str = "1") -> list[pl.Expr]:
    """The additive counts behind the metrics, as group aggregations with the same definitions as
    `classification_aggs` / `regression_aggs` (rows need `label`, `prediction`, `label_num` and
    `prediction_num`; counts of the other task are 0)."""
    labelled = pl.col("label").is_not_null()
    out = [pl.len().alias("n"), labelled.sum().alias("n_labelled")]
    if task == "regression":
        err, actual = _reg_terms()
        nonzero = err.is_not_null() & (actual != 0)
        return out + [err.is_not_null().sum().alias("reg_n"), err.abs().sum().alias("reg_abs_sum"),
                      err.pow(2).sum().alias("reg_sq_sum"),
                      (err.abs() / actual.abs()).filter(nonzero).sum().alias("reg_ape_sum"),
                      nonzero.sum().alias("reg_ape_n")]
    pos = str(positive_label)
    used = labelled & pl.col("prediction").is_not_null()
    y, p = is_value("label", pos), is_value("prediction", pos)
    return out + [(used & y & p).sum().alias("cls_tp"), (used & ~y & p).sum().alias("cls_fp"),
                  (used & y & ~p).sum().alias("cls_fn"), (used & ~y & ~p).sum().alias("cls_tn"),
                  (used & same_value("label", "prediction")).sum().alias("cls_correct")]


def score_hist(rows: pl.DataFrame, positive_label: str = "1", by: Sequence[str] = ()) -> pl.DataFrame:
    """Labelled rows with a score per (by..., y, b): the score's bucket b of width 1/BUCKETS (clipped
    to the first and last) and whether the label is the positive class; column `len`."""
    score = pl.col("score").cast(pl.Float64)
    return (rows.filter(pl.col("label").is_not_null() & score.is_not_null() & score.is_not_nan())
            .select(*by, is_value("label", str(positive_label)).alias("y"),
                    (score * BUCKETS).floor().clip(0, BUCKETS - 1).cast(pl.Int64).alias("b"))
            .group_by(*by, "y", "b").len())


def auc_from_hist(pos: Sequence[int] | None, neg: Sequence[int] | None) -> tuple[float | None, float]:
    """ROC AUC from score histograms by class, and its bound: pairs in one bucket count one half, and
    the exact value is within half their share of all pairs either way."""
    if pos is None or neg is None:
        return None, 0.0
    n_pos, n_neg = float(sum(pos)), float(sum(neg))
    if not n_pos or not n_neg:
        return None, 0.0
    below = same = 0.0
    seen_neg = 0.0
    for p, n in zip(pos, neg):
        below += p * seen_neg
        same += p * n
        seen_neg += n
    pairs = n_pos * n_neg
    return (below + same / 2) / pairs, same / 2 / pairs


def from_counts(c: dict, task: str) -> dict[str, float | int | None]:
    """n, n_labelled, labelled_share and the metrics of `metric_aggs` from summed `count_aggs` (and,
    for classifiers, `pos_hist`/`neg_hist` for ROC AUC with `roc_auc_bound`)."""
    def div(a, b):
        return a / b if b else None

    n, lab = int(c.get("n") or 0), int(c.get("n_labelled") or 0)
    out: dict[str, float | int | None] = {"n": n, "n_labelled": lab, "labelled_share": div(lab, n)}
    if task == "regression":
        rn, an = int(c.get("reg_n") or 0), int(c.get("reg_ape_n") or 0)
        mse = div(c.get("reg_sq_sum") or 0.0, rn)
        out.update(mae=div(c.get("reg_abs_sum") or 0.0, rn), rmse=None if mse is None else mse ** 0.5,
                   mape=div(c.get("reg_ape_sum") or 0.0, an), mape_n=an)
        return out
    tp, fp, fn, tn = (int(c.get(f"cls_{k}") or 0) for k in ("tp", "fp", "fn", "tn"))
    auc, bound = auc_from_hist(c.get("pos_hist"), c.get("neg_hist"))
    out.update(accuracy=div(int(c.get("cls_correct") or 0), tp + fp + fn + tn), precision=div(tp, tp + fp),
               recall=div(tp, tp + fn), f1=div(2 * tp, 2 * tp + fp + fn), roc_auc=auc, roc_auc_bound=bound)
    return out


def _span_text(window) -> str | None:
    """The window as operators write it (`31d`), never a count of seconds (`2678400.0` beside the command's `31d`)."""
    return format_span(window) if window is not None else None


def _metrics(r: dict, names: Sequence[str]) -> dict[str, float | int | None]:
    """The metrics of a result row; `mape_n` is a count of rows, said as one (`2246`, not `2246.0` in JSON)."""
    return {k: (int(r[k] or 0) if k == "mape_n" else opt_float(r[k])) for k in names}


def quality_of(r: dict, task: str, window: str | None) -> "Quality":
    """A window's Quality from `from_counts` of its summed counts."""
    names = REGRESSION + ("mape_n",) if task == "regression" else CLASSIFICATION + ("roc_auc_bound",)
    return Quality(task=task, window=_span_text(window), n=int(r["n"]), n_labelled=int(r["n_labelled"]),
                   labelled_share=opt_float(r["labelled_share"]), metrics=_metrics(r, names))


def metric_aggs(task: str, positive_label: str = "1", only: Sequence[str] | None = None) -> list[pl.Expr]:
    """The task's aggregations; `only`: n, n_labelled and these metrics alone. A verdict reading one metric
    need not pay for the rest: precision, recall and F1 cost about 5x accuracy each and ROC AUC a rank per group
    (the segment incident's table was a fifth of `check`)."""
    aggs = regression_aggs() if task == "regression" else classification_aggs(positive_label)
    if only is None:
        return aggs
    keep = {"n", "n_labelled", *only}
    return [a for a in aggs if a.meta.output_name() in keep]


def primary_metric(task: str) -> tuple[str, bool]:
    """The metric that ranks segments and whether higher is better."""
    return ("mae", False) if task == "regression" else ("accuracy", True)


def quality_table(joined: pl.DataFrame, task: str, positive_label: str = "1",
                  by: Sequence[str] = (), only: Sequence[str] | None = None) -> pl.DataFrame:
    """One row per group (or one row overall) with n, n_labelled, labelled_share and metrics (`only`: n,
    n_labelled and these, `metric_aggs`)."""
    aggs = metric_aggs(task, positive_label, only)
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
    metrics: dict[str, float | int | None]


def quality(joined: pl.DataFrame, task: str, positive_label: str = "1", now: datetime | None = None,
            window: str | None = None) -> Quality:
    """Quality over the trailing window (or over all rows given when `window` is None)."""
    rows = in_window(joined, now, window) if window and now is not None else joined
    r = quality_table(rows, task, positive_label).row(0, named=True)
    names = REGRESSION + ("mape_n",) if task == "regression" else CLASSIFICATION
    metrics = _metrics(r, names)
    return Quality(task=task, window=_span_text(window), n=int(r["n"]), n_labelled=int(r["n_labelled"] or 0),
                   labelled_share=opt_float(r["labelled_share"]), metrics=metrics)
