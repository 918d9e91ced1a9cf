"""How far each row of a drifted feature lies from what its hour of the day looked like before: the series a
drift incident's onset is found in (`incident_rules.RuleEvaluator._estimate`, by the CUSUM change point).

A change-point search on the raw values finds a daily rhythm (a demand index that peaks each evening) sooner
than a shift, and the evaluations alone place an onset no closer than a grid step (half a day for a 24 h rule).
So each row is compared with a baseline of its own hour of the day, taken from the day before the search:
- a numeric feature's row becomes its mid-rank in that baseline less 0.5 (the probability integral transform:
  about 0 on average whatever the rhythm while the feature holds, moved as one the moment it shifts);
- a categorical one's, its surprise there, -log of its category's (smoothed) share.
The baseline of an hour of the day is the reference when that hour looked like it the day before (within
`RHYTHM_Z` standard errors: a feature without a rhythm, whose hour of a day is a noisier copy of the reference)
or when it has fewer than `MIN_BASELINE` rows there (no day of history yet, a quiet night); else its own rows of
that day (a rhythm: the evening's peak is compared with the evening before, not with the whole day).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from console.analytics.drift import ColumnReference

DAY = timedelta(days=1)
MIN_BASELINE = 30  # rows an hour of the day needs in the baseline day to stand for that hour
RHYTHM_Z = 3.0  # an hour of the baseline day this many standard errors from the reference has a rhythm of its own


def departures(rows: pl.DataFrame, ref: ColumnReference, feature: str, start: datetime,
               end: datetime) -> pl.DataFrame:
    """(ts, v) of the rows of `feature` in [start, end], `ts` truncated to its hour (so a change is placed
    between two hours, never inside one): `v` how far the row lies from the baseline of its hour of the day,
    the rows in [start - 1 day, start). `rows`: `ts` and `feature`, served rows of the model."""
    frame = rows.select(pl.col("ts"), pl.col(feature).alias("x")).filter(
        (pl.col("ts") >= start - DAY) & (pl.col("ts") <= end) & pl.col("x").is_not_null())
    frame = frame.with_columns(pl.col("ts").dt.truncate("1h").alias("hour"),
                               pl.col("ts").dt.hour().alias("hod"))
    if ref.numeric:
        frame = frame.with_columns(pl.col("x").cast(pl.Float64, strict=False)).filter(pl.col("x").is_finite())
    else:
        frame = frame.with_columns(pl.col("x").cast(pl.String, strict=False)).drop_nulls("x")
    base, part = frame.filter(pl.col("ts") < start), frame.filter(pl.col("ts") >= start)
    out = []
    for (hod,), rows_h in part.group_by(["hod"], maintain_order=True):
        own = base.filter(pl.col("hod") == hod)["x"]
        v = _numeric(rows_h["x"], own, ref) if ref.numeric else _categorical(rows_h["x"], own, ref)
        out.append(pl.DataFrame({"ts": rows_h["hour"], "v": v}))
    if not out:
        return pl.DataFrame(schema={"ts": pl.Datetime("us"), "v": pl.Float64})
    return pl.concat(out).sort("ts")


def _ranks(base: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Mid-ranks of `vals` in the sorted `base`, as a share of it, less 0.5."""
    if base is None or base.size == 0:
        return np.zeros(vals.size)
    below = np.searchsorted(base, vals, side="left")
    upto = np.searchsorted(base, vals, side="right")
    return (below + upto) / (2.0 * base.size) - 0.5


def _numeric(x: pl.Series, own: pl.Series, ref: ColumnReference) -> np.ndarray:
    """Mid-ranks of `x` in the baseline of its hour of the day, less 0.5 (a rank is 1/12 in variance)."""
    base = ref.sorted_values
    if own.len() >= MIN_BASELINE and ref.sorted_values is not None:
        mine = own.to_numpy()
        if abs(float(_ranks(base, mine).mean())) * np.sqrt(12.0 * mine.size) >= RHYTHM_Z:
            base = np.sort(mine)
    return _ranks(base, x.to_numpy())


def _categorical(x: pl.Series, own: pl.Series, ref: ColumnReference) -> np.ndarray:
    """-log of each value's share in the baseline of its hour of the day, smoothed by half a row per category
    (one never seen there is rare, not impossible)."""
    counts = {str(k): int(c) for k, c in zip(ref.categories, ref.counts)}
    if own.len() >= MIN_BASELINE:
        vc = own.value_counts()
        mine = dict(zip(vc[own.name].to_list(), vc["count"].to_list()))
        if _apart(counts, mine):
            counts = mine
    total, k = sum(counts.values()), len(counts) + 1
    keys = list(counts)
    surprise = [-float(np.log((counts[key] + 0.5) / (total + 0.5 * k))) for key in keys]
    unseen = -float(np.log(0.5 / (total + 0.5 * k)))
    return x.replace_strict(keys, surprise, default=unseen, return_dtype=pl.Float64).to_numpy()


def _apart(ref: dict, own: dict) -> bool:
    """Whether an hour's category counts differ from the reference's by a chi-square statistic `RHYTHM_Z`
    standard deviations past its mean (the normal approximation: no SciPy on a command's path)."""
    keys = sorted(set(ref) | set(own))
    obs = np.array([[ref.get(k, 0) for k in keys], [own.get(k, 0) for k in keys]], dtype=np.float64)
    dof = len(keys) - 1
    if dof <= 0 or not obs[0].sum() or not obs[1].sum():
        return False
    expected = np.outer(obs.sum(axis=1), obs.sum(axis=0)) / obs.sum()
    stat = float(np.sum((obs - expected) ** 2 / expected))
    return stat >= dof + RHYTHM_Z * np.sqrt(2.0 * dof)
