"""A rule pass from the rollups reads the raw edge hours of all its models in one scan (`RollupRules.prefetch`
over `Monitor.typed_rows_of`), and its findings are those of a pass reading each model's edges alone; the hour
that closed is built for all its models from one read too (`RollupDrift.catch_up_all`).

Three models (`rollup_fleet`'s two and a third made of the first's rows), 61 hours with an open hour at `NOW`.
The reads are counted at the store (`Warehouse.arrow`, wrapped to record its calls and return its answer) and
the ranges of the one edge read are checked against a hand count of the hours the rules' latest windows cut.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from console import rule_memo
from console import store_rollups as ro
from console.analytics.windows import parse_window
from console.config import parse_file
from console.service import Service
from rollup_fleet import START, fleet, write_hive

HOURS = 61
NOW = START + timedelta(hours=HOURS - 1, minutes=37)
MODELS = ["eta", "fraud", "fraud2"]
US = timedelta(microseconds=1)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rule-pass-edges")
    preds, labels = fleet(hours=HOURS, per_hour=120, seed=7)
    third = preds.filter(pl.col("model") == "fraud").with_columns(
        pl.lit("fraud2").alias("model"), (pl.lit("2-") + pl.col("request_id")).alias("request_id"),
        (pl.col("amount") * 1.5).alias("amount"))
    preds = pl.concat([preds, third]).filter(pl.col("ts") <= NOW)
    write_hive(preds, root)
    feats = ["amount", "age", "speed", "country", "channel"]
    for model in MODELS:
        preds.filter((pl.col("model") == model) & (pl.col("ts") < START + timedelta(hours=20))) \
            .select(feats).write_parquet(root / f"{model}.parquet")
    feature_list = ", ".join(f'"{f}"' for f in feats)
    (root / "console.toml").write_text(
        '[store]\npath = "store"\n[thresholds]\ndrift_share = 0.3\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        + "".join(f'[models.{m}]\nfeatures = [{feature_list}]\nreference = "{m}.parquet"\n' for m in MODELS),
        encoding="utf-8")
    return root


def _forget_kept(mon) -> None:
    """The kept window evaluations (`rule_memo`) dropped, so the next pass evaluates and reads again."""
    for model in MODELS:
        (ro._model_dir(mon.sketch_drift.path, model) / rule_memo.NAME).unlink(missing_ok=True)


def _recorded(mon, calls: list) -> None:
    arrow = mon.wh.arrow

    def record(name, params=None, columns=None, within=None):
        calls.append((name, dict(params or {}), within))
        return arrow(name, params, columns, within)

    mon.wh.arrow = record


def _key(findings) -> list:
    return sorted(((f.id, f.status, f.state, f.onset, f.end, f.detected, f.value, f.threshold, f.detail)
                   for f in findings), key=repr)


def test_one_edge_read_for_three_models_and_the_same_findings(root):
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    try:
        svc.refresh()
        mon = svc.monitor
        mon.rollups_after = 1_000
        first = mon.findings(models=MODELS, at=NOW)  # builds the rollups
        assert not [f for f in first if f.kind == "error"], [f.detail for f in first if f.kind == "error"]

        calls: list = []
        _recorded(mon, calls)
        _forget_kept(mon)
        alone = []
        for model in MODELS:  # each model's pass alone: its edge hours in a read of its own
            alone += mon.findings(models=[model], at=NOW)
        per_model = [c for c in calls if c[0] == "model_predictions_ranges" and len(c[1]["models"]) == 1
                     and c[2] == calls_edges(mon)]
        assert sorted(c[1]["models"][0] for c in per_model) == MODELS

        calls.clear()
        _forget_kept(mon)
        together = mon.findings(models=MODELS, at=NOW)
        ranged = [c for c in calls if c[0] == "model_predictions_ranges"]
        joint = [c for c in ranged if sorted(c[1]["models"]) == MODELS]
        assert len(joint) == 1  # one scan of the three models' edge hours
        assert joint[0][2] == calls_edges(mon)
        # and no other read of those hours for any one model
        assert not [c for c in ranged if c is not joint[0] and c[2] == joint[0][2]]
        assert _key(together) == _key(alone)
        assert [f for f in together if f.firing]  # the planted drift of `amount` fires: the findings say something
        # a window inside rows already read is cut from them, typed as a read of it alone
        a, b = NOW - timedelta(minutes=50), NOW
        cols = ["ts", "latency_ms", "amount", "channel"]
        wide = mon.typed_rows("fraud", NOW - timedelta(hours=3), NOW, columns=cols)
        alone_read = mon.typed_rows("fraud", a, b, columns=cols)
        assert alone_read.height and mon.sliced("fraud", wide, a, b, cols).equals(alone_read)
    finally:
        svc.close()


def calls_edges(mon) -> list[tuple[datetime, datetime]]:
    """The hand count: the open hour (to NOW), the hour the history starts in, and the hour each rule's latest
    window starts in (a drift window at least 6 h, a budget's pace 24 h), each with the next hour's first instant (a
    rule's hour is (h, h + 1h]), merged where they meet, as (a, b]."""
    since = NOW - timedelta(days=7)
    spans = set()
    for rule in mon.rules_for("fraud"):
        w = parse_window(rule.window)
        if rule.metric in ("drift_share", "feature_drift"):
            spans.add(max(w, timedelta(hours=6)))
        elif rule.metric in ("p95_ms", "error_rate", "burn_rate", "accuracy_drop", "mae_increase"):
            spans.add(w)
        elif rule.metric == "cost_budget_share":
            spans.add(timedelta(hours=24))
    hour = lambda t: t.replace(minute=0, second=0, microsecond=0)  # noqa: E731
    hours = {hour(NOW)} | {hour(max(NOW - s, since)) for s in spans}
    if since != hour(since):
        hours.add(hour(since))
    ranges: list[list[datetime]] = []
    for h in sorted(hours):
        end = min(h + timedelta(hours=1), NOW)
        if ranges and ranges[-1][1] >= h - US:
            ranges[-1][1] = end
        else:
            ranges.append([h - US, end])
    return [(a, b) for a, b in ranges]


def test_the_hour_that_closed_is_built_for_three_models_from_one_read(root, tmp_path):
    """An hour after NOW the hour holding NOW's rows has closed: a pass builds its rollups for the three models
    from one raw read of that hour (`RollupDrift.catch_up_all`), where a pass per model (on a copy of the same
    store) read it once per model; the rows built are the same (every column but the sketches, whose KLL
    compaction draws random bits)."""
    closed = NOW.replace(minute=0)
    hour = [(closed - US, closed + timedelta(hours=1) - US)]
    later = NOW + timedelta(hours=1)
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    try:
        svc.refresh()
        svc.monitor.rollups_after = 1_000
        svc.monitor.findings(models=MODELS, at=NOW)  # the rollups up to NOW's open hour
    finally:
        svc.close()
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    # the copy's store and rollups read the same log files: other files would be other sources, and a store
    # whose sources changed is read again from the start, its own rollups dropped with its rows
    toml = (root / "console.toml").read_text(encoding="utf-8")
    (copy / "console.toml").write_text(toml.replace('path = "logs/', f'path = "{root}/logs/')
                                       .replace('reference = "', f'reference = "{root}/'), encoding="utf-8")
    built = {}
    for where, passes in ((root, [MODELS]), (copy, [[m] for m in MODELS])):
        svc = Service(parse_file(where / "console.toml"), clock=lambda: later)
        try:
            svc.refresh()
            mon = svc.monitor
            mon.rollups_after = 1_000
            calls: list = []
            _recorded(mon, calls)
            for models in passes:
                found = mon.findings(models=models, at=later)
                assert not [f for f in found if f.kind == "error"], [f.detail for f in found if f.kind == "error"]
            reads = [c for c in calls if c[2] == hour]
            assert sorted((c[1].get("models") or [c[1]["model"]]) for c in reads) == \
                ([MODELS] if where == root else [[m] for m in MODELS])
            tables = {m: ro.read_table(mon.sketch_drift.path, m, closed, closed + timedelta(hours=1)) for m in MODELS}
            built[where] = {m: pl.from_arrow(t.select([f.name for f in t.schema if "binary" not in str(f.type)]))
                            .sort(pl.all().exclude(pl.Binary)) for m, t in tables.items()}
        finally:
            svc.close()
    for m in MODELS:
        assert built[root][m].height and built[root][m].equals(built[copy][m])
