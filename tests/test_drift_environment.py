"""`drift --environment`: the Drift screen reads the screen's environment, and `drift` read production only, so a
staging model's drift could be seen but not scripted (h7's TUI/CLI probe). A staging log moved by 1 sd beside a
production one that did not: each environment's KS equals scipy's over its own rows of the window."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import stats

from console.cli import main

START = datetime(2026, 10, 1)
AT = START + timedelta(days=2)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("drift-env")
    rng = np.random.default_rng(17)
    rows = []
    for i in range(2 * 24 * 60):
        t = START + timedelta(minutes=i, seconds=10)
        for env, mean in (("production", 0.0), ("staging", 1.0)):
            rows.append({"ts": f"{t:%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1", "environment": env,
                         "request_id": f"{env}-{i}", "prediction": "1", "latency_ms": 10.0,
                         "x": float(rng.normal(mean, 1))})
    (tmp / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    ref = pl.DataFrame({"x": rng.normal(size=1000)})
    ref.write_parquet(tmp / "ref.parquet")
    (tmp / "c.toml").write_text(f'[store]\npath = "{tmp / "store"}"\n[[logs]]\nkind = "predictions"\n'
                                f'path = "{tmp / "p.jsonl"}"\n[models.m]\ntask = "classification"\n'
                                f'reference = "{tmp / "ref.parquet"}"\nfeatures = ["x"]\n', encoding="utf-8")
    frame = pl.DataFrame(rows).with_columns(pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ"))
    return tmp / "c.toml", frame, ref


def _drift(config, capsys, *extra: str) -> tuple[int, str]:
    code = main(["--config", str(config), "drift", "m", "--window", "12h", "--exact", "--at",
                 f"{AT:%Y-%m-%dT%H:%M:%S}Z", "--format", "json", *extra])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("env", ["staging", "production"])
def test_each_environment_is_scored_on_its_own_rows(workspace, capsys, env):
    config, rows, ref = workspace
    code, out = _drift(config, capsys, *(["--environment", env] if env != "production" else []))
    assert code == 0, out
    [x] = [c for c in json.loads(out)["features"] if c["column"] == "x"]
    mine = rows.filter((pl.col("environment") == env) & (pl.col("ts") > AT - timedelta(hours=12))
                       & (pl.col("ts") <= AT))["x"].to_numpy()
    expected = stats.ks_2samp(ref["x"].to_numpy(), mine)
    assert len(mine) == 720 and x["stats"]["statistic"] == pytest.approx(expected.statistic, rel=1e-9)
    assert x["score"] == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert x["drifted"] is (env == "staging") and bool(expected.pvalue <= 0.05) is (env == "staging")


def test_an_unknown_environment_names_the_known_ones(workspace, capsys):
    config, _, _ = workspace
    code = main(["--config", str(config), "drift", "m", "--environment", "qa", "--at", f"{AT:%Y-%m-%dT%H:%M:%S}Z"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown environment 'qa'" in err and "production" in err and "staging" in err, err
