"""`mlops-console rollup` over a model logged in three formats: JSONL, CSV, then Hive Parquet.

qa4 found it failing on such a workspace (breast-cancer predictions in JSONL, then in Parquet): "ArrowTypeError:
Unable to merge: Field ts has incompatible types: string vs timestamp[ns, tz=UTC]", exit 1, no hour built. The
sources' schemas were unified as they are on disk, before the conform step types `ts`; with that fixed, a CSV
log's `version` (read as a number) did not merge with the others' text ("Field version has incompatible types:
string vs int64"). Counts below are hand
counts of the rows the test wrote.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.datasets import load_breast_cancer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_operator_pass2 import _cli  # noqa: E402

START, CSV, SWITCH, END = datetime(2026, 7, 1), datetime(2026, 7, 2), datetime(2026, 7, 3), datetime(2026, 7, 5)


def _workspace(tmp: Path) -> tuple[Path, pl.DataFrame]:
    rng = np.random.default_rng(4)
    data = load_breast_cancer()
    n = 4000
    pick = rng.integers(0, len(data.target), n)
    secs = np.sort(rng.uniform(0, (END - START).total_seconds() - 1, n))
    rows = pl.DataFrame({"ts": [START + timedelta(seconds=float(s)) for s in secs], "model": "bc",
                         "version": "1", "request_id": [f"c{i}" for i in range(n)],
                         "latency_ms": rng.gamma(3, 12, n).round(3), "status": rng.choice(["200", "500"], n, p=[.97, .03]),
                         "mean_radius": data.data[pick, 0].round(4)})
    text = rows.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    text.filter(pl.col("ts") < f"{CSV:%Y-%m-%d}").write_ndjson(tmp / "before.jsonl")
    text.filter((pl.col("ts") >= f"{CSV:%Y-%m-%d}") & (pl.col("ts") < f"{SWITCH:%Y-%m-%d}")).write_csv(tmp / "then.csv")
    for day, part in rows.filter(pl.col("ts") >= SWITCH).group_by(pl.col("ts").dt.strftime("%Y-%m-%d")):
        folder = tmp / "parquet" / f"date={day[0]}"
        folder.mkdir(parents=True)
        part.with_columns(pl.col("ts").dt.replace_time_zone("UTC")).write_parquet(folder / "part-0.parquet")
    pl.DataFrame({"mean_radius": data.data[:300, 0].round(4)}).write_parquet(tmp / "ref.parquet")
    cfg = tmp / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "before.jsonl"\n'
                   '[[logs]]\nkind = "predictions"\npath = "then.csv"\n'
                   '[[logs]]\nkind = "predictions"\npath = "parquet"\nformat = "parquet"\n'
                   '[models.bc]\ntask = "classification"\nreference = "ref.parquet"\nfeatures = ["mean_radius"]\n'
                   '[store]\npath = "store"\n[audit]\npath = "a.jsonl"\n[rollups]\npath = "rollups"\nmin_rows = 100\n')
    return cfg, rows


def test_rollup_builds_a_model_logged_in_jsonl_csv_then_parquet(tmp_path):
    cfg, rows = _workspace(tmp_path)
    built = _cli(cfg, "rollup", "--no-ready")
    assert built.returncode == 0, built.stderr
    res = _cli(cfg, "health", "bc", "--at", "2026-07-05T00:00Z", "--window", "4d", "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert "rollups" in out["note"], out
    errors = int(rows.select((pl.col("status") == "500").sum()).item())
    assert [(r["requests"], r["errors"]) for r in out["table"]] == [(rows.height, errors)]
