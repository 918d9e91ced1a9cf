"""Cost of long windows from the hourly rollups: a month of spend, the budget's share and cost per 1,000
requests per version and prompt version are sums over hour rows, not a scan of every raw row.

An hour's cost is exact from its rollup row (`analytics.cost.usage_aggs` are the sums the rollups keep:
logged costs and their count, tokens of the requests without one) priced with `analytics.cost.parts_cost`,
and every figure is then computed by the same `analytics.cost` functions the raw path uses, on "parts"
(one per rollup group and hour, weighted by its requests) next to raw rows. So the two paths give one
number up to float rounding.

Which hours are raw: the cost screen's windows start at the month's start, at midnight (hour-aligned, so
hour rows split cleanly), and at now - 7 days, now - 24 h (the budget's pace) and the history's start, which
cut an hour in two: those hours, the read's partial first hour and the open hour are read raw. The hourly
chart and the spike (`hourly_cost_series`, hours aligned to now, the last 72) read the cost columns of those
72 hours' raw rows, summed per clock hour and now-aligned hour into priced parts (`_spike_parts`); the
cost-spike rule (cost per request across a version or prompt change, in time order) reads the history's rows
and an LLM's usage table (token means, refusals, guardrails) the window's, narrowed to their columns.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from console import rollup_spec
from console import store_rollups as ro
from console.analytics import cost as co
from console.analytics.windows import parse_window
from console.rollup_drift import US, floor_hour

EPOCH = datetime(1970, 1, 1)
SPIKE_HOURS = 48 + 24  # what `hourly_cost_series` reads: the chart's hours and their baseline
PARTS = ["ts", "model", "version", "prompt_version", co.COST, "requests"]
USAGE_COLUMNS = ["version", "variant", "input_tokens", "output_tokens", "cost_usd"]
LLM_USAGE = ["prompt_version", "refused", "guardrail_blocked", "factuality"]


def _raw_hours(cuts: list[datetime], h0: datetime, h1: datetime) -> list[datetime]:
    """The hours a window boundary falls in (a `ts > cut` filter splits them), inside [h0, h1)."""
    return sorted({floor_hour(c) for c in cuts if h0 <= floor_hour(c) < h1})


def parts(table, model: str, environment: str | None, prices, by_prompt: bool,
          skip: list[datetime], instants: bool = False) -> pl.DataFrame:
    """Rollup rows as priced parts (`PARTS`): per hour, version and (with `by_prompt`) prompt version,
    the hours in `skip` left out. A prompt version's requests come from its segment rows; the requests
    without one are the whole group's minus those. `instants`: an hour's first instant's rows apart
    (`store_rollups.ON_HOUR`, kept as a column), for the rules' (lo, hi] windows."""
    out = PARTS + [ro.ON_HOUR] if instants else PARTS
    if table is None or not table.num_rows:
        return pl.DataFrame(schema={c: pl.Datetime("us") if c == "ts" else pl.Float64 if c in (co.COST,)
                                    else pl.Int64 if c == "requests" else pl.Boolean if c == ro.ON_HOUR
                                    else pl.String for c in out})
    df = pl.from_arrow(table)
    for c in ro.ADDED:  # read_table reads only hours caught up, so these are present; kept safe for old days
        if c not in df.columns:
            df = df.with_columns(pl.lit(False if c == ro.ON_HOUR else 0, dtype=pl.Boolean if c == ro.ON_HOUR else
                                        pl.Int64 if c == "cost_n" else pl.Float64).alias(c))
    if environment is not None:
        df = df.filter(pl.col("environment") == environment)
    if skip:
        df = df.filter(~pl.col("hour").is_in(skip))
    sums = ["rows", *co.USAGE]
    keys = ["hour", "version", "environment", "variant", *([ro.ON_HOUR] if instants else [])]
    whole = df.filter(pl.col("segment").is_null()).select(*keys, *sums)
    if by_prompt:
        seg = df.filter(pl.col("segment") == rollup_spec.PROMPT).select(*keys, pl.col("segment_value").alias(
            "prompt_version"), *sums)
        taken = seg.group_by(keys).agg([pl.col(c).sum().alias(f"__{c}") for c in sums])
        rest = whole.join(taken, on=keys, how="left", nulls_equal=True).select(
            *keys, pl.lit(None, dtype=pl.String).alias("prompt_version"),
            *[(pl.col(c) - pl.col(f"__{c}").fill_null(0)).alias(c) for c in sums])
        whole = pl.concat([seg, rest.filter(pl.col("rows") > 0)], how="diagonal_relaxed")
    else:
        whole = whole.with_columns(pl.lit(None, dtype=pl.String).alias("prompt_version"))
    priced = co.parts_cost(whole.rename({"hour": "ts", "rows": "requests"}), prices)
    return priced.with_columns(pl.lit(model).alias("model")).select(out)


