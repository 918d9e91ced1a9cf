"""Monitoring as the service sees it: warehouse rows in, analytics results out.

This is the glue between `warehouse` (named queries) and `analytics/` (plain functions): it
unpacks each model's features from the JSON rows, keeps the prepared drift references, and turns
rule breaches over time into incidents with their suspects. No Textual, no MLflow.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from console import rollup_spec
from console.analytics import alerts as al
from console.analytics import drift_windows as dw
from console.analytics import evidence as ev
from console.analytics import rules as ru
from console.analytics import cost as co
from console.analytics import fairness as fa
from console.analytics import health as he
from console.analytics import incidents as inc
from console.analytics import quality as qu
from console.analytics.drift import Reference, dataset_drift, drift_over_time, histograms, single_column_drift
from console.analytics.windows import format_span, parse_window
from console.config import AlertRule, Config, ModelConfig
from console.rollup_spec import drift_ready as _drift_ready
from console.warehouse import Warehouse

CONTRACT_COLUMNS = ("ts", "model", "version", "environment", "variant", "request_id", "prediction", "prediction_num",
                    "score", "latency_ms", "is_error", "input_tokens", "output_tokens", "cost_usd")
LLM_COLUMNS = ("prompt_version", "refused", "guardrail_blocked", "factuality", "cached_tokens")
TARGET_COLUMNS = ["ts", "request_id", "prediction", "prediction_num"]  # what prediction and label drift read
WINDOWS = ("1h", "6h", "24h", "7d")
HISTORY = "7d"
FRAME_BUDGET = 256 << 20  # bytes of read frames kept for reuse; a fleet's 7-day frames would not fit in memory
SEGMENT_GAP = 0.15  # a segment this much worse than the model overall is an incident of its own
MIN_BUCKET_ROWS = 100  # fewer rows than this in a window: its rate is noise, not evidence
FOLD_CHUNK_ROWS = 1_000_000  # the drift rules read a long history in time-ordered chunks of about this many rows
MIN_DRIFT_ROWS = 500  # normed Wasserstein reads sampling noise as drift on a few hundred rows
MIN_LABELS = 200  # labelled rows a quality verdict needs (an 8-point drop is then 2.7 standard errors)
MIN_COST_ROWS = 50  # requests on each side of a version or prompt change before a cost ratio is evidence
MIN_SEGMENT_LABELS = 200  # labelled rows a segment needs before it can be an incident
DRIFT_STEP = timedelta(hours=3)  # drift verdicts at most every 3 h (each costs a full drift test)
# Past this many rows a read (a model's history, a long window) leaves out the features only drift looks at:
# its rules, health, quality and cost read the contract columns, segments and LLM fields (`Monitor.rows`).
NARROW_AFTER = 200_000
ROLLUPS_AFTER = 200_000  # `[rollups] min_rows` when a caller passes no Config: rows past which long reads use rollups
DRIFT_MIN_SPAN = "6h"  # a drift window is at least this long (and at least MIN_DRIFT_ROWS rows)
SUSPECT_LOOKBACK = "24h"  # changes this long before the evidence can be suspects
BASELINE = timedelta(days=2)  # accuracy and MAE are compared with the first two days of the history
DRIFT_EVERY = "3h"
OVERVIEW_DRIFT_WINDOW = "6h"
DRIFT_METRICS = ("drift_share", "feature_drift")
RETRAIN_METRICS = ("drift_share", "feature_drift", "accuracy_drop", "mae_increase")
RETRAIN_AFTER = 3  # windows in a row before retraining is recommended
RETRAIN_COOLDOWN = "24h"


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

    def to_dict(self) -> dict:
        cols = sorted(self.dataset.columns, key=_severity) if self.dataset is not None else []
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
        }


def _severity(c) -> tuple:
    """Drifted first; then by how far past its threshold (p-values: smaller is worse)."""
    import math

    score = c.score if c.score is not None and not (isinstance(c.score, float) and math.isnan(c.score)) else None
    if score is None:
        return (2, 0.0, c.column)
    badness = (c.threshold - score) if c.direction.startswith("p") else (score - c.threshold)
    return (0 if c.drifted else 1, -badness, c.column)


@dataclass(frozen=True)
class Finding:
    """One incident: a rule that breached over a run of buckets, with what changed before it."""

    id: str
    model: str
    kind: str  # the rule's metric, or "segment"
    rule: str
    severity: str
    onset: datetime
    end: datetime | None  # None while it is still firing
    value: float | None
    threshold: float | None
    feature: str | None = None
    segment: dict | None = None
    suspects: tuple = ()  # analytics.incidents.Suspect
    first_drifted: tuple[str, ...] = ()  # drifted features, by how far they moved, largest first
    detail: str = ""
    state: str = ""  # firing | resolved | insufficient data (analytics.evidence); "" = by `end`
    window: str = ""  # the rule's window (evaluation windows are at least this long)
    detected: datetime | None = None  # when the evidence was there (the first breaching window's end)
    evidence: str = ""  # the latest evaluation: value, interval, count
    ack: object | None = None  # actions.acks.Ack: someone acknowledged it (set by the service)

    @property
    def firing(self) -> bool:
        return self.state == ev.FIRING if self.state else self.end is None

    @property
    def needs_attention(self) -> bool:
        """Firing and nobody acknowledged it: what `check` fails on."""
        return self.firing and self.ack is None

    @property
    def status(self) -> str:
        return self.state or (ev.FIRING if self.end is None else ev.RESOLVED)

    def to_dict(self) -> dict:
        return {
            "id": self.id, "model": self.model, "kind": self.kind, "rule": self.rule, "severity": self.severity,
            "onset": self.onset.isoformat() + "Z", "end": self.end.isoformat() + "Z" if self.end else None,
            "firing": self.firing, "state": self.status, "window": self.window, "evidence": self.evidence,
            "detected": self.detected.isoformat() + "Z" if self.detected else None, "value": self.value, "threshold": self.threshold, "feature": self.feature,
            "segment": self.segment, "first_drifted": list(self.first_drifted), "detail": self.detail,
            "acknowledged": self.ack.to_dict() if self.ack is not None else None,
            "suspects": [{"kind": s.kind, "ts": s.ts.isoformat() + "Z", "detail": s.detail} for s in self.suspects],
        }


class Monitor:
    def __init__(self, cfg: Config, warehouse: Warehouse, clock: Callable[[], datetime]):
        self.cfg, self.wh, self.clock = cfg, warehouse, clock
        self._refs: dict[str, Reference | None] = {}
        self._ref_frames: dict[str, pl.DataFrame] = {}
        self._frames: dict[tuple, tuple[datetime, datetime, pl.DataFrame]] = {}  # (model, env, store version)
        self._reading: dict[tuple, tuple] = {}  # the same key -> (since, until, Event) of a read in flight
        self._lock = threading.Lock()
        self._expected: dict[str, tuple[dict[str, float], float]] = {}  # model -> (levels, monotonic expiry)
        self.expected_levels: Callable[[str], dict] | None = None  # model -> {"accuracy": x} from the registry
        self.recommendations: list = []  # analytics.incidents.Recommendation, from the last findings()
        self.since: datetime | None = None  # start of the incident history; None: HISTORY before now
        self._sketch_drift = None
        self.narrow_after = NARROW_AFTER
        self.rollups_after = getattr(cfg, "rollups_min_rows", ROLLUPS_AFTER)

    @property
    def sketch_drift(self):
        """Drift from the hourly rollups (created on first use; keeps the reference's sketches)."""
        with self._lock:
            if self._sketch_drift is None:
                from console.rollup_drift import RollupDrift

                self._sketch_drift = RollupDrift(self)
            return self._sketch_drift

    def history_start(self, now: datetime) -> datetime:
        return self.since if self.since is not None and self.since < now else now - parse_window(HISTORY)

    # ------------------------------------------------------------------ frames

    def models(self) -> list[str]:
        seen = [r[0] for r in self.wh.rows("models_seen")]
        return sorted(set(seen) | set(self.cfg.models))

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
                   columns: list[str] | None = None) -> pl.DataFrame:
        """Rows in (since, until] sorted by time, attributes typed (and present, as nulls, when never logged);
        `columns` projects the read (default: the contract and the model's attributes). Not kept for reuse:
        the rollup builds and the narrow reads of long windows go through here."""
        attrs = self.attributes(model)
        wanted = list(dict.fromkeys(["ts", *(columns if columns is not None else [*CONTRACT_COLUMNS, *attrs])]))
        frame = self.wh.frame("model_predictions", {  # an LLM's features include its token counts
            "model": model, "since": since, "until": until, "environment": environment}, columns=wanted)
        if frame["ts"].is_sorted():  # logs written in time order come back in it: said, so no sort copies them
            frame = frame.with_columns(pl.col("ts").set_sorted())
        else:
            columns = frame.get_columns()
            del frame  # the columns are held once, by the list the sort replaces them in
            frame = _sort_by_time(columns)
        typed = [n for n in wanted if n in attrs]
        cols = [_typed(frame.get_column(n)) for n in typed if n in frame.columns and frame.schema[n] == pl.Utf8]
        return _never_logged(frame.with_columns(cols) if cols else frame, typed)

    def feature_batches(self, model: str, since: datetime, until: datetime, feats: list[str],
                        environment: str | None = "production"):
        """The drift features of rows in (since, until] as the store streams them (no order), drift-ready,
        with a feature never logged present as nulls (as `typed_rows` gives it)."""
        params = {"model": model, "since": since, "until": until, "environment": environment}
        for batch in self.wh.batches("model_predictions", params, columns=["ts", *feats]):
            yield _drift_ready(_never_logged(pl.from_arrow(batch), feats).select(["ts", *feats]))

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

    def drift_features(self, model: str) -> list[str]:
        """The features drift is tested on: `ignore = true` drops seasonal ones such as hour of day."""
        return rollup_spec.drift_features(self.model_config(model), self.features(model))

    def reference(self, model: str) -> Reference | None:
        if model not in self._refs:  # the rollups are shaped by the same reference (rollup_spec)
            self._refs[model] = rollup_spec.drift_reference(self.model_config(model), self.reference_frame(model))
        return self._refs[model]

    # ------------------------------------------------------------------ drift

    def drift(self, model: str, window: str = "24h", every: str | None = None,
              environment: str | None = "production", series: bool = True, exact: bool | None = None,
              target: bool = True) -> DriftReport:
        """The window's drift against the reference; `series` adds each feature's score per bucket over the
        history (the Drift screen's trend), which costs a comparison per bucket and feature; `target` adds
        prediction and label drift (a label join: two thirds of a day's verdicts; the screens do not show it).

        A window longer than `rollup_drift.SKETCH_AFTER` is scored from the hourly rollups (each score with its
        error bound, "borderline" when the bound straddles the threshold) unless `exact`; `exact=False` asks
        for sketches on any window."""
        from console.rollup_drift import SKETCH_AFTER

        now = self.clock()
        if every is None and (exact is False or (exact is None and parse_window(window) > SKETCH_AFTER and
                                                 self._many_rows(model, now - parse_window(window), now,
                                                                 environment))):
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
        rows = self.predictions(model, now - history, now, environment) if series else None
        current = rows.filter(pl.col("ts") > now - span) if rows is not None else \
            self.rows(model, now - span, now, environment, narrow=[*feats, *(TARGET_COLUMNS if target else ())])
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
        return DriftReport(model, format_span(window), now, ds, points, windows, prediction, len(self.reference_frame(model)),
                           label=label)

    def _target_drift(self, model: str, rows: pl.DataFrame, now: datetime, span: timedelta, start: datetime,
                      environment: str | None):
        """Prediction drift and label drift: the current window against the baseline window (the first two
        days of the history), since reference files rarely carry predictions or labels."""
        base_end = start + BASELINE
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

    def histograms(self, model: str, feature: str, window: str = "24h"):
        now = self.clock()
        ref = self.reference(model)
        if ref is None or feature not in ref.columns:
            return None
        rows = self.predictions(model, now - parse_window(window), now)
        return histograms(ref, _drift_ready(rows.select([feature])), feature)

    # ------------------------------------------------------------------ health, quality, cost

    def health(self, model: str, window: str = "1h", environment: str | None = "production") -> dict:
        """The window's table and chart, and the SLO burn. A window longer than `rollup_drift.SKETCH_AFTER` is
        read from the hourly rollups plus its raw edge hours (`rollup_health`: counts exact, percentiles from
        sketches, said in "note"); the SLO's own windows are hours and stay raw."""
        from console.rollup_drift import SKETCH_AFTER

        now = self.clock()
        mc = self.model_config(model)
        span = parse_window(window)  # the chart follows the window: about 48 buckets across it
        every = next((e for e in ("1m", "5m", "10m", "30m", "1h", "3h", "6h", "12h") if parse_window(e) * 48 >= span),
                     "1d")
        sketched = None
        if span > SKETCH_AFTER and self._many_rows(model, now - span, now, environment):
            from console import rollup_health

            preds = self.rows(model, now - max(parse_window(mc.slo.long_window), timedelta(hours=24)), now,
                              environment)
            sketched = rollup_health.health(self, model, now - span, now, environment, every, preds)
        if sketched is None:
            long = max(span, parse_window(mc.slo.long_window), timedelta(hours=24))
            preds = self.rows(model, now - long, now, environment)
        burn = ru.rule_for(self.rules_for(model, quality=False), "burn_rate")  # the same threshold the alert fires at
        factor = burn.threshold if burn is not None else he.DEFAULT_BURN_FACTOR
        out = {"slo": he.slo_status(preds, mc.slo, now, factor), "burn_rule": burn, "range": (now - span, now),
               "every": every}
        if sketched is not None:
            table, series, note, eps = sketched
            return {"table": table, **out, "series": series, "note": note, "rank_error": eps}
        return {"table": he.health_table(preds, now, window, ("version", "variant")), **out,
                "series": he.health_series(preds.filter(pl.col("ts") > now - span), every, ())}

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

    def _many_rows(self, model: str, since: datetime, until: datetime, environment: str | None) -> bool:
        """At least `rollups_after` rows in (since, until]: a long drift or health window then reads the rollups
        (whatever is in memory: a screen's method must not depend on what another screen read before)."""
        n = self.wh.one("model_rows_upto", {"model": model, "since": since, "until": until,
                                            "environment": environment, "cap": self.rollups_after})
        return bool(n) and n[0] >= self.rollups_after

    def quality(self, model: str, window: str = "24h", environment: str | None = "production",
                rollups: bool | None = None) -> dict:
        """The window's quality, the 6 h series and the per-version table over the history. From the hourly
        rollups plus raw edge hours when `_use_rollups` says so (`rollup_quality`, said in "source" and "note";
        ROC AUC is then read from score buckets, within the stated `roc_auc_bound`)."""
        now = self.clock()
        since = min(self.history_start(now), now - parse_window(window))
        if self._use_rollups(model, since, now, environment, rollups):
            from console import rollup_quality

            out = rollup_quality.quality(self, model, window, environment)
            if out is not None:
                return out
        now, mc, task, joined = self._labelled_history(model, environment, since)
        history = joined.filter(pl.col("ts") > self.history_start(now))
        return {"now": qu.quality(joined, task, mc.positive_label, now, window),
                "series": qu.quality_series(history, task, mc.positive_label, "6h"),
                "by_version": qu.quality_table(history, task, mc.positive_label, ("version",)),
                "joined": joined, "source": "raw rows"}

    def fairness(self, model: str, environment: str | None = "production", span: timedelta | None = None) -> dict:
        """Over the history, or over `span` ending now (the CLI's --window, which its output names)."""
        since = None if span is None else self.clock() - span
        _, mc, task, joined = self._labelled_history(model, environment, since)
        cols = list(dict.fromkeys([*mc.segments, *mc.sensitive]))
        return {"segments": fa.segments(joined, cols, task, mc.positive_label) if cols else [],
                "worst": fa.worst_segment(joined, cols, task, mc.positive_label) if cols else None,
                "gaps": {c: fa.fairness_gaps(joined, c, mc.positive_label) for c in mc.sensitive}
                if task == "classification" else {}}

    def cost(self, model: str, environment: str | None = "production", rollups: bool | None = None) -> dict:
        """Spend today, this week and this month, the budget, cost per 1k by version (and prompt), the hourly
        view and spikes. From the hourly rollups plus raw edge hours when `_use_rollups` says so
        (`rollup_cost`: the same numbers, said in "note")."""
        now = self.clock()
        mc = self.model_config(model)
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        start = self.history_start(now)
        if self._use_rollups(model, min(month_start, start), now, environment, rollups):
            from console import rollup_cost

            out = rollup_cost.cost(self, model, environment)
            if out is not None:
                return out
        rows = self.rows(model, min(month_start, start), now, environment)  # the month and the history, one read
        costed = co.with_cost(rows, mc.prices)
        recent = costed.filter(pl.col("ts") > start)
        by = ("version", "prompt_version") if "prompt_version" in costed.columns else ("version",)
        rule = ru.rule_for(self.rules_for(model, quality=False), "cost_spike")
        rule_spike = None
        if rule is not None:  # the alert's own definition: cost per request against the previous version/prompt
            ctx = _Context(model, mc, rows.filter(pl.col("ts") > start), start, now, None)
            evals, _ = self._cost_spike(ctx, rule)
            rule_spike = (rule, evals[-1] if evals else None)
        return {"rule_spike": rule_spike,
                "windows": co.cost_windows(costed, now), "budget": co.budget_status(costed, now, mc.budget_usd_month, pace=co.PACE),
                "per_1k": co.cost_per_1k(recent, by), "spike": co.cost_spike(costed, now),
                "hourly": co.hourly_cost_series(costed, now, hours=48),
                "llm": co.llm_usage(recent) if mc.task == "llm" else [],
                "tokens": {c: int(rows.get_column(c).cast(pl.Int64).fill_null(0).sum()) if c in rows.columns else 0
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
            except Exception:  # noqa: BLE001 - no registry: quality rules say "insufficient data"
                out, ttl = {}, self.EXPECTED_RETRY_S
        with self._lock:
            self._expected[model] = (out, time.monotonic() + ttl)
        return out

    def findings(self, models: list[str] | None = None, at: datetime | None = None) -> list[Finding]:
        """Every incident over the history (firing, resolved with evidence, or insufficient data), with its
        suspects; reads only, never acts (retraining is recommended, not triggered). A model with at least
        `rollups_after` rows in the history is evaluated from the hourly rollups (`rollup_rules`)."""
        now = at or self.clock()
        out: list[Finding] = []
        self._recs: list = []
        for model in models or self.models():
            try:
                out += self._model_findings(model, now)
            except Exception as exc:  # noqa: BLE001 - one model's bad data must not hide the others
                out.append(Finding(f"{model}:error", model, "error", "evaluation failed", "warning", now, now,
                                   None, None, detail=f"{type(exc).__name__}: {exc}", state=ev.INSUFFICIENT))
        out.sort(key=lambda f: (not f.firing, f.state == ev.INSUFFICIENT, -f.onset.timestamp()))
        self.recommendations = self._recs
        return out

    def check(self) -> list[Finding]:
        return [f for f in self.findings() if f.firing]

    def last_seen(self, model: str, until: datetime) -> datetime | None:
        try:
            rows = self.wh.rows("model_last_seen", {"model": model, "until": until})
        except Exception:  # noqa: BLE001 - a store without the query: look at the history only
            return None
        return rows[0][0] if rows and rows[0][0] is not None else None

    def _model_findings(self, model: str, now: datetime) -> list[Finding]:
        mc = self.model_config(model)
        since = self.history_start(now)
        rules = self.rules_for(model)
        deployments = self.deployments(model, until=now)
        if deployments.height and "environment" in deployments.columns:  # the findings are production's
            deployments = deployments.filter(pl.col("environment").is_null() | (pl.col("environment") == "production"))
        if self._rules_from_rollups(model, since, now):
            return self._rollup_findings(model, mc, since, now, rules, deployments)
        preds, narrow = self._rule_rows(model, since, now)
        found: list[Finding] = []
        ctx = _Context(model, mc, preds, since, now, deployments, narrow)
        for rule in rules:
            if rule.metric == "stale_minutes":
                found += self._stale(ctx, rule)
                continue
            if preds.height == 0:
                continue
            evals, extra = self._evaluate(ctx, rule)
            found += self._to_findings(ctx, rule, evals, extra)
        if preds.height and (mc.segments or mc.sensitive):
            found += self._segment_findings(model, mc, ctx.joined(self), deployments, preds, now)
        return found

    def _rules_from_rollups(self, model: str, since: datetime, now: datetime) -> bool:
        """The rules read the hourly rollups (`rollup_rules`) past `rollups_after` (`[rollups] min_rows`) rows in
        the history, unless the history is in memory already: the rule cost and quality follow."""
        return self._use_rollups(model, since, now, "production", None)

    def _rollup_findings(self, model: str, mc: ModelConfig, since: datetime, now: datetime, rules: list,
                         deployments: pl.DataFrame) -> list[Finding]:
        """The findings of `_model_findings` with every rule's evaluations from the hourly rollups plus the raw
        open hour and window edges (`rollup_rules`); the onset and suspects from narrow raw reads of the
        first breaching windows; segments from a narrow raw read of label-joined rows."""
        from console import rollup_rules as rr

        expected = self.expected(model)
        labels = any((r.metric == "accuracy_drop" and "accuracy" in expected) or
                     (r.metric == "mae_increase" and "mae" in expected) for r in rules)
        src = rr.RollupRules(self, model, since, now, labels=labels,
                             drift=any(r.metric in DRIFT_METRICS for r in rules))
        llm = rollup_spec.PROMPT in self.attributes(model)
        found: list[Finding] = []
        drifts: dict[tuple, dict] = {}
        for rule in rules:
            if rule.metric == "stale_minutes":
                ts = self.typed_rows(model, since, now, "production", columns=["ts"])
                found += self._stale(_Context(model, mc, ts, since, now, deployments, True), rule)
                continue
            evals, extra = self._rollup_evaluate(src, rule, expected, drifts)
            runs = ev.runs(evals, rule.op, min_count=2 if rule.metric in DRIFT_METRICS else 1)
            if llm and runs:  # prompt changes as suspects: the history's prompt versions, narrow
                ranges = [(since, now)]
            else:
                ranges = [(r.window_start - (r.onset - r.window_start), r.onset) for r in runs
                          if rule.metric not in DRIFT_METRICS]
            extra_cols = ["refused", rollup_spec.PROMPT] if llm else []
            preds = src.onset_rows(ranges, extra_cols)
            found += self._to_findings(_Context(model, mc, preds, since, now, deployments, True), rule, evals, extra)
        if mc.segments or mc.sensitive:
            cols = ["ts", "model", "version", "request_id", "prediction", "prediction_num", "score",
                    *dict.fromkeys([*mc.segments, *mc.sensitive])]
            preds = self.typed_rows(model, since, now, "production", columns=cols)
            if preds.height:
                found += self._segment_findings(model, mc, self.joined(model, preds, since, now), deployments,
                                                preds, now)
        return found

    def _rollup_evaluate(self, src, rule: AlertRule, expected: dict, drifts: dict) -> tuple[list, dict]:
        """`_evaluate` of one rule from the rollups (`rollup_rules.RollupRules`)."""
        span, metric = parse_window(rule.window), rule.metric
        if metric in ("p95_ms", "error_rate", "burn_rate"):
            return src.rate(metric, span, rule.op, rule.threshold, MIN_BUCKET_ROWS), {}
        if metric == "refusal_rate":  # no rollup column holds refusals: their column alone, raw
            if "refused" not in self.attributes(src.model):
                return [], {"note": "no refused column in the log"}
            rows = self.typed_rows(src.model, src.since, src.now, "production", columns=["ts", "refused"])
            spans = ev.windows(rows["ts"], src.now, span, MIN_BUCKET_ROWS, src.since)
            return ev.rate_evaluations(rows, spans, pl.col("refused").cast(pl.Float64).mean(), rule.op,
                                       rule.threshold, MIN_BUCKET_ROWS, True), {}
        if metric in ("accuracy_drop", "mae_increase"):
            key = "accuracy" if metric == "accuracy_drop" else "mae"
            if expected.get(key) is None:
                return [], {"note": f"no expected {key}: log it on the registry run or add label and prediction "
                                    "columns to the reference"}
            return src.accuracy(metric, span, expected[key], rule.threshold, MIN_LABELS), {"expected": expected[key]}
        if metric in DRIFT_METRICS:
            if self.reference(src.model) is None:
                return [], {"note": "no reference data"}
            span = max(span, parse_window(DRIFT_MIN_SPAN))
            step = max(span / 2, DRIFT_STEP)
            windows = src.windows(span, MIN_DRIFT_ROWS, step=step)
            key = tuple((w.lo, w.hi) for w in windows)
            if key not in drifts:  # every drift rule of a model reads the same windows: scored once
                drifts[key] = src.drift_scores([w for w in windows if w.rows >= MIN_DRIFT_ROWS])
            spans = [(w.lo, w.hi, w.rows) for w in windows]
            evals, extra = self._drift_evals(rule, spans, drifts[key])
            hours = [e for e in (w.hi for w in windows[-3:-1])]  # the step between the hour-aligned ends
            extra["step"] = hours[1] - hours[0] if len(hours) == 2 else span
            return evals, extra
        if metric == "cost_spike":
            return src.cost_spike(rule.op, rule.threshold, MIN_COST_ROWS)
        if metric == "cost_budget_share":
            return src.budget(rule.op, rule.threshold, MIN_COST_ROWS, DRIFT_STEP), {
                "note": "no budget or no spend this month"}
        return [], {"note": f"metric {metric} is not evaluated"}

    def _rule_rows(self, model: str, since: datetime, now: datetime) -> tuple[pl.DataFrame, bool]:
        """The history the rules read, and whether it lacks the features only drift looks at (then the drift
        rules read those alone, once: `_Context.features`)."""
        rows = self.rows(model, since, now)
        return rows, not set(self.drift_features(model)) <= set(rows.columns)

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
        n = self.wh.one("model_rows_upto", {"model": model, "since": since, "until": until,
                                            "environment": environment, "cap": self.narrow_after})
        if not n or n[0] < self.narrow_after:
            return self.predictions(model, since, until, environment)
        return self.typed_rows(model, since, until, environment,
                               columns=narrow if narrow is not None else self._narrow_columns(model))

    def _narrow_columns(self, model: str) -> list[str]:
        mc = self.model_config(model)
        drift_only = set(self.drift_features(model)) - {*CONTRACT_COLUMNS, *mc.segments, *mc.sensitive, *LLM_COLUMNS}
        return [c for c in dict.fromkeys((*CONTRACT_COLUMNS, *self.attributes(model))) if c not in drift_only]

    # ------------------------------------------------------------------ one rule over the history

    def _evaluate(self, ctx: "_Context", rule: AlertRule) -> tuple[list, dict]:
        """Evaluations of one rule over evidence-sized windows, and what its findings need besides."""
        preds, mc, now = ctx.preds, ctx.mc, ctx.now
        span = parse_window(rule.window)
        metric = rule.metric
        lat = pl.col("latency_ms").cast(pl.Float64).fill_nan(None)
        if metric in ("p95_ms", "error_rate", "burn_rate", "refusal_rate"):
            if metric == "refusal_rate" and "refused" not in preds.columns:
                return [], {"note": "no refused column in the log"}
            spans = ev.windows(preds["ts"], now, span, MIN_BUCKET_ROWS, ctx.since)
            expr, proportion = {
                "p95_ms": (lat.quantile(0.95, interpolation="linear"), False),
                "error_rate": (pl.col("is_error").cast(pl.Float64).mean(), True),
                "burn_rate": (_burn_expr(mc.slo), False),
                "refusal_rate": (pl.col("refused").cast(pl.Float64).mean(), True),
            }[metric]
            return ev.rate_evaluations(preds, spans, expr, rule.op, rule.threshold, MIN_BUCKET_ROWS, proportion), {}
        if metric in ("accuracy_drop", "mae_increase"):
            key = "accuracy" if metric == "accuracy_drop" else "mae"
            expected = self.expected(ctx.model).get(key)
            if expected is None:
                return [], {"note": f"no expected {key}: log it on the registry run or add label and prediction "
                                    "columns to the reference"}
            labelled = ctx.joined(self).filter(pl.col("label").is_not_null())
            spans = ev.windows(labelled["ts"], now, span, MIN_LABELS, ctx.since)
            fn = ev.accuracy_evaluations if metric == "accuracy_drop" else ev.mae_evaluations
            return fn(labelled, spans, expected, rule.threshold, MIN_LABELS), {"expected": expected}
        if metric in DRIFT_METRICS:
            return self._drift_evaluations(ctx, rule, span)
        if metric == "cost_spike":
            return self._cost_spike(ctx, rule)
        if metric == "cost_budget_share":
            return self._budget_evaluations(ctx, rule), {"note": "no budget or no spend this month"}
        return [], {"note": f"metric {metric} is not evaluated"}

    def _drift_evaluations(self, ctx: "_Context", rule: AlertRule, span: timedelta) -> tuple[list, dict]:
        ref = self.reference(ctx.model)
        if ref is None:
            return [], {"note": "no reference data"}
        span = max(span, parse_window(DRIFT_MIN_SPAN))
        spans = ev.windows(ctx.preds["ts"], ctx.now, span, MIN_DRIFT_ROWS, ctx.since, step=max(span / 2, DRIFT_STEP))
        scored = ctx.window_drifts(self, ref, [(lo, hi) for lo, hi, n in spans if n >= MIN_DRIFT_ROWS])
        evals, extra = self._drift_evals(rule, spans, scored)
        extra["step"] = spans[-1][1] - spans[-2][1] if len(spans) > 1 else span
        return evals, extra

    @staticmethod
    def _drift_evals(rule: AlertRule, spans: list, scored: dict) -> tuple[list, dict]:
        """A drift rule's evaluations from each window's dataset drift (`scored`, keyed by (start, end)),
        whether the exact fold or the rollups scored it."""
        evals, reports = [], {}
        for lo, hi, n in spans:
            if n < MIN_DRIFT_ROWS:
                evals.append(ev.Evaluation(lo, hi, n, None, None, note=f"{n} rows, needs {MIN_DRIFT_ROWS}"))
                continue
            ds = scored[(lo, hi)]
            reports[hi] = ds
            if not ds.n_evaluated:
                evals.append(ev.Evaluation(lo, hi, n, None, None, note="no feature evaluated"))
                continue
            if rule.metric == "feature_drift":
                c = next((c for c in ds.columns if c.column == rule.feature), None) if rule.feature else None
                value = (1.0 if c.drifted else 0.0) if c is not None else float(ds.n_drifted)
                breach = bool(c.drifted) if c is not None else ds.n_drifted > rule.threshold
            else:
                value, breach = ds.share, al.breaches(rule.op, ds.share, rule.threshold)
            evals.append(ev.Evaluation(lo, hi, n, value, breach,
                                       note=f"{ds.n_drifted}/{ds.n_evaluated} features drifted on {n} rows"))
        return evals, {"drift": reports}

    def _cost_spike(self, ctx: "_Context", rule: AlertRule) -> tuple[list, dict]:
        """Cost per request since the last change (version or prompt) against the one before it."""
        costed = co.with_cost(ctx.preds, ctx.mc.prices).sort("ts")
        key = "prompt_version" if "prompt_version" in costed.columns and costed["prompt_version"].null_count() < costed.height \
            else "version"
        serving = costed.filter(pl.col("variant").is_in(["champion", "blue", "green"]) | pl.col("variant").is_null()) \
            if "variant" in costed.columns else costed
        if serving.height == 0:
            return [], {"note": "no champion traffic"}
        keys = serving[key].cast(pl.Utf8).fill_null("")
        changed = (keys != keys.shift(1)).fill_null(False)
        # a change is where the serving version/prompt takes over for good (majority over the next rows)
        segments = serving.with_columns(keys.alias("_k"), changed.cum_sum().alias("_seg"))
        per = (segments.group_by("_seg", maintain_order=True)
               .agg(pl.col("_k").first(), pl.col("ts").min().alias("start"), pl.col("ts").max().alias("end"),
                    pl.len().alias("n"), pl.col(co.COST).sum().alias("cost")))
        return ev.unit_cost_evaluations(per, key, rule.op, rule.threshold, MIN_COST_ROWS)

    def _budget_evaluations(self, ctx: "_Context", rule: AlertRule) -> list:
        """The month-end forecast (spend so far plus the last day's pace) every DRIFT_STEP over the history,
        so the incident starts when the forecast crossed the budget, not at the start of the month."""
        budget = ctx.mc.budget_usd_month
        if not budget:
            return []
        month_start, _ = co.month_bounds(ctx.since)
        preds = self.rows(ctx.model, min(month_start, ctx.since), ctx.now)
        costed = co.with_cost(preds, ctx.mc.prices).sort("ts")
        rows = ev.Sorted(costed)
        evals, hi = [], ctx.now
        while hi > ctx.since + co.PACE:
            status = co.budget_status(costed, hi, budget, pace=co.PACE)
            n = rows.slice(hi - co.PACE, hi).height
            value = status.projected_share
            if n < MIN_COST_ROWS or value is None:
                evals.append(ev.Evaluation(hi - co.PACE, hi, n, None, None, note=f"{n} requests, needs {MIN_COST_ROWS}"))
            else:
                evals.append(ev.Evaluation(hi - co.PACE, hi, n, value, al.breaches(rule.op, value, rule.threshold),
                                           note=f"projected ${status.projected_usd:,.0f} of ${budget:,.0f} "
                                                f"(${status.spent_usd:,.0f} spent, then the last 24 h's pace)"))
            hi -= DRIFT_STEP
        return evals[::-1]

    def _stale(self, ctx: "_Context", rule: AlertRule) -> list[Finding]:
        last = ctx.preds["ts"].max() if ctx.preds.height else self.last_seen(ctx.model, ctx.now)
        if last is None:
            return []
        limit = timedelta(minutes=rule.threshold) if rule.threshold > 0 else None
        stale, minutes, allowed = ev.staleness(last, ctx.preds["ts"], ctx.now, limit)
        if not stale:
            return []
        return [Finding(f"{ctx.model}:stale", ctx.model, "stale_minutes", rule.name, rule.severity, last, None,
                        minutes, allowed.total_seconds() / 60, state=ev.FIRING, window=rule.window,
                        detail=f"no rows for {_duration(ctx.now - last)} (allowed {_duration(allowed)}); "
                               f"newest row {last:%Y-%m-%d %H:%M}Z")]

    def _to_findings(self, ctx: "_Context", rule: AlertRule, evals: list, extra: dict) -> list[Finding]:
        model = ctx.model
        if not evals or all(e.breach is None for e in evals):
            latest = evals[-1] if evals else None
            note = extra.get("note") or (latest.note if latest else "no rows in the window")
            return [Finding(f"{model}:{rule.name}:insufficient", model, rule.metric, rule.name, rule.severity,
                            ctx.now, None, None, rule.threshold, state=ev.INSUFFICIENT, window=rule.window,
                            evidence=note, detail=f"insufficient data: {note}")]
        out = []
        onset = None
        for run in ev.runs(evals, rule.op, min_count=2 if rule.metric in DRIFT_METRICS else 1):
            onset, feature, first, detail_extra = self._onset(ctx, rule, run, extra)
            state = al.AlertState(rule, model, run.peak, run.end is None, onset)
            suspects = self._suspects(ctx, state, onset, run.onset)
            last = run.last
            interval = f" [{last.low:.3g}, {last.high:.3g}]" if last.low is not None and last.high is not None else ""
            evidence = f"{last.note}{interval}" if last.note else (f"{last.value:.4g}{interval} on {last.n} rows"
                                                                   if last.value is not None else "")
            out.append(Finding(
                f"{model}:{rule.name}:{onset:%Y%m%dT%H%M}", model, rule.metric, rule.name, rule.severity,
                onset, run.end, run.peak, rule.threshold, feature=feature or rule.feature, suspects=suspects,
                first_drifted=first, state=run.state, window=rule.window, detected=run.onset, evidence=evidence,
                detail=f"{rule.metric} {rule.op} {rule.threshold:g} over {rule.window} "
                       f"(at least {_min_rows(rule.metric)} rows){detail_extra}"))
        if rule.metric in RETRAIN_METRICS and out and out[-1].firing:
            self._recommend(model, rule, evals, ctx.now, out[-1].onset)
        return out

    def _onset(self, ctx: "_Context", rule: AlertRule, run, extra: dict):
        """(estimated onset, feature, features by movement, detail): the change point inside the first
        breaching window and the one before it, from the rows themselves."""
        lo, hi = run.window_start, run.onset
        prev = lo - (hi - lo)
        feature, first, detail = None, (), ""
        metric = rule.metric
        if metric in DRIFT_METRICS and "drift" in extra:
            reports = extra["drift"]
            ds_first = reports.get(hi)
            peak_ds = max((reports[e] for e in reports if hi <= e and (run.end is None or e <= run.end)),
                          key=lambda d: d.share, default=ds_first)
            ranked = ev.moved([c for c in (peak_ds.columns if peak_ds else ()) if c.drifted])
            crossing = [c.column for c in (ds_first.columns if ds_first else ()) if c.drifted]
            first_cross = sorted(crossing, key=lambda c: -dict(ev.moved(ds_first.columns)).get(c, 0.0))
            first = tuple(dict.fromkeys([f for f, _ in ranked] + first_cross))
            if ranked:
                feature = ranked[0][0]
                detail = f"; moved most: {', '.join(f'{f} {m:.1f}x' for f, m in ranked[:3])}"
                if first_cross:
                    detail += f"; first to cross: {first_cross[0]}"
            if feature is not None and ds_first is not None:  # the feature that moved most may have moved
                lo, hi = self._drift_began(reports, feature, lo, hi)  # before others joined it past the share
            # the evaluation a step before did not see it: the change most likely came after it (features
            # with a daily rhythm defeat a change-point search on raw values)
            return max(lo, hi - extra.get("step", hi - lo)), feature, first, detail
        if metric in ("accuracy_drop", "mae_increase"):
            labelled = ctx.joined(self).filter(pl.col("label").is_not_null() & (pl.col("ts") > prev) & (pl.col("ts") <= hi))
            if metric == "accuracy_drop":
                values = ev.correct().cast(pl.Float64)
            else:
                values = (pl.col("prediction_num").cast(pl.Float64) - pl.col("label_num").cast(pl.Float64)).abs()
            part = labelled.select("ts", values.alias("v")).drop_nulls()
            return _change_point(part, "v", lo, hi), feature, first, detail
        if metric in ("p95_ms", "error_rate", "burn_rate", "refusal_rate"):
            col = {"p95_ms": pl.col("latency_ms").cast(pl.Float64), "error_rate": pl.col("is_error").cast(pl.Float64),
                   "burn_rate": pl.col("is_error").cast(pl.Float64) + (pl.col("latency_ms").cast(pl.Float64)
                                                                        > ctx.mc.slo.p95_ms).cast(pl.Float64),
                   "refusal_rate": pl.col("refused").cast(pl.Float64)}[metric]
            part = ctx.preds.filter((pl.col("ts") > prev) & (pl.col("ts") <= hi)).select("ts", col.alias("v")).drop_nulls()
            return _change_point(part, "v", lo, hi), feature, first, detail
        if metric == "cost_budget_share":  # the forecast crossed the budget at the first breaching evaluation
            return hi, feature, first, detail
        return lo, feature, first, detail

    @staticmethod
    def _drift_began(reports: dict, feature: str, lo: datetime, hi: datetime) -> tuple[datetime, datetime]:
        """(start, end) of the earliest evaluation, in an unbroken stretch back from the first breaching one,
        in which `feature` had drifted at least half as far as it had then: a prompt that triples input
        tokens drifts that one feature at once, and the dataset share crosses only when noise in a second
        feature joins it a day later, so the incident starts (and its suspects are sought) at the first."""
        size = dict(ev.moved([c for c in reports[hi].columns if c.drifted])).get(feature)
        if not size:
            return lo, hi
        span = hi - lo
        for end in sorted((e for e in reports if e < hi), reverse=True):
            moved = dict(ev.moved([c for c in reports[end].columns if c.drifted])).get(feature, 0.0)
            if moved < size / 2:
                break
            lo, hi = end - span, end
        return lo, hi

    def _suspects(self, ctx: "_Context", state, onset: datetime, detected: datetime) -> tuple:
        """Changes before the evidence (up to when it was detected), closest to the onset first, each with
        the time between it and the onset."""
        lookback = parse_window(SUSPECT_LOOKBACK) + max(detected - onset, timedelta(0))  # reaches before the onset
        linked = inc.link_incident(state, ctx.deployments, ctx.preds, None, None, detected, lookback)
        out = []
        for s in linked.suspects:
            gap = onset - s.ts
            when = f"{_duration(gap)} before onset" if gap >= timedelta(0) else f"{_duration(-gap)} after the estimated onset"
            out.append(inc.Suspect(s.kind, s.ts, f"{s.detail} ({when})"))
        out.sort(key=lambda s: abs(onset - s.ts))
        return tuple(out)

    def _recommend(self, model: str, rule: AlertRule, evals: list, now: datetime, onset: datetime) -> None:
        """A drift or quality trigger that held for RETRAIN_AFTER evaluations, still holding now: retrain
        (`since` is the incident's estimated onset)."""
        results = [(e.end, bool(e.breach)) for e in evals if e.breach is not None]
        recs = inc.recommend_retraining(results, model, f"{rule.name}: {rule.metric} {rule.op} {rule.threshold:g}",
                                        RETRAIN_AFTER, RETRAIN_COOLDOWN)
        if not recs or not results or not results[-1][1]:
            return
        run_start = next((b for b, hit in reversed(results) if not hit), None) or results[0][0]
        if recs[-1].since >= run_start:
            self._recs.append(replace(recs[-1], since=min(onset, recs[-1].since)))

    def _segment_findings(self, model, mc, joined, deployments, preds, now) -> list[Finding]:
        task = "classification" if mc.task == "llm" else mc.task
        cols = list(dict.fromkeys([*mc.segments, *mc.sensitive]))
        worst = fa.worst_segment(joined, cols, task, mc.positive_label, min_n=MIN_SEGMENT_LABELS)
        if worst is None:
            return []
        overall = qu.quality(joined, task, mc.positive_label)
        metric = "accuracy" if task == "classification" else "mae"
        base = overall.metrics.get(metric)
        value = getattr(worst, "value", None)
        if base is None or value is None:
            return []
        gap = (base - value) if metric == "accuracy" else (value - base) / max(base, 1e-9)
        if gap < SEGMENT_GAP:
            return []
        if metric == "accuracy":  # the segment must differ from the rest significantly, not by chance
            seg_mask = pl.col(worst.column).cast(pl.Utf8) == str(worst.group)
            lab = joined.filter(pl.col("label").is_not_null())
            correct = ev.correct()
            seg, rest = lab.filter(seg_mask), lab.filter(~seg_mask)
            p = ev.two_proportion_p(int(seg.select(correct.sum()).item() or 0), seg.height,
                                    int(rest.select(correct.sum()).item() or 0), rest.height)
            if p is None or p >= ev.ALPHA:
                return []
        else:  # its absolute errors must exceed (1 + gap) times the rest's significantly (Welch), not by chance
            p = self._segment_mae_p(joined, worst.column, str(worst.group))
            if p is None or p >= ev.ALPHA:
                return []
        seg = joined.filter(pl.col(worst.column).cast(pl.Utf8) == str(worst.group))
        onset = seg.get_column("ts").min()
        rule = AlertRule(name=f"worst segment {worst.column}", metric="segment", op=">", threshold=SEGMENT_GAP)
        state = al.AlertState(rule, model, gap, True, onset)
        linked = inc.link_incident(state, deployments, preds, None, worst, onset)
        return [Finding(f"{model}:segment:{worst.column}={worst.group}", model, "segment", rule.name, "warning",
                        onset, None, value, base, segment={"column": worst.column, "value": str(worst.group)},
                        suspects=linked.suspects, state=ev.FIRING, window=HISTORY,
                        evidence=f"{worst.n_labelled} labelled of {worst.n} rows in the segment",
                        detail=f"{metric} {value:.3f} in {worst.column}={worst.group} ({worst.n_labelled} labelled "
                               f"rows) vs {base:.3f} overall")]

    @staticmethod
    def _segment_mae_p(joined: pl.DataFrame, column: str, group: str) -> float | None:
        """One-sided p-value that the segment's MAE is more than (1 + SEGMENT_GAP) times the rest's."""
        err = (pl.col("prediction_num").cast(pl.Float64) - pl.col("label_num").cast(pl.Float64)).abs()
        stats = (joined.filter(pl.col("label").is_not_null())
                 .select((pl.col(column).cast(pl.Utf8) == group).fill_null(False).alias("_in"), err.alias("e"))
                 .filter(pl.col("e").is_finite())
                 .group_by("_in").agg(pl.len().alias("n"), pl.col("e").mean().alias("m"), pl.col("e").var().alias("v")))
        by = {r["_in"]: r for r in stats.to_dicts()}
        seg, rest = by.get(True), by.get(False)
        if seg is None or rest is None or seg["n"] < MIN_SEGMENT_LABELS:
            return None
        return ev.welch_p_greater(seg["n"], seg["m"], seg["v"] or 0.0, rest["n"], rest["m"], rest["v"] or 0.0,
                                  ratio=1 + SEGMENT_GAP)

    def cost_today(self, model: str) -> float | None:
        now = self.clock()
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        attrs = set(self.attributes(model))  # cached tokens count for an LLM only, as in every cost read
        rows = self.rows(model, day - timedelta(microseconds=1), now,
                         columns=[c for c in co.COST_INPUTS if c != "cached_tokens" or c in attrs])
        costed = co.with_cost(rows, self.model_config(model).prices)
        windows = co.cost_windows(costed, now)
        return windows[0].today_usd if windows else None

    def overview_status(self, model: str) -> tuple[str, float | None]:
        """(drift status in a few characters, cost today) for the Overview's row."""
        try:
            cost = self.cost_today(model)
        except Exception:  # noqa: BLE001
            cost = None
        try:
            drift = self._drift_status(model)
        except Exception:  # noqa: BLE001
            drift = "error"
        return drift, cost

    def _drift_status(self, model: str, window: str = OVERVIEW_DRIFT_WINDOW) -> str:
        """The dataset verdict over the last few hours or the last MIN_DRIFT_ROWS rows of the history,
        whichever is longer (the drift rule's evidence sizing): the Overview's DRIFT cell."""
        ref = self.reference(model)
        if ref is None:
            return "no ref"
        now = self.clock()
        rows = self.rows(model, now - parse_window(window), now, "production", narrow=list(ref.columns))
        if rows.height < MIN_DRIFT_ROWS:
            rows = self.predictions(model, self.history_start(now), now).tail(MIN_DRIFT_ROWS)
            if rows.height < MIN_DRIFT_ROWS:
                return "few rows" if rows.height else "no data"
        ds = dataset_drift(ref, _drift_ready(rows.select(list(ref.columns))), self.cfg.drift_share)
        if not ds.n_evaluated:
            return "no data"
        return f"{'DRIFT' if ds.drifted else 'ok'} {ds.n_drifted}/{ds.n_evaluated}"


class _Context:
    """One model's rows for one evaluation, with the label join made once, on first use."""

    def __init__(self, model, mc, preds, since, now, deployments, narrow: bool = False):
        self.model, self.mc, self.preds, self.since, self.now, self.deployments = model, mc, preds, since, now, deployments
        self.narrow = narrow  # the rows lack the features only drift reads (a large history): read them alone
        self._joined = None
        self._drifts: dict[tuple, dict] = {}

    def window_drifts(self, monitor: "Monitor", ref: Reference, windows: list[tuple[datetime, datetime]]) -> dict:
        """Each window's dataset drift (the same windows for every drift rule of a model: scored once). A large
        history's features stream past once and are folded per window (`drift_windows`), never held whole."""
        key = tuple(windows)
        if key not in self._drifts:
            feats, share = list(ref.columns), monitor.cfg.drift_share
            got = None
            if self.narrow and windows:  # time-ordered chunks, each sealed: a chunk's blocks are held, not the week
                folded = dw.WindowDrift(ref, windows, share)
                for lo, hi in _chunks(self.preds["ts"], self.since, self.now, FOLD_CHUNK_ROWS):
                    for batch in monitor.feature_batches(self.model, lo, hi, feats):
                        folded.add(batch)
                    folded.seal(hi)
                got = None if folded.retyped else folded.results()
            if got is None:  # the history is in hand with every column, or a text feature is retyped whole
                frame = monitor.typed_rows(self.model, self.since, self.now, "production", columns=feats) \
                    if self.narrow else self.preds
                got = dw.window_drifts(ref, [_drift_ready(frame.select(["ts", *feats]))], windows, share)
            self._drifts[key] = got
        return self._drifts[key]

    def joined(self, monitor: "Monitor") -> pl.DataFrame:
        if self._joined is None:
            self._joined = monitor.joined(self.model, self.preds, self.since, self.now)
        return self._joined


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


def _chunks(ts: pl.Series, since: datetime, until: datetime, rows: int) -> list[tuple[datetime, datetime]]:
    """(since, until] cut into consecutive ranges of about `rows` rows each, by the sorted times `ts`."""
    cuts = ts.gather(list(range(rows - 1, ts.len() - 1, rows))).unique(maintain_order=True).to_list() \
        if ts.len() > rows else []
    bounds = [since, *[c for c in cuts if since < c < until], until]
    return list(zip(bounds, bounds[1:]))


def _burn_expr(slo) -> pl.Expr:
    """The larger of the error and latency burn rates (health.LATENCY_BUDGET of requests may be slow)."""
    lat = pl.col("latency_ms").cast(pl.Float64).fill_nan(None)
    err = pl.col("is_error").cast(pl.Float64).mean() / slo.error_rate if slo.error_rate > 0 else pl.lit(None)
    slow = (lat > slo.p95_ms).cast(pl.Float64).mean() / he.LATENCY_BUDGET
    return pl.max_horizontal(err, slow)


def _change_point(part: pl.DataFrame, col: str, lo: datetime, hi: datetime) -> datetime:
    """Where the mean of `col` shifts (the largest cumulative-sum excursion, CUSUM), clamped to (lo, hi];
    the first breaching window's start when there are too few rows to say."""
    part = part.sort("ts")
    if part.height < 20:
        return lo
    v = part[col].cast(pl.Float64).to_numpy()
    import numpy as np

    s = np.cumsum(v - v.mean())
    k = int(np.argmax(np.abs(s)))
    when = part["ts"][min(k + 1, part.height - 1)]
    return min(max(when, lo), hi)


def _covers(span: tuple, since: datetime, until: datetime) -> bool:
    """A kept or in-flight read, (since, until, ...), holds every row of (since, until]."""
    return span[0] <= since and until <= span[1]


def _duration(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m" if minutes else f"{hours}h"
    return f"{hours // 24}d {hours % 24}h"


def _min_rows(metric: str) -> int:
    if metric in DRIFT_METRICS:
        return MIN_DRIFT_ROWS
    if metric in ("accuracy_drop", "mae_increase"):
        return MIN_LABELS
    if metric == "cost_spike":
        return MIN_COST_ROWS
    return MIN_BUCKET_ROWS


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

