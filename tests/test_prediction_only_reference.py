"""A model whose reference holds only its predictions and labels, no feature: its drift is its prediction's. `check`
failed on it ("could not evaluate s: TypeError: 'NoneType' object is not subscriptable", exit 2): the drift windows
were scored from a full read of the history by a fold that answered None for a text column of digits (a fold of
narrow batches asks whether a full read would retype it; `prediction` is text the store never retypes). Found by
the 2026-12-06 raw-vs-rollups probe. Both paths: raw rows, and hourly rollups (`[rollups] min_rows = 10`)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import polars as pl
import pytest
from scipy import stats

from console.cli import main

START, DAYS = datetime(2026, 7, 27), 4
SHIFT = START + timedelta(days=DAYS - 1)  # the last day predicts "1" four times in five


def _workspace(root, min_rows: int | None):
    root.mkdir()
    with open(root / "p.jsonl", "w", encoding="utf-8") as f:
        for i in range(DAYS * 24 * 60):
            t = START + timedelta(minutes=i, seconds=30)
            pred = "1" if (i % 5 != 0 if t >= SHIFT else i % 2 == 0) else "0"
            f.write(json.dumps({"ts": t.isoformat() + "Z", "model": "s", "version": "1", "request_id": f"r{i}",
                                "prediction": pred, "latency_ms": 12.0}) + "\n")
    pl.DataFrame({"prediction": ["1", "0"] * 250, "label": ["1", "0"] * 250}).write_parquet(root / "ref.parquet")
    (root / "c.toml").write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
                                 '[models.s]\nreference = "ref.parquet"\n'
                                 + (f"[rollups]\nmin_rows = {min_rows}\n" if min_rows else ""), encoding="utf-8")
    return root / "c.toml"


def _run(capsys, *args) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().out


@pytest.mark.parametrize("min_rows", [None, 10], ids=["raw", "rollups"])
def test_a_reference_of_predictions_alone_is_scored_and_its_drift_fires(tmp_path, capsys, min_rows, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = str(_workspace(tmp_path / "ws", min_rows))
    code, out = _run(capsys, "--config", config, "check", "--at", "latest", "--format", "json")
    assert code == 1, out  # 1: an incident fires (2 was "could not evaluate")
    found = json.loads(out)
    assert not [i for i in found["incidents"] if i.get("kind") == "error"]
    drift = [i for i in found["incidents"] if i["model"] == "s" and "drift" in i["kind"] and i["state"] == "firing"]
    assert drift, found["incidents"]

    code, out = _run(capsys, "--config", config, "drift", "s", "--at", "latest", "--window", "24h", "--format", "json")
    assert code == 0, out
    (col,) = json.loads(out)["features"]
    # the hand count: the last 24 h (1440 rows, 1152 of them "1") against the reference's 250 of 500
    ones, n = 1152, 1440
    pooled = (ones + 250) / (n + 500)
    z = (ones / n - 250 / 500) / (pooled * (1 - pooled) * (1 / n + 1 / 500)) ** 0.5
    assert col["column"] == "prediction" and col["n_cur"] == n and col["drifted"]
    assert col["score"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9, abs=1e-300)
