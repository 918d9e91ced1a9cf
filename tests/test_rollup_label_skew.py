"""Labels stamped hours before their prediction (the label writer's clock behind the server's, a batch stamping its
own time) join it on every path. The raw path joins a label to its prediction by `request_id` whatever its `ts`
(`queries/model_labels.sql`); `rollup`'s local engine took only labels logged from an hour before its chunk (a day)
and the Spark job from an hour before its chunk (a week), so on one log the engines counted different labels (280
and 284 of 288 here), and a late-label rebuild of one hour dropped them too. Hand counts of the confusion cells
against the local engine's and the Spark job's rollups, the raw path (`quality`, exact), and the console reading
each folder: it finds every hour current (it rebuilt the hours whose labelled count differed from the store's)."""

from __future__ import annotations

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
N = 288  # a prediction every 10 minutes for two days
END = START + timedelta(days=2)
NOW = END + timedelta(minutes=30)  # every label logged by then
TS = [START + timedelta(minutes=10 * i + 1) for i in range(N)]
BATCH = range(180, 192)  # hours 30 and 31: labelled by a batch added after the first build


def _label(i: int) -> str:
    return str((i // 2) % 2)


def _labels(ids, skew: timedelta) -> pl.DataFrame:
    return pl.DataFrame({"request_id": [f"r{i}" for i in ids], "label": [_label(i) for i in ids],
                         "ts": [TS[i] - skew for i in ids]})


def _first(i: int) -> bool:
    return i % 4 != 3 or (i % 8 == 3 and i not in BATCH)  # some never labelled, some by the batch alone


def _write(root: Path) -> Path:
    (root / "logs").mkdir(parents=True)
    (root / "labels").mkdir()
    pl.DataFrame({"ts": TS, "model": "m", "version": "1", "environment": "production",
                  "request_id": [f"r{i}" for i in range(N)], "latency_ms": 5.0,
                  "prediction": [str(i % 2) for i in range(N)], "score": [(i % 10) / 10 for i in range(N)]}) \
        .write_parquet(root / "logs" / "part-0.parquet")
    # a third of the labels 3 h before their prediction (clock skew), the rest 30 min after it
    skewed = [i for i in range(N) if _first(i) and i % 3 == 0]
    on_time = [i for i in range(N) if _first(i) and i % 3 != 0]
    pl.concat([_labels(skewed, timedelta(hours=3)), _labels(on_time, -timedelta(minutes=30))]) \
        .write_parquet(root / "labels" / "first.parquet")
    (root / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs/*.parquet"\nformat = "parquet"\n'
        '[[logs]]\nkind = "labels"\npath = "labels/*.parquet"\nformat = "parquet"\n[models.m]\n', encoding="utf-8")
    return root / "console.toml"


def _hand(ids) -> dict[str, int]:
    pairs = [(str(i % 2), _label(i)) for i in ids]
    return {"labelled": len(pairs), "cls_correct": sum(p == y for p, y in pairs),
            "cls_tp": sum(p == y == "1" for p, y in pairs), "cls_fp": sum(p == "1" != y for p, y in pairs),
            "cls_fn": sum(p == "0" != y for p, y in pairs), "cls_tn": sum(p == y == "0" for p, y in pairs)}


def _rolled(folder: Path) -> tuple[dict[str, int], dict[datetime, int]]:
    t = pl.from_arrow(ro.read_table(folder, "m", START, END)).filter(pl.col("segment").is_null())
    assert t["rows"].sum() == N
    per_hour = t.group_by("hour").agg(pl.col("labelled").sum()).filter(pl.col("labelled") > 0)
    return {k: int(t[k].sum()) for k in _hand(())}, dict(per_hour.iter_rows())


def _per_hour(ids) -> dict[datetime, int]:
    out: dict[datetime, int] = {}
    for i in ids:
        h = ro.floor_hour(TS[i])
        out[h] = out.get(h, 0) + 1
    return out


@pytest.mark.parametrize("engine", ["local", "spark"])
def test_labels_logged_before_their_prediction_are_counted_by_both_engines(tmp_path, engine):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    cfg = _write(tmp_path)
    run = ["rollup", "--config", str(cfg), "--engine", engine, "--master", "local[1]", "--no-ready"]
    assert main([*run, "--since", START.isoformat(), "--until", END.isoformat()]) == 0
    first = [i for i in range(N) if _first(i)]
    assert _rolled(tmp_path / "store" / "rollups") == (_hand(first), _per_hour(first))
    # a batch of labels for hours 30 and 31, stamped 2 h before their predictions, added after the build: the run
    # rebuilds those two hours alone, and counts them
    _labels([i for i in BATCH if i % 4 == 3], timedelta(hours=2)).write_parquet(tmp_path / "labels" / "batch.parquet")
    assert main(run) == 0
    every = [i for i in range(N) if _first(i) or i in BATCH]
    hand = _hand(every)
    assert _rolled(tmp_path / "store" / "rollups") == (hand, _per_hour(every))
    svc = Service(parse_file(cfg), clock=lambda: NOW)
    try:
        svc.refresh()
        raw = svc.quality("m", "3d", rollups=False)["now"]
        rolled = svc.quality("m", "3d", rollups=True)
        assert rolled["source"] == "rollups"
        assert svc.monitor.sketch_drift.built == []  # every hour the engine built agrees with the store's labels
        for q in (raw, rolled["now"]):
            assert (q.n, q.n_labelled) == (N, hand["labelled"])
            assert q.metrics["accuracy"] == pytest.approx(hand["cls_correct"] / hand["labelled"], rel=1e-12)
            assert q.metrics["precision"] == pytest.approx(hand["cls_tp"] / (hand["cls_tp"] + hand["cls_fp"]),
                                                           rel=1e-12)
            assert q.metrics["recall"] == pytest.approx(hand["cls_tp"] / (hand["cls_tp"] + hand["cls_fn"]), rel=1e-12)
    finally:
        svc.close()
