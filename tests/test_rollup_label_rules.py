"""`rollup` counts the labels the store keeps, no more. The store sets aside a label with no request id, none at all,
one that reads as a number not finite (`nan`, `inf`, a `label_num` of NaN) and one dated past the clock-skew horizon
(`queries/conform_labels.sql`); both engines read labels through `rollup_sources.read_labels`, which kept all four, so
their quality counts were not the raw path's (found by the differential probe of odd inputs: 15 labelled in an hour
where the store held 14). A label dated 2999 also became the newest label seen, so a label logged later in a label
file rewritten in place never rebuilt its hour. Hand counts against both engines' rollups and the raw path."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from console import store_rollups as ro
from console.cli import main
from console.config import parse_file
from console.service import Service

START = datetime(2026, 7, 1)
N = 40
END = START + timedelta(hours=2)
NOW = END + timedelta(minutes=30)
TS = [START + timedelta(minutes=3 * i + 1) for i in range(N)]
SCHEMA = {"request_id": pl.String, "label": pl.String, "label_num": pl.Float64, "ts": pl.String}


def _stamp(t: datetime) -> str:
    return t.isoformat() + "Z"


def _write(root: Path) -> Path:
    (root / "p.jsonl").write_text("".join(json.dumps(
        {"ts": _stamp(TS[i]), "model": "m", "version": "1", "request_id": f"r{i}", "latency_ms": 5.0,
         "prediction": str(i % 2), "score": 0.5}) + "\n" for i in range(N)), encoding="utf-8")
    good = [{"request_id": f"r{i}", "label": str((i // 2) % 2), "ts": _stamp(TS[i] + timedelta(minutes=5))}
            for i in range(0, 30)]
    odd = [{"request_id": "r30", "label": "nan", "ts": _stamp(TS[30])},
           {"request_id": "r31", "label": "inf", "ts": _stamp(TS[31])},
           {"request_id": "r32", "label_num": "NaN", "ts": _stamp(TS[32])},
           {"request_id": "", "label": "1", "ts": _stamp(TS[33])},
           {"request_id": None, "label": "1", "ts": _stamp(TS[33])},
           {"request_id": "r34", "label": None, "ts": _stamp(TS[34])},
           {"request_id": "r35", "label": "1", "ts": "2999-01-01T00:00:00Z"}]
    pl.DataFrame([{**r, "label_num": float(r["label_num"]) if "label_num" in r else None} for r in good + odd],
                 schema=SCHEMA).write_parquet(root / "labels.parquet")
    (root / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\nformat = "jsonl"\n'
        '[[logs]]\nkind = "labels"\npath = "labels.parquet"\nformat = "parquet"\n[models.m]\n', encoding="utf-8")
    return root / "console.toml"


def _hand(ids) -> tuple[int, int]:
    return len(ids), sum(str(i % 2) == str((i // 2) % 2) for i in ids)


def _rolled(root: Path) -> tuple[int, int]:
    t = pl.from_arrow(ro.read_table(root / "store" / "rollups", "m", START, END)).filter(pl.col("segment").is_null())
    assert t["rows"].sum() == N
    return int(t["labelled"].sum()), int(t["cls_correct"].sum())


@pytest.mark.parametrize("engine", ["local", "spark"])
def test_labels_the_store_sets_aside_are_counted_by_neither_engine(tmp_path, engine):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    cfg = _write(tmp_path)
    run = ["rollup", "--config", str(cfg), "--engine", engine, "--master", "local[1]", "--no-ready"]
    assert main([*run, "--since", START.isoformat(), "--until", END.isoformat()]) == 0
    assert _rolled(tmp_path) == _hand(range(30))
    # the label file re-exported in place with one more label, logged after every other (but the one of 2999): its
    # hour is rebuilt, as a label logged after the newest seen is
    late = pl.DataFrame({"request_id": ["r36"], "label": [str((36 // 2) % 2)], "label_num": [None],
                         "ts": [_stamp(END)]}, schema=SCHEMA)
    pl.concat([pl.read_parquet(tmp_path / "labels.parquet"), late]).write_parquet(tmp_path / "labels.parquet")
    assert main(run) == 0
    want = _hand([*range(30), 36])
    assert _rolled(tmp_path) == want
    svc = Service(parse_file(cfg), clock=lambda: NOW)
    try:
        svc.refresh()
        for rollups in (False, True):
            q = svc.quality("m", "1d", rollups=rollups)["now"]
            assert (q.n, q.n_labelled) == (N, want[0])
            assert q.metrics["accuracy"] == pytest.approx(want[1] / want[0], rel=1e-12)
        assert svc.monitor.sketch_drift.built == []  # the engine's hours agree with the store's labels
    finally:
        svc.close()
