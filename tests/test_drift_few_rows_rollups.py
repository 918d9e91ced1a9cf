"""A drift window of fewer than 500 rows has no verdict on either path (boundary probe, helper h2 of session 39).

With `[rollups] min_rows` below 500 (the README's own case of a quiet model sent to the rollups), `drift --window
2026-07` on 85 rows said status `ok` and exited 0 from the rollups, where the raw path (`min_rows` large) said
`few rows` and exited 2; a window that moved said "dataset drift: YES" on a few hundred rows. The README: "A window
of fewer than 500 rows ... shows its scores with no verdict: status `few rows` ... and `drift` exits 2".
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from console.cli import main

ROWS = 300  # by hand: fewer than the 500 a drift verdict needs, spread over 30 hours (a window read from rollups)


def _workspace(root, min_rows: int):
    rng = np.random.default_rng(7)
    lines = []
    for i in range(ROWS):  # every 6 minutes from 2026-07-03T00:00:00Z; x moved by 3 standard deviations
        ts = f"2026-07-03T{(i // 10) % 24:02d}:{(i % 10) * 6:02d}:00Z" if i < 240 else \
            f"2026-07-04T{(i - 240) // 10:02d}:{(i % 10) * 6:02d}:00Z"
        lines.append(json.dumps({"ts": ts, "model": "m", "version": "1", "request_id": f"r{i}",
                                 "x": float(rng.normal(3, 1)), "prediction": "1", "latency_ms": 10}))
    (root / "p.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "ref.csv").write_text("x\n" + "\n".join(f"{v:.4f}" for v in rng.normal(0, 1, 600)) + "\n",
                                  encoding="utf-8")
    config = root / "c.toml"
    config.write_text(f'[store]\npath = "store"\n[rollups]\npath = "rollups"\nmin_rows = {min_rows}\n'
                      '[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
                      '[models.m]\nfeatures = ["x"]\nreference = "ref.csv"\n', encoding="utf-8")
    return config


@pytest.mark.parametrize("min_rows", [1, 1_000_000_000], ids=["rollups", "raw"])
def test_a_thin_window_has_no_verdict_on_either_path(tmp_path, capsys, monkeypatch, min_rows):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    config = _workspace(tmp_path, min_rows)
    code = main(["--config", str(config), "drift", "m", "--window", "2026-07", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert out["note"].startswith(f"{ROWS} rows in this window; a drift verdict needs 500"), out["note"]
    assert out["dataset"]["status"] == "few rows" and out["dataset"]["drifted"] is False, out["dataset"]
    assert [(f["n_cur"], f["status"], f["drifted"]) for f in out["features"]] == [(ROWS, "few rows", False)]
    assert code == 2
    if min_rows == 1:  # the scores themselves still come from the rollups, and say so
        assert out["features"][0]["method"] == "sketch" and "hourly rollups" in out["note"], out
