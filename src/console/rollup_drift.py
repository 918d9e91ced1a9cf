"""Drift of long windows from the hourly rollups, so a week or a month is a merge of hourly sketches and
not a scan of every raw row.

A window (t0, now] is read as three parts: the closed hours strictly inside it from rollup files, and
the partial first hour and the open hour from raw rows, sketched in memory. Before reading, the rollups
are brought up to date by this process from the store's typed rows (`Monitor.typed_rows`, the same
reader the exact path uses, so there is one reader per log format; `rollup_catch_up.RollupCatchUp`, a mixin of
`RollupDrift`): an hour is (re)built when its row
count in the rollups differs from the store's, which covers hours never built, hours that gained late
rows after they were built, and files written with fewer features (by `mlops-console rollup` from an
older configuration). Checking costs one count of the window's rows per hour in the store; it is skipped
while the store has not been refreshed since the last check. The whole days so checked are then compacted
into day rows (`store_rollups.compact_range`), as `mlops-console rollup` does, so a month is ~30 rows per key.

What is read or combined from closed rollups is kept in the process, keyed by the files it came from (a rebuilt
hour or a recompacted day has a new file name, so nothing is invalidated by hand): a compacted day's rows, a
window's closed hours as one drift summary, and each closed bucket of the Drift screen's trend, scored. A month's
window then unions its kept closed summary with its edge hours, and a refresh re-scores only the trend buckets
whose hours changed. Sketches are combined at read time by `sketches.Dist.union` (deterministic: the same rollups
give the same scores in every process), never by a KLL merge, whose compaction draws random bits.

The reference is turned into the same sketches once per model (KLL per numeric feature, exact counts per
categorical one) and kept. Each feature gets its reference column's test and threshold, as the exact
engine chooses them; tests the sketches cannot reproduce (z, chi-square or binned PSI/JS on a numeric
column) are run exactly on a projected read of just those columns, and say so (`method`).

Several processes may share a store: catch-up runs under the rollup folder's lock (`store_rollups.build_lock`,
which the `rollup` command holds too), so a second process waits and then finds the hours built. If the lock is held longer than LOCK_WAIT_S (a stuck
process), it builds anyway: rollup files are written to a temporary name and renamed, and the newest
generation of an hour wins, so a duplicate build costs time, never correctness.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from console import rollup_changes as rc
from console import rollup_memo, rollup_spec
from console.rollup_catch_up import US, RollupCatchUp, _hours, floor_hour
from console.rollup_paths import rollup_dir, source_of
from console import store_rollups as ro
from console.analytics import drift as dr
from console.analytics import health as he
from console.analytics import sketches as sk
from console.analytics.windows import bucket_expr, format_span, parse_window

# Drift over a longer window (with `[rollups] min_rows` rows) is read from rollups unless asked for exact
# (`sketched`). A window is read as its closed hours plus two raw edge hours: at 6 h or less that is at most 5 closed
# hours of 7 read, so the rollups save little and the score would carry a bound for nothing (the overview's 6 h drift
# column stays exact); at 24 h, 23 of 25 hours come from the rollups (1.4-1.9 s raw at 3.3M rows a month, 0.1-0.3 s
# sketched). The deployment gate asks for exact scores whatever the window.
SKETCH_AFTER = timedelta(hours=6)
SKETCH_TESTS = rollup_spec.SKETCH_TESTS  # numeric tests computed on KLL sketches
COUNT_TESTS = {"psi", "jensenshannon", "chisquare"}  # categorical tests computed on merged exact counts
# The reference is summarised once, finer than the hourly rollups (K = 200, 1.3% rank error): thinned to 2000 items
# its rank error is at most 0.05%, so the bound is mostly the current window's; up to 2000 distinct values stay exact.
REF_K = 2000
# Kept per process, oldest dropped first: compacted days' rows (~0.2 MB each at 25 features and 4 keys) and windows'
# closed hours unioned (`closed`; up to ~1.6 MB each: `sketches.ITEMS` items a feature), scored trend buckets
# (small), hour files parsed for health (a day file's hours' latency items: ~1-2 MB at 4-8 groups an hour), and
# summarised raw edges (a window's partial first hour and open hour: up to ~1.6 MB each at 25 features).
CACHED = {"days": 256, "buckets": 4096, "health": 96, "raw": 16, "costs": 8, "closed": 8}
# raw hours kept (`RollupDrift.hour_pieces`), per cache: an hour of 25 features is ~10 MB at 100M rows; the cost
# chart's running sums of an hour ~0.2-2.5 MB (one row per distinct timestamp), 64 MB in all
RAW_BYTES = 256 << 20
SUMS_BYTES = 64 << 20


def edge_ranges(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """The raw parts of a window (since, until] read from rollups: the partial first hour and the open hour
    around the closed hours strictly inside it, or the whole window when none is."""
    h0, h1 = floor_hour(since) + ro.HOUR, floor_hour(until)
    return [(since, h0 - US), (h1 - US, until)] if h1 > h0 else [(since, until)]


def edge_hours(ranges: list[tuple[datetime, datetime]]) -> list[datetime]:
    """The clock hours `RollupDrift.raw` reads whole for these ranges (a, b]."""
    return sorted({h for a, b in ranges if b > a for h in _hours(floor_hour(a + US), floor_hour(b) + ro.HOUR)})


@dataclass
class Current:
    """A window's merged summary: what `drift_table`-style scoring needs. Numeric features are held as
    distributions (`sketches.Dist`), combined by `Dist.union` and not by a KLL merge: a merge compacts with random
    bits, so the same question over unchanged rollups would get a slightly different score (and, near a threshold,
    verdict) on every read; the union is deterministic and states its rank error (the parts' errors weighted by
    their sizes, plus 1 / `sketches.ITEMS` per thinning)."""

    rows: int = 0
    numeric: dict[str, sk.Dist] = field(default_factory=dict)
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def of_table(cls, table: pa.Table | pl.DataFrame | None, environment: str | None) -> Current:
        """The whole-group rows (segment null) of rollup rows read with `drift_columns`, merged (their sketches
        unioned): a shadow's rows left out (`health.served`: its mirrored requests are the served ones again)."""
        out = cls()
        if table is None or not (table.height if isinstance(table, pl.DataFrame) else table.num_rows):
            return out
        df = he.served((table if isinstance(table, pl.DataFrame) else pl.from_arrow(table))
                       .filter(pl.col("segment").is_null()))
        if environment is not None:
            df = df.filter(pl.col("environment") == environment)
        if not df.height:
            return out
        out.rows = int(df["rows"].sum())
        for c in df.columns:
            if c.startswith("num__"):
                d = sk.Dist.union(df[c].drop_nulls().to_list(), sk.ITEMS)
                if d.n:
                    out.numeric[c[5:]] = d
                    out.sums[c[5:]] = float(df[f"sum__{c[5:]}"].sum())
            elif c.startswith("cat__"):
                out.counts[c[5:]] = sk.merge_counts(df[c].to_list())
        return out

    @classmethod
    def merged(cls, parts: list[Current]) -> Current:
        """One summary of several (each feature's distributions unioned once, not pairwise as parts arrive)."""
        out = cls(rows=sum(p.rows for p in parts))
        for f in dict.fromkeys(f for p in parts for f in p.numeric):
            d = sk.Dist.union([p.numeric.get(f) for p in parts], sk.ITEMS)
            if d.n:
                out.numeric[f] = d
                out.sums[f] = sum(p.sums.get(f, 0.0) for p in parts)
        for f in dict.fromkeys(f for p in parts for f in p.counts):
            out.counts[f] = sk.merge_counts([p.counts.get(f) for p in parts])
        return out

    def add_rows(self, df: pl.DataFrame, numeric: list[str], categorical: list[str]) -> None:
        """Raw rows (a window's edge hours) summarised as the rollups hold them (finite float32 values, counts by
        value), the values kept exactly and thinned (`Dist.thin`), not sketched: a KLL sketch of them would differ
        from read to read too."""
        if not df.height:
            return
        self.rows += df.height
        for f in numeric:
            if f not in df.columns:
                continue
            arr = sk.finite_float32(df.get_column(f))
            if arr.size:
                self.numeric[f] = sk.Dist.union([self.numeric.get(f), sk.Dist.of(arr)], sk.ITEMS)
                self.sums[f] = self.sums.get(f, 0.0) + float(arr.astype(np.float64).sum())
        g = sk.GroupSketch()  # counts by value, as a rollup hour counts them
        g.update(df, [], [c for c in categorical if c in df.columns])
        for f, c in g.counts.items():
            self.counts[f] = sk.merge_counts([self.counts.get(f), c])


