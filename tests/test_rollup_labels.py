"""The `rollup` command holds one chunk's labels at a time: from label sources, a chunk gets exactly the labels
of its own request ids, whenever logged (what the whole table gave it, hand-filtered), and the newest label time
is read from the ts column alone."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from console import rollup_engine
from console import rollup_sources as src
from rollup_fleet import START, fleet, write_hive


def test_a_chunk_reads_only_its_own_labels(tmp_path):
    preds, labels = fleet(hours=6, per_hour=50, seed=8)
    logs = write_hive(preds, tmp_path)
    labels.write_parquet(tmp_path / "labels.parquet", row_group_size=100)
    sources = src.sources([str(tmp_path / "labels.parquet")])
    start, end = START + timedelta(hours=2), START + timedelta(hours=4)
    got = pl.from_arrow(rollup_engine.chunk_labels(src.sources([str(logs)]), sources, start, end))
    ids = preds.filter((pl.col("ts") >= start) & (pl.col("ts") < end)).get_column("request_id")
    hand = labels.filter(pl.col("request_id").is_in(ids.implode()))
    assert got.height == hand.height < labels.height
    assert sorted(got.get_column("request_id").to_list()) == sorted(hand.get_column("request_id").to_list())
    assert src.newest_label(sources) == labels.get_column("ts").max()
    # the whole table, as before, gives the chunk the same labels once joined (a superset)
    whole = rollup_engine.chunk_labels(src.sources([str(logs)]), labels.to_arrow(), start, end)
    assert set(whole.filter(pl.col("request_id").is_in(ids.implode())).get_column("request_id")) == \
        set(got.get_column("request_id"))
