"""Prediction drift and label drift of a sketched window from the hourly rollups, as feature drift is read.

`monitoring._target_drift` compares one column of the window (the predictions, or the labels of the labelled
rows) with the same column of the history's first days (the baseline, `monitoring.BASELINE`): numeric when any
value is a number, else as text, with the test and threshold the exact engine picks for the baseline's size and
distinct values (`drift.default_test`). Read raw, a 24-hour window costs the two baseline days and the window
(seconds at 100M rows). Here each side is read as `RollupDrift.current` reads a window: the closed hours strictly
inside it from the rollups' per-hour target summaries (`store_rollups.TARGETS`), the partial first hour and the
open hour from raw rows summarised by the same builder (with a k that keeps an hour's numbers exactly). Each side's
sketches are unioned (`sketches.Dist.union`, deterministic: the same rollups give the same score on every read):
numeric tests (KS, Wasserstein) state their bound, the sum of both sides' rank errors, as feature drift does;
tests on counts (few-valued numbers, text) are exact unless a side folded values into "other", which makes a
drifted verdict borderline.

An hour counting labels logged after `now` (a view of a past time: `store_rollups.labels_after`) is summarised
from its raw rows with the labels logged up to `now`, as an edge is, since the raw path ignores later labels.

None (the caller reads raw) when an hour inside a side was built without these columns (by older code, the
local engine's or the Spark job's), rather than rebuilding a month of hours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl

from console import store_rollups as ro
from console import rollup_summarise as rs
from console.analytics import drift as dr
from console.analytics import health as he
from console.analytics import sketches as sk

# what a raw edge is summarised from (`rollup_summarise.build_rollups` with no feature: keys, counts, targets)
EDGE_COLUMNS = ["ts", "model", "version", "environment", "variant", "request_id", "prediction", "prediction_num"]
EDGE_K = 65535  # DataSketches' largest k (`_edge`)
NAMES = {"pred": ("prediction_num", "prediction"), "label": ("label_num", "label")}  # the exact path's columns


@dataclass
class Side:
    """One side's (baseline or window) merged target summaries: rows, labelled rows, and per target its
    numbers' sketch and sums, counts by value, and text counts."""

    rows: int = 0
    labelled: int = 0
    kll: dict[str, sk.Dist] = field(default_factory=dict)  # the numbers' sketches, unioned (`Dist.union`)
    sums: dict[str, tuple[float, float]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    text: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, frames: list[pl.DataFrame]) -> Side:
        """The whole-group rows (segment null) of rollup rows, merged: a shadow's rows left out, as the raw path's
        (`health.served`)."""
        df = pl.concat([f for f in frames if f.height], how="diagonal_relaxed") if any(f.height for f in frames) \
            else None
        df = he.served(df) if df is not None else None
        out = cls()
        if df is None:
            return out
        out.rows, out.labelled = int(df["rows"].sum()), int(df["labelled"].sum())
        for t in ro.TARGETS:
            out.kll[t] = sk.Dist.union(df[f"{t}_kll"].drop_nulls().to_list(), sk.ITEMS)
            out.sums[t] = (float(df[f"{t}_sum"].sum()), float(df[f"{t}_sq"].sum()))
            out.counts[t] = sk.merge_counts(df[f"{t}_counts"].to_list())
            out.text[t] = sk.merge_counts(df[f"{t}_text"].to_list())
        return out

    def numbers(self, t: str) -> int:
        d = self.kll.get(t)
        return 0 if d is None else int(d.n)


def summarised(frame: pl.DataFrame, environment: str | None) -> pl.DataFrame | None:
    """The whole-group rollup rows of `environment`; None when a row with rows lacks its target summaries (an
    hour built before them, by either engine), or a labelled row its label's."""
    df = frame.filter(pl.col("segment").is_null())
    if environment is not None:
        df = df.filter(pl.col("environment") == environment)
    missing = [c for c in ro.target_columns() if c not in df.columns]
    if missing:
        return None if df.height and df["rows"].sum() else df.head(0)
    known = pl.any_horizontal([pl.col(f"pred_{p}").is_not_null() for p in ("kll", "counts", "text")])
    labels = pl.any_horizontal([pl.col(f"label_{p}").is_not_null() for p in ("kll", "counts", "text")])
    bad = df.filter(((pl.col("rows") > 0) & ~known) | ((pl.col("labelled") > 0) & ~labels))
    return None if bad.height else df


def target_drift(drift, base: Side, cur: Side) -> tuple[dr.ColumnDrift | None, dr.ColumnDrift | None]:
    """(prediction drift, label drift), scored by `drift._score` as a feature is, of the window against the baseline, as `monitoring._target_drift`
    decides them: None for a side with no rows (labelled rows, for labels)."""
    if not base.rows or not cur.rows:
        return None, None
    numeric = base.numbers("pred") + cur.numbers("pred") > 0
    prediction = _column(drift, "pred", numeric, base, cur)
    label = None
    if base.labelled and cur.labelled:
        label = _column(drift, "label", numeric and base.numbers("label") + cur.numbers("label") > 0, base, cur)
    return prediction, label


