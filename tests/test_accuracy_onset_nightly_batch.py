"""A nightly batch model's accuracy incident has its onset at the first bad night's rows, not the night before's.
Found by the signals probe (a batch of rows at 02:00 each night, labels 6 to 48 h late): the first breaching
window, sized by the labels logged by its detection, held a few of the bad night's labels and grew back into the
night before for the rest, too few for the change point to find the change, so the onset was that window's start:
a row of the night before (raw), or the window's own start, 20 h before the bad night (its labels all in). Every
row the window held up to the evaluation before it (which found accuracy fine) was of earlier nights, so the
change shows first in the next night's rows. Deterministic: every 10 rows hold the same count of wrong answers
(0.9 right, 0.6 from BAD), each label lands 6 + (i mod 43) hours after its row."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import polars as pl
import pytest

from console.cli import main
from label_workspace import labelled_config

START = datetime(2026, 11, 1)
NIGHTS, BATCH = 8, 300
BAD = START + timedelta(days=6, hours=2)  # the sixth night's batch, the first bad one (planted)


def _workspace(tmp_path, min_rows: int):
    with (tmp_path / "p.jsonl").open("w") as f, (tmp_path / "l.jsonl").open("w") as g:
        for night in range(NIGHTS):
            for j in range(BATCH):
                i = night * BATCH + j
                t = START + timedelta(days=night, hours=2, seconds=j)  # 300 rows from 02:00:00, a second apart
                wrong = i % 10 < (4 if t >= BAD else 1)
                y = i % 2
                f.write(json.dumps({"ts": f"{t:%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1",
                                    "request_id": f"r{i}", "prediction": str(y ^ wrong), "latency_ms": 10,
                                    "x": float(i % 7)}) + "\n")
                g.write(json.dumps({"request_id": f"r{i}", "label": str(y),
                                    "ts": f"{t + timedelta(hours=6 + i % 43):%Y-%m-%dT%H:%M:%SZ}"}) + "\n")
    pl.DataFrame({"x": [float(i % 7) for i in range(500)], "label": ["1", "0"] * 250,
                  "prediction": ["1", "0"] * 225 + ["0", "1"] * 25}).write_parquet(tmp_path / "ref.parquet")
    return labelled_config(tmp_path, min_rows)


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", ""))


@pytest.mark.parametrize("min_rows", [10**9, 100], ids=["raw", "rollups"])
@pytest.mark.parametrize("days_after", [1, 2])
def test_onset_at_the_first_bad_nights_rows(tmp_path, capsys, min_rows, days_after):
    at = BAD + timedelta(days=days_after, hours=6)
    main(["--config", str(_workspace(tmp_path, min_rows)), "check", "--all", "--at", f"{at:%Y-%m-%dT%H:%M:%S}Z",
          "--format", "json"])
    found = [i for i in json.loads(capsys.readouterr().out)["incidents"]
             if i["kind"] == "accuracy_drop" and i["state"] in ("firing", "resolved")]
    [incident] = found
    # the bad night's batch is 02:00:00 to 02:04:59: its first row, the night before's last row a day earlier
    assert BAD <= _t(incident["onset"]) < BAD + timedelta(seconds=BATCH), incident["onset"]
