"""The one facade the CLI and the TUI both call: nothing above it runs SQL or talks to MLflow.

Methods block (they do I/O); the TUI calls them from thread workers. The clock is injectable so
tests can pin "now".
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from console.aliases import alias_name, parse_alias
from console.analytics.serving import Serving, fold_all
from console.config import Config, reveal
from console.redact import redact_text
from console.snapshot import ModelRow, RegistryState, Snapshot
from console.warehouse import RefreshStats, Warehouse

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def check_view(*, now: datetime | None = None, at: str | None = None, window: str | None = None,
               start: str | None = None, end: str | None = None, since: str | None = None,
               default_window: str = "24h") -> None:
    """The read options' own errors (`Service.view`'s, whatever the store holds), before any log is read: a
    mistyped --at waited for a cold store's whole ingest (tens of seconds at 10M rows) to be told. What depends
    on the rows (`latest`) or on the clock (without `now`: a range ending after now) is left to `view`."""
    from console.analytics.windows import resolve_view

    options = dict(latest=None, at=at, window=window, start=start, end=end, since=since, default_window=default_window)
    try:
        resolve_view(now=now or datetime(8000, 1, 1), **options)
    except ValueError:
        if now is not None:
            raise
        # said against the clock, not the stand-in: '--from 8999-01-01' was told "(now: 8000-01-01T00:00:00Z)"
        resolve_view(now=utc_now(), **options)
        raise


class Service:
    REGISTRY_TTL_S = 15.0

    def __init__(self, cfg: Config, clock: Clock | None = None, cache: bool = False):
        """`cache`: keep the warehouse in a DuckDB file between launches (the TUI), so a relaunch reads only
        what was appended since; scripts and tests read the logs afresh into memory."""
        self.cfg = cfg
        self._wall = clock or utc_now
        self.at: datetime | None = None  # the end of the view; None follows the clock (live)
        self.window_span = timedelta(hours=24)  # the window the last view() asked for
        self.warehouse = Warehouse(cfg)  # the store every process shares; `cache` is kept for callers
        self._monitor = None  # see `monitor`
        self._since: datetime | None = None  # the incident history's start the view asked for (see `set_at`)
        self._answer_memo = None  # see `_answers`
        self._monitor_create = threading.Lock()
        self._registry = None
        self._registry_lock = threading.Lock()
        self._registry_state: RegistryState | None = None
        self._registry_at = 0.0
        self.last_refresh: RefreshStats | None = None
        self.refreshed_at: datetime | None = None  # the wall clock when the last refresh ended (not the cursor)
        self._monitor_lock = threading.Lock()
        self.view_gen = 0  # moved by `set_at`: a rule pass begun at another view is not kept (see `findings`)
        self._findings: list | None = None
        self._findings_at = 0.0
        self._drift_status: dict[str, str] = {}
        self._cost_today: dict[tuple[str, str], float | None] = {}  # (model, environment) -> priced cost today
        self._cells_of: list | None = None  # the findings the two cells above were made with
        self._seen: set[tuple[str, str]] = set()  # (model, environment) ever logged, as the last full snapshot saw
        self.recommendations: list = []
        self.auto_retrain_results: list = []

    @property
    def monitor(self):
        """The rules and screens' reads (monitoring.Monitor), created on first use: importing them and the
        analytics is not on the way to the first frame (the Overview's numbers are the store's queries)."""
        with self._monitor_create:
            if self._monitor is None:
                from console.monitoring import Monitor

                self._monitor = Monitor(self.cfg, self.warehouse, self.clock)
                self._monitor.wall = self._wall  # a view ending after now judges silence up to now
                self._monitor.expected_levels = self.expected_levels
                self._monitor.since = self._since
            return self._monitor

    @monitor.setter
    def monitor(self, value) -> None:
        self._monitor = value

    # ------------------------------------------------------------------ time

    def clock(self) -> datetime:
        """The end of every window: the time cursor when one is set, else the (injectable) wall clock."""
        return self.at if self.at is not None else self._wall()

    now = clock

    def hold_clock(self) -> None:
        """A one-shot command reads at one instant: its `at`, its window's ends and every table in its output
        were each taken from the moving wall clock (a `cost --format json` said `at` 07:30:05.61 over a window
        ending at 07:30:05.22)."""
        instant = self._wall()
        self._wall = lambda: instant
        if self._monitor is not None:
            self._monitor.wall = self._wall

    def set_at(self, at: datetime | None, since: datetime | None = None) -> None:
        """Moves the time cursor (None: back to live) and the start of the incident history (None: 7 days
        before the cursor); cached monitoring results belong to the old view."""
        if at != self.at or since != self.monitor_since:
            self.at = at
            self._since = since
            if self._monitor is not None:
                self._monitor.since = since
            # not under the monitor's lock: a rule pass holds it for seconds, and the TUI's time keys call this on
            # the event loop (`[` froze the screen for 4-6 s). A pass in flight sees the generation move and
            # keeps nothing it found (`findings`).
            self.view_gen += 1
            self._findings = None
            # the Overview's DRIFT and cost cells were made for the old view: "-" until its rule pass
            self._drift_status, self._cost_today, self._cells_of = {}, {}, None

    def view(self, *, at: str | None = None, window: str | None = None, start: str | None = None,
             end: str | None = None, since: str | None = None, default_window: str = "24h",
             model: str | None = None, environment: str | None = None):
        """Resolves the read options of the CLI (`--at`, `--window`, `--from/--to`, `--since`) against this
        store and moves the time cursor there; returns the analytics.windows.View. A view that does not end at
        the wall clock is not live, nor one with --from: its start is exact, so its end stays where it was read
        (a live end moves on and would carry the start with it). A window given (`--window`, `--from`) sets the
        incident history too, as resolve_view defines it: `check --window 2026-11` lists November's incidents."""
        from console.analytics.windows import resolve_view

        wall = self._wall()
        # `latest` of a command about one model is that model's newest row (in the environment it reads): a model
        # whose log went quiet months ago showed an empty window ending at another model's newest row
        latest = self.warehouse.last_seen(model, datetime.max, environment) \
            if model is not None and str(at).strip().lower() == "latest" else None
        v = resolve_view(now=wall, latest=latest or self.latest_ts(), at=at, window=window, start=start, end=end,
                         since=since, default_window=default_window)
        live = v.end == wall and start is None
        asked = since is not None or window is not None or start is not None  # else: the default history
        self.set_at(None if live else v.end, v.since if asked else None)  # a window's incidents are its own
        self.window_span = v.span
        return v

    @property
    def live(self) -> bool:
        return self.at is None

    def latest_ts(self) -> datetime | None:
        """The newest prediction's time, for `--at latest` and for 'no rows in this window' messages."""
        return self.warehouse.newest("predictions")

    def empty_window_note(self, model: str | None = None, environment: str | None = None,
                          span: str | None = None) -> str | None:
        """'no rows in this window; the newest row is at T' when the view's window (the `span` before its end
        when given: `snapshot`'s 24 h) holds no prediction of `model` (of any model when None) in `environment`
        (any when None), else None (README, Any time window). Whether the window is after the newest row,
        before the oldest or in a gap: T is the model's newest (in `environment`: another's row may be the window's
        own end)."""
        from console.analytics.windows import parse_window

        at, asked, said = self.clock(), self.window_span, span
        span = parse_window(span) if span else asked
        models = [model] if model is not None else self.models()
        # the store's own queries (`Warehouse.has_rows` and `last_seen`): a kept answer needs no Monitor
        if any(self.warehouse.has_rows(m, at - span, at, environment) for m in models):
            return None
        unread = self.unreadable()[0]
        down = [unread[m] for m in models if m in unread]
        if down:  # its rows are in a source that cannot be read now: not "the logs hold no rows"
            return f"no rows read in this window: {down[0]}"
        latest = self.warehouse.last_seen(model, datetime.max, environment) if model is not None else self.latest_ts()
        where = "this window" if span == asked else f"the {said} before {at.isoformat()}Z"
        if latest is None and model is not None and self.latest_ts() is not None:
            # its rows may all name another environment (an OTLP resource's "prod"): say which, not "no rows"
            other = sorted({env for m, env in self.warehouse.seen_pairs() if m == model and env and env != environment})
            if environment is not None and other:
                return (f"no rows in {where}; {model}'s rows are in environment {', '.join(map(repr, other))}, not "
                        f"{environment!r} (--environment {other[0]})")
            return f"no rows in {where}; the logs hold no rows for {model}"
        return f"no rows in {where}; " + (f"the newest row is at {latest.isoformat()}Z" if latest
                                             else "the logs hold no rows yet")

    # ------------------------------------------------------------------ sources

    @property
    def registry(self):
        """The MLflow adapter, created on first use (importing mlflow takes over a second)."""
        with self._registry_lock:
            if self._registry is None:
                from console.sources.registry import Registry

                uri = self.cfg.tracking_uri
                self._registry = Registry(reveal(uri), secrets=uri.parts() if hasattr(uri, "parts") else ())
            return self._registry

    @property
    def operator(self):
        """The action orchestrator (actions.operator.Operator) over the same registry; created on first use."""
        with self._registry_lock:
            op = getattr(self, "_operator", None)
        if op is None:
            from console.actions.operator import Operator

            # the registry is reached when an action first needs it: an acknowledgement is only an audit record,
            # and a console with logs and no registry must be able to make one (qa7: `ack` exited 4, "no registry
            # configured", so a known incident kept a cron `check` exiting 1)
            op = Operator(self.cfg, _OnFirstUse(lambda: self.registry), deployments=self.deployment_events)
            self._operator = op
        return op

    def deployment_events(self, model: str, environment: str) -> list[dict]:
        """One model's deployment events in one environment, oldest first, from the store (every format)."""
        self._ingested()
        rows = self.monitor.deployments(model).to_dicts()
        return [r for r in rows if (r.get("environment") or "production") == environment]

    # ------------------------------------------------------------------ actions: one plan-and-gate path

    def check_action(self, action: str, environment: str):
        """The policy's verdict (actions.policy.Decision) for the current user."""
        return self.operator.check(action, environment)

    def action_state(self, model: str, environment: str):
        """What applies to the model now (actions.catalog.ActionState)."""
        return self.operator.state(model, environment)

    def canary_pct(self, model: str, environment: str, aliases: dict | None = None,
                   tags: dict | None = None) -> int | None:
        return self.operator.canary_pct(model, environment, aliases, tags)

    def plan_action(self, model: str, environment: str, action: str, *, version: str | None = None,
                    strategy: str | None = None, percent: int | None = None, to: str | None = None,
                    incidents: list | None = None):
        """The plan, gates, evidence and warnings of an action (actions.plan.Prepared); no write. The TUI and
        CLI both call this. `incidents`: the incidents the caller holds (the TUI's monitor worker's); None reads
        them here (the CLI), so a target version an open incident suspects is warned about by both doors."""
        from console.actions import plan

        if self.at is not None:  # the gates would judge the evidence of the view's time, not now's
            p = plan.Prepared(action, model, environment, False, self._not_live(), version=version)
        else:
            self._ingested()
            held = list(incidents) if incidents is not None else None
            p = plan.prepare(self.operator, model, environment, action, version=version, strategy=strategy,
                             percent=percent, to=to, live_reader=self.live_stats, drift_reader=self.drift_evidence,
                             incident_reader=(lambda: held) if held is not None else self._incidents_for_plan)
        if not p.allowed and p.stopped is None:  # does not apply, not live: audited here, for both doors
            p = dataclasses.replace(p, stopped=self.refuse_action(action, model, environment, p.reason,
                                                                  details={"usage_error": True} if p.usage else None))
        return p

    def _incidents_for_plan(self) -> list:
        """The incidents a plan is warned from when the caller holds none (the CLI): the rules' pass, cached."""
        return self.findings(overview=False) if self.cfg.has_logs else []

    def refuse_action(self, action: str, model: str, environment: str, message: str, gates: tuple = (), plan=None,
                      details: dict | None = None, reason: str | None = None):
        """Audits a refusal decided before the operator's write path (failed gates not forced, a plan that cannot
        run, an action that does not apply): the CLI and the TUI's dialog alike, so both doors leave one trail.
        `reason`: the one the operator gave (the dialog's; the CLI states its --reason first, `state_reason`),
        recorded beside why it was refused. A blocked plan is classified as the CLI's preflight classifies it
        (`stop_action`): one blocked because another operator has just made that very change is a conflict naming
        who and when, not a plain refusal (the dialog recorded "refused", the CLI "conflict")."""
        from console.actions.operator import STATED_REASON

        token = STATED_REASON.set(reason) if reason is not None else None
        try:
            if plan is not None and getattr(plan, "blocked", None):
                from console.sources.registry import RegistryError

                try:
                    stopped = self.operator.conflict_or_blocked(plan, None)
                except RegistryError:  # who moved it is unknown now: the refusal is still recorded, as it was
                    stopped = None
                if stopped is not None:
                    return stopped
            if gates:
                details = {**(details or {}), "gates": [{"name": g.name, "passed": g.passed, "detail": g.detail}
                                                        for g in gates]}
            return self.operator.refuse("refused", message, action, model, environment, details, plan)
        finally:
            if token is not None:
                STATED_REASON.reset(token)

    def stop_action(self, prepared, expected_from: str | None):
        """The audited conflict or refusal for a planned action that cannot run as seen, else None."""
        plan = prepared.plan
        return self.operator.conflict_or_blocked(plan, expected_from) if plan is not None else None

    def run_action(self, prepared, **choice):
        """Runs a planned action (actions.plan.execute): its gates are judged again on the live and drift evidence
        as it is now, the store brought up to date first (`_caught_up`), and a gate failing now that the operator
        did not see fail refuses it (a conflict)."""
        from console.actions import plan

        self.state_reason(choice.get("reason"))  # (a worker thread's own context: the TUI's next action sets its own)
        if self.at is not None:  # the view left live while the dialog was open
            return self.operator.refuse("refused", self._not_live(), prepared.action, prepared.model,
                                        prepared.environment, plan=prepared.plan)
        return plan.execute(self.operator, prepared, live_reader=self.live_stats, drift_reader=self.drift_evidence,
                            catch_up=self._caught_up, **choice)

    def state_reason(self, reason: str | None) -> None:
        """The reason the operator gave for the action now being decided: its refusals record it (the CLI's
        --reason, given before anything is planned)."""
        from console.actions.operator import STATED_REASON

        STATED_REASON.set(reason)

    def _not_live(self) -> str:
        return (f"the view is at {self.at:%Y-%m-%d %H:%M}Z, not live: an action changes the registry now and its gates "
                "judge the last hour's evidence, so it is taken from the live view (the TUI's l, a command without "
                "--at)")

    def _caught_up(self) -> str | None:
        """The store brought up to date at confirmation, before a gated action's gates are judged again: the rows
        that arrived while the operator read the plan count (a CLI's store is otherwise as it was when it planned;
        the TUI's as its last timer left it). Why it could not, else None: the gates are then judged on the rows
        read before, and the result says so."""
        try:
            self.refresh()
        except Exception as exc:  # noqa: BLE001 - the action is still judged, on what the store holds
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"the store could not be brought up to date before the gates were judged again ({text}): " \
                   f"they were judged on the rows read before"
        return None

    def abandon_actions(self, which: list[tuple[str, str, str]] | None = None,
                        reason: str = "the operator quit the console") -> list[dict]:
        """The operator quits while actions run (after the UI asked): each (action, model, environment) named,
        all when None, gets its audit outcome ("interrupted by quit") and its lease and lock are released now,
        not by TTL; their workers stop at their next step. Returns the outcome records written."""
        op = getattr(self, "_operator", None)  # no operator yet: nothing ever ran
        return op.abandon(which, reason) if op is not None else []

    def interrupt(self) -> None:
        """Interrupts the store's queries in flight (quitting: a worker mid-query lets go at once)."""
        self.warehouse.interrupt()

    def drift_evidence(self, model: str, environment: str = "production") -> dict | None:
        """The drift gate's evidence: the dataset verdict on the last 24 h of inputs, None without one."""
        from console.actions.plan import DRIFT_WINDOW

        # a gate blocks a deployment: it decides on exact scores, never on a borderline sketch
        report = self.monitor.drift(model, DRIFT_WINDOW, environment=environment, series=False, exact=True,
                                    target=False)  # the gate reads the feature verdict only
        ds = report.dataset
        if ds is None or not ds.n_evaluated:
            return None
        return {"drifted": bool(ds.drifted), "share": float(ds.share), "n_drifted": ds.n_drifted,
                "n_evaluated": ds.n_evaluated, "window": DRIFT_WINDOW}

    # ------------------------------------------------------------------ reads for the screens

    def histograms(self, model: str, feature: str, window: str = "24h"):
        return self.monitor.histograms(model, feature, window)

    def deployment_rows(self, model: str | None = None) -> list[dict]:
        """Deployment events as stored (every format), oldest first."""
        return self.monitor.deployments(model).to_dicts()

    def model_info(self, model: str):
        return self.registry.get_model(model)

    def versions(self, model: str) -> list:
        return self.registry.versions(model)

    def lineage(self, model: str, version: str):
        return self.registry.lineage(model, version)

    def model_version(self, model: str, version: str):
        return self.registry.get_version(model, version)

    def alias_version(self, model: str, alias: str) -> str | None:
        return self.registry.alias_version(model, alias)

    def incomplete_actions(self) -> list[dict]:
        """Audit intents with no outcome: actions a crash interrupted."""
        from console.actions import audit

        return audit.incomplete(audit.default_path(self.cfg))

    def expected_levels(self, model: str) -> dict[str, float]:
        """The champion's expected quality from its registry run (accuracy, MAE), for the quality rules."""
        if not self.cfg.tracking_uri:
            return {}
        from console.sources.registry import RegistryNotFound

        try:  # a model the registry does not hold has no level; a registry that did not answer raises (`Monitor`)
            champion = self.registry.alias_version(model, alias_name("production", "champion"))
            if not champion:
                return {}
            metrics = self.registry.lineage(model, champion).metrics or {}
        except RegistryNotFound:
            return {}
        out = {}
        for key in ("accuracy", "mae"):
            for name in (key, f"val_{key}", f"validation_{key}", f"test_{key}"):
                if isinstance(metrics.get(name), (int, float)):
                    out[key] = float(metrics[name])
                    break
        return out

    def live_stats(self, model: str, environment: str = "production", versions: dict | None = None,
                   window: str = "1h") -> dict:
        """Live error rate, p95 and accuracy of the champion and the canary, for the canary gates: of the versions
        the aliases name now (`versions`), so a canary started minutes ago is judged on its own rows, not on the
        rows its predecessor served under the same variant (a canary v1 was gated on the aborted v4's)."""
        from console.analytics.quality import served_quality
        from console.analytics.windows import parse_window

        now = self.clock()
        since = now - parse_window(window)
        mc = self.monitor.model_config(model)
        preds = self.monitor.predictions(model, since, now, environment)
        joined = self.monitor.joined(model, preds, since, now, environment)
        out = {}
        for variant in ("champion", "canary"):
            rows = joined.filter(joined["variant"] == variant)
            wanted = (versions or {}).get(variant)
            if wanted is not None and "version" in rows.columns:
                rows = rows.filter(rows["version"].cast(str) == str(wanted))
            if rows.height == 0:
                continue
            errors = int(rows["is_error"].sum())
            out[variant] = {  # the counts too: a gate judges a proportion by its evidence (analytics.gates)
                "requests": rows.height, "errors": errors, "error_rate": errors / rows.height,
                "p95_ms": rows["latency_ms"].quantile(0.95, "linear"),
                **served_quality(rows, mc.task),  # as the Quality screen counts it
            }
        return out

    def registry_state(self, max_age_s: float | None = None, cached_only: bool = False) -> RegistryState:
        """The registry's models and status; `cached_only` never waits on MLflow (the TUI's first frame)."""
        age = self.REGISTRY_TTL_S if max_age_s is None else max_age_s
        if self._registry_state is not None and (cached_only or time.monotonic() - self._registry_at < age):
            return self._registry_state
        if cached_only:
            return RegistryState("connecting", "reading the registry", (), None)
        if not self.cfg.tracking_uri:
            state = RegistryState("not configured", "no registry configured", (), self.clock())
        else:
            try:
                models = tuple(self.registry.list_models())
                state = RegistryState("ok", "", models, self.clock())
            except Exception as exc:  # noqa: BLE001 - any registry failure is shown, never raised
                # the state is why it is down, the same whichever read found it first: the breaker's "(not asked
                # again for 15 s: it failed 0 s ago)" (a worker had read the aliases first) was cut at 60 columns
                # into "DEGRADED (URL is unreachable (not asked again for 15 s:)" on the Overview
                text = getattr(exc, "reason", None) or str(exc)
                message = text.splitlines()[0] if text else type(exc).__name__
                state = RegistryState("unreachable", message[:200], (), self.clock())
        self._registry_state, self._registry_at = state, time.monotonic()
        return state

    def _ingested(self) -> None:
        """A script's first read: bring the store up to date once (the TUI refreshes on its own timer)."""
        if self.last_refresh is None:
            self.refresh()

    def refresh(self) -> RefreshStats:
        self.last_refresh = self.warehouse.refresh()
        self.refreshed_at = self._wall()
        return self.last_refresh

    def ingest_progress(self) -> str | None:
        """What a refresh in flight has read so far, as one line for the status bar; None when none runs."""
        p = self.warehouse.progress
        if p is None:
            return None
        share = f" {100 * p.offset / p.size:.0f}%" if p.size else ""
        return (f"reading {p.path.rsplit('/', 1)[-1]}{share}: {p.rows:,} rows so far"
                + (f", {p.rate:,.0f} rows/s" if p.rate else ""))

    # ------------------------------------------------------------------ overview

    def serving(self, now: datetime | None = None) -> dict[tuple[str, str], Serving]:
        now = now or self.clock()
        return fold_all(self.warehouse.dicts("model_deployments", {"model": None, "until": now}))

    # ------------------------------------------------------------------ monitoring

    MONITOR_TTL_S = 20.0

    def drift(self, model: str, window: str | timedelta = "24h", environment: str | None = "production",
              series: bool = True, exact: bool | None = None, target: bool = True):
        """`exact`: None scores windows longer than a few hours from the hourly rollups (with bounds), True
        re-reads the raw rows of the window (cancel with `interrupt`), False uses the rollups on any window.
        `target=False` leaves out prediction and label drift (what the screens do not show)."""
        return self.monitor.drift(model, window, environment=environment, series=series, exact=exact, target=target)

    def drift_table(self, model: str, window: str | timedelta = "24h", exact: bool | None = None,
                    trend: bool = False, environment: str = "production") -> dict:
        """The window's drift report as the `drift` command prints it (`DriftReport.to_dict`, of `environment`, with
        prediction and label drift; with `trend`, each feature's score per bucket as the Drift screen draws it),
        kept for an exact state of the store as the incidents are (`answer_memo`): a fresh one is made JSON
        first, so both print the same."""
        import json

        from console.answer_memo import plain

        def make() -> dict:
            rep = self.drift(model, window, environment, series=trend, exact=exact)
            return json.loads(json.dumps(rep.to_dict(trend=trend), default=plain))

        return self._kept("drift trend" if trend else "drift", (model, str(window), exact, environment), make)

    def _kept(self, what: str, params: tuple, make) -> dict:
        """The answer to `what` kept for this exact state of the store (`answer_memo`), else `make()`'s, kept: keyed
        again on the state after it (its catch-up may have built rollup hours), as `_rule_pass` does: under the key
        before it the next process, which sees those hours, would never find it."""
        kept = self._answers().get(self._answer_key(what, *params))
        if kept is not None:
            return kept
        data = make()
        self._answers().put(self._answer_key(what, *params), data)
        return data

    def health(self, model: str, window: str | timedelta = "1h", environment: str | None = "production") -> dict:
        return self.monitor.health(model, window, environment)

    def quality(self, model: str, window: str | timedelta = "24h", environment: str | None = "production",
                rollups: bool | None = None) -> dict:
        """`rollups`: None reads the hourly rollups when the range holds many rows, True/False forces it."""
        return self.monitor.quality(model, window, environment, rollups)

    def fairness(self, model: str, environment: str | None = "production", span: timedelta | None = None) -> dict:
        return self.monitor.fairness(model, environment, span)

    def cost(self, model: str, environment: str | None = "production", rollups: bool | None = None,
             span: timedelta | None = None) -> dict:
        """`rollups`: None reads the hourly rollups when the range holds many rows, True/False forces it.
        `span`: also the spend of the window of that length ending at the view's time (the CLI's --window)."""
        return self.monitor.cost(model, environment, rollups, span)

    def report(self, kind: str, model: str, span: timedelta, environment: str | None = "production") -> dict:
        """The `health`, `quality`, `fairness` or `cost` report of the window of length `span` ending at the view's
        time, as the commands print it (plain JSON values), kept for an exact state of the store as `drift_table`
        is (`answer_memo`): a script asking again of the same rows answered in 2-3 s at 1M rows, its reads and
        the analytics' imports all made again. A fresh one is made JSON first, so both print the same."""
        import json

        from console.analytics.windows import plain_json
        from console.answer_memo import plain

        def make() -> dict:
            if kind == "health":
                result = self.health(model, span, environment)
            elif kind == "quality":  # the joined rows stay behind (the screens' label table)
                result = {k: v for k, v in self.quality(model, span, environment).items() if k != "joined"}
            elif kind == "fairness":
                result = self.fairness(model, environment, span)
            elif kind == "cost":
                result = self.cost(model, environment, span=span)
            else:
                raise ValueError(f"no such report: {kind}")
            return json.loads(json.dumps(plain_json(result), default=lambda v: _plain_or_text(plain, v),
                                         allow_nan=False))

        return self._kept(f"report {kind}", (model, str(span), environment), make)

    def models(self) -> list[str]:
        return self.warehouse.models()

    def never_logged(self) -> list[str]:
        """The configured models the logs hold no row of (a service never wired to log, a model name mistyped in
        the config): a silent model has no rhythm to be late on, so no stale rule fires for it; `check` names it
        and the Overview lists it with no traffic. A model in a source that cannot be read now is not one."""
        seen, unread = set(self.warehouse.models_seen()), self.unreadable()[0]
        return sorted(m for m in self.cfg.models if m not in seen and m not in unread)

    def environments(self, model: str) -> list[str]:
        """The environments a read of `model` may name: the configured ones ("production" without any) and those
        its rows carry. Anything else is a typo (`Production`), refused as the actions refuse it, never an empty
        table that reads as "no traffic"."""
        known = set(self.cfg.environments) | {"production"}
        return sorted(known | {env for m, env in self.warehouse.seen_pairs() if m == model and env})

    def quality_unknown(self, findings) -> dict[str, str]:
        """model -> why its accuracy or MAE rule was not evaluated because the registry holding the expected level
        did not answer (`incident_rules.REGISTRY_DOWN`): `check` names it as not evaluated, never as all clear (a
        firing accuracy incident vanished from `check` with the registry down, exit 0). No Monitor: the findings
        are a kept answer, and none is kept for a configuration with a registry (`answer_memo`), so none is unknown
        (creating one to ask imported the analytics into a `check` answered from the file)."""
        if self._monitor is None:
            return {}
        return {f.model: f"{f.rule}: {f.detail.removeprefix('insufficient data: ')}" for f in findings
                if f.kind in ("accuracy_drop", "mae_increase") and f.status == "insufficient data"
                and self.monitor.expected_unknown(f.model) is not None}

    def rollup_note(self) -> str | None:
        """Why the reads take no rollups (their folder cannot be written), once the reads have asked: a kept answer
        and the first frame create no Monitor for it."""
        return self._monitor.rollup_problem() if self._monitor is not None else None

    def unreadable(self) -> tuple[dict[str, str], list[str]]:
        """(model -> why its rows cannot all be read now, one line per source that cannot be read now): a rule
        over such a model's rows is not known, so `check` says it could not evaluate it rather than "0 firing".
        The models are those the store knows to have rows in the source; every model when it cannot tell."""
        notes = self.warehouse.source_notes()
        if not notes:
            return {}, []
        known = self.warehouse.unreadable_models()
        if known is not None:
            return known, notes
        # every model known: those the store saw (before the source went down too) and the registry's, as last read
        reg = self.registry_state(cached_only=True)
        every = set(self.models()) | {m.name for m in reg.models if not getattr(m, "is_prompt", False)}
        return {m: notes[0] for m in sorted(every)}, notes

    def findings(self, max_age_s: float | None = None, overview: bool = True) -> list:
        """Incidents over the history (firing and resolved), cached briefly: they cost about a second. With
        them, the Overview's DRIFT and cost cells (an exact read of the last hours and of today); `overview=False`
        leaves those to the next snapshot that shows them (`check` shows none: a second at 1M rows). A first read
        before any refresh brings the store up to date first (`_ingested`): the rows of sources read by ingest
        (JSONL, CSV, labels, traces) are not in the store until then, and the findings missed them."""
        age = self.MONITOR_TTL_S if max_age_s is None else max_age_s
        self._ingested()
        with self._monitor_lock:
            found = self._findings  # once: `set_at` clears it without the lock (a pass ending as the view moved
            # returned None, and the Incidents screen died on it)
            if found is None or time.monotonic() - self._findings_at >= age:
                gen = self.view_gen
                found, recs = self._rule_pass(gen)
                if gen != self.view_gen:  # the view moved during the pass: its findings are of no view (its reads
                    return self._acknowledged(found)  # may mix the two clocks); the caller checks `view_gen`
                self._findings, self.recommendations = found, recs
                self._findings_at = time.monotonic()
                if overview:
                    self._overview_cells()
        return self._acknowledged(found)

    def _answers(self):
        """The answers kept for exact states of the store (`answer_memo`), made on first use."""
        if self._answer_memo is None:
            from console.answer_memo import Answers
            from console.rollup_paths import rollup_dir

            self._answer_memo = Answers(self.cfg, self.warehouse, rollup_dir(self.cfg, self.warehouse.dir))
        return self._answer_memo

    def _answer_key(self, what: str, *params) -> str | None:
        if self.at is not None and self.at > self._wall():  # a view ending after now (`--window` of this month):
            return None  # a source's silence is judged up to now (`IncidentRules._stale`), which moves on
        return self._answers().key(what, self.at, self.monitor_since, self.models(), *params)

    def history_start(self, at: datetime) -> datetime:
        """The start of the incident history of a view ending at `at` (`windows.history_start`), as the rules take
        it, without creating the Monitor when there is none: a `check` answered from a kept answer said its
        history through the Monitor, which imported Polars and the analytics for it (0.5 s of a 1 s answer)."""
        from console.analytics.windows import history_start

        return history_start(self.monitor_since, at, self.warehouse.oldest)

    @property
    def monitor_since(self) -> datetime | None:
        """The start of the incident history the view asked for (None: the default before the cursor)."""
        return self._monitor.since if self._monitor is not None else self._since

    def _rule_pass(self, gen: int) -> tuple[list, list]:
        """(findings, recommendations) of the rules over the history: kept from an earlier pass over this exact
        state of the store when there is one (`answer_memo`), else evaluated and kept (under the state after the
        pass: its catch-up may have brought rollup hours up to date)."""
        from console import answer_memo

        kept = self._answers().get(self._answer_key("findings"))
        if kept is not None:
            return answer_memo.findings(kept)
        found = self.monitor.findings()
        recs = list(self.monitor.recommendations)
        if gen == self.view_gen:  # kept only under the view it was made for
            self._answers().put(self._answer_key("findings"), answer_memo.findings_of(found, recs))
        return found, recs

    def _overview_cells(self) -> None:
        """The DRIFT and cost cells for the findings in hand, unless made for them already (lock held)."""
        if self._findings is None or self._cells_of is self._findings:
            return
        gen, key = self.view_gen, self._answer_key("cells")
        status = self._answers().get(key)
        if status is None:
            envs: dict[str, set[str]] = {}
            for m, env in self.warehouse.seen_pairs():
                envs.setdefault(m, {"production"}).add(env or "production")
            models = self.monitor.models()
            rows = self.monitor.overview_rows(models)  # the DRIFT cells' rows, every model's in one scan
            status = {m: self.monitor.overview_status(m, tuple(sorted(envs.get(m, {"production"}))), rows.get(m))
                      for m in models}
            if gen != self.view_gen:  # the view moved while they were made: of no view
                return
            self._answers().put(key, status)
        self._drift_status = {m: v[0] for m, v in status.items()}
        self._cost_today = {(m, env): c for m, v in status.items() for env, c in v[1].items()}
        self._cells_of = self._findings
        if gen != self.view_gen:  # moved as they were set: `set_at` may have cleared them before
            self._drift_status, self._cost_today, self._cells_of = {}, {}, None

    def _acknowledged(self, findings: list) -> list:
        """The findings with the acknowledgements in the audit trail that cover them (read again when the
        trail changed), so an ack shows at the next look, without re-evaluating the rules."""
        from dataclasses import replace

        from console.actions import acks, audit

        path = audit.default_path(self.cfg)
        try:
            st = path.stat()
            key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            key = None
        if key != getattr(self, "_acks_key", ()):
            self._acks = acks.from_records(audit.read(path)) if key is not None else []
            self._acks_key = key
        if not self._acks:
            return findings
        now = self.clock()
        return [replace(f, ack=a) if f.firing and (a := acks.matching(f, self._acks, now)) is not None else f
                for f in findings]

    def acknowledge(self, incident_id: str, reason: str):
        """Acknowledge a firing incident (its id as `check` and the Incidents screen show it), recorded in the
        audit trail with the user and the reason: the one path of the TUI's `k` and the `ack` command.
        An actions.operator.ActionResult; `details.unknown_incident` when no firing incident has that id."""
        from console.actions.operator import ActionResult

        found = next((f for f in self.findings() if f.id == incident_id), None)  # the list the ids were read from
        if found is None:  # no model's trail to write to: an id from nowhere is a usage error, said, not audited
            return ActionResult(False, "refused", f"incident {incident_id!r} is not found; `check` lists the firing ids",
                                details={"unknown_incident": True})
        # refusals of an incident that exists are audited, as every other refusal is (the README's promise)
        if not found.firing:
            return self.operator.refuse("refused", f"incident {incident_id!r} is not firing; `check` lists the firing "
                                                   "ids", "ack", found.model, "production", {"unknown_incident": True})
        return self.operator.acknowledge(found, self.clock(), reason)  # (which refuses one acknowledged already)

    def auto_retrain(self, past: bool = False) -> list:
        """`auto_retrain = true`: a standing recommendation calls the retrain action, once per cool-down.

        Its own explicit step (the `auto-retrain` command, the TUI's monitoring timer): reading findings,
        as `check` does, never writes. A view moved into the past (the TUI's `[`, `@`, `o` or `--at`) calls
        nothing: browsing last week's incidents must not retrain now; `past=True` is the command's explicit
        `auto-retrain --at`. Returns the results of the calls made now."""
        if not self.cfg.auto_retrain or not (self.live or past):
            return []
        if self._findings is None:
            self.findings(max_age_s=0)
        before = len(self.auto_retrain_results)
        self._auto_retrain()
        return self.auto_retrain_results[before:]

    def _auto_retrain(self) -> None:
        """The cool-down is read again and the hook called under a per-model lock (`<locks>/auto-retrain/`), so
        two processes deciding at once (the TUI's timer and a cron `auto-retrain`) call the hook once: the
        second waits, then finds the first's retrain in the audit trail."""
        from console.actions import audit
        from console.actions.locks import Timeout, model_lock
        from console.analytics.windows import parse_window
        from console.incident_rules import RETRAIN_COOLDOWN

        path = audit.default_path(self.cfg)
        cutoff = (datetime.now(UTC) - parse_window(RETRAIN_COOLDOWN)).isoformat().replace("+00:00", "Z")[:19]
        called: set[str] = set()  # one retrain per model per pass, whatever number of rules recommend it
        for rec in self.recommendations:
            if rec.model in called:
                continue
            called.add(rec.model)
            try:
                with model_lock(self.operator.lock_dir / "auto-retrain", rec.model):
                    if audit.retrain_since(audit.read(path, rec.model), cutoff) is not None:
                        continue
                    result = self.operator.retrain(rec.model, "production", reason=f"auto_retrain: {rec.reason}",
                                                   evidence={"trigger": rec.reason,
                                                             "since": rec.since.isoformat() + "Z"})
            except Timeout:  # another process has been deciding for longer than the wait: it calls, not us
                continue
            self.auto_retrain_results.append(result)

    @property
    def has_findings(self) -> bool:
        """Whether incidents were evaluated at least once (the first frame waits for them)."""
        return self._findings is not None

    def monitoring_stale(self) -> bool:
        return self.cfg.has_logs and (self._findings is None
                                      or time.monotonic() - self._findings_at >= self.MONITOR_TTL_S)

    def has_rows(self) -> bool:
        """Whether the store holds any prediction up to the view's time: `check --at T` with T before the first
        row has nothing to evaluate (exit 1, said), not "0 firing"."""
        self._ingested()
        newest = self.warehouse.newest()
        if newest is None:
            return False
        at = self.clock()
        return newest <= at or any(self.warehouse.last_seen(m, at) is not None for m in self.models())

    def empty_future(self) -> datetime | None:
        """The newest row's time when the view ends after now and no model has a row in its history: `check --at
        2027-06-01` (a typo for 2026) evaluated the rules on nothing and said "0 firing", exit 0. None otherwise."""
        self._ingested()
        at = self.clock()
        if self.at is None or at <= self._wall():
            return None
        since = self.history_start(at)
        if any((t := self.warehouse.last_seen(m, at)) is not None and t > since for m in self.models()):
            return None
        return self.warehouse.newest()

    def rule_problems(self) -> list[str]:
        """Configured rules that cannot be evaluated: an unknown model, drift without a reference."""
        from pathlib import Path

        self._ingested()
        if not self.cfg.alerts:  # the default rules of each model are made from its config: always evaluable
            return []
        known = set(self.models())
        out = []
        for i, rule in enumerate(self.cfg.alerts):
            key = f"alerts[{i}] ({rule.name})"
            if rule.model and rule.model not in known:
                out.append(f"{key}: model {rule.model!r} is neither configured nor in the logs")
            elif rule.model and rule.metric in ("drift_share", "feature_drift"):
                ref = self.cfg.model(rule.model).reference
                if ref is None or not Path(ref).is_file():
                    out.append(f"{key}: {rule.metric} needs a reference for {rule.model} ([models.{rule.model}] reference)")
            if rule.feature and rule.model and rule.metric == "feature_drift" \
                    and rule.feature not in self.monitor.features(rule.model):
                out.append(f"{key}: feature {rule.feature!r} is not a feature of {rule.model}")
        return out

    def check(self) -> list:
        """Firing incidents nobody acknowledged (acknowledged ones are in `findings`)."""
        return [f for f in self.findings(max_age_s=0) if f.needs_attention]

    def snapshot(self, refresh: bool = True, wait_for_registry: bool = True, monitoring: bool = True,
                 quick: bool = False) -> Snapshot:
        """The Overview's numbers. `quick` is the TUI's first look, what is cheap now: no refresh, no incidents,
        no scan of the history and no Parquet log checked; the models with rows in the last 24 h and those
        already seen, over what the store holds. The numbers of a model are the same as in a full snapshot of
        the same store; a model seen only earlier, before this process first looked, is missing."""
        if refresh and not quick:
            self.refresh()
        if monitoring and not quick and self.cfg.has_logs:
            self.findings()
        if not quick and self._monitor_lock.acquire(blocking=False):  # a rule pass in flight makes them: "-" until
            try:  # then, rather than a refresh waiting seconds for it (a time key's refresh waited out the old pass)
                self._overview_cells()
            finally:
                self._monitor_lock.release()
        now = self.clock()
        reg = self.registry_state(cached_only=not wait_for_registry)
        wh = self.warehouse
        window = {(r["model"], r["environment"]): r for r in wh.dicts("overview_window", {"now": now})}
        if not quick:  # every model and environment ever logged, listed even without recent rows
            # with a source that cannot be read now (a Delta log damaged, a catalog gone), the models the store saw
            # before stay listed, marked source down below, not dropped (`Warehouse.seen_pairs`)
            self._seen = wh.seen_pairs()
        seen = self._seen | set(window)
        serving = self.serving(now)
        firing: dict[str, int] = {}  # the ALERTS cell: firing and not acknowledged (what `check` fails on)
        for f in self._acknowledged(self._findings) if self._findings else ():
            if f.needs_attention:
                firing[f.model] = firing.get(f.model, 0) + 1
        aliases_by_model = {m.name: {a: str(v) for a, v in m.aliases.items()}
                            for m in reg.models if not getattr(m, "is_prompt", False)}
        unread = self.unreadable()[0]  # models with rows in a source that cannot be read now: numbers partial
        # e.g. the registry down; asked of the monitor that made these findings (a kept answer has none: building
        # one imports Polars and NumPy for a question the kept answer settled)
        unknown = self.quality_unknown(self._findings) if self._findings and self._monitor is not None else {}
        keys = seen | set(serving)
        for name in self.cfg.models:  # configured and never logged: listed, with no traffic (`never_logged`)
            if not any(k[0] == name for k in keys):
                keys.add((name, "production"))
        for name in aliases_by_model:
            envs = {parse_alias(a)[0] for a in aliases_by_model[name]} or {"production"}
            if not any(k[0] == name for k in keys):
                keys |= {(name, env) for env in envs}
        rows = []
        for model, env in sorted(keys, key=lambda k: (k[0], self._env_rank(k[1]), k[1])):
            t, srv = window.get((model, env), {}), serving.get((model, env))
            aliases = {a: v for a, v in aliases_by_model.get(model, {}).items() if parse_alias(a)[0] == env}
            champion = aliases.get(alias_name(env, "champion")) or (srv.champion if srv else None)
            if self.at is not None and srv is not None and srv.champion:
                # a view of the past: the version that served then (the deployment events up to it), not the
                # registry's champion now, which a later rollback moved ("champion v4, b/g standby v4")
                champion = srv.champion
            rows.append(ModelRow(
                name=model, environment=env, production=self.cfg.environment(env).production,
                champion=champion, aliases=aliases, live=srv.describe() if srv else "",
                rpm=float(t.get("rpm") or 0.0), requests=int(t.get("requests_24h") or 0),
                requests_1h=int(t.get("requests_1h") or 0),
                p95_latency_ms=_num(t.get("p95_latency_ms")), error_rate=_num(t.get("error_rate")),
                drift=self._drift_status.get(model, "-") if env == "production" else "-",
                cost_usd=self._cost_today[(model, env)] if (model, env) in self._cost_today
                else _num(t.get("cost_today_usd")),
                alerts=firing.get(model, 0) if self.cfg.environment(env).production else 0,
                serving=srv.to_dict() if srv else {}, source_down=unread.get(model, ""),
                not_evaluated=unknown.get(model, "") if self.cfg.environment(env).production else "",
            ))
        counts = dict(zip(("predictions", "labels", "deployments", "malformed", "last_prediction"),
                          wh.counts(check=not quick)))
        stats = self.last_refresh
        return Snapshot(
            workspace=self.cfg.workspace, now=now, refreshed=self.refreshed_at, registry=reg,
            # the ALERTS cells are known once a rule pass for this view has ended (no logs: no rule to check)
            alerts_checked=not self.cfg.has_logs or self._findings is not None, rows=tuple(rows), malformed=counts["malformed"],
            counts=counts, logs_configured=self.cfg.has_logs,
            # a log's path may hold credentials (`https://user:pw@host/x.jsonl`, `s3://KEY:SECRET@bucket/`): masked
            # as on stderr (the JSON and the Overview's notes showed them)
            missing_logs=tuple(redact_text(p) for p in (stats.missing if stats else ())),
            refresh_seconds=stats.seconds if stats else 0.0,
            # and the sources found unreadable since (a server gone after the listing): the rest is still shown
            log_notes=tuple(dict.fromkeys(redact_text(n) for n in (*(stats.notes if stats else ()),
                                                                   *wh.source_notes(),
                                                                   *filter(None, [self.rollup_note()])))))

    def _env_rank(self, env: str) -> int:
        return 0 if self.cfg.environment(env).production or env == "production" else 1

    def malformed_summary(self, lakes: bool = True) -> list[dict]:
        """Rows set aside by file and reason; `lakes=False` leaves out Delta, Iceberg and S3 objects, whose
        rejected rows only a scan of every object finds (`snapshot` lists the local ones; all are counted)."""
        return self.warehouse.malformed_by(lakes)

    def close(self) -> None:
        self.warehouse.close()


class _OnFirstUse:
    """Stands for the object `make()` returns, made on the first attribute asked of it (and its error raised
    then, to the caller that needs it)."""

    def __init__(self, make):
        self._make = make

    def __getattr__(self, name):
        return getattr(self._make(), name)


def _num(value) -> float | None:
    return None if value is None else float(value)


def _plain_or_text(plain, value):
    """A value JSON cannot take, as the commands printed it before their reports were kept: NumPy's as numbers,
    anything else as its text."""
    try:
        return plain(value)
    except TypeError:
        return str(value)
