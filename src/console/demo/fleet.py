"""Synthetic traffic for the demo fleet, with incidents planted at known times.

Everything is a pure function of (seed, now) so the tour can name exact windows and the tests can
check the data against them. Times are int64 microseconds since the epoch until the last moment,
because numpy does the arithmetic on 200k+ rows far faster than datetime objects would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from console.analytics.serving import Serving, timeline

US_H = 3_600_000_000
US_D = 24 * US_H
WINDOW_DAYS = 8
ENVIRONMENTS = ("production", "staging")
STAGING_SHARE = 0.04

FRAUD, ETA, LLM = "fraud-detector", "delivery-eta", "support-assistant"
PROMPT = "support-assistant-prompt"
OTLP_LOG = "logs/traces/support-assistant.jsonl"  # the LLM's spans, under the workspace

# Requests per day in production; the festival multiplies delivery traffic on top.
DAILY = {FRAUD: 13_500, ETA: 8_000, LLM: 2_600}
# Hourly traffic shape (UTC hour -> relative load), normalised below.
PROFILE = {
    FRAUD: [.35, .28, .24, .22, .24, .32, .50, .75, .95, 1.1, 1.2, 1.25, 1.3, 1.28, 1.25, 1.22, 1.25, 1.3,
            1.35, 1.4, 1.3, 1.05, .75, .5],
    ETA: [.15, .08, .05, .04, .05, .12, .35, .6, .75, .8, .95, 1.6, 2.1, 1.7, 1.0, .8, .95, 1.5, 2.2, 2.4,
          1.9, 1.2, .6, .3],
    LLM: [.25, .2, .18, .18, .2, .3, .55, .9, 1.3, 1.55, 1.6, 1.55, 1.45, 1.5, 1.55, 1.5, 1.4, 1.2, 1.0,
          .85, .7, .55, .4, .3],
}
VERSIONS = {FRAUD: 4, ETA: 5, LLM: 5}
FEATURES = {
    FRAUD: ("amount", "merchant_category", "country", "hour", "account_age_days", "txn_count_24h",
            "is_international", "device_score"),
    ETA: ("distance_km", "items", "hour", "weather", "zone", "demand_index", "courier_load", "is_festival"),
    LLM: ("input_tokens", "output_tokens", "conversation_turns", "language"),
}
SEGMENTS = {FRAUD: ("channel", "age_band"), ETA: ("zone", "weather"), LLM: ("channel", "language", "prompt_version")}
LLM_PRICES = (3.0, 15.0)  # USD per million input / output tokens

# Incident clock, as offsets before `now`.
FESTIVAL = (timedelta(days=2, hours=18), timedelta(days=2, hours=6))
CONCEPT_SHIFT = timedelta(days=3)
ETA_STAGE, ETA_SWITCH = timedelta(days=1, hours=3), timedelta(days=1)
PROMPT_CHANGE = timedelta(days=1, hours=14)
LLM_V3, LLM_ROLLBACK = timedelta(days=6), timedelta(days=5, hours=8)


def us(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def iso(t: int | datetime) -> str:
    """ISO-8601 UTC with Z, second precision (event logs and the tour)."""
    dt = t if isinstance(t, datetime) else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(t))
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> int:
    return us(datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC))


def as_utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC).replace(microsecond=0)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


# --------------------------------------------------------------------------- who serves what


def replay(events: list[dict], model: str, environment: str) -> list[tuple[int, Serving]]:
    """(time, split from then on) for one model and environment, in log order."""
    mine = [e for e in events if e.get("model") == model and (e.get("environment") or "production") == environment]
    return [(parse_iso(ts), state) for ts, state in timeline(mine)]


def deployment_events(now: datetime) -> list[dict]:
    """The fleet's history: rollouts finished long ago, plus the ones the tour is about."""
    def ev(ago: timedelta, model, version, action, strategy="direct", pct=100, env="production",
           actor="ci-bot", reason=""):
        return {"ts": iso(now - ago), "model": model, "version": str(version), "environment": env,
                "strategy": strategy, "traffic_pct": pct, "action": action, "actor": actor, "reason": reason}

    d, h = (lambda x: timedelta(days=x)), (lambda x: timedelta(hours=x))
    events = [
        ev(d(60), ETA, 1, "deploy", reason="initial release"),
        ev(d(50), LLM, 1, "deploy", reason="initial release, prompt v1"),
        ev(d(45), FRAUD, 1, "deploy", reason="initial release"),
        ev(d(40), ETA, 2, "deploy", reason="retrained with weather feed"),
        ev(d(30), FRAUD, 2, "deploy", actor="maria.chen", reason="retrained on Q3 transactions"),
        ev(d(25), ETA, 3, "deploy", actor="tom.okafor", reason="courier load feature"),
        ev(d(17), ETA, 4, "deploy", env="staging", actor="tom.okafor", reason="candidate for blue/green"),
        ev(d(15), ETA, 4, "deploy", "blue-green", 100, actor="tom.okafor", reason="move serving to blue/green"),
        ev(d(14), LLM, 2, "deploy", actor="sam.rivera", reason="prompt v2, fine-tuned model"),
        ev(d(11), FRAUD, 3, "deploy", env="staging", actor="maria.chen", reason="gradient boosting v3"),
        ev(d(10) + h(2), FRAUD, 3, "deploy", "canary", 10, actor="maria.chen", reason="canary for v3"),
        ev(d(10) - h(6), FRAUD, 3, "canary-step", "canary", 50, actor="maria.chen", reason="error budget healthy"),
        ev(d(9), FRAUD, 3, "promote", "canary", 100, actor="maria.chen", reason="canary healthy: auc +0.012"),
        ev(d(7), LLM, 3, "deploy", env="staging", actor="sam.rivera", reason="retrieval reranker"),
        ev(LLM_V3, LLM, 3, "deploy", actor="sam.rivera", reason="retrieval reranker"),
        ev(LLM_ROLLBACK, LLM, 2, "rollback", actor="priya.nair", reason="refusal rate 4x on v3; rolled back to v2"),
        ev(d(4), LLM, 4, "deploy", env="staging", actor="sam.rivera", reason="distilled model candidate"),
        ev(d(3) + h(12), LLM, 4, "shadow-start", "shadow", 100, actor="sam.rivera",
           reason="shadow test of the distilled model"),
        ev(d(3), ETA, 5, "deploy", env="staging", actor="tom.okafor", reason="new routing graph"),
        ev(d(2), FRAUD, 4, "deploy", env="staging", actor="maria.chen", reason="device fingerprint features"),
        ev(PROMPT_CHANGE, LLM, 2, "deploy", actor="sam.rivera",
           reason="rollout prompt v3 (support-assistant-prompt@3): adds order history context"),
        ev(d(1) + h(6), FRAUD, 4, "deploy", "canary", 10, actor="maria.chen", reason="canary for v4"),
        ev(ETA_STAGE, ETA, 5, "deploy", "blue-green", 0, actor="tom.okafor", reason="v5 staged on green"),
        ev(ETA_SWITCH, ETA, 5, "switch", "blue-green", 100, actor="tom.okafor", reason="switch traffic to green (v5)"),
        ev(d(0) + h(20), LLM, 5, "deploy", env="staging", actor="sam.rivera", reason="tool-use model"),
        ev(h(7), FRAUD, 4, "canary-step", "canary", 25, actor="maria.chen", reason="10% step healthy"),
    ]
    return sorted(events, key=lambda e: e["ts"])


