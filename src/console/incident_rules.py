"""The alert rules evaluated over a model's history into incidents (`Finding`s): raw rows for a small
history, the hourly rollups (`rollup_rules`) past `[rollups] min_rows` rows. Both paths make the same
`analytics.evidence.Evaluation` lists and hand them to the same `_to_findings`, so onsets, suspects and the
JSON are one definition; only where the numbers come from differs. `Monitor.findings` and `Monitor.check`
are the entry points; this module reads through the Monitor (its rows, reference, labels, expected levels).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import polars as pl

from console import rollup_spec
from console.analytics import alerts as al
from console.analytics import burn_rule as br
from console.analytics import cost as co
from console.analytics import drift_windows as dw
from console.analytics import evidence as ev
from console.analytics.findings import Finding, incident_id
from console.analytics import fairness as fa
from console.analytics import health as he
from console.analytics import incidents as inc
from console.analytics import quality as qu
from console.analytics.drift import Reference
from console.analytics.windows import HISTORY, MIN_BUCKET_ROWS, MIN_DRIFT_ROWS, opt_float, parse_window
from console.config import AlertRule, ModelConfig
from console.incident_onsets import DRIFT_METRICS, DRIFT_MIN_SPAN, MIN_LABELS, SPARSE_REACH, Onsets
from console.incident_stale import StaleRule, _duration, stale_limit
from console.rollup_paths import FolderFull
from console.rollup_spec import drift_ready as _drift_ready

SEGMENT_GAP = 0.15  # a segment this much worse than the model overall is an incident of its own
FOLD_CHUNK_ROWS = 1_000_000  # the drift rules read a long history in time-ordered chunks of about this many rows
MIN_COST_ROWS = 50  # requests on each side of a version or prompt change before a cost ratio is evidence
MIN_SEGMENT_LABELS = 200  # labelled rows a segment needs before it can be an incident
DRIFT_STEP = timedelta(hours=3)  # drift verdicts at most every 3 h (each costs a full drift test)
SPARSE_METRICS = ("p95_ms", "error_rate", "burn_rate", "refusal_rate", "accuracy_drop", "mae_increase")
SUSPECT_LOOKBACK = "24h"  # changes this long before the evidence can be suspects
RETRAIN_METRICS = ("drift_share", "feature_drift", "accuracy_drop", "mae_increase")
QUALITY_METRICS = ("accuracy_drop", "mae_increase")  # labelled: their evidence comes as the labels land
RETRAIN_AFTER = 3  # windows in a row before retraining is recommended
RETRAIN_COOLDOWN = "24h"
# the rules whose evaluations are windows on the grid (`evidence.grid`): an incident of theirs already breaching at
# the history's first evaluation is sought further back (`_look_back`)
LOOK_BACK_METRICS = ("p95_ms", "error_rate", "burn_rate", "refusal_rate", "accuracy_drop", "mae_increase", "cost_budget_share",
                     *DRIFT_METRICS)


class RuleEvaluator(Onsets, StaleRule):
    """One Monitor's rule passes: `findings` over some models, and the retraining it recommends."""

    def __init__(self, monitor):
        self.mon = monitor
        self._recs: list = []
        self.recommendations: list = []  # analytics.incidents.Recommendation, from the last findings()
        self.kept: dict[str, tuple[int, int]] = {}  # model -> (hits, misses) of `rule_memo` in the last findings()
        self.held: tuple | None = None  # (view, models evaluated whole, findings) of the last findings(): `_firing`
        self.passes = 0  # the models' rule passes evaluated (`_model_findings`), `burn_now`'s own among them

    def findings(self, models: list[str], now: datetime) -> list[Finding]:
        """Every incident over the history (firing, resolved with evidence, or insufficient data), with its
        suspects; reads only, never acts (retraining is recommended, not triggered). A model with at least
        `rollups_after` rows in the history is evaluated from the hourly rollups (`rollup_rules`); the raw edge
        hours of all such models are read in one scan before any is evaluated (`RollupRules.prefetch`)."""
        from console import rollup_rules as rr

        out: list[Finding] = []
        self._recs = []
        self.kept = {}
        view, whole = self._view(now), set()
        sources: dict[str, object] = {}
        for model in models:
            try:
                sources[model] = self._rollup_source(model, now)
            except Exception as exc:  # noqa: BLE001 - reported with the model's findings below
                sources[model] = exc
        edges = [(src, _edge_spans(self.mon.rules_for(m))) for m, src in sources.items()
                 if isinstance(src, rr.RollupRules)]
        try:
            rr.RollupRules.prefetch(edges)  # the raw hours the windows cut, every model's in one scan
        except Exception:  # noqa: BLE001 - each model then reads its own hours, and says its own failure
            pass
        try:
            rr.RollupRules.catch_up_all([src for src, _ in edges])  # the hour that closed, every model's in one scan
        except Exception:  # noqa: BLE001 - each model then catches up on its own (`load`), and says its own failure
            pass
        del edges
        for model in models:
            try:
                try:
                    src = sources[model]
                    if isinstance(src, Exception):
                        raise src
                    out += self._model_findings(model, now, src)
                except FolderFull as exc:  # the rollup folder filled midway: this model's rules read raw rows
                    self.mon.folder_full(exc)
                    out += self._model_findings(model, now, None)
                whole.add(model)
                sources[model] = None  # its hours and edge rows let go before the next model's load
            except Exception as exc:  # noqa: BLE001 - one model's bad data must not hide the others
                out.append(Finding(incident_id(model, "error"), model, "error", "evaluation failed", "warning", now, now,
                                   None, None, detail=f"{type(exc).__name__}: {exc}", state=ev.INSUFFICIENT))
        out.sort(key=lambda f: (not f.firing, f.state == ev.INSUFFICIENT, -f.onset.timestamp()))
        self.recommendations = self._recs
        if self._view(now) == view:  # a refresh that ended during the pass: its findings are of no one state
            self.held = (view, frozenset(whole), tuple(out))
        return out

    def _view(self, now: datetime) -> tuple:
        """What a pass's findings depend on besides the code and the configuration (fixed for a Monitor): `now`, the
        history's start asked for, the store's state (one per refresh, as the Monitor's kept rows are) and the
        row counts that choose raw rows or rollups."""
        mon = self.mon
        return now, mon.since, mon.wh.refreshes, mon.rollups_after, mon.narrow_after

    def _rollup_source(self, model: str, now: datetime, rules: list[AlertRule] | None = None):
        """The model's history from the rollups (`rollup_rules.RollupRules`, not yet loaded: `_rollup_findings`
        loads it), or None when its rules read raw rows (`_rules_from_rollups`). `rules`: those evaluated (default
        all the model's)."""
        from console import rollup_rules as rr

        since = self.mon.history_start(now)
        if not self._rules_from_rollups(model, since, now, quality=rules is None):
            return None
        rules = self.mon.rules_for(model) if rules is None else rules
        # (the expected quality only for a quality rule: `burn_now`'s burn rule alone does not wait on a registry)
        expected = self.mon.expected(model) if any(r.metric in ("accuracy_drop", "mae_increase") for r in rules) else {}
        labels = any((r.metric == "accuracy_drop" and "accuracy" in expected) or
                     (r.metric == "mae_increase" and "mae" in expected) for r in rules)
        return rr.RollupRules(self.mon, model, since, now, labels=labels,
                              drift=any(r.metric in DRIFT_METRICS for r in rules), load=False)

    def _model_findings(self, model: str, now: datetime, src=None, only: AlertRule | None = None) -> list[Finding]:
        """The model's findings (`findings`); `only`: that rule's alone, without segment incidents."""
        self.passes += 1
        mc = self.mon.model_config(model)
        since = self.mon.history_start(now)
        rules = self.mon.rules_for(model) if only is None else [only]
        deployments = self.mon.deployments(model, until=now)
        if deployments.height and "environment" in deployments.columns:  # the findings are production's
            deployments = deployments.filter(pl.col("environment").is_null() | (pl.col("environment") == "production"))
        if src is not None:
            return self._rollup_findings(src, mc, rules, deployments, segments=only is None)
        preds, narrow = self._rule_rows(model, since, now)
        found: list[Finding] = []
        ctx = Context(model, mc, preds, since, now, deployments, narrow)
        for rule in rules:
            if rule.metric == "stale_minutes":
                found += self._stale(ctx, rule)
                continue
            if preds.height == 0 and (rule.metric not in (*SPARSE_METRICS, *DRIFT_METRICS) or ctx.narrow):
                continue
            # (a rate or quality rule of a history with no row, `check --since` the last run a minute ago on a quiet
            # model, reads the rows before it for its verdict: it was skipped, a firing incident not listed at all;
            # a drift rule's windows reach back the same way (`Context.sparse_drifts`): a model whose rows stopped
            # had its firing drift incident vanish, neither firing nor resolved, once the history held none of them)
            use = self._reaching(ctx, rule)
            evals, extra = self._evaluate(use, rule)
            if use is ctx and rule.metric in LOOK_BACK_METRICS:
                use, evals, extra = self._look_back(rule, since, now, (use, evals, extra),
                                                    lambda earlier, until=None: self._raw_earlier(ctx, rule, earlier,
                                                                                                  until))
            elif use is ctx.wide and rule.metric in LOOK_BACK_METRICS:  # a history too short for a verdict
                use, evals, extra = self._look_back(rule, since, now, (use, evals, extra),
                                                    lambda earlier, until=None: self._wide_earlier(ctx, rule, earlier))
            found += self._to_findings(use, rule, evals, extra)
        if preds.height and (mc.segments or mc.sensitive) and only is None:
            found += self._segment_findings(model, mc, ctx.joined(self.mon), deployments, preds, now, since)
        return found

    def _look_back(self, rule: AlertRule, since: datetime, now: datetime, got: tuple, earlier) -> tuple:
        """(source, evaluations, extra) of a rule whose incident may have begun before the history. When the
        history's first evaluation with evidence already breaches, the onset found in it is about the history's
        start: it moved with `--at`, and the incident's id with it (an acknowledgement matched by id or onset
        stopped covering it a week on). Then the rule is evaluated again over a history reaching twice as far back
        (`earlier(start)`: the same grid and step, so the windows past the history's start are the history's), and
        again, until the breach is seen to begin (an evaluation with evidence before it does not breach), nothing
        earlier has evidence (the log's start), or SPARSE_REACH before `now` is reached still breaching: then it
        began before that limit (`extra["before"]`, a fixed id). A rule whose first evaluation does not breach is
        sought the same way when a run of it ended inside the history before that evaluation (`_ended_at_start`).
        `extra["listed_from"]` is the history's start: runs of the longer history that ended before it are not
        listed (`_listed`). Only a rule breaching at, or recovering inside, its history's start pays for the
        longer read."""
        first = _open_at_start(rule, got[1])
        mark = first.end if first is not None else since  # the run sought lasts past it
        if first is None:
            first = self._ended_at_start(rule, since, got[1], earlier)
            if first is None:
                return got
        limit, reach, start = now - SPARSE_REACH, now - since, since
        while since > limit:
            reach = min(reach * 2, SPARSE_REACH)
            since, was = now - reach, first
            got = earlier(since)
            first = _open_at_start(rule, got[1], mark)
            # seen to begin, or nothing earlier with evidence; a history still too short for a window before its
            # latest (`check --since` half an hour ago) says nothing of earlier ones yet: reach further
            if first is None or first.end >= was.end and len(got[1]) > 1:
                return got[0], got[1], {**got[2], "listed_from": start}
        return got[0], got[1], {**got[2], "listed_from": start, "before": since}

    def _ended_at_start(self, rule: AlertRule, since: datetime, evals: list, earlier):
        """The history's first evaluation when the rule's latest run before it ended there or between the
        history's start and it, else None. The grid starts a span or a step into the history (`evidence.grid_after`:
        the budget's a day and a step), so the evaluation that ended a run, or the breach before it, can lie in
        that stretch or just before it, unseen by the history: an incident resolved inside the history was not
        listed at all (the budget one resolved the day after `--since`, for a day of `--at`s). The evaluations up
        to the history's first are read again from a history reaching about twice as far before it
        (`earlier(start, until)`: the same grid and step, ending at the grid point before the history's first, so
        no window the history evaluated is evaluated again); only when such a run is there does the rule look back
        for its onset (`_look_back`), listing every run that ended inside the history."""
        first = next((e for e in evals if e.breach is not None), None)
        if first is None or first.breach:
            return None
        head = evals[0].end  # the history's first grid point; two more evaluations after it show the grid's step
        until = head - (evals[1].end - head) if len(evals) > 2 else first.end
        probe = [e for e in earlier(since - 2 * (head - since), until)[1] if e.end <= until]
        seen = probe + [e for e in evals if e.end > until]
        if any(r.end is not None and since < r.end <= first.end for r in _runs(rule, seen)):
            return first
        return None

    def _raw_earlier(self, ctx: "Context", rule: AlertRule, start: datetime, until: datetime | None = None) -> tuple:
        """`_look_back`'s evaluation of a rule on the raw path over (start, now]: the rows read as the history's
        are (`_rule_rows`), on the history's grid (`Context.grid_since`). With `until`, over (start, until] alone
        (`_ended_at_start`: the evaluations up to the history's first), on the same grid and with the labels
        logged by `now` (`Context.horizon`)."""
        key = start if until is None or until >= ctx.now else (start, until)
        if key not in ctx.earlier:
            end = ctx.now if until is None else min(until, ctx.now)
            preds, narrow = self._rule_rows(ctx.model, start, end)
            back = Context(ctx.model, ctx.mc, preds, start, end, ctx.deployments, narrow)
            back.grid_since, back.horizon = ctx.since, ctx.now
            ctx.earlier[key] = back
        back = ctx.earlier[key]
        # a history too quiet for a drift verdict reached back for its windows (`sparse_drifts`): a longer one
        # of 500 rows or more scored the ordinary way could not, and its early windows without evidence read
        # as the breach beginning (the onset, and the id, moved with `--at` and `--since`). Set on every use, not
        # only when made: a rate rule's look-back, run before the drift rule's, made these longer histories before
        # the history was known to be sparse, and the drift rule's look-back then read them the ordinary way
        back.sparse_drift = back.sparse_drift or ctx.sparse_drift
        return (back, *self._evaluate(back, rule))

    def _wide_earlier(self, ctx: "Context", rule: AlertRule, start: datetime) -> tuple:
        """`_look_back`'s evaluation of a rule whose history reads a sparse model's rows from before it (`_reaching`):
        over (start, now] on the same rows and the history's grid. Without it, a breach older than a short history
        (`check --since` an hour ago) had its onset, and its id, at the history's start, another id for each
        `--since`."""
        wide = ctx.wide
        key = ("wide", start)
        if key not in ctx.earlier:
            back = Context(ctx.model, ctx.mc, wide.preds, start, ctx.now, ctx.deployments,
                           reach=min(wide.reach, start) if wide.reach is not None else start)
            back.grid_since = ctx.since
            ctx.earlier[key] = back
        back = ctx.earlier[key]
        return (back, *self._evaluate(back, rule))

    def _rollup_earlier(self, src, backs: dict, rule: AlertRule, expected: dict, start: datetime,
                        until: datetime | None = None) -> tuple:
        """`_look_back`'s evaluation of a rule from the hourly rollups over (start, now]: the history's rollups
        and its grid (`RollupRules.grid_since`, `grid_until`), its kept evaluations (`rule_memo`) shared; raw rows
        only at the ends, as any history's. With `until` (`_ended_at_start`), over (start, until] alone: a grid
        point, so whole closed hours, their evaluations kept; the hours a pass just built are not read again.
        Such a view counts the labels logged by `until` (a past view's), not by `now`."""
        from console import rollup_rules as rr

        end = src.now if until is None else min(until, src.now)
        key = start if end == src.now else (start, end)
        if key not in backs:
            back = rr.RollupRules(self.mon, src.model, start, end, labels=src.labels, drift=bool(src.features),
                                  load=False)
            back.grid_since, back.grid_until, back.memo = src.grid_since, src.grid_until, src.memo
            back.share_fetched(src)
            back.load()
            backs[key] = (back, {})
        back, drifts = backs[key]
        evals, extra = self._rollup_evaluate(back, rule, expected, drifts)
        return back, evals, extra

    def _rules_from_rollups(self, model: str, since: datetime, now: datetime, quality: bool = True) -> bool:
        """The rules read the hourly rollups (`rollup_rules`) past `rollups_after` (`[rollups] min_rows`) rows in
        the history, by the count alone as drift and health choose: whatever another screen left in memory (the
        Drift screen's week), two passes over the same rows take the same path and give the same onsets.
        `quality=False`: the rules listed without the expected quality (`Monitor.rules_for`: no registry read); they
        lack only a regression model's default MAE rule, so a `min_rows` under its 200 labels could choose
        otherwise."""
        rules = self.mon.rules_for(model, quality=quality)
        need = max((_min_rows(r.metric) for r in rules if r.metric in SPARSE_METRICS), default=0)
        # and never below one rate or quality verdict's rows: a history too quiet for one reads raw, where its
        # windows may reach back before `since` (`_reaching`); with enough rows but too few labels, the rollup
        # path's quality rules reach back the same way (`RollupRules.sparse_labels`)
        return self.mon._many_rows(model, since, now, "production", at_least=need)

    def _reaching(self, ctx: "Context", rule: AlertRule) -> "Context":
        """The context a rate or quality rule reads: the history's, unless the whole history holds fewer rows
        (labelled rows, for accuracy and MAE) than one verdict needs (100 rows: 14 a day over the default 7
        days), when no window could ever breach, however bad the model. Then its windows reach back before
        `since`, up to SPARSE_REACH, for the rows a verdict needs, as the drift rules' do (`sparse_drifts`);
        the grid and the incident history still start at `since`."""
        if ctx.narrow or rule.metric not in SPARSE_METRICS:
            return ctx
        if rule.metric in ("accuracy_drop", "mae_increase"):
            have = int(he.served(ctx.joined(self.mon))["label"].is_not_null().sum())
        else:
            have = he.served(ctx.preds).height  # the rows its windows count: a shadow's copies are no evidence
        if not _sparse(have, rule.metric):
            return ctx
        if ctx.wide is None:
            reach = ctx.now - SPARSE_REACH
            ctx.wide = Context(ctx.model, ctx.mc, self.mon.rows(ctx.model, reach, ctx.now), ctx.since, ctx.now,
                               ctx.deployments, reach=reach)
        return ctx.wide

    def burn_now(self, model: str, now: datetime, environment: str | None = "production",
                 rows: pl.DataFrame | None = None) -> "br.BurnVerdict | None":
        """The `burn_rate` rule's verdict at `now` (`burn_rule.burn_verdict`, its latest window) on the model's rows in
        `environment`, read back as the rule's windows are: within the history (`history_start`) to MIN_BUCKET_ROWS
        requests, and up to SPARSE_REACH before `now` when the whole history holds fewer (`_reaching`). `rows`: the
        rows a caller holds, when they cover the window (the SLO panels' hours): then nothing more is read. A window
        that does not breach while the rule's production incident still fires says so (`burn_rule.beside_firing`):
        the rule's findings are then evaluated too, that rule's alone."""
        from console.analytics import rules as ru

        rule = ru.rule_for(self.mon.rules_for(model, quality=False), "burn_rate")
        if rule is None:
            return None
        verdict = self._burn_window(rule, model, now, environment, rows)
        if verdict.state == br.ALERT or environment != "production":  # the incidents are production's
            return verdict
        firing = self._firing(model, now, rule)
        return verdict if firing is None else br.beside_firing(verdict, firing.id)

    def _firing(self, model: str, now: datetime, rule: AlertRule) -> Finding | None:
        """The rule's firing incident of the model at `now`, or None. An incident ends only on evidence of recovery,
        so a window under the threshold whose interval still reaches past it leaves it firing: the SLO panels said
        "SLO ok" beside it (`burn_now`). Read from the last `findings` when they were made at this `now` of this
        state of the store (the TUI's monitor pass at a time cursor, a `snapshot`): the same rule over the same rows
        (a second evaluation cost 0.1-0.3 s of the SLO panel); else `findings` of that rule alone."""
        held = self.held  # once: a pass in another worker may replace it
        if held is not None and held[0] == self._view(now) and model in held[1]:
            found = held[2]
        else:
            try:
                found = self._model_findings(model, now, self._rollup_source(model, now, [rule]), rule)
            except FolderFull as exc:  # the rollup folder filled midway: raw rows, as `findings` falls back
                self.mon.folder_full(exc)
                found = self._model_findings(model, now, None, rule)
        return next((f for f in found if f.firing and _of_rule(f, model, rule)), None)

    def _burn_window(self, rule: AlertRule, model: str, now: datetime, environment: str | None,
                     rows: pl.DataFrame | None) -> "br.BurnVerdict":
        """`burn_now`'s evaluation of the rule's latest window alone."""
        mc, since = self.mon.model_config(model), self.mon.history_start(now)
        span = parse_window(rule.window)
        lo, cols = max(now - span, since), ["ts", "variant", "is_error", "latency_ms"]
        if rows is None or not rows.height or rows["ts"].min() > lo:
            rows = self.mon.typed_rows(model, lo, now, environment, columns=cols)
        if he.served(rows.filter((pl.col("ts") > lo) & (pl.col("ts") <= now))).height >= MIN_BUCKET_ROWS:
            return br.burn_verdict(rows, mc.slo, now, rule.op, rule.threshold, rule.window, since)  # no read-back
        if environment == "production" and self._rules_from_rollups(model, since, now, quality=False):
            # the rule's windows grow back by whole hours of rollups (`rollup_rules`): its latest one, as it says it
            from console import rollup_rules as rr

            try:
                e = rr.RollupRules(self.mon, model, since, now).latest_rate(rule.metric, span, rule.op,
                                                                             rule.threshold, MIN_BUCKET_ROWS)
            except FolderFull as exc:  # the folder filled midway: raw rows, as `findings` falls back
                self.mon.folder_full(exc)
            else:
                part = self.mon.typed_rows(model, e.start, now, environment, columns=cols)
                return br.verdict_of(e, part, mc.slo, rule.op, rule.threshold, rule.window)
        reach = None
        rows = self.mon.typed_rows(model, since, now, environment, columns=cols)
        if _sparse(he.served(rows).height, rule.metric):  # as `_reaching` decides for the rule
            reach = now - SPARSE_REACH
            rows = self.mon.typed_rows(model, reach, now, environment, columns=cols)
        return br.burn_verdict(rows, mc.slo, now, rule.op, rule.threshold, rule.window, since, reach)

    def _rollup_findings(self, src, mc: ModelConfig, rules: list, deployments: pl.DataFrame,
                         segments: bool = True) -> list[Finding]:
        """The findings of `_model_findings` with every rule's evaluations from the hourly rollups plus the raw
        open hour and window edges (`rollup_rules`, `src`: read by `findings`' prefetch); the onset and suspects
        from narrow raw reads of the first breaching windows; segments from a narrow raw read of label-joined
        rows."""
        model, since, now = src.model, src.since, src.now
        src.load()  # its rollups caught up and read, a model at a time
        expected = self.mon.expected(model)
        llm = rollup_spec.PROMPT in self.mon.attributes(model)
        found: list[Finding] = []
        drifts: dict[tuple, dict] = {}
        backs: dict[datetime, tuple] = {}  # `_look_back`'s longer histories, shared by the model's rules
        for rule in rules:
            if rule.metric == "stale_minutes":
                ts = self.mon.stale_ts(model, since, now, stale_limit(rule), kept=src.read_before)
                found += self._stale(Context(model, mc, ts, since, now, deployments, True), rule)
                continue
            evals, extra = self._rollup_evaluate(src, rule, expected, drifts)
            wide = extra.pop("context", None)
            if wide is not None:  # read as on the raw path (too few labels in the history): its findings too
                wide.deployments = deployments
                found += self._to_findings(wide, rule, evals, extra)
                continue
            use = src
            if rule.metric in LOOK_BACK_METRICS:
                use, evals, extra = self._look_back(
                    rule, since, now, (src, evals, extra),
                    lambda earlier, until=None: self._rollup_earlier(src, backs, rule, expected, earlier,
                                                                   until))
            runs = [r for r in _runs(rule, evals) if _listed(r, extra)]
            if llm and runs:  # prompt changes as suspects: the history's prompt versions, narrow
                ranges = [(use.since, now)]
            elif rule.metric in QUALITY_METRICS:  # as far back as its first view's window grew, and on through the
                ranges = [(use.since, r.end or now) for r in runs]  # run: the window whose evidence came first
            else:
                ranges = [(r.window_start - (r.onset - r.window_start), r.onset) for r in runs
                          if rule.metric not in DRIFT_METRICS]
            extra_cols = ["refused", rollup_spec.PROMPT] if llm else []
            preds = use.onset_rows(ranges, extra_cols)
            ctx = Context(model, mc, preds, use.since, now, deployments, True)
            ctx.hourly, ctx.rollups = True, use
            found += self._to_findings(ctx, rule, evals, extra)
        src.memo.save()  # the closed windows' evaluations, for the next pass (`rule_memo`)
        self.kept[model] = (src.memo.hits, src.memo.misses)
        if segments and (mc.segments or mc.sensitive):
            cols = ["ts", "model", "version", "request_id", "prediction", "prediction_num", "score",
                    *dict.fromkeys([*mc.segments, *mc.sensitive])]
            preds = self.mon.typed_rows(model, since, now, "production", columns=cols)
            if preds.height:
                found += self._segment_findings(model, mc, self.mon.joined(model, preds, since, now), deployments,
                                                preds, now, since)
        return found

    def _rollup_evaluate(self, src, rule: AlertRule, expected: dict, drifts: dict) -> tuple[list, dict]:
        """`_evaluate` of one rule from the rollups (`rollup_rules.RollupRules`)."""
        span, metric = parse_window(rule.window), rule.metric
        if metric in ("p95_ms", "error_rate", "burn_rate"):
            return src.rate(metric, span, rule.op, rule.threshold, MIN_BUCKET_ROWS), {}
        if metric == "refusal_rate":  # no rollup column holds refusals: their column alone, raw
            if "refused" not in self.mon.attributes(src.model):
                return [], {"note": _no_refusals(self.mon.model_config(src.model))}
            rows = he.served(self.mon.typed_rows(src.model, src.since, src.now, "production",  # as `_evaluate`:
                                                 columns=["ts", "refused", "variant"]))  # a shadow's reached no one
            rows = rows.filter(co.flag("refused").is_not_null())  # a row with no yes/no is no evidence either way
            spans = ev.windows(rows["ts"], src.now, span, MIN_BUCKET_ROWS, src.since,
                               step=ev.grid_step(span, src.grid_since, src.grid_until, limit=RATE_LIMIT), limit=None)
            return ev.rate_evaluations(rows, spans, co.flag("refused").mean(), rule.op,
                                       rule.threshold, MIN_BUCKET_ROWS, True), {}
        if metric in ("accuracy_drop", "mae_increase"):
            key = "accuracy" if metric == "accuracy_drop" else "mae"
            if expected.get(key) is None:
                return [], {"note": self._no_expected(src.model, key)}
            if src.sparse_labels(span, MIN_LABELS):  # too few labels in the whole history: reaches back, as raw
                cols = ["ts", "model", "version", "request_id", "prediction", "prediction_num", "score"]
                preds = self.mon.typed_rows(src.model, src.since, src.now, "production", columns=cols)
                wide = self._reaching(Context(src.model, src.mc, preds, src.since, src.now, None), rule)
                evals, extra = self._evaluate(wide, rule)
                return evals, {**extra, "context": wide}  # its onset is sought in the rows it read
            return src.accuracy(metric, span, expected[key], rule.threshold, MIN_LABELS, rule.op), {
                "expected": expected[key]}
        if metric in DRIFT_METRICS:
            if self.mon.reference(src.model) is None:
                return [], {"note": "no reference data"}
            span = max(span, parse_window(DRIFT_MIN_SPAN))
            step = max(span / 2, DRIFT_STEP)
            sparse = src.sparse_drifts(self.mon.reference(src.model), span, step, MIN_DRIFT_ROWS)
            if sparse is not None:  # too quiet for a verdict in the whole history: reaches back, as on the raw path
                spans, scored = sparse
            else:
                windows = src.drift_windows(span, step, MIN_DRIFT_ROWS)  # counted in served rows, as on the raw path
                key = tuple((w.lo, w.hi) for w in windows)
                if key not in drifts:  # every drift rule of a model reads the same windows: scored once
                    drifts[key] = src.drift_scores([w for w in windows if w.served >= MIN_DRIFT_ROWS])
                spans, scored = [(w.lo, w.hi, w.served) for w in windows], drifts[key]
            evals, extra = self._drift_evals(rule, spans, scored)
            extra["step"] = ev.grid_step(span, src.grid_since, src.grid_until, step)  # the grid's, as on the raw path
            if sparse is None:  # sketch scores: those an incident compares and their bounds cannot order (`incident_onsets.shown_reports`)
                extra["exact"] = src.exact_drift(windows)
            return evals, extra
        if metric == "cost_spike":
            return src.cost_spike(rule.op, rule.threshold, MIN_COST_ROWS)
        if metric == "cost_budget_share":
            return src.budget(rule.op, rule.threshold, DRIFT_STEP), {
                "note": "no budget or no spend this month"}
        return [], {"note": f"metric {metric} is not evaluated"}

    def _rule_rows(self, model: str, since: datetime, now: datetime) -> tuple[pl.DataFrame, bool]:
        """The history the rules read, and whether it lacks the features only drift looks at (then the drift
        rules read those alone, once: `Context.window_drifts`)."""
        rows = self.mon.rows(model, since, now)
        return rows, not set(self.mon.drift_features(model)) <= set(rows.columns)
    def _evaluate(self, ctx: "Context", rule: AlertRule) -> tuple[list, dict]:
        """Evaluations of one rule over evidence-sized windows, and what its findings need besides."""
        preds, mc, now = ctx.preds, ctx.mc, ctx.now
        span = parse_window(rule.window)
        metric = rule.metric
        lat = pl.col("latency_ms").cast(pl.Float64).fill_nan(None)
        if metric in ("p95_ms", "error_rate", "burn_rate", "refusal_rate"):
            preds = he.served(preds)  # the latency and errors users met: a shadow's answers reached no one
            if metric == "refusal_rate" and "refused" not in preds.columns:
                return [], {"note": _no_refusals(mc)}
            if metric == "refusal_rate":  # a row with no yes/no is no evidence either way
                preds = preds.filter(co.flag("refused").is_not_null())
            spans = ev.windows(preds["ts"], now, span, MIN_BUCKET_ROWS, ctx.since, step=ctx.step(span, rates=True),
                               limit=None, reach=ctx.reach)
            if metric == "burn_rate":  # the SLO panels' verdict is this function's on the latest window
                return br.burn_evaluations(preds, spans, mc.slo, rule.op, rule.threshold), {}
            expr, proportion = {
                "p95_ms": (lat.quantile(0.95, interpolation="linear"), False),
                "error_rate": (pl.col("is_error").cast(pl.Float64).mean(), True),
                "refusal_rate": (co.flag("refused").mean(), True),
            }[metric]
            bounds = _p95_bounds if metric == "p95_ms" else None
            return ev.rate_evaluations(preds, spans, expr, rule.op, rule.threshold, MIN_BUCKET_ROWS, proportion,
                                       bounds), {}
        if metric in ("accuracy_drop", "mae_increase"):
            key = "accuracy" if metric == "accuracy_drop" else "mae"
            expected = self.mon.expected(ctx.model).get(key)
            if expected is None:
                return [], {"note": self._no_expected(ctx.model, key)}
            # the accuracy users met: a shadow answers mirrored requests (same request_id, so labelled too)
            labelled = he.served(ctx.joined(self.mon)).filter(pl.col("label").is_not_null())
            if metric == "accuracy_drop":  # a labelled row with no prediction is not wrong: quality leaves it out too
                labelled = labelled.filter(pl.col("prediction").is_not_null())
            spans = ev.windows(labelled["ts"], now, span, MIN_LABELS, ctx.since, step=ctx.step(span), limit=None,
                               reach=ctx.reach)
            fn = ev.accuracy_evaluations if metric == "accuracy_drop" else ev.mae_evaluations
            evals = fn(labelled, spans, expected, rule.threshold, MIN_LABELS, op=rule.op)
            own = ev.own_rows(labelled["ts"], spans, span)  # none in its span: rows judged before (`no_new_rows`)
            return [e if k else ev.no_new_rows(e, span, "labelled rows") for e, k in zip(evals, own)], {
                "expected": expected}
        if metric in DRIFT_METRICS:
            return self._drift_evaluations(ctx, rule, span)
        if metric == "cost_spike":
            return cost_spike(ctx, rule)
        if metric == "cost_budget_share":
            return self._budget_evaluations(ctx, rule), {"note": "no budget or no spend this month"}
        return [], {"note": f"metric {metric} is not evaluated"}

    def _drift_evaluations(self, ctx: "Context", rule: AlertRule, span: timedelta) -> tuple[list, dict]:
        ref = self.mon.reference(ctx.model)
        if ref is None:
            return [], {"note": "no reference data"}
        span = max(span, parse_window(DRIFT_MIN_SPAN))
        step = max(span / 2, DRIFT_STEP)
        # a window's evidence is the requests served, not a shadow's copies of them (only the columns counted are
        # filtered: the history's every column copied per drift rule would double a large history's memory)
        served = he.served(ctx.preds.select([c for c in ("ts", "variant") if c in ctx.preds.columns]))
        if not ctx.narrow and (ctx.sparse_drift or served.height < MIN_DRIFT_ROWS):
            ctx.sparse_drift = True  # its look-back's longer histories keep these windows (`_raw_earlier`)
            spans, scored = ctx.sparse_drifts(self.mon, ref, span, step)
        else:
            spans = ev.windows(served["ts"], ctx.now, span, MIN_DRIFT_ROWS, ctx.since, step=ctx.step(span, step),
                               limit=None)
            scored = ctx.window_drifts(self.mon, ref, [(lo, hi) for lo, hi, n in spans if n >= MIN_DRIFT_ROWS])
        evals, extra = self._drift_evals(rule, spans, scored)
        extra["step"] = ctx.step(span, step)  # between two grid windows (`evidence.grid`)
        return evals, extra

    @staticmethod
    def _drift_evals(rule: AlertRule, spans: list, scored: dict) -> tuple[list, dict]:
        """A drift rule's evaluations from each window's dataset drift (`scored`, keyed by (start, end)),
        whether the exact fold or the rollups scored it."""
        evals, reports = [], {}
        held: set[str] = set()  # the features drifted in the open run's latest breach (the dataset rules)
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
                if rule.feature and (c is None or not c.evaluated):
                    # no values of it in the window (its logging dropped): no evidence either way; the other
                    # features' verdicts must not read as its recovery
                    status = c.status if c is not None else "not scored"
                    evals.append(ev.Evaluation(lo, hi, n, None, None, note=f"{rule.feature}: {status} on {n} rows"))
                    continue
                # one feature: 1 when its own test says drifted, else 0; compared by the rule's operator like
                # every rule (it read `drifted` whatever `op` and `threshold` said; config rejects a rule on one
                # feature that 0 and 1 cannot tell apart)
                value = (1.0 if c.drifted else 0.0) if c is not None else float(ds.n_drifted)
                breach = al.breaches(rule.op, value, rule.threshold)
            else:
                value, breach = ds.share, al.breaches(rule.op, ds.share, rule.threshold)
            if not (rule.metric == "feature_drift" and rule.feature):
                gone = sorted(f for f in held if not any(c.column == f and c.evaluated for c in ds.columns))
                if breach:
                    held = {c.column for c in ds.columns if c.drifted}
                elif gone:
                    # a feature of the breach no longer logged: the share of the others is no recovery (it ended the
                    # incident for lack of data); a feature never drifted, or never logged, holds nothing
                    evals.append(ev.Evaluation(lo, hi, n, None, None, note=f"{', '.join(gone)} (drifted before): no "
                                               f"data on {n} rows; {ds.n_drifted}/{ds.n_evaluated} others drifted"))
                    continue
                else:
                    held = set()
            evals.append(ev.Evaluation(lo, hi, n, value, breach,
                                       note=f"{ds.n_drifted}/{ds.n_evaluated} features drifted on {n} rows"))
        return evals, {"drift": reports}

    def _budget_evaluations(self, ctx: "Context", rule: AlertRule) -> list:
        """The month-end forecast (spend so far plus the last day's pace) at now and on the DRIFT_STEP grid over
        the history (`evidence.grid`), so the incident starts when the forecast crossed the budget, not at the
        start of the month."""
        budget = ctx.mc.budget_usd_month
        if not budget:
            return []
        month_start, _ = co.month_bounds(ctx.since)
        # the hour `now` cuts priced whole when it has closed, its requests after `now` left out (`priced_until`):
        # the rule charged a past view's whole replica hour to the requests up to `now`, and `cost` did not
        preds = self.mon.rows(ctx.model, min(month_start, ctx.since), self.mon.priced_until(ctx.now))
        costed = co.with_cost(preds, ctx.mc.prices).filter(pl.col("ts") <= ctx.now).sort("ts")
        rows = ev.Sorted(costed)
        evals = []
        # the rollups' grid too (`RollupRules.budget`); a history shorter than the pace still has its latest forecast
        for hi in ev.grid(ctx.now, DRIFT_STEP, ev.grid_after(ctx.since, ctx.now, co.PACE, co.PACE)):
            status = co.budget_status(costed, hi, budget, pace=co.PACE)
            n = rows.slice(hi - co.PACE, hi).height
            value = status.projected_share
            # no minimum of requests: spend is a sum, not an estimate, and a quiet day's pace of $0 is the truth (a
            # budget rule needing 50 requests a day never fired on a costly low-traffic model, and on a log gone
            # quiet `check` kept a projection days old that `cost` no longer showed)
            if value is None:
                evals.append(ev.Evaluation(hi - co.PACE, hi, n, None, None, note="no spend to project"))
            else:
                evals.append(ev.Evaluation(hi - co.PACE, hi, n, value, al.breaches(rule.op, value, rule.threshold),
                                           note=co.budget_note(status, budget)))
        return evals

    def _no_expected(self, model: str, key: str) -> str:
        """Why a quality rule has no expected level: the registry did not answer (`REGISTRY_DOWN`: `check` then
        counts the model as not evaluated), or none is logged."""
        down = self.mon.expected_unknown(model) if hasattr(self.mon, "expected_unknown") else None
        if down is not None:
            return f"no expected {key}: {REGISTRY_DOWN} ({down})"
        return f"no expected {key}: log it on the registry run or add label and prediction columns to the reference"

    def _to_findings(self, ctx: "Context", rule: AlertRule, evals: list, extra: dict) -> list[Finding]:
        model = ctx.model
        if not evals or all(e.breach is None for e in evals):
            latest = evals[-1] if evals else None
            note = extra.get("note") or (latest.note if latest else "no rows in the window")
            return [Finding(incident_id(model, rule.name, "insufficient"), model, rule.metric, rule.name, rule.severity,
                            ctx.now, None, None, rule.threshold, state=ev.INSUFFICIENT, window=rule.window,
                            evidence=note, detail=f"insufficient data: {note}")]
        out = []
        onset = ended = None
        before = extra.get("before")  # the first run breached back to the look-back's limit (`_look_back`)
        for i, run in enumerate(_runs(rule, evals)):
            if not _listed(run, extra):  # before the history, seen by a look-back alone: it still bounds the next
                ended = run.end
                continue
            known = [e for e in evals if e.end < run.onset and e.breach is not None]  # the verdict before it
            fine = known[-1].end if known and known[-1].breach is False else None
            onset, feature, first, detail_extra = self._onset(ctx, rule, run, extra, ended, fine)
            early = before is not None and i == 0
            if early:  # not an onset found but the limit it lies before: an id that does not move with the clock
                onset = before
                detail_extra += (f"; began before {before:%Y-%m-%d %H:%M}Z: breaching from there on (the rules look "
                                 f"back {SPARSE_REACH.days} days at most)")
            # a quality id keeps the onset the first view to list it gave, as later labels sharpen the onset shown
            kept = self._first_onset(ctx, rule, run, ended) if rule.metric in QUALITY_METRICS and not early else None
            kept = "before" if early else f"{kept or onset:%Y%m%dT%H%M}"
            ended = run.end
            state = al.AlertState(rule, model, run.peak, run.end is None, onset)
            suspects = self._suspects(ctx, state, onset, run.onset)
            last = run.last
            interval = f" [{last.low:.3g}, {last.high:.3g}]" if last.low is not None and last.high is not None else ""
            # a note carries its own interval (accuracy's); the value's interval is named, not glued to the
            # expected level ("vs expected 0.896 [0.377, 0.513]" read as the expected level's interval)
            evidence = (f"{last.note}; {rule.metric}{interval}" if interval else last.note) if last.note else (
                f"{last.value:.4g}{interval} on {last.n} rows" if last.value is not None else "")
            out.append(Finding(
                incident_id(model, rule.name, kept), model, rule.metric,
                rule.name, rule.severity, onset, run.end, run.peak, rule.threshold, feature=feature or rule.feature,
                suspects=suspects, first_drifted=first, state=run.state, window=rule.window,
                detected=self._detected(ctx, rule, run),
                evidence=evidence, latest=last.value, onset_before=early,
                detail=f"{rule.metric} {rule.op} {rule.threshold:g} over {rule.window} "
                       f"(at least {_min_rows(rule.metric)} rows){detail_extra}"))
        if rule.metric in RETRAIN_METRICS and out and out[-1].firing:
            self._recommend(model, rule, evals, ctx.now, out[-1].onset)
        return out

    def _suspects(self, ctx: "Context", state, onset: datetime, detected: datetime) -> tuple:
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

    def _segment_findings(self, model, mc, joined, deployments, preds, now, since=None) -> list[Finding]:
        joined = he.served(joined)  # the segment's users got the champion's answers, never the shadow's (qa10)
        task = "classification" if mc.task == "llm" else mc.task
        cols = list(dict.fromkeys([*mc.segments, *mc.sensitive]))
        worst = fa.worst_segment(joined, cols, task, mc.positive_label, min_n=MIN_SEGMENT_LABELS)
        if worst is None:
            return []
        metric = "accuracy" if task == "classification" else "mae"
        base = opt_float(qu.quality_table(joined, task, mc.positive_label, only=(metric,))[metric][0])
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
        # the gap is judged over the whole history: a segment whose rows start with it was behind before it, as far
        # as the console can tell, so its onset is said as "since before" (it moved with --at as if it began there)
        early = since is not None and onset is not None and onset - since <= timedelta(hours=1)
        rule = AlertRule(name=f"worst segment {worst.column}", metric="segment", op=">", threshold=SEGMENT_GAP)
        state = al.AlertState(rule, model, gap, True, onset)
        linked = inc.link_incident(state, deployments, preds, None, worst, onset)
        return [Finding(incident_id(model, "segment", f"{worst.column}={worst.group}"), model, "segment", rule.name, "warning",
                        onset, None, value, base, segment={"column": worst.column, "value": str(worst.group)},
                        suspects=linked.suspects, state=ev.FIRING, window=HISTORY, latest=value, onset_before=early,
                        evidence=f"{worst.n_labelled} labelled of {worst.n} rows in the segment",
                        detail=f"{metric} {value:.3f} in {worst.column}={worst.group} ({worst.n_labelled} labelled "
                               f"rows) vs {base:.3f} overall")]

    @staticmethod
    def _segment_mae_p(joined: pl.DataFrame, column: str, group: str) -> float | None:
        """One-sided p-value that the segment's MAE is more than (1 + SEGMENT_GAP) times the rest's."""
        err = ev.abs_error()
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