def cost(mon, model: str, environment: str | None, span: timedelta | None = None) -> dict | None:
    """`Monitor.cost`'s result from rollups plus raw edge hours; None when the range holds no closed hour.
    `span`: the window ending now whose own spend is asked for too (its start's hour is read raw)."""
    from console.incident_rules import Context, cost_spike

    now = mon.clock()
    mc = mon.model_config(model)
    start = mon.history_start(now)
    wstart = now - span if span is not None else start  # per 1k, LLM usage and tokens: the window, else the history
    since = floor_hour(co.reads_from(now, start, wstart)) - US  # from a clock hour's start, as Monitor.cost reads
    h0, h1 = floor_hour(since) + ro.HOUR, floor_hour(now)
    drift = mon.sketch_drift
    spec = drift.spec(model)
    attrs = mon.attributes(model)
    by_prompt = rollup_spec.PROMPT in attrs
    if h1 <= h0 or (by_prompt and rollup_spec.PROMPT not in spec.segments):
        return None
    skip = _raw_hours([start, now - parse_window("7d"), now - co.PACE, wstart], h0, h1)
    drift.catch_up(model, h0, h1)
    wanted = ["segment", "segment_value", "environment", "version", "variant", "rows", "input_tokens",
              "output_tokens", *co.USAGE]
    # the month's hour rows, priced, are kept by the files that win their hours: a refresh that brought rows of
    # the open hour only, or a clock that moved within the hour, reads and prices them again for nothing
    listed = ro.files(drift.path, model)
    key = (model, h0, h1, environment, tuple(skip), tuple(sorted(ro._winners(listed, h0, h1).items())), mc.prices,
           by_prompt)
    with drift._lock:
        hit = drift._costs.get(key)
    if hit is None:
        table = ro.read_table(drift.path, model, h0, h1, columns=wanted)
        hit = (table, parts(table, model, environment, mc.prices, by_prompt, skip))
        with drift._lock:
            drift._keep(drift._costs, key, hit)
    table, rolled = hit
    columns = _raw_columns(attrs, by_prompt)
    upto = mon.priced_until(now)  # the hour of `now` priced whole
    ranges = [(since, h0 - US), *((h - US, h + ro.HOUR - US) for h in skip), (h1 - US, upto)]
    raw = pl.concat([drift.raw(model, a, b, environment, columns) for a, b in ranges if b > a],
                    how="diagonal_relaxed")
    both = pl.concat([_priced(raw, mc.prices, by_prompt), rolled], how="diagonal_relaxed").sort("ts")
    if upto > now:
        raw, both = raw.filter(pl.col("ts") <= now), both.filter(pl.col("ts") <= now)
    inside = both.filter(pl.col("ts") > wstart)
    by = ("version", "prompt_version") if by_prompt else ("version",)
    spiky = _spike_parts(drift, model, since, now, environment, mc.prices, attrs, upto)
    rule = _rule(mon, model)
    rule_spike = llm = None
    if rule is not None or mc.task == "llm":  # one narrow read of the history and the window
        cols = list(dict.fromkeys([*columns, *(LLM_USAGE if mc.task == "llm" else [])]))
        narrow = mon.typed_rows(model, min(start, wstart), now, environment, columns=cols)
    if rule is not None:
        history = narrow.filter(pl.col("ts") > start)
        evals, _ = cost_spike(Context(model, mc, history, start, now, None), rule)
        rule_spike = (rule, evals[-1] if evals else None)
    if mc.task == "llm":
        llm = co.llm_usage(narrow.filter(pl.col("ts") > wstart))
    note = ("spend, budget and cost per 1k from hourly rollups plus the raw hours at the windows' edges (exact); "
            "the hourly chart and spike from the last 72 h of raw rows")
    if rule is not None:
        note += "; the cost-spike rule from the history's raw rows, narrowed"
    if mc.task == "llm":
        note += "; LLM usage from the range's raw rows, narrowed"
    if drift.note:
        note += f"; {drift.note}"
    windowed = {"window_spend": co.window_spend(both, wstart, now)} if span is not None else {}
    return {**windowed, "range": (wstart, now), "rule_spike": rule_spike, "windows": co.cost_windows(both, now, (model,)),
            "budget": replace(co.budget_status(both, now, mc.budget_usd_month, pace=co.PACE), model=model),
            "per_1k": co.cost_per_1k(inside, by), "spike": replace(co.cost_spike(spiky, now), model=model),
            "hourly": co.hourly_cost_series(spiky, now, hours=48), "llm": llm or [],
            "tokens": tokens(table, environment, skip, raw, wstart), "source": "rollups", "note": note}


