"""Monitoring as the service sees it: warehouse rows in, analytics results out.

This is the glue between `warehouse` (named queries) and `analytics/` (plain functions): it
unpacks each model's features from the JSON rows, keeps the prepared drift references, and turns
rule breaches over time into incidents with their suspects. No Textual, no MLflow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from console.analytics import alerts as al
from console.analytics import cost as co
from console.analytics import fairness as fa
from console.analytics import health as he
from console.analytics import incidents as inc
from console.analytics import quality as qu
from console.analytics.drift import Reference, dataset_drift, drift_over_time, histograms, single_column_drift
from console.analytics.windows import format_span, parse_window
from console.config import AlertRule, Config, ModelConfig
from console.warehouse import Warehouse

CONTRACT_COLUMNS = ("ts", "model", "version", "environment", "variant", "request_id", "prediction", "prediction_num",
                    "score", "latency_ms", "is_error", "input_tokens", "output_tokens", "cost_usd")
LLM_COLUMNS = ("prompt_version", "refused", "guardrail_blocked", "factuality")
WINDOWS = ("1h", "6h", "24h", "7d")
HISTORY = "7d"
SEGMENT_GAP = 0.15  # a segment this much worse than the model overall is an incident of its own
MIN_BUCKET_ROWS = 100  # fewer rows than this in a bucket: its rate or drift score is noise, not evidence
MIN_DRIFT_ROWS = 500  # normed Wasserstein reads sampling noise as drift on a few hundred rows
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
                "n_drifted": self.dataset.n_drifted, "n_evaluated": self.dataset.n_evaluated},
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
    first_drifted: tuple[str, ...] = ()
    detail: str = ""

    @property
    def firing(self) -> bool:
        return self.end is None

    def to_dict(self) -> dict:
        return {
            "id": self.id, "model": self.model, "kind": self.kind, "rule": self.rule, "severity": self.severity,
            "onset": self.onset.isoformat() + "Z", "end": self.end.isoformat() + "Z" if self.end else None,
            "firing": self.firing, "value": self.value, "threshold": self.threshold, "feature": self.feature,
            "segment": self.segment, "first_drifted": list(self.first_drifted), "detail": self.detail,
            "suspects": [{"kind": s.kind, "ts": s.ts.isoformat() + "Z", "detail": s.detail} for s in self.suspects],
        }


class Monitor:
    def __init__(self, cfg: Config, warehouse: Warehouse, clock: Callable[[], datetime]):
        self.cfg, self.wh, self.clock = cfg, warehouse, clock
        self._refs: dict[str, Reference | None] = {}
        self._ref_frames: dict[str, pl.DataFrame] = {}
        self._frames: dict[tuple, tuple[datetime, datetime, pl.DataFrame]] = {}  # (model, env, store version)
        self._lock = threading.Lock()
        self.recommendations: list = []  # analytics.incidents.Recommendation, from the last findings()
        self.since: datetime | None = None  # start of the incident history; None: HISTORY before now

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
        if mc.features:
            return list(mc.features)
        ref = self.reference_frame(model)
        return [c for c in ref.columns if c not in ("label", "target", "y", "ts", "request_id")] if ref is not None else []

    def attributes(self, model: str) -> list[str]:
        mc = self.model_config(model)
        names = list(dict.fromkeys([*self.features(model), *mc.segments, *mc.sensitive,
                                    *(LLM_COLUMNS if mc.task == "llm" else ())]))
        return names

    def predictions(self, model: str, since: datetime, until: datetime | None = None,
                    environment: str | None = "production") -> pl.DataFrame:
        """One model's rows with its features and segments as typed columns (read only those columns).

        The last range read per model is kept until the store changes, so the several reads one overview
        or one incident pass makes (history, the drift window, today's cost) cost one query, not one each."""
        until = until or self.clock()
        key = (model, environment, self.wh.refreshes)
        with self._lock:
            hit = self._frames.get(key)
        if hit is not None and hit[0] <= since and until <= hit[1]:
            frame = hit[2]
            return frame.filter((pl.col("ts") > since) & (pl.col("ts") <= until))
        wanted = [*CONTRACT_COLUMNS, *self.attributes(model)]
        frame = self.wh.frame("model_predictions", {
            "model": model, "since": since, "until": until, "environment": environment}, columns=wanted)
        missing = [n for n in self.attributes(model) if n not in frame.columns]
        cols = [_typed(frame.get_column(n)) for n in self.attributes(model)
                if n in frame.columns and frame.schema[n] == pl.Utf8]
        if missing:
            cols += [pl.Series(n, [None] * frame.height, dtype=pl.Utf8) for n in missing]
        frame = frame.with_columns(cols) if cols else frame
        with self._lock:
            self._frames = {k: v for k, v in self._frames.items() if k[2] == self.wh.refreshes and k != key}
            self._frames[key] = (since, until, frame)
        return frame

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
                path = self.model_config(model).reference
                frame = None
                if path is not None and Path(path).is_file():
                    frame = pl.read_parquet(path) if str(path).endswith((".parquet", ".pq")) else pl.read_csv(path)
                self._ref_frames[model] = frame
            return self._ref_frames[model]

    def drift_features(self, model: str) -> list[str]:
        """The features drift is tested on: `ignore = true` drops seasonal ones such as hour of day."""
        cols = self.model_config(model).drift_columns
        return [f for f in self.features(model) if not cols.get(f, {}).get("ignore")]

    def reference(self, model: str) -> Reference | None:
        if model not in self._refs:
            frame = self.reference_frame(model)
            feats = [f for f in self.drift_features(model) if frame is not None and f in frame.columns]
            overrides = {k: {o: v for o, v in d.items() if o != "ignore"}
                         for k, d in self.model_config(model).drift_columns.items() if k in feats}
            self._refs[model] = Reference(_drift_ready(frame.select(feats)), feats, overrides) if feats else None
        return self._refs[model]

    # ------------------------------------------------------------------ drift

    def drift(self, model: str, window: str = "24h", every: str | None = None,
              environment: str | None = "production", series: bool = True) -> DriftReport:
        """The window's drift against the reference; `series` adds each feature's score per bucket over the
        history (the Drift screen's trend), which costs a comparison per bucket and feature."""
        now = self.clock()
        ref = self.reference(model)
        if ref is None:
            return DriftReport(model, format_span(window), now, None, note="no reference data configured for this model")
        span = parse_window(window)
        history = max(span, parse_window(HISTORY))
        every = every or ("1h" if span <= timedelta(hours=24) else "6h")
        feats = list(ref.columns)
        rows = self.predictions(model, now - history, now, environment)
        current = _drift_ready(rows.filter(pl.col("ts") > now - span).select(feats))
        ds = dataset_drift(ref, current, self.cfg.drift_share)
        windows = drift_over_time(ref, _drift_ready(rows.select(["ts", *feats])), "ts", every,
                                  self.cfg.drift_share) if series else []
        points = {f: [(w.start, w.drift.column(f).score, w.drift.column(f).drifted) for w in windows] for f in feats}
        prediction, label = self._target_drift(model, rows, now, span, now - history, environment)
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
        now = self.clock()
        mc = self.model_config(model)
        long = max(parse_window(window), parse_window(mc.slo.long_window), timedelta(hours=24))
        preds = self.predictions(model, now - long, now, environment)
        table = he.health_table(preds, now, window, ("version", "variant"))
        return {"table": table, "slo": he.slo_status(preds, mc.slo, now),
                "series": he.health_series(preds.filter(pl.col("ts") > now - timedelta(hours=24)), "1h", ())}

    def _labelled_history(self, model: str, environment: str | None):
        """(now, model config, quality task, predictions of the history joined with their labels)."""
        now = self.clock()
        mc = self.model_config(model)
        since = self.history_start(now)
        preds = self.predictions(model, since, now, environment)
        task = "classification" if mc.task == "llm" else mc.task
        return now, mc, task, self.joined(model, preds, since, now, environment)

    def quality(self, model: str, window: str = "24h", environment: str | None = "production") -> dict:
        now, mc, task, joined = self._labelled_history(model, environment)
        return {"now": qu.quality(joined, task, mc.positive_label, now, window),
                "series": qu.quality_series(joined, task, mc.positive_label, "6h"),
                "by_version": qu.quality_table(joined, task, mc.positive_label, ("version",)),
                "joined": joined}

    def fairness(self, model: str, environment: str | None = "production") -> dict:
        _, mc, task, joined = self._labelled_history(model, environment)
        cols = list(dict.fromkeys([*mc.segments, *mc.sensitive]))
        return {"segments": fa.segments(joined, cols, task, mc.positive_label) if cols else [],
                "worst": fa.worst_segment(joined, cols, task, mc.positive_label) if cols else None,
                "gaps": {c: fa.fairness_gaps(joined, c, mc.positive_label) for c in mc.sensitive}
                if task == "classification" else {}}

    def cost(self, model: str, environment: str | None = "production") -> dict:
        now = self.clock()
        mc = self.model_config(model)
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        since = min(month_start, self.history_start(now))
        costed = co.with_cost(self.predictions(model, since, now, environment), mc.prices)
        recent = costed.filter(pl.col("ts") > self.history_start(now))
        by = ("version", "prompt_version") if "prompt_version" in costed.columns else ("version",)
        return {"windows": co.cost_windows(costed, now), "budget": co.budget_status(costed, now, mc.budget_usd_month),
                "per_1k": co.cost_per_1k(recent, by), "spike": co.cost_spike(costed, now),
                "hourly": co.hourly_cost_series(costed, now, hours=48),
                "llm": co.llm_usage(recent) if mc.task == "llm" else []}

    # ------------------------------------------------------------------ alerts and incidents

    def rules_for(self, model: str) -> list[AlertRule]:
        return [r for r in self.cfg.alerts if r.model in (None, model)]

    def findings(self, models: list[str] | None = None) -> list[Finding]:
        """Every run of breaching buckets over the history, firing or resolved, with its suspects."""
        now = self.clock()
        out: list[Finding] = []
        self._recs: list = []
        for model in models or self.models():
            try:
                out += self._model_findings(model, now)
            except Exception as exc:  # noqa: BLE001 - one model's bad data must not hide the others
                out.append(Finding(f"{model}:error", model, "error", "evaluation failed", "warning", now, now,
                                   None, None, detail=f"{type(exc).__name__}: {exc}"))
        out.sort(key=lambda f: (not f.firing, -f.onset.timestamp()))
        self.recommendations = self._recs
        return out

    def check(self) -> list[Finding]:
        return [f for f in self.findings() if f.firing]

    def _model_findings(self, model: str, now: datetime) -> list[Finding]:
        mc = self.model_config(model)
        since = self.history_start(now)
        preds = self.predictions(model, since, now)
        if preds.height == 0:
            return []
        rules = self.rules_for(model)
        series = self._series(model, mc, preds, since, now, {r.metric for r in rules})
        drift_flags = series.pop("_drift_flags", {})
        deployments = self.deployments(model)
        found: list[Finding] = []
        joined = None
        for rule in rules:
            frame = series.get(rule.metric)
            if frame is None or frame.height == 0:
                continue
            step = _step(frame)
            if rule.metric in RETRAIN_METRICS:
                self._recommend(model, rule, frame, step, now)
            for onset, end, value in _runs(frame, rule, now):
                state = al.AlertState(rule, model, value, end is None, onset)
                # a change inside the first breaching bucket is a suspect too: link up to that bucket's end
                linked = inc.link_incident(state, deployments, preds, drift_flags, None, onset + step)
                found.append(Finding(
                    f"{model}:{rule.name}:{onset:%Y%m%dT%H%M}", model, rule.metric, rule.name, rule.severity,
                    onset, end, value, rule.threshold,
                    feature=(linked.first_drifted[0] if linked.first_drifted and rule.metric in DRIFT_METRICS
                             else rule.feature),
                    suspects=linked.suspects, first_drifted=linked.first_drifted,
                    detail=f"{rule.metric} {rule.op} {rule.threshold:g}"))
        if mc.segments or mc.sensitive:
            joined = self.joined(model, preds, since, now)
            found += self._segment_findings(model, mc, joined, deployments, preds, now)
        return found

    def _recommend(self, model: str, rule: AlertRule, frame: pl.DataFrame, step: timedelta, now: datetime) -> None:
        """A drift or quality trigger that held for RETRAIN_AFTER windows, still holding now: retrain."""
        results = [(b, al.breaches(rule.op, v, rule.threshold))
                   for b, v in frame.sort("bucket").drop_nulls("value").iter_rows()]
        recs = inc.recommend_retraining(results, model, f"{rule.name}: {rule.metric} {rule.op} {rule.threshold:g}",
                                        RETRAIN_AFTER, RETRAIN_COOLDOWN)
        if not recs or not results or not results[-1][1] or results[-1][0] + 2 * step < now:
            return
        run_start = next(b for b, hit in reversed(results) if not hit) if not all(h for _, h in results) else results[0][0]
        if recs[-1].since > run_start:  # recommended within the run that is still holding
            self._recs.append(recs[-1])

    def _series(self, model: str, mc: ModelConfig, preds: pl.DataFrame, since: datetime, now: datetime,
                metrics: set[str]) -> dict:
        """Each rule metric as a series of hourly (or 6-hourly) buckets; thin buckets are null, not alerts."""
        out: dict = {}

        def rate(series: pl.DataFrame, every: str = "1h", rows: pl.DataFrame = preds) -> pl.DataFrame:
            return al.with_min_count(series, rows, every, MIN_BUCKET_ROWS)

        if "p95_ms" in metrics:
            out["p95_ms"] = rate(al.p95_series(preds, "1h"))
        if "error_rate" in metrics:
            out["error_rate"] = rate(al.error_rate_series(preds, "1h"))
        if "burn_rate" in metrics:
            out["burn_rate"] = rate(al.burn_rate_series(preds, mc.slo, "1h"))
        if "refusal_rate" in metrics and "refused" in preds.columns:
            out["refusal_rate"] = rate(al.refusal_rate_series(preds, "1h"))
        if metrics & {"accuracy_drop", "mae_increase"}:
            joined = self.joined(model, preds, since, now)
            labelled = joined.filter(pl.col("label").is_not_null())
            base = (since, since + BASELINE)
            if "accuracy_drop" in metrics:
                out["accuracy_drop"] = rate(al.accuracy_drop_series(joined, *base, every="6h"), "6h", labelled)
            if "mae_increase" in metrics:
                out["mae_increase"] = rate(al.mae_increase_series(joined, *base, every="6h"), "6h", labelled)
        if "cost_spike" in metrics:
            out["cost_spike"] = al.unit_cost_spike_series(co.with_cost(preds, mc.prices), "1h")
        if metrics & {"drift_share", "feature_drift"}:
            ref = self.reference(model)
            if ref is not None:
                feats = list(ref.columns)
                windows = drift_over_time(ref, _drift_ready(preds.select(["ts", *feats])), "ts", DRIFT_EVERY,
                                          self.cfg.drift_share)
                enough = [w for w in windows if w.n_rows >= MIN_DRIFT_ROWS]
                out["drift_share"] = pl.DataFrame(
                    {"bucket": [w.start for w in enough],
                     "value": [w.drift.share if w.drift.n_evaluated else None for w in enough]},
                    schema={"bucket": pl.Datetime("us"), "value": pl.Float64})
                out["_drift_flags"] = {f: [(w.start, w.drift.column(f).drifted) for w in enough] for f in feats}
        return out

    def _segment_findings(self, model, mc, joined, deployments, preds, now) -> list[Finding]:
        task = "classification" if mc.task == "llm" else mc.task
        cols = list(dict.fromkeys([*mc.segments, *mc.sensitive]))
        worst = fa.worst_segment(joined, cols, task, mc.positive_label)
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
        seg = joined.filter(pl.col(worst.column).cast(pl.Utf8) == str(worst.group))
        onset = seg.get_column("ts").min()
        rule = AlertRule(name=f"worst segment {worst.column}", metric="segment", op=">", threshold=SEGMENT_GAP)
        state = al.AlertState(rule, model, gap, True, onset)
        linked = inc.link_incident(state, deployments, preds, None, worst, onset)
        return [Finding(f"{model}:segment:{worst.column}={worst.group}", model, "segment", rule.name, "warning",
                        onset, None, value, base, segment={"column": worst.column, "value": str(worst.group)},
                        suspects=linked.suspects,
                        detail=f"{metric} {value:.3f} in {worst.column}={worst.group} vs {base:.3f} overall")]

    def cost_today(self, model: str) -> float | None:
        now = self.clock()
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        costed = co.with_cost(self.predictions(model, day - timedelta(microseconds=1), now), self.model_config(model).prices)
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
        """The dataset verdict over the last few hours only (no history): the Overview's DRIFT cell."""
        ref = self.reference(model)
        if ref is None:
            return "no ref"
        now = self.clock()
        rows = self.predictions(model, now - parse_window(window), now)
        if rows.height < MIN_DRIFT_ROWS:
            return "few rows" if rows.height else "no data"
        ds = dataset_drift(ref, _drift_ready(rows.select(list(ref.columns))), self.cfg.drift_share)
        if not ds.n_evaluated:
            return "no data"
        return f"{'DRIFT' if ds.drifted else 'ok'} {ds.n_drifted}/{ds.n_evaluated}"


def _step(frame: pl.DataFrame) -> timedelta:
    b = frame.get_column("bucket").sort()
    return (b[1] - b[0]) if len(b) > 1 else timedelta(hours=1)


def _runs(frame: pl.DataFrame, rule: AlertRule, now: datetime) -> list[tuple[datetime, datetime | None, float]]:
    """Runs of consecutive breaching buckets: (onset, end or None if it reaches the latest bucket, peak value)."""
    s = frame.sort("bucket").drop_nulls("value")
    if s.height == 0:
        return []
    buckets, values = s.get_column("bucket").to_list(), s.get_column("value").to_list()
    last = buckets[-1]
    step = (buckets[1] - buckets[0]) if len(buckets) > 1 else timedelta(hours=1)
    runs, start, peak = [], None, None
    for b, v in zip(buckets, values):
        hit = al.breaches(rule.op, v, rule.threshold)
        if hit and start is None:
            start, peak = b, v
        elif hit:
            peak = max(peak, v) if rule.op.startswith(">") else min(peak, v)
        elif start is not None:
            runs.append((start, b, peak))
            start = None
    if start is not None:
        runs.append((start, None if last + 2 * step >= now else last + step, peak))
    return runs


def _typed(column: pl.Series) -> pl.Series:
    """Attribute strings from JSON become numbers or booleans where every value parses."""
    present = column.is_not_null().sum()
    if present == 0:
        return column
    as_num = column.cast(pl.Float64, strict=False)
    if as_num.is_not_null().sum() == present:
        return as_num
    lower = column.str.to_lowercase()
    if lower.is_in(["true", "false"]).sum() == present:
        return lower == "true"
    return column


def _drift_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Booleans become 0/1 so the drift engine treats them as binary columns."""
    return frame.with_columns([pl.col(c).cast(pl.Int8) for c, t in frame.schema.items() if t == pl.Boolean])