class Context:
    """One model's rows for one evaluation, with the label join made once, on first use."""

    def __init__(self, model, mc, preds, since, now, deployments, narrow: bool = False,
                 reach: datetime | None = None):
        self.model, self.mc, self.preds, self.since, self.now, self.deployments = model, mc, preds, since, now, deployments
        self.narrow = narrow  # the rows lack the features only drift reads (a large history): read them alone
        self.reach = reach  # a sparse model's rows start here, before `since` (`RuleEvaluator._reaching`)
        self.grid_since = since  # the history the grid's step is set by (`step`): a look-back's keeps the history's
        self.horizon = now  # the view's time: the grid's step and the labels logged by it (a probe ending before it)
        self.wide: "Context | None" = None  # this history's sparse context, made once
        self.sparse_drift = False  # its drift windows reach back before `since` (`sparse_drifts`)
        self.earlier: dict[datetime, "Context"] = {}  # `RuleEvaluator._look_back`'s longer histories, made once
        self._joined = None
        self.first: dict[tuple, tuple | None] = {}  # a quality run's first evidence (`RuleEvaluator._first_evidence`)
        self.hourly = False  # its quality windows grow by whole hours (the rollups': `_rollup_findings`)
        self.rollups = None  # the rollup source it was read from (`rollup_rules.RollupRules`): its memo and hours
        self._drifts: dict[tuple, dict] = {}
        self._sparse: dict[tuple, tuple] = {}

    def step(self, span: timedelta, step: timedelta | None = None, rates: bool = False) -> timedelta:
        """The step between a rule's evaluations (`evidence.grid_step`), set by the history (since, now]: a longer
        history looked back over (`RuleEvaluator._look_back`) keeps it, so its windows are the history's. A rate
        rule's (`rates`) is never widened (`RATE_LIMIT`)."""
        return ev.grid_step(span, self.grid_since, self.horizon, step, limit=RATE_LIMIT if rates else 168)

    def window_drifts(self, monitor, ref: Reference, windows: list[tuple[datetime, datetime]]) -> dict:
        """Each window's dataset drift (the same windows for every drift rule of a model: scored once), of the
        served rows (`health.served`, as the windows are counted). A large history's features stream past once and
        are folded per window (`drift_windows`), never held whole."""
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
                frame = monitor.typed_rows(self.model, self.since, self.now, "production",
                                           columns=["variant", *feats]) if self.narrow else self.preds
                keep = ["ts", *(["variant"] if "variant" in frame.columns else []), *feats]  # filter these alone
                got = dw.window_drifts(ref, [_drift_ready(he.served(frame.select(keep)).select(["ts", *feats]))],
                                       windows, share)
            self._drifts[key] = got
        return self._drifts[key]

    def sparse_drifts(self, monitor, ref: Reference, span: timedelta, step: timedelta) -> tuple[list, dict]:
        """(windows, their dataset drifts) of a model with fewer than MIN_DRIFT_ROWS rows over the whole history
        (30 a day over the default 7 days), which would never have a drift verdict: its windows reach back
        before `since`, up to SPARSE_REACH, for the rows a verdict needs, as they already grow back within the
        history on a quiet night. Served rows only, counted and scored (`health.served`), as every drift window's.
        Read and scored once for every drift rule of the model."""
        key = (span, step)
        if key not in self._sparse:
            feats, reach = list(ref.columns), self.now - SPARSE_REACH
            frame = he.served(monitor.typed_rows(self.model, reach, self.now, "production",
                                                 columns=["variant", *feats]))
            spans = ev.windows(frame["ts"], self.now, span, MIN_DRIFT_ROWS, self.since, step=self.step(span, step),
                               limit=None, reach=reach)
            ranges = [(lo, hi) for lo, hi, n in spans if n >= MIN_DRIFT_ROWS]
            scored = dw.window_drifts(ref, [_drift_ready(frame.select(["ts", *feats]))], ranges,
                                      monitor.cfg.drift_share) if ranges else {}
            self._sparse[key] = (spans, scored)
        return self._sparse[key]

    def joined(self, monitor) -> pl.DataFrame:
        if self._joined is None:
            self._joined = monitor.joined(self.model, self.preds, self.reach or self.since, self.horizon)
        return self._joined


