"""The rules over a long history from the hourly rollups: `check`, the incident list and the Overview's
incidents past `Monitor.rollups_after` rows, without reading the history's raw rows.

The same `analytics.evidence.Evaluation` lists the raw path makes go to the same `_to_findings`
(`incident_rules.RuleEvaluator`), so findings, onsets, suspects and the JSON are one definition; only where the
numbers come from differs. The evaluations of windows of closed hours are kept beside the rollups (`rule_memo`),
so a pass evaluates again only the windows that reach into the open hour or hours rebuilt since.

A window is a list of `rollup_parts.Part`s: rollup hours, and raw pieces at its ends. Windows are aligned to hours: a rule's window is rounded up to whole hours, and every window but the latest
ends on the raw path's fixed grid (`evidence.grid`: multiples of the step, whole hours, from the epoch), so it is
a union of whole rollup hours and the same window on every pass. The latest window ends at `now`, as on the raw
path: the hours it holds whole come from rollups, the open hour
and the hour its start cuts from raw rows; so is the history's first, partial hour. A window short of its
evidence grows back by whole hours (the raw path grows it by rows), cut at the row in the hour that takes it to
its `min_rows` served (a quality rule's: labelled) rows (`_cut`), so it holds the raw path's last `min_rows` rows.

What each rule reads:
- error_rate: error and row counts (exact). p95_ms: the hours' latency sketches as one distribution
  (`sketches.Dist.union`), linearly interpolated as Polars' quantile; burn_rate: the share slower than the
  SLO from the same distribution. Either, when the threshold lies within the sketch's rank error of the
  value, is computed again exactly from that one window's raw latencies (a verdict never rests on noise).
- refusal_rate: no rollup column holds refusals; a narrow raw read of `ts` and `refused`.
- drift_share / feature_drift (`rollup_rules_drift.DriftRules`, a mixin of `RollupRules`): each window's hours merged (`RollupDrift`'s `Current` and `_score`, the
  Drift screen's scoring), served rows only: a shadow's mirrored requests are left out of the sketches and of the
  rows a window is grown to (`health.served`, as on the raw path); a feature whose sketch verdict is borderline, or whose test needs raw values,
  is scored exactly on a projected raw read of that feature in that window; so is a score an incident compares
  with another (the feature that moved most, the onset) when their bounds overlap (`exact_drift`). A model with
  fewer rows in the whole history than a verdict needs reaches back up to `SPARSE_REACH` for them as on the raw
  path, with its reading (`sparse_drifts`: a quiet model's rows are few).
- accuracy_drop / mae_increase: labelled, correct, error-sum and squared-error-sum counts (exact), after the
  hours whose labelled count changed are rebuilt (`catch_up(labels=True)`, as `rollup_quality`). At a past
  `now` (`check --at T`) an hour counting a label logged after it (`store_rollups.labels_after`) is counted
  again from a narrow raw read joined with the labels logged by `now`, as the raw path joins them. A history
  with fewer labelled rows than a verdict needs reaches back up to `SPARSE_REACH` for them as on the raw path,
  with its reading (`sparse_labels`, `RuleEvaluator._reaching`).
- cost_budget_share: hourly spend (`rollup_cost.parts`, exact) with the open hour and the hour the pace
  window cuts raw; evaluations at now and on the `DRIFT_STEP` grid before it.
- cost_spike: serving traffic's cost and requests per hour and version (or prompt version); a change is
  located to its hour, so an hour holding two versions is ordered previous-first.
- stale_minutes: the newest row (`last_seen`) and the history's `ts` column alone (the usual gap).
- segments: a narrow raw read of the history's label-joined rows (segment columns, prediction, label): the
  rollups' segment rows lack the error terms the Welch test needs.
- The onset's change point and suspects read raw rows of the first breaching window and the one before it
  (and a day before for prompt changes), narrow: never the history. A drift onset reads one feature's rows over
  those and the day before them (`incident_rules.RuleEvaluator._departed`), as the raw path reads them.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from console import rollup_spec, rule_memo
from console import store_rollups as ro
from console.analytics import alerts as al
from console.analytics import cost as co
from console.analytics import drift as dr
from console.analytics import evidence as ev
from console.analytics import health as he
from console.analytics import quality as qu
from console.analytics import sketches as sk
from console.rollup_drift import US, Current, floor_hour
from console.rollup_parts import (DRIFT, ENV, HOUR, RATE, Part, Window, _each_hour, _part_hour, _span, _with_on_hour,
                                  ceil_hour)
from console.rollup_rules_drift import DriftRules

RATE_METRICS = ("p95_ms", "error_rate", "burn_rate")
CUT_COLUMNS = ["ts", "variant", "is_error", "latency_ms"]  # what a rate window's cut piece is counted from (`_cut`)
LABELLED, WITH_PREDICTION = "labelled", "scored"  # quality windows cut at the labelled rows (MAE), or those with a
# prediction too (accuracy, `Window.scored`): the piece has their label counts
SCORED = ("cls_tp", "cls_fp", "cls_fn", "cls_tn")  # `quality.count_aggs`: labelled rows with a prediction, by class
WANTED = ["segment", "environment", "version", "variant", "rows", "errors", "latency_kll", "labelled",
          "cls_correct", *SCORED, "reg_n", "reg_abs_sum", "reg_sq_sum", ro.LABEL_TS, ro.ON_HOUR]
SPAN_READ_ROWS = 200_000  # a span of cut hours read whole when it holds at most this many rows (`_span_read`)
LABEL_COLUMNS = ["ts", "request_id", "prediction", "prediction_num", "variant"]  # what an hour's label counts are made of
ONSET_COLUMNS = ["ts", "model", "variant", "request_id", "prediction", "prediction_num", "latency_ms", "is_error"]


class RollupRules(DriftRules):
    """One model's history (since, now] as hour parts from rollups and raw pieces at its ends."""

    def __init__(self, mon, model: str, since: datetime, now: datetime, labels: bool = False,
                 drift: bool = False, load: bool = True):
        """`load=False` leaves the rollups to `load()`: a rule pass names every model's edge hours first
        (`prefetch`), then loads and evaluates one model at a time, so one model's hours are held at once."""
        self.mon, self.model, self.since, self.now = mon, model, since, now
        self.grid_since = since  # the history the grid's step is set by (`windows`); a look-back's keeps the history's
        self.grid_until = now  # and its end: a look-back's probe ending before `now` keeps the history's step
        ref = mon.reference(model) if drift else None
        self.features = list(ref.columns) if ref is not None else []  # raw pieces are sketched for drift too
        self.mc = mon.model_config(model)
        self.drift = mon.sketch_drift
        self.h0, self.h1 = ceil_hour(since), floor_hour(now)
        self.labels = labels
        self._table: pl.DataFrame | None = None
        self._hours: dict[datetime, Part] = {}
        self._raw: dict[tuple, Part] = {}
        self._raw_hours: dict[tuple, pl.DataFrame] = {}  # (a, b] of whole hours read raw -> their rows
        self._fetched: tuple[pl.DataFrame | None, set[datetime]] = (None, set())  # `prefetch`'s rows and hours
        self.gens: dict[datetime, int] = {}  # hour -> generation of the rollup file that wins it
        self.memo = rule_memo.Memo(ro._model_dir(self.drift.path, model) / rule_memo.NAME)
        self._drift_fp: list | None = None
        self._sparse: dict[tuple, tuple[list, dict]] = {}  # `sparse_drifts`
        self._exact_rows: dict[tuple, pl.DataFrame] = {}  # a window's raw rows by its span (`_exact_columns`)
        self._exact: dict[tuple, dr.ColumnDrift] = {}  # (span, column, id of the reference) -> its exact drift
        self._cut_rows: dict[datetime, pl.DataFrame] = {}  # hour -> its rows (h, h + 1h], narrow (`_read_cuts`)
        self._cut_kept: dict[tuple, tuple] = {}  # (a, b, cut) -> `_cut_frames`
        self._cut_parts: dict[tuple, Part] = {}  # (a, b, cut, t) -> `_cut`'s piece
        self._sums: tuple | None = None  # (by, running sums of it per hour from h0): `_whole_hours_back`
        if load:
            self.load()

    def load(self) -> None:
        """The history's whole hours from the rollups, caught up with the store first."""
        model, since, labels, now = self.model, self.since, self.labels, self.now
        if self.h1 > self.h0:
            self.drift.catch_up(*self._catch_up_ask())  # found verified after a pass's `catch_up_all`
            self.gens = ro._winners(ro.files(self.drift.path, model), floor_hour(since), self.h1)
            table = ro.read_table(self.drift.path, model, self.h0, self.h1, columns=WANTED)
            if table is not None and table.num_rows:
                df = pl.from_arrow(table).filter(pl.col("segment").is_null() & (pl.col("environment") == ENV))
                for c in ("cls_correct", "reg_n", "reg_abs_sum", "reg_sq_sum", "labelled", *SCORED):
                    if c not in df.columns:
                        df = df.with_columns(pl.lit(0).alias(c))
                self._add_hours(_with_on_hour(df))
                if labels:  # a past `now`: hours counting labels logged after it are counted again as of now
                    self._labels_as_of(sorted(ro.labels_after(df, now, self.gens)))
        for h in _each_hour(self.h0, self.h1):
            self._hours.setdefault(h, Part(h, h + HOUR))

    def _catch_up_ask(self) -> tuple[str, datetime, datetime, bool]:
        """What `load` catches up: from the hour `since` cuts (its rollup, kept current too, names the history's
        first raw piece) to the open hour, with labels when a quality rule reads them."""
        return self.model, floor_hour(self.since), self.h1, self.labels

    @staticmethod
    def catch_up_all(sources: list["RollupRules"]) -> None:
        """The catch-up each model's `load` starts with, of every model of a pass at once
        (`RollupDrift.catch_up_all`: the hour that closed is read in one scan for all models, not once per model);
        each `load` then finds its hours verified."""
        asks = [src._catch_up_ask() for src in sources if src.h1 > src.h0]
        if asks:
            sources[0].drift.catch_up_all(asks)

    def _add_hours(self, df: pl.DataFrame) -> None:
        served = he.served_expr()  # the rates count what users met, as the raw path (`incident_rules._evaluate`)
        df = df.with_columns(_part_hour()).filter(pl.col("part") >= self.h0)  # `since`'s own instant is not in
        sums = df.group_by("part").agg(pl.col("rows").sum(), pl.col("errors").filter(served).sum(),
                                       # accuracy and MAE too: a shadow's labelled mirrored requests are not the model's
                                       pl.col("labelled").filter(served).sum(),
                                       pl.col("cls_correct").filter(served).sum(), pl.col("reg_n").filter(served).sum(),
                                       pl.col("reg_abs_sum").filter(served).sum(), pl.col("reg_sq_sum").filter(served).sum(),
                                       pl.sum_horizontal(*SCORED).filter(served).sum().alias("scored"),
                                       pl.col("latency_kll").filter(served).alias("kll"),
                                       pl.col("rows").filter(served).sum().alias("served"))
        for r in sums.iter_rows(named=True):
            h = r["part"]
            self._hours[h] = Part(h, h + HOUR, int(r["rows"]), int(r["errors"]), None,
                                  int(r["labelled"] or 0), int(r["cls_correct"] or 0), int(r["reg_n"] or 0),
                                  float(r["reg_abs_sum"] or 0.0), float(r["reg_sq_sum"] or 0.0),
                                  kll=[b for b in r["kll"] if b is not None], served=int(r["served"] or 0),
                                  scored=int(r["scored"] or 0))

    # ------------------------------------------------------------------ raw pieces

    def _raw_columns(self) -> list[str]:
        """Every column a rule reads of raw rows (its rates, labels, drift features, cost)."""
        attrs = self.mon.attributes(self.model)
        cols = ["ts", "is_error", "latency_ms", *(["request_id", "prediction", "prediction_num"] if self.labels
                                                 else []), *self.features,
                *[c for c in co.COST_INPUTS if c in ("model", "version", "variant", "input_tokens", "output_tokens",
                                                     "cost_usd") or c in attrs]]
        return list(dict.fromkeys(cols))

    def edge_hours(self, spans: list[timedelta]) -> set[datetime]:
        """The raw hours the rules will cut: the open hour, the history's first hour and the hour each span's
        latest window starts in."""
        hours = {self.h1} if self.h1 < self.now else set()
        if self.since < self.h0:
            hours.add(floor_hour(self.since))
        for s in spans:
            lo = max(self.now - s, self.since)
            if lo < self.h1:
                hours.add(floor_hour(lo))
        return hours

    @staticmethod
    def prefetch(sources: list[tuple["RollupRules", list[timedelta]]]) -> None:
        """Reads in one scan the raw edge hours (`edge_hours`) of every model of a pass (`Monitor.typed_rows_of`
        over the models' ranges, each model's own columns, split by model). Read one at a time, each decoded a
        whole row group of the store (a day's at a million rows a week), and they were most of a pass after a
        change of the rows; read a model at a time, the models' same hours decoded the same row groups once per
        model. An hour not named here is still read when a rule asks for it (`raw_rows`)."""
        reads, hours_of = {}, {}
        for src, spans in sources:
            hours = src.edge_hours(spans)
            # contiguous hours as one (a, b] range each with the next hour's first instant (a part's, `Part`), the
            # open hour's ending at now
            ranges = [(a - US, min(b, src.now)) for a, b in ro.hour_ranges(hours)]
            if ranges:
                reads[src.model] = (src._raw_columns(), ranges)
                hours_of[src.model] = (src, hours)
        if not reads:
            return
        frames = sources[0][0].mon.typed_rows_of(reads, ENV)
        for model, (src, hours) in hours_of.items():
            src._fetched = (frames[model], hours)

    def share_fetched(self, other: "RollupRules") -> None:
        """`other`'s `prefetch` rows for this view of the same model and columns (a look-back's longer history,
        `RuleEvaluator._rollup_earlier`): its window ending at the history's first grid point cut the hour the
        pass had read, and read that hour's last instant again, one query per model (~50 ms at a million rows)."""
        if other.model == self.model and other._raw_columns() == self._raw_columns():
            self._fetched = other._fetched

    def _prefetched(self, a: datetime, b: datetime) -> pl.DataFrame | None:
        """`prefetch`'s rows when they hold all of (a, b] (its hours, each with the next hour's first instant)."""
        fetched, hours = self._fetched
        if fetched is None or b > self.now:
            return None
        h, last = floor_hour(a + US), floor_hour(b - US)  # b on an hour: its first instant is read with the hour before
        if h > last:  # (b - 1 us, b]: an hour's first instant alone, read with that hour or the one before
            return fetched if b in hours or b - HOUR in hours else None
        return fetched if all(x in hours for x in _each_hour(h, last + HOUR)) else None

    def raw_rows(self, a: datetime, b: datetime) -> pl.DataFrame:
        """Raw rows in (a, b] with every column a rule reads of them. From the hours `prefetch` read when it
        read them all; else read a whole hour at a time and kept, so the rules that cut the same edge hour share
        one read of it."""
        fetched = self._prefetched(a, b)
        if fetched is not None:
            return fetched.filter((pl.col("ts") > a) & (pl.col("ts") <= b))
        # whole hours with the next one's first instant (a part ending on an hour reads no other hour for it)
        lo, hi = floor_hour(a + US), min(floor_hour(b - US) + HOUR, max(b, self.now))
        frame = next((f for (x, y), f in self._raw_hours.items() if x <= lo - US and hi <= y), None)
        if frame is None:
            frame = self.mon.typed_rows(self.model, lo - US, hi, ENV, columns=self._raw_columns())
            self._raw_hours[(lo - US, hi)] = frame
        return frame.filter((pl.col("ts") > a) & (pl.col("ts") <= b))

    def raw(self, a: datetime, b: datetime) -> Part:
        """Rows in (a, b] read raw (`raw_rows`) and summed and sketched as a rollup hour is (kept: the windows
        share the open hour and the history's edge)."""
        key = (a, b)
        if key in self._raw:
            return self._raw[key]
        p = Part(a, b, raw=True)
        if b > a and not self._before_oldest(b):
            self._summed(p, self.raw_rows(a, b), labels=self.labels, features=bool(self.features))
        self._raw[key] = p
        return p

    def _summed(self, p: Part, rows: pl.DataFrame, labels: bool, features: bool) -> Part:
        """`p` counted and sketched from its raw rows as a rollup hour is: served rows' errors and latency, with
        their label counts and drift summary when asked (a rate window's cut piece needs neither; a quality one's
        has its label counts from `_cut`'s join)."""
        p.rows = rows.height
        if rows.height:
            users = he.served(rows)
            p.served = users.height
            p.errors = int(users.get_column("is_error").cast(pl.Int64).fill_null(0).sum())
            p.latency = sk.Dist.of(users.get_column("latency_ms")) if users.height else None
            if labels:
                self._raw_labels(p, users)
            if features:
                spec = self.drift.spec(self.model)
                p.cur = Current()  # the served rows' features, as the rollup hours' (`Current.of_table`)
                p.cur.add_rows(ro.typed(users.select(["ts", *self.features]), spec),
                               [f for f in self.features if f in spec.numeric],
                               [f for f in self.features if f in spec.categorical])
        return p

    def _before_oldest(self, b: datetime) -> bool:
        """Whether (a, b] ends before the store's oldest row (`Warehouse.oldest`, from its files' ts spans: no row
        read), so a raw piece of it is empty unread. A look-back's longer history (`_look_back`, every pass at a
        new `--at`) starts up to twice the history before `now`: on a store younger than that its first piece was
        a read of every file's footers for no row, 40 ms a model and probe. No bound known (a lake, a ts of
        text): read, as before."""
        try:
            oldest = self.mon.wh.oldest()
        except Exception:  # noqa: BLE001 - no bound known: the piece is read
            return False
        return oldest is not None and b < oldest

    def _raw_labels(self, p: Part, rows: pl.DataFrame) -> None:
        joined = self.mon.joined(self.model, rows, p.a, self.now)  # labels logged up to now count
        _set_labels(p, joined.select(self._label_aggs()).row(0, named=True))

    def _label_aggs(self) -> list[pl.Expr]:
        task = "classification" if self.mc.task == "llm" else self.mc.task
        return qu.count_aggs(task, self.mc.positive_label)

    def _labels_as_of(self, hours: list[datetime]) -> None:
        """The label counts of rollup hours that count labels logged after `now` (`store_rollups.labels_after`:
        a view of a past time), counted again from one narrow raw read of those hours joined with the labels
        logged up to `now`, as the raw path counts them; their other numbers stay the rollups'."""
        # an hour's rollup rows count in its part and (its first instant's) in the part before (`Part`)
        parts = sorted({p for h in hours for p in (h, h - HOUR) if p in self._hours and not self._hours[p].raw})
        if not parts:
            return
        # each part (h, h + 1h]; the last closed one's end instant is the open hour's, read raw apart (`_between`)
        ranges = [(a, b if b < self.h1 else b - US) for a, b in ro.hour_ranges(parts)]
        rows = self.mon.typed_rows(self.model, ranges[0][0], ranges[-1][1], ENV, columns=LABEL_COLUMNS,
                                   ranges=ranges)
        joined = self.mon.joined(self.model, he.served(rows), ranges[0][0], self.now)
        per = {r.pop("h"): r for r in joined.group_by((pl.col("ts") - US).dt.truncate("1h").alias("h"))
               .agg(self._label_aggs()).iter_rows(named=True)}
        for h in parts:
            _set_labels(self._hours[h], per.get(h, {}))

    # ------------------------------------------------------------------ windows

    def windows(self, span: timedelta, min_rows: int, step: timedelta | None = None, by=lambda w: w.rows,
                limit: int = 168, cut: str | None = None) -> list[Window]:
        """Windows ending at now and on the raw path's grid before it (`evidence.grid`: every `step`, whole hours,
        counted from the epoch, so a closed window is the same on every pass and its kept evaluation is found
        again), each over `span` rounded up to hours and grown back by whole hours until `by` of it reaches
        `min_rows`; one whose own span holds no row starts where the last window with rows started, as on the raw
        path (`evidence.carried_from`). `cut` (`RATE` or `DRIFT`, `by` served rows): the hour a window grows back
        into last is cut at the row, so the window holds the raw path's last `min_rows` served rows (`_cut`), a
        drift window's piece with their features. Oldest first."""
        step = ev.grid_step(span, self.grid_since, self.grid_until, step, limit)
        span_h = ev.whole_hours(span)
        ends = ev.grid(self.now, step, ev.grid_after(self.since, self.now, span, step))
        if cut:
            self._read_cuts([(hi - span_h, hi) for hi in ends[:-1]], min_rows, cut, by)
        out = [self._grow(self._own(Window(max(hi - span_h, self.since), hi, self._between(hi - span_h, hi)), by,
                                    span_h), min_rows, by, cut) for hi in ends[:-1]]
        out += [self._latest(span, min_rows, by, cut)] if ends else []
        return [w if j is None else self._carried(out[j], w) for w, j in zip(out, ev.carried_from([w.own for w in out]))]

    def _carried(self, last: Window, w: Window) -> Window:
        """`w` (no row of its own span) over (last.lo, w.hi]: the rows of `last`, the latest window with rows, and
        the (empty) hours after it."""
        tail = [self.raw(self.h1, self.now)] if w.hi == self.now and self.h1 < self.now else []
        more = self._between(last.hi, min(w.hi, self.h1)) + tail if last.hi < w.hi else []
        parts = list(last.parts) + [p for p in more if all(p is not q for q in last.parts)]
        return Window(last.lo, w.hi, parts, own=w.own, span=w.span)

    @staticmethod
    def _own(w: Window, by, span: timedelta) -> Window:
        """`w` with its count before growing (`Window.own`): a window of none grew back to rows judged before
        (`evidence.no_new_rows`)."""
        w.own, w.span = by(w), span
        return w

    def _between(self, lo: datetime, hi: datetime) -> list[Part]:
        """(lo, hi] (both on hours) as the parts of the hours [lo, hi), the history's raw first piece when lo
        reaches it, and, when hi is the open hour's start, the rows on its first instant, read raw: no rollup of
        the open hour holds them (the latest window's `tail` starts after them)."""
        parts = [self._hours[h] for h in _each_hour(max(lo, self.h0), min(hi, self.h1)) if h in self._hours]
        if lo <= self.since < self.h0 and hi > self.since:
            parts.insert(0, self.raw(self.since, min(self.h0, self.now)))
        if lo < hi == self.h1 and self.h0 < self.h1:  # (h0 == h1: the first piece ends on it, or since is it)
            parts.append(self.raw(self.h1 - US, self.h1))
        return parts

    def _latest(self, span: timedelta, min_rows: int, by, cut: str | None = None) -> Window:
        """(now - span, now]: its whole hours from rollups, the hour its start cuts and the open hour raw."""
        lo = max(self.now - span, self.since)
        tail = [self.raw(self.h1, self.now)] if self.h1 < self.now else []  # (the open hour's first instant: `_between`)
        if lo >= self.h1:  # the window lies inside the open hour
            w = Window(lo, self.now, [self.raw(lo, self.now)])
            whole = Window(self.h1, self.now, tail)
        else:
            first = ceil_hour(lo)  # (not `cut`: the parameter says whether the growth is cut at the row)
            edge = [self.raw(lo, first)] if lo < first else []
            w = Window(lo, self.now, edge + self._between(first, self.h1) + tail)
            start = floor_hour(lo)
            whole = Window(max(start, self.since), self.now, self._between(start, self.h1) + tail)
        own = by(w)  # of (now - span, now], before the hour its start cuts is taken whole
        if own < min_rows and lo > self.since:  # grown back by whole hours, the cut one first
            w = self._grow(w if cut else whole, min_rows, by, cut)
        w.own, w.span = own, span
        return w

    def _grow(self, w: Window, min_rows: int, by, cut: str | None = None) -> Window:
        """`w` grown back by whole hours until `by` of it reaches `min_rows`; with `cut`, the hour that would
        take it to them or past is cut at the row (`_cut`): the raw path's window of the last `min_rows` served
        rows (an hour of exactly those is cut too: the raw window starts at its first row, not at the hour), and
        a window the history cannot fill keeps its own span, as the raw path grows one only when the rows since the
        history's start hold `min_rows` (`evidence._grown`: "216 rows, needs 500" raw; grown to `since`, 273)."""
        lo, own = w.lo, len(w.parts)
        # Kept as running sums (every `by` sums its parts' counts): a quiet model's hourly window grows back
        # hundreds of hours, and summing and scanning its parts again at each hour made a `check` over a few months
        # of 40 rows a day take 45 s of CPU (quadratic in the hours grown, for each of the history's windows).
        have, held, grown = by(w), {id(p) for p in w.parts}, []
        while have < min_rows and lo > self.since:
            block = self._whole_hours_back(lo, min_rows - have, by, held)
            if block:  # the hours before the one that reaches `min_rows`, at once: each would be taken whole
                grown.append(block)
                held.update(id(p) for p in block)
                have += by(Window(block[0].a, lo, block))
                lo = block[0].a
                continue
            a = max(floor_hour(lo - US), self.since)  # the hour before lo (or, lo inside an hour, that hour's start)
            earlier = self._between(a, lo) if lo == ceil_hour(lo) else [self.raw(a, lo)]
            earlier = [p for p in earlier if id(p) not in held]
            more = by(Window(a, lo, earlier))
            if cut and more >= min_rows - have:
                piece = self._cut(a, lo, min_rows - have, cut)
                if piece is not None:
                    grown.append([piece])
                    have += by(Window(piece.a, lo, [piece]))
                    lo = piece.a
                    break
            lo = a
            grown.append(earlier)
            held.update(id(p) for p in earlier)
            have += more
        w.parts[:0] = [p for block in reversed(grown) for p in block]
        if cut and have < min_rows:
            w.parts = w.parts[len(w.parts) - own:]
        else:
            w.lo = lo
        return w

    def _whole_hours_back(self, lo: datetime, need: int, by, held: set[int]) -> list[Part]:
        """The rollup hours just before `lo` that `_grow`'s loop would take one by one, each whole, before the hour
        that brings `need` more (which it handles itself: it may be cut): in the history's middle, where an
        hour's parts are its rollup's alone (`_between`'s raw first piece and open-hour instant lie outside it).
        Found by bisection on running sums of `by` per hour, kept for the `by` of a `windows` call. Empty near
        the history's ends, at a `lo` inside an hour, or when a part is held already (the loop then steps)."""
        if lo != floor_hour(lo) or not self.h0 + HOUR <= lo <= self.h1 - HOUR:
            return []
        if self._sums is None or self._sums[0] is not by:
            cum = [0]
            for h in _each_hour(self.h0, self.h1):
                cum.append(cum[-1] + by(Window(h, h + HOUR, [self._hours[h]])))
            self._sums = (by, cum)
        cum = self._sums[1]
        end = (lo - self.h0) // HOUR  # the hours [h0, lo) are cum's first `end`
        reach = bisect.bisect_right(cum, cum[end] - need, 0, end + 1) - 1  # the hour that brings `need` (-1: none)
        block = [self._hours[self.h0 + i * HOUR] for i in range(reach + 1, end)]
        return [] if any(id(p) in held for p in block) else block

    def _cut(self, a: datetime, b: datetime, need: int, cut: str) -> Part | None:
        """The raw piece (t - 1 us, b] of (a, b] holding its last `need` served rows, t the first of them, as the
        raw path grows a window (`evidence._grown`: ties at t included), counted as `raw` counts a piece; a drift
        window's with its served rows' features (`Part.cur`: the window's scores are its hours' sketches and
        these rows'); a quality window's at its last `need` labelled served rows (`LABELLED`; with a prediction
        too, `WITH_PREDICTION`), labels logged by now, as the raw path grows it, with their label counts. From the
        hour `_read_cuts` read, else `raw_rows`. None when the raw rows hold fewer (the rollup's count is behind
        the store's: whole hours)."""
        rows, joined, counted = self._cut_frames(a, b, cut)
        if counted.height < need or need <= 0:
            return None
        t = counted["ts"][counted.height - need] - US
        # kept: the pass's rules of one span and evidence (burn rate, error rate, p95) cut the same hour at the
        # same row, and a quiet model's windows an hour apart often hold the same rows
        key = (a, b, cut, t)
        if key in self._cut_parts:
            return self._cut_parts[key]
        p = self._summed(Part(t, b, raw=True, cut=True), rows.filter(pl.col("ts") > t), labels=False,
                         features=cut == DRIFT and bool(self.features))
        if joined is not None:  # its label counts from the same join
            _set_labels(p, joined.filter(pl.col("ts") > t).select(self._label_aggs()).row(0, named=True))
        self._cut_parts[key] = p
        return p

    def _cut_frames(self, a: datetime, b: datetime, cut: str) -> tuple:
        """(rows, joined, counted) of (a, b] for `_cut`, kept: the windows of a pass's rules cut the same hours
        again (2,908 cuts of 894 hours in a `check` over five months of a 40-rows-a-day model)."""
        key = (a, b, cut)
        if key not in self._cut_kept:
            rows = self._cut_rows.get(a) if b - a == HOUR else None
            if rows is None or not set(self._cut_columns(cut)) <= set(rows.columns):
                rows = self.raw_rows(a, b)
            rows = rows.filter((pl.col("ts") > a) & (pl.col("ts") <= b))
            users = he.served(rows).sort("ts")
            joined = counted = None
            if cut in (LABELLED, WITH_PREDICTION):  # a quality window counts labelled served rows, as `_raw_labels` does
                joined = users if "label" in users.columns else self.mon.joined(self.model, users, a, self.now)
                counted = joined.filter(pl.col("label").is_not_null() & (pl.col("prediction").is_not_null()
                                                                         if cut == WITH_PREDICTION else True)).sort("ts")
            self._cut_kept[key] = (rows, joined, users if counted is None else counted)
        return self._cut_kept[key]

    def _cut_columns(self, cut: str) -> list[str]:
        if cut == DRIFT:
            return [*CUT_COLUMNS, *self.features]
        return [*CUT_COLUMNS, "request_id", "prediction", "prediction_num"] if cut != RATE else CUT_COLUMNS

    def _read_cuts(self, spans: list[tuple[datetime, datetime]], min_rows: int, cut: str, by) -> None:
        """The hours the closed windows (lo, hi] would grow back into last (by the rollups' counts, `by`), read
        raw in one narrow read (a drift window's with the features, a quality window's joined with its labels in
        one read of them), so `_cut` reads none alone. Bounded: at most one hour per window, and only for windows
        whose own span holds fewer than `min_rows` served (labelled) rows (a quiet model's: few rows an hour)."""
        cols, hours = self._cut_columns(cut), set()
        count = {h: by(Window(h, h + HOUR, [p])) for h, p in self._hours.items()}
        for lo, hi in spans:
            n = sum(count.get(h, 0) for h in _each_hour(lo, hi))
            h = lo
            while n < min_rows and h > self.h0:
                h -= HOUR
                n += count.get(h, 0)
            if h < lo and n >= min_rows and not set(cols) <= set(self._cut_rows.get(h, pl.DataFrame()).columns):
                hours.add(h)
        if hours:
            ranges = [(x, y) for x, y in ro.hour_ranges(hours)]
            first, last = ranges[0][0], ranges[-1][1]
            if self._span_read(cut, ranges, hours):
                rows = self.mon.typed_rows(self.model, first, last, ENV, columns=cols)
            else:
                rows = self.mon.typed_rows(self.model, first, last, ENV, columns=cols, ranges=ranges)
            if cut in (LABELLED, WITH_PREDICTION):  # joined with their labels once, not once a window (`_cut`)
                rows = self.mon.joined(self.model, rows, first, self.now)
            # each hour's rows sliced from the sorted read: a filter per hour was a scan of them all per hour
            rows = rows.sort("ts")
            ts = rows.get_column("ts")
            for h in hours:
                i, j = ts.search_sorted(pl.Series([h, h + HOUR], dtype=ts.dtype), side="right").to_list()
                self._cut_rows[h] = rows.slice(i, j - i)

    def _span_read(self, cut: str, ranges: list[tuple[datetime, datetime]], hours: set[datetime]) -> bool:
        """Whether `_read_cuts` reads the hours' whole span at once rather than its ranges: a quiet model's cut
        hours are hundreds of ranges apart by a few hours each, and a read per eight ranges (`typed_rows_of`)
        bound and scanned the files again for each (5 of a `check`'s 50 s over five months of 40 rows a day).
        Only while the span holds few rows beside the wanted ones (the rollups' counts say how many), and not for
        a drift cut: a model's own attributes are typed on the values read (`Monitor.sliced`), the contract's
        columns are not."""
        if cut == DRIFT or len(ranges) <= 8:
            return False
        first, last = ranges[0][0], ranges[-1][1]
        span = sum(p.rows for h, p in self._hours.items() if first <= h < last)
        wanted = sum(self._hours[h].rows for h in hours if h in self._hours)
        return span <= max(4 * wanted, SPAN_READ_ROWS)

    def window_key(self, kind: str, w: Window, *params) -> str | None:
        """The memo key of a window of closed hours (None when it reaches into the open hour): the rule's
        parameters, the window, and the generation of the file that wins each of its hours. A raw piece of a
        closed hour (the history's first, the latest window's cut one, the piece a window grown back was cut to at
        the row, `_cut`) is named by its ends, its rows and that hour's generation too:
        the catch-up keeps the hour's rollup current with the store, so a row that lands in the piece rebuilds
        the hour and changes the key, as it does for a whole hour."""
        named = []
        for p in w.parts:
            if not p.raw:  # hour h's rest and hour h + 1h's first instant (`Part`)
                named.append((p.a, self.gens.get(p.a, 0), self.gens.get(p.a + HOUR, 0)))
                continue
            hours = sorted({floor_hour(p.a + US), floor_hour(p.b)})  # a piece ending on an hour holds its first instant
            if p.rows and (len(hours) > 1 and hours[1] - hours[0] > HOUR or hours[-1] >= self.h1
                           or any(h not in self.gens for h in hours)):
                return None
            named.append((p.a, p.b, p.rows, *(self.gens.get(h, 0) if p.rows else 0 for h in hours)))
        return rule_memo.key(kind, self.model, w.lo, w.hi, named, *params) if named else None

    def hours_key(self, kind: str, lo: datetime, hi: datetime, *params) -> str | None:
        """The memo key of a computation over the store's raw rows in (lo, hi] (a drift onset's departures,
        `RuleEvaluator._departed`): its parameters and the generation of every hour those rows lie in, as
        `window_key` names a window's. None when (lo, hi] reaches the open hour (hour `hi` holds its first
        instant) or before the rollups' first hour, which no generation names."""
        first, last = floor_hour(lo + US), floor_hour(hi)
        if last >= self.h1 or first < floor_hour(self.since):
            return None
        gens = [(h, self.gens.get(h, 0)) for h in _each_hour(first, last + HOUR)]
        return rule_memo.key(kind, self.model, lo, hi, gens, *params)

    def drift_fingerprint(self) -> list:
        """`_drift_fingerprint` of the model's reference and drift spec."""
        return self._drift_fingerprint(self.mon.reference(self.model), self.drift.spec(self.model))

    def raw_window(self, w: Window, columns: list[str]) -> pl.DataFrame:
        """The window's raw rows (an exact re-check), projected."""
        return self.raw_windows([(w, columns)])[id(w)]

    def _read_before(self, a: datetime, b: datetime, columns: list[str]) -> pl.DataFrame | None:
        """Rows in (a, b] of `columns` from a raw read this pass already made (`prefetch`'s edge hours, an hour
        `raw_rows` read) when it covers them, else None."""
        frame = self._prefetched(a, b)
        if frame is None:
            frame = next((f for (x, y), f in self._raw_hours.items() if x <= a and b <= y), None)
        return None if frame is None else self.mon.sliced(self.model, frame, a, b, columns)

    def read_before(self, a: datetime, b: datetime, columns: list[str]) -> pl.DataFrame | None:
        """`_read_before`, for a rule read outside this history's windows (`Monitor.stale_ts`)."""
        return self._read_before(a, b, columns)

    def raw_windows(self, wanted: list[tuple[Window, list[str]]]) -> dict[int, pl.DataFrame]:
        """Each window's raw rows of its columns (by `id` of the window): sliced from the rows this pass already
        read when they cover it (a window inside the open hour and the hour before it: the edge hours), else from
        one read of the others: the windows' ranges merged (drift windows overlap, a day's every half day) and
        their columns' union, then sliced. After a change of the rows every drift window of the week is scored
        again, and a read per window with a borderline feature was most of that pass."""
        out: dict[int, pl.DataFrame] = {}
        for w, cols in wanted:
            a, b = _span(w)
            kept = self._read_before(a, b, list(dict.fromkeys(["ts", *cols])))
            if kept is not None:
                out[id(w)] = kept
        wanted = [(w, cols) for w, cols in wanted if id(w) not in out]
        if not wanted:
            return out
        spans = [_span(w) for w, _ in wanted]
        ranges: list[list[datetime]] = []
        for a, b in sorted(spans):
            if ranges and a <= ranges[-1][1]:
                ranges[-1][1] = max(ranges[-1][1], b)
            else:
                ranges.append([a, b])
        cols = list(dict.fromkeys(["ts", *(c for _, cs in wanted for c in cs)]))
        rows = self.mon.typed_rows(self.model, ranges[0][0], ranges[-1][1], ENV, columns=cols,
                                   ranges=[(a, b) for a, b in ranges])
        out.update({id(w): rows.filter((pl.col("ts") > a) & (pl.col("ts") <= b))
                    for (w, _), (a, b) in zip(wanted, spans)})
        return out

    # ------------------------------------------------------------------ rules

    def rate(self, metric: str, span: timedelta, op: str, threshold: float, min_rows: int) -> list[ev.Evaluation]:
        # never widened (`RATE_LIMIT`)
        return [self._rate_of(w, metric, op, threshold, min_rows)
                for w in self.windows(span, min_rows, by=lambda w: w.served, limit=None, cut=RATE)]

    def latest_rate(self, metric: str, span: timedelta, op: str, threshold: float, min_rows: int) -> ev.Evaluation:
        """`rate`'s newest evaluation alone (the window ending at now, grown back to `min_rows` requests): what the
        rule says now, which the SLO panels show (`RuleEvaluator.burn_now`); a window of no row of its own is the
        last one with rows (`windows`)."""
        latest = self.windows(span, min_rows, by=lambda w: w.served, limit=None, cut=RATE)[-1]
        return self._rate_of(latest, metric, op, threshold, min_rows)

    def _rate_of(self, w: Window, metric: str, op: str, threshold: float, min_rows: int) -> ev.Evaluation:
        slo = self.mc.slo
        n = w.served
        if n < min_rows:
            return ev.rate_evaluation(w.lo, w.hi, n, None, op, threshold, min_rows)
        if metric == "error_rate":
            errors = sum(p.errors for p in w.parts)
            return ev.rate_evaluation(w.lo, w.hi, n, errors / n, op, threshold, min_rows, True)
        k = self.window_key("rate", w, metric, op, threshold, min_rows, repr(slo), he.LATENCY_BUDGET, "served")
        kept = self.memo.get(k)
        if kept is not None:
            return rule_memo.evaluation(w.lo, w.hi, kept)
        lat = sk.Dist.union([d for d in (p.dist() for p in w.parts) if d is not None])
        errors = sum(p.errors for p in w.parts)
        value, low, high = _level(metric, lat, errors / n, slo)
        clip = metric == "p95_ms" and sk.clipped(value)  # past float32: the sketch cannot say the value
        bounds = _burn_bounds(lat, errors, n, slo) if metric == "burn_rate" else _p95_bounds(lat)
        if value is not None and (clip or low is not None and (low != high) and min(low, high) <= threshold <= max(low, high)):
            value, exact = self._exact_rate(metric, w)  # within the sketch's error of the threshold: count it
            bounds = exact if metric == "p95_ms" else bounds  # (a clipped sketch's bounds are float32's max)
        e = ev.rate_evaluation(w.lo, w.hi, n, value, op, threshold, min_rows, bounds=bounds)
        if low is not None and low != high and value is not None and not clip:
            e = dataclasses.replace(e, note=f"{value:.4g} on {n} rows (hourly sketches, within "
                                    f"[{low:.4g}, {high:.4g}])")
        self.memo.put(k, rule_memo.evaluation_of(e))
        return e

    def _exact_rate(self, metric: str, w: Window) -> tuple[float | None, tuple]:
        """The window's value from its raw rows, with the p95's bounds from them (`incident_rules._p95_bounds`)."""
        from console.analytics.burn_rule import burn_expr as _burn_expr
        from console.incident_rules import _p95_bounds as exact_bounds

        rows = he.served(self.raw_window(w, ["ts", "variant", "is_error", "latency_ms"]))
        if not rows.height:
            return None, (None, None)
        lat = pl.col("latency_ms").cast(pl.Float64).fill_nan(None)
        expr = lat.quantile(0.95, interpolation="linear") if metric == "p95_ms" else _burn_expr(self.mc.slo)
        v = rows.select(expr).item()
        return (None if v is None else float(v)), (exact_bounds(rows) if metric == "p95_ms" else (None, None))

    def accuracy(self, metric: str, span: timedelta, expected: float, threshold: float,
                 min_labels: int, op: str = ">") -> list[ev.Evaluation]:
        out = []
        # cut at the row as the rate and drift windows are (`_cut`): the raw path's last `min_labels` labelled rows
        accuracy = metric == "accuracy_drop"
        for w in self.windows(span, min_labels, by=(lambda w: w.scored) if accuracy else (lambda w: w.labelled),
                              cut=WITH_PREDICTION if accuracy else LABELLED):
            if accuracy:
                n, k = w.scored, sum(p.correct for p in w.parts)
                e = ev.accuracy_evaluation(w.lo, w.hi, n, k, expected, threshold, min_labels, op=op)
            else:
                n = sum(p.reg_n for p in w.parts)
                s, q = sum(p.reg_abs for p in w.parts), sum(p.reg_sq for p in w.parts)
                mean = s / n if n else 0.0
                std = math.sqrt(max(q - n * mean * mean, 0.0) / (n - 1)) if n > 1 else 0.0
                e = ev.mae_evaluation(w.lo, w.hi, n, mean, std, expected, threshold, min_labels, op=op)
            # none of its span's own: grown back to rows judged before, no evidence (as on the raw path)
            out.append(ev.no_new_rows(e, w.span, "labelled rows") if w.own == 0 else e)
        return out

    def sparse_labels(self, span: timedelta, min_labels: int) -> bool:
        """Whether the whole history holds fewer than `min_labels` labelled rows (its latest window, grown back to
        `since`, short of them): then no quality window could ever breach, and the rule reads as on the raw path,
        whose windows reach back up to `SPARSE_REACH` for labelled rows (`RuleEvaluator._reaching`)."""
        latest = self._latest(span, min_labels, lambda w: w.labelled)
        return latest.labelled < min_labels and latest.lo <= self.since

    def budget(self, op: str, threshold: float, step: timedelta) -> list[ev.Evaluation]:
        """The month-end forecast at now and on the grid every `step` before it (`evidence.grid`;
        `RuleEvaluator._budget_evaluations`' definition), from hourly spend; the open hour and the hour the latest pace window cuts are read raw."""
        from console import rollup_cost

        budget = self.mc.budget_usd_month
        if not budget:
            return []
        month_start, _ = co.month_bounds(self.since)
        start = min(month_start, self.since)
        a, b = ceil_hour(start), self.h1
        attrs = self.mon.attributes(self.model)
        by_prompt = rollup_spec.PROMPT in attrs and rollup_spec.PROMPT in self.drift.spec(self.model).segments
        skip = sorted({floor_hour(c) for c in (self.now - co.PACE,) if a <= floor_hour(c) < b})
        parts = pl.DataFrame()
        if b > a:
            self.drift.catch_up(self.model, a, b)
            wanted = ["segment", "segment_value", "environment", "version", "variant", "rows", "input_tokens",
                      "output_tokens", *co.USAGE, ro.ON_HOUR]
            table = ro.read_table(self.drift.path, self.model, a, b, columns=wanted)
            parts = rollup_cost.parts(table, self.model, ENV, self.mc.prices, by_prompt, skip, instants=True)
            # an hour's rest counts once it is whole, its first instant's rows at that instant (as raw rows do)
            parts = parts.with_columns(pl.when(pl.col(ro.ON_HOUR)).then(pl.col("ts"))
                                       .otherwise(pl.col("ts") + HOUR - US).alias("ts"))
        columns = [c for c in co.COST_INPUTS if c in ("ts", "model", "version", "input_tokens", "output_tokens",
                                                      "cost_usd") or c in attrs]
        # the hour `now` cuts priced whole when it has closed, as `cost` prices it (`priced_until`)
        ranges = [(start, a - US), *((h - US, h + HOUR - US) for h in skip), (b - US, self.mon.priced_until(self.now))]
        raw = pl.concat([self.raw_rows(x, y).select(columns) for x, y in ranges if y > x], how="diagonal_relaxed")
        costed = co.with_cost(raw, self.mc.prices).filter(pl.col("ts") <= self.now) \
            .with_columns(pl.lit(1, dtype=pl.Int64).alias("requests"))
        both = pl.concat([costed.select("ts", co.COST, "requests"),
                          *([parts.select("ts", co.COST, pl.col("requests").cast(pl.Int64))] if parts.height else [])],
                         how="diagonal_relaxed").sort("ts")
        evals = []
        for hi in ev.grid(self.now, step, ev.grid_after(self.since, self.now, co.PACE, co.PACE)):
            status = co.budget_status(both, hi, budget, pace=co.PACE)
            n = int(both.filter((pl.col("ts") > hi - co.PACE) & (pl.col("ts") <= hi))["requests"].sum() or 0)
            value = status.projected_share
            if value is None:  # no minimum of requests, as on the raw rows (IncidentRules._budget_evaluations)
                evals.append(ev.Evaluation(hi - co.PACE, hi, n, None, None, note="no spend to project"))
            else:
                evals.append(ev.Evaluation(hi - co.PACE, hi, n, value, al.breaches(op, value, threshold),
                                           note=co.budget_note(status, budget)))
        return evals

    def cost_spike(self, op: str, threshold: float, min_rows: int) -> tuple[list, dict]:
        """Cost per request since the last change of the serving version (or prompt version) against the
        one before it (`incident_rules.cost_spike`'s definition), from hourly sums per key."""
        attrs = self.mon.attributes(self.model)
        spec = self.drift.spec(self.model)
        by_prompt = rollup_spec.PROMPT in attrs and rollup_spec.PROMPT in spec.segments
        wanted = ["segment", "segment_value", "environment", "version", "variant", "rows", "input_tokens",
                  "output_tokens", *co.USAGE, ro.ON_HOUR]
        blocks, cut = [], []
        serving = pl.col("variant").is_in(["champion", "blue", "green"]) | pl.col("variant").is_null()
        if self.h1 > self.h0:
            table = ro.read_table(self.drift.path, self.model, self.h0, self.h1, columns=wanted)
            if table is not None and table.num_rows:
                df = _with_on_hour(pl.from_arrow(table)).filter(
                    (pl.col("environment") == ENV) & serving  # (the history is (since, now]: not since's own instant)
                    & ~(pl.col(ro.ON_HOUR).fill_null(False) & (pl.col("hour") == self.since)))
                for c in ro.ADDED_SUMS:
                    if c not in df.columns:
                        df = df.with_columns(pl.lit(0, dtype=pl.Int64 if c == "cost_n" else pl.Float64).alias(c))
                rows = df.filter(pl.col("segment").is_null()).with_columns(co.change_key(pl.col("version"), None))
                if by_prompt:  # an hour's rows by prompt where it has them (a log may carry no prompt version)
                    prompted = df.filter((pl.col("segment") == rollup_spec.PROMPT)).with_columns(
                        co.change_key(pl.col("version"), pl.col("segment_value")))
                    rows = pl.concat([prompted, rows.filter(~pl.col("hour").is_in(prompted["hour"].unique().implode()))],
                                     how="diagonal_relaxed")
                # an hour holding a change is read raw: the change's instant, as the raw path places it (from
                # the hour's sums the onset was the hour's start, and the incident's id another)
                mixed = rows.group_by("hour").agg(pl.col("_k").n_unique().alias("k")).filter(pl.col("k") > 1)["hour"]
                # so is the hour a key's stretch ends in before another's (and the last hour, which the raw edge
                # after may change): the onset is the old key's last request, which an hour's block said as the
                # hour's end (a nightly batch's v2 had its spike at 02:59:59 the night before, raw at 02:04:59)
                keyed = rows.filter(~pl.col("hour").is_in(mixed.implode())).group_by("hour").agg(
                    pl.col("_k").first()).sort("hour")
                ends = keyed.filter((pl.col("_k") != pl.col("_k").shift(-1)).fill_null(True))["hour"]
                mixed = pl.concat([mixed, ends]).unique()
                rows = rows.filter(~pl.col("hour").is_in(mixed.implode()))
                cut += [(max(h - US, self.since), h + HOUR - US) for h in mixed.sort()]
                priced = co.parts_cost(rows.rename({"rows": "requests"}).with_columns(pl.col("hour").alias("ts")),
                                       self.mc.prices)
                blocks.append(priced.group_by("hour", "_k").agg(pl.col("requests").sum().alias("n"),
                                                                 pl.col(co.COST).sum().alias("cost"))
                              .select(pl.col("hour").alias("start"), (pl.col("hour") + HOUR - US).alias("end"),
                                      pl.col("_k").cast(pl.Utf8).fill_null(""), "n", "cost"))
        columns = [c for c in co.COST_INPUTS if c in ("ts", "model", "version", "variant", "input_tokens",
                                                      "output_tokens", "cost_usd") or c in attrs]

        def raw_blocks(ranges) -> list[pl.DataFrame]:
            out = []
            for a, b in ranges:
                if b > a:
                    raw = co.with_cost(self.raw_rows(a, b).select(columns), self.mc.prices)
                    if raw.height:
                        raw = raw.filter(serving) if "variant" in raw.columns else raw
                        out.append(raw.select(pl.col("ts").alias("start"), pl.col("ts").alias("end"),
                                              co.change_key(pl.col("version"), pl.col(rollup_spec.PROMPT)
                                                            if rollup_spec.PROMPT in raw.columns else None),
                                              pl.lit(1, dtype=pl.Int64).alias("n"), pl.col(co.COST).alias("cost")))
            return out

        hours = blocks[0]["start"].to_list() if blocks else []  # the rollup hours read as blocks
        blocks += raw_blocks(((self.since, self.h0 - US), *cut, (self.h1 - US, self.now)))
        if not blocks:
            return [], {"note": "no champion traffic"}
        per = _stretches(blocks, min_rows)
        # the evidence is there at the new stretch's `min_rows`-th request (`ready_at`): an hour of rollups holding
        # it said the hour's end, so that hour is read raw too and the detection is the raw path's instant
        ready = set(per["ready"].drop_nulls().to_list()) if per.height else set()
        late = sorted({h for h in hours if h + HOUR - US in ready})
        if late:
            blocks[0] = blocks[0].filter(~pl.col("start").is_in(late))
            blocks += raw_blocks((max(h - US, self.since), h + HOUR - US) for h in late)
            per = _stretches(blocks, min_rows)
        if not per.height:
            return [], {"note": "no champion traffic"}
        key = co.CHANGE_KEY if per["_k"].str.contains("/", literal=True).any() else "version"
        return ev.unit_cost_evaluations(per, key, op, threshold, min_rows)

    def onset_rows(self, ranges: list[tuple[datetime, datetime]], extra: list[str]) -> pl.DataFrame:
        """Raw rows of a few ranges (the first breaching windows and the ones before), narrow."""
        attrs = self.mon.attributes(self.model)
        cols = [*ONSET_COLUMNS, *[c for c in extra if c in attrs]]
        merged: list[list[datetime]] = []
        for a, b in sorted(ranges):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        frames = [self.mon.typed_rows(self.model, max(a, self.since), b, ENV, columns=cols)
                  for a, b in merged if b > max(a, self.since)]
        if not frames:  # no run: nothing reads them
            return pl.DataFrame(schema={"ts": pl.Datetime("us"), "model": pl.Utf8})
        return pl.concat(frames, how="diagonal_relaxed").sort("ts").with_columns(pl.col("ts").set_sorted())


