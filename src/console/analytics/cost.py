"""What serving costs: per-request cost, cost per 1,000 predictions, budgets, spikes, LLM usage.

A logged `cost_usd` is taken as the request's full cost. Otherwise the cost is computed from the
model's prices: tokens (input minus cached at the input price, cached at the cached price, output at
the output price, all per million) plus a share of compute: `replica_hour_usd * replicas` for an
hour split evenly over that model's requests in that clock hour.
Month-end projection: spend so far plus the last day's rate for the rest of the UTC month (`PACE`), or
linear (spend so far / elapsed fraction) when no pace is given.
Hourly spike buckets are aligned to `now` (bucket k covers (now-(k+1)h, now-kh]) so the latest bucket
is a full hour, never a partial clock hour.

A logged cost counts when it is a finite number; NaN or infinity is priced from the tokens like a
missing one. Why this is written as sums (`usage_aggs`, `parts_cost`): a request's cost is linear in
per-request sums once the rows with a logged cost are set apart, so an hour's cost is exact from the
hourly rollups (they keep these sums, built with these expressions), and the functions below take
"parts" (rows carrying a `requests` weight, one per rollup group and hour) as well as single requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping, Sequence

import polars as pl

from console.config import ModelConfig, Prices
from console.contract_fields import ERROR_FLAGS, NO_ERROR_FLAGS
from console.analytics.windows import JsonResult, day_start, in_window, month_bounds, naive_utc, opt_float

COST = "cost"  # the effective per-request cost column added by `with_cost`


USD_DIGITS = 9  # dollar sums are said to a billionth of a dollar (also `round(..., 9)` in overview_window.sql)


def usd_sum(expr: pl.Expr | None = None) -> pl.Expr:
    """A sum of dollars that does not depend on row order: the values are sorted before they are added.
    Rows come from the store in scan order, which varies between runs (parallel scans, S3 listings), and a sum
    of doubles in another order differs in its last digits: `cost eta` printed 5.905796941665303 in one run
    and 5.9057969416653116 in the next over one store. Rounded to USD_DIGITS: the Overview's cost today, summed in
    SQL (`overview_window.sql`) by another exact-enough method, then prints the same number as `cost`."""
    return (pl.col(COST) if expr is None else expr).sort().sum().round(USD_DIGITS)


_HOUR_US = 3_600_000_000
COST_INPUTS = ("ts", "model", "version", "prompt_version", "variant", "input_tokens", "output_tokens",
               "cached_tokens", "cost_usd")  # what `with_cost` and the spend windows read of a row


def _tokens(name: str, df: pl.DataFrame) -> pl.Expr:
    if name not in df.columns:
        return pl.lit(0.0)
    return pl.col(name).cast(pl.Float64).fill_null(0.0)


def logged_cost() -> pl.Expr:
    """The logged `cost_usd` when it is a finite number, else null (priced from tokens)."""
    c = pl.col("cost_usd").cast(pl.Float64)
    return pl.when(c.is_finite()).then(c)


USAGE = ("cost_usd", "cost_n", "uncosted_input", "uncosted_cached", "uncosted_output")


def usage_aggs(columns: Sequence[str]) -> list[pl.Expr]:
    """Per group, what a cost is computed from: the logged costs' sum and count, and over the rows
    without one the tokens at each price (input past the cached share, cached, output), as
    `with_cost` prices them. `columns`: the frame's columns (an absent one is 0)."""
    def tok(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Float64).fill_null(0.0) if name in columns else pl.lit(0.0)

    logged = logged_cost() if "cost_usd" in columns else pl.lit(None, dtype=pl.Float64)
    bare = logged.is_null()
    inp, out, cached = tok("input_tokens"), tok("output_tokens"), tok("cached_tokens")
    return [logged.fill_null(0.0).sum().alias("cost_usd"), logged.is_not_null().sum().cast(pl.Int64).alias("cost_n"),
            pl.when(bare).then((inp - cached).clip(lower_bound=0.0)).otherwise(0.0).sum().alias("uncosted_input"),
            pl.when(bare).then(cached).otherwise(0.0).sum().alias("uncosted_cached"),
            pl.when(bare).then(out).otherwise(0.0).sum().alias("uncosted_output")]