def cost_spike(ctx: Context, rule: AlertRule) -> tuple[list, dict]:
    """Cost per request since the last change (version or prompt) against the one before it: the rule's
    definition, also the Cost screen's `rule_spike`."""
    costed = co.with_cost(ctx.preds, ctx.mc.prices).sort("ts")
    serving = costed.filter(pl.col("variant").is_in(["champion", "blue", "green"]) | pl.col("variant").is_null()) \
        if "variant" in costed.columns else costed
    if serving.height == 0:
        return [], {"note": "no champion traffic"}
    keys = serving.select(co.change_key(pl.col("version"), pl.col("prompt_version")
                                        if "prompt_version" in serving.columns else None)).to_series()
    key = co.CHANGE_KEY if keys.str.contains("/", literal=True).any() else "version"
    changed = (keys != keys.shift(1)).fill_null(False)
    # a change is where the serving version/prompt takes over for good (majority over the next rows)
    segments = serving.with_columns(keys.alias("_k"), changed.cum_sum().alias("_seg"))
    per = (segments.group_by("_seg", maintain_order=True)
           .agg(pl.col("_k").first(), pl.col("ts").min().alias("start"), pl.col("ts").max().alias("end"),
                pl.len().alias("n"), pl.col(co.COST).sum().alias("cost"),
                ev.ready_at("ts", pl.col("ts").cum_count(), MIN_COST_ROWS)))
    return ev.unit_cost_evaluations(per, key, rule.op, rule.threshold, MIN_COST_ROWS)


