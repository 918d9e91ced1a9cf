"""Quality by segment, the worst segment, and group gaps for sensitive columns.

Gaps follow Fairlearn's `MetricFrame.difference()` (max - min over groups) and `.ratio()` (min / max).
Selection rate uses every prediction (labels are not needed for it, and waiting for them would hide
a gap for days); true positive rate uses labelled rows, and a group with no positive labels has no
TPR and is left out of the TPR gap. A missing segment value is its own group, "(missing)".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import polars as pl

from console.analytics.quality import CLASSIFICATION, REGRESSION, is_value, metric_aggs, primary_metric
from console.analytics.windows import JsonResult, opt_float

MISSING = "(missing)"


def _group(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Utf8).fill_null(MISSING).alias("group")


def segment_table(joined: pl.DataFrame, column: str, task: str, positive_label: str = "1",
                  only: Sequence[str] | None = None) -> pl.DataFrame:
    """group, n, n_labelled, labelled_share and the task's metrics, one row per value of `column` (`only`: n,
    n_labelled and these metrics, `quality.metric_aggs`)."""
    return joined.group_by(_group(column)).agg(metric_aggs(task, positive_label, only)).sort("group")


@dataclass(frozen=True)
class SegmentQuality(JsonResult):
    column: str
    group: str
    n: int
    n_labelled: int
    metrics: dict[str, float | None]


def segments(joined: pl.DataFrame, columns: Sequence[str], task: str,
             positive_label: str = "1", only: Sequence[str] | None = None) -> list[SegmentQuality]:
    """Each column's groups with the task's metrics (`only`: these alone, the others None)."""
    names = REGRESSION if task == "regression" else CLASSIFICATION
    wanted = None if only is None else [k for k in names if k in only]
    out = []
    for column in columns:
        if column not in joined.columns:
            continue
        for r in segment_table(joined, column, task, positive_label, wanted).iter_rows(named=True):
            out.append(SegmentQuality(column, r["group"], int(r["n"]), int(r["n_labelled"] or 0),
                                      {k: opt_float(r.get(k)) for k in names}))
    return out


@dataclass(frozen=True)
class WorstSegment(JsonResult):
    column: str
    group: str
    metric: str
    value: float
    n: int
    n_labelled: int


def worst_segment(joined: pl.DataFrame, columns: Sequence[str], task: str, positive_label: str = "1",
                  min_n: int = 30, metric: str | None = None) -> WorstSegment | None:
    """The segment with the worst primary metric among groups with at least `min_n` labelled rows.

    Accuracy for classifiers (lowest), MAE for regressors (highest); ties go to the larger group. Only the
    ranking metric is computed (`pick_worst` ranks segments already in hand).
    """
    name, _ = _ranking(task, metric)
    return pick_worst(segments(joined, columns, task, positive_label, only=(name,)), task, min_n, metric)


def _ranking(task: str, metric: str | None) -> tuple[str, bool]:
    return (metric, metric not in ("mae", "rmse", "mape")) if metric else primary_metric(task)


def pick_worst(segs: Sequence[SegmentQuality], task: str, min_n: int = 30,
               metric: str | None = None) -> WorstSegment | None:
    """`worst_segment` of segments already computed (`segments`): the Fairness screen's table and its worst
    segment from one pass over the rows."""
    name, higher_better = _ranking(task, metric)
    best: WorstSegment | None = None
    for s in segs:
        value = s.metrics.get(name)
        if value is None or s.n_labelled < min_n:
            continue
        cand = WorstSegment(s.column, s.group, name, value, s.n, s.n_labelled)
        if best is None:
            best = cand
            continue
        worse = value < best.value if higher_better else value > best.value
        if worse or (value == best.value and s.n_labelled > best.n_labelled):
            best = cand
    return best


@dataclass(frozen=True)
class GroupRates(JsonResult):
    group: str
    n: int
    selection_rate: float | None
    n_positive_labels: int
    true_positive_rate: float | None


@dataclass(frozen=True)
class FairnessGaps(JsonResult):
    column: str
    groups: tuple[GroupRates, ...]
    selection_rate_difference: float | None
    selection_rate_ratio: float | None
    tpr_difference: float | None
    tpr_ratio: float | None


def _gap(values: list[float | None]) -> tuple[float | None, float | None]:
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None
    hi, lo = max(vals), min(vals)
    return hi - lo, (lo / hi if hi > 0 else None)


def fairness_gaps(joined: pl.DataFrame, column: str, positive_label: str = "1") -> FairnessGaps:
    """Selection-rate and TPR gaps across the groups of one sensitive column."""
    pos = str(positive_label)
    predicted = pl.col("prediction").is_not_null()
    p = is_value("prediction", pos)
    y = is_value("label", pos)
    has_label = pl.col("label").is_not_null() & predicted
    table = (joined.group_by(_group(column))
             .agg(pl.len().alias("n"),
                  p.filter(predicted).cast(pl.Float64).mean().alias("selection_rate"),
                  (has_label & y).sum().alias("n_pos"),
                  (has_label & y & p).sum().alias("tp"))
             .sort("group"))
    groups = tuple(
        GroupRates(r["group"], int(r["n"]), opt_float(r["selection_rate"]), int(r["n_pos"]),
                   r["tp"] / r["n_pos"] if r["n_pos"] else None)
        for r in table.iter_rows(named=True))
    sd, sr = _gap([g.selection_rate for g in groups])
    td, tr = _gap([g.true_positive_rate for g in groups])
    return FairnessGaps(column, groups, sd, sr, td, tr)