def _set_labels(p: Part, c: dict) -> None:
    """A part's label counts from `quality.count_aggs` of its rows."""
    p.labelled = int(c.get("n_labelled") or 0)
    p.correct = int(c.get("cls_correct") or 0)
    p.scored = sum(int(c.get(k) or 0) for k in SCORED)
    p.reg_n, p.reg_abs, p.reg_sq = int(c.get("reg_n") or 0), float(c.get("reg_abs_sum") or 0.0), \
        float(c.get("reg_sq_sum") or 0.0)


def _stretches(blocks: list[pl.DataFrame], min_rows: int) -> pl.DataFrame:
    """Cost blocks (rollup hours, raw rows) in time order as serving stretches, one per run of a key, with the
    end of the block holding each one's `min_rows`-th request (`evidence.ready_at`)."""
    seq = _ordered(pl.concat([b.with_columns(pl.col("n").cast(pl.Int64), pl.col("cost").cast(pl.Float64))
                              for b in blocks], how="diagonal_relaxed"))
    changed = (seq["_k"] != seq["_k"].shift(1)).fill_null(False)
    return (seq.with_columns(changed.cum_sum().alias("_seg")).group_by("_seg", maintain_order=True)
            .agg(pl.col("_k").first(), pl.col("start").min(), pl.col("end").max(), pl.col("n").sum(),
                 pl.col("cost").sum(), ev.ready_at("end", pl.col("n").cum_sum(), min_rows)))


