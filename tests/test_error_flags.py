"""An `error` field written as a flag (a Parquet `error: bool`, a CSV 0/1 column, JSON false / 0 / true) is read as
one: `false` and `0` are no error. Each was taken for an error message, so a log writing the flag showed 100 % errors
(the Overview's ERR %, `health`, the SLO burn firing on every window). The store (JSONL through the conform query,
CSV, Parquet read in place) and the rollup's conform give the same counts, checked against a hand count."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from console.cli import main
from console.rollup_sources import conform

START = datetime(2026, 11, 30, 10, 0)
# (extra fields, is it an error): the encodings a log may use, with a hand-given answer
ROWS = [
    ({"status": "ok"}, False), ({"status": "error"}, True), ({"status": 503}, True), ({"status": 404}, False),
    ({"error": "boom"}, True), ({"error": ""}, False), ({"error": None}, False), ({"error": False}, False),
    ({"error": True}, True), ({"status": "ok", "error": False}, False), ({"is_error": False}, False),
    ({"is_error": True}, True), ({"status": "OK", "error": 0}, False), ({"error": 1}, True),
    ({"error": "Timeout calling the feature store"}, True), ({"error": "0"}, False), ({"error": " FALSE "}, False),
]


def _health(config, capsys) -> tuple[int, int]:
    assert main(["--config", str(config), "health", "m", "--at", "2026-11-30T11:00Z", "--window", "1h",
                 "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)["table"]
    return sum(r["requests"] for r in table), sum(r["errors"] for r in table)


def _config(tmp_path, path, fmt: str):
    cfg = tmp_path / f"{fmt}.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / ("store-" + fmt)}"\n[[logs]]\nkind = "predictions"\n'
                   f'path = "{path}"\nformat = "{fmt}"\n[models.m]\ntask = "regression"\n', encoding="utf-8")
    return cfg


def test_every_encoding_of_an_error_in_a_jsonl_log_counts_as_a_hand_count(tmp_path, capsys):
    log = tmp_path / "p.jsonl"
    log.write_text("".join(json.dumps({"ts": f"{START + timedelta(minutes=i + 1):%Y-%m-%dT%H:%M:%SZ}", "model": "m",
                                       "version": "1", "request_id": f"r{i}", "latency_ms": 10 + i, **extra}) + "\n"
                           for i, (extra, _) in enumerate(ROWS)), encoding="utf-8")
    assert _health(_config(tmp_path, log, "jsonl"), capsys) == (len(ROWS), sum(e for _, e in ROWS))


def _flags(n: int) -> pa.Table:
    return pa.table({"ts": pa.array([START + timedelta(seconds=17 * i + 1) for i in range(n)], pa.timestamp("us")),
                     "model": ["m"] * n, "version": ["1"] * n, "request_id": [f"r{i}" for i in range(n)],
                     "latency_ms": [10.0 + i % 7 for i in range(n)], "error": [i % 20 == 0 for i in range(n)]})


def test_a_boolean_or_0_1_error_column_counts_its_true_rows(tmp_path, capsys):
    table = _flags(200)
    errors = sum(table["error"].to_pylist())
    pq.write_table(table, tmp_path / "p.parquet")
    assert _health(_config(tmp_path, tmp_path / "p.parquet", "parquet"), capsys) == (200, errors)
    pacsv.write_csv(table.set_column(5, "error", pa.array([int(v) for v in table["error"].to_pylist()])),
                    tmp_path / "p.csv")
    assert _health(_config(tmp_path, tmp_path / "p.csv", "csv"), capsys) == (200, errors)
    # the rollup reads the same rows the same way
    assert sum(conform(table)["is_error"].to_pylist()) == errors
    as_text = table.set_column(5, "error", pa.array(["false", "0", "true", "1", "no", None, "", "boom"] * 25))
    assert conform(as_text)["is_error"].to_pylist() == [False, False, True, True, False, False, False, True] * 25
