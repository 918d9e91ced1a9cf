"""Two labels of one request logged at the same `ts` with different values: the one whose text sorts last wins
("1" over "0"), whatever order they were written in, on the raw join and in the rollups of both engines
(`quality.latest_labels`). It was the sort's: the later line won where the rows kept the log's order, so writing
the same two labels the other way round turned 60 right answers into 60 wrong ones. Counted by hand: 300
predictions "1"; 60 requests (every 5th) labelled "0" and "1" at one instant; of the other 240, those whose index is
a multiple of 6 (40) labelled "0", the rest "1". The winner "1" makes (200 + 60) / 300 right."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import polars as pl
import pytest

from console import rollup_summarise as rs
from console.analytics import quality as qu
from console.cli import main

START = datetime(2026, 11, 20)
PAIR = {"01": ["0", "1"], "10": ["1", "0"]}


def _labels(order: str) -> list[dict]:
    out = []
    for i in range(300):
        ts = f"{START + timedelta(minutes=10 * i + 1):%Y-%m-%dT%H:%M:%SZ}"
        values = PAIR[order] if i % 5 == 0 else ["0" if i % 6 == 0 else "1"]
        out += [{"request_id": f"r{i}", "label": v, "ts": ts} for v in values]
    return out


def _workspace(tmp_path, order: str, min_rows: int):
    with (tmp_path / "p.jsonl").open("w") as f:
        for i in range(300):
            f.write(json.dumps({"ts": f"{START + timedelta(minutes=10 * i):%Y-%m-%dT%H:%M:%SZ}", "model": "m",
                                "version": "1", "request_id": f"r{i}", "prediction": "1", "latency_ms": 10}) + "\n")
    (tmp_path / "l.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _labels(order)))
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "store"}"\n[rollups]\npath = "{tmp_path / "rollups"}"\n'
                   f'min_rows = {min_rows}\n[[logs]]\nkind = "predictions"\npath = "{tmp_path / "p.jsonl"}"\n'
                   f'[[logs]]\nkind = "labels"\npath = "{tmp_path / "l.jsonl"}"\n'
                   '[models.m]\ntask = "classification"\n', encoding="utf-8")
    return cfg


@pytest.mark.parametrize("order", list(PAIR))
@pytest.mark.parametrize("min_rows", [10**9, 10], ids=["raw", "rollups"])
def test_same_ts_labels_one_winner_on_both_paths(tmp_path, capsys, order, min_rows):
    cfg = _workspace(tmp_path, order, min_rows)
    main(["--config", str(cfg), "--at", "2026-11-22T12:00Z", "quality", "m", "--window", "7d", "--format", "json"])
    now = json.loads(capsys.readouterr().out)["now"]
    assert ("roc_auc_bound" in now["metrics"]) == (min_rows == 10)  # the rollups were read (their bound is said)
    assert (now["n"], now["n_labelled"]) == (300, 300)
    assert now["metrics"]["accuracy"] == pytest.approx(260 / 300)


@pytest.mark.parametrize("order", list(PAIR))
def test_each_definition_takes_the_same_label(order):
    labels = pl.DataFrame(_labels(order)).with_columns(pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ"))
    # a later label wins whatever its value: r0's "0" a minute after both
    labels = pl.concat([labels, pl.DataFrame({"request_id": ["r0"], "label": ["0"],
                                              "ts": [START + timedelta(minutes=2)]})])
    hand = {f"r{i}": "1" if i % 5 == 0 or i % 6 else "0" for i in range(300)} | {"r0": "0"}
    preds = pl.DataFrame({"request_id": [f"r{i}" for i in range(300)]})
    raw = qu.join_labels(preds, labels.with_columns(pl.col("label").cast(pl.Float64).alias("label_num")))
    assert dict(raw.select("request_id", "label").iter_rows()) == hand
    # the local engine's and the Spark job's (`spark.rollup_job.label_frame` takes this frame)
    rolled = rs._labels_frame(labels.to_arrow())
    assert dict(rolled.select("request_id", "label").iter_rows()) == hand