# --------------------------------------------------------------------------- arrivals


def arrivals(rng: np.random.Generator, start: int, end: int, per_day: float, profile: list[float],
             boost: tuple[int, int, float] | None = None) -> np.ndarray:
    """Sorted request times: Poisson counts per minute following the daily profile."""
    minute = 60_000_000
    starts = np.arange(start - start % minute, end, minute, dtype=np.int64)
    hours = (starts % US_D) / US_H
    shape = np.asarray(profile + profile[:1], dtype=float)
    shape = shape / shape[:24].mean()
    rate = per_day / 1440 * np.interp(hours, np.arange(25), shape)
    if boost:
        rate = np.where((starts >= boost[0]) & (starts < boost[1]), rate * boost[2], rate)
    counts = rng.poisson(rate)
    ts = np.repeat(starts, counts) + rng.integers(0, minute, counts.sum())
    ts = np.sort(ts)
    return ts[(ts >= start) & (ts < end)]


def rate_per_s(model: str, environment: str, when_us: int) -> float:
    """The history's own request rate for this model and hour of day (what `arrivals` draws from)."""
    shape = np.asarray(PROFILE[model] + PROFILE[model][:1], dtype=float)
    shape = shape / shape[:24].mean()
    hour = (when_us % US_D) / US_H
    per_day = DAILY[model] * (1 if environment == "production" else STAGING_SHARE)
    return float(per_day / 86400 * np.interp(hour, np.arange(25), shape))


