"""A text feature whose values look like numbers (zip codes "00012") drifts on its text, on every path.

Found by the h8 source/engine probe (a richer fleet through a local folder, JSONL, S3, Delta, Iceberg and both
rollup engines): the exact path read the logged "00012" as the number 12.0 (`Monitor._typed`, every value of the
window parses), while the reference kept "00012", so every value was a new category: `drift fraud --window 7d`
scored zip 0.83 (drift) where the rollups, which count a reference's text feature as logged, scored 0.046, and
the dataset verdict flipped (3/5 drifted, exact; 2/5, sketch). The reference decides the kind on both paths now.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from scipy.spatial.distance import jensenshannon

from console.cli import main

START = datetime(2026, 11, 20)
ZIPS = [f"{z:05d}" for z in range(12)]


def _workspace(tmp_path):
    rng = np.random.default_rng(3)
    n = 48 * 60
    ts = [START + timedelta(seconds=int(s)) for s in np.sort(rng.integers(1, 48 * 3600, n))]
    logs = pl.DataFrame({"ts": ts, "model": "m", "version": "1", "request_id": [f"r{i}" for i in range(n)],
                         "zip": rng.choice(ZIPS, n), "amount": rng.normal(10, 2, n)})
    (tmp_path / "logs").mkdir()
    logs.write_parquet(tmp_path / "logs" / "p.parquet")
    ref = pl.DataFrame({"zip": rng.choice(ZIPS, 2000, p=_ramp()),
                        "amount": rng.normal(10, 2, 2000)})
    ref.write_parquet(tmp_path / "ref.parquet")
    (tmp_path / "c.toml").write_text(
        '[store]\npath = "store"\n[rollups]\npath = "rollups"\nmin_rows = 1\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/*.parquet"\nformat = "parquet"\n'
        '[models.m]\nreference = "ref.parquet"\nfeatures = ["zip", "amount"]\n', encoding="utf-8")
    return logs, ref


def _zip(tmp_path, capsys, *extra):
    at = (START + timedelta(hours=48)).isoformat()
    assert main(["--config", str(tmp_path / "c.toml"), "drift", "m", "--window", "24h", "--at", at,
                 "--format", "json", *extra]) == 0
    return next(f for f in json.loads(capsys.readouterr().out)["features"] if f["column"] == "zip")


def test_a_numeric_looking_text_feature_is_scored_on_its_text_exact_and_from_rollups(tmp_path, capsys,
                                                                                    monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    logs, ref = _workspace(tmp_path)
    cur = logs.filter(pl.col("ts") > START + timedelta(hours=24))["zip"].to_list()
    r, c = Counter(ref["zip"].to_list()), Counter(cur)
    expected = jensenshannon([r[z] for z in ZIPS], [c[z] for z in ZIPS])
    exact = _zip(tmp_path, capsys, "--exact")
    sketch = _zip(tmp_path, capsys)
    assert (exact["method"], sketch["method"]) == ("exact", "sketch")
    assert exact["kind"] == sketch["kind"] == "categorical"
    assert exact["stats"].get("n_new_categories", 0) == 0
    assert exact["n_cur"] == sketch["n_cur"] == len(cur)
    assert abs(exact["score"] - expected) < 1e-9
    assert abs(sketch["score"] - expected) < 1e-9  # counts are exact in rollups: no bound to spend


def _ramp() -> np.ndarray:
    """The reference's shares of the zip codes: a gentle ramp, so the window's uniform codes score above zero."""
    w = np.linspace(1, 2, len(ZIPS))
    return w / w.sum()
