"""When an incident began, and when it was seen: the onset of a run of breaching evaluations (`Onsets`), which
names the incident's id, so it must not move with `--at`, `--since` or the path (raw rows or rollups) that
evaluated it. Drift onsets come from the departures of the feature that moved most from its own hours of the day
before (`analytics.drift_onset`), rate and quality onsets from the change point of their rows
(`analytics.change_point`). A mixin of `incident_rules.RuleEvaluator`: it reads through the Monitor (`self.mon`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import polars as pl

from console.analytics import cost as co
from console.analytics import drift_onset as do
from console.analytics import evidence as ev
from console.analytics import health as he
from console.analytics.change_point import change_point
from console.analytics.windows import parse_window
from console.config import AlertRule
from console.rollup_spec import drift_ready as _drift_ready

if TYPE_CHECKING:
    from console.incident_rules import Context

DEPARTED = "departed-1"  # the memo kind of a drift onset (`_departed`): bump when `drift_onset` changes meaning
DRIFT_METRICS = ("drift_share", "feature_drift")
MIN_LABELS = 200  # labelled rows a quality verdict needs (an 8-point drop is then 2.7 standard errors)
SPARSE_REACH = timedelta(days=90)  # how far back a model too quiet for a verdict in its history may reach, and
# how far back the rules look for the onset of an incident already breaching at the history's start (`_look_back`)
DRIFT_MIN_SPAN = "6h"  # a drift window is at least this long (and at least MIN_DRIFT_ROWS rows)


class Onsets:
    """The onset, detection and first evidence of an incident's run (`RuleEvaluator._to_findings`)."""

    def _detected(self, ctx: Context, rule: AlertRule, run) -> datetime:
        """When the evidence was there: the first breaching window's end, or, for a quality rule, when enough of
        that window's labels had arrived for it to breach (`evidence.breached_at`), if later. A view ends at its
        `--at` and counts the labels logged by then, so an accuracy incident "detected" at the window's end, on
        labels logged a day later, was not listed by the view at its detection (`o`, go to detection, landed on
        "no incidents"); nor is it detected when the window's last label (a correction days later) arrived."""
        if rule.metric not in ("accuracy_drop", "mae_increase"):
            return run.onset
        first = self._first_evidence(ctx, rule, run)[1]
        if first is not None:
            return max(run.onset, first[0])
        rows = he.served(ctx.joined(self.mon)).filter(
            (pl.col("ts") > run.window_start) & (pl.col("ts") <= run.onset) & pl.col("label").is_not_null())
        if rule.metric == "accuracy_drop":
            rows = rows.filter(pl.col("prediction").is_not_null())
        if not rows.height or "label_ts" not in rows.columns:
            return run.onset
        expected = self.mon.expected(ctx.model).get("accuracy" if rule.metric == "accuracy_drop" else "mae")
        at = ev.breached_at(rows, rule.metric, run.window_start, run.onset, expected, rule.threshold, MIN_LABELS,
                            op=rule.op) \
            if expected is not None else None
        known = at if at is not None else rows["label_ts"].max()  # the labels known now: at the latest, the last
        return max(run.onset, known) if isinstance(known, datetime) else run.onset

    def _first_evidence(self, ctx: Context, rule: AlertRule, run) -> tuple[tuple | None, tuple | None]:
        """(own, first) of a quality run, as the first view to see each window breach sized it
        (`evidence.first_evidence`), so they hold for every later view. `own` (when, window start): the evidence of
        the run's first breaching window, where its onset is sought. `first` (when, window start, window end): the
        window whose evidence came first, which its detection and id keep. They differ when labels landing late
        make a window before the one a view saw breach first breach too, days later: the run then begins there, and
        its detection and id taken from that window alone said "detected 20:46" of an incident an 18:00 view had
        listed, under another id. A window's evidence is never before its end, so the windows after the first are
        tried only up to the earliest evidence found (a few replays more per run). Made once per run."""
        key = (rule.name, run.onset)
        if key not in ctx.first:
            metric = rule.metric
            expected = self.mon.expected(ctx.model).get("accuracy" if metric == "accuracy_drop" else "mae")
            joined = he.served(ctx.joined(self.mon)).filter(pl.col("label").is_not_null())
            if metric == "accuracy_drop":
                joined = joined.filter(pl.col("prediction").is_not_null())
            span = parse_window(rule.window)
            own = best = None
            hi, step = run.onset, ctx.step(span)
            while expected is not None and hi <= ctx.now and (run.end is None or hi < run.end) \
                    and (best is None or hi < best[0]):
                got = ev.first_evidence(joined.filter(pl.col("ts") <= hi), metric, hi, span, expected,
                                        rule.threshold, MIN_LABELS, op=rule.op, hourly=ctx.hourly)
                own = got if hi == run.onset else own
                if got is not None and (best is None or got[0] < best[0]):
                    best = (*got, hi)
                hi += step
            ctx.first[key] = (own, best)
        return ctx.first[key]

    def _first_onset(self, ctx: Context, rule: AlertRule, run, after: datetime | None) -> datetime | None:
        """The onset a quality incident's id keeps: the one the first view to list it estimated, in the window
        whose evidence came first and on the labels logged by then (`_first_evidence`); None when that window is
        the run's first (the onset shown is that one). Else the onset shown is sought again in the run's first
        window on the labels the view has (`_estimate`): the demo's fraud drop, listed at 20:43 with its change
        placed 8 h 47 m before the concept shift on the few labels then logged, shows it at the shift once they
        have landed, and keeps its id, so an acknowledgement keeps covering it (a9b225b kept that onset shown)."""
        first = self._first_evidence(ctx, rule, run)[1]
        if first is None or first[2] == run.onset:
            return None
        onset = self._quality_onset(ctx, rule, first[1], first[2], first[:2], None)
        onset = onset if after is None else max(onset, after)
        return self._not_before_rows(ctx, first[1], first[2], onset)

    def _onset(self, ctx: Context, rule: AlertRule, run, extra: dict, after: datetime | None = None,
               fine: datetime | None = None):
        """(estimated onset, feature, features by movement, detail): the change point inside the first
        breaching window and the one before it, from the rows themselves; never before `after`, the evaluation
        that resolved the rule's previous incident (it saw no breach, so this one began later, and two
        incidents of a rule keep distinct onsets, hence ids). `fine`: the end of the evaluation before the run, when
        it had evidence the rule held (`_estimate`)."""
        onset, feature, first, detail = self._estimate(ctx, rule, run, extra, after, fine)
        onset = onset if after is None else max(onset, after)
        return self._not_before_rows(ctx, run.window_start, run.onset, onset), feature, first, detail

    def _not_before_rows(self, ctx: Context, lo: datetime, hi: datetime, onset: datetime) -> datetime:
        """`onset`, or the first row of evidence after it when no row was logged between the start of the window
        before the first breaching one and it: a log that starts already failing (or drifted) has no change point,
        and its onset was the first breaching window's start, or the grid point before it, a time before any row.
        The rows held (`ctx.preds`: the raw path's history, the rollup path's onset reads) answer; a drift rule from
        rollups holds none, and asks the store (`Warehouse.first_seen`, one query)."""
        prev = lo - (hi - lo)
        if onset > hi or onset <= prev:
            return onset
        rows = ctx.preds
        held = he.served(rows).filter((pl.col("ts") > prev) & (pl.col("ts") <= hi))["ts"] \
            if rows.height and "ts" in rows.columns else None
        if held is not None and held.len():
            first = held.min()
        else:
            first = self.mon.wh.first_seen(ctx.model, prev, hi, "production")
        return first if first is not None and first > onset else onset

    def _estimate(self, ctx: Context, rule: AlertRule, run, extra: dict, after: datetime | None,
                  fine: datetime | None = None):
        lo, hi = run.window_start, run.onset
        prev = lo - (hi - lo)
        feature, first, detail = None, (), ""
        metric = rule.metric
        if metric in DRIFT_METRICS and "drift" in extra:
            reports = extra["drift"]
            shown = shown_reports(reports, extra.get("exact"))
            ds_first = shown(hi)
            peak = max((e for e in reports if hi <= e and (run.end is None or e <= run.end)),
                       key=lambda e: reports[e].share, default=hi)
            peak_ds = shown(peak)
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
                lo, hi = self._drift_began(reports, feature, lo, hi, after, shown)  # before others joined it past the share
            # where the feature that moved most departed from its own hours of the day before (`_departed`); when
            # no such change stands out, the evaluation before did not see it, so the grid point before `hi`, also
            # when the first breach is the latest window, which ends at the view's end: neither moves with `--at`
            before = ev.grid_before(hi, extra["step"]) if "step" in extra else lo
            onset = max(lo, before)
            watched = rule.feature if metric == "feature_drift" and rule.feature else feature  # a one-feature rule's own
            if watched is not None and "step" in extra:
                onset = self._departed(ctx, rule, watched, before, hi, onset)
            return onset, feature, first, detail
        if metric in ("accuracy_drop", "mae_increase"):
            own, earliest = self._first_evidence(ctx, rule, run)  # a window before the first listed breaching
            seen = own if earliest is None or earliest[2] == hi else None  # later: sought on the labels now known
            return self._quality_onset(ctx, rule, lo, hi, seen, fine), feature, first, detail
        if metric in ("p95_ms", "error_rate", "burn_rate", "refusal_rate"):
            col = {"p95_ms": pl.col("latency_ms").cast(pl.Float64), "error_rate": pl.col("is_error").cast(pl.Float64),
                   "burn_rate": pl.col("is_error").cast(pl.Float64) + (pl.col("latency_ms").cast(pl.Float64)
                                                                        > ctx.mc.slo.p95_ms).cast(pl.Float64),
                   "refusal_rate": co.flag("refused")}[metric]
            part = he.served(ctx.preds).filter((pl.col("ts") > prev) & (pl.col("ts") <= hi)).select("ts", col.alias("v")) \
                .drop_nulls()
            return change_point(part, "v", lo, hi, prev), feature, first, detail
        if metric == "cost_budget_share":  # the forecast crossed the budget at the first breaching evaluation
            return hi, feature, first, detail
        return lo, feature, first, detail

    def _quality_onset(self, ctx: Context, rule: AlertRule, lo: datetime, hi: datetime, seen: tuple | None,
                       fine: datetime | None) -> datetime:
        """The change point of an accuracy or MAE run whose first breaching window ends at `hi`: in the labels and
        the window (`seen`: when, start) the first view to see that window breach had, so it holds for later ones."""
        prev = lo - (hi - lo)
        labelled = he.served(ctx.joined(self.mon)).filter(pl.col("label").is_not_null())
        if seen is not None:
            lo, prev = seen[1], seen[1] - (hi - seen[1])
            if "label_ts" in labelled.columns:
                labelled = labelled.filter(pl.col("label_ts").is_null() | (pl.col("label_ts") <= seen[0]))
        labelled = labelled.filter((pl.col("ts") > prev) & (pl.col("ts") <= hi))
        part = labelled.select("ts", ev.labelled_value(rule.metric).alias("v")).drop_nulls()
        return self._after_fine(ctx, rule, change_point(part, "v", lo, hi, prev), lo, hi, fine)

    def _departed(self, ctx: Context, rule: AlertRule, feature: str, before: datetime, hi: datetime,
                  fallback: datetime) -> datetime:
        """A drift incident's onset: the hour from which `feature` (the one that moved most) departed, the CUSUM
        change point (`change_point`, its null test included) of its rows' departures from the baseline of their
        own hour of the day (`drift_onset.departures`), over the window before the first breach (from `before`, the
        grid point before the first breaching window's end `hi`, back a span) up to `hi`, the day before that
        window the baseline. The evaluations alone placed it at `before`: with a 24 h rule the first breach comes
        up to a day after a shift (half a window of shifted rows may not cross), so the onset was half a day late;
        a change point on raw values placed it at a daily rhythm's peak. The onset falls on an hour's start, and
        every input is fixed once the first breach is a closed window, so it does not move with `--at`. Both
        paths read the same narrow raw rows (`ts`, `variant`, the feature), so they agree. `fallback` (`before`)
        when no change stands out: a gradual drift, a shift older than the window before, too few rows."""
        ref = self.mon.reference(ctx.model)
        col = ref.columns.get(feature) if ref is not None else None
        if col is None:
            return fallback
        span = max(parse_window(rule.window), parse_window(DRIFT_MIN_SPAN))
        start = (before - span).replace(minute=0, second=0, microsecond=0)
        lo = start - do.DAY - timedelta(microseconds=1)
        # a function of closed hours' rows: kept beside the rollups (`rule_memo`), so a pass at a new `--at`
        # does not read and score ~60 h of the feature again for every drift incident
        kept = ctx.rollups
        key = kept.hours_key(DEPARTED, lo, hi, feature, rule.window, fallback, kept.drift_fingerprint()) \
            if kept is not None else None
        found = kept.memo.get(key) if key is not None else None
        if found is not None:
            return datetime.fromisoformat(found)
        rows = self.mon.typed_rows(ctx.model, lo, hi, "production", columns=["ts", "variant", feature])
        rows = _drift_ready(he.served(rows).select("ts", feature))
        part = do.departures(rows, col, feature, start, hi)
        onset = change_point(part, "v", fallback, hi, start, located=True)
        if key is not None:
            kept.memo.put(key, onset.isoformat())
        return onset

    def _after_fine(self, ctx: Context, rule: AlertRule, onset: datetime, lo: datetime, hi: datetime,
                    fine: datetime | None) -> datetime:
        """A quality onset with no shift found (`onset` is the window's start `lo`), moved to the first row after
        `fine` (the evaluation before the run, which found the rule held) when the first breaching window's own
        span holds no row up to `fine`: every row it held by then was judged fine, so the change shows first in
        a row after it. A nightly batch's first bad night, its labels late, breached in a window grown back into
        the night before (too few of its own labels yet for the change point to find it), and its onset was
        that night's 200th label back; or the window's start, a day before the batch. A source logging through
        the span keeps the window's start (its span holds rows before `fine`)."""
        if fine is None or onset != lo or fine <= lo:
            return onset
        rows = he.served(ctx.joined(self.mon)).select("ts")
        span = parse_window(rule.window)
        if rows.filter((pl.col("ts") > hi - span) & (pl.col("ts") <= fine)).height:
            return onset
        after = rows.filter((pl.col("ts") > fine) & (pl.col("ts") <= hi))["ts"].min()
        return after if isinstance(after, datetime) else onset

    @staticmethod
    def _drift_began(reports: dict, feature: str, lo: datetime, hi: datetime,
                     after: datetime | None = None, shown=None) -> tuple[datetime, datetime]:
        """(start, end) of the earliest evaluation, in an unbroken stretch back from the first breaching one,
        in which `feature` had drifted at least half as far as it had then: a prompt that triples input
        tokens drifts that one feature at once, and the dataset share crosses only when noise in a second
        feature joins it a day later, so the incident starts (and its suspects are sought) at the first.
        The stretch ends at `after` (the evaluation that resolved the rule's previous incident).
        Sketch scores (the rollups') compare by their bounds (`evidence.moved_range`): a comparison the bounds
        cannot settle is made on the exact score (`shown`), so the onset does not move between two builds of the
        same rollups (KLL compacts with random bits), and an evaluation read exactly costs only then."""
        shown = shown or shown_reports(reports, None)
        size = dict(ev.moved([c for c in shown(hi, feature).columns if c.drifted])).get(feature)  # exact
        if not size:
            return lo, hi
        span = hi - lo
        for end in sorted((e for e in reports if e < hi and (after is None or e > after)), reverse=True):
            c = next((c for c in reports[end].columns if c.column == feature and c.drifted), None)
            if c is None:  # the verdicts are settled (a borderline one was scored exactly): it had not drifted
                break
            least, most = ev.moved_range(c)
            if least < size / 2 <= most:
                c = next((c for c in shown(end, feature).columns if c.column == feature and c.drifted), None)
                least = dict(ev.moved([c])).get(feature, 0.0) if c is not None else 0.0
            if least < size / 2:
                break
            lo, hi = end - span, end
        return lo, hi


