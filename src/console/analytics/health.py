"""Serving health: throughput, errors, latency percentiles and SLO error-budget burn.

Percentiles use linear interpolation (numpy's default) so the console and a notebook agree.
NaN latencies count as missing, like nulls, so one bad log line cannot poison a p99.
Burn rates follow the SRE workbook: observed bad fraction / error budget over a short and a long window (context);
the alert is the `burn_rate` rule's evaluation (`burn_rule`), so a screen never says another verdict than `check`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from typing import Mapping, Sequence

import numpy as np
import polars as pl

from console.analytics import sketches as sk
from console.config import ModelConfig, Slo
from console.analytics.windows import JsonResult, bucket_expr, in_window, opt_float, parse_window

if TYPE_CHECKING:
    from console.analytics.burn_rule import BurnVerdict

GROUP = ("model", "version", "variant")
LATENCY_BUDGET = 0.05  # a p95 objective tolerates 5 % of requests slower than it
DEFAULT_BURN_FACTOR = 14.4
SHADOW = "shadow"  # the variant of a mirrored version: it answers copies of requests and serves no one


def served_expr() -> pl.Expr:
    """Rows whose answer a user received: every variant but a shadow's (a row without one is the champion's).
    `queries/overview_window.sql` says the same in SQL (`variant IS DISTINCT FROM 'shadow'`)."""
    return pl.col("variant").is_null() | (pl.col("variant").cast(pl.String) != SHADOW)


def shadow_apart(frame: pl.DataFrame) -> pl.DataFrame:
    """`variant` as a per-version table groups it: "shadow" for a shadow's mirrored answers, null for the answers
    users were served (champion, canary, a blue/green side: one row per version). Quality's per-version table
    pooled a version's shadow rows with its champion rows."""
    if "variant" not in frame.columns:
        return frame.with_columns(pl.lit(None, pl.String).alias("variant"))
    return frame.with_columns(pl.when(served_expr()).then(pl.lit(None, pl.String)).otherwise(pl.lit(SHADOW))
                              .alias("variant"))


