"""Alert rules evaluated against current metrics, with state kept across refreshes.

`evaluate` is stateless: it says what breaches now. `AlertBook` remembers when each alert started
and when it resolved. Onsets are retrospective when a per-bucket series of the metric is supplied:
the first bucket of the current run of breaching buckets, so a console started mid-incident shows
when the incident really began rather than when the console was opened.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable, Iterable, Mapping

import polars as pl

from console.config import AlertRule, Slo
from console.analytics.cost import flag, hourly_cost_series
from console.analytics.health import LATENCY_BUDGET
from console.analytics.quality import same_value
from console.analytics.windows import JsonResult, between, bucket_expr, naive_utc

OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}

Key = tuple[str, str, "str | None"]  # (rule name, model, feature)


@dataclass(frozen=True)
class AlertState(JsonResult):
    rule: AlertRule
    model: str
    value: float | None
    firing: bool
    since: datetime | None
    feature: str | None = None

    @property
    def key(self) -> Key:
        return (self.rule.name, self.model, self.feature)


def breaches(op: str, value: float | None, threshold: float) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return OPS[op](value, threshold)


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def evaluate(rules: Iterable[AlertRule], metrics_by_model: Mapping[str, Mapping[str, object]],
             now: datetime) -> list[AlertState]:
    """One state per (rule, model[, feature]) whose metric is present; `since` is `now` when firing.

    A rule on `feature_drift` without a feature yields one state per drifting feature reported.
    """
    now = naive_utc(now)
    out: list[AlertState] = []
    for rule in rules:
        models = [rule.model] if rule.model else sorted(metrics_by_model)
        for model in models:
            metrics = metrics_by_model.get(model)
            if not metrics or rule.metric not in metrics:
                continue
            raw = metrics[rule.metric]
            if isinstance(raw, Mapping):
                items = [(rule.feature, raw.get(rule.feature))] if rule.feature else sorted(raw.items())
            else:
                items = [(None, raw)]
            for feature, value in items:
                v = _number(value)
                if v is None:
                    continue
                firing = breaches(rule.op, v, rule.threshold)
                out.append(AlertState(rule, model, v, firing, now if firing else None, feature))
    return out


@dataclass(frozen=True)
class AlertEvent(JsonResult):
    kind: str  # "fired" | "resolved"
    state: AlertState
    onset: datetime
    at: datetime
    resolved: datetime | None = None


class AlertBook:
    """Firing and resolved alerts across refreshes.

    An alert absent from a refresh (its metric was not computed) keeps its last state: no data is
    not evidence of recovery.
    """

    def __init__(self, keep_resolved: int = 200):
        self._firing: dict[Key, AlertState] = {}
        self.resolved: list[AlertEvent] = []
        self._keep = keep_resolved

    def update(self, states: Iterable[AlertState], now: datetime,
               onsets: Mapping[Key, datetime] | None = None) -> list[AlertEvent]:
        """Apply one refresh; returns what changed (new alerts, resolved alerts)."""
        now = naive_utc(now)
        onsets = onsets or {}
        events: list[AlertEvent] = []
        for s in states:
            active = self._firing.get(s.key)
            if s.firing:
                if active is None:
                    onset = min(onsets.get(s.key) or now, now)
                    self._firing[s.key] = replace(s, since=onset)
                    events.append(AlertEvent("fired", self._firing[s.key], onset, now))
                else:
                    self._firing[s.key] = replace(s, since=active.since)
            elif active is not None:
                del self._firing[s.key]
                ev = AlertEvent("resolved", replace(s, since=active.since), active.since, now, resolved=now)
                events.append(ev)
                self.resolved.append(ev)
        del self.resolved[:-self._keep]
        return events

    def firing(self) -> list[AlertState]:
        return sorted(self._firing.values(), key=lambda s: (s.since, s.key))

    def onset(self, key: Key) -> datetime | None:
        s = self._firing.get(key)
        return s.since if s else None


# --------------------------------------------------------------------------- retrospective onset


def onset_from_series(series: pl.DataFrame, op: str, threshold: float, bucket: str = "bucket",
                      value: str = "value") -> datetime | None:
    """First bucket of the trailing run of breaching buckets; None if the latest bucket is fine.

    A null value (no data in that bucket) ends a run.
    """
    if series.height == 0:
        return None
    s = series.sort(bucket)
    v = pl.col(value).cast(pl.Float64).fill_nan(None)  # Polars orders NaN above everything
    ok = {">": v > threshold, ">=": v >= threshold, "<": v < threshold, "<=": v <= threshold}[op]
    flags = s.select(ok.fill_null(False)).to_series().to_list()
    if not flags[-1]:
        return None
    i = len(flags) - 1
    while i > 0 and flags[i - 1]:
        i -= 1
    return s.get_column(bucket)[i]


def retrospective_onsets(states: Iterable[AlertState],
                         series_by_model: Mapping[str, Mapping[str, pl.DataFrame]]) -> dict[Key, datetime]:
    """Onsets for firing states whose metric has a series (series_by_model[model][metric])."""
    out: dict[Key, datetime] = {}
    for s in states:
        frame = series_by_model.get(s.model, {}).get(s.rule.metric)
        if s.firing and frame is not None:
            onset = onset_from_series(frame, s.rule.op, s.rule.threshold)
            if onset is not None:
                out[s.key] = onset
    return out


def _series(df: pl.DataFrame, every: str, expr: pl.Expr) -> pl.DataFrame:
    return df.group_by(bucket_expr(every).alias("bucket")).agg(expr.alias("value")).sort("bucket")


def p95_series(preds: pl.DataFrame, every: str = "5m") -> pl.DataFrame:
    """bucket, value = p95 latency (linear interpolation; NaN counts as missing) for one model."""
    lat = pl.col("latency_ms").cast(pl.Float64).fill_nan(None)
    return _series(preds, every, lat.quantile(0.95, interpolation="linear"))


def error_rate_series(preds: pl.DataFrame, every: str = "5m") -> pl.DataFrame:
    return _series(preds, every, pl.col("is_error").cast(pl.Float64).mean())


def burn_rate_series(preds: pl.DataFrame, slo: Slo, every: str = "5m") -> pl.DataFrame:
    """bucket, value = the larger of the error and latency burn rates in the bucket."""
    lat = pl.col("latency_ms").cast(pl.Float64).fill_nan(None)
    err = pl.col("is_error").cast(pl.Float64).mean() / slo.error_rate if slo.error_rate > 0 else pl.lit(None)
    slow = (lat > slo.p95_ms).cast(pl.Float64).mean() / LATENCY_BUDGET
    return _series(preds, every, pl.max_horizontal(err, slow))


def refusal_rate_series(preds: pl.DataFrame, every: str = "1h") -> pl.DataFrame:
    return _series(preds, every, flag("refused").mean())


def accuracy_drop_series(joined: pl.DataFrame, baseline_start: datetime, baseline_end: datetime,
                         every: str = "1h") -> pl.DataFrame:
    """bucket, value = baseline accuracy - bucket accuracy (absolute), over labelled rows.

    The baseline is the accuracy of predictions made in [baseline_start, baseline_end).
    """
    used = pl.col("label").is_not_null() & pl.col("prediction").is_not_null()
    correct = same_value("label", "prediction").cast(pl.Float64)  # as the Quality screen counts a right answer
    acc = correct.filter(used).mean()
    base = between(joined, baseline_start, baseline_end).select(acc).item()
    if base is None:
        return _series(joined, every, pl.lit(None, dtype=pl.Float64))
    return _series(joined, every, pl.lit(float(base)) - acc)


def mae_increase_series(joined: pl.DataFrame, baseline_start: datetime, baseline_end: datetime,
                        every: str = "1h") -> pl.DataFrame:
    """bucket, value = bucket MAE - baseline MAE, over rows with both prediction_num and label_num."""
    err = (pl.col("prediction_num").cast(pl.Float64).fill_nan(None)
           - pl.col("label_num").cast(pl.Float64).fill_nan(None)).abs()
    base = between(joined, baseline_start, baseline_end).select(err.mean()).item()
    if base is None:
        return _series(joined, every, pl.lit(None, dtype=pl.Float64))
    return _series(joined, every, err.mean() - float(base))


def cost_spike_series(costed: pl.DataFrame, now: datetime, factor: float = 3.0, hours: int = 48) -> pl.DataFrame:
    """bucket, value = the hour's cost / median of the previous 24 hours (see cost.hourly_cost_series)."""
    s = hourly_cost_series(costed, now, hours=hours, factor=factor)
    return s.select("bucket", pl.col("ratio").alias("value"))