def _of_rule(f: Finding, model: str, rule: AlertRule) -> bool:
    """Whether `f` is an incident of `rule` on `model` (a pass over every rule holds the others' too)."""
    return (f.model, f.kind, f.rule, f.window, f.threshold) == (model, rule.metric, rule.name, rule.window,
                                                                 rule.threshold)


def _runs(rule: AlertRule, evals: list) -> list:
    """The rule's runs of breaching evaluations (`evidence.runs`: a drift run needs two in a row)."""
    return ev.runs(evals, rule.op, min_count=2 if rule.metric in DRIFT_METRICS else 1)


def _open_at_start(rule: AlertRule, evals: list, mark: datetime | None = None):
    """The rule's first evaluation with evidence when it breaches and starts a run (kept by `evidence.runs`) that
    lasts past `mark` (the history's first breach): the incident may have begun before these evaluations
    (`RuleEvaluator._look_back`). None otherwise."""
    first = next((e for e in evals if e.breach is not None), None)
    if first is None or not first.breach:
        return None
    runs = _runs(rule, evals)
    if not runs or runs[0].onset != first.end or (mark is not None and runs[0].end is not None
                                                   and runs[0].end <= mark):
        return None
    return first


def _listed(run, extra: dict) -> bool:
    """Whether a run is an incident of the history: not one a look-back alone saw, ended before the history
    (`extra["listed_from"]`, the history's start, `RuleEvaluator._look_back`): its recovery inside the history is
    listed, also when the history's own grid starts after it (`RuleEvaluator._ended_at_start`)."""
    mark = extra.get("listed_from")
    return mark is None or run.end is None or run.end > mark


