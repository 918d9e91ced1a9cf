"""An accuracy incident keeps its detection and id when late labels make an earlier window breach too; its onset
moves to the change those labels show.

Found by the signals probe (helper h6): a model logging a prediction a minute, whose labels land 6-48 h late, had
its accuracy incident listed firing at 18:00, "detected 02:34" that night; a view three hours later, after more
labels of the day before had landed, said "detected 20:46" (after the first view had listed it) with another onset,
so another id: the acknowledgement no longer covered it. The run's first breaching window had moved back to a window
whose labels only landed later, and its detection and id were taken from that window alone. Keeping the onset too
as the first view placed it (reverted, a9b225b) kept the demo's fraud drop 8 h 47 m before its concept shift: the
labels logged when it was first listed were too few to place the change.

Here, a prediction every 6 minutes, right 9 times in 10 up to day 1 12:00 and every other time after (the first
wrong one at 12:06). Labels land a minute after their prediction, except those of day 1 12:00-18:00, which land 48 h
late. The 24 h rule's windows end every 6 h. The window ending day 2 00:00 breaches on the labels known at its end
(the 200 latest known: 60 after 18:00 at accuracy 0.5 and 140 before 12:00 at 0.9, 0.78 against 0.9): detected
day 2 00:00, by hand, its onset the first wrong row with a label then, 18:06, and the id with it. The window ending
day 1 18:00 breaches only once the late labels land (day 3 12:00 on), so a view on day 4 must still say day 2 00:00
and the same id as a view on day 2 at 06:00, and its onset is the change, 12:06. Raw path and rollups alike.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console.cli import main

DAY0, CHANGE = datetime(2026, 8, 1), datetime(2026, 8, 2, 12)
LATE_UNTIL = CHANGE + timedelta(hours=6)
STEP = timedelta(minutes=6)


def _right(i: int, t: datetime) -> bool:
    return i % 2 == 0 if t >= CHANGE else i % 10 != 0


def _rows() -> list[tuple[int, datetime]]:
    out, t = [], DAY0
    while t < DAY0 + timedelta(days=4):
        out.append((len(out), t))
        t += STEP
    return out


def _workspace(tmp_path, min_rows: int) -> str:
    preds, labels = [], []
    for i, t in _rows():
        preds.append({"ts": t.isoformat() + "Z", "model": "clf", "version": "1", "request_id": f"r{i}",
                      "prediction": "1" if _right(i, t) else "0", "latency_ms": 50.0, "x": float(i % 7)})
        delay = timedelta(hours=48) if CHANGE <= t < LATE_UNTIL else timedelta(minutes=1)
        labels.append({"request_id": f"r{i}", "label": "1", "ts": (t + delay).isoformat() + "Z"})
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in preds), encoding="utf-8")
    (tmp_path / "l.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labels), encoding="utf-8")
    pq.write_table(pa.table({"x": [float(k % 7) for k in range(100)], "label": ["1"] * 100,
                             "prediction": ["1" if k % 10 else "0" for k in range(100)]}), tmp_path / "ref.parquet")
    config = (f'[store]\npath = "store"\n[rollups]\nmin_rows = {min_rows}\n'
              '[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
              '[[logs]]\nkind = "labels"\npath = "l.jsonl"\n'
              '[models.clf]\ntask = "classification"\nreference = "ref.parquet"\nfeatures = ["x"]\n')
    (tmp_path / "mlops-console.toml").write_text(config, encoding="utf-8")
    return str(tmp_path / "mlops-console.toml")


def _accuracy(capsys, cfg: str, at: datetime) -> dict:
    main(["--config", cfg, "check", "--at", at.isoformat() + "Z", "--all", "--format", "json"])
    [inc] = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["kind"] == "accuracy_drop"]
    return inc


@pytest.mark.parametrize("min_rows", [10**9, 100], ids=["raw", "rollups"])
def test_late_labels_of_an_earlier_window_move_no_detection_or_id(tmp_path, capsys, min_rows):
    cfg = _workspace(tmp_path, min_rows)
    early = _accuracy(capsys, cfg, DAY0 + timedelta(days=1, hours=30))
    late = _accuracy(capsys, cfg, DAY0 + timedelta(days=3, hours=23))
    # by hand: the first wrong row after the change, and the first whose label the window ending day 2 00:00 knew
    first_wrong = min(t for i, t in _rows() if t >= CHANGE and not _right(i, t))
    first_known = min(t for i, t in _rows() if t >= LATE_UNTIL and not _right(i, t))
    assert (first_wrong, first_known) == (datetime(2026, 8, 2, 12, 6), datetime(2026, 8, 2, 18, 6))
    assert early["state"] == late["state"] == "firing"
    assert early["detected"] == late["detected"] == "2026-08-03T00:00:00Z"
    assert late["id"] == early["id"] == f"clf:default: accuracy:{first_known:%Y%m%dT%H%M}"
    assert early["onset"] == first_known.isoformat() + "Z"
    assert late["onset"] == first_wrong.isoformat() + "Z"