def _ordered(blocks: pl.DataFrame) -> pl.DataFrame:
    """Blocks in time order; within one hour, the key that served before it first (an hour holding a change
    is read as old version, then new)."""
    blocks = blocks.sort("start", "_k")
    out, last = [], None
    for (start,), part in blocks.group_by(["start"], maintain_order=True):
        if part.height > 1 and last is not None:
            part = part.sort(pl.col("_k") != last, maintain_order=True)
        out.append(part)
        last = part["_k"][-1]
    return pl.concat(out) if out else blocks


def _level(metric: str, lat: sk.Dist, error_rate: float, slo) -> tuple[float | None, float | None, float | None]:
    """(value, low, high) of p95_ms or burn_rate from a latency distribution of rank error `lat.eps`."""
    if metric == "p95_ms":
        if not lat.n:
            return None, None, None
        return (_linear(lat, 0.95), _linear(lat, max(0.0, 0.95 - lat.eps)), _linear(lat, min(1.0, 0.95 + lat.eps)))
    err = error_rate / slo.error_rate if slo.error_rate > 0 else None
    if not lat.n:
        return err, err, err
    slow = 1.0 - float(lat.cdf(np.array([slo.p95_ms]))[0])
    burn = [None if s is None else s / he.LATENCY_BUDGET for s in (slow, max(0.0, slow - lat.eps), slow + lat.eps)]
    return tuple(max(b, err) if err is not None else b for b in burn)


