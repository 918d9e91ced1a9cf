"""An accuracy incident keeps its detection, onset and id when late labels make an earlier window breach too.

Found by the signals probe (helper h6): a model logging a prediction a minute, whose labels land 6-48 h late, had
its accuracy incident listed firing at 18:00, "detected 02:34" that night; a view three hours later, after more
labels of the day before had landed, said "detected 20:46" (after the first view had listed it) with another onset,
so another id: the acknowledgement no longer covered it. The run's first breaching window had moved back to a window
whose labels only landed later, and its detection (and onset) was taken from that window alone.

Here, a prediction every 6 minutes, right 9 times in 10 up to day 1 12:00 and every other time after. Labels land a
minute after their prediction, except those of day 1 12:00-18:00, which land 48 h late. The 24 h rule's windows end
every 6 h. The window ending day 2 00:00 breaches on the labels known at its end (the 200 latest known: 60 after
18:00 at accuracy 0.5 and 140 before 12:00 at 0.9, 0.78 against 0.9): detected day 2 00:00, by hand. The window
ending day 1 18:00 breaches only once the late labels land (day 3 12:00 on), so a view on day 4 must still say day 2
00:00 and the same onset and id as a view on day 2 at 06:00.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from console.cli import main

DAY0, CHANGE = datetime(2026, 8, 1), datetime(2026, 8, 2, 12)
LATE_UNTIL = CHANGE + timedelta(hours=6)
STEP = timedelta(minutes=6)


def _workspace(tmp_path) -> str:
    preds, labels, t, i = [], [], DAY0, 0
    while t < DAY0 + timedelta(days=4):
        right = i % 2 == 0 if t >= CHANGE else i % 10 != 0
        preds.append({"ts": t.isoformat() + "Z", "model": "clf", "version": "1", "request_id": f"r{i}",
                      "prediction": "1" if right else "0", "latency_ms": 50.0, "x": float(i % 7)})
        delay = timedelta(hours=48) if CHANGE <= t < LATE_UNTIL else timedelta(minutes=1)
        labels.append({"request_id": f"r{i}", "label": "1", "ts": (t + delay).isoformat() + "Z"})
        i, t = i + 1, t + STEP
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in preds), encoding="utf-8")
    (tmp_path / "l.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labels), encoding="utf-8")
    pq.write_table(pa.table({"x": [float(k % 7) for k in range(100)], "label": ["1"] * 100,
                             "prediction": ["1" if k % 10 else "0" for k in range(100)]}), tmp_path / "ref.parquet")
    config = ('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
              '[[logs]]\nkind = "labels"\npath = "l.jsonl"\n'
              '[models.clf]\ntask = "classification"\nreference = "ref.parquet"\nfeatures = ["x"]\n')
    (tmp_path / "mlops-console.toml").write_text(config, encoding="utf-8")
    return str(tmp_path / "mlops-console.toml")


def _accuracy(capsys, cfg: str, at: datetime) -> dict:
    main(["--config", cfg, "check", "--at", at.isoformat() + "Z", "--all", "--format", "json"])
    [inc] = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["kind"] == "accuracy_drop"]
    return inc


def test_late_labels_of_an_earlier_window_move_no_detection_onset_or_id(tmp_path, capsys):
    cfg = _workspace(tmp_path)
    early = _accuracy(capsys, cfg, DAY0 + timedelta(days=1, hours=30))
    late = _accuracy(capsys, cfg, DAY0 + timedelta(days=3, hours=23))
    assert early["state"] == late["state"] == "firing"
    assert early["detected"] == late["detected"] == "2026-08-03T00:00:00Z"
    assert (late["onset"], late["id"]) == (early["onset"], early["id"])
