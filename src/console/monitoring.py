"""Monitoring as the service sees it: warehouse rows in, analytics results out.

This is the glue between `warehouse` (named queries) and `analytics/` (plain functions): it reads each model's
rows with their features typed, keeps the prepared drift references, and gives each screen its numbers (drift,
health, quality, fairness, cost). The alert rules over the history, raw or from the hourly rollups, live in
`incident_rules`; `findings` and `check` here are their entry points. No Textual, no MLflow.
"""

from __future__ import annotations

import dataclasses
import functools

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from console import rollup_spec
from console.analytics import rules as ru
from console.analytics import cost as co
from console.analytics import fairness as fa
from console.analytics import health as he
from console.analytics import quality as qu
from console.analytics.drift import (Reference, dataset_drift, drift_over_time, histograms, single_column_drift,
                                     thin_window)
from console.analytics.windows import OVERVIEW_DRIFT_WINDOW, chart_every, format_span, history_start, parse_window
from console.config import AlertRule, Config, ModelConfig
from console.incident_rules import HISTORY, MIN_DRIFT_ROWS, SPARSE_REACH, Finding, RuleEvaluator
from console.rollup_paths import FolderFull
from console.rollup_spec import drift_ready as _drift_ready
from console.warehouse import Warehouse

__all__ = ["Monitor", "DriftReport", "Finding"]

CONTRACT_COLUMNS = ("ts", "model", "version", "environment", "variant", "request_id", "prediction", "prediction_num",
                    "score", "latency_ms", "is_error", "input_tokens", "output_tokens", "cost_usd")
LLM_COLUMNS = ("prompt_version", "refused", "guardrail_blocked", "factuality", "cached_tokens")
# what prediction and label drift read (`variant`: a shadow's answers are not the model's, `health.served`)
TARGET_COLUMNS = ["ts", "variant", "request_id", "prediction", "prediction_num"]
WINDOWS = ("1h", "6h", "24h", "7d")
FRAME_BUDGET = 256 << 20  # bytes of read frames kept for reuse; a fleet's 7-day frames would not fit in memory
# Past this many rows a read (a model's history, a long window) leaves out the features only drift looks at:
# its rules, health, quality and cost read the contract columns, segments and LLM fields (`Monitor.rows`).
NARROW_AFTER = 200_000
ROLLUPS_AFTER = 200_000  # `[rollups] min_rows` when a caller passes no Config: rows past which long reads use rollups
REFERENCE_MEMO = "reference-memo"  # in the store folder: the references' sorted values (`rollup_spec.drift_reference`)
BASELINE = timedelta(days=2)  # accuracy and MAE are compared with the first two days of the history
DRIFT_EVERY = "3h"


@dataclass(frozen=True)
class DriftReport:
    model: str
    window: str
    now: datetime
    dataset: object  # analytics.drift.DatasetDrift
    series: dict[str, list[tuple[datetime, float, bool]]] = field(default_factory=dict)  # feature -> points
    windows: list = field(default_factory=list)  # analytics.drift.WindowDrift
    prediction: object | None = None  # drift of the prediction against the baseline window
    reference_rows: int = 0
    note: str = ""
    label: object | None = None  # drift of the labels that landed, against the baseline window

    def trend(self) -> dict[str, list[tuple[datetime, float | None, bool]]]:
        """Each feature's score per bucket over the history, a score that could not be taken (NaN) as None: the
        Drift screen's TREND and chart, and `drift --trend`'s, one definition."""
        return {f: [(start, _score(score), bool(drifted)) for start, score, drifted in pts]
                for f, pts in self.series.items()}

    def to_dict(self, trend: bool = False) -> dict:
        cols = sorted(self.dataset.columns, key=_severity) if self.dataset is not None else []
        more = {"trend": {f: [{"start": t.isoformat() + "Z", "score": v, "drifted": d} for t, v, d in pts]
                          for f, pts in self.trend().items()}} if trend else {}
        return {
            "model": self.model, "window": self.window, "now": self.now.isoformat() + "Z",
            "reference_rows": self.reference_rows, "note": self.note,
            "dataset": None if self.dataset is None else {
                "share": self.dataset.share, "threshold": self.dataset.threshold, "drifted": self.dataset.drifted,
                "n_drifted": self.dataset.n_drifted, "n_evaluated": self.dataset.n_evaluated,
                "n_borderline": self.dataset.n_borderline, "status": self.dataset.status},
            "features": [c.to_dict() for c in cols],
            "prediction": self.prediction.to_dict() if self.prediction is not None else None,
            "label": self.label.to_dict() if self.label is not None else None,
            **more,
        }


def _score(v) -> float | None:
    import math

    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _severity(c) -> tuple:
    """Drifted first; then by how far past its threshold (p-values: smaller is worse)."""
    import math

    score = c.score if c.score is not None and not (isinstance(c.score, float) and math.isnan(c.score)) else None
    if score is None:
        return (2, 0.0, c.column)
    badness = (c.threshold - score) if c.direction.startswith("p") else (score - c.threshold)
    return (0 if c.drifted else 1, -badness, c.column)