def parts_cost(parts: pl.DataFrame, prices: Prices) -> pl.DataFrame:
    """`parts` (rollup groups: `ts` = the hour, `requests`, the `USAGE` sums) plus the `cost` column:
    logged costs, plus tokens at the prices, plus the replica hour's share of every request without a
    logged cost, the hour split over all of the parts' requests in that hour (as `with_cost` splits it
    over the rows read)."""
    keys = [pl.col("ts").dt.truncate("1h")] + ([pl.col("model")] if "model" in parts.columns else [])
    n_hour = pl.col("requests").sum().over(keys)
    tokens = (pl.col("uncosted_input") * prices.input_per_1m + pl.col("uncosted_cached") * prices.cached_per_1m
              + pl.col("uncosted_output") * prices.output_per_1m) / 1e6
    share = (pl.col("requests") - pl.col("cost_n")) * (prices.replica_hour_usd * prices.replicas) / n_hour
    return parts.with_columns((pl.col("cost_usd") + tokens + share).alias(COST))


def _requests(df: pl.DataFrame) -> pl.Expr:
    """Requests in a group: rows, or the sum of their `requests` weights (parts from rollups)."""
    return pl.col("requests").sum() if "requests" in df.columns else pl.len()


def with_cost(preds: pl.DataFrame, prices: Prices | Mapping[str, Prices]) -> pl.DataFrame:
    """`preds` plus a `cost` column (USD per request; never null).

    `prices` is one `Prices` for every row, or prices by model name (models not listed cost 0
    unless they logged `cost_usd`).
    """
    fields = ("input_per_1m", "output_per_1m", "cached_per_1m", "replica_hour_usd", "replicas")
    if isinstance(prices, Prices):
        df = preds.with_columns([pl.lit(float(getattr(prices, f))).alias(f"_{f}") for f in fields])
    else:
        table = pl.DataFrame(
            {"model": list(prices), **{f"_{f}": [float(getattr(p, f)) for p in prices.values()] for f in fields}},
            schema={"model": pl.Utf8, **{f"_{f}": pl.Float64 for f in fields}})
        df = preds.join(table, on="model", how="left").with_columns(
            [pl.col(f"_{f}").fill_null(0.0) for f in fields])
    inp, out, cached = _tokens("input_tokens", df), _tokens("output_tokens", df), _tokens("cached_tokens", df)
    token_cost = ((inp - cached).clip(lower_bound=0.0) * pl.col("_input_per_1m")
                  + cached * pl.col("_cached_per_1m") + out * pl.col("_output_per_1m")) / 1e6
    keys = [pl.col("ts").dt.truncate("1h")] + ([pl.col("model")] if "model" in df.columns else [])
    share = pl.col("_replica_hour_usd") * pl.col("_replicas") / pl.len().over(keys)
    logged = logged_cost() if "cost_usd" in df.columns else pl.lit(None, dtype=pl.Float64)
    return (df.with_columns(pl.coalesce(logged, token_cost + share).alias(COST))
            .drop([f"_{f}" for f in fields]))


def cost_per_1k(costed: pl.DataFrame, by: Sequence[str] = ("model", "version", "prompt_version")) -> pl.DataFrame:
    """by-columns present in the frame, requests, cost_usd (sum) and cost_per_1k."""
    keys = [c for c in by if c in costed.columns]
    n = _requests(costed)
    aggs = [n.alias("requests"), usd_sum().alias("cost_usd"), (usd_sum() / n * 1000).alias("cost_per_1k")]
    if not keys:
        return costed.select(aggs)
    return costed.group_by(keys).agg(aggs).sort(keys, nulls_last=True)


@dataclass(frozen=True)
class CostWindow(JsonResult):
    model: str
    today_usd: float
    today_requests: int
    today_per_1k: float | None
    week_usd: float
    week_requests: int
    week_per_1k: float | None


