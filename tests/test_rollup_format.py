"""Rollup folders built before the `rollup` command conformed its rows as the store does (c5f6766) are rebuilt
where the console reads them (issue 9, QA pass 4). Those hours are keyed environment null and variant null (a log
without those columns) and count a `404` or `warning` status as an error, so every production read skipped them;
their row count matches the store's, so the catch-up never rebuilt them. The rollup format's mark
(`store_rollups.LABEL_TS` in `ADDED`) makes every hour written before it stale once: here a folder written by the
old behaviour by hand (the hour rows `build_rollups` made of rows without environment or variant, the old error
rule, no `label_ts`) must give health and drift over 3 days equal to hand counts of the production view.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from console import rollup_spec
from console import store_rollups as ro
from console import rollup_summarise as rs
from console.config import parse_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_operator_pass2 import _cli  # noqa: E402
from test_operator_pass4 import _plain_fleet, _three_days_match_a_hand_count  # noqa: E402

LABEL_TS = "label_ts"  # `store_rollups.LABEL_TS`, the format's mark
OLD_OK = ("ok", "success", "succeeded", "200", "201", "204")  # the command's error rule before c5f6766


def _old_folder(cfg_path: Path, df: pl.DataFrame) -> Path:
    """The rollup folder `mlops-console rollup` wrote before c5f6766, one file per day as its chunks were."""
    cfg = parse_file(cfg_path)
    folder = cfg_path.parent / "rollups"
    status = pl.col("status").str.to_lowercase()
    rows = df.with_columns((~(status.is_in(OLD_OK) | status.str.starts_with("2"))).alias("is_error"))
    spec = rollup_spec.spec(cfg.models["fraud"], rollup_spec.drift_reference(
        cfg.models["fraud"], rollup_spec.read_reference(cfg_path.parent / "ref.parquet")))
    day = rows["ts"].min().replace(hour=0, minute=0, second=0, microsecond=0)
    end = rows["ts"].max().replace(minute=0, second=0, microsecond=0)
    while day < end:
        stop = min(day + timedelta(days=1), end)
        part = rows.filter((pl.col("ts") >= day) & (pl.col("ts") < stop))
        table = rs.build_rollups(part, None, {"fraud": spec})["fraud"]
        table = table.drop_columns([LABEL_TS]) if LABEL_TS in table.column_names else table
        ro.write({"fraud": table}, folder, day, stop)
        day = stop
    ro.save_state(folder, {"built_until": end.isoformat()})
    first = ro.files(folder, "fraud")[0].path
    keys = pl.read_parquet(first).filter(pl.col("segment").is_null())
    assert keys["environment"].is_null().all() and keys["variant"].is_null().all()  # keyed as the old command did
    assert set(ro.ADDED) - {LABEL_TS} <= set(pq.read_schema(first).names)  # every column but the format's mark
    assert LABEL_TS not in pq.read_schema(first).names
    return folder


def test_hours_the_old_rollup_command_keyed_without_environment_are_rebuilt(tmp_path):
    cfg, df = _plain_fleet(tmp_path)
    _old_folder(cfg, df)
    _three_days_match_a_hand_count(cfg, df)
