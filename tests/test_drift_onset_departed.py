"""A drift incident's onset is the hour its feature departed, not the grid point before its first breach.

The benchmark fleet's 0.3 shift planted at 11-29 00:00 gave an incident with onset 11-29 12:00: a 24 h rule
breaches a day after a shift once half a window of shifted rows does not cross, and the onset was "the grid point
before the first breaching evaluation", half a day late. Here three models, 120 rows an hour, on the 24 h rule's
12 h grid: `late`'s feature shifts by 0.16 sd at 00:00 (half a window of it does not cross: first breach at the
next 00:00, the old onset 12:00, as the fleet's); `step`'s by 0.6 sd at 05:00 (first breach at 12:00: the old
onset 00:00, before the shift); `daily`'s has a daily rhythm of twice its noise peaking at 14:00 and shifts by
one sd at 17:00 (first breach at the next 00:00: the old onset 12:00, by the peak before the shift). The onset
must be within an hour of the planted time on the raw path and on the rollups alike, and the same, with the same
id, at two later views. `kinds`' categorical feature moves its shares at 09:00 (the old onset 12:00).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from console.config import parse_file
from console.service import Service

START = datetime(2026, 7, 10)
SHIFTS = {"step": datetime(2026, 7, 15, 5), "daily": datetime(2026, 7, 15, 17), "late": datetime(2026, 7, 15),
          "kinds": datetime(2026, 7, 15, 9)}
SHARES = ([0.6, 0.3, 0.1], [0.4, 0.35, 0.25])  # `kinds`' categories a, b, c before and after its shift
END = datetime(2026, 7, 19)
LATER = (datetime(2026, 7, 17, 0), datetime(2026, 7, 18, 7, 30))  # views after the first breach closed
PER_HOUR = 120


def _value(model: str, t: np.ndarray, noise: np.ndarray, shifted: np.ndarray) -> np.ndarray:
    if model in ("step", "late"):
        return noise + (0.6 if model == "step" else 0.16) * shifted
    hours = (t % 86400) / 3600.0
    return 2.0 * np.cos(2 * math.pi * (hours - 14) / 24) + noise + 1.0 * shifted


def _workspace(tmp):
    rng = np.random.default_rng(41)
    lines = []
    for model, shift in SHIFTS.items():
        n = int((END - START).total_seconds() // 3600) * PER_HOUR
        secs = np.sort(rng.uniform(0, (END - START).total_seconds(), n))  # after START, a midnight
        shifted = secs >= (shift - START).total_seconds()
        if model == "kinds":  # a categorical feature: its shares move
            x = np.where(shifted, rng.choice(list("abc"), n, p=SHARES[1]), rng.choice(list("abc"), n, p=SHARES[0]))
        else:
            x = _value(model, secs, rng.normal(0, 1, n), shifted).round(4)
        for i, (s, v) in enumerate(zip(secs, x)):
            t = START + timedelta(seconds=float(s))
            lines.append(json.dumps({"ts": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "model": model,
                                     "request_id": f"{model}{i}", "version": "1", "latency_ms": 50.0, "status": "ok",
                                     "prediction": "1", "features": {"x": str(v) if model == "kinds" else float(v)}}))
        # the reference: the feature before the shift, at every hour of the day alike
        if model == "kinds":
            ref = rng.choice(list("abc"), 5000, p=SHARES[0])
        else:
            ref_t = rng.uniform(0, 86400, 5000)
            ref = _value(model, ref_t, rng.normal(0, 1, 5000), np.zeros(5000, bool)).round(4)
        pl.DataFrame({"x": ref}).write_parquet(tmp / f"{model}.parquet")
    (tmp / "pred.jsonl").write_text("\n".join(lines) + "\n")
    models = "".join(f'[models.{m}]\ntask = "classification"\nreference = "{m}.parquet"\nfeatures = ["x"]\n'
                     for m in SHIFTS)
    (tmp / "console.toml").write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "pred.jsonl"\n'
                                      f'[rollups]\nmin_rows = 100\n{models}', encoding="utf-8")


@pytest.fixture(scope="module")
def monitor(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("onset")
    _workspace(tmp)
    svc = Service(parse_file(tmp / "console.toml"), clock=lambda: END)
    svc.refresh()
    yield svc.monitor
    svc.close()


def _drift(mon, at: datetime, rollups_after: int) -> dict[str, tuple[str, datetime]]:
    mon.rollups_after = rollups_after
    found = [f for f in mon.findings(at=at) if f.kind == "drift_share" and f.state != "insufficient data"]
    assert len({f.model for f in found}) == len(found), found  # one incident a model: the planted shift
    return {f.model: (f.id, f.onset) for f in found}


@pytest.mark.parametrize("rollups_after", [10**12, 100], ids=["raw", "rollups"])
def test_the_onset_is_the_hour_the_feature_departed(monitor, rollups_after):
    got = _drift(monitor, LATER[0], rollups_after)
    assert set(got) == set(SHIFTS)
    for model, (_, onset) in got.items():
        assert abs(onset - SHIFTS[model]) <= timedelta(hours=1), (model, onset, SHIFTS[model])


def test_the_same_onset_and_id_on_both_paths_and_at_later_views(monitor):
    seen = {(at, path): _drift(monitor, at, after) for at in LATER for path, after in (("raw", 10**12), ("rollups", 100))}
    first = seen[(LATER[0], "raw")]
    assert all(v == first for v in seen.values()), seen


def test_a_pass_at_a_new_view_keeps_the_onsets_it_found_without_reading_their_rows_again(monitor, monkeypatch):
    """An onset is a function of closed hours' rows: a pass from the rollups at a view no pass asked before (a cron
    `check` at the wall clock) finds it kept beside the rollups (`rule_memo`) instead of reading and scoring ~60 h of
    the feature again per incident; the onsets are still the raw path's, which keeps nothing."""
    from console.analytics import drift_onset

    calls = []
    real = drift_onset.departures
    monkeypatch.setattr(drift_onset, "departures", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    first = _drift(monitor, LATER[1] + timedelta(hours=1), 100)  # kept by this pass if not by an earlier one
    assert set(first) == set(SHIFTS)
    calls.clear()
    again = _drift(monitor, LATER[1] + timedelta(hours=2), 100)  # a new view: the latest windows evaluated anew
    assert again == first and calls == []
    raw = _drift(monitor, LATER[1] + timedelta(hours=2), 10**12)
    assert raw == again and len(calls) == len(SHIFTS)  # the raw path computed each model's onset


def test_each_row_is_ranked_among_its_own_hour_of_the_day_before_when_that_hour_has_a_rhythm():
    """`departures` against SciPy: an hour of the baseline day far from the reference (10:00, 5 sd up: a rhythm)
    ranks the next day's 10:00 rows among its own; an hour like the reference (11:00) ranks them in the reference."""
    from scipy import stats

    from console.analytics.drift import Reference
    from console.analytics.drift_onset import departures

    rng = np.random.default_rng(7)
    ref_values = rng.normal(0, 1, 2000).round(3)
    ref = Reference(pl.DataFrame({"x": ref_values}))["x"]
    start = datetime(2026, 7, 2)
    base10, base11 = rng.normal(5, 1, 200).round(3), rng.normal(0, 1, 200).round(3)
    cur10, cur11 = rng.normal(5.5, 1, 50).round(3), rng.normal(0.5, 1, 50).round(3)
    at = lambda day, hour, n: [day + timedelta(hours=hour, seconds=int(s)) for s in np.linspace(1, 3500, n)]  # noqa: E731
    rows = pl.DataFrame({"ts": at(start - timedelta(days=1), 10, 200) + at(start - timedelta(days=1), 11, 200)
                         + at(start, 10, 50) + at(start, 11, 50),
                         "x": np.concatenate([base10, base11, cur10, cur11])})
    got = departures(rows, ref, "x", start, start + timedelta(hours=12))
    assert got["ts"].to_list() == [start + timedelta(hours=10)] * 50 + [start + timedelta(hours=11)] * 50
    want = [stats.percentileofscore(base10, v, kind="mean") / 100 - 0.5 for v in cur10] + \
        [stats.percentileofscore(ref_values, v, kind="mean") / 100 - 0.5 for v in cur11]
    assert np.allclose(np.sort(got["v"].to_numpy()[:50]), np.sort(want[:50]))
    assert np.allclose(np.sort(got["v"].to_numpy()[50:]), np.sort(want[50:]))