def unit_cost_spike_series(costed: pl.DataFrame, every: str = "1h", baseline_buckets: int = 48,
                           min_requests: int = 20) -> pl.DataFrame:
    """bucket, value = the bucket's cost per request / median cost per request of the previous buckets.

    Cost per request, not cost per hour: daily traffic peaks do not look like spikes, while a prompt
    that triples the tokens of every request does. Buckets with fewer than `min_requests` are null.
    """
    per = (costed.group_by(bucket_expr(every).alias("bucket"))
           .agg(pl.col("cost").sum().alias("cost"), pl.len().alias("n")).sort("bucket")
           .with_columns(pl.when(pl.col("n") >= min_requests).then(pl.col("cost") / pl.col("n")).alias("unit")))
    base = pl.col("unit").shift(1).rolling_median(window_size=baseline_buckets, min_samples=max(3, baseline_buckets // 4))
    return per.select("bucket", (pl.col("unit") / base).alias("value"))


def with_min_count(series: pl.DataFrame, rows: pl.DataFrame, every: str, min_count: int,
                   ts: str = "ts") -> pl.DataFrame:
    """Nulls the buckets that hold fewer than `min_count` rows: a rate over 12 requests is noise, not an alert."""
    counts = rows.group_by(bucket_expr(every, ts).alias("bucket")).agg(pl.len().alias("_n"))
    return (series.join(counts, on="bucket", how="left")
            .with_columns(pl.when(pl.col("_n") >= min_count).then(pl.col("value")).alias("value"))
            .drop("_n").sort("bucket"))
