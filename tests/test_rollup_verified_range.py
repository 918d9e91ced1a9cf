"""A command over a short window does not mark older hours verified for content it did not check. A `snapshot`
(7 days) after a late file landed in an older day recorded the whole stretch verified earlier as good for the new
store content, though it had counted only its own days; a 30-day read then trusted that record and left out the
late rows (500 rows missing), or kept rows a rewrite had removed, until a `rollup` command repaired it."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from console.config import parse_file
from console.service import Service
from rollup_fleet import START, fleet, write_hive

NOW = START + timedelta(hours=10 * 24)


def _requests(svc: Service, span: str) -> int:
    return int(svc.health("fraud", span)["table"]["requests"].sum())


def test_a_late_file_in_an_old_day_reaches_the_month_after_a_week_was_read(tmp_path):
    preds, _ = fleet(hours=10 * 24, per_hour=40, seed=3)
    preds = preds.with_columns((pl.col("status") != "ok").alias("is_error")).drop("status")
    write_hive(preds, tmp_path)
    (tmp_path / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[models.fraud]\nfeatures = ["amount", "age"]\n[rollups]\nmin_rows = 0\n', encoding="utf-8")
    config = parse_file(tmp_path / "console.toml")

    def service() -> Service:
        svc = Service(config, clock=lambda: NOW)
        svc.refresh()
        return svc

    svc = service()
    try:
        before = _requests(svc, "30d")  # every day built and verified
    finally:
        svc.close()
    day = START + timedelta(days=1)  # 9 days before NOW: outside a week's history
    late = preds.filter((pl.col("model") == "fraud") & (pl.col("ts") > day) & (pl.col("ts") < day + timedelta(hours=6)))
    late = late.with_columns(("late-" + pl.col("request_id")).alias("request_id"))
    late.write_parquet(tmp_path / "logs" / f"date={day:%Y-%m-%d}" / f"hour={day + timedelta(hours=1):%H}" / "late.parquet")
    svc = service()
    try:
        svc.snapshot()  # the week's rules and overview: their own days caught up
    finally:
        svc.close()
    svc = service()
    try:
        after = _requests(svc, "30d")
    finally:
        svc.close()
    assert late.height > 0 and after == before + late.height, (before, late.height, after)
