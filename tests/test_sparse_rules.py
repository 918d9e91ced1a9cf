"""A model too quiet for a rate or quality verdict in its whole history (8 rows a day: 56 rows in the default
7 days, a verdict needs 100 rows, or 200 labels) must still be able to fire: every request failing at 900 ms
and every prediction wrong for ten days gave `check` "0 firing" ("1 rows, needs 100"), exit 0, because its
windows stopped at the history's start. They now reach back before `--since`, up to SPARSE_REACH, as the
drift rules' do; the numbers are hand counts over the same rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import polars as pl
import pytest

from console.config import parse_file
from console.service import Service

END = datetime(2026, 11, 19, 21)
BAD = END - timedelta(days=10)


def _workspace(tmp, extra: str = ""):
    rows, labels = [], []
    for i in range(30 * 8):  # a row every 3 hours for 30 days
        ts = END - timedelta(hours=3 * (30 * 8 - 1 - i))
        bad = ts > BAD
        label = str(i % 2)
        rows.append({"ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "model": "quiet", "version": "1", "request_id": f"r{i}",
                     "x": float(i % 7), "prediction": str(1 - int(label)) if bad else label,
                     "latency_ms": 900.0 if bad else 40.0, "status": "error" if bad else "ok"})
        labels.append({"request_id": f"r{i}", "label": label,
                       "ts": (ts + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    (tmp / "pred.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labels))
    pl.DataFrame({"x": [float(i % 7) for i in range(400)], "label": [str(i % 2) for i in range(400)],
                  "prediction": [str((i + (i < 20)) % 2) for i in range(400)]}).write_parquet(tmp / "ref.parquet")
    (tmp / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "pred.jsonl"\n'
        '[[logs]]\nkind = "labels"\npath = "labels.jsonl"\n'
        '[models.quiet]\ntask = "classification"\nreference = "ref.parquet"\nfeatures = ["x"]\n'
        '[models.quiet.slo]\np95_ms = 300\nerror_rate = 0.01\n'
        '[[alerts]]\nname = "errors"\nmetric = "error_rate"\nop = ">"\nthreshold = 0.05\nwindow = "1h"\n'
        '[[alerts]]\nname = "p95"\nmetric = "p95_ms"\nop = ">"\nthreshold = 300\nwindow = "1h"\n' + extra,
        encoding="utf-8")
    return pl.DataFrame(rows).with_columns(pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ"))


@pytest.mark.parametrize("rollups", ["", "[rollups]\nmin_rows = 10\n"], ids=["raw", "rollups-from-10-rows"])
def test_a_quiet_model_failing_for_ten_days_fires_on_rates_and_accuracy(tmp_path, rollups):
    """With `[rollups] min_rows` under one verdict's rows, the 56-row history went to the rollups, which have no
    reach before `since`: "0 firing" again. A history too quiet for a verdict reads raw, whatever min_rows says."""
    rows = _workspace(tmp_path, rollups)
    assert rows.filter(pl.col("ts") > END - timedelta(days=7)).height < 100  # no verdict within the history
    svc = Service(parse_file(tmp_path / "console.toml"), clock=lambda: END + timedelta(hours=1))
    try:
        svc.refresh()
        found = {f.rule: f for f in svc.monitor.findings(at=END)}
        for rule in ("errors", "p95", "default: SLO burn", "default: accuracy"):
            assert found[rule].firing, (rule, found[rule].evidence)
        # the onset: the first failing row (rows every 3 h), found in rows before the 7-day history
        first_bad = rows.filter(pl.col("ts") > BAD)["ts"].min()
        for rule in ("errors", "p95"):
            assert abs(found[rule].onset - first_bad) <= timedelta(hours=3), (rule, found[rule].onset)
        # the latest verdict is on the newest 100 rows (200 labels) up to the grid point before END
        latest = found["errors"].evidence
        n_err = float(latest.split()[0])
        tails = {round(rows.filter(pl.col("ts") <= END - timedelta(hours=h)).tail(100)["status"]
                       .eq("error").mean(), 4) for h in range(0, 4)}
        assert n_err in tails and "on 100 rows" in latest
        acc = rows.filter(pl.col("ts") <= END).tail(200)
        hand = (acc["prediction"] == (acc["request_id"].str.slice(1).cast(pl.Int64) % 2).cast(pl.Utf8)).mean()
        assert "on 200 labels" in found["default: accuracy"].evidence
        # the drop's interval is named, not glued to the expected level as if it were that level's interval
        assert "; accuracy_drop [" in found["default: accuracy"].evidence
        shown = float(found["default: accuracy"].evidence.split()[1])
        assert abs(shown - hand) <= 0.02  # at most a few rows apart (the grid point before END)
    finally:
        svc.close()
