"""The rollup prunes day partitions a day a side and only over ISO days: a folder or Delta table partitioned by a
local date, an ingestion date, or a day spelt `20261125` / `2026_11_25` is built whole. The rollups' rows per hour
equal a count of the files (or the table as deltalake reads it) by polars.

Found by the twenty-fifth session's probe: `dt=20261125` compared as text below every ISO day and every file was
pruned (0 rows built, exit 0); a table partitioned by New York's date lost hours 00-05 UTC of each day (21 % of
the rows) and 23:30's rows filed under the next day's folder were dropped, while the console counted them all.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute
import pyarrow.parquet as pq
import pytest

from console.cli import main
from rollup_hours import rollup as _rollup, rolled

START = datetime(2026, 11, 25)


def _table(rng, start: datetime, seconds: int, n: int, tag: str) -> pa.Table:
    ts = [start + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, seconds, n))]
    return pa.table({"ts": pa.array(ts, pa.timestamp("us")), "model": ["m"] * n, "version": ["1"] * n,
                     "environment": ["production"] * n, "request_id": [f"{tag}-{i}" for i in range(n)],
                     "latency_ms": np.full(n, 20.0), "prediction": ["1"] * n})


def _rolled(folder: Path) -> dict[datetime, int]:
    return rolled(folder, START - timedelta(days=2), START + timedelta(days=6))


def _counted(t: pa.Table) -> dict[datetime, int]:
    df = pl.from_arrow(t.select(["ts"]))
    return dict(df.group_by(pl.col("ts").dt.truncate("1h")).len().iter_rows())


def _config(root: Path, log: str) -> Path:
    config = root / "console.toml"
    config.write_text('[store]\npath = "store"\n[rollups]\nmin_rows = 0\n' + log
                      + '[models.m]\ntask = "classification"\n', encoding="utf-8")
    return config


@pytest.mark.parametrize("folder", ["date={iso}", "day={under}", "dt={digits}"])
def test_a_hive_folder_of_any_day_spelling_and_a_late_file_is_built_whole(tmp_path, capsys, folder):
    rng = np.random.default_rng(4)
    tables = []
    for d in range(3):
        day = START + timedelta(days=d)
        t = _table(rng, day, 86400, 600, f"d{d}")
        name = folder.format(iso=f"{day:%Y-%m-%d}", under=f"{day:%Y_%m_%d}", digits=f"{day:%Y%m%d}")
        (tmp_path / "logs" / name).mkdir(parents=True)
        pq.write_table(t, tmp_path / "logs" / name / "part-0.parquet")
        tables.append(t)
    late = _table(rng, START + timedelta(days=1, hours=23, minutes=30), 180, 50, "late")  # filed under the next day
    name = folder.format(iso=f"{START + timedelta(days=2):%Y-%m-%d}", under=f"{START + timedelta(days=2):%Y_%m_%d}",
                         digits=f"{START + timedelta(days=2):%Y%m%d}")
    pq.write_table(late, tmp_path / "logs" / name / "part-late.parquet")
    tables.append(late)
    config = _config(tmp_path, '[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n')
    got = _rollup(config, capsys)
    assert got["rows"] == sum(t.num_rows for t in tables)
    assert _rolled(tmp_path / "store" / "rollups") == _counted(pa.concat_tables(tables))


@pytest.mark.parametrize("spelling", ["local", "digits"])
def test_a_delta_table_partitioned_by_a_local_date_or_digits_is_built_whole(tmp_path, capsys, spelling):
    from deltalake import DeltaTable, write_deltalake

    rng = np.random.default_rng(5)
    t = pa.concat_tables([_table(rng, START + timedelta(days=d), 86400, 600, f"d{d}") for d in range(3)])
    local = [v - timedelta(hours=5) for v in t.column("ts").to_pylist()]  # New York's date of each row
    days = [f"{v:%Y-%m-%d}" if spelling == "local" else f"{v:%Y%m%d}" for v in local]
    write_deltalake(str(tmp_path / "preds"), t.append_column("date", pa.array(days)), partition_by=["date"])
    config = _config(tmp_path, '[[logs]]\nkind = "predictions"\npath = "preds"\nformat = "delta"\n')
    got = _rollup(config, capsys)
    whole = DeltaTable(str(tmp_path / "preds")).to_pyarrow_table()
    assert got["rows"] == whole.num_rows == t.num_rows
    assert _rolled(tmp_path / "store" / "rollups") == _counted(whole)


def test_spark_rolls_up_a_delta_table_delta_rs_updated(tmp_path, capsys, monkeypatch):
    """delta-rs writes string_view columns into the files an update (or delete, merge) rewrites; a Spark task's
    window filter had no kernel for them and every later Spark run failed, exit 4 (rollup probe, finding 3)."""
    from deltalake import DeltaTable, write_deltalake

    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    rng = np.random.default_rng(6)
    t = pa.concat_tables([_table(rng, START + timedelta(days=d), 86400, 400, f"d{d}") for d in range(2)])
    t = t.append_column("c", pa.array(rng.choice(["a", "b", "c"], t.num_rows)))  # a categorical feature, as text
    other = t.set_column(t.schema.get_field_index("model"), "model", pa.array(["other"] * t.num_rows))
    both = pa.concat_tables([t, other]).sort_by("ts")  # two models a file: the task splits its rows by model
    path = tmp_path / "preds"
    write_deltalake(str(path), both.append_column("date", pa.array([f"{v:%Y-%m-%d}" for v in both.column("ts").to_pylist()])),
                    partition_by=["date"])
    DeltaTable(str(path)).delete("model = 'other' AND date = '2026-11-26'")
    DeltaTable(str(path)).update(updates={"latency_ms": "latency_ms + 1"}, predicate="date = '2026-11-25'")
    kinds = {str(f.type) for p in path.rglob("*.parquet") for f in pq.read_schema(p) if f.name == "model"}
    assert "string_view" in kinds, kinds  # the case
    config = _config(tmp_path, '[[logs]]\nkind = "predictions"\npath = "preds"\nformat = "delta"\n')
    assert main(["rollup", "--config", str(config), "--format", "json", "--no-ready", "--engine", "spark",
                 "--master", "local[1]"]) == 0
    json.loads(capsys.readouterr().out)
    whole = DeltaTable(str(path)).to_pyarrow_table()
    mine = whole.filter(pa.compute.equal(whole.column("model"), "m"))
    assert mine.num_rows == t.num_rows
    assert _rolled(tmp_path / "store" / "rollups") == _counted(mine)


@pytest.mark.parametrize("unit,tz", [("ns", "America/New_York"), ("ns", "UTC"), ("us", "Europe/Berlin"),
                                     ("ms", "America/New_York")])
def test_a_parquet_ts_of_any_unit_and_zone_is_built_in_utc_hours(tmp_path, capsys, unit, tz):
    """pandas writes a tz-aware column as ns in its own zone; the rollup died on it, exit 4 (rollup probe, 6)."""
    rng = np.random.default_rng(7)
    t = pa.concat_tables([_table(rng, START + timedelta(days=d), 86400, 500, f"d{d}") for d in range(2)])
    zoned = t.column("ts").cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp(unit, tz=tz))
    (tmp_path / "logs").mkdir()
    pq.write_table(t.set_column(0, "ts", zoned), tmp_path / "logs" / "part-0.parquet")
    config = _config(tmp_path, '[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n')
    got = _rollup(config, capsys)
    assert got["rows"] == t.num_rows
    assert _rolled(tmp_path / "store" / "rollups") == _counted(t)  # t: the same instants, naive UTC


@pytest.mark.parametrize("extra,said", [
    (["--engine", "spark", "--master", "local[x]"], "not a Spark master"),
    (["--engine", "spark", "--master", ""], "not a Spark master"),
    (["--engine", "spark", "--master", "local[0]"], "not a Spark master"),
    (["--until", "garbage"], "--until 'garbage'"),
    (["--until", ""], "--until ''"),
])
def test_a_bad_rollup_option_is_one_line_and_exit_2_before_any_jvm(tmp_path, capsys, monkeypatch, extra, said):
    """Rollup probe, findings 7 and 11: a master Spark cannot parse started the JVM (7-11 s) and ended exit 4 with
    a line that did not say why; `--until garbage` did not name the option; `--until ""` was taken for none."""
    monkeypatch.setenv("MLOPS_CONSOLE_SPARK_LOG", str(tmp_path / "jvm.log"))
    config = _config(tmp_path, '[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n')
    assert main(["rollup", "--config", str(config), "--no-ready", *extra]) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "jvm.log").exists()  # no JVM was started


def test_spark_without_java_is_said_before_a_jvm(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    config = _config(tmp_path, '[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n')
    assert main(["rollup", "--config", str(config), "--no-ready", "--engine", "spark", "--master", "local[1]"]) == 2
    assert "needs Java 17" in capsys.readouterr().err


def test_a_since_after_the_last_build_leaves_no_gap(tmp_path, capsys):
    """Rollup probe, finding 8: `rollup --until D2` then `rollup --since D3` left D2's hours unbuilt for good."""
    rng = np.random.default_rng(9)
    tables = []
    for d in range(4):
        day = START + timedelta(days=d)
        t = _table(rng, day, 86400, 300, f"d{d}")
        (tmp_path / "logs" / f"date={day:%Y-%m-%d}").mkdir(parents=True)
        pq.write_table(t, tmp_path / "logs" / f"date={day:%Y-%m-%d}" / "part-0.parquet")
        tables.append(t)
    config = _config(tmp_path, '[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n')
    assert main(["rollup", "--config", str(config), "--no-ready", "--until", f"{START + timedelta(days=2):%Y-%m-%d}"]) == 0
    assert main(["rollup", "--config", str(config), "--no-ready", "--since", f"{START + timedelta(days=3):%Y-%m-%d}"]) == 0
    capsys.readouterr()
    assert _rolled(tmp_path / "store" / "rollups") == _counted(pa.concat_tables(tables))
