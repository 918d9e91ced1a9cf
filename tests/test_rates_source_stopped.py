"""A source that stopped has no new evidence for the rate and drift rules either: a window whose own span holds no
row is the last window with rows again (`evidence.carried_from`), on the raw path and from the rollups. Found by
probing `check --at` 1 h to 8 days after the last row: such a window grew back to rows earlier windows had judged
(the raw path to the last 100 or 500 rows, the rollups by whole hours) and judged them again. Model `b`, 12 failed
slow requests in the last 6 minutes, which no 6 h window holding them breached on (12 of 239 requests), fired an
error-rate and a p95 incident 6 h after its last row, on the last 100 requests alone; a firing incident's value
changed with `--at` (`a`: 100 rows raw, 119 from the rollups, 500 or 599 for drift) and the paths disagreed.

The log is deterministic (a row every 30 s for 2 days to STOP; a row's error and latency are set by its index), so
every count below is by hand. A row at a window's start is not in it: (lo, hi]."""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta

import polars as pl
import pytest

from console.cli import main

START = datetime(2026, 11, 20)
STOP = START + timedelta(days=2)  # the last row is 30 s before it
BAD = {"a": (STOP - timedelta(hours=3), STOP),  # failing when it stops: every 5th request an error, all slow, x +10
       "b": (STOP - timedelta(minutes=6), STOP),  # the last 12 requests failed and slow, x as the reference's
       "c": (START + timedelta(hours=12), START + timedelta(hours=15))}  # an outage 33 h before it stops, as `a`'s
RULES = [("err6", "error_rate", ">", 0.05, "6h"), ("p95", "p95_ms", ">", 300, "6h")]
KINDS = ("error_rate", "p95_ms", "burn_rate", "drift_share")
AT = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "24h": timedelta(hours=24), "48h": timedelta(hours=48),
      "8d": timedelta(days=8)}
BURN, DRIFT = "default: SLO burn", "default: feature drift"


def _rows():
    rng = random.Random(7)
    for k in range((STOP - START) // timedelta(seconds=30)):
        t = START + timedelta(seconds=30 * k)
        for m, (lo, hi) in BAD.items():
            bad = lo <= t < hi
            err = bad and (m == "b" or k % 5 == 0)
            yield {"ts": f"{t:%Y-%m-%dT%H:%M:%SZ}", "model": m, "version": "1", "request_id": f"{m}{k}",
                   "prediction": "0", "latency_ms": 800.0 if bad else 50.0, "status": "error" if err else "ok",
                   "x": round(rng.gauss(10.0 if bad and m != "b" else 0.0, 1.0), 4)}


def _workspace(tmp_path, min_rows: int):
    with (tmp_path / "p.jsonl").open("w") as f:
        f.writelines(json.dumps(r) + "\n" for r in _rows())
    rng = random.Random(8)
    pl.DataFrame({"x": [rng.gauss(0.0, 1.0) for _ in range(2000)]}).write_parquet(tmp_path / "ref.parquet")
    models = "".join(f'[models.{m}]\ntask = "classification"\nreference = "{tmp_path / "ref.parquet"}"\n'
                     'features = ["x"]\n' for m in BAD)
    alerts = "".join(f'[[alerts]]\nname = "{n}"\nmetric = "{k}"\nop = "{o}"\nthreshold = {v}\nwindow = "{w}"\n'
                     for n, k, o, v, w in RULES)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "store"}"\n[rollups]\npath = "{tmp_path / "rollups"}"\n'
                   f'min_rows = {min_rows}\n[[logs]]\nkind = "predictions"\npath = "{tmp_path / "p.jsonl"}"\n'
                   + models + alerts, encoding="utf-8")
    return cfg


def _incidents(cfg, capsys, at: datetime) -> list[tuple]:
    main(["--config", str(cfg), "check", "--all", "--at", f"{at:%Y-%m-%dT%H:%M:%S}Z", "--format", "json"])
    out = json.loads(capsys.readouterr().out)["incidents"]
    return sorted((i["id"], i["state"], int(re.search(r"on (\d+) rows", i["evidence"]).group(1)))
                  for i in out if i["kind"] in KINDS)


def _expected(at: str, before: list[tuple]) -> list[tuple]:
    """By hand. `a`: its incidents began with its failures 3 h before STOP and fire on; each shows the last window
    with rows of its own span: 1 h (23:00, 00:00] = 119 rows; 6 h, from 6 h on, (22:00, 04:00] on the 2 h grid =
    239 rows (1 h on: the latest window (19:00, 01:00], 599); drift 24 h, from 24 h on, (12:00, 12:00] on the 12 h
    grid = 1439 rows (1 h on: 2759; 6 h on: 2159). `b`: 12 errors in (23:00, 00:00] (119 requests: burn 10.1, its
    interval past 6: firing since the spike, 23:54) and in no 6 h window of fewer than 239 (under 5 %: nothing).
    `c`: its outage's incidents, resolved 30 h before STOP, as the view at STOP listed them (`before`); a week past
    STOP they are before the 7-day history and not listed."""
    six = {"1h": 599, "6h": 239}.get(at, 239)
    day = {"1h": 2759, "6h": 2159}.get(at, 1439)
    out = [(f"a:err6:20261121T2100", "firing", six), (f"a:p95:20261121T2100", "firing", six),
           (f"a:{BURN}:20261121T2100", "firing", 119), (f"a:{DRIFT}:20261121T2100", "firing", day),
           (f"b:{BURN}:20261121T2354", "firing", 119)]
    return sorted(out + ([i for i in before if i[0].startswith("c:")] if at != "8d" else []))


@pytest.mark.parametrize("min_rows", [10**9, 100], ids=["raw", "rollups"])
def test_no_new_evidence_after_the_last_row(tmp_path, capsys, min_rows):
    cfg = _workspace(tmp_path, min_rows)
    before = _incidents(cfg, capsys, STOP)
    assert sorted(i[:2] for i in before if i[0].startswith("c:")) == [  # the outage's incidents, one per rule
        (f"c:{rule}:20261120T1200", "resolved") for rule in sorted((BURN, DRIFT, "err6", "p95"))]
    got = {at: _incidents(cfg, capsys, STOP + d) for at, d in AT.items()}
    assert got == {at: _expected(at, before) for at in AT}
