"""Alert rules, the alert book and retrospective onsets."""

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from console.analytics import alerts as a
from console.analytics.cost import with_cost
from console.config import AlertRule, Prices, Slo

NOW = datetime(2026, 3, 10, 12, 0)


def test_evaluate_rules_models_and_missing_metrics():
    rules = [AlertRule("slow", "p95_ms", ">", 300.0),
             AlertRule("errors", "error_rate", ">=", 0.05, model="b"),
             AlertRule("acc", "accuracy_drop", ">", 0.1)]
    metrics = {"a": {"p95_ms": 450.0, "error_rate": 0.9}, "b": {"p95_ms": 120.0, "error_rate": 0.05},
               "c": {"p95_ms": float("nan")}}
    states = a.evaluate(rules, metrics, NOW)
    got = {(s.rule.name, s.model): (s.value, s.firing, s.since) for s in states}
    assert got == {("slow", "a"): (450.0, True, NOW), ("slow", "b"): (120.0, False, None),
                   ("errors", "b"): (0.05, True, NOW)}  # c's NaN and the absent accuracy_drop do not evaluate
    json.dumps([s.to_dict() for s in states])


def test_evaluate_feature_drift():
    metrics = {"m": {"feature_drift": {"age": 0.3, "income": 0.05}}}
    one = a.evaluate([AlertRule("age", "feature_drift", ">", 0.2, feature="age")], metrics, NOW)
    assert [(s.feature, s.firing) for s in one] == [("age", True)]
    every = a.evaluate([AlertRule("any", "feature_drift", ">", 0.2)], metrics, NOW)
    assert [(s.feature, s.firing) for s in every] == [("age", True), ("income", False)]
    assert a.evaluate([AlertRule("x", "feature_drift", ">", 0.2, feature="zip")], metrics, NOW) == []


@pytest.mark.parametrize("op,value,fires", [(">", 1.0, False), (">=", 1.0, True), ("<", 0.5, True),
                                            ("<=", 1.0, True), ("<", 1.0, False)])
def test_operators(op, value, fires):
    [s] = a.evaluate([AlertRule("r", "burn_rate", op, 1.0)], {"m": {"burn_rate": value}}, NOW)
    assert s.firing is fires


def test_alert_book_onset_resolution_and_retrospective_onset():
    rule = AlertRule("slow", "p95_ms", ">", 300.0)
    book = a.AlertBook()
    t1, t2, t3 = NOW, NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)
    s1 = a.evaluate([rule], {"m": {"p95_ms": 400.0}}, t1)
    onset = NOW - timedelta(minutes=40)
    ev = book.update(s1, t1, onsets={s1[0].key: onset})
    assert [(e.kind, e.onset) for e in ev] == [("fired", onset)]
    assert book.update(a.evaluate([rule], {"m": {"p95_ms": 500.0}}, t2), t2) == []
    [f] = book.firing()
    assert f.since == onset and f.value == 500.0
    assert book.update([], t3) == [] and book.onset(f.key) == onset  # no data is not recovery
    ev = book.update(a.evaluate([rule], {"m": {"p95_ms": 200.0}}, t3), t3)
    assert [(e.kind, e.onset, e.resolved) for e in ev] == [("resolved", onset, t3)]
    assert book.firing() == [] and len(book.resolved) == 1
    # firing again later starts a new incident at now (no series given)
    ev = book.update(a.evaluate([rule], {"m": {"p95_ms": 900.0}}, t3 + timedelta(hours=1)), t3 + timedelta(hours=1))
    assert ev[0].onset == t3 + timedelta(hours=1)


def series(values, every=timedelta(minutes=5)):
    return pl.DataFrame({"bucket": [NOW - every * (len(values) - i) for i in range(len(values))],
                         "value": values}, schema_overrides={"value": pl.Float64})


def test_onset_from_series():
    s = series([500.0, 100.0, 350.0, 400.0, 420.0])
    assert a.onset_from_series(s, ">", 300) == s.get_column("bucket")[2]
    assert a.onset_from_series(series([500.0, 100.0]), ">", 300) is None
    assert a.onset_from_series(series([400.0, float("nan"), 400.0]), ">", 300) == NOW - timedelta(minutes=5)
    assert a.onset_from_series(series([400.0, None, 400.0]), ">", 300) == NOW - timedelta(minutes=5)
    assert a.onset_from_series(series([400.0, 400.0]), ">", 300) == NOW - timedelta(minutes=10)
    assert a.onset_from_series(series([]), ">", 300) is None
    assert a.onset_from_series(series([0.9, 0.5, 0.4]), "<", 0.6) == NOW - timedelta(minutes=10)