def _raw_if_folder_full(method):
    """A read that found the rollup folder full midway (`rollup_paths.FolderFull`: it took the probe of
    `unwritable`, then refused the first file) is made again from the raw rows, and the folder is said as one
    that cannot be written (`rollup_problem`): the answer, not the OSError (exit 4)."""
    @functools.wraps(method)
    def read(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except FolderFull as exc:
            self.folder_full(exc)
            return method(self, *args, **kwargs)
    return read

class Monitor:
    def __init__(self, cfg: Config, warehouse: Warehouse, clock: Callable[[], datetime]):
        self.cfg, self.wh, self.clock = cfg, warehouse, clock
        self._refs: dict[str, Reference | None] = {}
        self._ref_frames: dict[str, pl.DataFrame] = {}
        self._frames: dict[tuple, tuple[datetime, datetime, pl.DataFrame]] = {}  # (model, env, store version)
        self._reading: dict[tuple, tuple] = {}  # the same key -> (since, until, Event) of a read in flight
        self._lock = threading.Lock()
        self._expected: dict[str, tuple[dict[str, float], float]] = {}  # model -> (levels, monotonic expiry)
        self._expected_down: dict[str, str] = {}  # model -> why the registry's level is unknown
        self.expected_levels: Callable[[str], dict] | None = None  # model -> {"accuracy": x} from the registry
        self.recommendations: list = []  # analytics.incidents.Recommendation, from the last findings()
        self.since: datetime | None = None  # start of the incident history; None: HISTORY before now
        self.wall: Callable[[], datetime] | None = None  # the real clock (the Service's), when the view may end after it
        self._sketch_drift = None
        self.narrow_after = NARROW_AFTER
        self.rollups_after = getattr(cfg, "rollups_min_rows", ROLLUPS_AFTER)
        self.incident_rules = RuleEvaluator(self)

    @property
    def sketch_drift(self):
        """Drift from the hourly rollups (created on first use; keeps the reference's sketches)."""
        with self._lock:
            if self._sketch_drift is None:
                from console.rollup_drift import RollupDrift

                self._sketch_drift = RollupDrift(self)
            return self._sketch_drift

    def history_start(self, now: datetime) -> datetime:
        return history_start(self.since, now, self.wh.oldest)

    # ------------------------------------------------------------------ frames

    def models(self) -> list[str]:
        return self.wh.models()

    def model_config(self, model: str) -> ModelConfig:
        return self.cfg.model(model)

    def features(self, model: str) -> list[str]:
        mc = self.model_config(model)
        return rollup_spec.features(mc, None if mc.features else self.reference_frame(model))

    def attributes(self, model: str) -> list[str]:
        mc = self.model_config(model)
        names = list(dict.fromkeys([*self.features(model), *mc.segments, *mc.sensitive,
                                    *(LLM_COLUMNS if mc.task == "llm" else ())]))
        return names

    def predictions(self, model: str, since: datetime, until: datetime | None = None,
                    environment: str | None = "production") -> pl.DataFrame:
        """One model's rows with its features and segments as typed columns (read only those columns).

        The last range read per model is kept until the store changes, so the several reads one overview
        or one incident pass makes (history, the drift window, today's cost) cost one query, not one each;
        a worker asking for rows another worker is reading waits for that read (the incident pass and a
        screen opened meanwhile read the same week once)."""
        until = until or self.clock()
        key = (model, environment, self.wh.refreshes)
        with self._lock:
            kept = self._kept(key, since, until)
            if kept is None:
                reading = self._reading.get(key)
                if reading is not None and _covers(reading, since, until):
                    wait = reading[2]  # another worker is reading these rows: wait for it, do not read twice
                else:
                    wait, mine = None, threading.Event()
                    self._reading[key] = (since, until, mine)
        if kept is not None:
            return kept
        if wait is not None:
            wait.wait()
            with self._lock:
                kept = self._kept(key, since, until)
            # None: its read failed or was interrupted
            return kept if kept is not None else self.typed_rows(model, since, until, environment)
        try:
            frame = self.typed_rows(model, since, until, environment)
            with self._lock:
                self._frames = {k: v for k, v in self._frames.items() if k[2] == self.wh.refreshes and k != key}
                self._frames[key] = (since, until, frame)
                while len(self._frames) > 1 and sum(v[2].estimated_size() for v in self._frames.values()) > FRAME_BUDGET:
                    del self._frames[next(iter(self._frames))]  # the oldest read goes first
        finally:
            with self._lock:
                if self._reading.get(key, (None, None, None))[2] is mine:
                    del self._reading[key]
            mine.set()
        return frame

    def _kept(self, key: tuple, since: datetime, until: datetime) -> pl.DataFrame | None:
        """The rows in (since, until] from the frame kept for `key`, None unless it covers them (lock held)."""
        hit = self._frames.get(key)
        if hit is None or not _covers(hit, since, until):
            return None
        return hit[2].filter((pl.col("ts") > since) & (pl.col("ts") <= until))

    def typed_rows(self, model: str, since: datetime, until: datetime, environment: str | None = "production",
                   columns: list[str] | None = None, ranges: list[tuple[datetime, datetime]] | None = None
                   ) -> pl.DataFrame:
        """Rows in (since, until] sorted by time, attributes typed (and present, as nulls, when never logged);
        `columns` projects the read (default: the contract and the model's attributes). `ranges`, disjoint
        (a, b] within (since, until], reads only those (`typed_rows_of`). Only the files that may hold rows of
        those ranges are read (`Warehouse.arrow`'s `within`).
        Not kept for reuse: the rollup builds and the narrow reads of long windows go through here."""
        if ranges is not None:
            return self.typed_rows_of({model: (columns, ranges)}, environment, empty=since)[model]
        wanted = self._wanted(model, columns)
        # each read binds only the files whose ts spans meet its ranges (`within`): an edge hour of a month of
        # files opens the one or two holding it
        frame = self.wh.frame("model_predictions", {  # an LLM's features include its token counts
            "model": model, "since": since, "until": until, "environment": environment}, columns=wanted,
            within=[(since, until)])
        return self._finished(model, frame, wanted)

    def typed_rows_of(self, reads: dict[str, tuple[list[str] | None, list[tuple[datetime, datetime]]]],
                      environment: str | None = "production", empty: datetime | None = None
                      ) -> dict[str, pl.DataFrame]:
        """Each model's rows in its disjoint ranges (a, b] with its columns, as `typed_rows` gives them, from one
        scan of them all per eight ranges (`model_predictions_ranges`: the models' ranges merged, their columns'
        union and `model` projected, then split by model and cut to its own ranges). A rule pass reads the edge
        hours of every model this way (`RollupRules.prefetch`): the same hours of the same row groups, which a
        read per model decoded once per model. `empty`: where a read of no range is placed."""
        wanted = {m: self._wanted(m, cols) for m, (cols, _) in reads.items()}
        union = _merged([r for _, rs in reads.values() for r in rs])
        cols = list(dict.fromkeys([c for w in wanted.values() for c in w] + (["model"] if len(reads) > 1 else [])))
        base = empty if empty is not None else datetime(1970, 1, 1)
        frame = pl.concat([self.wh.frame("model_predictions_ranges", {
            "models": list(reads), "environment": environment, **_range_params(union[i:i + 8])}, columns=cols,
            within=union[i:i + 8] or [(base, base)])
            for i in range(0, max(len(union), 1), 8)], how="vertical_relaxed")
        if len(reads) == 1:
            ((model, w),) = wanted.items()
            return {model: self._finished(model, frame, w)}
        out = {}
        for model, (_, ranges) in reads.items():
            part = frame.filter(pl.col("model") == model)
            if _merged(ranges) != union:  # rows of the other models' ranges: a model's own read had none
                part = part.filter(pl.any_horizontal([(pl.col("ts") > a) & (pl.col("ts") <= b) for a, b in ranges])
                                   if ranges else pl.lit(False))
            out[model] = self._finished(model, part.select([c for c in wanted[model] if c in part.columns]),
                                        wanted[model])
        return out

    def sliced(self, model: str, frame: pl.DataFrame, a: datetime, b: datetime, columns: list[str]
               ) -> pl.DataFrame | None:
        """Rows in (a, b] of `columns` cut from a wider `typed_rows` read, typed as a read of (a, b] alone types
        them (`_typed` looks at the values read: an attribute still text is typed again on the slice's values);
        None when that cannot be told (an attribute typed on the wider read with no value in the slice: read
        alone, it may come back as text) or the read lacks a column."""
        if not set(columns) <= set(frame.columns):
            return None
        part = frame.filter((pl.col("ts") > a) & (pl.col("ts") <= b)).select(columns)
        attrs = set(self.attributes(model))
        typed = [n for n in columns if n in attrs and n not in CONTRACT_COLUMNS and n not in self.text_features(model)]
        if any(part.schema[n] != pl.Utf8 and part.get_column(n).null_count() == part.height for n in typed):
            return None
        again = [_typed(part.get_column(n)) for n in typed if part.schema[n] == pl.Utf8]
        return part.with_columns(again) if again else part

    def _wanted(self, model: str, columns: list[str] | None) -> list[str]:
        return list(dict.fromkeys(["ts", *(columns if columns is not None else
                                           [*CONTRACT_COLUMNS, *self.attributes(model)])]))

    def _finished(self, model: str, frame: pl.DataFrame, wanted: list[str]) -> pl.DataFrame:
        """A read's rows sorted by time (stably), its attributes typed, those never logged present as nulls."""
        attrs = self.attributes(model)
        if frame["ts"].is_sorted():  # logs written in time order come back in it: said, so no sort copies them
            frame = frame.with_columns(pl.col("ts").set_sorted())
        else:
            columns = frame.get_columns()
            del frame  # the columns are held once, by the list the sort replaces them in
            frame = _sort_by_time(columns)
        keep = self.text_features(model)  # a segment on `version` stays text, and so does a reference's text
        typed = [n for n in wanted if n in attrs and n not in CONTRACT_COLUMNS and n not in keep]
        cols = [_typed(frame.get_column(n)) for n in typed if n in frame.columns and frame.schema[n] == pl.Utf8]
        return _never_logged(frame.with_columns(cols) if cols else frame, typed)

    def stale_ts(self, model: str, since: datetime, now: datetime, limit: timedelta | None,
                 kept: Callable[[datetime, datetime, list[str]], pl.DataFrame | None] | None = None) -> pl.DataFrame:
        """The production `ts` in (since, now] the stale rule needs (`evidence.staleness` with `limit`): the last
        stretch shorter than any gap the rule allows (its floor, or the configured limit) when that holds a row,
        since the source is then not silent whatever its usual gap, so the rule finds nothing either way; else
        the whole history's, for that usual gap. The history's `ts` was a read of every row of the week, every
        pass (0.2 s a model at 10M rows from a local folder, 0.9 s over S3). `kept(a, b, columns)`: rows in (a, b]
        a read of this pass already holds, or None (a rule pass's prefetched open hour: `RollupRules.read_before`),
        so the last stretch is cut from them, not read again."""
        from console.analytics import evidence as ev

        _, _, least = ev.staleness(now, pl.Series("ts", [], pl.Datetime("us")), now, limit)  # no gaps: the least
        if now - least > since:
            recent = kept(now - least, now, ["ts"]) if kept is not None else None
            if recent is None:
                recent = self.typed_rows(model, now - least, now, "production", columns=["ts"])
            if recent.height:
                return recent
        return self.typed_rows(model, since, now, "production", columns=["ts"])

    def feature_batches(self, model: str, since: datetime, until: datetime, feats: list[str],
                        environment: str | None = "production"):
        """The drift features of rows in (since, until] as the store streams them (no order), drift-ready,
        with a feature never logged present as nulls (as `typed_rows` gives it); served rows only (`health.served`:
        a shadow's mirrored copies of the requests would count each of them twice)."""
        params = {"model": model, "since": since, "until": until, "environment": environment}
        for batch in self.wh.batches("model_predictions", params, columns=["ts", "variant", *feats]):
            yield _drift_ready(_never_logged(he.served(pl.from_arrow(batch)), feats).select(["ts", *feats]))

    def joined(self, model: str, preds: pl.DataFrame, since: datetime, until: datetime,
               environment: str | None = "production") -> pl.DataFrame:
        labels = self.wh.frame("model_labels", {"model": model, "since": since, "until": until,
                                                "environment": environment})
        return qu.join_labels(preds, labels, now=until)

    def deployments(self, model: str | None = None, until: datetime | None = None) -> pl.DataFrame:
        """Deployment events of one model, or of all when `model` is None, oldest first."""
        return self.wh.frame("model_deployments", {"model": model, "until": until or self.clock()})

    def reference_frame(self, model: str) -> pl.DataFrame | None:
        with self._lock:
            if model not in self._ref_frames:
                self._ref_frames[model] = rollup_spec.read_reference(self.model_config(model).reference)
            return self._ref_frames[model]

    def text_features(self, model: str) -> frozenset[str]:
        """Features the reference holds as text: kept as logged, never retyped to numbers (`_typed`), as the
        rollups count them (`rollup_spec`: the reference decides a feature's kind). Why: a zip code or an id
        logged as "00012" read as 12.0 matched none of the reference's "00012" (every value a new category)."""
        ref = self.reference_frame(model)
        return frozenset() if ref is None else frozenset(
            c for c, t in ref.schema.items() if t in (pl.String, pl.Categorical) or isinstance(t, pl.Enum))

    def drift_features(self, model: str) -> list[str]:
        """The features drift is tested on: `ignore = true` drops seasonal ones such as hour of day."""
        return rollup_spec.drift_features(self.model_config(model), self.features(model))

    def reference(self, model: str) -> Reference | None:
        if model not in self._refs:  # the rollups are shaped by the same reference (rollup_spec)
            memo = self.wh.dir / REFERENCE_MEMO if getattr(self.wh, "persistent", False) else None  # sorted values
            self._refs[model] = rollup_spec.drift_reference(self.model_config(model), self.reference_frame(model),
                                                            memo)
        return self._refs[model]

    # ------------------------------------------------------------------ drift

    @_raw_if_folder_full
    def drift(self, model: str, window: str = "24h", every: str | None = None,
              environment: str | None = "production", series: bool = True, exact: bool | None = None,
              target: bool = True) -> DriftReport:
        """The window's drift against the reference; `series` adds each feature's score per bucket over the
        history (the Drift screen's trend), which costs a comparison per bucket and feature; `target` adds
        prediction and label drift (a label join: two thirds of a day's verdicts; the screens do not show it).

        A window longer than `rollup_drift.SKETCH_AFTER` (6 h) holding at least `[rollups] min_rows` rows is
        scored from the hourly rollups (each score with its error bound, "borderline" when the bound straddles the
        threshold) unless `exact`; `exact=False` asks for sketches on any window. The one place this is chosen:
        the CLI's `drift` and the Drift screen (its `x`: `exact=True`) both call here."""
        now = self.clock()
        if every is None and self.drift_from_rollups(model, window, environment, exact):
            return self.sketch_drift.drift(model, window, environment, series, target)
        ref = self.reference(model)
        if ref is None:
            return DriftReport(model, format_span(window), now, None, note="no reference data configured for this model")
        span = parse_window(window)
        history = max(span, parse_window(HISTORY))
        every = every or ("1h" if span <= timedelta(hours=24) else "6h")
        feats = list(ref.columns)
        # the trend needs every feature over the history; the verdict only the window's (prediction and label
        # drift compare it with the history's first days, from a narrow read)
        # served rows only (`health.served`): a shadow answers mirrored copies of the requests, the same features
        # again, so every request counted twice
        # (the columns read below are taken before the filter: it copies what it keeps of a history's frame)
        rows = he.served(self.predictions(model, now - history, now, environment).select(
            list(dict.fromkeys(["ts", "variant", *feats, *TARGET_COLUMNS])))) if series else None
        narrow = ["variant", *feats, *(TARGET_COLUMNS if target else ())]
        current = rows.filter(pl.col("ts") > now - span) if rows is not None else \
            he.served(self.rows(model, now - span, now, environment, narrow=narrow))
        ds = dataset_drift(ref, _drift_ready(current.select(feats)), self.cfg.drift_share)
        windows = drift_over_time(ref, _drift_ready(rows.select(["ts", *feats])), "ts", every,
                                  self.cfg.drift_share) if series else []
        points = {f: [(w.start, w.drift.column(f).score, w.drift.column(f).drifted) for w in windows] for f in feats}
        if target and rows is None:  # the window is in hand: of the rest of the history, the baseline days alone
            rows = current.select(TARGET_COLUMNS)
            if now - span >= now - history + BASELINE:  # else the two overlap and there is no target drift
                base = self.typed_rows(model, now - history, now - history + BASELINE, environment,
                                       columns=TARGET_COLUMNS)
                rows = pl.concat([base, rows], how="vertical_relaxed")
        prediction, label = self._target_drift(model, rows, now, span, now - history, environment) if target \
            else (None, None)
        # the rules' and the Overview's minimum: the window's features, predictions and labels alike
        ds, prediction, label, note = thin_window(current.height, ds, prediction, label)
        return DriftReport(model, format_span(window), now, ds, points, windows, prediction, len(self.reference_frame(model)),
                           note=note, label=label)

    @_raw_if_folder_full
    def drift_from_rollups(self, model: str, window: str | timedelta, environment: str | None,
                           exact: bool | None = None) -> bool:
        """Whether `drift` scores the window ending now from the hourly rollups: as `exact` asks, else when it is
        longer than `rollup_drift.SKETCH_AFTER` and holds at least `[rollups] min_rows` rows (`_many_rows`)."""
        from console.rollup_drift import SKETCH_AFTER

        if exact is not None:
            return not exact
        span, now = parse_window(window), self.clock()
        return span > SKETCH_AFTER and self._many_rows(model, now - span, now, environment)

    def _target_drift(self, model: str, rows: pl.DataFrame, now: datetime, span: timedelta, start: datetime,
                      environment: str | None):
        """Prediction drift and label drift: the current window against the baseline window (the first two
        days of the history), since reference files rarely carry predictions or labels."""
        base_end = start + BASELINE
        rows = he.served(rows)  # a shadow's answers reached no one: a v2 mirrored beside v1 is not v1 drifting
        if now - span < base_end or rows.height == 0:
            return None, None
        numeric = rows.get_column("prediction_num").null_count() < rows.height
        col = "prediction_num" if numeric else "prediction"
        base, cur = rows.filter(pl.col("ts") <= base_end), rows.filter(pl.col("ts") > now - span)
        prediction = single_column_drift(base.select(col), cur.select(col), col) if base.height and cur.height else None
        joined = self.joined(model, rows, start, now, environment).filter(pl.col("label").is_not_null())
        lcol = "label_num" if numeric and joined.get_column("label_num").null_count() < joined.height else "label"
        lbase, lcur = joined.filter(pl.col("ts") <= base_end), joined.filter(pl.col("ts") > now - span)
        label = single_column_drift(lbase.select(lcol), lcur.select(lcol), lcol) if lbase.height and lcur.height else None
        return prediction, label

    @_raw_if_folder_full
    def histograms(self, model: str, feature: str, window: str = "24h"):
        now = self.clock()
        ref = self.reference(model)
        if ref is None or feature not in ref.columns:
            return None
        rows = he.served(self.predictions(model, now - parse_window(window), now))  # as `drift` counts them
        return histograms(ref, _drift_ready(rows.select([feature])), feature)

    # ------------------------------------------------------------------ health, quality, cost

    @_raw_if_folder_full
    def health(self, model: str, window: str = "1h", environment: str | None = "production") -> dict:
        """The window's table and chart, and the SLO burn. A window longer than `rollup_health.SKETCH_AFTER` is
        read from the hourly rollups plus its raw edge hours (`rollup_health`: counts exact, percentiles from
        sketches, said in "note"); the SLO's own windows are hours and stay raw."""
        from console.rollup_health import SKETCH_AFTER

        now = self.clock()
        mc = self.model_config(model)
        span = parse_window(window)  # the chart follows the window: about 48 buckets across it
        every = chart_every(span)
        sketched = None
        if span > SKETCH_AFTER and self._many_rows(model, now - span, now, environment):
            from console import rollup_health

            # the SLO's windows (which cover the open hour the rollups lack), their columns alone: a day of every
            # column was most of a month's read at 100M rows
            slo = max(parse_window(mc.slo.long_window), parse_window(mc.slo.short_window), timedelta(hours=1))
            with self._lock:
                preds = self._kept((model, environment, self.wh.refreshes), now - slo, now)
            if preds is None:
                preds = self.sketch_drift.raw(model, now - slo, now, environment, rollup_health.COLUMNS)
            sketched = rollup_health.health(self, model, now - span, now, environment, every, preds)
        if sketched is None:
            long = max(span, parse_window(mc.slo.long_window), timedelta(hours=24))
            preds = self.rows(model, now - long, now, environment)
        burn = ru.rule_for(self.rules_for(model, quality=False), "burn_rate")  # the same threshold the alert fires at
        factor = burn.threshold if burn is not None else he.DEFAULT_BURN_FACTOR
        # the alert is the rule's verdict, its window read back as the rule's (`RuleEvaluator.burn_now`)
        verdict = self.incident_rules.burn_now(model, now, environment, preds)
        out = {"slo": he.slo_status(preds, mc.slo, now, factor, model=model, verdict=verdict), "burn_rule": burn,
               "range": (now - span, now),
               "every": every}
        if sketched is not None:
            table, series, note, eps = sketched
            return {"table": table, **out, "series": series, "note": note, "rank_error": eps}
        return {"table": he.health_table(preds, now, window, ("version", "variant")), **out,
                "series": he.health_series(he.served(preds).filter(pl.col("ts") > now - span), every, ())}

    def _labelled_history(self, model: str, environment: str | None, since: datetime | None = None):
        """(now, model config, quality task, predictions of the history (or from `since`) joined with their
        labels)."""
        now = self.clock()
        mc = self.model_config(model)
        since = self.history_start(now) if since is None else since
        preds = self.rows(model, since, now, environment)
        task = "classification" if mc.task == "llm" else mc.task
        return now, mc, task, self.joined(model, preds, since, now, environment)

    def _use_rollups(self, model: str, since: datetime, until: datetime, environment: str | None,
                     rollups: bool | None) -> bool:
        """Whether a read over (since, until] (drift or health over a long window, cost, quality) uses the hourly
        rollups: as asked, else when the rows are not in memory already and there are at least `rollups_after`
        of them (`[rollups] min_rows`): fewer are read raw in well under a second, and exactly, so a month of a
        small log is scored as scipy scores it. A separate limit from `narrow_after`, so the narrow raw read
        stays testable on its own."""
        if rollups is not None:
            return rollups
        with self._lock:
            if self._kept((model, environment, self.wh.refreshes), since, until) is not None:
                return False
        return self._many_rows(model, since, until, environment)

    def rollup_problem(self) -> str | None:
        """Why this process reads no rollups, as one line (None: it reads them): their folder cannot be written (a
        read-only mount, a full disk), so the hours that closed could not be built, and every long-window read
        failed with the OSError (exit 4). Checked once a process."""
        if not hasattr(self, "_rollup_problem"):
            from console.rollup_paths import rollup_dir, unwritable

            folder = rollup_dir(self.cfg, self.wh.dir)
            why = unwritable(folder)
            self._rollup_problem = None if why is None else \
                f"the rollup folder {folder} cannot be written ({why}): long windows are read from the raw rows"
        return self._rollup_problem

    def folder_full(self, exc: FolderFull) -> None:
        """The rollup folder refused a file midway (a disk that filled): from now on as one `unwritable` found."""
        self._rollup_problem = f"{exc}: long windows are read from the raw rows"

    def _many_rows(self, model: str, since: datetime, until: datetime, environment: str | None,
                   at_least: int = 0) -> bool:
        """At least `rollups_after` (and `at_least`) rows in (since, until]: a long drift or health window then reads
        the rollups (whatever is in memory: a screen's method must not depend on what another screen read before)."""
        if self.rollup_problem() is not None:  # read raw: exact, slower on a long window, and it answers
            return False
        need = max(self.rollups_after, at_least)
        n = self.wh.model_rows_upto({"model": model, "since": since, "until": until, "environment": environment,
                                     "cap": need})
        return n >= need

    @_raw_if_folder_full
    def quality(self, model: str, window: str = "24h", environment: str | None = "production",
                rollups: bool | None = None) -> dict:
        """`_quality`, its task named as configured: an LLM's labels are scored as classes, but it is not a
        classifier (the CLI printed `task=classification` for one)."""
        out = self._quality(model, window, environment, rollups)
        if self.model_config(model).task == "llm" and out.get("now") is not None:
            out = {**out, "now": dataclasses.replace(out["now"], task="llm")}
        if later := self._labelled_after(model, window, environment):
            now = self.clock()
            said = (f"{later} predictions of this window were labelled after {now:%Y-%m-%d %H:%M:%S}Z, the view's end: "
                    "those labels are not counted here (a later --at counts them)")
            out = {**out, "labelled_after": later, "note": "; ".join(n for n in (out.get("note"), said) if n)}
        return out

    def _labelled_after(self, model: str, window: str, environment: str | None) -> int:
        """Predictions of the window whose label landed only after the view's end. A view in the past counts the
        labels logged by its end (what was known then); `quality --at latest` on a log that stopped months ago left
        out the last days' labels (761 of 893) without a word. Live, no label is later than now: not read."""
        now = self.clock()
        if self.wall is None or now >= self.wall():
            return 0
        labels = self.wh.frame("model_labels", {"model": model, "since": now - parse_window(window), "until": now,
                                                "environment": environment})
        if labels.is_empty():
            return 0
        first = labels.group_by("request_id").agg(pl.col("ts").min())
        return int((first["ts"] > now).sum())

    def _quality(self, model: str, window: str = "24h", environment: str | None = "production",
                 rollups: bool | None = None) -> dict:
        """The window's quality, its chart ("series", buckets of `chart_every(window, "1h")`, said in "every")
        and its per-version table: every part covers the window ("range"), so `quality --window 2026-07` is
        July's, not the last 7 days' of July. From the hourly rollups plus raw edge hours when `_use_rollups`
        says so (`rollup_quality`, said in "source" and "note"; ROC AUC is then read from score buckets, within
        the stated `roc_auc_bound`)."""
        now = self.clock()
        since = now - parse_window(window)
        if self._use_rollups(model, since, now, environment, rollups):
            from console import rollup_quality

            out = rollup_quality.quality(self, model, window, environment)
            if out is not None:
                return out
        now, mc, task, joined = self._labelled_history(model, environment, since)
        users = he.served(joined)  # the model's quality is its served answers'; a shadow keeps its by_version row
        return {"now": qu.quality(users, task, mc.positive_label, now, window),
                "series": qu.quality_series(users, task, mc.positive_label, chart_every(window, "1h")),
                "by_version": qu.quality_table(he.shadow_apart(joined), task, mc.positive_label, ("version", "variant")),
                "range": (since, now), "every": chart_every(window, "1h"), "joined": joined, "source": "raw rows"}

    def fairness(self, model: str, environment: str | None = "production", span: timedelta | None = None) -> dict:
        """Over the history, or over `span` ending now (the CLI's --window, which its output names)."""
        since = None if span is None else self.clock() - span
        _, mc, task, joined = self._labelled_history(model, environment, since)
        joined = he.served(joined)  # a group's accuracy is of the answers its users got, not a shadow's
        cols = list(dict.fromkeys([*mc.segments, *mc.sensitive]))
        segs = fa.segments(joined, cols, task, mc.positive_label) if cols else []
        return {"segments": segs, "worst": fa.pick_worst(segs, task) if cols else None,
                "gaps": {c: fa.fairness_gaps(joined, c, mc.positive_label) for c in mc.sensitive}
                if task == "classification" else {}}

    @_raw_if_folder_full
    def cost(self, model: str, environment: str | None = "production", rollups: bool | None = None,
             span: timedelta | None = None) -> dict:
        """Spend today, the last 7 days and this month (as of now), the budget, the hourly view and spikes, and
        over "range" (the window ending now of length `span`, the CLI's --window; else the history): cost per 1k
        by version (and prompt), an LLM's usage and the tokens, plus, with `span`, the window's spend
        ("window_spend"): an operator asking for July wants July's figures, not the last 7 days' of July. From
        the hourly rollups plus raw edge hours when `_use_rollups` says so (`rollup_cost`: the same numbers,
        said in "note")."""
        from console.rollup_drift import US, floor_hour

        now = self.clock()
        mc = self.model_config(model)
        start = self.history_start(now)
        # one read covers the month, the week, the history and the window, from a clock hour's start: the replica
        # hour is split over all of that hour's requests wherever a window begins
        since = floor_hour(co.reads_from(now, start, now - span if span is not None else now)) - US
        if self._use_rollups(model, since, now, environment, rollups):
            from console import rollup_cost

            out = rollup_cost.cost(self, model, environment, span)
            if out is not None:
                return out
        upto = self.priced_until(now)
        rows = self.rows(model, since, upto, environment)
        costed = co.with_cost(rows, mc.prices)
        if upto > now:  # the closed hour priced whole; its rows after the view's end are not the view's
            rows, costed = rows.filter(pl.col("ts") <= now), costed.filter(pl.col("ts") <= now)
        wstart = now - span if span is not None else start
        inside = costed.filter(pl.col("ts") > wstart)
        by = ("version", "prompt_version") if "prompt_version" in costed.columns else ("version",)
        windowed = {"window_spend": co.window_spend(costed, wstart, now)} if span is not None else {}
        rule = ru.rule_for(self.rules_for(model, quality=False), "cost_spike")
        rule_spike = None
        if rule is not None:  # the alert's own definition: cost per request against the previous version/prompt
            from console.incident_rules import Context, cost_spike

            evals, _ = cost_spike(Context(model, mc, rows.filter(pl.col("ts") > start), start, now, None), rule)
            rule_spike = (rule, evals[-1] if evals else None)
        return {**windowed, "range": (wstart, now), "rule_spike": rule_spike,
                "windows": co.cost_windows(costed, now, (model,)),
                "budget": dataclasses.replace(co.budget_status(costed, now, mc.budget_usd_month, pace=co.PACE), model=model),
                "per_1k": co.cost_per_1k(inside, by), "spike": dataclasses.replace(co.cost_spike(costed, now), model=model),
                "hourly": co.hourly_cost_series(costed, now, hours=48),
                "llm": co.llm_usage(inside) if mc.task == "llm" else [],
                "tokens": {c: int(inside.get_column(c).cast(pl.Int64).fill_null(0).sum()) if c in inside.columns else 0
                           for c in ("input_tokens", "output_tokens")}, "source": "raw rows"}

    # ------------------------------------------------------------------ alerts and incidents

    def rules_for(self, model: str, quality: bool = True) -> list[AlertRule]:
        """The model's rules: configured ones plus the defaults from its config (analytics.rules). Only the
        quality rules need the expected level (a registry read); `quality=False` skips it for a screen that
        looks up another rule's threshold (the first one cost the MLflow import, seconds)."""
        mc = self.model_config(model)
        has_ref = mc.reference is not None and Path(mc.reference).is_file()
        return ru.rules_for(mc, self.cfg.alerts, self.cfg.drift_share, has_ref,
                            self.expected(model) if quality else None)

    EXPECTED_TTL_S = 60.0  # the champion can change (a rollback): its expected level is read again
    EXPECTED_RETRY_S = 15.0  # an unreachable registry is asked again, but not on every evaluation

    def expected(self, model: str) -> dict[str, float]:
        """The model's expected quality: its labelled reference (label and prediction columns), else the
        registry's run metric (`expected_levels`, set by the service); {} when neither is known. A level
        from the registry is kept a minute (it follows the champion), a failed read a few seconds."""
        with self._lock:
            kept = self._expected.get(model)
            if kept is not None and time.monotonic() < kept[1]:
                return kept[0]
        out: dict[str, float] = {}
        ttl = math.inf
        ref = self.reference_frame(model)
        if ref is not None and {"label", "prediction"} <= set(ref.columns):
            both = ref.select("label", "prediction").drop_nulls()
            if both.height:
                if self.model_config(model).task == "regression":
                    err = (both["prediction"].cast(pl.Float64) - both["label"].cast(pl.Float64)).abs()
                    out["mae"] = float(err.mean())
                else:
                    lab, pred = both["label"], both["prediction"]
                    ln, pn = lab.cast(pl.Float64, strict=False), pred.cast(pl.Float64, strict=False)
                    same = (ln == pn) if ln.null_count() == 0 and pn.null_count() == 0 else \
                        (lab.cast(pl.Utf8) == pred.cast(pl.Utf8))
                    out["accuracy"] = float(same.mean())
        if not out and self.expected_levels is not None:
            try:
                out = dict(self.expected_levels(model) or {})
                ttl = self.EXPECTED_TTL_S
            except Exception as exc:  # noqa: BLE001 - no registry: the quality rules cannot be evaluated
                out, ttl = {}, self.EXPECTED_RETRY_S
                why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                with self._lock:
                    self._expected_down[model] = why[:200]
            else:
                with self._lock:
                    self._expected_down.pop(model, None)
        with self._lock:
            self._expected[model] = (out, time.monotonic() + ttl)
        return out

    def expected_unknown(self, model: str) -> str | None:
        """Why the model's expected quality is unknown when the registry holding it did not answer (None when it
        answered, or is not asked): its quality rules are then not evaluated, which is not "no level logged"."""
        with self._lock:
            return self._expected_down.get(model)

    @_raw_if_folder_full
    def findings(self, models: list[str] | None = None, at: datetime | None = None) -> list[Finding]:
        """Every incident over the history (firing, resolved with evidence, or insufficient data), with its
        suspects (`incident_rules`); reads only, never acts: retraining is recommended (`recommendations`)."""
        out = self.incident_rules.findings(models or self.models(), at or self.clock())
        self.recommendations = self.incident_rules.recommendations
        return out

    def check(self) -> list[Finding]:
        return [f for f in self.findings() if f.firing]

    def last_seen(self, model: str, until: datetime, environment: str | None = None) -> datetime | None:
        return self.wh.last_seen(model, until, environment)


    def rows(self, model: str, since: datetime, until: datetime | None = None,
             environment: str | None = "production", columns: list[str] | None = None,
             narrow: list[str] | None = None) -> pl.DataFrame:
        """Rows in (since, until]: the kept frame when it covers them; up to `narrow_after` rows, the shared frame
        with every column (`predictions`); past that, `narrow` (default: all but the features only drift looks
        at), not kept: a week with every column costs gigabytes at fleet volumes (1.25 GB peak for `check` at
        1M rows, 0.73 GB so). A drift verdict passes its features as `narrow`."""
        until = until or self.clock()
        with self._lock:
            kept = self._kept((model, environment, self.wh.refreshes), since, until)
        if kept is not None:
            return kept
        if columns is not None:  # the caller knows what it reads: a projected read, not kept
            return self.typed_rows(model, since, until, environment, columns=columns)
        n = self.wh.model_rows_upto({"model": model, "since": since, "until": until, "environment": environment,
                                     "cap": self.narrow_after})
        if n < self.narrow_after:
            return self.predictions(model, since, until, environment)
        return self.typed_rows(model, since, until, environment,
                               columns=narrow if narrow is not None else self._narrow_columns(model))

    def _narrow_columns(self, model: str) -> list[str]:
        mc = self.model_config(model)
        drift_only = set(self.drift_features(model)) - {*CONTRACT_COLUMNS, *mc.segments, *mc.sensitive, *LLM_COLUMNS}
        return [c for c in dict.fromkeys((*CONTRACT_COLUMNS, *self.attributes(model))) if c not in drift_only]

    def priced_until(self, now: datetime) -> datetime:
        """Where a cost read ending at `now` reads to (`analytics.cost.priced_until`, by this view's wall clock)."""
        return co.priced_until(now, self.wall() if self.wall is not None else None)

    @_raw_if_folder_full
    def cost_today(self, model: str, environment: str = "production") -> float | None:
        """Spend since midnight: from the hourly rollups plus the open hour when `_use_rollups` says so (a day of
        a busy model), as `cost` reads it (`rollup_cost.today`), else from the day's raw rows."""
        from console.rollup_drift import US

        now = self.clock()
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if self._use_rollups(model, day - US, now, environment, None):
            from console import rollup_cost

            try:
                got = rollup_cost.today(self, model, environment)
            except Exception:  # noqa: BLE001 - a rollup folder that cannot be built or read: the raw rows still can
                got = None
            if got is not None:
                return got
        attrs = set(self.attributes(model))  # cached tokens count for an LLM only, as in every cost read
        upto = self.priced_until(now)
        rows = self.rows(model, day - timedelta(microseconds=1), upto, environment,
                         columns=[c for c in co.COST_INPUTS if c != "cached_tokens" or c in attrs])
        costed = co.with_cost(rows, self.model_config(model).prices).filter(pl.col("ts") <= now)
        windows = co.cost_windows(costed, now)
        return windows[0].today_usd if windows else 0.0  # no request since midnight: nothing spent (`cost` says 0 too)

    def overview_rows(self, models: list[str]) -> dict[str, tuple[datetime, pl.DataFrame]]:
        """(now, rows) `_drift_status` reads of each model (the last OVERVIEW_DRIFT_WINDOW, the reference's columns),
        from one scan of them all (`typed_rows_of`, as a rule pass reads its edge hours): read a model at a time,
        the same hours' row groups were decoded once per model (0.14-0.19 s of CPU against 0.06-0.07 s for the 1M
        fleet's three models). A model without a reference, or whose rows a kept frame covers (`rows` reads that),
        is left out; so are all when the scan fails: each then reads its own, and says its own failure."""
        now = self.clock()
        since = now - parse_window(OVERVIEW_DRIFT_WINDOW)
        reads = {}
        for m in models:
            try:
                ref = self.reference(m)
            except Exception:  # noqa: BLE001 - its own read says it (`overview_status`)
                continue
            with self._lock:
                kept = self._kept((m, "production", self.wh.refreshes), since, now)
            if ref is not None and kept is None:
                reads[m] = (["ts", "variant", *ref.columns], [(since, now)])
        if len(reads) < 2:
            return {}
        try:
            return {m: (now, frame) for m, frame in self.typed_rows_of(reads, "production").items()}
        except Exception:  # noqa: BLE001
            return {}

    @_raw_if_folder_full
    def overview_status(self, model: str, environments: tuple[str, ...] = ("production",),
                        drift_rows: tuple[datetime, pl.DataFrame] | None = None) -> tuple[str, dict[str, float | None]]:
        """(drift status in a few characters, cost today per environment) for the Overview's rows: each
        environment's cost priced as `cost` prices it (replica hours too), so a staging row says what its model
        page and `cost --environment staging` say (it said only the logged cost_usd, "-" beside $13.68).
        `drift_rows`: the (now, rows) `overview_rows` read for the DRIFT cell."""
        cost: dict[str, float | None] = {}
        for env in environments:
            try:
                cost[env] = self.cost_today(model, env)
            except Exception:  # noqa: BLE001
                cost[env] = None
        try:
            drift = self._drift_status(model, read=drift_rows)
        except Exception:  # noqa: BLE001
            drift = "error"
        return drift, cost

    def _drift_status(self, model: str, window: str = OVERVIEW_DRIFT_WINDOW,
                      read: tuple[datetime, pl.DataFrame] | None = None) -> str:
        """The dataset verdict over the last few hours or the last MIN_DRIFT_ROWS rows of the history,
        whichever is longer (the drift rule's evidence sizing): the Overview's DRIFT cell. A model too quiet to
        hold them in its history reaches back up to SPARSE_REACH, as its drift rule does (else the cell said
        "few rows" beside that rule's firing incident)."""
        ref = self.reference(model)
        if ref is None:
            return "no ref"
        now = self.clock() if read is None else read[0]
        # served rows, as the drift rule counts them (a shadow's copies are the same requests again)
        # only the columns scored (a kept wider frame still serves them): the whole rows of 6 h, request ids and
        # all, were most of a `snapshot`'s reading at 10M rows
        if read is None:
            read = (now, self.rows(model, now - parse_window(window), now, "production",
                                   columns=["ts", "variant", *ref.columns]))
        rows = he.served(read[1])
        if rows.height < MIN_DRIFT_ROWS:
            rows = he.served(self.predictions(model, self.history_start(now), now).select(
                ["ts", "variant", *ref.columns])).tail(MIN_DRIFT_ROWS)  # the filter copies only these columns
            if rows.height < MIN_DRIFT_ROWS:
                rows = he.served(self.typed_rows(model, now - SPARSE_REACH, now, "production",
                                                 columns=["ts", "variant", *ref.columns])).tail(MIN_DRIFT_ROWS)
            if rows.height < MIN_DRIFT_ROWS:
                return "few rows" if rows.height else "no data"
        ds = dataset_drift(ref, _drift_ready(rows.select(list(ref.columns))), self.cfg.drift_share)
        if not ds.n_evaluated:
            return "no data"
        return f"{'DRIFT' if ds.drifted else 'ok'} {ds.n_drifted}/{ds.n_evaluated}"



def _merged(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Ranges (a, b] sorted, those that meet or overlap joined."""
    out: list[list[datetime]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _range_params(ranges: list[tuple[datetime, datetime]]) -> dict:
    """`model_predictions_ranges`' eight ranges: those given, the rest empty ((t, t] holds no row)."""
    pad = [*ranges, *[(ranges[0][0] if ranges else datetime(1970, 1, 1),) * 2] * (8 - len(ranges))]
    return {**{f"a{i}": a for i, (a, _) in enumerate(pad)}, **{f"b{i}": b for i, (_, b) in enumerate(pad)}}


def _never_logged(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """`frame` with each of `names` it lacks as a column of Utf8 nulls: an attribute never logged reads as "no
    data" (every value null), the same in a wide read and a streamed one, not as a missing column."""
    missing = [n for n in names if n not in frame.columns]
    return frame.with_columns(pl.lit(None, dtype=pl.Utf8).alias(n) for n in missing) if missing else frame


def _sort_by_time(columns: list[pl.Series]) -> pl.DataFrame:
    """A frame's columns (held by this list only) sorted by `ts`, stably, a column at a time: each unsorted
    column is let go as its sorted copy is made, so the peak is the frame and one column, not two frames (a
    week's rows at fleet volume)."""
    ts = next(c for c in columns if c.name == "ts")
    order = pl.Series(np.argsort(ts.to_physical().to_numpy(), kind="stable"))
    del ts
    for i in range(len(columns)):
        columns[i] = columns[i].gather(order)
    return pl.DataFrame(columns).with_columns(pl.col("ts").set_sorted())


def _covers(span: tuple, since: datetime, until: datetime) -> bool:
    """A kept or in-flight read, (since, until, ...), holds every row of (since, until]."""
    return span[0] <= since and until <= span[1]


def _typed(column: pl.Series) -> pl.Series:
    """Attribute strings from JSON become numbers or booleans where every value parses."""
    present = column.is_not_null().sum()
    if present == 0:
        return column
    sample = column.drop_nulls().head(64)  # a category's name fails both tests on its first values: stop there
    if sample.cast(pl.Float64, strict=False).null_count() and \
            not sample.str.to_lowercase().is_in(["true", "false"]).all():
        return column
    as_num = column.cast(pl.Float64, strict=False)
    if as_num.is_not_null().sum() == present:
        return as_num
    lower = column.str.to_lowercase()
    if lower.is_in(["true", "false"]).sum() == present:
        return lower == "true"
    return column

