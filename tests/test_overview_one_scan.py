"""The Overview's DRIFT cells read every model's last hours in one scan (`Monitor.overview_rows`): the rows each
model gets are a hand cut of the log (its production rows in (now - 6 h, now], the reference's columns), and each
cell is the one its own read gives. A model without a reference is left to its own read ("no ref")."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from console.analytics.windows import OVERVIEW_DRIFT_WINDOW, parse_window
from console.config import parse_file
from console.service import Service
from rollup_fleet import START, fleet, write_hive

NOW = START + timedelta(hours=11, minutes=41)
FEATS = ["amount", "age", "speed", "country", "channel"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("overview-scan")
    preds, _ = fleet(hours=12, per_hour=300, seed=3)
    preds = preds.filter(pl.col("ts") <= NOW)
    write_hive(preds, root)
    # fraud's reference is its first 3 hours; eta has none
    preds.filter((pl.col("model") == "fraud") & (pl.col("ts") < START + timedelta(hours=3))).select(FEATS) \
        .write_parquet(root / "fraud.parquet")
    third = preds.filter(pl.col("model") == "fraud").with_columns(pl.lit("fraud-b").alias("model"))
    write_hive(third.with_columns(pl.col("request_id") + "-b"), root / "b")
    names = ", ".join(f'"{f}"' for f in FEATS)
    (root / "console.toml").write_text(
        '[store]\npath = "store"\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[[logs]]\nkind = "predictions"\npath = "b/logs/**/*.parquet"\nformat = "parquet"\n'
        f'[models.fraud]\nfeatures = [{names}]\nreference = "fraud.parquet"\n'
        f'[models.fraud-b]\nfeatures = [{names}]\nreference = "fraud.parquet"\n'
        f'[models.eta]\ntask = "regression"\nfeatures = [{names}]\n', encoding="utf-8")
    return root, pl.concat([preds, third])


def test_one_scan_gives_each_model_its_hand_cut_rows_and_its_own_cell(workspace):
    root, preds = workspace
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    try:
        svc.refresh()
        mon = svc.monitor
        got = mon.overview_rows(["fraud", "fraud-b", "eta"])
        assert sorted(got) == ["fraud", "fraud-b"]  # eta has no reference: its own read says so
        since = NOW - parse_window(OVERVIEW_DRIFT_WINDOW)
        for model in ("fraud", "fraud-b"):
            at, rows = got[model]
            assert at == NOW
            hand = preds.filter((pl.col("model") == model) & (pl.col("ts") > since) & (pl.col("ts") <= NOW)) \
                .sort("ts", maintain_order=True)
            assert rows.height == hand.height > 0
            for c in ["ts", "variant", *FEATS]:
                assert rows[c].to_list() == hand[c].to_list(), c
            assert mon._drift_status(model, read=got[model]) == mon._drift_status(model)
            assert mon._drift_status(model) not in ("no data", "few rows", "error")
        assert mon._drift_status("eta") == "no ref"
        status = {m: mon.overview_status(m, ("production",), got.get(m))[0] for m in ("fraud", "fraud-b", "eta")}
        assert status == {m: mon.overview_status(m)[0] for m in ("fraud", "fraud-b", "eta")}
    finally:
        svc.close()