# A rate rule (p95, error rate, burn, refusals) is evaluated every quarter of its window over any history, never
# on a step widened to keep ~168 windows (as drift's is): a wide step left a 1 h rule's windows one hour in six
# over a month, and a 45-minute outage between them was never seen (alert probe, ws4). Its windows are cheap to
# count (slices of sorted times, or hourly rollup rows); a month of a 1 h rule is 720 of them.
RATE_LIMIT = None
REGISTRY_DOWN = "the registry did not answer"  # a quality rule's note when its expected level could not be read


def _chunks(ts: pl.Series, since: datetime, until: datetime, rows: int) -> list[tuple[datetime, datetime]]:
    """(since, until] cut into consecutive ranges of about `rows` rows each, by the sorted times `ts`."""
    cuts = ts.gather(list(range(rows - 1, ts.len() - 1, rows))).unique(maintain_order=True).to_list() \
        if ts.len() > rows else []
    bounds = [since, *[c for c in cuts if since < c < until], until]
    return list(zip(bounds, bounds[1:]))


def _p95_bounds(part: pl.DataFrame) -> tuple[float | None, float | None]:
    """A window's p95 latency bounds (`evidence.quantile_ranks`): a p95 of 100 rows a few ms under its threshold,
    with 15 slow canary rows among them, ended an incident that went on for days (three incidents, one page each)."""
    lat = part.get_column("latency_ms").cast(pl.Float64).fill_nan(None).drop_nulls().sort()
    ranks = ev.quantile_ranks(lat.len(), 0.95)
    return (None, None) if ranks is None else (float(lat[ranks[0]]), float(lat[ranks[1]]))