def today(mon, model: str, environment: str | None) -> float | None:
    """The spend since midnight (UTC) of `--at`'s day, as `Monitor.cost_today` reads it from raw rows: the day's
    closed hours from their rollup rows, priced as `cost` prices them, plus the open hour's raw rows; None when
    the day holds no closed hour (the raw read is then an hour's rows at most). The Overview asked a day of raw
    rows for this cell: at 100M rows (1.1M a day per model) 1 s of a `snapshot`'s 7."""
    now = mon.clock()
    h0, h1 = now.replace(hour=0, minute=0, second=0, microsecond=0), floor_hour(now)
    if h1 <= h0:
        return None
    mc = mon.model_config(model)
    drift = mon.sketch_drift
    drift.catch_up(model, h0, h1)
    table = ro.read_table(drift.path, model, h0, h1, columns=["segment", "segment_value", "environment", "version",
                                                               "variant", "rows", *co.USAGE])
    rolled = parts(table, model, environment, mc.prices, False, [])
    upto = mon.priced_until(now)  # the hour of `now` priced whole
    # read also when `now` is on the hour: the rows stamped on its first instant are the day's (ts <= now), and the
    # rollup hours [h0, h1) end before them (a snapshot --at 12:00Z left out the 12:00:00 rows' share of hour 12)
    raw = drift.raw(model, h1 - US, upto, environment, _raw_columns(mon.attributes(model), False))
    both = rolled
    if raw.height:
        both = pl.concat([_priced(raw, mc.prices, False), rolled], how="diagonal_relaxed").filter(pl.col("ts") <= now)
    windows = co.cost_windows(both, now)
    return windows[0].today_usd if windows else None


def _raw_columns(attrs, by_prompt: bool) -> list[str]:
    """What a raw read of cost rows projects: the usage columns (cached tokens for a model that logs them) and the
    prompt version when the parts are cut by it."""
    return list(dict.fromkeys(["ts", "model", *USAGE_COLUMNS, *(["cached_tokens"] if "cached_tokens" in attrs else []),
                               *([rollup_spec.PROMPT] if by_prompt else [])]))


def _priced(raw: pl.DataFrame, prices, by_prompt: bool) -> pl.DataFrame:
    """Raw rows as priced parts (`PARTS`) of one request each, to sit beside the rollup hours' parts."""
    costed = co.with_cost(raw, prices).with_columns(pl.lit(1, dtype=pl.Int64).alias("requests"))
    if not by_prompt:
        costed = costed.with_columns(pl.lit(None, dtype=pl.String).alias("prompt_version"))
    return costed.select(PARTS)


