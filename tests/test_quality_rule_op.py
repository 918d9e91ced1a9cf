"""The accuracy and MAE rules honour the rule's `op` (README: `op = ">"  # > >= < <=`), as every other rule does:
they read `>` whatever it said, so `accuracy_drop >= 0.25` did not fire at a drop of exactly 0.25 and
`accuracy_drop < 0` ("better than expected", a label leak) fired on a model doing worse (alerts probe, carried).
The windows are built so the values are exact: a reference 375 of 500 right (0.75) or every error 1.0, and
live windows half right, errors alternating 1 and 3 (MAE 2.0). Raw path and rollups."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import polars as pl
import pytest
from scipy import stats

from console.analytics import evidence as ev
from console.cli import main

START = datetime(2026, 11, 1)
AT = START + timedelta(days=7)
RULES = (("acc ge", "accuracy_drop", ">=", 0.25), ("acc gt", "accuracy_drop", ">", 0.25),
         ("acc better", "accuracy_drop", "<", 0.0), ("mae ge", "mae_increase", ">=", 1.0),
         ("mae gt", "mae_increase", ">", 1.0), ("mae better", "mae_increase", "<", 0.0))


def _workspace(tmp, min_rows: int):
    logs = {"p": [], "l": []}
    for i in range(7 * 288):  # a row every 5 minutes: 288 in each 24 h window, every other one right
        ts = f"{START + timedelta(minutes=5 * i, seconds=10):%Y-%m-%dT%H:%M:%SZ}"
        logs["p"] += [{"ts": ts, "model": "c", "version": "1", "request_id": f"c{i}", "prediction": str(i % 2), "x": 0.1},
                      {"ts": ts, "model": "r", "version": "1", "request_id": f"r{i}", "prediction": 10.0, "x": 0.1}]
        logs["l"] += [{"ts": ts, "request_id": f"c{i}", "label": "1"},
                      {"ts": ts, "request_id": f"r{i}", "label": 11.0 if i % 2 else 13.0}]
    for name, rows in logs.items():
        (tmp / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pl.DataFrame({"x": [0.1] * 500, "label": ["1"] * 500, "prediction": ["1"] * 375 + ["0"] * 125}) \
        .write_parquet(tmp / "c.parquet")
    pl.DataFrame({"x": [0.1] * 500, "label": [11.0] * 500, "prediction": [10.0] * 500}).write_parquet(tmp / "r.parquet")
    rules = "".join(f'[[alerts]]\nname = "{n}"\nmetric = "{m}"\nop = "{op}"\nthreshold = {t}\n'
                    f'model = "{"c" if m == "accuracy_drop" else "r"}"\nwindow = "24h"\n' for n, m, op, t in RULES)
    cfg = tmp / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp / "store"}"\n[rollups]\nmin_rows = {min_rows}\n'
                   f'[[logs]]\nkind = "predictions"\npath = "{tmp / "p.jsonl"}"\n'
                   f'[[logs]]\nkind = "labels"\npath = "{tmp / "l.jsonl"}"\n'
                   f'[models.c]\ntask = "classification"\nreference = "{tmp / "c.parquet"}"\nfeatures = ["x"]\n'
                   f'[models.r]\ntask = "regression"\nreference = "{tmp / "r.parquet"}"\nfeatures = ["x"]\n' + rules,
                   encoding="utf-8")
    return cfg


@pytest.mark.parametrize("min_rows", [10**9, 100], ids=["raw", "rollups"])
def test_quality_rules_follow_their_operator_at_the_threshold(tmp_path, capsys, min_rows):
    main(["--config", str(_workspace(tmp_path, min_rows)), "check", "--all", "--at", f"{AT:%Y-%m-%dT%H:%M:%S}Z",
          "--format", "json"])
    got = {i["rule"]: i for i in json.loads(capsys.readouterr().out)["incidents"]
           if i["kind"] in ("accuracy_drop", "mae_increase")}
    firing = {rule for rule, i in got.items() if i["state"] == "firing"}
    assert firing == {"acc ge", "mae ge"}, got  # exactly at the threshold: >= fires, > does not; worse is not better
    assert got["acc ge"]["value"] == 0.25 and got["mae ge"]["value"] == 1.0


def test_a_less_than_rule_fires_on_significantly_better_quality():
    """`accuracy_drop < 0`, `mae_increase < 0`: better than expected, significantly so (the score test's other side,
    checked against the normal approximation scipy computes), and not on a drop."""
    hi = datetime(2026, 11, 20)
    lo = hi - timedelta(hours=24)
    k, n, p0 = 240, 288, 0.75
    p_up = stats.norm.sf((k / n - p0) / (p0 * (1 - p0) / n) ** 0.5)
    assert ev.p_above(k, n, p0) == pytest.approx(p_up) and p_up < ev.ALPHA
    assert ev.accuracy_evaluation(lo, hi, n, k, p0, 0.0, 200, op="<").breach is True
    assert ev.accuracy_evaluation(lo, hi, n, 144, p0, 0.0, 200, op="<").breach is False
    assert ev.accuracy_evaluation(lo, hi, n, 218, p0, 0.0, 200, op="<").breach is None  # 0.757: not significant
    assert ev.mae_evaluation(lo, hi, n, 0.8, 0.5, 1.0, 0.0, 200, op="<").breach is True
    assert ev.mae_evaluation(lo, hi, n, 1.2, 0.5, 1.0, 0.0, 200, op="<").breach is False
