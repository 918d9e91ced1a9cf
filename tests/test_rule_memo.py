"""The evaluations of closed windows kept beside the rollups (`rule_memo`): a later pass takes them instead of
evaluating again, they equal a fresh evaluation, and they are never stale: a closed hour that changes (rows
that came late, a label that landed, a rollup rebuilt) gives its windows new keys, so they are evaluated again
from the new hour, and the result equals a fresh evaluation with nothing kept and a hand count."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from console import rollup_rules as rr
from console import rule_memo
from console import store_rollups as ro
from console.config import parse_file
from console.service import Service
from rollup_fleet import START, fleet, write_hive

HOURS = 60
NOW = START + timedelta(hours=HOURS - 1, minutes=37)
CHANGED = START + timedelta(hours=40)  # the closed hour that gains rows, then labels
FEATS = ["amount", "age", "speed", "country", "channel"]


@pytest.fixture
def log(tmp_path) -> tuple[Path, pl.DataFrame, pl.DataFrame]:
    preds, labels = fleet(hours=HOURS, per_hour=80, seed=7)
    preds = preds.with_columns((pl.col("status") == "500").alias("is_error")).drop("status")
    preds, labels = preds.filter(pl.col("ts") <= NOW), labels.filter(pl.col("ts") <= NOW)
    write_hive(preds, tmp_path)
    labels.write_parquet(tmp_path / "labels.parquet")
    early = preds.filter((pl.col("model") == "fraud") & (pl.col("ts") < START + timedelta(hours=30)))
    early.join(labels.select("request_id", "label"), on="request_id").select(*FEATS, "label", "prediction") \
        .write_parquet(tmp_path / "fraud.parquet")
    feature_list = ", ".join(f'"{f}"' for f in FEATS)
    (tmp_path / "console.toml").write_text(
        '[store]\npath = "store"\n[thresholds]\ndrift_share = 0.3\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[[logs]]\nkind = "labels"\npath = "labels*.parquet"\n'
        '[[alerts]]\nname = "errors"\nmetric = "error_rate"\nop = ">"\nthreshold = 0.2\nwindow = "3h"\n'
        '[[alerts]]\nname = "slow"\nmetric = "p95_ms"\nop = ">"\nthreshold = 60\nwindow = "3h"\n'
        f'[models.fraud]\nfeatures = [{feature_list}]\nreference = "fraud.parquet"\n', encoding="utf-8")
    return tmp_path, preds, labels


def _service(root: Path) -> Service:
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    svc.refresh()
    svc.monitor.rollups_after = 1_000
    return svc


def _pass(root: Path, since=None) -> tuple[dict, rule_memo.Memo]:
    """Every rule's evaluations of `fraud` from the rollups in a new service (a new process), kept after. A
    drift window's verdict is compared, not its share: a KLL merge compacts with random bits, so two fresh
    evaluations of one window can differ within the sketch's bound."""
    svc = _service(root)
    try:
        mon = svc.monitor
        mon.since = since
        src = rr.RollupRules(mon, "fraud", mon.history_start(NOW), NOW, labels=True, drift=True)
        out = {r.name: mon.incident_rules._rollup_evaluate(src, r, mon.expected("fraud"), {})[0]
               for r in mon.rules_for("fraud") if r.metric != "stale_minutes"}
        out = {k: [(e.start, e.end, e.n, e.breach) for e in v] if "drift" in k else v for k, v in out.items()}
        src.memo.save()
        return out, src.memo
    finally:
        svc.close()


def _forget(root: Path) -> None:
    for f in root.rglob(rule_memo.NAME):
        f.unlink()


def _covering(evals: list, hour) -> list:
    return [e for e in evals if e.start < hour + timedelta(hours=1) and e.end > hour]



def test_a_second_pass_takes_the_kept_evaluations_and_they_equal_fresh_ones(log):
    root, _, _ = log
    first, memo = _pass(root)
    assert memo.hits == 0 and memo.misses > 10  # every closed window evaluated, then kept
    assert (ro._model_dir(root / "store" / "rollups", "fraud") / rule_memo.NAME).is_file() or \
        any(root.rglob(rule_memo.NAME))
    second, memo = _pass(root)
    assert memo.misses == 0 and memo.hits > 10
    assert second == first
    _forget(root)
    fresh, memo = _pass(root)
    assert memo.hits == 0 and fresh == first
    assert {"errors", "slow"} <= set(first) and any(n.startswith("default: feature drift") for n in first)


