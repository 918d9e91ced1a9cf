"""The default dataset-drift rule (`drift_share >= 0.5`) on a model whose drifted feature stops being logged: the
share is computed over the features that have values, so the windows without it read 0/1 drifted and the
incident resolved, for lack of data (alerts probe, carried). A feature of the breach that vanished is no evidence
of recovery: the incident keeps firing until the feature is back and within its reference, as 9d857c3 did for a
`feature_drift` rule on one feature. A feature that was never logged (`z`) holds nothing. Raw path and rollups."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import stats

from console.cli import main

START = datetime(2026, 11, 1)
DAY = 24 * 60  # a row a minute


def _x(day: int, rng) -> float | None:
    """x: as its reference for 2 days, moved by 3 sd for 2, not logged for 2, back as its reference for 2."""
    if 4 <= day < 6:
        return None
    return float(rng.normal(3 if 2 <= day < 4 else 0, 1))


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("drift-gone")
    rng = np.random.default_rng(5)
    rows = []
    for i in range(8 * DAY):
        t = START + timedelta(minutes=i, seconds=10)
        row = {"ts": f"{t:%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1", "request_id": f"r{i}",
               "prediction": "1", "latency_ms": 10.0, "y": float(rng.normal())}
        x = _x(i // DAY, rng)
        if x is not None:
            row["x"] = x
        rows.append(row)
    (tmp / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    ref = pl.DataFrame({"x": rng.normal(size=1000), "y": rng.normal(size=1000), "z": rng.normal(size=1000)})
    ref.write_parquet(tmp / "ref.parquet")
    return tmp, pl.DataFrame(rows).with_columns(pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ")), ref


def _check(tmp, capsys, min_rows: int, at: datetime) -> list[dict]:
    cfg = tmp / f"c{min_rows}.toml"
    cfg.write_text(f'[store]\npath = "{tmp / f"store{min_rows}"}"\n[rollups]\nmin_rows = {min_rows}\n'
                   f'[[logs]]\nkind = "predictions"\npath = "{tmp / "p.jsonl"}"\n'
                   f'[models.m]\ntask = "classification"\nreference = "{tmp / "ref.parquet"}"\n'
                   'features = ["x", "y", "z"]\n', encoding="utf-8")
    main(["--config", str(cfg), "check", "--all", "--at", f"{at:%Y-%m-%dT%H:%M:%S}Z", "--format", "json"])
    return [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["kind"] == "drift_share"]


@pytest.mark.parametrize("min_rows", [10**9, 100], ids=["raw", "rollups"])
def test_a_drifted_feature_no_longer_logged_does_not_end_the_dataset_drift_incident(logged, capsys, min_rows):
    tmp, rows, ref = logged

    def day(d: int) -> pl.DataFrame:
        return rows.filter((pl.col("ts") > START + timedelta(days=d)) & (pl.col("ts") <= START + timedelta(days=d + 1)))

    def ks_p(d: int, col: str) -> float:
        return stats.ks_2samp(ref[col].to_numpy(), day(d)[col].drop_nulls().to_numpy()).pvalue

    # the independent verdicts: x moved on days 2-3 and is back on days 6-7; y never moved; x absent on days 4-5
    assert all(ks_p(d, "x") <= 0.05 for d in (2, 3)) and all(ks_p(d, "x") > 0.05 for d in (6, 7))
    assert all(ks_p(d, "y") > 0.05 for d in (2, 3, 4, 5, 6))
    assert day(4)["x"].null_count() == DAY and day(5)["x"].null_count() == DAY
    # x gone for two days: the share of the others (0 of 1) is no recovery
    [gone] = _check(tmp, capsys, min_rows, START + timedelta(days=6))
    assert gone["state"] == "firing", gone
    assert gone["onset"].startswith("2026-11-03"), gone  # x moved on day 2 (the 2nd); a run needs two windows
    # x back and within its reference: now that is evidence of recovery; the never-logged z held nothing
    [back] = _check(tmp, capsys, min_rows, START + timedelta(days=8))
    assert back["state"] == "resolved" and back["id"] == gone["id"], back
    assert datetime.fromisoformat(back["end"].rstrip("Z")) > START + timedelta(days=6), back