def _column(drift, t: str, numeric: bool, base: Side, cur: Side) -> dr.ColumnDrift:
    """One target's drift from the two sides' summaries, with the exact engine's choice of test."""
    from console.rollup_drift import SKETCH_TESTS, Current, RefSketch

    name = NAMES[t][0] if numeric else NAMES[t][1]
    counts = base.counts[t] if numeric else base.text[t]
    if numeric:
        n = base.numbers(t)
        total, sq = base.sums[t]
        mean = total / n if n else math.nan
        std = math.sqrt(max(sq / n - mean * mean, 0.0)) if n else math.nan
    else:
        n, mean, std = sum(counts.values()), math.nan, math.nan
    # the baseline's distinct values: exact unless some were folded into "other" (then more than any test's cut)
    n_unique = len(counts) + (10 ** 6 if sk.OTHER in counts else 0) - (sk.OTHER in counts)
    test = dr.TESTS[dr.default_test(numeric, n, n_unique)]
    ref = dr.ColumnReference(
        name=name, kind=dr.BINARY if n_unique == 2 else dr.NUMERIC if numeric else dr.CATEGORICAL, numeric=numeric,
        integer=False, test=test, threshold=test.default_threshold, n=n, n_dropped=0, n_unique=n_unique,
        sorted_values=None, std=std, mean=mean, categories=(), counts=np.zeros(0, dtype=np.int64))
    on_sketch = numeric and test.name in SKETCH_TESTS
    spec = ro.ModelSpec(numeric=(name,)) if on_sketch else ro.ModelSpec(categorical=(name,))
    refsk = RefSketch({name: sk.Dist.of(base.kll[t])} if on_sketch else {}, {} if on_sketch else {name: counts})
    # the window's rows the test may read: a label drift's are the labelled ones (the raw path's `joined` rows with a
    # label), not the predictions still waiting for theirs, which it counted as "dropped"
    window = Current(rows=cur.labelled if t == "label" else cur.rows)
    if on_sketch:
        if cur.kll.get(t) is not None:
            window.numeric[name] = cur.kll[t]
            window.sums[name] = cur.sums[t][0]
    else:
        window.counts[name] = cur.counts[t] if numeric else cur.text[t]
    scored = drift._score(ref, refsk, window, spec)
    return scored if scored is not None else dr._result(ref, 0, dr.NO_DATA)


def read(drift, model: str, now: datetime, span, start: datetime, environment: str | None):
    """(prediction drift, label drift) of (now - span, now] against the baseline (start, start + BASELINE] from
    the rollups and the raw edges (`RollupDrift.drift` for a sketched window); None when a side's closed hours
    lack the target summaries (read raw)."""
    from console.monitoring import BASELINE
    from console.rollup_drift import US, edge_ranges, floor_hour

    labels = bool(drift.mon.wh.counts()[1])  # a store with no label has no label drift: no label is read
    sides = [(start, start + BASELINE), (now - span, now)]
    inside = [(floor_hour(a) + ro.HOUR, floor_hour(b)) for a, b in sides]
    spans = [(h0, h1) for h0, h1 in inside if h1 > h0]
    if spans:  # one stretch, so the window's own catch-up (drift's features) finds it verified
        drift.catch_up(model, min(h0 for h0, _ in spans), max(h1 for _, h1 in spans), labels=labels)
    columns = ["segment", "environment", "variant", "rows", "labelled", *ro.target_columns(), ro.LABEL_TS]
    out = []
    for (a, b), (h0, h1) in zip(sides, inside):
        frames, raw = [], edge_ranges(a, b)
        if h1 > h0:
            closed, late = _closed(drift, model, h0, h1, columns, environment, now)
            if closed is None:
                return None
            frames.append(closed)
            raw = [raw[0], *((x - US, y - US) for x, y in ro.hour_ranges(late)), raw[-1]]
        for lo, hi in raw:
            if hi > lo:
                frames.append(_edge(drift, model, lo, hi, environment, labels, now))
        out.append(Side.of(frames))
    return target_drift(drift, *out)


def _closed(drift, model: str, h0: datetime, h1: datetime, columns: list[str], environment: str | None,
            now: datetime) -> tuple[pl.DataFrame | None, list[datetime]]:
    """(the rollup rows of the closed hours [h0, h1) to merge, the hours among them to read raw instead): those
    counting labels logged after `now` (a view of a past time, `store_rollups.labels_after`). Day rows are read
    where valid; when one may count such a label, the side is read as hour rows to find its hours."""
    table = ro.read_table(drift.path, model, h0, h1, days=True, columns=columns)
    if table is None or not table.num_rows:
        return pl.DataFrame(), []
    closed = summarised(pl.from_arrow(table), environment)
    if closed is None or not ro.labels_after(closed, now, {}):  # {}: a row without a label time is checked by hour
        return closed, []
    closed = summarised(pl.from_arrow(ro.read_table(drift.path, model, h0, h1, columns=columns)), environment)
    if closed is None:
        return None, []
    late = sorted(ro.labels_after(closed, now, ro._winners(ro.files(drift.path, model), h0, h1)))
    return closed.filter(~pl.col("hour").is_in(late)), late


def _edge(drift, model: str, a: datetime, b: datetime, environment: str | None, labels: bool,
          now: datetime) -> pl.DataFrame:
    """Raw rows in (a, b] as rollup rows (the builder's own summary), their labels logged up to `now` joined as a
    build joins them (the raw path's label drift ignores later ones)."""
    rows = drift.raw(model, a, b, environment, EDGE_COLUMNS)
    if not rows.height:
        return pl.DataFrame()
    lab = None
    if labels:
        lab = drift.mon.wh.frame("model_labels", {"model": model, "since": a, "until": b, "environment": None})
        lab = lab.filter(pl.col("ts") <= now) if lab.height else lab
        lab = lab if lab.height else None
    # k at its largest: a KLL sketch holds every value, exactly, up to k of them, so an edge of up to 65,535 numbers per
    # group is not compacted with random bits and the same rows give the same score on every read
    table = rs.build_rollups(rows.with_columns(pl.lit(model).alias("model")), lab, {model: ro.ModelSpec()},
                             k=EDGE_K)
    return pl.from_arrow(table[model]).filter(pl.col("segment").is_null()) if model in table else pl.DataFrame()
