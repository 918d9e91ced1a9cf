"""The rules from the hourly rollups (`rollup_rules`, past `Monitor.rollups_after` rows) against the raw path
and against independent computations, on `rollup_fleet`'s two models over 200 hours with planted incidents:

- fraud (classifier): latency x20 over the last 20 hours (SLO burn), `amount` drifted and a new `channel`
  after half the hours (drift share), predictions flipped on 45% of rows over the last 50 hours (accuracy),
  a monthly budget its spend exceeds;
- eta (regressor): 40% errors for hours 100-110 (an SLO burn that resolved), version 1 -> 2 at hour 120 with
  cost per request doubled (cost spike), larger errors over the last 40 hours (MAE).

The same rules must fire with the same states on both paths, each onset within one evaluation step (the
rollups' windows end on whole hours), and the latest window's values must be equal (counts) or within the
sketch bound (p95, burn, drift), and equal to hand counts, NumPy and SciPy on the raw rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from console.analytics import evidence as ev
from console.analytics.windows import parse_window
from console.config import parse_file
from console.service import Service
from rollup_fleet import START, fleet, write_hive

HOURS = 200
NOW = START + timedelta(hours=HOURS - 1, minutes=37)
SLOW_FROM = NOW - timedelta(hours=20)
ERRORS = (START + timedelta(hours=100), START + timedelta(hours=110))
SWITCH = START + timedelta(hours=120)
FLIP_FROM = NOW - timedelta(hours=50)
MAE_FROM = NOW - timedelta(hours=40)
BUDGET = 100.0


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> tuple[Path, pl.DataFrame, pl.DataFrame]:
    root = tmp_path_factory.mktemp("rollup-rules")
    preds, labels = fleet(hours=HOURS, per_hour=150, seed=5)
    rng = np.random.default_rng(2)
    n = preds.height
    fraud, eta = pl.col("model") == "fraud", pl.col("model") == "eta"
    ts = pl.col("ts")
    burst = eta & (ts > ERRORS[0]) & (ts <= ERRORS[1])
    preds = preds.with_columns(
        pl.when(burst).then(pl.Series(rng.random(n) < 0.4)).otherwise(pl.col("status") == "500").alias("is_error"),
        pl.when(fraud & (ts > SLOW_FROM)).then(pl.col("latency_ms") * 20).otherwise(pl.col("latency_ms"))
        .alias("latency_ms"),
        pl.when(fraud & (ts > FLIP_FROM) & pl.Series(rng.random(n) < 0.45))
        .then(pl.when(pl.col("prediction") == "1").then(pl.lit("0")).otherwise(pl.lit("1")))
        .otherwise(pl.col("prediction")).alias("prediction"),
        pl.when(eta).then(pl.when(ts > SWITCH).then(pl.lit("2")).otherwise(pl.lit("1")))
        .otherwise(pl.col("version")).alias("version"),
        pl.when(eta).then(pl.lit(None, dtype=pl.Utf8)).otherwise(pl.col("variant")).alias("variant"),
        pl.when(eta & (ts > SWITCH)).then(pl.col("cost_usd") * 2).otherwise(pl.col("cost_usd")).alias("cost_usd"),
        pl.when(eta & (ts > MAE_FROM)).then(pl.col("prediction_num") + 3).otherwise(pl.col("prediction_num"))
        .alias("prediction_num"),
    ).drop("status")
    preds = preds.with_columns(pl.when(eta).then(pl.col("prediction_num").cast(pl.Utf8))
                               .otherwise(pl.col("prediction")).alias("prediction"))
    preds = preds.filter(ts <= NOW)
    labels = labels.filter(pl.col("ts") <= NOW)
    write_hive(preds, root)
    labels.write_parquet(root / "labels.parquet")
    feats = ["amount", "age", "speed", "country", "channel"]
    for model in ("fraud", "eta"):  # the first 60 hours, with their labels: the expected accuracy and MAE
        early = preds.filter((pl.col("model") == model) & (pl.col("ts") < START + timedelta(hours=60)))
        ref = early.join(labels.select("request_id", "label"), on="request_id", how="inner")
        ref.select(*feats, "label", "prediction").write_parquet(root / f"{model}.parquet")
    feature_list = ", ".join(f'"{f}"' for f in feats)
    (root / "console.toml").write_text(
        '[store]\npath = "store"\n[thresholds]\ndrift_share = 0.3\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[[logs]]\nkind = "labels"\npath = "labels.parquet"\n'
        f'[models.fraud]\nfeatures = [{feature_list}]\nreference = "fraud.parquet"\nbudget_usd_month = {BUDGET}\n'
        f'[models.eta]\ntask = "regression"\nfeatures = [{feature_list}]\nreference = "eta.parquet"\n'
        '[models.eta.prices]\ninput_per_1m = 1.0\n', encoding="utf-8")
    return root, preds, labels


def _service(root: Path, rollups: bool) -> Service:
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    svc.refresh()
    svc.monitor.rollups_after = 1_000 if rollups else 10**12
    return svc


@pytest.fixture(scope="module")
def both(log):
    root, _, _ = log
    raw_svc = _service(root, rollups=False)
    try:
        raw = raw_svc.monitor.findings(at=NOW)
    finally:
        raw_svc.close()
    svc = _service(root, rollups=True)
    try:
        yield raw, svc.monitor.findings(at=NOW), svc.monitor
    finally:
        svc.close()


def _step(f) -> timedelta:
    span = parse_window(f.window)
    if f.kind in ("drift_share", "feature_drift"):
        return max(span / 2, timedelta(hours=3))
    if f.kind == "cost_budget_share":
        return timedelta(hours=3)
    return max(span / 4, timedelta(hours=1))


def test_the_same_rules_fire_with_the_same_states(both):
    raw, rolled, mon = both
    assert not [f for f in raw + rolled if f.kind == "error"], [f.detail for f in raw + rolled if f.kind == "error"]
    key = lambda fs: sorted((f.model, f.rule, f.status) for f in fs)  # noqa: E731
    assert key(rolled) == key(raw)
    assert any(mon.sketch_drift.built) or mon.sketch_drift.path.is_dir()  # the rollups were read


def test_onsets_within_one_step_and_planted_incidents_fire(both):
    raw, rolled, _ = both
    by = {}
    for f in raw:
        by.setdefault((f.model, f.rule, f.status), []).append(f)
    for f in rolled:
        twin = min(by[(f.model, f.rule, f.status)], key=lambda g: abs(g.onset - f.onset))
        assert abs(twin.onset - f.onset) <= _step(f), (f.id, twin.onset, f.onset)
        if f.detected and twin.detected:
            assert abs(twin.detected - f.detected) <= _step(f) + timedelta(hours=1), f.id
    firing = {(f.model, f.kind) for f in rolled if f.firing}
    assert {("fraud", "burn_rate"), ("fraud", "drift_share"), ("fraud", "accuracy_drop"),
            ("fraud", "cost_budget_share"), ("eta", "cost_spike"), ("eta", "mae_increase")} <= firing
    burst = [f for f in rolled if f.model == "eta" and f.kind == "burn_rate" and not f.firing]
    assert burst and any(ERRORS[0] - timedelta(hours=1) <= f.onset <= ERRORS[1] for f in burst)
    spike = next(f for f in rolled if f.model == "eta" and f.kind == "cost_spike")
    assert abs(spike.onset - SWITCH) <= timedelta(hours=1)
    assert spike.value == pytest.approx(2.0, rel=0.15)


def _latest(mon, model: str, metric: str):
    from console import rollup_rules as rr

    rule = next(r for r in mon.rules_for(model) if r.metric == metric)
    since = mon.history_start(NOW)
    src = rr.RollupRules(mon, model, since, NOW, labels=metric in ("accuracy_drop", "mae_increase"),
                         drift=metric == "drift_share")
    evals, _ = mon.incident_rules._rollup_evaluate(src, rule, mon.expected(model), {})
    return rule, evals


def test_latest_window_equals_hand_counts_numpy_and_scipy(log, both):
    _, preds, labels = log
    _, _, mon = both
    # burn rate, the last hour of fraud: errors / 1% budget and the share slower than the SLO / 5%
    rule, evals = _latest(mon, "fraud", "burn_rate")
    last = evals[-1]
    assert last.end == NOW and last.start == NOW - parse_window(rule.window)
    part = preds.filter((pl.col("model") == "fraud") & (pl.col("ts") > last.start) & (pl.col("ts") <= NOW))
    slo = mon.model_config("fraud").slo
    err = part["is_error"].mean() / slo.error_rate
    slow = (part["latency_ms"] > slo.p95_ms).mean() / 0.05
    assert last.n == part.height
    assert last.value == pytest.approx(max(err, slow), abs=20 * 0.02)  # within the sketch's rank error / 5%
    assert last.breach is True
    # error rate of the whole window: an exact count, with its Wilson interval
    from console.config import AlertRule

    from console import rollup_rules as rr

    src = rr.RollupRules(mon, "eta", mon.history_start(NOW), NOW)
    e = src.rate("error_rate", timedelta(hours=24), ">", 0.05, 100)[-1]
    part = preds.filter((pl.col("model") == "eta") & (pl.col("ts") > NOW - timedelta(hours=24)))
    assert e.n == part.height and e.value == pytest.approx(part["is_error"].mean(), rel=1e-12)
    lo, hi = ev.wilson(int(part["is_error"].sum()), part.height)
    assert (e.low, e.high) == pytest.approx((lo, hi))
    # p95 over the last 6 hours: NumPy's linear percentile, within the sketch's rank error of it
    p = src.rate("p95_ms", timedelta(hours=6), ">", 1e9, 100)[-1]
    part = preds.filter((pl.col("model") == "eta") & (pl.col("ts") > NOW - timedelta(hours=6)))
    lat = np.sort(part["latency_ms"].to_numpy())
    assert np.quantile(lat, 0.9) <= p.value <= np.quantile(lat, 0.99)
    exact = AlertRule("p95 near", "p95_ms", ">", float(np.quantile(lat, 0.95)), "eta", window="6h")
    near = src.rate("p95_ms", timedelta(hours=6), ">", exact.threshold, 100)[-1]
    assert near.value == pytest.approx(np.quantile(lat, 0.95))  # at the threshold: re-checked on raw rows
    # accuracy of the last 24 h: a hand count of the joined labels
    _, evals = _latest(mon, "fraud", "accuracy_drop")
    last = evals[-1]
    joined = preds.filter((pl.col("model") == "fraud") & (pl.col("ts") > NOW - timedelta(hours=24))).join(
        labels.select("request_id", "label"), on="request_id", how="inner")
    acc = (joined["label"] == joined["prediction"]).mean()
    assert last.n == joined.height
    assert last.value == pytest.approx(mon.expected("fraud")["accuracy"] - acc, abs=1e-12)
    # MAE of the last 24 h of eta
    _, evals = _latest(mon, "eta", "mae_increase")
    joined = preds.filter((pl.col("model") == "eta") & (pl.col("ts") > NOW - timedelta(hours=24))).join(
        labels.select("request_id", "label"), on="request_id", how="inner")
    mae = (joined["prediction_num"] - joined["label"].cast(pl.Float64)).abs().mean()
    assert evals[-1].n == joined.height
    assert evals[-1].value == pytest.approx(mae - mon.expected("eta")["mae"], abs=1e-9)
    # drift of the last 24 h: amount's normed Wasserstein (SciPy) past 0.1, channel's new category
    _, evals = _latest(mon, "fraud", "drift_share")
    window = preds.filter((pl.col("model") == "fraud") & (pl.col("ts") > NOW - timedelta(hours=24)))
    ref = pl.read_parquet(log[0] / "fraud.parquet")
    wd = stats.wasserstein_distance(ref["amount"], window["amount"]) / ref["amount"].std()
    assert wd > 0.1
    assert evals[-1].breach is True and evals[-1].value >= 0.4


def test_the_rules_choose_rollups_by_the_row_count_alone(both):
    """A history already in memory (a screen read the week) does not switch a large model's rules to raw rows:
    the path follows `[rollups] min_rows` alone, so two passes give the same findings and onsets."""
    _, rolled, mon = both
    since = mon.history_start(NOW)
    for model in ("fraud", "eta"):
        mon.predictions(model, since, NOW)  # kept in memory, as after the Drift screen's trend
        assert mon.incident_rules._rules_from_rollups(model, since, NOW)
    again = mon.findings(at=NOW)
    # the same incidents, states, onsets and values (a drift detail's "moved" sizes come from sketches merged
    # with random bits, so they can differ in the last digit between two passes on either path)
    key = lambda fs: [(f.id, f.status, f.onset, f.end, f.detected, f.value, f.threshold) for f in fs]  # noqa: E731
    assert key(again) == key(rolled)
    mon.rollups_after = 10**12  # fewer rows than min_rows: raw, whatever is in memory
    assert not mon.incident_rules._rules_from_rollups("fraud", since, NOW)
    mon.rollups_after = 1_000


def test_both_paths_end_their_windows_on_the_same_grid(both):
    """Each rule's windows end at the same times on the raw path and from the rollups (`evidence.grid`, one
    definition), the latest at `--at` and the others on multiples of the rule's step from the epoch, so their
    evaluations are of the same windows and their incidents comparable."""
    from console import rollup_rules as rr
    from console.incident_rules import Context

    _, _, mon = both
    since = mon.history_start(NOW)
    compared = set()
    for model in ("fraud", "eta"):
        expected = mon.expected(model)
        preds, narrow = mon.incident_rules._rule_rows(model, since, NOW)
        ctx = Context(model, mon.model_config(model), preds, since, NOW, mon.deployments(model, until=NOW), narrow)
        src = rr.RollupRules(mon, model, since, NOW, labels=True, drift=True)
        for rule in mon.rules_for(model):
            if rule.metric in ("stale_minutes", "cost_spike"):  # no windows: the newest row; the change points
                continue
            raw, _ = mon.incident_rules._evaluate(ctx, rule)
            rolled, _ = mon.incident_rules._rollup_evaluate(src, rule, expected, {})
            if not raw and not rolled:
                continue
            ends = [e.end for e in raw]
            assert ends == [e.end for e in rolled], (model, rule.name)
            step = _rule_step(rule)
            assert ends[-1] == NOW and NOW - ends[-2] < step
            assert all(b - a == step for a, b in zip(ends[:-2], ends[1:-1]))
            assert all((e - datetime(1970, 1, 1)) % step == timedelta(0) for e in ends[:-1]), (model, rule.name)
            compared.add(rule.metric)
    assert {"burn_rate", "drift_share", "accuracy_drop", "mae_increase", "cost_budget_share"} <= compared


def _rule_step(rule) -> timedelta:
    """A rule's step by hand: a quarter of its window (drift: half, at least 3 h; the budget: 3 h), rounded up to
    whole hours (the 7-day history / 168 windows asks for no wider one)."""
    span = parse_window(rule.window)
    if rule.metric in ("drift_share", "feature_drift"):
        span = max(span, timedelta(hours=6))
        step = max(span / 2, timedelta(hours=3))
    elif rule.metric == "cost_budget_share":
        step = timedelta(hours=3)
    else:
        step = span / 4
    return max(timedelta(hours=1), timedelta(hours=-(-step // timedelta(hours=1))))


def test_a_window_asked_for_more_columns_reads_only_those_and_scores_as_one_read(log, both):
    """The latest drift window is read exactly with the columns asked of it (its borderline ones), not every
    feature (a day of 25 features per model was most of a `snapshot` at 10M rows); asked again for more (an
    incident's onset), only the new columns are read and put beside the kept ones. The scores equal one read of
    every column and SciPy's normed Wasserstein on the hand-cut window."""
    from console import rollup_rules as rr

    _, preds, _ = log
    _, _, mon = both
    since = mon.history_start(NOW)
    ref = mon.reference("fraud")
    feats = [f for f in ref.columns if f in ("amount", "channel")]
    assert sorted(feats) == ["amount", "channel"]
    src = rr.RollupRules(mon, "fraud", since, NOW, drift=True)
    (w,) = src.windows(timedelta(hours=24), 100)[-1:]
    reads = []
    real = rr.RollupRules.raw_windows
    src.raw_windows = lambda wanted: reads.append([sorted(c) for _, c in wanted]) or real(src, wanted)
    first = src._exact_columns([(w, ["amount"])], ref)[id(w)]
    both_cols = src._exact_columns([(w, ["amount", "channel"])], ref)[id(w)]
    assert reads == [[["amount", "variant"]], [["channel", "variant"]]]  # the second read: the new column only
    assert set(src._exact_rows[rr._span(w)].columns) >= {"ts", "variant", "amount", "channel"}
    one = rr.RollupRules(mon, "fraud", since, NOW, drift=True)
    (w1,) = one.windows(timedelta(hours=24), 100)[-1:]
    together = one._exact_columns([(w1, ["amount", "channel"])], ref)[id(w1)]
    for f in ("amount", "channel"):
        assert both_cols[f].score == together[f].score and both_cols[f].drifted == together[f].drifted, f
    assert first["amount"].score == together["amount"].score
    lo, hi = rr._span(w)
    cut = preds.filter((pl.col("model") == "fraud") & (pl.col("ts") > lo) & (pl.col("ts") <= hi))
    refdf = pl.read_parquet(log[0] / "fraud.parquet")
    amount = refdf["amount"].to_numpy()
    wd = stats.wasserstein_distance(amount, cut["amount"].to_numpy()) / np.std(amount)  # Evidently's norm: ddof 0
    assert together["amount"].score == pytest.approx(wd, rel=1e-9)


def test_a_raw_piece_before_the_oldest_row_is_empty_unread_and_one_ending_on_it_is_read(log, both):
    """A look-back's longer history starts before the store's first row (its probe reaches twice the history
    back): its first raw piece holds no row, and is not read (`RollupRules._before_oldest`, from the files' ts
    spans). A piece that ends on the oldest row's instant holds that row and is read: the rows, served rows and
    errors equal a hand count of the log."""
    from console import rollup_rules as rr

    _, preds, _ = log
    _, _, mon = both
    fraud = preds.filter(pl.col("model") == "fraud")
    first = fraud["ts"].min()
    assert mon.wh.oldest() <= preds["ts"].min()
    since = first - timedelta(days=3, minutes=17)
    src = rr.RollupRules(mon, "fraud", since, NOW)
    reads = []
    real = rr.RollupRules.raw_rows
    src.raw_rows = lambda a, b: reads.append((a, b)) or real(src, a, b)
    before = src.raw(since, first - timedelta(hours=1))
    assert (before.rows, before.served, before.errors, before.latency) == (0, 0, 0, None)
    assert reads == []
    at_first = src.raw(first - timedelta(minutes=30), first)
    assert reads == [(first - timedelta(minutes=30), first)]
    held = fraud.filter((pl.col("ts") > first - timedelta(minutes=30)) & (pl.col("ts") <= first))
    served = held.filter(pl.col("variant").is_null() | (pl.col("variant") != "shadow"))
    assert at_first.rows == held.height >= 1
    assert at_first.served == served.height
    assert at_first.errors == int(served["is_error"].sum())


def test_a_drift_windows_closed_hours_are_kept_and_the_next_pass_reads_none_of_them(both, monkeypatch):
    """The closed hours of the latest drift window (scored again at every new `--at`: its raw edges move) are
    unioned once and kept beside the rollups (`RollupRules._blocks`): a later pass at another `--at` of the same
    hour read and unioned them again. The next pass reads no rollup row for them and scores the window as the first
    did, bit for bit; an hour won by another file (a rebuilt hour: a new generation) names another block, read
    again. A window of closed hours alone (its evaluation kept in `rule_memo`) leaves no block."""
    import json

    from console import rollup_memo, rule_memo
    from console import rollup_rules as rr
    from console import store_rollups as ro

    _, _, mon = both
    since = mon.history_start(NOW)
    ref = mon.reference("fraud")
    reads = []
    real = ro.read_table
    monkeypatch.setattr(ro, "read_table", lambda *a, **k: reads.append((a[2], a[3])) or real(*a, **k))

    def windows(src):
        return [w for w in src.drift_windows(timedelta(hours=24), timedelta(hours=12), 500) if w.served >= 500]

    def scored(src, pick):
        out = src._drift_scores(pick(windows(src)), ref, src.drift.spec("fraud"))
        return {str(k): json.dumps(rule_memo.dataset_of(v), default=repr, sort_keys=True) for k, v in out.items()}

    def latest(ws):
        assert any(p.raw for p in ws[-1].parts)
        return ws[-1:]

    def closed(ws):
        assert not any(p.raw for p in ws[len(ws) // 2].parts)
        return [ws[len(ws) // 2]]

    srcs = [rr.RollupRules(mon, "fraud", since, NOW, drift=True) for _ in range(4)]
    where = rollup_memo.folder(srcs[0].drift.path, ro._model_dir(srcs[0].drift.path, "fraud").name)
    for old in where.glob("block-*.npz"):
        old.unlink()
    scored(srcs[0], closed)
    assert not list(where.glob("block-*.npz"))
    reads.clear()
    first = scored(srcs[1], latest)
    assert reads and len(list(where.glob("block-*.npz"))) == 1
    reads.clear()
    assert scored(srcs[2], latest) == first
    assert reads == []  # its block kept: no rollup hour read
    hour = rr.floor_hour(NOW) - timedelta(hours=3)  # inside the latest window's closed hours
    srcs[3].gens[hour] = srcs[3].gens.get(hour, 0) + 1000
    assert scored(srcs[3], latest) == first  # the same rows under another generation: the same scores
    assert reads and all(a <= hour for a, _ in reads) and len(list(where.glob("block-*.npz"))) == 2