def _burn_bounds(lat: sk.Dist, errors: int, n: int, slo) -> tuple[float | None, float | None]:
    """The burn rate's 95 % bounds (`evidence.burn_bounds`), the slow requests counted on the sketch."""
    slow = round((1.0 - float(lat.cdf(np.array([slo.p95_ms]))[0])) * lat.n) if lat.n else 0
    return ev.burn_bounds(errors, n, slow, int(lat.n), slo.error_rate, he.LATENCY_BUDGET)


def _p95_bounds(lat: sk.Dist) -> tuple[float | None, float | None]:
    """The p95's 95 % bounds (`evidence.quantile_ranks`, as the raw path's `incident_rules._p95_bounds`), widened
    by the sketch's rank error."""
    n = int(lat.n)
    ranks = ev.quantile_ranks(n, 0.95) if n else None
    if ranks is None:
        return None, None
    at = lambda r: min(1.0, max(0.0, r / (n - 1) if n > 1 else 0.0))  # noqa: E731 - a 0-based rank as _linear's q
    return _linear(lat, max(0.0, at(ranks[0]) - lat.eps)), _linear(lat, min(1.0, at(ranks[1]) + lat.eps))


def _linear(d: sk.Dist, q: float) -> float:
    """The q-quantile with linear interpolation between ranks (Polars' and NumPy's default), on weights."""
    n = d.total
    pos = q * (n - 1)
    lo, frac = int(math.floor(pos)), pos - math.floor(pos)
    idx = np.searchsorted(d.cum, np.array([lo + 1, lo + 2]) - 1e-9, side="left")
    idx = np.minimum(idx, d.values.size - 1)
    a, b = d.values[idx[0]], d.values[idx[1]]
    return float(a + (b - a) * frac)
