"""A model whose rows stop keeps its drift incident firing on the latest evidence it has. A drift rule of a
history with no row was skipped (only the rate and quality rules reached back before `--since`), so once the 7-day
history held none of the model's rows its firing drift incident vanished from `check --all`: not firing, not
resolved, not "insufficient data", while the model's other rules kept firing on the same old rows. A drift verdict
of a model with fewer than 500 rows in its history reaches back up to 90 days for them (README), and an incident
is never resolved for lack of data: it is listed firing, with the id it had, on both paths."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import polars as pl
import pytest

from console.cli import main

END = datetime(2026, 11, 20, 12)  # the model's last row


@pytest.mark.parametrize("min_rows", [10, 10_000_000], ids=["rollups", "raw"])
def test_a_firing_drift_incident_outlives_the_rows_in_the_history(tmp_path, capsys, min_rows):
    rng = random.Random(3)
    rows, t, i = [], END - timedelta(days=3), 0
    while t < END:
        shifted = t >= END - timedelta(hours=12)
        rows.append({"ts": f"{t:%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1", "request_id": f"r{i}",
                     "latency_ms": 10.0, "status": "ok", "prediction": "0",
                     "features": {"x": round(rng.gauss(2.0 if shifted else 0.0, 1.0), 4)}})
        t, i = t + timedelta(seconds=30), i + 1
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pl.DataFrame({"x": [rng.gauss(0.0, 1.0) for _ in range(2000)]}).write_parquet(tmp_path / "ref.parquet")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
                   f'[rollups]\npath = "rollups"\nmin_rows = {min_rows}\n'
                   '[models.m]\ntask = "classification"\nreference = "ref.parquet"\nfeatures = ["x"]\n',
                   encoding="utf-8")

    def drift(at):
        main(["--config", str(cfg), "check", "--all", "--format", "json", "--at", at])
        return [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["kind"] in ("feature_drift",
                                                                                              "drift_share")]

    # the history holds the model's last hour: firing
    live = drift("2026-11-27T11:00Z")
    assert live and all(i["state"] == "firing" for i in live), live
    # the history holds none of its rows: the same incidents, still firing on the same latest 500 rows
    for at in ("2026-11-27T13:00Z", "2026-12-03T00:00Z"):
        gone = drift(at)
        assert [(i["id"], i["state"], i["evidence"]) for i in gone] == [
            (i["id"], "firing", i["evidence"]) for i in live], (at, gone, live)
