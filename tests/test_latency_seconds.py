"""Latency logged in seconds (`latency_s`): a service timing itself with `time.perf_counter()` writes seconds, and
mapped onto `latency_ms` they were read as milliseconds, every percentile 1000 times too small and nothing said.
Now `latency_s` is a field of the contract (a raw one, as `status`): `latency_ms` is taken from it, times 1000, where
a row has none, by the store's conform rule (JSONL, CSV, Parquet read in place) and the rollup's alike."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from console.config import parse_file
from console.warehouse import Warehouse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_operator_pass2 import _cli  # noqa: E402

START = datetime(2026, 7, 1)


def _rows(n: int = 120) -> list[dict]:
    return [{"timestamp": (START + timedelta(seconds=30 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"), "model": "a",
             "version": "1", "request_id": f"r{i}", "duration": round(0.004 + 0.0137 * (i % 23), 4)} for i in range(n)]


def _stored(cfg: Path) -> dict:
    wh = Warehouse(parse_file(cfg))
    try:
        wh.refresh()
        with wh.cursor() as cur:
            return dict(cur.execute("SELECT request_id, latency_ms FROM predictions").fetchall())
    finally:
        wh.close()


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_log_in_seconds_under_its_own_name_is_read_in_milliseconds(tmp_path, fmt):
    rows = _rows()
    if fmt == "jsonl":
        bad = [{**rows[0], "request_id": "slow", "duration": "slow"},
               {**rows[0], "request_id": "nan", "duration": "NaN"}]
        (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows + bad))
    else:
        pl.DataFrame(rows).with_columns(pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="us")
                                        ).write_parquet(tmp_path / "p.parquet")
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text(f'[[logs]]\nkind = "predictions"\npath = "p.{fmt}"\nformat = "{fmt}"\n[logs.fields]\n'
                   'ts = "timestamp"\nlatency_s = "duration"\n[store]\npath = "store"\n')
    assert _stored(cfg) == {r["request_id"]: r["duration"] * 1000 for r in rows}
    res = _cli(cfg, "snapshot", "--at", "2026-07-01T01:00:00Z", "--format", "json")
    assert res.returncode == 0, res.stderr
    said = {(m["reason"], m["n"]) for m in json.loads(res.stdout).get("malformed_by", [])}
    assert said == ({("latency_s is not a number (`duration` in this log)", 1),
                     ("latency_s is not finite (`duration` in this log)", 1)} if fmt == "jsonl" else set())


def test_a_rows_own_latency_ms_wins_and_a_log_may_write_latency_s_itself(tmp_path):
    rows = [{**r, "latency_s": r.pop("duration"), "ts": r.pop("timestamp")} for r in _rows(40)]
    for r in rows[:10]:
        r["latency_ms"] = 5.0
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n[store]\npath = "store"\n')
    assert _stored(cfg) == {r["request_id"]: r.get("latency_ms", r["latency_s"] * 1000) for r in rows}


def test_the_rollup_reads_seconds_as_the_store_does(tmp_path):
    from console import rollup_engine
    from console import store_rollups as ro
    from console.rollup_sources import Source, conform

    t = conform(pa.table({"ts": ["2026-07-01T00:00:00Z"] * 3, "model": ["a"] * 3, "latency_s": ["0.25", "x", "0.5"],
                          "latency_ms": pa.array([None, None, 7.0], pa.float64())}))
    # the row whose only latency is no number is set aside, as the store sets it aside ("latency_s is not a number")
    assert t.column("latency_ms").to_pylist() == [250.0, 7.0] and "latency_s" not in t.column_names
    rows = _rows()
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    fields = (("latency_s", "duration"), ("ts", "timestamp"))
    built = rollup_engine.local_builder([Source(str(tmp_path / "p.jsonl"), "jsonl", fields=fields)], None,
                                        {"a": ro.ModelSpec()})(START, START + timedelta(hours=1))
    hours = pl.from_arrow(built["a"]).filter(pl.col("segment").is_null())
    assert hours["rows"].sum() == len(rows)
    # the rollups keep latency sums in float32
    assert hours["latency_sum"].sum() == pytest.approx(sum(r["duration"] * 1000 for r in rows), rel=1e-6)
