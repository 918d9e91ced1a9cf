"""An accuracy incident is detected when its first breaching window's labels known so far breached, not when the
window's last label (a late one, a correction) landed.

Found by the thirty-second session's probe B: labels landing 2-30 h after their predictions, corrections up to 20 h
later still; `check --at 2026-11-01T18:00Z` listed the accuracy incident firing, yet `check --at 2026-11-09` said
it was detected on 11-03 at 10:30, when a correction to one of its first window's labels arrived (40 h later;
MTTD read off it was 40 h too long). The independent figure: on the rule's grid (24 h windows every 6 h from the
epoch), the first window breaching on every label, then the first label arrival from its end on at which the
labels logged so far breach (200 labels, drop past 0.05, score test p < 0.01 with scipy).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from console.cli import main

START, CHANGE, AT = datetime(2026, 8, 1), datetime(2026, 8, 3), datetime(2026, 8, 4, 12)
DELAY, LATE = timedelta(hours=8), timedelta(hours=30)  # most labels 8 h after; every 25th 30 h after
EXPECTED = 0.9


def _workspace(tmp_path, rollups: bool):
    preds, labels = [], []
    t, i = START, 0
    while t < AT:
        wrong = (i % 10 == 0) if t < CHANGE else (i % 2 == 0)  # 90 % right, then 50 %
        preds.append({"ts": t.isoformat() + "Z", "model": "m", "version": "1", "request_id": f"r{i}",
                      "prediction": "1", "latency_ms": 5.0})
        labels.append({"ts": (t + (LATE if i % 25 == 0 else DELAY)).isoformat() + "Z", "request_id": f"r{i}",
                       "label": "0" if wrong else "1"})
        i, t = i + 1, t + timedelta(minutes=2)
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in preds), encoding="utf-8")
    (tmp_path / "l.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labels), encoding="utf-8")
    pd.DataFrame({"label": ["1"] * 900 + ["0"] * 100, "prediction": ["1"] * 1000,
                  "x": np.arange(1000.0)}).to_parquet(tmp_path / "ref.parquet")
    (tmp_path / "mlops-console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
        '[[logs]]\nkind = "labels"\npath = "l.jsonl"\n'
        '[models.m]\ntask = "classification"\nreference = "ref.parquet"\nfeatures = ["x"]\n'
        + ("[rollups]\nmin_rows = 10\n" if rollups else ""), encoding="utf-8")
    frame = pd.DataFrame({"ts": [datetime.fromisoformat(p["ts"][:-1]) for p in preds],
                          "lts": [datetime.fromisoformat(lab["ts"][:-1]) for lab in labels],
                          "right": [lab["label"] == "1" for lab in labels]})
    return str(tmp_path / "mlops-console.toml"), frame


def _breaches(rows: pd.DataFrame) -> bool:
    n, k = len(rows), int(rows["right"].sum())
    if n < 200:
        return False
    z = (k / n - EXPECTED) / np.sqrt(EXPECTED * (1 - EXPECTED) / n)
    return EXPECTED - k / n > 0.05 and stats.norm.cdf(z) < 0.01


def _oracle(frame: pd.DataFrame) -> datetime:
    known = frame[frame["lts"] <= AT]
    end = START + timedelta(hours=6)
    while not _breaches(known[(known["ts"] > end - timedelta(hours=24)) & (known["ts"] <= end)]):
        end += timedelta(hours=6)
    window = known[(known["ts"] > end - timedelta(hours=24)) & (known["ts"] <= end)]
    for when in sorted({end, *window["lts"][window["lts"] > end]}):
        if _breaches(window[window["lts"] <= when]):
            return when
    raise AssertionError("no breach")


def _accuracy(capsys, cfg: str, at: datetime) -> dict:
    main(["--config", cfg, "check", "--at", at.isoformat() + "Z", "--all", "--format", "json"])
    [got] = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["kind"] == "accuracy_drop"]
    return got


@pytest.mark.parametrize("rollups", [False, True], ids=["raw", "rollups"])
def test_accuracy_detected_when_the_labels_so_far_breach(tmp_path, capsys, rollups):
    cfg, frame = _workspace(tmp_path, rollups)
    expected = _oracle(frame)
    assert CHANGE < expected < CHANGE + timedelta(hours=24)
    got = _accuracy(capsys, cfg, AT)
    assert got["state"] == "firing"
    assert datetime.fromisoformat(got["detected"][:-1]) == expected
    assert _accuracy(capsys, cfg, expected)["state"] == "firing"  # `o` lands on a view that lists it
