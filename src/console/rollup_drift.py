"""Drift of long windows from the hourly rollups, so a week or a month is a merge of hourly sketches and
not a scan of every raw row.

A window (t0, now] is read as three parts: the closed hours strictly inside it from rollup files, and
the partial first hour and the open hour from raw rows, sketched in memory. Before reading, the rollups
are brought up to date by this process from the store's typed rows (`Monitor.typed_rows`, the same
reader the exact path uses, so there is one reader per log format): an hour is (re)built when its row
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

import json
import math
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Iterator

import filelock
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from console import rollup_changes as rc
from console import rollup_memo, rollup_remote, rollup_spec
from console.private_files import replace_private
from console.rollup_paths import FULL, FolderFull, rollup_dir, source_of
from console import store_rollups as ro
from console import rollup_summarise as rs
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
VERIFIED = ".verified"  # in the rollup folder: what catch-ups verified, kept for the next process (`_keep_record`)
LOCK_WAIT_S = 30.0  # how long a catch-up waits for another process's before building the same hours itself
BUILD_CHUNK = timedelta(days=1)  # hours built per read of raw rows at most
# Raw values (rows x columns read) held per read of a build: a read holds about 50 bytes a value while it is typed,
# cut and sketched (a 30M-row week's model-day, 1.4M rows of 40 columns, took 2.9 GB), so pieces are cut by the
# store's hourly counts, and an hour with more is read in slices streamed through one `build_rollups`: memory
# follows this, not the traffic or the number of features (125,000 rows of 40 columns).
BUILD_CELLS = 5_000_000
# A build of more values than this in all reads the next piece's raw rows while it sketches this one's (`_read_ahead`):
# a cold 10M-row week 25.4 -> 20.1 s, 858 -> 877 MB. A smaller one gains little (a 1M-row week: 0.6 s) and holds
# one read more at its peak (475 -> 518-537 MB), over the 500 MB a million rows may take.
READ_AHEAD_CELLS = 20 * BUILD_CELLS
US = timedelta(microseconds=1)  # the store's queries take (since, until]; rollup hours are [start, end)
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


def floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def _pieces(stale: dict[datetime, int], empty: Iterable[datetime] = ()) -> list[tuple[datetime, datetime, int]]:
    """Stale hours (with the values their rows hold in the store) as (start, end, values) pieces to build per read:
    runs of consecutive hours cut at BUILD_CHUNK of hours and BUILD_CELLS values (an hour with more is alone). A run
    goes on over `empty` hours (no row stored or rolled up: built again, each is built the same) to the next stale
    one: a quiet model's hours with rows are a few apart, and a cold build of 60 days of 40 rows a day was ~240
    pieces, each a read, a file and a listing of the files before it, not 60."""
    empty = set(empty)
    out: list[tuple[datetime, datetime, int]] = []
    for hour in sorted(stale):
        n = stale[hour]
        if out and hour + ro.HOUR - out[-1][0] <= BUILD_CHUNK and out[-1][2] + n <= BUILD_CELLS and (
                out[-1][1] == hour or all(h in empty for h in _hours(out[-1][1], hour))):
            out[-1] = (out[-1][0], hour + ro.HOUR, out[-1][2] + n)
        else:
            out.append((hour, hour + ro.HOUR, n))
    return out


def _fits(group: list, piece: tuple) -> bool:
    """Whether a piece (ask, spec, start, end, values) joins the read of `group`'s pieces (of other models): at most
    BUILD_CELLS values in all, and at most BUILD_CHUNK of hours, summed (a rule pass: the hour that closed, of each
    model) or spanned (a cold build: the models' pieces of one day, whose row groups a shared read decodes once,
    not once per model; summed, a day of two models was 48 h and every model-day had a read of its own: 21 reads
    for a week of 3 models at 1M rows, 14 now, 2.2-2.8 -> 2.1-2.3 s CPU)."""
    if sum(g[4] for g in group) + piece[4] > BUILD_CELLS:
        return False
    hours = sum((g[3] - g[2] for g in group), piece[3] - piece[2])
    span = max(piece[3], *(g[3] for g in group)) - min(piece[2], *(g[2] for g in group))
    return min(hours, span) <= BUILD_CHUNK


def _read_ahead(read, items: list, ahead: bool = True) -> Iterator[tuple[Any, Any]]:
    """(item, read(item)) for each item in order, the next item's read running in a thread while the caller works on
    this one's. A build's raw reads (DuckDB, which lets go of the GIL) and its sketching (KLL updates, which hold it)
    then overlap: a cold 10M-row build spent 6.7 s reading and 12 s sketching, one after the other. One read ahead at
    most: memory holds two reads' rows, not more. An error is raised where that item's read is taken. Not `ahead`:
    each read in turn."""
    if len(items) < 2 or not ahead:
        for item in items:
            yield item, read(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="rollup-read") as pool:
        pending = pool.submit(read, items[0])
        for k, item in enumerate(items):
            got = pending.result()
            if k + 1 < len(items):
                pending = pool.submit(read, items[k + 1])
            yield item, got


def _slices(start: datetime, end: datetime, cells: int) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into equal spans of about BUILD_CELLS values each (one span when it holds no more)."""
    k = max(1, -(-cells // BUILD_CELLS))
    cuts = [start + (end - start) * j / k for j in range(k)] + [end]
    return list(zip(cuts, cuts[1:]))


def _hours(a: datetime, b: datetime) -> list[datetime]:
    out = []
    while a < b:
        out.append(a)
        a += ro.HOUR
    return out


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


class RollupDrift:
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

    # ------------------------------------------------------------------ catch-up

    def _stale_hours(self, model: str, spec: ro.ModelSpec, start: datetime, end: datetime,
                     labels: bool = False, rewritten: frozenset = frozenset(),
                     empty: set[datetime] | None = None) -> dict[datetime, int]:
        """Hours in [start, end), with the store's row count, whose rollup rows differ in count from the store's, or were built without
        one of the model's features (or a column of `ro.ADDED`); with `labels`, also those whose count of
        labelled rows differs (a label that landed after the hour was built: quality reads it) or whose labels'
        numbers add up to another sum (labels corrected in place, as many of them: `rollup_summarise.label_sums`), or whose
        newest label's arrival (`ro.LABEL_TS`, which every builder keeps) is another (a later row of the labels log
        correcting a label: text labels add nothing to the sum, and a 0 -> 1 with a 1 -> 0 in one hour leaves count
        and sum equal); and the `rewritten` hours, whose file was rewritten in place (`_rewritten`), whatever their
        counts. `empty` gets the hours of the range with no row in the store or the rollups (`_pieces` bridges them)."""
        hour = pl.col("ts").dt.truncate("1h").alias("h")
        params = {"model": model, "since": start - US, "until": end - US, "environment": None}
        lab = None
        if labels and self.mon.wh.counts()[1]:  # a store with no label at all (from metadata) joins nothing
            lab = rs._labels_frame(self.mon.wh.frame("model_labels", params))
        stored_labels: dict[datetime, int] = {}
        stored_sums: dict[datetime, float] = {}
        stored_arrived: dict[datetime, datetime | None] = {}
        if lab is not None:  # the labelled count per hour joins the rows' request ids
            ts = self.mon.typed_rows(model, start - US, end - US, None, columns=["ts", "request_id"])
            stored = dict(ts.group_by(hour).len().iter_rows())
            have = ts.join(lab.select("request_id", "label", "label_num", ro.LABEL_TS), on="request_id", how="left")
            have = have.filter(pl.col("label").is_not_null()).with_columns(hour)
            stored_labels = dict(have.group_by("h").len().iter_rows())
            stored_sums = rs.label_sums(have, "h")
            stored_arrived = _newest(have, "h")
        else:
            stored = self.mon.wh.hour_counts(params)
        table = ro.read_table(self.path, model, start, end,
                              columns=["segment", "rows", "labelled", *(["label_sum", ro.LABEL_TS] if labels else [])])
        rolled: dict[datetime, int] = {}
        rolled_labels: dict[datetime, int] = {}
        rolled_sums: dict[datetime, float] = {}  # of the hours built with label sums (`ro.TARGETS`)
        rolled_arrived: dict[datetime, datetime | None] = {}  # of the hours built with `ro.LABEL_TS`
        if table is not None and table.num_rows:
            df = pl.from_arrow(table).filter(pl.col("segment").is_null())
            rolled = dict(df.group_by("hour").agg(pl.col("rows").sum()).iter_rows())
            rolled_labels = dict(df.group_by("hour").agg(pl.col("labelled").sum()).iter_rows())
            if ro.LABEL_TS in df.columns:  # an hour written before it is `thin` (`ro.ADDED`): rebuilt anyway
                rolled_arrived = _newest(df.filter(pl.col("labelled") > 0), "hour")
            if "label_sum" in df.columns:
                rolled_sums = {h: v for h, v, has in df.group_by("hour").agg(
                    pl.col("label_sum").sum(), pl.col("label_sum").is_not_null().any().alias("has")).iter_rows() if has}
        wanted = _holds(spec)
        covering = [f for f in ro.files(self.path, model) if f.start < end and f.end > start]  # oldest first
        thin: set[datetime] = set()
        for h in _hours(start, end):
            newest = next((f for f in reversed(covering) if f.start <= h < f.end), None)
            if newest is not None and not wanted <= self._names(newest.path):
                thin.add(h)
        stale = {h: stored.get(h, 0) for h in _hours(start, end) if stored.get(h, 0) != rolled.get(h, 0) or h in thin
                 or h in rewritten or (labels and stored_labels.get(h, 0) != rolled_labels.get(h, 0))
                 or (h in rolled_sums and not _same_sum(stored_sums.get(h, 0.0), rolled_sums[h]))
                 or (labels and h in rolled_labels and stored_arrived.get(h) != rolled_arrived.get(h))}
        if empty is not None:  # no row in the store nor in the rollups: built again, it is built the same (none)
            empty.update(h for h in _hours(start, end) if h not in stale and not stored.get(h) and not rolled.get(h))
        return stale

    def _names(self, path: Path) -> set[str]:
        names = self._schemas.get(path)
        if names is None:
            names = self._schemas[path] = set(pq.read_schema(path).names)
        return names

    def _read(self, pieces: list[tuple[str, ro.ModelSpec, datetime, datetime, int]],
              has_labels: bool) -> tuple[dict, dict]:
        """The raw rows of the pieces (by model) and their labels (by model, when the store holds any). One read for
        all (`Monitor.typed_rows_of`: each model's part typed as a read of that model alone): after new rows the hour
        that closed is stale for every model of a pass, and a read per model decoded the same row group once per
        model. A lone piece of more than BUILD_CELLS values (one busy hour) is read in time slices of about
        BUILD_CELLS as `build_rollups` streams through them (later, in the thread that consumes them)."""
        reads = {model: (self._build_columns(model, spec, has_labels), [(start - US, end - US)])
                 for model, spec, start, end, _ in pieces}
        if len(pieces) == 1:
            ((model, (cols, _)),) = reads.items()
            _, _, start, end, n = pieces[0]
            # build_rollups types them
            slices = _slices(start, end, n)
            read = lambda a, b: self.mon.typed_rows(model, a - US, b - US, None, columns=cols)  # noqa: E731
            rows = {model: [read(*slices[0])] if len(slices) == 1 else (read(a, b) for a, b in slices)}
        else:
            rows = self.mon.typed_rows_of(reads, None)
        labels = {}
        if has_labels:  # a store with no label at all (from metadata) joins nothing
            for model, _, start, end, _ in pieces:
                frame = self.mon.wh.frame("model_labels", {"model": model, "since": start - US, "until": end - US,
                                                           "environment": None})
                labels[model] = frame if frame.height else None
        return rows, labels

    def _write(self, pieces: list[tuple[str, ro.ModelSpec, datetime, datetime, int]], rows: dict,
               labels: dict) -> None:
        """Each piece's hours summarised from its rows (`_read`) and written."""
        for model, spec, start, end, _ in pieces:
            tables = rs.build_rollups(rows.pop(model), labels.get(model), {model: spec})
            tables.setdefault(model, ro.empty_table(spec))  # an hour with no rows supersedes what was there
            ro.write({model: tables[model]}, self.path, start, end)
            self.built.append((model, start, end))

    def _build_columns(self, model: str, spec: ro.ModelSpec, labelled: bool = True) -> list[str]:
        """The raw columns a build of `model` reads: the contract, the spec's features and segments, and the cached
        tokens its cost prices (as the raw cost path reads them). `_read` reads them and `catch_up_all` sizes its
        pieces by their count, so the two cannot disagree on a piece's width. Without labels in the store
        (`labelled` False) `request_id`, which only joins them, is not read: a distinct string a row, 8% of a read."""
        from console.monitoring import CONTRACT_COLUMNS

        priced = [c for c in self.mon.attributes(model) if c == "cached_tokens"]
        contract = [c for c in CONTRACT_COLUMNS if labelled or c != "request_id"]
        return list(dict.fromkeys([*contract, "error", *spec.numeric, *spec.categorical, *spec.segments, *priced]))

    def _pull(self, refreshes: int) -> None:
        """Rollups kept in S3 or on a read-only mount (built by Spark or a side box) are pulled into the mirror once per store
        refresh; what this process builds for hours they lack stays in the mirror. A failure is a note: the
        mirror's rollups and raw rows still give the scores."""
        if self.remote is None or self._pulled_at == refreshes:
            return
        self._pulled_at = refreshes
        try:
            rollup_remote.pull(self.remote, self.path, rollup_remote.storage_of(self.mon.cfg), prune=False)
            self.note = ""
        except Exception as exc:  # noqa: BLE001 - sources.s3's one-line error naming the path
            self.note = f"rollups in {self.remote} not read: {exc}"

    def catch_up(self, model: str, start: datetime, end: datetime,
                 labels: bool = False) -> list[tuple[datetime, datetime]]:
        """Brings the rollups of the hours [start, end) up to date with the store (with `labels`, also with
        the labels that landed since an hour was built); the ranges it built (`catch_up_all` of one model)."""
        return self.catch_up_all([(model, start, end, labels)])[0]

    def catch_up_all(self, asks: list[tuple[str, datetime, datetime, bool]]) -> list[list[tuple[datetime, datetime]]]:
        """`catch_up` of several (model, start, end, labels), one per model: the ranges each built. The stale hours
        of all of them are built from shared reads (`_read`, then `_write`: a rule pass's models have the same hour
        that closed).

        What was verified is keyed by the store's content (`rollup_changes`), so after a refresh only the hours
        whose files changed are counted again, and a refresh that brought nothing costs no count at all."""
        refreshes = self.mon.wh.refreshes
        out: list[list[tuple[datetime, datetime]]] = [[] for _ in asks]
        todo = []
        for i, (model, start, end, labels) in enumerate(asks):
            key = (model, "labels") if labels else model
            # rollups pulled from S3 may change with each pull, so each refresh's pull is checked as before
            extra = (("pull", refreshes),) if self.remote is not None else ()
            content = self._versions.content(self.mon.wh, ("predictions", "labels") if labels else ("predictions",),
                                             extra)
            seen = self._verified.get(key)
            moved: list[datetime] = []  # hours whose rollup file changed since a kept record verified them
            if seen is None and self.remote is None:
                seen, moved = self._kept_record(model, key, start, end)
            if seen is not None and not moved and seen[0] == content and seen[1] <= start and end <= seen[2]:
                self._verified[key] = seen
                continue
            check = sorted(set(_to_check(seen, content, start, end)) | set(moved))
            todo.append((i, model, key, content, seen, check, _rewritten(seen, content, start, end)))
        if not todo:
            return out
        self.path.mkdir(parents=True, exist_ok=True)
        self._pull(refreshes)
        lock = ro.build_lock(self.path)  # the `rollup` command's too
        try:
            lock.acquire(timeout=LOCK_WAIT_S)
        except filelock.Timeout:
            lock = None  # another process is stuck building: build the same hours too (the newest file wins)
        try:
            pieces = []  # (index of the ask, spec, start, end, values): at most BUILD_CHUNK and BUILD_CELLS each
            labelled = None  # whether the store holds any label: asked once, when some hour is to be built
            for i, model, _, _, _, check, rewritten in todo:
                spec, labels = self.spec(model), asks[i][3]
                ranges = ro.hour_ranges(check)
                self.checked += [(model, a, b) for a, b in ranges]
                empty: set[datetime] = set()
                stale = {h: n for a, b in ranges
                         for h, n in self._stale_hours(model, spec, a, b, labels, rewritten, empty).items()}
                if stale and labelled is None:
                    labelled = bool(self.mon.wh.counts()[1])
                width = len(self._build_columns(model, spec, bool(labelled)))
                pieces += [(i, spec, a, b, n) for a, b, n in _pieces({h: n * width for h, n in stale.items()}, empty)]
            # pieces of distinct models read together while they fit one read (`_fits`: bounds memory)
            groups: list[list] = []
            group: list = []
            for piece in sorted(pieces, key=lambda p: (p[2], p[0])) + [None]:
                if group and (piece is None or any(asks[g[0]][0] == asks[piece[0]][0] for g in group)
                              or not _fits(group, piece)):
                    groups.append(group)
                    group = []
                if piece is not None:
                    group.append(piece)
            has_labels = bool(groups) and (bool(self.mon.wh.counts()[1]) if labelled is None else labelled)
            builds = [[(asks[i][0], spec, t, e, n) for i, spec, t, e, n in g] for g in groups]
            ahead = sum(p[4] for p in pieces) > READ_AHEAD_CELLS
            for group, (build, read) in zip(groups, _read_ahead(lambda b: self._read(b, has_labels), builds, ahead)):
                self._write(build, *read)
                for i, _, t, e, _ in group:
                    out[i].append((t, e))
            # The whole days now known current are merged into day rows once (`store_rollups.compact_range`),
            # so a month is read as ~30 rows per key, not ~720, here as after the `rollup` command.
            for i, model, *_ in todo:
                ro.compact_range(self.path, model, asks[i][1], asks[i][2])
        except OSError as exc:  # the folder took its probe and then filled: the reads go raw (`Monitor`)
            if exc.errno in FULL:
                raise FolderFull(self.path, os.strerror(exc.errno)) from exc
            raise
        finally:
            if lock is not None:
                lock.release()
        for i, model, key, content, seen, _, _ in todo:
            start, end = asks[i][1], asks[i][2]
            if seen is not None and start <= seen[2] and seen[1] <= end and not [
                    h for h in _to_check(seen, content, seen[1], seen[2]) if not start <= h < end]:
                # one stretch known good for this content: the old one's hours outside this ask were verified for
                # the old content, so they join only when no change since touches them (a `snapshot` after a late
                # file in an older day marked that day verified unread, and a 30-day read then missed its rows)
                start, end = min(start, seen[1]), max(end, seen[2])
            self._verified[key] = (content, start, end)
            if self.remote is None:
                self._keep_record(model, key, content, start, end)
        return out

    # What a catch-up verified is kept in the rollup folder too (`VERIFIED`), so a new process (each CLI command,
    # a TUI started again) does not count the whole window against the store before its first read (0.5-1 s for
    # a month at 10M-100M rows, plus a footer read per log file): the record names the store's files with their
    # footers' time ranges (`rollup_changes.encode`), the hours verified and the rollup file that won each of them.
    # A file added, removed or rewritten since is counted for its hours as within a process (`_to_check`), an hour
    # whose rollup file is another now (a rebuild by another process) is counted again.

    def _record_path(self, key) -> Path:
        model, labels = (key[0], True) if isinstance(key, tuple) else (key, False)
        return self.path / VERIFIED / (ro._model_dir(self.path, model).name + (".labels" if labels else "") + ".json")

    def _kept_record(self, model: str, key, start: datetime, end: datetime) -> tuple[tuple | None, list[datetime]]:
        """(content, from, to) of the kept record and the hours of [start, end) inside it whose winning rollup file
        changed since; (None, []) without a readable record."""
        try:
            rec = json.loads(self._record_path(key).read_text(encoding="utf-8"))
            content = rc.decode(rec["content"])
            a, b = datetime.fromisoformat(rec["from"]), datetime.fromisoformat(rec["to"])
            then = {datetime.fromisoformat(h): w for h, w in rec["winners"]}
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None, []
        if rec.get("wanted") != self._wanted(model, key):  # the configuration changed what an hour must hold
            return None, []
        rc.prime(self._versions, content)
        lo, hi = max(a, start), min(b, end)
        now = self._winning(model, lo, hi) if hi > lo else {}
        moved = [h for h in _hours(lo, hi) if now.get(h) != then.get(h)]
        return (content, a, b), moved

    def _wanted(self, model: str, key) -> list[str]:
        """What a record's verification depended on besides the store: the spec the hours were checked for (a
        feature added to the configuration makes every hour thin) and the columns they had to hold."""
        spec = self.spec(model)
        return [repr(spec), *sorted(_holds(spec)), *(["labels"] if isinstance(key, tuple) else [])]

    def _winning(self, model: str, start: datetime, end: datetime) -> dict[datetime, str]:
        """The rollup file that wins each hour of [start, end), as its generation, size and mtime (a file is never
        rewritten under its name by the console, but a copy or a restore may be)."""
        listed = {f.generation: f for f in ro.files(self.path, model)}
        out, stats = {}, {}
        for h, gen in ro._winners(list(listed.values()), start, end).items():
            if gen not in stats:
                try:
                    st = listed[gen].path.stat()
                    stats[gen] = f"{gen}:{st.st_size}:{st.st_mtime_ns}"
                except OSError:
                    stats[gen] = None
            out[h] = stats[gen]
        return out

    def _keep_record(self, model: str, key, content: rc.Content, start: datetime, end: datetime) -> None:
        parts = rc.encode(content)
        if parts is None:
            return
        winners = self._winning(model, start, end)
        rec = {"content": parts, "from": start.isoformat(), "to": end.isoformat(), "wanted": self._wanted(model, key),
               "winners": [[h.isoformat(), w] for h, w in sorted(winners.items())]}
        path = self._record_path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_private(path, json.dumps(rec, separators=(",", ":")))
        except OSError:  # a read-only folder: the next process counts again
            pass

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


def _holds(spec: ro.ModelSpec) -> set[str]:
    """The columns an hour's rollup file must hold for this spec, else it is rebuilt (`_stale_hours`)."""
    return {f"num__{f}" for f in spec.numeric} | {f"cat__{f}" for f in spec.categorical} | set(ro.ADDED)


def _size(piece) -> int:
    """Bytes held by a kept piece: a frame, or a tuple of numpy arrays (`rollup_cost`'s running sums)."""
    if isinstance(piece, pl.DataFrame):
        return piece.estimated_size()
    return sum(getattr(x, "nbytes", 0) for x in piece)


def _to_check(seen: tuple | None, content: rc.Content, start: datetime, end: datetime) -> list[datetime]:
    """The hours of [start, end) to count again: all of them unless `seen` (content, from, to) was verified;
    else those outside what it covered, and those inside that a changed file's time range touches. Labels
    change the hours of the predictions they join, which their own times do not say: a changed label file
    makes every hour one to count (`Content.changed` gives None)."""
    hours = _hours(start, end)
    if seen is None:
        return hours
    changed = seen[0].changed(content) if seen[0] != content else []
    if changed is None:
        return hours
    spans = [(floor_hour(lo), hi) for lo, hi in changed]
    return [h for h in hours if not seen[1] <= h < seen[2] or any(lo <= h <= hi for lo, hi in spans)]


def _newest(df: pl.DataFrame, by: str) -> dict[datetime, datetime | None]:
    """Per value of `by` (an hour), the newest `ro.LABEL_TS` of `df`'s rows, as naive UTC (None: no time known)."""
    col = pl.col(ro.LABEL_TS)
    if getattr(df.schema[ro.LABEL_TS], "time_zone", None):
        col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return dict(df.group_by(by).agg(col.cast(pl.Datetime("us")).max()).iter_rows())


def _same_sum(a: float, b: float) -> bool:
    """Two sums of the same float32 values, added in another order."""
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def _rewritten(seen: tuple | None, content: rc.Content, start: datetime, end: datetime) -> frozenset:
    """The hours of [start, end) that a prediction file rewritten in place since `seen` was verified covers
    (`Content.rewritten`): rebuilt, not counted, since a corrected file of as many rows leaves every count equal
    and the hour would keep the sketches of the rows it replaced. A file added or removed moves its hours'
    counts, which `_to_check` and `_stale_hours` compare."""
    if seen is None or seen[0] == content:
        return frozenset()
    spans = seen[0].rewritten(content)
    hours = _hours(start, end)
    if spans is None:
        return frozenset(hours)
    return frozenset(h for h in hours if any(floor_hour(lo) <= h <= hi for lo, hi in spans))


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

