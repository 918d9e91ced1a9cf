"""Serving health against numpy percentiles and hand-counted SLO burn."""

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from console.analytics import health
from console.analytics.windows import parse_window, polars_every
from console.config import Slo

NOW = datetime(2026, 3, 10, 12, 0)


def frame(rows):
    base = {"model": "m", "version": "1", "variant": "champion", "is_error": False, "latency_ms": 10.0}
    return pl.DataFrame([{**base, **r} for r in rows],
                        schema_overrides={"latency_ms": pl.Float64, "ts": pl.Datetime("us")})


def random_frame(n=3000, seed=1):
    rng = np.random.default_rng(seed)
    lat = rng.lognormal(4, 0.6, n)
    lat[rng.random(n) < 0.02] = np.nan
    ts = [NOW - timedelta(seconds=int(s)) for s in rng.integers(1, 3 * 3600, n)]
    df = pl.DataFrame({
        "ts": ts, "model": rng.choice(["a", "b"], n), "version": rng.choice(["1", "2"], n),
        "variant": rng.choice(["champion", "canary"], n), "latency_ms": lat,
        "is_error": rng.random(n) < 0.03})
    # a few true nulls as well as NaNs
    return df.with_columns(pl.when(pl.int_range(pl.len()) % 97 == 0).then(None)
                           .otherwise(pl.col("latency_ms")).alias("latency_ms"))


def test_parse_window():
    assert parse_window("5m") == timedelta(minutes=5)
    assert parse_window("24h") == timedelta(days=1)
    assert parse_window("7d") == timedelta(days=7)
    assert polars_every("1h") == "3600s"
    for bad in ("", "5", "0m", "1y", "m5"):
        with pytest.raises(ValueError):
            parse_window(bad)


def test_series_percentiles_match_numpy_per_group_and_bucket():
    df = random_frame()
    out = health.health_series(df, every="1h")
    pdf = df.with_columns(pl.col("ts").dt.truncate("1h").alias("bucket"))
    checked = 0
    for r in out.iter_rows(named=True):
        sub = pdf.filter((pl.col("model") == r["model"]) & (pl.col("version") == r["version"])
                         & (pl.col("variant") == r["variant"]) & (pl.col("bucket") == r["bucket"]))
        lat = sub.get_column("latency_ms").drop_nulls().to_numpy()
        lat = lat[~np.isnan(lat)]
        for q, col in ((50, "p50_ms"), (95, "p95_ms"), (99, "p99_ms")):
            assert r[col] == pytest.approx(np.percentile(lat, q, method="linear"), rel=1e-12)
        assert r["requests"] == sub.height
        assert r["throughput_rpm"] == pytest.approx(sub.height / 60)
        assert r["error_rate"] == pytest.approx(sub.get_column("is_error").mean())
        checked += 1
    assert checked == 2 * 2 * 2 * 3  # model x version x variant x three clock hours


def test_current_health_over_window():
    rows = [{"ts": NOW - timedelta(minutes=m), "latency_ms": float(m), "is_error": m == 1} for m in range(1, 11)]
    rows.append({"ts": NOW - timedelta(hours=2), "latency_ms": 10_000.0})  # outside the window
    [h] = health.current_health(frame(rows), NOW, window="10m")
    # the window is (now - 10m, now]: the row exactly 10 minutes old is excluded
    lat = np.arange(1, 10, dtype=float)
    assert h.requests == 9
    assert h.throughput_rpm == pytest.approx(0.9)
    assert h.errors == 1 and h.error_rate == pytest.approx(1 / 9)
    assert h.p95_ms == pytest.approx(np.percentile(lat, 95))
    assert h.p99_ms == pytest.approx(np.percentile(lat, 99))
    json.dumps(h.to_dict())


