"""Whole answers kept for one exact state of the store (`answer_memo`): a later process asking the same question
of the same state gets the same incidents without evaluating a rule; any change of the rows (a Parquet log
rewritten, a new one) or of the question (another --at) is evaluated afresh, and a live view is never kept.
Also the footer reader that spares loading a config PyArrow (`parquet_names`), against PyArrow's own names."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console import answer_memo, parquet_names
from console.config import parse_file
from console.service import Service
from rollup_fleet import START, fleet, write_hive

HOURS = 30
NOW = START + timedelta(hours=HOURS - 1, minutes=37)


@pytest.fixture
def log(tmp_path) -> Path:
    preds, _ = fleet(hours=HOURS, per_hour=60, seed=5)
    preds = preds.with_columns((pl.col("status") == "500").alias("is_error")).drop("status")
    write_hive(preds.filter(pl.col("ts") <= NOW), tmp_path)
    (tmp_path / "console.toml").write_text(
        '[store]\npath = "store"\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[[alerts]]\nname = "errors"\nmetric = "error_rate"\nop = ">"\nthreshold = 0.2\nwindow = "3h"\n'
        '[models.fraud]\nfeatures = ["amount", "age"]\n', encoding="utf-8")
    return tmp_path


def _findings(root: Path, at: str = NOW.isoformat()) -> tuple[list, Service]:
    """A new service (a new process) viewing the store at `at`, and its incidents."""
    svc = Service(parse_file(root / "console.toml"))
    svc.refresh()
    svc.view(at=at)
    return svc.findings(max_age_s=0, overview=False), svc


def test_the_same_state_is_answered_from_the_kept_answer(log):
    first, svc = _findings(log)
    assert svc._monitor is not None and (log / "store" / answer_memo.NAME).is_file()
    again, svc2 = _findings(log)
    assert svc2._monitor is None and svc2._answers().hits == 1  # no rule was evaluated
    assert again == first and svc2.recommendations == svc.recommendations
    assert len(first) >= 2 and all(f.onset is not None for f in first)


def test_new_rows_and_another_view_are_evaluated_afresh(log):
    before, _ = _findings(log)
    assert not any(f.rule == "errors" and f.firing for f in before)
    # the last hours' requests all fail: a state the kept answer never saw
    last = log / "logs" / f"date={NOW:%Y-%m-%d}" / f"hour={NOW:%H}" / "part-0.parquet"
    rows = pl.read_parquet(last)
    earlier = NOW - timedelta(hours=2)
    burst = pl.concat([rows, rows.with_columns(pl.lit(True).alias("is_error"),
                                               pl.col("request_id") + "-b", pl.col("ts") - timedelta(minutes=1))])
    for extra in range(2):
        burst = pl.concat([burst, burst.with_columns(pl.col("request_id") + f"-{extra}")])
    burst.write_parquet(last)
    after, svc = _findings(log)
    assert svc._monitor is not None  # evaluated, not answered from the file
    assert any(f.rule == "errors" and f.firing for f in after)
    other, svc2 = _findings(log, at=earlier.isoformat())
    assert svc2._monitor is not None and all(f.onset <= earlier for f in other)


def test_a_live_view_is_not_kept(log):
    svc = Service(parse_file(log / "console.toml"), clock=lambda: NOW)
    svc.refresh()
    assert svc._answer_key("findings") is None  # its end moves with the clock
    svc.view(at=(NOW - timedelta(hours=1)).isoformat())  # a view that does not end at the clock
    assert svc._answer_key("findings") is not None


@pytest.mark.parametrize("table", [
    pa.table({"a": [1], "b": ["x"], "é": [1.5]}),
    pa.table({"s": pa.array([{"x": 1, "y": [1, 2]}]), "l": pa.array([[{"q": 1}]]), "z": [True],
              "m": pa.array([[("k", 1)]], type=pa.map_(pa.string(), pa.int64()))}),
    pa.table({f"c{i}": [i] for i in range(300)}),
])
def test_parquet_names_are_pyarrows(tmp_path, table):
    path = tmp_path / "t.parquet"
    for options in ({}, {"compression": "zstd", "use_dictionary": False}, {"version": "1.0"}):
        pq.write_table(table, path, **options)
        assert parquet_names.names(path) == tuple(pq.read_schema(path).names)
    pl.from_arrow(table.select([0])).write_parquet(path)  # another writer
    assert parquet_names.names(path) == tuple(pq.read_schema(path).names)


def test_parquet_names_leave_an_odd_file_to_pyarrow(tmp_path):
    path = tmp_path / "odd.parquet"
    path.write_bytes(b"not a parquet file PAR1")
    assert parquet_names.names(path) is None
    path.write_bytes(b"PAR1" + b"\x00" * 20 + b"PAR1")
    assert parquet_names.names(path) is None


PROBE = """
import runpy, sys
sys.argv = ["mlops-console", *sys.argv[1:]]
try:
    runpy.run_module("console", run_name="__main__")