def _spike_parts(drift, model: str, since: datetime, now: datetime, environment: str | None, prices,
                 attrs: list[str], upto: datetime | None = None) -> pl.DataFrame:
    """What `hourly_cost_series` and `cost_spike` read, as priced parts rather than rows: the last 72 now-aligned
    hours' raw rows (from the start of the clock hour the first begins in, so that hour's replica share is split
    over all its requests, as in the full read), summed per clock hour and now-aligned hour (`usage_aggs`, priced
    by `parts_cost`: the sums `with_cost` adds row by row). Each part's `ts` is then the end of its now-aligned
    hour, which puts it in the same hour of the chart.

    A now-aligned hour splits two clock hours wherever `now` falls, so each clock hour is kept as running sums
    per distinct timestamp (`_running_sums`), by the files that may hold its rows: a live refresh moves `now`
    and reads only the hours whose files changed, and any split is two lookups.

    `upto` (`Monitor.priced_until`): past `now` when the view ends inside an hour that has closed; that hour's rows
    after `now` are priced as a part of their own (so the replica hour is split over all of its requests, as the raw
    path's `with_cost` splits it) and then left out."""
    from console.rollup_catch_up import _hours
    from console.rollup_drift import SUMS_BYTES

    spike_from = max(floor_hour(now - timedelta(hours=SPIKE_HOURS)) - US, since)
    cols = ["ts", "input_tokens", "output_tokens", "cost_usd", *(["cached_tokens"] if "cached_tokens" in attrs else [])]
    hours = _hours(floor_hour(spike_from + US), floor_hour(now) + ro.HOUR)
    sums = drift.hour_pieces(model, hours, environment, cols, drift._sums, _running_sums, SUMS_BYTES)
    us = lambda t: (t - EPOCH) // US  # noqa: E731
    a_us, now_us, h_us = us(spike_from), us(now), 3_600_000_000
    out = []
    for h in hours:
        ts, cum = sums[h]
        lo, hi = max(a_us, us(h) - 1), min(now_us, us(h) + h_us - 1)  # the rows read in this hour: (lo, hi]
        if upto is not None and upto > now and h == floor_hour(now):  # the view's closed hour, after `now`
            after = cum[np.searchsorted(ts, us(upto), "right")] - cum[np.searchsorted(ts, now_us, "right")]
            if after[0]:
                out.append((h, -1, *after))
        if hi <= lo:
            continue
        cut = now_us - ((now_us - us(h)) // h_us) * h_us  # the now-aligned boundary in (h, h + 1 h]
        for x, y in ((lo, min(cut, hi)), (max(cut, lo), hi)):
            if y <= x:
                continue
            part = cum[np.searchsorted(ts, y, "right")] - cum[np.searchsorted(ts, x, "right")]
            if part[0]:
                out.append((h, (now_us - y) // h_us, *part))
    names = ["requests", *co.USAGE]
    parts = pl.DataFrame(out, schema={"ts": pl.Datetime("us"), "k": pl.Int64, **{n: pl.Float64 for n in names}},
                         orient="row").with_columns(pl.col("requests").cast(pl.Int64), pl.col("cost_n").cast(pl.Int64))
    return co.parts_cost(parts, prices).filter(pl.col("k") >= 0).with_columns(
        (pl.lit(now) - pl.duration(hours=pl.col("k"))).alias("ts")).select("ts", co.COST, "requests")


def _running_sums(rows: pl.DataFrame) -> tuple:
    """(distinct timestamps in µs, sorted; running sums of requests and `usage_aggs` before each, one row more):
    the sums over (x, y] are cum[searchsorted(ts, y, "right")] - cum[searchsorted(ts, x, "right")]."""
    per = (rows.group_by("ts").agg(pl.len().cast(pl.Float64).alias("requests"), *co.usage_aggs(rows.columns))
           .sort("ts"))
    values = per.select("requests", *co.USAGE).cast(pl.Float64).to_numpy()
    cum = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    return per.get_column("ts").cast(pl.Int64).to_numpy(), cum


def tokens(table, environment: str | None, skip: list[datetime], raw: pl.DataFrame, since: datetime) -> dict[str, int]:
    """Input and output tokens after `since` (the window, else the history): rollup sums plus raw edges (the
    hour `since` falls in is one of `skip`, read raw)."""
    out = {"input_tokens": 0, "output_tokens": 0}
    raw = raw.filter(pl.col("ts") > since)
    for c in out:
        if c in raw.columns:
            out[c] += int(raw.get_column(c).cast(pl.Int64).fill_null(0).sum())
    if table is not None and table.num_rows:
        df = pl.from_arrow(table).filter(pl.col("segment").is_null() & ~pl.col("hour").is_in(skip)
                                         & (pl.col("hour") > since))
        if environment is not None:
            df = df.filter(pl.col("environment") == environment)
        for c in out:
            if c in df.columns:
                out[c] += int(df.get_column(c).sum() or 0)
    return out


def _rule(mon, model: str):
    from console.analytics import rules as ru

    return ru.rule_for(mon.rules_for(model, quality=False), "cost_spike")