@dataclass(frozen=True)
class RefSketch:
    numeric: dict[str, sk.Dist]
    counts: dict[str, dict[str, int]]
    id: str = ""  # which sketching of the reference (`rollup_memo`): trend scores are kept against it


class RollupDrift(RollupCatchUp):
    """Sketch drift for one Monitor (its reference, store and clock)."""

    def __init__(self, monitor):
        self.mon = monitor
        self.path = rollup_dir(monitor.cfg, monitor.wh.dir)
        self.remote = source_of(monitor.cfg)  # rollups others build (S3, a read-only mount), pulled into the mirror
        self._pulled_at: int | None = None  # the store refresh count at the last pull of the remote rollups
        self.note = ""  # why the remote rollups could not be read (the mirror's are used)
        self._refs: dict[str, RefSketch] = {}
        self._verified: dict = {}  # model (or (model, "labels")) -> (the store's content, from, to) verified
        self._versions = rc.Versions()
        self._schemas: dict[Path, set[str]] = {}
        self._lock = threading.Lock()
        self.built: list[tuple[str, datetime, datetime]] = []  # (model, start, end) built by this process
        self.checked: list[tuple[str, datetime, datetime]] = []  # (model, start, end) counted against the store
        self.raw_reads: list[tuple[str, datetime, datetime]] = []  # (model, start, end) of the hours `raw` read
        # Closed rollups never change under their file name (a rebuild or a recompaction writes a new name), so
        # what is merged or scored from them is kept, keyed by the files it came from.
        self._days: dict[tuple, Any] = {}  # (day file, environment) -> its rows; a window's closed hours -> summary
        self._buckets: dict[tuple, tuple[bool, dr.WindowDrift]] = {}  # series bucket -> (had rows, scored)
        self._raw: dict[tuple, tuple[set, Current]] = {}  # edge read raw, by its files -> (features, summary)
        self._frames: dict[tuple, pl.DataFrame] = {}  # raw reads of health, cost and quality, by their files
        self._closed: dict[tuple, tuple] = {}  # health's closed hours, unioned (`rollup_health`), by their files
        self._costs: dict[tuple, tuple] = {}  # a month's hour rows priced (`rollup_cost`), by their winning files
        self._sums: dict[tuple, tuple] = {}  # the cost chart's running sums per clock hour (`rollup_cost`), by their files
        self._memos: dict[Path, tuple[Path, dict]] = {}  # trend files of the rollup folder, read once (`rollup_memo`)
        self._health: dict[tuple, dict] = {}  # (hour file, environment) -> its rows for health (`rollup_health`)

    # ------------------------------------------------------------------ specs and reference

    def spec(self, model: str) -> ro.ModelSpec:
        """What the rollups keep for a model: `rollup_spec.spec` of its configuration and reference, the rule
        the `rollup` command builds by too, so hours it wrote are read as they are."""
        return rollup_spec.spec(self.mon.model_config(model), self.mon.reference(model))

    def reference(self, model: str) -> RefSketch | None:
        with self._lock:
            if model in self._refs:
                return self._refs[model]
        ref, frame = self.mon.reference(model), self.mon.reference_frame(model)
        if ref is None or frame is None:
            return None
        spec = self.spec(model)
        # kept in the rollup folder for the next process (`rollup_memo`), and with it the trend scored against it
        key = rollup_memo.reference_key(getattr(self.mon.model_config(model), "reference", None), spec,
                                        f"thinned {REF_K}", list(ref.columns))
        where = rollup_memo.folder(self.path, ro._model_dir(self.path, model).name)
        kept = rollup_memo.load_reference(where, key) if key and self.remote is None else None
        if kept is not None:
            numeric, counts, sid = kept
        else:
            frame = rollup_spec.drift_ready(frame.select(list(ref.columns)))
            # kept as distributions (weighted items, sorted): a window's trend scores each one many times. Thinned
            # (`Dist.thin`), not KLL-sketched: the same reference gives the same distribution in every process
            numeric = {c.name: sk.Dist.of(sk.finite_float32(c.sorted_values)).thin(REF_K)
                       for c in ref.columns.values() if c.numeric}
            counts = {f: sk.value_counts(ro.category_text(frame.get_column(f), f in spec.by_value), top=None)
                      for f in spec.categorical}
            sid = rollup_memo.save_reference(where, key, numeric, counts) if key and self.remote is None else None
        out = RefSketch(numeric, counts, sid or f"process-{id(numeric)}")
        with self._lock:
            self._refs[model] = out
        return out

    # ------------------------------------------------------------------ drift

    def current(self, model: str, since: datetime, until: datetime, environment: str | None,
                spec: ro.ModelSpec, features: list[str], also: tuple[str, ...] = ()) -> Current:
        """The merged summary of rows in (since, until]: closed hours strictly inside from rollups (caught up
        first), the partial first hour and the open hour from raw rows (read with the columns `also`, which a
        later read of the same hours wants: prediction drift's)."""
        h0, h1 = floor_hour(since) + ro.HOUR, floor_hour(until)
        parts = []
        if h1 > h0:
            self.catch_up(model, h0, h1)
            parts = self.closed(model, h0, h1, environment, spec)
        for a, b in edge_ranges(since, until):
            if b > a:
                parts.append(self._edge(model, a, b, environment, features, spec, also))
        return Current.merged(parts)

    def closed(self, model: str, start: datetime, end: datetime, environment: str | None,
               spec: ro.ModelSpec) -> list[Current]:
        """The drift summary of the closed hours [start, end), as one part: the rows of each compacted day inside it
        (read once per day file and kept) and the hour rows of the rest, unioned once per feature; only the columns
        drift reads. The summary is kept too, by the files it came from: a window read again before its closed
        hours change (a refresh, the open hour's new rows) unions only it and the raw edges."""
        columns = drift_columns(spec)
        listed = ro.files(self.path, model)
        whole = ro.valid_days(self.path, model, start, end, listed)
        key = ("closed", start, end, environment, columns, tuple(str(whole[d].path) for d in sorted(whole)),
               tuple(sorted(ro._winners(listed, start, end).items())))
        kept = self._days.get(key)
        if kept is None:
            frames = [f for f in self._closed_rows(model, start, end, environment, columns, listed, whole) if f.height]
            kept = self._keep(self._days, key, Current.of_table(
                pl.concat(frames, how="diagonal_relaxed") if frames else None, environment))
        return [kept]

    def _closed_rows(self, model: str, start: datetime, end: datetime, environment: str | None, columns: tuple,
                     listed: list, whole: dict) -> list[pl.DataFrame]:
        """The whole-group rollup rows of [start, end): each compacted day's (kept), then the other hours'."""
        frames, gaps, t = [], [], start
        keep = pl.col("segment").is_null() & he.served_expr() & (pl.lit(True) if environment is None
                                                                 else pl.col("environment") == environment)
        for day in sorted(whole):
            if t < day:
                gaps.append((t, day))
            t = day + ro.DAY
            key = (whole[day].path, environment, columns)
            rows = self._days.get(key)
            if rows is None:
                try:
                    pf = pq.ParquetFile(whole[day].path)  # its footer opened once, its names from it too
                    table = pf.read(columns=ro._present(whole[day].path, columns, pf.schema_arrow.names))
                except FileNotFoundError:  # replaced by a newer compaction meanwhile: read its hours
                    gaps.append((day, day + ro.DAY))
                    continue
                rows = self._keep(self._days, key, pl.from_arrow(table).filter(keep))
            frames.append(rows)
        if t < end:
            gaps.append((t, end))
        for a, b in gaps:
            table = ro._read_hours(self.path, model, a, b, listed, list(columns))
            if table is not None and table.num_rows:
                frames.append(pl.from_arrow(table).filter(keep))
        return frames

    def _edge(self, model: str, a: datetime, b: datetime, environment: str | None, features: list[str],
              spec: ro.ModelSpec, also: tuple[str, ...] = ()) -> Current:
        """Raw rows in (a, b] sketched as the rollups sketch them, kept keyed by the store's files that may hold
        rows in that range (`rollup_changes`): the window's scores and the trend's last bucket need the same
        rows in one call, and a later call over the same edges (a view pinned at a time, a refresh that brought
        nothing, or rows of other hours only) reads and sketches nothing. Each read costs a query over the
        whole store's files (a few hundred ms at 100M rows) even when the range is a second long."""
        key = (model, a, b, environment, self._touching(a, b))
        hit = self._raw.get(key)
        if hit is not None and set(features) <= hit[0]:
            return hit[1]
        rows = he.served(self.raw(model, a, b, environment, ["ts", "variant", *features, *also]))  # as the hours'
        rows = ro.typed(rows.select([c for c in dict.fromkeys(["ts", *features]) if c in rows.columns]), spec)
        edge = Current()
        edge.add_rows(rows, [f for f in features if f in spec.numeric], [f for f in features if f in spec.categorical])
        self._keep(self._raw, key, (set(features), edge))
        return edge

    def raw(self, model: str, a: datetime, b: datetime, environment: str | None, columns: list[str]) -> pl.DataFrame:
        """`Monitor.typed_rows` of (a, b], read as whole clock hours kept by the store's files that may hold their
        rows (`hour_pieces`). The edge hours and the SLO's hours that health, cost and quality read raw cost a
        query over every file of the store each (a few hundred ms at 100M rows): kept hours are not read again,
        and a live log's refresh, which moves `now` and so every window's partial first hour, reads only the
        hours whose files changed (the open hour)."""
        if b <= a:
            return self.mon.typed_rows(model, a, b, environment, columns=columns)
        hours = edge_hours([(a, b)])
        pieces = self.hour_pieces(model, hours, environment, columns, self._frames, lambda f: f)
        out = pl.concat([pieces[h] for h in hours], how="vertical_relaxed") if len(hours) > 1 else pieces[hours[0]]
        # in time order, as `typed_rows` gives rows: hours ascending, each sorted
        return out.filter((pl.col("ts") > a) & (pl.col("ts") <= b)).with_columns(pl.col("ts").set_sorted())

    def hour_pieces(self, model: str, hours: list[datetime], environment: str | None, columns: list[str],
                    cache: dict, make, limit: int = RAW_BYTES) -> dict:
        """`make(rows of the clock hour)` for each hour, kept in `cache` by the files that may hold its rows;
        the hours missing are read in one scan (`raw_reads` lists their contiguous runs). A piece past a
        quarter of `limit` bytes is not kept; the oldest go first past `limit` in the cache."""
        cols = tuple(dict.fromkeys(["ts", *columns]))
        keys = {h: (model, h, environment, cols, self._touching(h - US, h + ro.HOUR - US)) for h in hours}
        with self._lock:
            pieces = {h: cache[k] for h, k in keys.items() if k in cache}
            if cache is self._frames:  # an hour kept with more columns serves a narrower read of it
                for h, k in keys.items():
                    if h not in pieces:
                        wider = next((c for c in cache if c[:3] == k[:3] and c[4] == k[4] and set(cols) <= set(c[3])),
                                     None)
                        if wider is not None:
                            pieces[h] = cache[wider].select(cols)
        runs = ro.hour_ranges([h for h in hours if h not in pieces])
        if runs:  # every run missing in one scan (`typed_rows` over ranges), of only the files holding them
            frame = self.mon.typed_rows(model, runs[0][0] - US, runs[-1][1] - US, environment, columns=list(cols),
                                        ranges=[(lo - US, hi - US) for lo, hi in runs])
            self.raw_reads += [(model, lo, hi) for lo, hi in runs]
            missing = [h for lo, hi in runs for h in _hours(lo, hi)]
            if len(missing) > 1:
                hour = frame.get_column("ts").dt.truncate("1h")
                split = {h: make(frame.filter(hour == h)) for h in missing}
            else:
                split = {missing[0]: make(frame)}
            pieces.update(split)
            with self._lock:
                for h, piece in split.items():
                    if _size(piece) <= limit // 4:
                        cache[keys[h]] = piece
                while sum(_size(f) for f in cache.values()) > limit:
                    cache.pop(next(iter(cache)))
        return pieces

    def _touching(self, a: datetime, b: datetime) -> tuple:
        """The identities of the store's prediction files whose rows may fall in (a, b]."""
        parts = self._versions.content(self.mon.wh).parts
        return tuple(sorted((k for k, (lo, hi) in parts.items()
                             if lo is None or (lo != "empty" and lo <= b and hi > a)), key=repr))

    def _keep(self, cache: dict, key, value):
        limit = CACHED["days" if cache is self._days else "buckets" if cache is self._buckets
                       else "raw" if cache is self._raw else "costs" if cache is self._costs
                       else "closed" if cache is self._closed else "health"]
        if len(cache) >= limit:
            # the oldest entry; some callers hold `_lock` and some do not (a read-ahead thread may insert
            # meanwhile): a dict changed under the iterator, or an entry another thread evicted first, only
            # postpones this eviction to the next insert
            try:
                cache.pop(next(iter(cache), None), None)
            except RuntimeError:
                pass
        cache[key] = value
        return value

    def drift(self, model: str, window: str | timedelta, environment: str | None, series: bool,
              target: bool = True):
        """A DriftReport whose feature scores come from sketches (each with its bound), prediction and label
        drift exact from a narrow read, and the trend series from the rollups per bucket."""
        from console.monitoring import HISTORY, DriftReport

        mon = self.mon
        now = mon.clock()
        ref = mon.reference(model)
        if ref is None:
            return DriftReport(model, format_span(window), now, None, note="no reference data configured for this model")
        refsk = self.reference(model)
        span = parse_window(window)
        history = max(span, parse_window(HISTORY))
        every = "1h" if span <= timedelta(hours=24) else "6h"
        spec = self.spec(model)
        feats = list(ref.columns)
        from console import rollup_target
        from console.monitoring import BASELINE

        targets = target and now - span >= now - history + BASELINE  # prediction and label drift: see below
        # the raw edges of the window and, for its target drift, of the baseline, in one scan: each read binds
        # the store's files, so four edges read apart cost four binds (`hour_pieces` keeps what this read)
        edges = edge_ranges(now - span, now) + (edge_ranges(now - history, now - history + BASELINE) if targets
                                                else [])
        self.hour_pieces(model, edge_hours(edges), environment, ["ts", "variant", *feats,
                                                                 *(rollup_target.EDGE_COLUMNS if targets else ())],
                         self._frames, lambda f: f)
        cur = self.current(model, now - span, now, environment, spec, feats,
                           tuple(rollup_target.EDGE_COLUMNS) if targets else ())
        results = [self._score(ref[f], refsk, cur, spec) for f in feats]
        exact_cols = [f for f, r in zip(feats, results) if r is None]
        if exact_cols:
            rows = he.served(mon.typed_rows(model, now - span, now, environment,
                                            columns=["ts", "variant", *exact_cols]))
            rows = rollup_spec.drift_ready(rows.select(exact_cols))
            done = {f: dr.column_drift(ref, rows, f) for f in exact_cols}
            results = [r if r is not None else done[f] for f, r in zip(feats, results)]
        ds = dr.summarize(tuple(results), mon.cfg.drift_share)
        windows = self._series(model, ref, refsk, spec, now, history, every, environment) if series else []
        points = {f: [(w.start, c.score, c.drifted) for w in windows for c in w.drift.columns if c.column == f]
                  for f in feats}  # a column whose test needs raw rows has no trend
        prediction = label = None
        # the baseline is the history's first two days: a window reaching into them has no target drift, so
        # its history of predictions is not read for nothing (a month's window: 30 days of raw rows)
        if targets:
            from console.monitoring import TARGET_COLUMNS

            # from the rollups' prediction and label summaries and the raw edges, as the features are read
            start, base_end = now - history, now - history + BASELINE
            target_scores = rollup_target.read(self, model, now, span, start, environment)
            if target_scores is not None:
                prediction, label = target_scores
            else:  # hours built without those summaries: the baseline and the window raw (not the days between)
                parts = [(start, min(base_end, now - span)), (max(base_end, now - span), now)]
                narrow = pl.concat([mon.typed_rows(model, a, b, environment, columns=TARGET_COLUMNS)
                                    for a, b in parts if b > a], how="vertical_relaxed")
                prediction, label = mon._target_drift(model, narrow, now, span, start, environment)
        ds, prediction, label, few = dr.thin_window(cur.rows, ds, prediction, label)  # as the raw path says it
        unbounded = [c.column for c in ds.columns if c.method == dr.SKETCH and c.bound is None]
        note = (f"{few}; " if few else "") + (
            f"scores from hourly rollups: each within its bound of the exact score ({ds.n_borderline} "
            f"borderline); --exact re-reads the raw rows") + (
            f"; no bound for {', '.join(unbounded)}: more values an hour than a rollup keeps, counted as 'other'"
            if unbounded else "") + (f"; {self.note}" if self.note else "")
        return DriftReport(model, format_span(window), now, ds, points, windows, prediction,
                           len(mon.reference_frame(model)), note=note, label=label)

    def _score(self, ref: dr.ColumnReference, refsk: RefSketch, cur: Current,
               spec: ro.ModelSpec) -> dr.ColumnDrift | None:
        """A column's drift from sketches; None when its test needs the raw rows."""
        name, test = ref.name, ref.test.name
        if ref.n == 0:
            return dr._result(ref, 0, dr.NO_REFERENCE)
        if name in spec.numeric and test in SKETCH_TESTS:
            c = cur.numeric.get(name)
            if c is None or not c.n:
                return dr._result(ref, 0, dr.NO_DATA)
            if test == "ks":
                s = sk.ks(refsk.numeric[name], c, ref.threshold)
                stats = {"statistic": s.statistic, "p_value": s.score, "p_range": list(s.p_range),
                         "bound_of": "statistic"}
            else:
                s = sk.wasserstein(refsk.numeric[name], c, ref.std, ref.threshold)
                stats = {**s.stats, "ref_std": ref.std, "bound_of": "score"}
            stats["mean_ref"], stats["mean_cur"] = ref.mean, cur.sums.get(name, math.nan) / c.n
        elif name in spec.categorical and test in COUNT_TESTS | {"z"}:
            counts = cur.counts.get(name) or {}
            if not counts:
                return dr._result(ref, 0, dr.NO_DATA)
            if test == "z":
                s = _z(ref, refsk.counts[name], counts)
            else:
                s = {"psi": sk.psi, "jensenshannon": sk.jensenshannon, "chisquare": sk.chisquare}[test](
                    refsk.counts[name], counts, ref.threshold)
            stats = {**s.stats, "bound_of": "score"}
            if s.statistic is not None:
                stats["statistic"] = s.statistic
            new = sorted(k for k in counts if k not in refsk.counts[name] and k != sk.OTHER)
            if new:
                stats["new_categories"], stats["n_new_categories"] = new[:10], len(new)
        else:
            return None
        # the window's rows without a usable value, as the exact test counts them: 0 included, as it says it
        stats["dropped"] = max(0, int(cur.rows - s.n_cur))
        status = {sk.DRIFTED: dr.DRIFT, sk.OK: dr.OK, sk.BORDERLINE: dr.BORDERLINE}[s.verdict]
        return dr.ColumnDrift(column=name, kind=ref.kind, test=test, score=float(s.score), threshold=ref.threshold,
                              direction=ref.test.direction(ref.threshold), drifted=status == dr.DRIFT,
                              n_ref=ref.n, n_cur=int(s.n_cur), stats=stats, status=status, method=dr.SKETCH,
                              bound=None if math.isnan(s.bound) else float(s.bound))

    def _series(self, model: str, ref: dr.Reference, refsk: RefSketch, spec: ro.ModelSpec, now: datetime,
                history: timedelta, every: str, environment: str | None) -> list[dr.WindowDrift]:
        """Dataset drift per bucket of `every` over the history, each bucket a merge of its hours (the open
        hour from raw rows). Buckets are epoch-aligned as `drift_over_time` makes them; the first one holds
        whole hours only. Columns whose test needs raw rows are left out of the trend.

        A bucket of closed hours is scored once and kept, keyed by the hour files that win its hours: the
        next refresh reads and scores only the buckets whose hours were rebuilt, and the open hour's."""
        h0, h1 = floor_hour(now - history) + ro.HOUR, floor_hour(now)
        if h1 <= h0:
            return []
        self.catch_up(model, h0, h1)
        feats = [f for f in ref.columns if (f in spec.numeric and ref[f].test.name in SKETCH_TESTS)
                 or (f in spec.categorical and ref[f].test.name in COUNT_TESTS | {"z"})]
        share = self.mon.cfg.drift_share
        step = parse_window(every)
        hours = _hours(h0, h1)
        starts = pl.DataFrame({"h": hours}, schema={"h": pl.Datetime("us")}).select(bucket_expr(every, "h"))
        by_bucket: dict[datetime, list[datetime]] = {}
        for h, b in zip(hours, starts.to_series().to_list()):
            by_bucket.setdefault(b, []).append(h)
        tail = self._edge(model, h1 - US, now, environment, feats, spec)
        open_bucket = None
        if tail.rows:  # the open hour's rows: all in the bucket of its start
            open_bucket = pl.DataFrame({"h": [h1]}, schema={"h": pl.Datetime("us")}).select(
                bucket_expr(every, "h")).item()
        winners = ro._winners(ro.files(self.path, model), h0, h1)
        tests = tuple((f, ref[f].test.name, ref[f].threshold) for f in feats)
        # "served": a bucket's rows leave out a shadow's (kept before by older code: every variant's, scored again)
        keys = {b: (model, environment, every, b, hs[0], hs[-1], tuple(winners.get(h) for h in hs),
                    refsk.id or id(refsk), share, tests, "served") for b, hs in by_bucket.items()}
        memo = self._trend_memo(model, environment, every)
        done: dict[datetime, tuple[bool, dr.WindowDrift | Current]] = {}
        for b, key in keys.items():
            hit = self._buckets.get(key) if b != open_bucket else None
            if hit is None and memo is not None and b != open_bucket:
                hit = memo[1].get(rollup_memo.bucket_key(key))
                if hit is not None:
                    self._keep(self._buckets, key, hit)
            if hit is not None:
                done[b] = hit
        todo = [b for b in by_bucket if b not in done]
        if todo:
            a, z = by_bucket[min(todo)][0], by_bucket[max(todo)][-1] + ro.HOUR
            table = ro._read_hours(self.path, model, a, z, columns=list(drift_columns(spec)))
            parts = {}
            if table is not None and table.num_rows:
                df = pl.from_arrow(table).with_columns(bucket_expr(every, "hour").alias("__b"))
                parts = {b: part for (b,), part in df.partition_by("__b", as_dict=True, include_key=False).items()}
            for b in todo:
                part = parts.get(b)
                cur = Current.of_table(part, environment)  # a Polars frame as it is (no Arrow round trip)
                present = part is not None and part.height > 0
                if b == open_bucket:
                    done[b] = (present, cur)
                else:
                    done[b] = self._keep(self._buckets, keys[b], (present, self._window(ref, refsk, spec, feats,
                                                                                        b, step, cur, share)))
        if set(todo) - {open_bucket} and memo is not None and not refsk.id.startswith("process-"):
            # for the next process: the closed buckets, scored against the reference sketch it will load, added to
            # those kept (a week's trend shares the file of a month's); the newest `rollup_memo.TREND_KEPT` stay
            memo[1].update({rollup_memo.bucket_key(k): done[b] for b, k in keys.items() if b != open_bucket})
            rollup_memo.save_trend(memo[0], memo[1])
        if open_bucket is not None:
            present, cur = done.get(open_bucket, (False, Current()))
            done[open_bucket] = (True, self._window(ref, refsk, spec, feats, open_bucket, step,
                                                    Current.merged([cur, tail]), share))
        seen = [b for b, (present, _) in done.items() if present]
        out = []
        if not seen:
            return out
        t, last = min(seen), max(seen)
        while t <= last:
            hit = done.get(t)
            out.append(hit[1] if hit is not None else self._window(ref, refsk, spec, feats, t, step, Current(), share))
            t += step
        return out

    def _trend_memo(self, model: str, environment: str | None, every: str) -> tuple[Path, dict] | None:
        """(the file, its buckets) of the trend kept in the rollup folder, read once per process; None for rollups
        pulled from S3 (the mirror is theirs)."""
        if self.remote is not None:
            return None
        path = rollup_memo.trend_file(rollup_memo.folder(self.path, ro._model_dir(self.path, model).name),
                                      environment, every)
        with self._lock:
            memo = self._memos.get(path)
            if memo is None:
                memo = self._memos[path] = (path, rollup_memo.load_trend(path))
        return memo

    def _window(self, ref: dr.Reference, refsk: RefSketch, spec: ro.ModelSpec, feats: list[str], start: datetime,
                step: timedelta, cur: Current, share: float) -> dr.WindowDrift:
        cols = tuple(self._score(ref[f], refsk, cur, spec) for f in feats)
        return dr.WindowDrift(start, start + step, cur.rows, dr.summarize(cols, share))