def request_ids(rng: np.random.Generator, prefix: str, n: int) -> list[str]:
    raw = rng.integers(0, 2**63 - 1, n, dtype=np.int64)
    return [f"{prefix}-{x:016x}" for x in raw.tolist()]


def _timestamps(ts: np.ndarray) -> pl.Series:
    return pl.from_epoch(pl.Series("ts", ts, dtype=pl.Int64), time_unit="us").dt.strftime(
        "%Y-%m-%dT%H:%M:%S%.3fZ")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _head(model: str, ts, version, variant, environment, rid) -> dict:
    n = len(ts)
    return {"ts": _timestamps(ts), "model": [model] * n, "version": pl.Series(version, dtype=pl.String),
            "environment": pl.Series(environment, dtype=pl.String), "variant": pl.Series(variant, dtype=pl.String),
            "request_id": rid}


# --------------------------------------------------------------------------- the three models


CATEGORIES = ["grocery", "restaurants", "fuel", "fashion", "electronics", "travel", "gaming", "digital_goods"]
CAT_P = [.24, .18, .12, .13, .10, .07, .07, .09]
CAT_RISK = np.array([-.4, -.3, -.3, 0, .6, .35, .55, .8])
COUNTRIES = ["US", "GB", "DE", "FR", "ES", "BR", "IN", "MX", "NG"]
COUNTRY_P = [.46, .12, .1, .08, .06, .06, .05, .04, .03]
CHANNELS = ["web", "mobile", "pos", "partner_api"]


