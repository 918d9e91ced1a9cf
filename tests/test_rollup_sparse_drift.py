"""A model too quiet for a drift verdict in its whole history reaches back the same way on both paths (issue 9,
QA pass 4): with `[rollups] min_rows` below the 500 rows a drift verdict needs, a model logging 30 rows a day
(210 in the 7-day history) was read from the rollups, whose windows stopped at the history's start, so its drift
said "insufficient data: 198 rows, needs 500" and never fired, while the raw path reaches back up to
`SPARSE_REACH` (90 days) for its 500 rows and fired on the planted shift. The evidence rules must not depend on
the path: the same windows, the same verdicts, and the latest window's 500 rows scored as SciPy scores them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from scipy import stats

from console.config import parse_file
from console.service import Service

START = datetime(2026, 5, 20)
END = datetime(2026, 7, 20, 12)
SHIFT = END - timedelta(days=6)


def _workspace(tmp):
    rng = np.random.default_rng(11)
    n = (END - START).days * 30
    secs = np.sort(rng.uniform(START.timestamp(), END.timestamp(), n))
    ts = [START + timedelta(seconds=float(s - secs[0])) for s in secs]
    x = np.where(np.array([t > SHIFT for t in ts]), rng.normal(3.0, 1.0, n), rng.normal(0.0, 1.0, n)).round(4)
    with open(tmp / "pred.jsonl", "w") as f:
        for i, (t, v) in enumerate(zip(ts, x)):
            f.write(json.dumps({"ts": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "model": "low", "request_id": f"r{i}",
                                "version": "1", "latency_ms": 50.0, "status": "ok", "prediction": "1",
                                "features": {"x": float(v)}}) + "\n")
    ref = rng.normal(0, 1, 600).round(4)
    pl.DataFrame({"x": ref}).write_parquet(tmp / "ref.parquet")
    (tmp / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "pred*.jsonl"\n'
        '[models.low]\nreference = "ref.parquet"\nfeatures = ["x"]\n[rollups]\nmin_rows = 100\n', encoding="utf-8")
    return pl.DataFrame({"ts": ts, "x": x}), ref


def _drift(mon, rollups_after: int) -> list:
    mon.rollups_after = rollups_after
    return [f for f in mon.findings(at=END) if f.kind in ("drift_share", "feature_drift")]


def test_a_quiet_models_drift_reaches_back_on_the_rollup_path_too(tmp_path):
    rows, ref = _workspace(tmp_path)
    svc = Service(parse_file(tmp_path / "console.toml"), clock=lambda: END + timedelta(hours=1))
    try:
        svc.refresh()
        mon = svc.monitor
        history = rows.filter(pl.col("ts") > END - timedelta(days=7))
        assert 100 <= history.height < 500  # read from the rollups, too few rows for a drift verdict
        assert mon._many_rows("low", END - timedelta(days=7), END, "production")
        rolled = _drift(mon, 100)
        raw = _drift(mon, 10**12)
        assert rolled and [(f.kind, f.state, f.onset, f.evidence) for f in rolled] == \
            [(f.kind, f.state, f.onset, f.evidence) for f in raw]
        assert all(f.firing for f in rolled)
        # the latest window: the newest 500 rows, the normed Wasserstein distance as SciPy gives it past 0.1
        last = rows.filter(pl.col("ts") <= END).tail(500)
        wd = stats.wasserstein_distance(ref, last["x"].to_numpy()) / np.std(ref, ddof=1)
        assert wd > 0.1
        assert "on 500 rows" in next(f for f in rolled if f.kind == "drift_share").evidence
    finally:
        svc.close()
