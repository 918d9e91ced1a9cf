"""A quality incident's onset, id and detection do not move with `--at` (alerts probe, carried): a model with fewer
labels a day than a verdict needs (96 rows a day, labels 12 h late, 200 needed) has its windows grown back by the
labels a view knows, so the same first breaching window started earlier on an earlier view; the evidence replayed
over the later view's window said "detected" hours later and the change point, read over other rows, placed the
onset (and the id) elsewhere: `m:default: MAE:20261118T1615` at 20:00, `...20261119T1800` at 22:00. Both are now
those of the window as the first view to see it sized it. Raw path and rollups, which agree."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from console.cli import main

START = datetime(2026, 11, 10)
LATE = timedelta(hours=12)  # every label logged 12 h after its prediction
SHIFT = START + timedelta(days=10, hours=5)  # errors triple from here


def _workspace(tmp, min_rows: int):
    rng = np.random.default_rng(11)
    n = 14 * 96
    ts = [START + timedelta(minutes=15 * i, seconds=20) for i in range(n)]
    y = rng.normal(100, 10, n)
    err = [rng.normal(0, 3 if t >= SHIFT else 1) for t in ts]
    (tmp / "p.jsonl").write_text("".join(json.dumps({
        "ts": f"{t:%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1", "request_id": f"r{i}",
        "prediction": float(y[i] + err[i]), "x": 0.0}) + "\n" for i, t in enumerate(ts)), encoding="utf-8")
    (tmp / "l.jsonl").write_text("".join(json.dumps({
        "request_id": f"r{i}", "label": float(y[i]), "ts": f"{t + LATE:%Y-%m-%dT%H:%M:%SZ}"}) + "\n"
        for i, t in enumerate(ts)), encoding="utf-8")
    pl.DataFrame({"x": [0.0] * 500, "label": [100.0] * 500, "prediction": 100 + rng.normal(0, 1, 500)}) \
        .write_parquet(tmp / "ref.parquet")
    cfg = tmp / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp / "store"}"\n[rollups]\nmin_rows = {min_rows}\n'
                   f'[[logs]]\nkind = "predictions"\npath = "{tmp / "p.jsonl"}"\n'
                   f'[[logs]]\nkind = "labels"\npath = "{tmp / "l.jsonl"}"\n'
                   f'[models.m]\ntask = "regression"\nreference = "{tmp / "ref.parquet"}"\nfeatures = ["x"]\n',
                   encoding="utf-8")
    return cfg


def _mae(cfg, capsys, at: datetime) -> list[tuple]:
    main(["--config", str(cfg), "check", "--all", "--at", f"{at:%Y-%m-%dT%H:%M:%S}Z", "--format", "json"])
    return [(i["id"], i["onset"], i["detected"]) for i in json.loads(capsys.readouterr().out)["incidents"]
            if i["kind"] == "mae_increase" and i["state"] == "firing"]


@pytest.mark.parametrize("min_rows", [10**9, 100], ids=["raw", "rollups"])
def test_a_quality_incidents_onset_and_detection_hold_as_the_view_moves(tmp_path, capsys, min_rows):
    cfg = _workspace(tmp_path, min_rows)
    views = [datetime(2026, 11, 20, 20), datetime(2026, 11, 20, 22), datetime(2026, 11, 21, 2),
             datetime(2026, 11, 22, 6)]
    seen = [_mae(cfg, capsys, at) for at in views]
    assert all(len(s) == 1 for s in seen), seen
    assert len({s[0] for s in seen}) == 1, seen  # one incident: the same id, onset and detection from every view
    _, onset, detected = seen[0][0]
    detected = datetime.fromisoformat(detected.rstrip("Z"))
    assert detected <= views[0] and _mae(cfg, capsys, detected) == seen[0]  # a view at its detection lists it
