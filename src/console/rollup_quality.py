"""Quality of long windows from the hourly rollups: accuracy, precision, recall and F1 (or MAE, RMSE and
MAPE) over a week or a month are ratios of counts summed over hour rows, not a label join of every raw row.

The rollups keep, per hour and group, the counts `analytics.quality.count_aggs` makes from rows (the
rollup build runs those same expressions), so the metrics equal the raw computation up to float
rounding. ROC AUC comes from the score histograms by true class (20 buckets): pairs within one bucket
count one half, and the exact value is within `roc_auc_bound` of it (in the metrics).

Before reading, the hours are caught up with the store including labels (`RollupDrift.catch_up(labels=
True)`: an hour whose count of labelled rows, or the sum of its labels' numbers, changed since it was built is
rebuilt). A second label for a request already labelled, or a label file corrected in place, changes no count; it
is seen by the sum when it changes a number (a flipped 0/1 class, a corrected regression target); a text label
replaced by another text is seen when the hour is next rebuilt.
Rollups hold every label the store holds, each row with the newest arrival time of the labels it counts
(`store_rollups.LABEL_TS`); the raw path ignores labels logged after the console's `now`, so when the time
cursor looks back, the hours counting a label logged after it are read raw as well (`store_rollups.labels_after`).

Raw rows are read for the window's partial first hour and the open hour (and those hours); the chart's buckets
(whole hours, `chart_every(window, "1h")`) and the per-version table cover the window, as on the raw path.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

from console import store_rollups as ro
from console.analytics import health as he
from console.analytics import quality as qu
from console.analytics.windows import bucket_expr, chart_every, parse_window
from console.rollup_drift import US, floor_hour

RAW_COLUMNS = ["ts", "version", "variant", "request_id", "prediction", "prediction_num", "score"]
COUNTS = [c for c in qu.COUNTS]


def _rollup_parts(table, environment: str | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(counts per hour and version, score histogram rows per hour, version, y, b) from rollup rows."""
    df = pl.from_arrow(table).filter(pl.col("segment").is_null())
    if environment is not None:
        df = df.filter(pl.col("environment") == environment)
    df = df.rename({"hour": "ts", "rows": "n", "labelled": "n_labelled"})
    counts = df.select("ts", "version", "variant", *[pl.col(c).cast(pl.Float64 if c.endswith("_sum") else pl.Int64)
                                         for c in COUNTS])
    hist = []
    for name, y in (("cls_pos_hist", True), ("cls_neg_hist", False)):
        h = df.select("ts", "version", "variant", pl.col(name).alias("len")).filter(pl.col("len").is_not_null())
        h = h.with_columns(pl.int_ranges(0, pl.col("len").list.len()).alias("b")).explode("len", "b")
        hist.append(h.with_columns(pl.lit(y).alias("y")).filter(pl.col("len") > 0))
    return counts, pl.concat(hist, how="diagonal_relaxed") if hist else pl.DataFrame()


def _labelled_after(drift, model: str, table, environment: str | None, now: datetime, h0: datetime,
                    h1: datetime) -> set[datetime]:
    """The hours whose rollup counts labels logged after `now` (a view of a past time: `store_rollups.labels_after`),
    read raw instead with the labels logged up to `now`, as the raw path reads them."""
    df = pl.from_arrow(table).filter(pl.col("segment").is_null())
    if environment is not None:
        df = df.filter(pl.col("environment") == environment)
    return ro.labels_after(df, now, ro._winners(ro.files(drift.path, model), h0, h1))


