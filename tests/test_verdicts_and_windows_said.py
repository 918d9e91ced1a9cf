"""What a read command concludes, and over what, is said: found by the twenty-eighth session's probe A.

- `drift` over a window of a few dozen rows said "dataset drift: YES (3/3)" on an undrifted model (normed Wasserstein
  reads sampling noise as drift) while the Overview, scoring its last 500 rows as the rules do, said ok: a window of
  fewer than MIN_DRIFT_ROWS rows now shows its scores with no verdict, says why, and exits 2 (no verdict).
- `check` named no history: its JSON and text now give it as every read command gives its window.
- `quality` in the past counts the labels logged by the view's end, and now says how many landed later (`--at latest`
  on a log that stopped left out the last days' labels without a word). The counts are hand counts.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from console.analytics.windows import MIN_DRIFT_ROWS
from console.cli import main
from snapshot_workspace import FIXED_NOW, demo_workspace  # noqa: F401 - fixture

END = datetime(2026, 8, 15, 12)  # months before the wall clock


def _workspace(tmp_path, per_hour: int = 20):
    rng = np.random.default_rng(5)
    rows, labels = [], []
    n = 48 * per_hour
    for i in range(n):
        ts = END - timedelta(seconds=(n - i) * 3600 / per_hour)
        rows.append({"ts": ts.isoformat() + "Z", "model": "m", "version": "1", "request_id": f"r{i}",
                     "prediction": int(i % 3 == 0), "score": 0.5, "latency_ms": 20.0, "x": float(rng.normal())})
        if i % 2 == 0:  # every other prediction labelled, 2 or 30 hours later
            late = timedelta(hours=2 if i % 4 == 0 else 30)
            labels.append({"ts": (ts + late).isoformat() + "Z", "request_id": f"r{i}", "label": 1})
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "l.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labels), encoding="utf-8")
    pq.write_table(pa.table({"x": rng.normal(size=2000)}), tmp_path / "ref.parquet")
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
                   '[[logs]]\nkind = "labels"\npath = "l.jsonl"\n'
                   '[models.m]\ntask = "classification"\nfeatures = ["x"]\nreference = "ref.parquet"\n', encoding="utf-8")
    return str(cfg), rows, labels


def test_drift_on_too_few_rows_shows_its_scores_with_no_verdict(tmp_path, capsys):
    cfg, rows, _ = _workspace(tmp_path)
    in_6h = sum(END - timedelta(hours=6) < datetime.fromisoformat(r["ts"][:-1]) <= END for r in rows)
    assert in_6h < MIN_DRIFT_ROWS
    assert main(["--config", cfg, "drift", "m", "--at", END.isoformat() + "Z", "--window", "6h", "--format", "json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["dataset"]["status"] == "few rows" and out["dataset"]["drifted"] is False
    (x,) = out["features"]
    assert x["score"] is not None and x["n_cur"] == in_6h and x["status"] == "few rows" and not x["drifted"]
    assert f"{in_6h} rows in this window; a drift verdict needs {MIN_DRIFT_ROWS}" in out["note"]
    assert main(["--config", cfg, "drift", "m", "--at", END.isoformat() + "Z", "--window", "6h"]) == 2
    text = capsys.readouterr().out
    assert "dataset drift: no verdict, too few rows" in text and f"{in_6h} rows in this window" in text
    # a window holding enough rows has its verdict
    assert main(["--config", cfg, "drift", "m", "--at", END.isoformat() + "Z", "--window", "36h", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["dataset"]["status"] in ("ok", "drift")


def test_check_says_the_history_it_evaluated(tmp_path, capsys):
    cfg, _, _ = _workspace(tmp_path)
    main(["--config", cfg, "check", "--at", "2026-08-15T12:00:00Z", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert out["at"] == "2026-08-15T12:00:00Z" and out["live"] is False
    assert out["history"] == {"window": "7d", "from": "2026-08-08T12:00:00.000001Z", "to": "2026-08-15T12:00:00Z"}
    main(["--config", cfg, "check", "--window", "2026-W32"])
    assert "history 7d (2026-08-03T00:00:00Z to 2026-08-09T23:59:59.999999Z)" in capsys.readouterr().err
    # `--since` a midnight before a calendar view: its length in whole units (it said "8d 23h 59m 59s")
    main(["--config", cfg, "check", "--window", "2026-W32", "--since", "2026-08-01", "--format", "json"])
    assert json.loads(capsys.readouterr().out)["history"]["window"] == "9d"


def test_quality_in_the_past_says_how_many_labels_landed_after_it(tmp_path, capsys):
    cfg, rows, labels = _workspace(tmp_path)
    at = max(datetime.fromisoformat(r["ts"][:-1]) for r in rows)  # `latest`: the model's newest row
    in_window = {r["request_id"] for r in rows if at - timedelta(hours=24) < datetime.fromisoformat(r["ts"][:-1]) <= at}
    landed = {lab["request_id"]: datetime.fromisoformat(lab["ts"][:-1]) for lab in labels}
    later = sum(1 for rid in in_window if rid in landed and landed[rid] > at)
    counted = sum(1 for rid in in_window if rid in landed and landed[rid] <= at)
    assert later > 0 and counted > 0
    assert main(["--config", cfg, "quality", "m", "--at", "latest", "--window", "24h", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["labelled_after"] == later and out["now"]["n_labelled"] == counted
    assert f"{later} predictions of this window were labelled after {at:%Y-%m-%d %H:%M:%S}Z" in out["note"]
    # a view after every label: nothing landed later, nothing said
    assert main(["--config", cfg, "quality", "m", "--at", "2026-08-17T12:00:00Z", "--window", "72h",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "labelled_after" not in out and "labelled after" not in (out.get("note") or "")


def test_a_windows_prediction_drift_on_too_few_rows_has_no_verdict_either(demo_workspace, capsys):
    """Probe H (twenty-ninth session): `drift support-assistant --window 1h` (about 150 rows) said `few rows` of every
    feature and `ok` of the `(prediction)` row, scored on the same few rows."""
    cfg = str(demo_workspace / "mlops-console.toml")
    assert main(["--config", cfg, "drift", "support-assistant", "--window", "1h", "--at", f"{FIXED_NOW:%Y-%m-%dT%H:%MZ}",
                 "--format", "json"]) == 2
    out = json.loads(capsys.readouterr().out)
    pred = out["prediction"]
    assert out["dataset"]["status"] == "few rows" and pred is not None and 0 < pred["n_cur"] < MIN_DRIFT_ROWS
    assert pred["status"] == "few rows" and pred["drifted"] is False, pred
