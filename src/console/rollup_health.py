"""Health of long windows from the hourly rollups: a week or a month of traffic, errors and latency
percentiles is a merge of hourly rollup rows, not a scan of every raw row.

The window (since, until] is read in the three parts `RollupDrift.current` reads: the closed hours strictly
inside it from the rollups (caught up first by `RollupDrift.catch_up`, the same hours drift reads), the
partial first hour and the open hour from raw rows. Request and error counts add exactly; percentiles come
from the hours' KLL sketches, taken as weighted items and unioned (`sketches.Dist.union`) rather than
merged, so the same rollups give the same percentile on every read. Chart buckets are whole hours (a
window this long has buckets of an hour or more), so each hour row falls in one bucket.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pyarrow.parquet as pq

from console import store_rollups as ro
from console.analytics import health as he
from console.analytics import sketches as sk
from console.analytics.windows import parse_window, polars_every
from console.rollup_drift import US, floor_hour

COLUMNS = ["ts", "version", "variant", "is_error", "latency_ms"]  # what the raw edges of a window need
# Health over a longer window (with `[rollups] min_rows` rows) reads the rollups. Not drift's 6 h: a day's health
# table and chart are read raw with the SLO burn's hours in one read, and its percentiles are then exact.
SKETCH_AFTER = timedelta(hours=24)
PERCENTILES = ("p50_ms", "p95_ms", "p99_ms")


def health(mon, model: str, since: datetime, until: datetime, environment: str | None, every: str,
           tail: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, str, float] | None:
    """(the per version/variant table, the chart series, a note on the percentiles, their largest rank error)
    of (since, until];
    `tail` holds raw rows covering the open hour (the caller's read for the SLO). None when the window has
    no closed hour inside it, or a percentile sits at the sketches' float32 clip (`sketches.clipped`): read it
    raw, where it is exact."""
    drift = mon.sketch_drift
    h0, h1 = floor_hour(since) + ro.HOUR, floor_hour(until)
    if h1 <= h0 or parse_window(every) < ro.HOUR:
        return None
    drift.catch_up(model, h0, h1)
    keys = ("version", "variant")
    # The closed hours' parts, each group's latency sketches unioned once (a union of unions is the same union),
    # are kept by the files that win those hours: a refresh that brought rows of the open hour only, or a clock
    # that moved within the hour, does not union a month of hourly sketches again.
    key = (model, h0, h1, environment, every, tuple(sorted(ro._winners(ro.files(drift.path, model), h0, h1).items())))
    with drift._lock:
        closed = drift._closed.get(key)
    if closed is None:
        closed = _closed_parts(drift, model, h0, h1, environment, every)
        with drift._lock:
            drift._keep(drift._closed, key, closed)
    by_group, by_bucket = ({k: he.HealthPart(n, e, [lat] if lat.n else []) for k, (n, e, lat) in part.items()}
                           for part in closed)
    first = drift.raw(model, since, h0 - US, environment, COLUMNS)
    last = tail.filter((pl.col("ts") > h1 - US) & (pl.col("ts") <= until)).select(COLUMNS)
    raw = pl.concat([first, last], how="diagonal_relaxed")
    raw = raw.with_columns(pl.col("ts").dt.truncate(polars_every(every)).alias("bucket"))
    he.raw_parts(raw, keys, by_group)
    he.raw_parts(he.served(raw), ("bucket",), by_bucket)
    minutes = (until - since).total_seconds() / 60
    out, eps = he.parts_table(by_group, keys, minutes)
    series, eps_s = he.parts_table(by_bucket, ("bucket",), parse_window(every).total_seconds() / 60,
                                   {"bucket": pl.Datetime("us")})
    eps = max(eps, eps_s)
    if any(sk.clipped(v) for frame in (out, series) for c in PERCENTILES if c in frame.columns
           for v in frame.get_column(c).to_list()):
        return None  # a latency beyond a sketch's float32 range: the percentile is not known from it, read raw
    note = (f"percentiles from hourly rollups, within ±{100 * eps:.1f}% rank; counts exact" if eps else
            "from hourly rollups; percentiles exact to float32, about 7 digits (every hour held its values)")
    if drift.note:
        note += f"; {drift.note}"
    return out, series, note, eps


def _closed_parts(drift, model: str, h0: datetime, h1: datetime, environment: str | None, every: str) -> tuple:
    """({(version, variant): (requests, errors, latency)}, {(bucket,): the same}) of the hours [h0, h1)."""
    by_group: dict[tuple, he.HealthPart] = {}
    by_bucket: dict[tuple, he.HealthPart] = {}
    # a chart of whole-day buckets (a month's) takes each compacted day's row: 30 sketches per group, not 720
    rows = hour_rows(drift, model, h0, h1, environment, days=parse_window(every) % ro.DAY == timedelta(0))
    if rows:
        hours = sorted({r[2] for r in rows})
        starts = pl.DataFrame({"h": hours}, schema={"h": pl.Datetime("us")}).select(
            pl.col("h").dt.truncate(polars_every(every))).to_series().to_list()
        bucket = dict(zip(hours, starts))
        for v, var, h, n, e, lat in rows:
            by_group.setdefault((v, var), he.HealthPart()).add(n, e, lat)
            if var != he.SHADOW:  # the chart is of what users were served (`health.served`), as the SLO line
                by_bucket.setdefault((bucket[h],), he.HealthPart()).add(n, e, lat)
    return tuple({k: (p.requests, p.errors, sk.Dist.union(p.latency)) for k, p in parts.items()}
                 for parts in (by_group, by_bucket))


WANTED = ["segment", "environment", "version", "variant", "hour", "rows", "errors", "latency_kll"]


def hour_rows(drift, model: str, start: datetime, end: datetime, environment: str | None,
              days: bool = False) -> list[tuple]:
    """(version, variant, hour, rows, errors, latency as a Dist or None) of the whole-group rows of the hours
    [start, end), each hour from the newest file covering it (as `store_rollups.read_table` picks them); with
    `days`, each valid compacted day inside them as one row (`hour` its start; its sketch a KLL merge of its
    hours', within the same rank error, and fixed once written). A file's rows are parsed once per process and
    kept (`drift._health`): a file never changes under its name, so a month's latency sketches are not turned
    into weighted items again on every read."""
    listed = ro.files(drift.path, model)
    whole = ro.valid_days(drift.path, model, start, end, listed) if days else {}
    winner: dict[datetime, ro.RollupFile | ro.DayFile] = {}
    for f in listed:  # ascending generation: later ones win
        t = max(f.start, start)
        while t < min(f.end, end):
            if t.replace(hour=0) not in whole:
                winner[t] = f
            t += ro.HOUR
    winner.update(whole)
    out: list[tuple] = []
    for f in dict.fromkeys(winner.values()):
        key = (f.path, environment)
        parsed = drift._health.get(key)
        if parsed is None:
            try:
                table = pq.ParquetFile(f.path).read(columns=ro._present(f.path, WANTED))
            except FileNotFoundError:  # pruned by a newer build meanwhile: the next read lists it anew
                if isinstance(f, ro.DayFile):  # a day recompacted meanwhile: its hours are there
                    return hour_rows(drift, model, start, end, environment)
                continue
            df = pl.from_arrow(table).filter(pl.col("segment").is_null())
            if environment is not None:
                df = df.filter(pl.col("environment") == environment)
            parsed = {}
            for v, var, h, n, e, blob in df.select("version", "variant", "hour", "rows", "errors",
                                                   "latency_kll").iter_rows():
                parsed.setdefault(h, []).append((v, var, h, n, e, sk.Dist.of(blob) if blob is not None else None))
            drift._keep(drift._health, key, parsed)
        out += [r for h, g in winner.items() if g is f for r in parsed.get(h, [])]
    return out