def test_rows_that_came_late_to_a_closed_hour_change_its_windows(log):
    root, preds, _ = log
    before, _ = _pass(root)
    rng = np.random.default_rng(3)
    n = 400  # a burst of slow failures inside a closed hour, written after the first pass
    late = preds.filter(pl.col("model") == "fraud").head(n).with_columns(
        (pl.lit(CHANGED) + pl.Series(np.sort(rng.integers(1, 3600 * 10**6 - 1, n))).cast(pl.Duration("us")))
        .alias("ts"), pl.lit(True).alias("is_error"), (pl.col("latency_ms") * 50).alias("latency_ms"),
        (pl.lit("late-") + pl.col("request_id")).alias("request_id"), (pl.col("amount") * 30).alias("amount"))
    out = root / "logs" / f"date={CHANGED:%Y-%m-%d}" / f"hour={CHANGED:%H}"
    out.mkdir(parents=True, exist_ok=True)
    late.write_parquet(out / "part-late.parquet")
    after, memo = _pass(root)
    assert memo.hits > 0  # the windows away from the changed hour were kept
    _forget(root)
    fresh, _ = _pass(root)
    assert after == fresh
    for name in ("errors", "slow"):
        changed = _covering(after[name], CHANGED)
        assert changed and all(a != b for a, b in zip(changed, _covering(before[name], CHANGED)))
        away = [e for e in after[name] if e.end <= CHANGED - timedelta(hours=1)]
        assert away == [e for e in before[name] if e.end <= CHANGED - timedelta(hours=1)]
    rows = pl.concat([preds, late], how="diagonal_relaxed").filter(pl.col("model") == "fraud")
    for e in _covering(after["errors"], CHANGED):  # the hand count of the rows in the window
        w = rows.filter((pl.col("ts") > e.start) & (pl.col("ts") <= e.end))
        assert e.n == w.height and e.value == pytest.approx(w["is_error"].cast(pl.Float64).mean(), abs=1e-12)


def test_a_late_label_and_a_rebuilt_rollup_give_their_hours_new_keys(log):
    root, preds, labels = log
    before, _ = _pass(root)
    fraud = preds.filter((pl.col("model") == "fraud") & (pl.col("ts") > CHANGED) &
                         (pl.col("ts") <= CHANGED + timedelta(hours=1)))
    unlabelled = fraud.join(labels, on="request_id", how="anti")
    assert unlabelled.height > 10
    wrong = unlabelled.select("request_id", pl.when(pl.col("prediction") == "1").then(pl.lit("0"))
                              .otherwise(pl.lit("1")).alias("label"),
                              pl.lit(NOW - timedelta(minutes=5)).alias("ts"))
    # labels that contradict every prediction, landed late (after the first pass, before now: one logged after now
    # is not counted, as on the raw path)
    wrong.write_parquet(root / "labels-late.parquet")
    after, memo = _pass(root)
    assert memo.hits > 0 and memo.misses > 0  # the relabelled hour's windows were evaluated again
    acc = next(n for n in after if n.startswith("default: accuracy"))
    assert _covering(after[acc], CHANGED) != _covering(before[acc], CHANGED)
    _forget(root)
    fresh, _ = _pass(root)
    assert after == fresh
    # a rollup rebuilt for the hour (same rows): new generation, so a miss for its windows, the same values
    _pass(root)
    svc = _service(root)
    try:
        drift = svc.monitor.sketch_drift
        pieces = [("fraud", drift.spec("fraud"), CHANGED, CHANGED + timedelta(hours=1), 0)]
        drift._write(pieces, *drift._read(pieces, has_labels=True))  # this store holds labels
    finally:
        svc.close()
    rebuilt, memo = _pass(root)
    assert memo.misses > 0 and memo.hits > 0
    assert {k: v for k, v in rebuilt.items() if "drift" not in k} == {k: v for k, v in fresh.items() if "drift" not in k}


def test_a_row_in_the_piece_of_an_hour_the_history_starts_in_changes_the_first_windows(log):
    """`--since` cuts an hour: the piece after it is read raw, and named by that hour's rollup (kept current by
    the catch-up), so a row landing there is seen."""
    root, preds, _ = log
    since = START + timedelta(hours=10, minutes=30)
    before, memo = _pass(root, since)
    again, memo = _pass(root, since)
    assert memo.hits > 0 and again == before
    late = preds.filter(pl.col("model") == "fraud").head(1).with_columns(
        pl.lit(since + timedelta(minutes=5)).alias("ts"), pl.lit(True).alias("is_error"),
        pl.lit("late-first").alias("request_id"))
    out = root / "logs" / f"date={since:%Y-%m-%d}" / f"hour={since:%H}"
    out.mkdir(parents=True, exist_ok=True)
    late.write_parquet(out / "part-late.parquet")
    after, _ = _pass(root, since)
    first = [e for e in after["errors"] if e.start <= since + timedelta(minutes=5) < e.end]
    old = [e for e in before["errors"] if e.start <= since + timedelta(minutes=5) < e.end]
    assert first and [e.n for e in first] == [e.n + 1 for e in old]
    _forget(root)
    assert _pass(root, since)[0] == after
