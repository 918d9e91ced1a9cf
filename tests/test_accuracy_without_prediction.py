"""A classifier logging a score but no prediction (many do) has no accuracy: a labelled row with no prediction is
not a wrong answer. `quality` says so ("-"), and the accuracy rule must agree: it counted every such row as wrong,
fired "accuracy 0.000" and recommended a retrain (found by the first-user probe). Both the raw path and the
hourly rollups' (`[rollups] min_rows`), checked on the same log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from console.cli import main
from label_workspace import labelled_config

AT = datetime(2026, 11, 30, 12, 0)


def _workspace(tmp_path, min_rows: int, with_prediction: bool):
    rng = np.random.default_rng(3)
    n = 2400  # two days, one row a minute and more
    ts = [AT - timedelta(hours=48) + timedelta(seconds=72 * i) for i in range(n)]
    y = rng.integers(0, 2, n)
    score = np.clip(y * 0.6 + rng.random(n) * 0.5, 0, 1)
    wrong = rng.random(n) < 0.3  # 70 % right, against the reference's 100 %: the rule fires when it can read them
    with (tmp_path / "p.jsonl").open("w") as f:
        for i in range(n):
            row = {"ts": f"{ts[i]:%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1", "request_id": f"r{i}",
                   "score": round(float(score[i]), 4), "latency_ms": 10, "x": float(rng.normal())}
            if with_prediction:
                row["prediction"] = str(int(y[i]) ^ int(wrong[i]))
            f.write(json.dumps(row) + "\n")
    with (tmp_path / "l.jsonl").open("w") as f:
        for i in range(0, n, 2):
            f.write(json.dumps({"request_id": f"r{i}", "label": str(int(y[i])),
                                "ts": f"{ts[i] + timedelta(minutes=5):%Y-%m-%dT%H:%M:%SZ}"}) + "\n")
    pl.DataFrame({"x": rng.normal(size=500), "label": ["1", "0"] * 250, "prediction": ["1", "0"] * 250}) \
        .write_parquet(tmp_path / "ref.parquet")
    return labelled_config(tmp_path, min_rows)


def _accuracy(cfg, capsys) -> list[dict]:
    main(["--config", str(cfg), "check", "--all", "--at", AT.isoformat(), "--format", "json"])
    got = capsys.readouterr()
    out = json.loads(got.out)
    return [i for i in out["incidents"] if i["model"] == "m" and "accuracy" in i["kind"] + i.get("rule", "")]


@pytest.mark.parametrize("min_rows", [200_000, 100], ids=["raw", "rollups"])
def test_no_prediction_is_no_accuracy_not_a_zero_one(tmp_path, capsys, min_rows):
    found = _accuracy(_workspace(tmp_path, min_rows, with_prediction=False), capsys)
    assert found and not any(i["firing"] for i in found), found
    assert main(["--config", str(tmp_path / "c.toml"), "quality", "m", "--at", AT.isoformat(), "--format",
                 "json"]) == 0
    assert json.loads(capsys.readouterr().out)["now"]["metrics"]["accuracy"] is None


@pytest.mark.parametrize("min_rows", [200_000, 100], ids=["raw", "rollups"])
def test_with_predictions_the_rule_reads_them(tmp_path, capsys, min_rows):
    """The control: the same log with its predictions (70 % right against an expected 100 %) fires the rule."""
    found = _accuracy(_workspace(tmp_path, min_rows, with_prediction=True), capsys)
    assert any(i["firing"] for i in found), found


async def _quality_line(tmp_path, with_prediction: bool, clock, ready: str) -> str:
    """The model page's QUALITY line of the workspace's model `m` at `clock`, once it holds `ready`."""
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from ui_fixtures import screen_text, until

    cfg = parse_file(_workspace(tmp_path, 200_000, with_prediction=with_prediction))
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: clock), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the overview")
        app.open_model("m", "production")

        def quality() -> str:
            return next((t for t in screen_text(app).splitlines() if "QUALITY" in t and "labelled" in t), "")

        await until(pilot, lambda: ready in quality(), f"the quality line holding {ready!r}")
        return quality()


async def test_the_model_page_says_the_answers_are_missing_not_the_labels(tmp_path):
    """The model page said "accuracy - (no labels yet)" beside "labelled 50%" when the log has no prediction."""
    line = await _quality_line(tmp_path, False, AT, "% of")
    assert "labelled rows have no prediction" in line and "no labels yet" not in line, line


async def test_the_model_page_over_a_window_without_predictions_does_not_wait_for_labels(tmp_path):
    """Over a window holding no prediction the model page said "accuracy - (no labels yet)": there is nothing to
    label (carried from the thirty-second session's TUI probe)."""
    from datetime import timedelta

    line = await _quality_line(tmp_path, True, AT + timedelta(days=30), "of 0")
    assert "no predictions" in line and "no labels yet" not in line, line