def fraud_features(rng: np.random.Generator, ts: np.ndarray) -> dict[str, np.ndarray]:
    n = len(ts)
    channel = rng.choice(len(CHANNELS), n, p=[.38, .34, .21, .07])
    cat = rng.choice(len(CATEGORIES), n, p=CAT_P)
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_P)
    intl = (rng.random(n) < np.where(channel == 3, .3, .1)).astype(np.int64)
    amount = np.round(rng.lognormal(np.log(42), .95, n) * np.where(np.isin(cat, [4, 5]), 2.5, 1.0), 2)
    return {
        "amount": amount, "merchant_category": np.array(CATEGORIES)[cat], "country": np.array(COUNTRIES)[country],
        "hour": ((ts // US_H) % 24).astype(np.int64),
        "account_age_days": rng.gamma(1.4, 520, n).astype(np.int64),
        "txn_count_24h": rng.poisson(2.4, n).astype(np.int64), "is_international": intl,
        "device_score": np.round(rng.beta(5, 1.8, n), 4),
        "_cat": cat, "_channel": channel,
    }


def fraud_rows(rng, ts, version, variant, environment, shift_at: int) -> tuple[pl.DataFrame, np.ndarray]:
    """Rows plus the true labels. partner_api traffic is scored badly all week; after the concept
    shift a new fraud pattern (small digital goods bursts) goes unseen and old signals weaken."""
    n = len(ts)
    f = fraud_features(rng, ts)
    cat, channel = f.pop("_cat"), f.pop("_channel")
    logit = (-4.1 + .7 * np.log(f["amount"] / 42) + 1.2 * f["is_international"] + 2.6 * (1 - f["device_score"])
             - .5 * np.log1p(f["account_age_days"] / 365) + .18 * (f["txn_count_24h"] - 2.4) + CAT_RISK[cat])
    seen = rng.random(n) < _sigmoid(logit)
    shifted = ts >= shift_at
    burst = shifted & np.isin(cat, [6, 7]) & (f["txn_count_24h"] >= 3) & (rng.random(n) < .45)
    label = seen | burst
    partner = channel == 3
    strength = np.where(partner, .3, np.where(shifted, 1.3, 2.3)) + np.where(version == "4", .2, 0)
    noise = np.where(partner, 1.8, 1.3)
    score_logit = .6 * (logit + 3) + strength * (2 * seen - 1) + rng.normal(0, 1, n) * noise
    score = np.round(_sigmoid(score_logit), 4)
    latency = np.round(rng.lognormal(np.log(18), .4, n) + np.where(version == "4", 3, 0), 1)
    error = rng.random(n) < .002
    feats = pl.DataFrame({k: f[k] for k in FEATURES[FRAUD]})
    df = pl.DataFrame(_head(FRAUD, ts, version, variant, environment, request_ids(rng, "fd", n))).with_columns(
        feats.to_struct("features"),
        channel=pl.Series(np.array(CHANNELS)[channel]),
        age_band=pl.Series(np.array(["18-25", "26-40", "41-60", "60+"])[rng.choice(4, n, p=[.18, .42, .28, .12])]),
        prediction=pl.Series(np.where(score >= .5, "1", "0")),
        score=pl.Series(score), latency_ms=pl.Series(latency),
        status=pl.Series(np.where(error, "error", "ok")),
    )
    return df, label.astype(np.int64)


ZONES = ["central", "north", "south", "east", "west", "airport"]
WEATHER = ["clear", "cloudy", "rain", "storm"]
WEATHER_MIN = np.array([0, .5, 4, 9])


def eta_features(rng: np.random.Generator, ts: np.ndarray, festival: np.ndarray) -> dict[str, np.ndarray]:
    n = len(ts)
    hour = ((ts // US_H) % 24).astype(np.int64)
    zone = rng.choice(len(ZONES), n, p=[.3, .17, .17, .14, .14, .08])
    weather = rng.choice(len(WEATHER), n, p=[.55, .22, .18, .05])
    peak = np.isin(hour, [11, 12, 13, 18, 19, 20])
    dist = np.where(festival, rng.lognormal(np.log(6.2), .55, n), rng.lognormal(np.log(3.2), .55, n))
    dist = dist * np.where(zone == 5, 2.2, 1.0)
    return {
        "distance_km": np.round(dist, 2),
        "items": 1 + rng.poisson(np.where(festival, 2.4, 1.3)),
        "hour": hour, "weather": np.array(WEATHER)[weather], "zone": np.array(ZONES)[zone],
        "demand_index": np.round(rng.gamma(8, 1 / 8, n) * np.where(festival, 2.4, np.where(peak, 1.25, 1.0)), 3),
        "courier_load": np.round(np.where(festival, rng.beta(6, 2, n), rng.beta(3, 3, n)), 3),
        "is_festival": festival.astype(np.int64),
        "_weather": weather,
    }


def eta_rows(rng, ts, version, variant, environment, festival: np.ndarray) -> tuple[pl.DataFrame, np.ndarray]:
    """Minutes to deliver; the model underrates demand, so the festival also costs accuracy.
    v5 (the green deployment) is slow to answer: the latency regression."""
    n = len(ts)
    f = eta_features(rng, ts, festival)
    w = WEATHER_MIN[f.pop("_weather")]
    base = 9 + 2.4 * f["distance_km"] + 1.1 * f["items"] + 12 * (f["courier_load"] - .5)
    actual = np.clip(base + w + 9 * (f["demand_index"] - 1) + rng.normal(0, 3.5, n), 6, None)
    pred = np.clip(base + .8 * w + 3.5 * (f["demand_index"] - 1) + rng.normal(0, 2.5, n), 5, None)
    slow = version == "5"
    latency = np.where(slow, rng.lognormal(np.log(255), .34, n), rng.lognormal(np.log(70), .33, n))
    error = rng.random(n) < .003
    df = pl.DataFrame(_head(ETA, ts, version, variant, environment, request_ids(rng, "eta", n))).with_columns(
        **{k: pl.Series(f[k]) for k in FEATURES[ETA]},
        prediction=pl.Series(np.round(pred, 1)), latency_ms=pl.Series(np.round(latency, 1)),
        status=pl.Series(np.where(error, np.where(rng.random(n) < .5, 500, 503), 200)),
    )
    return df, np.round(actual, 1)


INTENTS = ["billing", "refund", "shipping", "account", "technical", "cancel", "other"]
LANGS = ["en", "es", "de", "fr", "pt"]


def llm_inputs(rng: np.random.Generator, ts: np.ndarray, prompt_v3: np.ndarray) -> dict[str, np.ndarray]:
    n = len(ts)
    turns = 1 + rng.poisson(1.4, n)
    user = rng.lognormal(np.log(260), .5, n) * (1 + .3 * (turns - 1))
    context = np.where(prompt_v3, rng.lognormal(np.log(2500), .25, n), 0)
    return {
        "channel": np.array(["chat", "email", "in_app"])[rng.choice(3, n, p=[.55, .2, .25])],
        "language": np.array(LANGS)[rng.choice(5, n, p=[.6, .14, .1, .09, .07])],
        "conversation_turns": turns.astype(np.int64),
        "prompt_version": np.where(prompt_v3, "v3", "v2"),
        "input_tokens": (850 + user + context).astype(np.int64),
    }


def llm_rows(rng, ts, version, variant, environment, inputs: dict[str, np.ndarray]) -> pl.DataFrame:
    """v3 refuses far too often (the rollback); prompt v3 triples input tokens (the cost spike)."""
    n = len(ts)
    refuse_p = np.select([version == "3", version == "4"], [.14, .02], .035)
    fact_a = np.select([version == "3", version == "4"], [8.0, 20.0], 16.0)
    error = rng.random(n) < .005
    out_tok = np.where(error, 0, rng.lognormal(np.log(170), .45, n)).astype(np.int64)
    in_tok = inputs["input_tokens"]
    cost = in_tok * LLM_PRICES[0] / 1e6 + out_tok * LLM_PRICES[1] / 1e6
    latency = (350 + .05 * in_tok + 9 * out_tok) * rng.lognormal(0, .2, n) * np.where(version == "4", 1.15, 1)
    fact = np.round(rng.beta(fact_a, 2, n), 3)
    rid = inputs.get("request_id") or request_ids(rng, "sa", n)
    messages = np.array(["upstream timeout", "rate limited (429)"])[rng.integers(0, 2, n)]
    return pl.DataFrame(_head(LLM, ts, version, variant, environment, rid)).with_columns(
        **{k: pl.Series(inputs[k]) for k in ("channel", "language", "conversation_turns", "prompt_version")},
        prediction=pl.Series(np.array(INTENTS)[rng.choice(7, n, p=[.22, .18, .2, .14, .12, .08, .06])]),
        score=pl.Series(np.round(rng.beta(8, 2, n), 3)),
        latency_ms=pl.Series(np.round(latency, 1)),
        status=pl.Series(np.where(error, "error", "ok")),
        error=pl.Series(np.where(error, messages, None).tolist(), dtype=pl.String),
        input_tokens=pl.Series(in_tok), output_tokens=pl.Series(out_tok), cost_usd=pl.Series(np.round(cost, 6)),
        refused=pl.Series(~error & (rng.random(n) < refuse_p)),
        guardrail_blocked=pl.Series(~error & (rng.random(n) < .012)),
        factuality=pl.Series(np.where(error, np.nan, fact)).fill_nan(None),
    )


# --------------------------------------------------------------------------- splitting traffic


def split(rng: np.random.Generator, ts: np.ndarray, timeline: list[tuple[int, Serving]]):
    """Version and variant of each request under the split in force at its time, plus the shadow
    mirror: (version, variant, shadow_version) with None where no shadow runs."""
    n = len(ts)
    times = np.array([t for t, _ in timeline], dtype=np.int64)
    idx = np.searchsorted(times, ts, side="right") - 1
    version = np.full(n, "", dtype=object)
    variant = np.full(n, "champion", dtype=object)
    shadow = np.full(n, None, dtype=object)
    u, u2 = rng.random(n), rng.random(n)
    for k, (_, s) in enumerate(timeline):
        rows = idx == k
        if not rows.any():
            continue
        to_canary = rows & (u < s.canary_pct / 100) if s.canary else np.zeros(n, bool)
        version[rows] = s.champion
        variant[rows] = s.champion_variant
        version[to_canary], variant[to_canary] = s.canary, "canary"
        if s.shadow:
            shadow[rows & (u2 < s.shadow_pct / 100)] = s.shadow
    keep = idx >= 0
    return version[keep].astype(str), variant[keep].astype(str), shadow[keep], keep


def generate_model(rng: np.random.Generator, model: str, ts: np.ndarray, env: str, serving: list,
                   moments: dict[str, int]) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """(prediction rows, labels) of one model in one environment; shared by the build and live writer."""
    version, variant, shadow, keep = split(rng, ts, serving)
    ts = ts[keep]
    n = len(ts)
    environment = np.full(n, env)
    if model == FRAUD:
        df, y = fraud_rows(rng, ts, version, variant, environment, moments["concept_shift"])
        delay = rng.uniform(6 * US_H, 48 * US_H, n).astype(np.int64)
        labels = pl.DataFrame({"request_id": df["request_id"], "label": pl.Series(y.astype(str)),
                               "_due": ts + delay})
        return df, labels
    if model == ETA:
        festival = (ts >= moments["festival_start"]) & (ts < moments["festival_end"]) & (env == "production")
        df, minutes = eta_rows(rng, ts, version, variant, environment, festival)
        labels = pl.DataFrame({"request_id": df["request_id"], "label": pl.Series(minutes.astype(str)),
                               "_due": ts + (minutes * 60e6).astype(np.int64)})
        return df, labels
    inputs = llm_inputs(rng, ts, ts >= moments["prompt_change"])
    df = llm_rows(rng, ts, version, variant, environment, inputs)
    mirrored = shadow != None  # noqa: E711 (numpy element-wise)
    if mirrored.any():
        m = np.flatnonzero(mirrored)
        sub = {k: v[m] for k, v in inputs.items()}
        sub["request_id"] = df["request_id"].gather(m).to_list()
        sts = ts[m] + rng.integers(1_000, 40_000, len(m))
        sdf = llm_rows(rng, sts, shadow[m].astype(str), np.full(len(m), "shadow"), environment[m], sub)
        df = pl.concat([df, sdf]).sort("ts", maintain_order=True)
    return df, None


# --------------------------------------------------------------------------- the whole fleet


@dataclass
class Fleet:
    now: datetime
    seed: int
    predictions: dict[str, pl.DataFrame]
    labels: pl.DataFrame
    deployments: list[dict]
    references: dict[str, pl.DataFrame]
    tour: dict
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line number, raw text) in the fraud log

    @property
    def rows(self) -> int:
        return sum(len(df) for df in self.predictions.values())


def moments_of(now: datetime) -> dict[str, int]:
    n = us(now)
    return {"now": n, "start": n - WINDOW_DAYS * US_D,
            "festival_start": n - us_delta(FESTIVAL[0]), "festival_end": n - us_delta(FESTIVAL[1]),
            "concept_shift": n - us_delta(CONCEPT_SHIFT), "prompt_change": n - us_delta(PROMPT_CHANGE),
            "eta_switch": n - us_delta(ETA_SWITCH)}


def us_delta(d: timedelta) -> int:
    return d // timedelta(microseconds=1)


def final_serving(events: list[dict]) -> dict[tuple[str, str], Serving]:
    out = {}
    for model in VERSIONS:
        for env in ENVIRONMENTS:
            timeline = replay(events, model, env)
            if timeline:
                out[(model, env)] = timeline[-1][1]
    return out


def reference(rng: np.random.Generator, model: str, now: datetime, rows: int = 10_000) -> pl.DataFrame:
    """Training-time inputs: the same generators with no incident switched on."""
    ts = us(now) - 30 * US_D + rng.integers(0, 14 * US_D, rows)
    if model == FRAUD:
        f = fraud_features(rng, ts)
    elif model == ETA:
        f = eta_features(rng, ts, np.zeros(rows, bool))
    else:
        f = llm_inputs(rng, ts, np.zeros(rows, bool))
        f["output_tokens"] = rng.lognormal(np.log(170), .45, rows).astype(np.int64)
    return pl.DataFrame({k: f[k] for k in FEATURES[model]})


def generate(seed: int = 7, now: datetime | None = None) -> Fleet:
    """The whole synthetic fleet, a pure function of (seed, now)."""
    now = as_utc(now)
    m = moments_of(now)
    events = deployment_events(now)
    root = np.random.default_rng(seed)
    streams = dict(zip([(mdl, env) for mdl in VERSIONS for env in ENVIRONMENTS], root.spawn(6)))
    preds, labels = {}, []
    for model in VERSIONS:
        parts = []
        for env in ENVIRONMENTS:
            rng = streams[(model, env)]
            per_day = DAILY[model] * (1 if env == "production" else STAGING_SHARE)
            boost = (m["festival_start"], m["festival_end"], 2.5) if model == ETA and env == "production" else None
            ts = arrivals(rng, m["start"], m["now"], per_day, PROFILE[model], boost)
            df, lab = generate_model(rng, model, ts, env, replay(events, model, env), m)
            parts.append(df)
            if lab is not None and env == "production":
                labels.append(lab)
        preds[model] = pl.concat(parts).sort("ts", maintain_order=True)
    lab = pl.concat(labels).filter(pl.col("_due") <= m["now"]).sort("_due")
    lab = lab.select("request_id", "label", _timestamps(lab["_due"].to_numpy()).alias("ts"))
    ref_rng = np.random.default_rng([seed, 1])
    refs = {model: reference(ref_rng, model, now) for model in VERSIONS}
    fleet = Fleet(now=now, seed=seed, predictions=preds, labels=lab, deployments=events, references=refs, tour={})
    fleet.malformed = _malformed(fleet)
    fleet.tour = tour(fleet, m)
    return fleet


def _malformed(fleet: Fleet) -> list[tuple[int, str, str]]:
    """Three broken lines for the loader to quarantine, at fixed points of the fraud log."""
    n = len(fleet.predictions[FRAUD])
    ts = iso(fleet.now - timedelta(days=4))
    row = {"ts": ts, "model": FRAUD, "version": "3", "request_id": "fd-malformed-0002", "environment": "production",
           "variant": "champion", "prediction": "0", "score": 0.0412, "latency_ms": "fast", "status": "ok"}
    missing = {k: v for k, v in row.items() if k != "request_id"} | {"latency_ms": 17.2}
    lines = [
        ('{"ts": "%s", "model": "fraud-detector", "version": "3", "request_id": "fd-trunc' % ts, "invalid JSON"),
        (json.dumps(row), "wrong type: latency_ms is \"fast\""),
        (json.dumps(missing), "missing request_id"),
    ]
    return [(pos + i + 1, text, reason) for i, (pos, (text, reason)) in
            enumerate(zip([n // 4, n // 2, 3 * n // 4], lines))]


def tour(fleet: Fleet, m: dict[str, int]) -> dict:
    final = final_serving(fleet.deployments)
    fest = {"column": "is_festival", "value": 1}
    incidents = [
        {"id": "eta-festival-drift", "model": ETA, "environment": "production", "kind": "feature_drift",
         "start": iso(m["festival_start"]), "end": iso(m["festival_end"]), "feature": "demand_index",
         "features": ["demand_index", "distance_km", "items", "courier_load", "is_festival"], "segment": fest,
         "version": "4", "change": None,
         "description": "City festival: delivery traffic x2.5 for 12h; demand_index, distance_km, items and "
                        "courier_load shift and is_festival=1. The model underrates demand, so MAE rises "
                        "as the delivery times land."},
        {"id": "eta-latency-regression", "model": ETA, "environment": "production", "kind": "latency_regression",
         "start": iso(m["eta_switch"]), "end": None, "version": "5",
         "change": {"kind": "deployment", "version": "5", "ts": iso(m["eta_switch"])},
         "description": "The blue/green switch to v5 (green) took p95 latency from ~120 ms to ~450 ms; "
                        "blue still holds v4, one switch back fixes it."},
        {"id": "llm-cost-spike", "model": LLM, "environment": "production", "kind": "cost_spike",
         "start": iso(m["prompt_change"]), "end": None, "version": "2",
         "segment": {"column": "prompt_version", "value": "v3"},
         "features": ["input_tokens"],
         "change": {"kind": "prompt_change", "version": "3", "ts": iso(m["prompt_change"])},
         "description": "Prompt v3 adds order-history context: input tokens (and cost per request) roughly "
                        "triple, so input_tokens drifts from the reference; the monthly budget forecast goes "
                        "over."},
        {"id": "llm-v3-refusals", "model": LLM, "environment": "production", "kind": "refusal_spike",
         "start": iso(m["now"] - us_delta(LLM_V3)), "end": iso(m["now"] - us_delta(LLM_ROLLBACK)), "version": "3",
         "change": {"kind": "deployment", "version": "3", "ts": iso(m["now"] - us_delta(LLM_V3))},
         "description": "v3 (retrieval reranker) refused 4x as often as v2; rolled back to v2 after 16 hours."},
        {"id": "fraud-accuracy-drop", "model": FRAUD, "environment": "production", "kind": "accuracy_drop",
         "start": iso(m["concept_shift"]), "end": None, "version": "3", "change": None,
         "description": "Concept shift: a new fraud pattern (bursts of small digital goods/gaming purchases) "
                        "goes unseen. Inputs look normal; the drop shows only as labels land 6-48h later."},
        {"id": "fraud-partner-api", "model": FRAUD, "environment": "production",
         "kind": "segment_underperformance", "start": iso(m["start"]), "end": None, "version": "3",
         "segment": {"column": "channel", "value": "partner_api"}, "change": None,
         "description": "All week the model is far worse on partner_api traffic (missed fraud and false alarms) "
                        "than on web, mobile or pos."},
    ]
    rollouts = {
        "canary": {"model": FRAUD, "environment": "production", "version": "4", "traffic_pct": 25,
                   "champion": final[(FRAUD, "production")].champion},
        "shadow": {"model": LLM, "environment": "production", "version": "4",
                   "champion": final[(LLM, "production")].champion},
        "blue_green": {"model": ETA, "environment": "production", "blue": "4", "green": "5", "live": "green",
                       "ts": iso(m["eta_switch"])},
        "rollback": {"model": LLM, "environment": "production", "from": "3", "to": "2",
                     "ts": iso(m["now"] - us_delta(LLM_ROLLBACK))},
    }
    models = {
        name: {"task": {FRAUD: "classification", ETA: "regression", LLM: "llm"}[name], "versions": VERSIONS[name],
               "rows": len(fleet.predictions[name]),
               "aliases": {a: v for env in ENVIRONMENTS for a, v in final.get((name, env), Serving()).aliases(env).items()}}
        for name in VERSIONS
    }
    return {"now": iso(fleet.now), "seed": fleet.seed, "window_start": iso(m["start"]), "models": models,
            "prompt": {"name": PROMPT, "versions": 3, "champion": 3},
            "incidents": incidents, "rollouts": rollouts,
            "malformed": [{"file": "logs/predictions/fraud-detector.jsonl", "line": line, "reason": reason}
                          for line, _, reason in fleet.malformed]}


# --------------------------------------------------------------------------- writing


def write(fleet: Fleet, directory) -> None:
    """The log files, reference sets and tour.json under `directory`. The LLM assistant's log is OpenTelemetry
    GenAI spans (OTLP/JSON lines, as a Collector's file exporter writes them), so the tour shows the console
    reading a vendor's shape; the other models write the console's own contract."""
    from pathlib import Path

    from console.demo.otlp_writer import write_otlp
    d = Path(directory)
    (d / "logs" / "predictions").mkdir(parents=True, exist_ok=True)
    (d / "reference").mkdir(exist_ok=True)
    fraud_path = d / "logs" / "predictions" / f"{FRAUD}.jsonl"
    fleet.predictions[FRAUD].write_ndjson(fraud_path)
    _plant(fraud_path, fleet.malformed)
    write_otlp(fleet.predictions[LLM].to_dicts(), d / OTLP_LOG, prompt=PROMPT)
    fleet.predictions[ETA].write_parquet(d / "logs" / "predictions" / f"{ETA}.parquet")
    fleet.labels.write_csv(d / "logs" / "labels.csv")
    with open(d / "logs" / "deployments.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(e) + "\n" for e in fleet.deployments)
    for model, ref in fleet.references.items():
        ref.write_parquet(d / "reference" / f"{model}.parquet")
    (d / "tour.json").write_text(json.dumps(fleet.tour, indent=2) + "\n", encoding="utf-8")


def _plant(path, malformed: list[tuple[int, str, str]]) -> None:
    lines = path.read_bytes().split(b"\n")
    for line, text, _ in malformed:
        lines.insert(line - 1, text.encode())
    path.write_bytes(b"\n".join(lines))