def _no_refusals(mc: ModelConfig) -> str:
    """Why a refusal rule has no evidence: only an LLM's `refused` column is read (`Monitor.attributes`), so on a
    model of another task the rule cannot fire whatever its log holds; it used to say the log had no such column."""
    if mc.task != "llm":
        return f'refusal_rate reads the refused column of an llm model; this model\'s task is "{mc.task}"'
    return "no refused column in the log"


def _sparse(have: int, metric: str) -> bool:
    """Whether a history of `have` rows (labelled rows for accuracy and MAE) is too quiet for one verdict of a
    rule on `metric`: its windows then reach back before the history (`RuleEvaluator._reaching`, `burn_now`)."""
    return have < _min_rows(metric)


def _min_rows(metric: str) -> int:
    if metric in DRIFT_METRICS:
        return MIN_DRIFT_ROWS
    if metric in ("accuracy_drop", "mae_increase"):
        return MIN_LABELS
    if metric == "cost_spike":
        return MIN_COST_ROWS
    return MIN_BUCKET_ROWS




def _edge_spans(rules: list[AlertRule]) -> list[timedelta]:
    """The spans of the latest windows the rules from rollups cut a raw hour at the start of (`_rollup_evaluate`'s
    windows: a drift window's at least `DRIFT_MIN_SPAN`, a budget's pace): what `RollupRules.prefetch` reads."""
    spans = []
    for rule in rules:
        if rule.metric in ("p95_ms", "error_rate", "burn_rate", "accuracy_drop", "mae_increase"):
            spans.append(parse_window(rule.window))
        elif rule.metric in DRIFT_METRICS:
            spans.append(max(parse_window(rule.window), parse_window(DRIFT_MIN_SPAN)))
        elif rule.metric == "cost_budget_share":
            spans.append(co.PACE)
    return spans
