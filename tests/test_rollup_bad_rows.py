"""A bad row in a text log costs only itself in `mlops-console rollup` too (QA pass 4 follow-up): the command read
JSONL and CSV through Arrow's dataset readers, which refuse a whole file for one bad byte ("Could not open JSON
input source ... Invalid encoding in string", exit 2), while the console's store sets such rows aside and keeps
every other row. The rollup now reads text logs through the store's parsers (`store.parse`): the build completes,
the bad rows are counted with their reason, and the counts built equal a hand count of the good rows."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_operator_pass2 import _cli  # noqa: E402
from test_rollup_mixed_sources import _workspace  # noqa: E402


def _spoil(tmp: Path) -> None:
    """One line of bad bytes in the middle of the JSONL log, one unbalanced quote and one short row in the CSV."""
    lines = (tmp / "before.jsonl").read_bytes().split(b"\n")
    mid = len(lines) // 2
    lines.insert(mid, b'{"ts": "2026-07-01T10:00:00Z", "model": "bc", "version": "\xff\xfe", "latency_ms": 1}')
    (tmp / "before.jsonl").write_bytes(b"\n".join(lines))
    rows = (tmp / "then.csv").read_bytes().split(b"\n")
    mid = len(rows) // 2
    rows.insert(mid, b'2026-07-02T10:00:00.000000Z,bc,1,"broken,3.0,200,12.0')
    rows.insert(mid, b"2026-07-02T10:00:00.000000Z,bc,1")
    (tmp / "then.csv").write_bytes(b"\n".join(rows))


def test_rollup_sets_bad_text_rows_aside_and_builds_every_good_row(tmp_path):
    cfg, rows = _workspace(tmp_path)
    _spoil(tmp_path)
    built = _cli(cfg, "rollup", "--no-ready")
    assert built.returncode == 0, built.stderr
    assert "3 row(s) set aside" in built.stdout + built.stderr, built.stdout + built.stderr
    res = _cli(cfg, "health", "bc", "--at", "2026-07-05T00:00Z", "--window", "4d", "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert "rollups" in out["note"], out
    errors = int(rows.select((pl.col("status") == "500").sum()).item())
    assert [(r["requests"], r["errors"]) for r in out["table"]] == [(rows.height, errors)]
    # a console with a folder of its own, whose hours are built from its store's rows, counts the same rows
    raw_cfg = tmp_path / "raw.toml"
    raw_cfg.write_text(cfg.read_text().replace('path = "rollups"', 'path = "no-rollups"')
                       .replace('path = "store"', 'path = "store-raw"'))
    raw = _cli(raw_cfg, "health", "bc", "--at", "2026-07-05T00:00Z", "--window", "4d", "--format", "json")
    assert raw.returncode == 0, raw.stderr
    got = json.loads(raw.stdout)
    assert [(r["requests"], r["errors"]) for r in got["table"]] == [(rows.height, errors)]


def _jsonl_with_bad_lines(tmp: Path) -> tuple[Path, pl.DataFrame]:
    """A JSONL log of a small fleet with three bad lines among its rows: bytes that are no UTF-8, text that is
    no JSON, and a JSON array."""
    from rollup_fleet import fleet

    preds, _ = fleet(hours=3, per_hour=120, seed=5)
    path = tmp / "preds.jsonl"
    preds.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")).write_ndjson(path)
    lines = path.read_bytes().split(b"\n")
    for at, bad in ((40, b'{"ts": "2026-07-01T00:30:00Z", "model": "fraud", "country": "\xff\xfe"}'),
                    (200, b'{"ts": "2026-07-01T01:30:00Z", "model": "fraud", '), (300, b"[1, 2]")):
        lines.insert(at, bad)
    path.write_bytes(b"\n".join(lines))
    return path, preds


def _rows_by_model(tables) -> dict[str, int]:
    return {m: int(pl.from_arrow(t).filter(pl.col("segment").is_null())["rows"].sum()) for m, t in tables.items()}


def test_both_engines_build_every_good_jsonl_row_and_count_the_bad_ones(tmp_path):
    """The local engine and Spark (which scans through the same `rollup_sources` datasets in its tasks) build
    the good rows of a JSONL log with bad lines: the counts equal a hand count, and the bad lines are counted
    by reason, not built as rows."""
    import os

    from console import rollup_engine, rollup_text
    from console import store_rollups as ro
    from rollup_fleet import START

    path, preds = _jsonl_with_bad_lines(tmp_path)
    specs = {m: ro.ModelSpec() for m in ("fraud", "eta")}
    hand = {m: n for m, n in preds.group_by("model").len().iter_rows()}
    end = START + timedelta(hours=3)
    rollup_text.forget()
    local = rollup_engine.local_builder(rollup_engine.src.dataset([str(path)]), None, specs)(START, end)
    assert _rows_by_model(local) == hand
    first_bad_byte = path.read_bytes().split(b"\n")[40].index(b"\xff")  # where the store's reason places it
    assert rollup_text.set_aside() == {f"not UTF-8 (byte {first_bad_byte})": 1, "invalid JSON": 1,
                                       "not a JSON object": 1}
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from console.spark import rollup_job

    spark = rollup_job.builder([str(path)], None, specs, master="local[1]")(START, end)
    assert _rows_by_model(spark) == hand


def test_a_clean_jsonl_log_read_by_the_parsers_fast_path_is_scanned_whole(tmp_path):
    """A clean JSONL piece is parsed by Polars (string views); the rollup's pyarrow filters need plain strings
    (the 1M-row fleet's rollup failed with "array_take has no kernel matching string_view"). Hand count: every
    row of each hour."""
    from datetime import datetime

    from console import rollup_sources as src

    n = 70_000
    start = datetime(2026, 7, 1)
    rows = pl.DataFrame({"ts": [start + timedelta(seconds=i) for i in range(n)], "model": "m",
                         "request_id": [f"r{i}" for i in range(n)], "country": ["DE", "FR"] * (n // 2)})
    path = tmp_path / "p.jsonl"
    rows.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_ndjson(path)
    got = sum(t.num_rows for t in src.scan(src.dataset([str(path)]), start, start + timedelta(hours=10)))
    assert got == 36_000