def shown_reports(reports: dict, exact=None):
    """`(end, feature=None) -> DatasetDrift`: the drift report of the window ending at `end` as an incident shows
    it. On the rollup path (`exact`: `RollupRules.exact_drift`) a sketch score is random within its bound (KLL
    compacts with random bits), so what the incident takes from comparing scores could differ between two builds
    of the same rollups: `feature` is scored exactly (the size `_drift_began` compares others with); without one,
    the drifted columns whose bounds overlap another drifted column's (`evidence.moved_range`: an order the bounds
    cannot settle, which names the feature that moved most and orders `first_drifted`). The verdicts and the share
    stay the report's (a borderline verdict was settled exactly already); the raw path's reports are exact."""
    def view(end: datetime, feature: str | None = None):
        ds = reports.get(end)
        if ds is None or exact is None:
            return ds
        cols, changed = list(ds.columns), False
        while True:  # a column scored exactly lies within its old bounds: one round, unless a bound was wrong
            drifted = [c for c in cols if c.drifted]
            ranges = {c.column: ev.moved_range(c) for c in drifted}
            unsettled = [f for f, (a, b) in ranges.items() if a != b]  # a sketch score (an exact one is a point)
            todo = [f for f in unsettled if f == feature] if feature is not None else [
                f for f in unsettled if any(g != f and ranges[f][0] <= b and a <= ranges[f][1]
                                            for g, (a, b) in ranges.items())]
            done = exact(end, todo) if todo else {}
            if not done:
                break
            cols, changed = [done.get(c.column, c) for c in cols], True
            if feature is not None:
                break
        return replace(ds, columns=tuple(cols)) if changed else ds

    return view