def _spend(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.group_by("model").agg(usd_sum().alias("usd"), _requests(rows).alias("requests"))


def cost_windows(costed: pl.DataFrame, now: datetime, models: Sequence[str] = ()) -> list[CostWindow]:
    """Today (UTC midnight to now) and the last 7 days, per model: each with a row in either, and each of `models`
    (the one `cost MODEL` asks about) with $0 when it has none (a view a week past its newest row said `[]`)."""
    now = naive_utc(now)
    today = _spend(costed.filter((pl.col("ts") >= day_start(now)) & (pl.col("ts") <= now)))
    week = _spend(in_window(costed, now, "7d"))
    t = {r["model"]: r for r in today.iter_rows(named=True)}
    w = {r["model"]: r for r in week.iter_rows(named=True)}
    out = []
    for model in sorted(set(t) | set(w) | set(models)):
        tr, wr = t.get(model, {"usd": 0.0, "requests": 0}), w.get(model, {"usd": 0.0, "requests": 0})
        out.append(CostWindow(model, float(tr["usd"]), int(tr["requests"]),
                              tr["usd"] / tr["requests"] * 1000 if tr["requests"] else None,
                              float(wr["usd"]), int(wr["requests"]),
                              wr["usd"] / wr["requests"] * 1000 if wr["requests"] else None))
    return out


@dataclass(frozen=True)
class WindowSpend(JsonResult):
    """What the window an operator asked for cost (`cost MODEL --window 2026-07`): rows in (start, end]."""
    start: datetime
    end: datetime
    usd: float
    requests: int
    per_1k: float | None


def window_spend(costed: pl.DataFrame, start: datetime, end: datetime) -> WindowSpend:
    """The spend of (start, end] of costed rows or parts. Whole clock hours must be in `costed` for the hour at
    `start` (the replica hour is split over all of that hour's requests, wherever the window starts)."""
    start, end = naive_utc(start), naive_utc(end)
    rows = costed.filter((pl.col("ts") > start) & (pl.col("ts") <= end))
    usd = float(rows.select(usd_sum()).item() or 0.0) if rows.height else 0.0
    n = int(rows.select(_requests(rows)).item()) if rows.height else 0
    return WindowSpend(start, end, usd, n, usd / n * 1000 if n else None)


@dataclass(frozen=True)
class BudgetStatus(JsonResult):
    model: str | None
    budget_usd_month: float | None
    spent_usd: float
    share_used: float | None
    elapsed_fraction: float
    projected_usd: float | None
    projected_share: float | None


def budget_note(status: BudgetStatus, budget: float) -> str:
    """The budget rule's evidence, one wording for the raw and the rollup path; cents below $100 (a $1 budget
    read "projected $3 of $1 ($0 spent ...)" with $0.28 spent)."""
    def usd(x: float) -> str:
        return f"${x:,.2f}" if abs(x) < 100 else f"${x:,.0f}"

    return (f"projected {usd(status.projected_usd or 0.0)} of {usd(budget)} ({usd(status.spent_usd)} spent, then the "
            "last 24 h's pace)")


PACE = timedelta(hours=24)  # the run rate a month-end forecast extends: one whole daily cycle
WEEK = timedelta(days=7)  # the "last 7 days" spend


def priced_until(now: datetime, wall: datetime | None) -> datetime:
    """Where a cost read ends so the hour `now` falls in is priced whole: that clock hour's end when it has closed
    by the wall clock (a view in the past: the replica hour is split over all of the hour's requests, those after
    `now` included, and only the share of the rows up to `now` is counted), else `now` (the open hour is charged
    in full to its requests so far, provisional). `cost --from 09:00 --to 09:30` of a July hour cost the whole
    replica hour, its other half the same again."""
    hour_end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return hour_end if wall is not None and hour_end <= wall and now < hour_end else now


def reads_from(now: datetime, *starts: datetime) -> datetime:
    """The earliest time the cost view needs rows from: this month, the last 7 days and the forecast's pace, all
    ending at `now`, and the history and window asked for (`starts`). A window given as a calendar day sets the
    history to that day: the week's spend read from there was 4 days of it."""
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return min(month_start, now - WEEK, now - PACE, *starts)


def budget_status(costed: pl.DataFrame, now: datetime, budget_usd_month: float | None,
                  model: str | None = None, pace: timedelta | None = None) -> BudgetStatus:
    """Spend this UTC month so far against the budget, with a month-end projection.

    Without `pace` the projection is linear (spend so far / elapsed fraction of the month). With it, the
    projection is spend so far plus the spend rate of the last `pace` for the rest of the month: a change
    of price (a prompt that triples the tokens) moves the forecast the day it lands, whatever the day of
    the month, and a log that starts mid-month is not read as a month of low spend."""
    now = naive_utc(now)
    if model is not None:
        costed = costed.filter(pl.col("model") == model)
    start, end = month_bounds(now)
    spent = float(costed.filter((pl.col("ts") >= start) & (pl.col("ts") <= now)).select(usd_sum()).item() or 0.0)
    elapsed = (now - start) / (end - start)
    if pace is not None:
        recent = float(costed.filter((pl.col("ts") > now - pace) & (pl.col("ts") <= now)).select(usd_sum()).item() or 0.0)
        projected = spent + recent * ((end - now) / pace)
    else:
        projected = spent / elapsed if elapsed > 0 else None
    has_budget = budget_usd_month is not None and budget_usd_month > 0
    return BudgetStatus(model, budget_usd_month, spent, spent / budget_usd_month if has_budget else None,
                        elapsed, projected,
                        projected / budget_usd_month if has_budget and projected is not None else None)


def budgets(costed: pl.DataFrame, models: Mapping[str, ModelConfig], now: datetime) -> dict[str, BudgetStatus]:
    return {name: budget_status(costed, now, cfg.budget_usd_month, model=name)
            for name, cfg in models.items() if cfg.budget_usd_month is not None}


# --------------------------------------------------------------------------- spikes


def hourly_cost_series(costed: pl.DataFrame, now: datetime, hours: int = 48, baseline_hours: int = 24,
                       factor: float = 3.0) -> pl.DataFrame:
    """The last `hours` now-aligned hours of one model: bucket, cost_usd, baseline, ratio, spiking.

    `baseline` is the median of the previous `baseline_hours` hourly costs (hours without traffic
    count as 0); `ratio` is null while the baseline is missing or zero.
    """
    now = naive_utc(now)
    total = hours + baseline_hours
    idx = ((pl.lit(now) - pl.col("ts")).dt.total_microseconds() // _HOUR_US).cast(pl.Int64)
    per_hour = (costed.filter((pl.col("ts") > now - timedelta(hours=total)) & (pl.col("ts") <= now))
                .group_by(idx.alias("k")).agg(usd_sum().alias("cost_usd")))
    grid = pl.DataFrame({"k": list(range(total - 1, -1, -1))}, schema={"k": pl.Int64})
    series = (grid.join(per_hour, on="k", how="left")
              .with_columns(pl.col("cost_usd").fill_null(0.0),
                            pl.lit(now).sub(pl.duration(hours=pl.col("k") + 1)).alias("bucket"))
              .with_columns(pl.col("cost_usd").rolling_median(window_size=baseline_hours).shift(1).alias("baseline")))
    series = series.with_columns(
        pl.when(pl.col("baseline") > 0).then(pl.col("cost_usd") / pl.col("baseline")).otherwise(None).alias("ratio"))
    series = series.with_columns((pl.col("ratio") > factor).fill_null(False).alias("spiking"))
    return series.tail(hours).select("bucket", "cost_usd", "baseline", "ratio", "spiking")


@dataclass(frozen=True)
class CostSpike(JsonResult):
    model: str | None
    rate_usd_per_hour: float
    baseline_usd_per_hour: float | None
    ratio: float | None
    factor: float
    spiking: bool
    onset: datetime | None


def cost_spike(costed: pl.DataFrame, now: datetime, factor: float = 3.0, baseline_hours: int = 24,
               model: str | None = None) -> CostSpike:
    """The last hour's cost against the median of the previous 24; onset is the first hour of the
    current run of spiking hours (each judged against its own trailing baseline)."""
    if model is not None:
        costed = costed.filter(pl.col("model") == model)
    s = hourly_cost_series(costed, now, hours=48, baseline_hours=baseline_hours, factor=factor)
    last = s.row(-1, named=True)
    onset = None
    if last["spiking"]:
        flags = s.get_column("spiking").to_list()
        i = len(flags) - 1
        while i > 0 and flags[i - 1]:
            i -= 1
        onset = s.get_column("bucket")[i]
    return CostSpike(model, float(last["cost_usd"]), opt_float(last["baseline"]), opt_float(last["ratio"]),
                     factor, bool(last["spiking"]), onset)


# --------------------------------------------------------------------------- LLM usage

_FLAG = {**{v: 1.0 for v in ERROR_FLAGS}, **{v: 0.0 for v in NO_ERROR_FLAGS if v not in ("", "none", "null")}}


def flag(name: str) -> pl.Expr:
    """A logged yes/no field (`refused`, `guardrail_blocked`) as 1.0 or 0.0, however it is written (a JSON boolean,
    0/1, "yes"/"no", "true"/"false" in any case), and null for any other value: one row's `"n/a"` cost only itself
    (a strict cast failed `cost` and every rule of the model, which `snapshot` then showed as no alert)."""
    return (pl.col(name).cast(pl.Utf8).str.strip_chars().str.to_lowercase()
            .replace_strict(_FLAG, default=None, return_dtype=pl.Float64))


def llm_usage_table(preds: pl.DataFrame, by: Sequence[str] = ("model", "prompt_version")) -> pl.DataFrame:
    """Per group: requests, mean input/output tokens, refusal rate, guardrail blocks, mean factuality."""
    keys = [c for c in by if c in preds.columns]

    def col(name: str, expr: pl.Expr, dtype: pl.DataType = pl.Float64) -> pl.Expr:
        return expr if name in preds.columns else pl.lit(None, dtype=dtype)

    aggs = [
        pl.len().alias("requests"),
        col("input_tokens", pl.col("input_tokens").cast(pl.Float64).mean()).alias("input_tokens_mean"),
        col("output_tokens", pl.col("output_tokens").cast(pl.Float64).mean()).alias("output_tokens_mean"),
        col("refused", flag("refused").mean()).alias("refusal_rate"),
        col("guardrail_blocked", flag("guardrail_blocked").sum().cast(pl.Int64), pl.Int64).alias("guardrail_blocks"),
        col("guardrail_blocked", flag("guardrail_blocked").mean()).alias("guardrail_block_rate"),
        col("factuality", pl.col("factuality").cast(pl.Float64).fill_nan(None).mean()).alias("factuality_mean"),
    ]
    if not keys:
        return preds.select(aggs)
    return preds.group_by(keys).agg(aggs).sort(keys, nulls_last=True)


@dataclass(frozen=True)
class LlmUsage(JsonResult):
    model: str | None
    prompt_version: str | None
    requests: int
    input_tokens_mean: float | None
    output_tokens_mean: float | None
    refusal_rate: float | None
    guardrail_blocks: int
    guardrail_block_rate: float | None
    factuality_mean: float | None


def llm_usage(preds: pl.DataFrame, now: datetime | None = None, window: str | None = None) -> list[LlmUsage]:
    rows = in_window(preds, now, window) if now is not None and window else preds
    return [LlmUsage(r.get("model"), r.get("prompt_version"), int(r["requests"]),
                     opt_float(r["input_tokens_mean"]), opt_float(r["output_tokens_mean"]),
                     opt_float(r["refusal_rate"]), int(r["guardrail_blocks"] or 0),
                     opt_float(r["guardrail_block_rate"]), opt_float(r["factuality_mean"]))
            for r in llm_usage_table(rows).iter_rows(named=True) if r["requests"]]


CHANGE_KEY = "version/prompt"


def change_key(version: pl.Expr, prompt: pl.Expr | None) -> pl.Expr:
    """What a cost spike's change is a change of (`_k`): the serving version and, where rows carry one, the prompt
    version ("2/p1"): a new version with the same prompt changes the cost per request as a new prompt does."""
    v = version.cast(pl.Utf8).fill_null("")
    if prompt is None:
        return v.alias("_k")
    p = prompt.cast(pl.Utf8).fill_null("")
    return pl.when(p == "").then(v).otherwise(pl.concat_str([v, p], separator="/")).alias("_k")
