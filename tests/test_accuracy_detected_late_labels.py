"""An accuracy incident is "detected" when its evidence was there: the first breaching window's end, or when that
window's last label arrived, if later. TUI probe (thirty-first session), finding 1: with labels landing hours after
their predictions, the incident said detected at the window's end, where a view (which counts the labels logged
by its end) listed nothing: `o` (go to detection) landed on "no incidents". Raw path and rollups."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from console.cli import main
from label_workspace import labelled_config

AT = datetime(2026, 11, 30, 12, 0)
LATE = timedelta(hours=6)  # every label is logged six hours after its prediction


def _workspace(tmp_path, min_rows: int):
    rng = np.random.default_rng(7)
    n = 3 * 24 * 60  # three days, one row a minute
    start = AT - timedelta(days=3)
    ts = [start + timedelta(minutes=i, seconds=20) for i in range(n)]
    y = rng.integers(0, 2, n)
    shift = start + timedelta(hours=40)  # from here one answer in three is wrong (before: one in fifty)
    wrong = np.array([rng.random() < (0.33 if t >= shift else 0.02) for t in ts])
    with (tmp_path / "p.jsonl").open("w") as f:
        for i in range(n):
            f.write(json.dumps({"ts": f"{ts[i]:%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1",
                                "request_id": f"r{i}", "prediction": str(int(y[i]) ^ int(wrong[i])),
                                "latency_ms": 10, "x": float(rng.normal())}) + "\n")
    with (tmp_path / "l.jsonl").open("w") as f:
        for i in range(n):
            if ts[i] + LATE <= AT:
                f.write(json.dumps({"request_id": f"r{i}", "label": str(int(y[i])),
                                    "ts": f"{ts[i] + LATE:%Y-%m-%dT%H:%M:%SZ}"}) + "\n")
    pl.DataFrame({"x": rng.normal(size=500), "label": ["1", "0"] * 250, "prediction": ["1", "0"] * 245 + ["0", "1"] * 5}) \
        .write_parquet(tmp_path / "ref.parquet")
    return labelled_config(tmp_path, min_rows)


def _accuracy(cfg, capsys, at: datetime) -> list[dict]:
    main(["--config", str(cfg), "check", "--all", "--at", f"{at:%Y-%m-%dT%H:%M:%S}Z", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    return [i for i in out["incidents"] if i["model"] == "m" and i["kind"] == "accuracy_drop"
            and i["state"] in ("firing", "resolved")]


@pytest.mark.parametrize("min_rows", [10**9, 100], ids=["raw", "rollups"])
def test_a_view_at_an_accuracy_incidents_detection_lists_it(tmp_path, capsys, min_rows):
    cfg = _workspace(tmp_path, min_rows)
    [incident] = _accuracy(cfg, capsys, AT)
    detected = datetime.fromisoformat(incident["detected"].replace("Z", ""))
    window_end_latest = detected - LATE  # the labels of a window ending at E are all logged by E + LATE
    assert detected > datetime.fromisoformat(incident["onset"].replace("Z", "")) + LATE - timedelta(hours=2)
    assert _accuracy(cfg, capsys, detected), f"a view at its detection {detected} lists no accuracy incident"
    assert not _accuracy(cfg, capsys, window_end_latest), "listed before its labels were logged"
