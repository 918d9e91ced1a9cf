"""A look-back's longer history (`RuleEvaluator._rollup_earlier`) cuts the hour its history starts in, as the pass
did: it reads that hour's rows from the pass's one edge read (`RollupRules.share_fetched`), not again from the
store. Each such read was a query per model, about 50 ms at a million rows, at every new `--at`.

One model, eight days of hourly Hive Parquet, a history of seven days ending at `NOW` (its start cuts an hour
the data holds, so a rule whose first evaluation holds looks back before it). The reads are counted at the store
(`Warehouse.arrow`, wrapped to record its calls and return its answer); the findings are those of a pass whose
look-back read its own edge rows (`share_fetched` disabled).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from console import rollup_rules as rr
from console import rule_memo
from console import store_rollups as ro
from console.config import parse_file
from console.service import Service
from rollup_fleet import START, fleet, write_hive

HOURS = 8 * 24
NOW = START + timedelta(hours=HOURS - 1, minutes=37, seconds=11)
US = timedelta(microseconds=1)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("look-back-edges")
    preds, _ = fleet(hours=HOURS, per_hour=40, seed=5)
    preds = preds.filter((pl.col("model") == "fraud") & (pl.col("ts") <= NOW))
    write_hive(preds, root)
    feats = ["amount", "age", "speed", "country", "channel"]
    preds.filter(pl.col("ts") < START + timedelta(hours=48)).select(feats).write_parquet(root / "fraud.parquet")
    (root / "console.toml").write_text(
        '[store]\npath = "store"\n[thresholds]\ndrift_share = 0.3\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[models.fraud]\nfeatures = ["amount", "age", "speed", "country", "channel"]\nreference = "fraud.parquet"\n',
        encoding="utf-8")
    return root


def _forget_kept(mon) -> None:
    (ro._model_dir(mon.sketch_drift.path, "fraud") / rule_memo.NAME).unlink(missing_ok=True)


def _inside(ranges: list[tuple[datetime, datetime]], a: datetime, b: datetime) -> bool:
    return any(x <= a and b <= y for x, y in ranges)


def test_the_look_back_reads_the_history_start_hour_from_the_pass_edge_read(root, monkeypatch):
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    try:
        svc.refresh()
        mon = svc.monitor
        mon.rollups_after = 1_000
        mon.findings(models=["fraud"], at=NOW)  # builds the rollups
        calls: list = []
        arrow = mon.wh.arrow

        def record(name, params=None, columns=None, within=None):
            calls.append((name, within))
            return arrow(name, params, columns, within)

        mon.wh.arrow = record
        _forget_kept(mon)
        shared = mon.findings(models=["fraud"], at=NOW)
        edge = [w for name, w in calls if name == "model_predictions_ranges"][0]
        since = NOW - timedelta(days=7)
        hour = since.replace(minute=0, second=0, microsecond=0)
        assert _inside(edge, hour - US, hour + timedelta(hours=1))  # the pass read the hour its history starts in
        again = [w for name, w in calls if name == "model_predictions" and w and _inside(edge, *w[0])]
        assert again == []  # no read of rows the edge read holds

        calls.clear()
        _forget_kept(mon)
        monkeypatch.setattr(rr.RollupRules, "share_fetched", lambda self, other: None)
        alone = mon.findings(models=["fraud"], at=NOW)
        own = [w for name, w in calls if name == "model_predictions" and w and _inside(edge, *w[0])]
        assert own  # without sharing, the look-back read inside the edge hours again: the check above can fail
        key = lambda fs: sorted((f.id, f.state, f.onset, f.end, f.detected, f.value, f.detail) for f in fs)  # noqa: E731
        assert key(shared) == key(alone)
        assert [f for f in shared if f.firing]  # the planted drift of `amount` fires: the findings say something
    finally:
        svc.close()
