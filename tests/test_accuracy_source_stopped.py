"""A source that stopped has no new evidence: no accuracy incident fires after its last row. Found by the signals
probe (a stopped source, check --at three days after its last row): the rule's windows whose own 24 h held no row
grew back to rows already judged (the raw path to the last 200 labels, the rollups to the last 4 whole hours) and
judged them again, so from the rollups a second accuracy incident fired 18 h after the last row where the raw path
said the first one resolved. The log is deterministic (every 10 rows hold the same count of wrong answers, and
every stretch below is a multiple of 10 rows), so its truth is counted by hand: accuracy 0.9, 0.6 from the planted
drop at DROP, 1.0 for the 2 h from RECOVER, then a tail to the last row at STOP, and nothing after it. The window
ending 18:00 after the last row holds the last 6 h alone (360 rows): by hand 0.867 ("tail80": 0.8 for 4 h) or 0.889
("split": 0.5 for 40 min, then 0.9 for 200), a drop under 0.05: the incident ended there. After it a window grown
to the last 200 labels reads 0.8 (tail80: the raw path fired again) or 0.9 (split), and to the last 4 hours 0.8 or
(20 + 180) / 240 = 0.833 (both: the rollups fired again)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import polars as pl
import pytest

from console.cli import main
from label_workspace import labelled_config

START = datetime(2026, 11, 20, 0, 0)
DROP = START + timedelta(hours=36)  # accuracy 0.9 -> 0.6
STOP = START + timedelta(days=4)  # no row from here on (the last one at 23:59:20 the night before)
RECOVER = STOP - timedelta(hours=6)
TAIL = STOP - timedelta(hours=4)
AT = STOP + timedelta(days=2)
TAILS = {"tail80": ((TAIL, 0.8),), "split": ((TAIL, 0.5), (TAIL + timedelta(minutes=40), 0.9))}


def _accuracy(t: datetime, tail: str) -> float:
    if t < TAIL:
        return 0.9 if t < DROP else 0.6 if t < RECOVER else 1.0
    return [a for since, a in TAILS[tail] if since <= t][-1]


def _workspace(tmp_path, min_rows: int, tail: str):
    n = (STOP - START) // timedelta(minutes=1)
    with (tmp_path / "p.jsonl").open("w") as f, (tmp_path / "l.jsonl").open("w") as g:
        for i in range(n):
            t = START + timedelta(minutes=i, seconds=20)
            wrong = i % 10 < round(10 * (1 - _accuracy(t, tail)))  # every 10 rows, the same count wrong
            y = i % 2
            f.write(json.dumps({"ts": f"{t:%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1", "request_id": f"r{i}",
                                "prediction": str(y ^ wrong), "latency_ms": 10, "x": float(i % 7)}) + "\n")
            g.write(json.dumps({"request_id": f"r{i}", "label": str(y),
                                "ts": f"{t + timedelta(minutes=1):%Y-%m-%dT%H:%M:%SZ}"}) + "\n")
    # expected accuracy 0.9: 50 wrong of 500
    pl.DataFrame({"x": [float(i % 7) for i in range(500)], "label": ["1", "0"] * 250,
                  "prediction": ["1", "0"] * 225 + ["0", "1"] * 25}).write_parquet(tmp_path / "ref.parquet")
    return labelled_config(tmp_path, min_rows)


def _incidents(cfg, capsys) -> list[dict]:
    main(["--config", str(cfg), "check", "--all", "--at", f"{AT:%Y-%m-%dT%H:%M:%S}Z", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    return [i for i in out["incidents"] if i["kind"] == "accuracy_drop"]


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", ""))


@pytest.mark.parametrize("tail", list(TAILS))
@pytest.mark.parametrize("min_rows", [10**9, 100], ids=["raw", "rollups"])
def test_nothing_fires_after_the_last_row(tmp_path, capsys, min_rows, tail):
    found = _incidents(_workspace(tmp_path, min_rows, tail), capsys)
    late = [i["id"] for i in found if _t(i["detected"] or i["onset"]) >= STOP]
    assert not late, f"fired with no row after {STOP}: {late}"
    [incident] = [i for i in found if i["state"] in ("firing", "resolved")]
    assert DROP <= _t(incident["onset"]) <= DROP + timedelta(hours=1)  # the planted drop
    # the last window holding rows (the 6 h before the last one) read 0.867 or 0.889: the incident ended there
    assert incident["state"] == "resolved" and incident["value"] is not None


def test_raw_and_rollups_agree(tmp_path, capsys):
    (tmp_path / "raw").mkdir()
    (tmp_path / "rollups").mkdir()
    raw = _incidents(_workspace(tmp_path / "raw", 10**9, "split"), capsys)
    rolled = _incidents(_workspace(tmp_path / "rollups", 100, "split"), capsys)
    assert [(i["id"], i["state"]) for i in raw] == [(i["id"], i["state"]) for i in rolled]