def _raw_parts(joined: pl.DataFrame, task: str, positive_label: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The same from raw rows, per timestamp and version."""
    keys = ["ts", "version", "variant"]
    counts = joined.group_by(keys).agg(qu.count_aggs(task, positive_label))
    hist = qu.score_hist(joined, positive_label, keys) if task != "regression" else pl.DataFrame()
    return counts, hist


def _summed(counts: pl.DataFrame, hist: pl.DataFrame, by: list[str], task: str) -> list[dict]:
    """One `from_counts` row per group of `by` (all rows in one group when empty)."""
    cols = [c for c in COUNTS if c in counts.columns]
    if by:
        per = counts.group_by(by).agg([pl.col(c).sum() for c in cols]).sort(by, nulls_last=True)
    else:
        per = counts.select([pl.col(c).sum() for c in cols])
    hists: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    if task != "regression" and hist.height:
        for row in hist.group_by([*by, "y", "b"]).agg(pl.col("len").sum()).iter_rows(named=True):
            key = tuple(row[k] for k in by)
            pos, neg = hists.setdefault(key, (np.zeros(qu.BUCKETS, np.int64), np.zeros(qu.BUCKETS, np.int64)))
            (pos if row["y"] else neg)[int(row["b"])] += int(row["len"])
    out = []
    for row in per.iter_rows(named=True):
        key = tuple(row[k] for k in by)
        pos, neg = hists.get(key, (None, None))
        r = qu.from_counts({**row, "pos_hist": pos, "neg_hist": neg}, task)
        out.append({**{k: row[k] for k in by}, **r})
    return out


def _frame(rows: list[dict], by: list[str], task: str) -> pl.DataFrame:
    names = ["n", "n_labelled", "labelled_share",
             *(qu.REGRESSION + ("mape_n",) if task == "regression" else qu.CLASSIFICATION)]
    schema = {**{k: pl.Datetime("us") if k == "bucket" else pl.String for k in by},
              **{n: pl.Int64 if n in ("n", "n_labelled", "mape_n") else pl.Float64 for n in names}}
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)


def quality(mon, model: str, window: str, environment: str | None) -> dict | None:
    """`Monitor.quality`'s result from rollups plus raw edge hours; None when no closed hour is inside."""
    now = mon.clock()
    mc = mon.model_config(model)
    task = "classification" if mc.task == "llm" else mc.task
    since = now - parse_window(window)
    h0, h1 = floor_hour(since) + ro.HOUR, floor_hour(now)
    if h1 <= h0:
        return None
    drift = mon.sketch_drift
    drift.catch_up(model, h0, h1, labels=True)
    wanted = ["segment", "environment", "version", "variant", "rows", "labelled", *[c for c in COUNTS if c.startswith(("cls_", "reg_"))],
              "cls_pos_hist", "cls_neg_hist", ro.LABEL_TS]
    table = ro.read_table(drift.path, model, h0, h1, columns=wanted)
    counts, hist = [], []
    late: list[datetime] = []
    if table is not None and table.num_rows:
        late = sorted(_labelled_after(drift, model, table, environment, now, h0, h1))
        c, h = _rollup_parts(table, environment)
        counts.append(c.filter(~pl.col("ts").is_in(late)))
        hist.append(h.filter(~pl.col("ts").is_in(late)) if h.height else h)
    # the window's partial first hour and the open hour, and the hours counting labels logged after now
    ranges = [(since, h0 - US), *((a - US, b - US) for a, b in ro.hour_ranges(late)), (h1 - US, now)]
    raw = pl.concat([drift.raw(model, a, b, environment, RAW_COLUMNS) for a, b in ranges if b > a],
                    how="diagonal_relaxed")
    if mon.wh.counts()[1]:
        labels = mon.wh.frame("model_labels", {"model": model, "since": since, "until": now, "environment": environment})
    else:  # a store with no label at all (from metadata): no join of the range's request ids with nothing
        labels = pl.DataFrame(schema={"request_id": pl.String, "label": pl.String, "label_num": pl.Float64,
                                      "ts": pl.Datetime("us")})
    joined = qu.join_labels(raw, labels, now=now)
    c, h = _raw_parts(joined, task, mc.positive_label)
    counts.append(c)
    hist.append(h)
    counts_df = pl.concat([x for x in counts if x.height], how="diagonal_relaxed") if any(
        x.height for x in counts) else c
    hist_df = pl.concat([x.select("ts", "version", "variant", "y", "b", pl.col("len").cast(pl.Int64)) for x in hist if x.height],
                        how="diagonal_relaxed") if any(x.height for x in hist) else pl.DataFrame()
    counts_df = counts_df.with_columns([pl.col(x).fill_null(0) for x in COUNTS if x in counts_df.columns])
    # the summary and the chart are the model's, of the answers users were served; the per-version table keeps a
    # shadow's own row (its mirrored requests carry the users' request ids, so the labels join them too)
    users, users_hist = he.served(counts_df), he.served(hist_df) if hist_df.height else hist_df
    total = _summed(users, users_hist, [], task)[0] if users.height else qu.from_counts({}, task)
    every = chart_every(window, "1h")  # whole hours: the chart's buckets are sums of hour rows

    def bucketed(df: pl.DataFrame) -> pl.DataFrame:
        # an empty window still has the column to group by
        return df.with_columns(bucket_expr(every).alias("bucket")) if "ts" in df.columns else df

    series = _frame(_summed(bucketed(users), bucketed(users_hist), ["bucket"], task), ["bucket"], task)
    by_version = _frame(_summed(he.shadow_apart(counts_df), he.shadow_apart(hist_df) if hist_df.height else hist_df,
                                ["version", "variant"], task), ["version", "variant"], task)
    note = ("from hourly rollups plus the raw hours at the window's edges; counts and metrics exact" +
            (f", ROC AUC within ±{total.get('roc_auc_bound') or 0:.3g} (score buckets of {1 / qu.BUCKETS:g})"
             if task != "regression" else ""))
    if drift.note:
        note += f"; {drift.note}"
    return {"now": qu.quality_of(total, task, window), "series": series, "by_version": by_version,
            "range": (since, now), "every": every, "joined": None, "source": "rollups", "note": note}
