"""A low-traffic model's drift incident keeps its onset and id whatever the view (probe B, twenty-ninth session).

60 rows a day, feature x shifted by two standard deviations from DRIFT (July 4, 00:00). The default 7-day history
holds fewer than MIN_DRIFT_ROWS rows, so its drift windows reach back before it (`Context.sparse_drifts`). When
its first evaluation already breached, the look-back (`RuleEvaluator._look_back`) evaluated a longer history of
500 rows or more the ordinary way, whose early windows cannot reach back: "53 rows, needs 500", read as the
breach beginning. The onset, and the id, followed the view: July 5, 6 or 8 by `--at`, July 6 or 8 by `--since`,
where a history from June 20 says July 4. The look-back now keeps the history's sparse windows.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console.cli import main

FIRST, LAST = datetime(2026, 6, 20), datetime(2026, 7, 14)
DRIFT = datetime(2026, 7, 4)


def _workspace(tmp: Path) -> Path:
    rng = np.random.default_rng(29)
    rows, t, i = [], FIRST, 0
    while t < LAST:
        x = rng.normal(50, 10) + (20 if t >= DRIFT else 0)
        rows.append(json.dumps({"ts": f"{t:%Y-%m-%dT%H:%M:%S}Z", "model": "low", "request_id": f"r{i}",
                                "version": "1", "latency_ms": 10.0, "status": "ok", "prediction": "0",
                                "features": {"x": round(float(x), 3)}}))
        t, i = t + timedelta(minutes=24), i + 1
    (tmp / "preds.jsonl").write_text("\n".join(rows) + "\n")
    pq.write_table(pa.table({"x": np.round(rng.normal(50, 10, 3000), 3)}), tmp / "ref.parquet")
    cfg = tmp / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\n[store]\npath = "store"\n'
                   '[models.low]\ntask = "classification"\nreference = "ref.parquet"\nfeatures = ["x"]\n')
    return cfg


def _drift(cfg: Path, capsys, *view: str) -> list[dict]:
    main(["--config", str(cfg), "check", "--all", "--format", "json", *view])
    return [i for i in json.loads(capsys.readouterr().out)["incidents"]
            if i["model"] == "low" and "drift" in i["kind"]]


def test_the_onset_stays_whatever_the_view(tmp_path, capsys):
    cfg = _workspace(tmp_path)
    long = _drift(cfg, capsys, "--at", "2026-07-10T00:00Z", "--since", "2026-06-20T00:00Z")
    assert long and all(i["firing"] for i in long), long
    truth = {i["kind"]: (i["id"], i["onset"]) for i in long}
    for kind, (_, onset) in truth.items():
        assert abs(datetime.fromisoformat(onset.rstrip("Z")) - DRIFT) <= timedelta(hours=12), (kind, onset)
    for view in (("--at", "2026-07-10T00:00Z", "--since", "2026-07-04T00:00Z"),
                 ("--at", "2026-07-10T00:00Z", "--since", "2026-07-05T00:00Z"),
                 ("--at", "2026-07-11T00:00Z"), ("--at", "2026-07-12T00:00Z"), ("--at", "2026-07-13T12:00Z")):
        got = {i["kind"]: (i["id"], i["onset"]) for i in _drift(cfg, capsys, *view) if i["firing"]}
        assert got == truth, (view, got, truth)
