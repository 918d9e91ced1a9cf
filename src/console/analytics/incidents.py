"""Incidents: what changed before an alert began, and when to recommend retraining.

Suspects are changes, not symptoms: deployments, alias moves and prompt changes for the alert's
model in the lookback before the onset, closest first (the most recent change is the usual
culprit). Drift is reported separately as the features whose drift began earliest near the onset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Mapping, Sequence

import polars as pl

from console.analytics.alerts import AlertState
from console.analytics.fairness import WorstSegment
from console.analytics.findings import Recommendation, Suspect
from console.analytics.windows import JsonResult, naive_utc, parse_window

ALIAS_ACTIONS = {"promote", "switch", "rollback", "alias", "set-alias", "move-alias"}


@dataclass(frozen=True)
class Incident(JsonResult):
    alert: AlertState
    model: str
    onset: datetime
    suspects: tuple[Suspect, ...]
    worst_segment: WorstSegment | None
    first_drifted: tuple[str, ...]


def _deploy_kind(action: str | None, reason: str | None) -> str:
    if reason and "prompt" in reason.lower():
        return "prompt"
    if action and (action.lower() in ALIAS_ACTIONS or "alias" in action.lower()):
        return "alias"
    return "deployment"


def _deploy_detail(r: Mapping) -> str:
    parts = [str(r.get("action") or "deploy"), f"v{r.get('version')}"]
    if r.get("environment"):
        parts.append(f"in {r['environment']}")
    if r.get("strategy"):
        pct = r.get("traffic_pct")
        parts.append(f"({r['strategy']}" + (f", {pct:g}%)" if pct is not None else ")"))
    if r.get("actor"):
        parts.append(f"by {r['actor']}")
    text = " ".join(parts)
    return f"{text}: {r['reason']}" if r.get("reason") else text


def deployment_suspects(deployments: pl.DataFrame, model: str, onset: datetime,
                        lookback: str | timedelta = "6h") -> list[Suspect]:
    """Deployment rows for `model` with onset - lookback <= ts <= onset."""
    start = onset - parse_window(lookback)
    rows = deployments.filter((pl.col("model") == model) & (pl.col("ts") >= start) & (pl.col("ts") <= onset))
    return [Suspect(_deploy_kind(r.get("action"), r.get("reason")), r["ts"], _deploy_detail(r))
            for r in rows.iter_rows(named=True)]


def prompt_suspects(preds: pl.DataFrame, model: str, onset: datetime,
                    lookback: str | timedelta = "6h") -> list[Suspect]:
    """Prompt versions first seen in the lookback before the onset, when older traffic exists.

    A version that was serving before the lookback began is not a change; the very first version
    a model ever served is not one either.
    """
    if "prompt_version" not in preds.columns:
        return []
    start = onset - parse_window(lookback)
    rows = preds.filter((pl.col("model") == model) & (pl.col("ts") <= onset)
                        & pl.col("prompt_version").is_not_null())
    if rows.height == 0:
        return []
    first = rows.group_by("prompt_version").agg(pl.col("ts").min().alias("first"), pl.len().alias("n"))
    earliest = first.get_column("first").min()
    new = first.filter((pl.col("first") >= start) & (pl.col("first") > earliest))
    out = []
    for r in new.iter_rows(named=True):
        # its share of the traffic since it appeared (a canary's 10 %, a rollout's 100 %), not of the whole lookback:
        # the lookback is mostly the old prompt, so a full rollout read "26% of requests since 19:50" (a day earlier)
        since = rows.filter(pl.col("ts") >= r["first"])
        share = since.filter(pl.col("prompt_version") == r["prompt_version"]).height / since.height
        out.append(Suspect("prompt", r["first"],
                           f"prompt_version {r['prompt_version']} first served ({share:.0%} of requests since then)"))
    return out


def first_drifted(drift_series: Mapping[str, Sequence[tuple[datetime, bool]]], onset: datetime,
                  lookback: str | timedelta = "6h", after: str | timedelta = "1h") -> tuple[str, ...]:
    """Features whose current drift run began within [onset - lookback, onset + after], earliest first.

    The run considered is the one in progress at the last bucket up to onset + after.
    """
    lo, hi = onset - parse_window(lookback), onset + parse_window(after)
    starts: list[tuple[datetime, str]] = []
    for feature, points in drift_series.items():
        pts = sorted((naive_utc(ts), bool(d)) for ts, d in points if naive_utc(ts) <= hi)
        if not pts or not pts[-1][1]:
            continue
        i = len(pts) - 1
        while i > 0 and pts[i - 1][1]:
            i -= 1
        if pts[i][0] >= lo:
            starts.append((pts[i][0], feature))
    return tuple(f for _, f in sorted(starts))


def link_incident(alert: AlertState, deployments: pl.DataFrame | None = None,
                  preds: pl.DataFrame | None = None,
                  drift_series: Mapping[str, Sequence[tuple[datetime, bool]]] | None = None,
                  worst_segment: WorstSegment | None = None, onset: datetime | None = None,
                  lookback: str | timedelta = "6h") -> Incident:
    """An `Incident` for one alert; onset defaults to the alert's `since`."""
    if onset is None and alert.since is None:
        raise ValueError("the alert is not firing: pass its onset")
    when = naive_utc(onset or alert.since)
    suspects: list[Suspect] = []
    if deployments is not None and deployments.height:
        suspects += deployment_suspects(deployments, alert.model, when, lookback)
    if preds is not None and preds.height:
        suspects += prompt_suspects(preds, alert.model, when, lookback)
    suspects.sort(key=lambda s: when - s.ts)
    drifted = first_drifted(drift_series or {}, when, lookback)
    return Incident(alert, alert.model, when, tuple(suspects), worst_segment, drifted)


# --------------------------------------------------------------------------- retraining


def recommend_retraining(results: Iterable[tuple[datetime, bool]], model: str, reason: str,
                         consecutive: int = 3, cooldown: str | timedelta = "24h",
                         last_recommended: datetime | None = None) -> list[Recommendation]:
    """Recommendations from a time series of rule results (window start, triggered).

    One fires when the trigger has held for `consecutive` windows in a row and no recommendation
    was made within `cooldown` before; the run count restarts after each recommendation, so a
    trigger that keeps holding recommends again only after the cool-down and another full run.
    """
    if consecutive < 1:
        raise ValueError("consecutive must be at least 1")
    wait = parse_window(cooldown)
    last = naive_utc(last_recommended) if last_recommended else None
    out: list[Recommendation] = []
    run: list[datetime] = []
    for ts, triggered in sorted(results, key=lambda p: p[0]):
        ts = naive_utc(ts)
        if not triggered:
            run = []
            continue
        run.append(ts)
        if len(run) >= consecutive and (last is None or ts - last >= wait):
            out.append(Recommendation(model, reason, run[0], ts))
            last, run = ts, []
    return out