except SystemExit as e:
    code = e.code
print("POLARS-LOADED" if "polars" in sys.modules else "NO-POLARS", file=sys.stderr)
sys.exit(code)
"""


def test_a_check_answered_from_the_kept_answer_says_the_same_without_the_analytics(log):
    """A second `check` of the same state prints the first one's JSON, history included, and imports no Polars:
    it asked the Monitor for its history and the registry's state, which imported the analytics (half of a
    kept answer's second); the evaluated one loads them."""
    import json
    import os
    import subprocess
    import sys

    from conftest import SRC

    env = dict(os.environ, PYTHONPATH=SRC, XDG_CACHE_HOME=str(log / "cache"), XDG_STATE_HOME=str(log / "state"))
    args = ["--config", str(log / "console.toml"), "check", "--all", "--format", "json", "--at", NOW.isoformat()]
    runs = [subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=300)
            for _ in range(2)]
    first, again = (json.loads(r.stdout) for r in runs)
    assert runs[0].returncode == runs[1].returncode and again == first
    assert first["history"]["from"] == (NOW - timedelta(days=7, microseconds=-1)).isoformat() + "Z"
    assert len(first["incidents"]) >= 2
    assert "POLARS-LOADED" in runs[0].stderr and "NO-POLARS" in runs[1].stderr


def _report(root: Path, kind: str, at=NOW) -> tuple[dict, Service]:
    svc = Service(parse_file(root / "console.toml"))
    svc.refresh()
    svc.view(at=at.isoformat())
    return svc.report(kind, "fraud", timedelta(hours=6)), svc


@pytest.mark.parametrize("kind", ["health", "quality", "fairness", "cost"])
def test_a_report_of_the_same_state_is_the_kept_one(log, kind):
    """`health`, `quality`, `fairness` and `cost` of the same state are answered from the file (no Monitor, so no
    read and no analytics imported), equal to the one evaluated; another `--at` is evaluated afresh."""
    first, svc = _report(log, kind)
    assert svc._monitor is not None
    again, svc2 = _report(log, kind)
    assert svc2._monitor is None and svc2._answers().hits == 1 and again == first
    other, svc3 = _report(log, kind, NOW - timedelta(hours=1))
    assert svc3._monitor is not None
    if kind == "health":  # the kept numbers are the rows' own: a hand count of the window's requests
        rows = pl.read_parquet(log / "logs" / "**" / "*.parquet", hive_partitioning=False)
        served = rows.filter((pl.col("model") == "fraud") & (pl.col("ts") > NOW - timedelta(hours=6))
                             & (pl.col("ts") <= NOW) & (pl.col("variant") != "shadow"))
        assert sum(r["requests"] for r in again["table"]) == served.height > 0
        assert sum(r["errors"] for r in again["table"]) == served["is_error"].sum()
