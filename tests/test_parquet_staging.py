"""Spark's and Hive's hidden paths are not rows: a Parquet log folder (or a glob under it) read the files a Spark
job stages in `_temporary/` before its commit, and `_`-prefixed files, so every task attempt's rows were counted
(17 committed rows read as 217, kept for ever after a crashed job). S3 prefixes already left them out."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console import rollup_sources
from console.config import parse_file
from console.service import Service

T0 = datetime(2026, 12, 4)


def _write(path, n: int, tag: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([{"ts": T0 + timedelta(minutes=i), "model": "m1", "version": "1",
                                          "request_id": f"{tag}{i}", "latency_ms": 1.0} for i in range(n)]), path)


@pytest.mark.parametrize("path, committed", [("hive", 17), ("hive/**/*.parquet", 14)], ids=["folder", "glob"])
def test_staged_and_hidden_parquet_files_are_left_out(tmp_path, path, committed):
    hive = tmp_path / "hive"
    _write(hive / "date=2026-12-04" / "part-0.parquet", 10, "a")
    _write(hive / "date=2026-12-04" / "part-1.pq", 3, "pq")  # a folder's Parquet by name; `*.parquet` leaves it
    _write(hive / "date=2026-12-04" / "sub" / "part-5.parquet", 4, "sub")
    _write(hive / "_temporary" / "0" / "task" / "part-0.parquet", 100, "t")
    _write(hive / ".spark-staging-1" / "date=2026-12-04" / "part-9.parquet", 100, "s")
    _write(hive / "date=2026-12-04" / "_part-3.parquet", 100, "u")
    (hive / "date=2026-12-04" / "_SUCCESS").touch()
    (tmp_path / "c.toml").write_text(f'[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "{path}"\n'
                                     'format = "parquet"\n[models.m1]\ntask = "classification"\n', encoding="utf-8")
    svc = Service(parse_file(tmp_path / "c.toml"), clock=lambda: T0 + timedelta(days=1))
    try:
        svc.refresh()
        assert svc.snapshot(refresh=False).counts["predictions"] == committed
    finally:
        svc.close()
    found, _ = rollup_sources._expand(str(tmp_path / path))  # the rollup command reads the same files
    parts = [Path(f).relative_to(hive).parts for f in found]
    assert len(found) == (3 if path == "hive" else 2) and not any(p.startswith(("_", ".")) for ps in parts for p in ps)


def test_a_glob_matching_a_spark_dataset_folder_reads_its_parquet_files(tmp_path):
    """`df.write.parquet("logs/spark.parquet")` leaves a folder; `logs/*.parquet` matched it and the store said
    "is a folder" and read none of its rows (the rollup left it out without a word)."""
    logs = tmp_path / "logs"
    _write(logs / "a.parquet", 5, "a")
    _write(logs / "spark.parquet" / "part-00000-1f2e-c000.snappy.parquet", 7, "s0")
    _write(logs / "spark.parquet" / "part-00001-1f2e-c000.snappy.parquet", 4, "s1")
    _write(logs / "spark.parquet" / "_temporary" / "0" / "part-00000.parquet", 100, "t")
    (logs / "spark.parquet" / "_SUCCESS").touch()
    (tmp_path / "c.toml").write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\n'
                                     'path = "logs/*.parquet"\n[models.m1]\ntask = "classification"\n',
                                     encoding="utf-8")
    svc = Service(parse_file(tmp_path / "c.toml"), clock=lambda: T0 + timedelta(days=1))
    try:
        stats = svc.refresh()
        assert svc.snapshot(refresh=False).counts["predictions"] == 16
        assert not any("folder" in n for n in getattr(stats, "notes", ()) or ()), stats.notes
    finally:
        svc.close()
    found, _ = rollup_sources._expand(str(logs / "*.parquet"))
    assert sorted(Path(f).name for f in found) == ["a.parquet", "part-00000-1f2e-c000.snappy.parquet",
                                                   "part-00001-1f2e-c000.snappy.parquet"]