def served(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows users were served (`served_expr`). A shadow's mirrored requests are its own row of the health
    table, never the model's error rate, latency, burn, traffic or accuracy: a failing shadow paged for a
    production outage nobody saw, and a healthy one halved the champion's error rate (qa9)."""
    return frame.filter(served_expr()) if "variant" in frame.columns else frame


def _latency() -> pl.Expr:
    return pl.col("latency_ms").cast(pl.Float64).fill_nan(None)


def _health_aggs(minutes: float) -> list[pl.Expr]:
    lat = _latency()
    return [
        pl.len().alias("requests"),
        (pl.len() / minutes).alias("throughput_rpm"),
        pl.col("is_error").cast(pl.Int64).sum().alias("errors"),
        pl.col("is_error").cast(pl.Float64).mean().alias("error_rate"),
        lat.quantile(0.50, interpolation="linear").alias("p50_ms"),
        lat.quantile(0.95, interpolation="linear").alias("p95_ms"),
        lat.quantile(0.99, interpolation="linear").alias("p99_ms"),
    ]


def _present(df: pl.DataFrame, by: Sequence[str]) -> list[str]:
    return [c for c in by if c in df.columns]


def health_series(preds: pl.DataFrame, every: str = "5m", by: Sequence[str] = GROUP) -> pl.DataFrame:
    """Per-bucket health: by-columns, bucket, requests, throughput_rpm, errors, error_rate, p50/p95/p99_ms.

    Buckets without traffic are absent (not zero rows); throughput is requests per minute of bucket.
    """
    keys = _present(preds, by)
    minutes = parse_window(every).total_seconds() / 60
    return (preds.group_by([*keys, bucket_expr(every).alias("bucket")])
            .agg(_health_aggs(minutes)).sort([*keys, "bucket"]))


@dataclass(frozen=True)
class Health(JsonResult):
    model: str | None
    version: str | None
    variant: str | None
    window: str
    requests: int
    throughput_rpm: float
    errors: int
    error_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


def health_table(preds: pl.DataFrame, now: datetime, window: str = "5m",
                 by: Sequence[str] = GROUP) -> pl.DataFrame:
    """Current values over the trailing window, one row per group (as a frame for tables)."""
    keys = _present(preds, by)
    minutes = parse_window(window).total_seconds() / 60
    rows = in_window(preds, now, window)
    if not keys:
        return rows.select(_health_aggs(minutes))
    return rows.group_by(keys).agg(_health_aggs(minutes)).sort(keys)


def current_health(preds: pl.DataFrame, now: datetime, window: str = "5m",
                   by: Sequence[str] = GROUP) -> list[Health]:
    """Current values over the trailing window as result objects; empty window → empty list."""
    out = []
    for r in health_table(preds, now, window, by).iter_rows(named=True):
        if not r["requests"]:
            continue
        out.append(Health(model=r.get("model"), version=r.get("version"), variant=r.get("variant"),
                          window=window, requests=int(r["requests"]), throughput_rpm=float(r["throughput_rpm"]),
                          errors=int(r["errors"] or 0), error_rate=opt_float(r["error_rate"]),
                          p50_ms=opt_float(r["p50_ms"]), p95_ms=opt_float(r["p95_ms"]),
                          p99_ms=opt_float(r["p99_ms"])))
    return out


# --------------------------------------------------------------------------- from hourly rollups


@dataclass
class HealthPart:
    """The mergeable health of one group (and bucket) over some hours: exact request and error counts, and
    the latency as weighted items (a rollup hour's KLL sketch, or raw rows with weight 1). Counts add
    exactly, so requests, errors and error rates equal the raw computation; only percentiles are estimates."""

    requests: int = 0
    errors: int = 0
    latency: list[sk.Dist] = field(default_factory=list)

    def add(self, requests: int, errors: int, latency: sk.Dist | None = None) -> None:
        self.requests += int(requests or 0)
        self.errors += int(errors or 0)
        if latency is not None and latency.n:
            self.latency.append(latency)


def raw_parts(preds: pl.DataFrame, keys: Sequence[str], parts: dict[tuple, HealthPart]) -> None:
    """Raw rows into `parts` by the values of `keys` (counted as `health_table` counts them; NaN latency
    is missing)."""
    if not preds.height:
        return
    agg = (preds.group_by(list(keys))
           .agg(pl.len().alias("n"), pl.col("is_error").cast(pl.Int64).sum().alias("e"),
                _latency().drop_nulls().alias("lat")))
    for row in agg.iter_rows(named=True):
        key = tuple(row[k] for k in keys)
        lat = np.asarray(row["lat"], dtype=np.float64)
        parts.setdefault(key, HealthPart()).add(row["n"], row["e"], sk.Dist.of(lat) if lat.size else None)


def parts_table(parts: Mapping[tuple, HealthPart], keys: Sequence[str], minutes: float,
                dtypes: Mapping[str, pl.DataType] | None = None) -> tuple[pl.DataFrame, float]:
    """`health_table`'s columns from merged parts, one row per key sorted by it, and the largest rank
    error of the percentiles (0 when every part held its values exactly)."""
    cols: dict[str, list] = {k: [] for k in (*keys, "requests", "throughput_rpm", "errors", "error_rate",
                                               "p50_ms", "p95_ms", "p99_ms")}
    eps = 0.0
    for key in sorted((k for k, p in parts.items() if p.requests),
                      key=lambda k: tuple((v is not None, v) for v in k)):
        p = parts[key]
        for name, v in zip(keys, key):
            cols[name].append(v)
        cols["requests"].append(p.requests)
        cols["throughput_rpm"].append(p.requests / minutes)
        cols["errors"].append(p.errors)
        cols["error_rate"].append(p.errors / p.requests)
        dist = sk.Dist.union(p.latency)
        t = np.array([0.50, 0.95, 0.99])  # exact items: numpy's interpolation, as over raw rows
        q = (dist.linear_quantiles(t) if dist.eps == 0 else dist.quantiles(t)) if dist.n else [None] * 3
        for name, v in zip(("p50_ms", "p95_ms", "p99_ms"), q):  # sketches hold float32: its shortest text
            cols[name].append(None if v is None else float(str(np.float32(v))))
        eps = max(eps, dist.eps)
    schema = {**{k: (dtypes or {}).get(k, pl.String) for k in keys}, "requests": pl.UInt32,
              "throughput_rpm": pl.Float64, "errors": pl.Int64, "error_rate": pl.Float64, "p50_ms": pl.Float64,
              "p95_ms": pl.Float64, "p99_ms": pl.Float64}
    return pl.DataFrame(cols, schema=schema), eps


# --------------------------------------------------------------------------- SLO burn


@dataclass(frozen=True)
class Burn(JsonResult):
    """One objective over one window: bad fraction, budget and burn (None when no requests)."""
    window: str
    requests: int
    bad_fraction: float | None
    budget: float
    burn_rate: float | None


@dataclass(frozen=True)
class SloStatus(JsonResult):
    model: str | None
    factor: float
    error_short: Burn
    error_long: Burn
    latency_short: Burn
    latency_long: Burn
    error_alert: bool
    latency_alert: bool
    verdict: "BurnVerdict"  # the `burn_rate` rule's evaluation now (`burn_rule`): alert, ok, insufficient, unsure
    alert: bool  # the verdict is alert (a field, so `health --format json` carries it)

    @property
    def burn_rate(self) -> float | None:
        """The fastest short-window burn, the single number the alert rules see as `burn_rate`."""
        rates = [b.burn_rate for b in (self.error_short, self.latency_short) if b.burn_rate is not None]
        return max(rates) if rates else None


def _burn(window: str, requests: int, bad: float | None, budget: float) -> Burn:
    if not requests or bad is None:
        return Burn(window, int(requests or 0), None, budget, None)
    if budget <= 0:
        rate = 0.0 if bad == 0 else float("inf")
    else:
        rate = bad / budget
    return Burn(window, int(requests), bad, budget, rate)


def _window_burns(preds: pl.DataFrame, now: datetime, window: str, slo: Slo) -> tuple[Burn, Burn]:
    rows = in_window(preds, now, window)
    lat = _latency()
    s = rows.select(
        pl.len().alias("n"),
        pl.col("is_error").cast(pl.Float64).mean().alias("err"),
        lat.is_not_null().sum().alias("n_lat"),
        (lat > slo.p95_ms).cast(pl.Float64).mean().alias("slow"),  # mean skips null latencies
    ).row(0, named=True)
    return (_burn(window, s["n"], opt_float(s["err"]), slo.error_rate),
            _burn(window, s["n_lat"], opt_float(s["slow"]), LATENCY_BUDGET))


def slo_status(preds: pl.DataFrame, slo: Slo, now: datetime, factor: float = DEFAULT_BURN_FACTOR,
               model: str | None = None, verdict: "BurnVerdict | None" = None) -> SloStatus:
    """Burn over the SLO's short and long windows for one model's rows (filter by model first, or pass `model`),
    shown as context, and the alert: the `burn_rate` rule's `verdict` (`incident_rules.RuleEvaluator.burn_now`, its
    rows read back as the rule's), else the rule's evaluation of `preds` alone (`burn_rule.burn_verdict`: `> factor`
    over the short window grown back to 100 requests). Screens that judged the short window's burn alone said
    "SLO ok" beside the rule's firing incident, and "SLO ALERT" on 2 errors in 30 requests the rule calls noise."""
    from console.analytics import burn_rule as br

    if model is not None and "model" in preds.columns:
        preds = preds.filter(pl.col("model") == model)
    preds = served(preds)
    es, ls = _window_burns(preds, now, slo.short_window, slo)
    el, ll = _window_burns(preds, now, slo.long_window, slo)
    if verdict is None:
        since = preds["ts"].min() - timedelta(microseconds=1) if preds.height else now
        verdict = br.burn_verdict(preds, slo, now, ">", factor, slo.short_window, since)
    alert = verdict.alert  # the window breaches, or the rule's incident still fires (`burn_rule.beside_firing`)

    def burning(part: float | None) -> bool:  # which burn breaches (the rule's is the larger of the two)
        return alert and part is not None and part > factor

    error_alert, latency_alert = burning(verdict.error_burn), burning(verdict.latency_burn)
    return SloStatus(model=model, factor=factor, error_short=es, error_long=el, latency_short=ls, latency_long=ll,
                     error_alert=error_alert or alert and not latency_alert, latency_alert=latency_alert,
                     verdict=verdict, alert=alert)


def slo_by_model(preds: pl.DataFrame, models: Mapping[str, ModelConfig], now: datetime,
                 factor: float = DEFAULT_BURN_FACTOR) -> dict[str, SloStatus]:
    """Every model seen in `preds`; models without config get the default `Slo()`."""
    names = preds.get_column("model").unique().sort().to_list() if preds.height else []
    return {m: slo_status(preds, models[m].slo if m in models else Slo(), now, factor, model=m)
            for m in names}


def burn_series(preds: pl.DataFrame, slo: Slo, every: str = "5m") -> pl.DataFrame:
    """Per-bucket error and latency burn (bucket, requests, error_burn, latency_burn) for one model."""
    lat = _latency()
    eb = slo.error_rate if slo.error_rate > 0 else float("nan")
    return (preds.group_by(bucket_expr(every).alias("bucket"))
            .agg(pl.len().alias("requests"),
                 (pl.col("is_error").cast(pl.Float64).mean() / eb).alias("error_burn"),
                 ((lat > slo.p95_ms).cast(pl.Float64).mean() / LATENCY_BUDGET).alias("latency_burn"))
            .sort("bucket"))


__all__ = ["Health", "HealthPart", "raw_parts", "parts_table", "Burn", "SloStatus", "health_series", "health_table", "current_health", "slo_status",
           "slo_by_model", "burn_series", "LATENCY_BUDGET", "DEFAULT_BURN_FACTOR", "SHADOW", "served",
           "served_expr"]