def test_empty_window_and_all_missing_latency():
    df = frame([{"ts": NOW - timedelta(days=1)}])
    assert health.current_health(df, NOW, "5m") == []
    df = frame([{"ts": NOW - timedelta(minutes=1), "latency_ms": float("nan")},
                {"ts": NOW - timedelta(minutes=2), "latency_ms": None, "is_error": True}])
    [h] = health.current_health(df, NOW, "5m")
    assert h.requests == 2 and h.error_rate == 0.5
    assert h.p50_ms is None and h.p95_ms is None
    empty = df.clear()
    assert health.health_series(empty, "5m").height == 0


def test_burn_rates_hand_counted():
    slo = Slo(p95_ms=300.0, error_rate=0.01, short_window="1h", long_window="6h")
    rows = []
    # last hour: 200 requests, 6 errors (3 %), 20 slow (10 %), 4 with no latency
    for i in range(200):
        rows.append({"ts": NOW - timedelta(seconds=10 + i * 15), "is_error": i < 6,
                     "latency_ms": None if 100 <= i < 104 else (500.0 if i >= 180 else 100.0)})
    # hours 1-6: 800 requests, 2 errors, none slow
    for i in range(800):
        rows.append({"ts": NOW - timedelta(hours=1, seconds=10 + i * 20), "is_error": i < 2})
    st = health.slo_status(frame(rows), slo, NOW)
    assert st.error_short.requests == 200
    assert st.error_short.bad_fraction == pytest.approx(6 / 200)
    assert st.error_short.burn_rate == pytest.approx(3.0)
    assert st.error_long.burn_rate == pytest.approx((8 / 1000) / 0.01)
    assert st.latency_short.requests == 196
    assert st.latency_short.burn_rate == pytest.approx((20 / 196) / 0.05)
    assert st.latency_long.burn_rate == pytest.approx((20 / 996) / 0.05)
    assert not st.alert
    assert st.burn_rate == pytest.approx(max(3.0, (20 / 196) / 0.05))
    json.dumps(st.to_dict())


def test_the_alert_is_the_burn_rate_rules():
    """The screens' SLO ALERT is the `burn_rate` rule's test, the short window's burn over the factor: a screen that
    asked for both windows said "SLO ok" while the rule's incident fired (the long window is shown as context)."""
    slo = Slo(p95_ms=300.0, error_rate=0.01)
    # short window: 50 % errors; long window diluted by 10,000 clean requests 2-6h ago
    hot = [{"ts": NOW - timedelta(minutes=1 + i % 50), "is_error": i % 2 == 0} for i in range(100)]
    cold = [{"ts": NOW - timedelta(hours=2, seconds=i), "is_error": False} for i in range(10_000)]
    st = health.slo_status(frame(hot + cold), slo, NOW)
    assert st.error_short.burn_rate == pytest.approx(50.0)
    assert st.error_long.burn_rate == pytest.approx(50 / 10_100 / 0.01)
    assert st.error_alert and st.alert and st.burn_rate == pytest.approx(50.0)
    assert not health.slo_status(frame(hot + cold), slo, NOW, factor=60).error_alert
    assert not health.slo_status(frame(hot), slo, NOW, factor=50).error_alert  # over, not at, as the rule's `> 6`


def test_slo_empty_window_has_no_burn():
    st = health.slo_status(frame([{"ts": NOW - timedelta(days=2)}]), Slo(), NOW)
    assert st.error_short.burn_rate is None and st.latency_long.burn_rate is None and not st.alert


def test_slo_by_model_uses_each_models_slo():
    from console.config import ModelConfig
    rows = [{"ts": NOW - timedelta(minutes=i + 1), "model": m, "is_error": i == 0} for m in "ab" for i in range(10)]
    out = health.slo_by_model(frame(rows), {"a": ModelConfig("a", slo=Slo(error_rate=0.05))}, NOW)
    assert out["a"].error_short.burn_rate == pytest.approx(0.1 / 0.05)
    assert out["b"].error_short.burn_rate == pytest.approx(0.1 / 0.01)