def _size(piece) -> int:
    """Bytes held by a kept piece: a frame, or a tuple of numpy arrays (`rollup_cost`'s running sums)."""
    if isinstance(piece, pl.DataFrame):
        return piece.estimated_size()
    return sum(getattr(x, "nbytes", 0) for x in piece)


def _z(ref: dr.ColumnReference, r: dict[str, int], c: dict[str, int]) -> sk.SketchScore:
    """Evidently's z-test from exact counts: the reference's smallest category against all the others."""
    from console.analytics import drift_stats as st

    n_ref, n_cur = sum(r.values()), sum(c.values())
    keys = set(r) | set(c)
    # the exact engine's first category: the smallest value of either sample (numeric), of the reference (text)
    first = min(keys, key=float) if ref.numeric else min(r) if r else None
    if len(keys) <= 1 or sk.OTHER in keys or first is None:
        p, z = 1.0, 0.0
    else:
        z, p = st.z_two_proportions(n_ref - r.get(first, 0), n_ref, n_cur - c.get(first, 0), n_cur)
    v = sk.verdict("<", p, p, ref.threshold)
    return sk.SketchScore("z", p, 0.0, ref.threshold, v, None, (p, p), n_ref, n_cur, {"z": z})


def drift_columns(spec: ro.ModelSpec) -> tuple[str, ...]:
    """The rollup columns a drift summary reads (`Current.of_table`): keys it filters on (`variant`: served rows
    only), rows, features."""
    cols = ["segment", "environment", "variant", "rows"]
    for f in spec.numeric:
        cols += [f"num__{f}", f"sum__{f}"]
    return (*cols, *(f"cat__{f}" for f in spec.categorical))


def _env(environment: str | None) -> dict | None:
    return None if environment is None else {"environment": environment}