def preds_frame(rng, n=2000, hours=2):
    ts = [NOW - timedelta(seconds=int(s)) for s in rng.integers(1, hours * 3600, n)]
    lat = rng.lognormal(5, 0.3, n)
    return pl.DataFrame({"ts": ts, "model": "m", "latency_ms": lat, "is_error": rng.random(n) < 0.05,
                         "refused": rng.random(n) < 0.1})


def test_cold_start_onset_is_real_start():
    rng = np.random.default_rng(9)
    df = preds_frame(rng)
    # latency degrades from 11:20 onwards
    df = df.with_columns(pl.when(pl.col("ts") >= datetime(2026, 3, 10, 11, 20))
                         .then(pl.col("latency_ms") * 10).otherwise(pl.col("latency_ms")).alias("latency_ms"))
    rule = AlertRule("slow", "p95_ms", ">", 1000.0)
    sp95 = a.p95_series(df, "5m")
    states = a.evaluate([rule], {"m": {"p95_ms": sp95.get_column("value")[-1]}}, NOW)
    book = a.AlertBook()
    book.update(states, NOW, a.retrospective_onsets(states, {"m": {"p95_ms": sp95}}))
    assert book.firing()[0].since == datetime(2026, 3, 10, 11, 20)


def test_series_helpers_match_numpy():
    rng = np.random.default_rng(12)
    df = preds_frame(rng)
    bucket = df.get_column("ts").dt.truncate("5m").to_numpy()
    lat, err, ref = (df.get_column(c).to_numpy() for c in ("latency_ms", "is_error", "refused"))
    p95, er = a.p95_series(df, "5m"), a.error_rate_series(df, "5m")
    for (b, v), e in zip(p95.iter_rows(), er.get_column("value")):
        sel = bucket == np.datetime64(b)
        assert v == pytest.approx(np.percentile(lat[sel], 95, method="linear"))
        assert e == pytest.approx(err[sel].mean())
    rr = a.refusal_rate_series(df, "1h")
    hb = df.get_column("ts").dt.truncate("1h").to_numpy()
    for b, v in rr.iter_rows():
        assert v == pytest.approx(ref[hb == np.datetime64(b)].mean())
    slo = Slo(p95_ms=200.0, error_rate=0.01)
    for (b, v) in a.burn_rate_series(df, slo, "1h").iter_rows():
        sel = hb == np.datetime64(b)
        assert v == pytest.approx(max(err[sel].mean() / 0.01, (lat[sel] > 200).mean() / 0.05))


def test_accuracy_drop_and_mae_increase_series():
    t = [NOW - timedelta(hours=3, minutes=30)] * 4 + [NOW - timedelta(minutes=30)] * 4
    joined = pl.DataFrame({
        "ts": t, "prediction": ["1", "1", "0", "0", "1", "1", "1", "0"],
        "label": ["1", "1", "0", "0", "0", "0", "1", None],
        "prediction_num": [1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0],
        "label_num": [1.0, 2.0, 3.0, 5.0, 3.0, 4.0, 3.0, None]})
    base = (NOW - timedelta(hours=4), NOW - timedelta(hours=2))
    acc = a.accuracy_drop_series(joined, *base, every="1h")
    assert acc.get_column("value").to_list() == [pytest.approx(0.0), pytest.approx(1.0 - 1 / 3)]
    mae = a.mae_increase_series(joined, *base, every="1h")
    assert mae.get_column("value").to_list() == [pytest.approx(0.0), pytest.approx(4 / 3 - 0.25)]
    # a classifier logging "1.0" and `true` for the class "1" is right as often (text equality counted it wrong)
    spelled = joined.with_columns(pl.Series("prediction", ["1.0", "true", "0", "false", "1", "1.0", "1", "0"]))
    assert a.accuracy_drop_series(spelled, *base, every="1h").get_column("value").to_list() == \
        acc.get_column("value").to_list()
    # an empty baseline gives no values rather than a made-up drop
    none = a.accuracy_drop_series(joined, NOW - timedelta(days=9), NOW - timedelta(days=8))
    assert none.get_column("value").null_count() == none.height


def test_cost_spike_series_feeds_onset():
    rows = [{"ts": NOW - timedelta(hours=h, minutes=30), "model": "m", "cost_usd": 1.0 if h > 2 else 10.0}
            for h in range(40)]
    costed = with_cost(pl.DataFrame(rows), Prices())
    s = a.cost_spike_series(costed, NOW, factor=3.0)
    assert s.get_column("value")[-1] == pytest.approx(10.0)
    assert a.onset_from_series(s, ">", 3.0) == NOW - timedelta(hours=3)
