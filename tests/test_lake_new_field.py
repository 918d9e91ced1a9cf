"""A field first logged later is said once, whether a later Parquet file of a Hive folder brings it or a Delta or
Iceberg table's schema gains it (`schema_mode="merge"`, `update_schema`): the local-vs-lake probe found the folder
said "new field 'region'" and the same rows in a table said nothing."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from console.config import Config, LogSource
from console.service import Service

END = datetime(2026, 11, 30, 12)


def _day(day: int, region: bool) -> pa.Table:
    n = 4
    cols = {"ts": pa.array([datetime(2026, 11, day, h) for h in range(n)], pa.timestamp("us")),
            "model": ["m"] * n, "version": ["1"] * n, "request_id": [f"{day}-{i}" for i in range(n)],
            "latency_ms": [10.0] * n, "x": [1.0, 2.0, 3.0, 4.0]}
    if region:
        cols["region"] = ["eu", "us", "eu", "us"]
    return pa.table(cols)


def _new_fields(cfg: Config) -> list[str]:
    svc = Service(cfg, clock=lambda: END)
    try:
        return [n for n in svc.refresh().notes if "new field" in n]
    finally:
        svc.close()


def _said_once(cfg: Config, add_day, where: str) -> None:
    assert _new_fields(cfg) == []  # a first read says none
    add_day()
    assert _new_fields(cfg) == [f"predictions: new field 'region' ({where})"]
    assert _new_fields(cfg) == []  # said once, not by the next process


def test_a_field_new_in_a_hive_folder_delta_and_iceberg_is_said_once(tmp_path):
    from deltalake import write_deltalake
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.types import StringType

    folder = tmp_path / "hive"
    for day in (27, 28):
        (folder / f"date=2026-11-{day}").mkdir(parents=True)
        pq.write_table(_day(day, False), folder / f"date=2026-11-{day}" / "part-0.parquet")
    late = folder / "date=2026-11-29" / "part-0.parquet"

    def hive_day():
        late.parent.mkdir()
        pq.write_table(_day(29, True), late)

    _said_once(Config(source=None, root=tmp_path, store_path=tmp_path / "s1",
                      logs=(LogSource("predictions", str(folder), "parquet"),)),
               hive_day, f"in 1 Parquet file, e.g. {late}")

    delta = str(tmp_path / "delta")
    for day in (27, 28):
        write_deltalake(delta, _day(day, False), mode="append")
    _said_once(Config(source=None, root=tmp_path, store_path=tmp_path / "s2",
                      logs=(LogSource("predictions", delta, "delta"),)),
               lambda: write_deltalake(delta, _day(29, True), mode="append", schema_mode="merge"),
               f"in the Delta table {delta}")

    (tmp_path / "warehouse").mkdir()
    options = {"catalog": "ops", "type": "sql", "uri": f"sqlite:///{tmp_path}/catalog.db",
               "warehouse": f"file://{tmp_path}/warehouse"}
    catalog = SqlCatalog("ops", **{k: v for k, v in options.items() if k != "catalog"})
    catalog.create_namespace("ml")
    table = catalog.create_table("ml.preds", schema=_day(27, False).schema)
    for day in (27, 28):
        table.append(_day(day, False))

    def iceberg_day():
        with table.update_schema() as update:
            update.add_column("region", StringType())
        table.append(_day(29, True))

    _said_once(Config(source=None, root=tmp_path, store_path=tmp_path / "s3",
                      logs=(LogSource("predictions", "ml.preds", "iceberg", options),)),
               iceberg_day, "in the Iceberg table ml.preds")
