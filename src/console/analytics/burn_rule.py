"""The `burn_rate` rule's evaluation of one window, and its verdict at the view's end for the SLO panels.

One definition: the rule (`incident_rules`, every window of its history) and the SLO panels (the model page,
Health, `health`'s `slo`, the window ending at the view's end) evaluate with `burn_evaluations` on windows grown
back to MIN_BUCKET_ROWS requests (`evidence.windows`, `evidence.latest_window`). The panels judged the SLO's
short window alone: 2 errors in 30 requests read "SLO ALERT" while the rule said "insufficient data (needs 100)",
and a quiet model whose rule reached back for its 100 requests fired while the panel's hour held fewer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import polars as pl

from console.analytics import evidence as ev
from console.analytics.health import LATENCY_BUDGET, served
from console.analytics.windows import MIN_BUCKET_ROWS, JsonResult, parse_window

ALERT, OK, INSUFFICIENT, UNSURE, RECOVERING = "alert", "ok", "insufficient", "unsure", "recovering"


def _lat() -> pl.Expr:
    return pl.col("latency_ms").cast(pl.Float64).fill_nan(None)


def error_burn_expr(slo) -> pl.Expr:
    return pl.col("is_error").cast(pl.Float64).mean() / slo.error_rate if slo.error_rate > 0 else pl.lit(None)


def latency_burn_expr(slo) -> pl.Expr:
    return (_lat() > slo.p95_ms).cast(pl.Float64).mean() / LATENCY_BUDGET


def burn_expr(slo) -> pl.Expr:
    """The larger of the error and latency burn rates (LATENCY_BUDGET of requests may be slow)."""
    return pl.max_horizontal(error_burn_expr(slo), latency_burn_expr(slo))


def burn_bounds(slo):
    """The burn rate's bounds of one window's rows (`evidence.burn_bounds`), counted as `burn_expr` does."""
    lat = _lat()
    counts = [pl.col("is_error").cast(pl.Int64).sum().alias("errors"), pl.col("is_error").count().alias("n"),
              (lat > slo.p95_ms).sum().alias("slow"), lat.count().alias("timed")]

    def of(part: pl.DataFrame) -> tuple[float | None, float | None]:
        errors, n, slow, timed = part.select(counts).row(0)
        return ev.burn_bounds(errors or 0, n, slow or 0, timed, slo.error_rate, LATENCY_BUDGET)
    return of


def burn_evaluations(preds: pl.DataFrame, spans: list, slo, op: str, threshold: float) -> list[ev.Evaluation]:
    """The rule's verdict on each window of served rows `preds` (`evidence.rate_evaluation` with the burn's bounds)."""
    return ev.rate_evaluations(preds, spans, burn_expr(slo), op, threshold, MIN_BUCKET_ROWS, False, burn_bounds(slo))


@dataclass(frozen=True)
class BurnVerdict(JsonResult):
    """The `burn_rate` rule's evaluation of the window ending at the view's end: `state` alert (it breaches), ok,
    insufficient (fewer than MIN_BUCKET_ROWS requests, even read back) or unsure (past the threshold on too few
    requests to tell from noise: its interval reaches below half of it, `evidence.rate_evaluation`)."""
    state: str
    rule: str  # "burn_rate > 6 over 1h"
    window: str  # the rule's window before it grows back to MIN_BUCKET_ROWS requests: "1h"
    start: datetime
    end: datetime
    requests: int
    burn_rate: float | None
    low: float | None
    high: float | None
    error_burn: float | None
    latency_burn: float | None
    note: str
    incident: str | None = None  # the rule's incident still firing beside a window that does not breach

    @property
    def alert(self) -> bool:
        """What the SLO panels alert on: the window breaches, or the rule's incident still fires."""
        return self.state == ALERT or self.incident is not None

    @property
    def span(self) -> timedelta:
        return self.end - self.start


def burn_verdict(preds: pl.DataFrame, slo, now: datetime, op: str, threshold: float, window: str,
                 since: datetime, reach: datetime | None = None) -> BurnVerdict:
    """The rule's verdict now on one model's rows (a shadow's are dropped here): the trailing `window` grown back to
    MIN_BUCKET_ROWS served requests after `since` (or `reach`, a quiet model's read-back: `incident_rules`)."""
    rows = served(preds).filter(pl.col("ts") <= now).sort("ts")
    span = ev.latest_window(rows["ts"], now, parse_window(window), MIN_BUCKET_ROWS, since, reach)
    return verdict_of(burn_evaluations(rows, [span], slo, op, threshold)[0], rows, slo, op, threshold, window)


def verdict_of(e: ev.Evaluation, preds: pl.DataFrame, slo, op: str, threshold: float, window: str) -> BurnVerdict:
    """The verdict of the rule's evaluation `e` (the raw path's, or the rollups' `RollupRules.latest_rate`), its error
    and latency burns counted on its window's served rows in `preds`."""
    part = ev.slice_window(ev.Sorted(served(preds)), e.start, e.end)
    err = lat = None
    if e.n >= MIN_BUCKET_ROWS and part.height:
        err, lat = part.select(error_burn_expr(slo).alias("e"), latency_burn_expr(slo).alias("l")).row(0)
    state = ALERT if e.breach else OK if e.breach is False else INSUFFICIENT if e.value is None else UNSURE
    if e.note or e.value is None:  # no burn on enough rows: no error budget, and no latency logged
        note = e.note or f"no burn to judge on {e.n} requests"
    elif e.low is not None and e.high is not None:
        note = f"{e.value:.3g}x on {e.n} requests, interval [{e.low:.3g}, {e.high:.3g}]"
    else:
        note = f"{e.value:.3g}x on {e.n} requests"
    return BurnVerdict(state, f"burn_rate {op} {threshold:g} over {window}", window, e.start, e.end, e.n, e.value, e.low,
                       e.high, err, lat, note)


def beside_firing(v: BurnVerdict, incident: str) -> BurnVerdict:
    """The verdict `v` of a window that does not breach, beside the rule's incident `incident`, still firing. An
    incident ends only on evidence of recovery (the whole interval inside the threshold, or the burn at most half of
    it), so a burn just under the threshold on a wide interval leaves it firing: the panels said "SLO ok" beside a
    critical incident of the same rule. An ok window is `recovering`; too few requests, or unsure, keep their state;
    each says the incident still fires, and the panels alert (`BurnVerdict.alert`)."""
    state = RECOVERING if v.state == OK else v.state
    return replace(v, state=state, incident=incident, note=f"{v.note}; incident still firing")


__all__ = ["MIN_BUCKET_ROWS", "BurnVerdict", "burn_verdict", "beside_firing", "burn_evaluations", "burn_expr",
           "burn_bounds", "ALERT", "OK", "INSUFFICIENT", "UNSURE", "RECOVERING", "verdict_of"]
