"""The stale rule (`stale_minutes`): a source silent past its usual gap (10x its p95 gap, at least 15 minutes, or
a configured limit) is stale unless it kept the same silence on the same clock before (`_usual_silence`: a
business-hours source's night, a batch source's hour between batches). A mixin of `incident_rules.RuleEvaluator`:
it reads through the Monitor (`self.mon`)."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from console.analytics import evidence as ev
from console.analytics.findings import Finding, incident_id
from console.config import AlertRule
from console.incident_onsets import SPARSE_REACH

if TYPE_CHECKING:
    from console.incident_rules import Context


class StaleRule:
    """`RuleEvaluator`'s stale rule."""

    def _stale(self, ctx: Context, rule: AlertRule) -> list[Finding]:
        # production's newest row, as the history's `ts` are (`stale_ts`): a staging still logging is no sign of it
        last = ctx.preds["ts"].max() if ctx.preds.height else self.mon.last_seen(ctx.model, ctx.now, "production")
        if last is None:
            return []
        ts = ctx.preds["ts"]
        if not ctx.preds.height:  # a silence longer than the history: its usual gap from as long a stretch before it
            ts = self.mon.typed_rows(ctx.model, last - (ctx.now - ctx.since), last, "production", columns=["ts"])["ts"]
        # silence is known up to now: a view ending after it (`--window` of this month) would call every source
        # stale by rows nobody could have logged yet
        now = min(ctx.now, self.mon.wall()) if getattr(self.mon, "wall", None) is not None else ctx.now
        if stale_limit(rule) is None and ts.len() <= ev.MIN_GAPS:
            # too few gaps in the history for a usual one (a model used twice a day has 14 a week): read back
            # for them, as the sparse rules read their evidence, rather than judge it by a week's largest gap
            ts = self.mon.typed_rows(ctx.model, last - SPARSE_REACH, last, "production", columns=["ts"])["ts"]
        stale, minutes, allowed = ev.staleness(last, ts, now, stale_limit(rule))
        if not stale or stale_limit(rule) is None and self._usual_silence(ctx.model, last, now, allowed):
            return []
        # the silence's start in its id: an acknowledgement of one silence is not one of the next (an ack of a 3 h
        # logging gap covered the source dying days later, by the same id)
        said = f"no rows for {_beyond(now - last, allowed)}; newest row {last:%Y-%m-%d %H:%M}Z"
        # the evidence is the silence (check's JSON said `evidence: ""`, the Incidents screen "-"); with a configured
        # limit it was detected the first second past it (a view then lists it). From the usual gap, the silence is
        # listed once it is longer than the source was quiet on the same clock before (`_usual_silence`), which
        # only a search of its past could date: no detection is said
        detected = last + allowed + timedelta(seconds=1) if stale_limit(rule) is not None else None
        return [Finding(incident_id(ctx.model, "stale", f"{last:%Y%m%dT%H%M}"), ctx.model, "stale_minutes", rule.name, rule.severity, last, None,
                        minutes, allowed.total_seconds() / 60, state=ev.FIRING, window=rule.window, latest=minutes,
                        detected=detected, evidence=said, detail=said)]

    def _usual_silence(self, model: str, last: datetime, now: datetime, allowed: timedelta) -> bool:
        """The source was as quiet on the same clock a day and two days before, or a week and two weeks before
        (`evidence.usual_silence_spans`):
        a business-hours source's night or a batch source's hour between batches is its rhythm, not an outage
        (the 95th-percentile gap of a source quiet 12 h a day is seconds, and it paged every night).
        A lag from before the source's first row says nothing either way: a rhythm is then the quiet of the lags it
        lived through, at least one. A nightly batch in its second day had no day two days back and was stale all
        day, every day until its third night (a business-hours source, its second weekend)."""
        rhythms = ev.usual_silence_spans(last, now, allowed)

        @functools.cache
        def first_row() -> datetime | None:
            """The first served row within the longest lag's reach: asked only for a lag that holds no row."""
            return self.mon.wh.first_seen(model, min(span[0] for rhythm in rhythms for span in rhythm), last,
                                          "production")

        def quiet(lived: datetime, lo: datetime, hi: datetime) -> bool | None:
            """Whether (lo, hi] was quiet while the source was logging; None when it had not logged yet by `hi`."""
            rows = self.mon.typed_rows(model, lived, hi, "production", columns=["ts"])["ts"]
            if not rows.len():
                born = first_row()
                return None if born is not None and born > hi else False
            return bool((rows <= lo).any() and not (rows > lo).any())

        for rhythm in rhythms:
            lived_through = []
            for span in rhythm:
                verdict = quiet(*span)
                if verdict is False:
                    break
                lived_through.append(verdict)
            else:
                if any(lived_through):
                    return True
        return False


def stale_limit(rule: AlertRule) -> timedelta | None:
    """The silence a stale rule allows when configured (`threshold` minutes); None: from the source's usual gap."""
    return timedelta(minutes=rule.threshold) if rule.threshold > 0 else None


def _duration(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m" if minutes else f"{hours}h"
    return f"{hours // 24}d {hours % 24}h"


def _beyond(silent: timedelta, allowed: timedelta) -> str:
    """"16m (allowed 15m)": a silence longer than allowed, said so it reads true. In whole minutes both can
    print the same ("15m (allowed 15m)" at 15m 20s): then in seconds, and "just over" when even those agree."""
    said, limit = _duration(silent), _duration(allowed)
    if said == limit:
        said, limit = _seconds(silent), _seconds(allowed)
        said = f"just over {said}" if said == limit else said
    return f"{said} (allowed {limit})"


def _seconds(d: timedelta) -> str:
    """A duration to the second: 15m 20s, 1h 40m 30s."""
    hours, rest = divmod(int(d.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    return (f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s")
