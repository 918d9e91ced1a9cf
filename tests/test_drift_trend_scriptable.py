"""The Drift screen's trend is scriptable: `drift MODEL --trend --format json` gives each feature's score per bucket,
the points the screen's chart draws (the differential probe h7 read every number on the TUI's screens against the
CLI's JSON; the chart's last/min/max and the TREND column were the only ones no command printed)."""

from __future__ import annotations

import json
import re

from console.cli import main
from snapshot_workspace import FIXED_NOW, demo_service, demo_workspace, make_app  # noqa: F401 - fixtures
from ui_fixtures import screen_text, until

MODEL = "delivery-eta"  # its festival: a trend that rises past the threshold and falls again


def _close(shown: str, value: float) -> bool:
    """`shown` is `value` at the precision printed (half a unit of its last digit)."""
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return abs(float(shown) - value) <= 0.5 * 10 ** -decimals + 1e-12


async def test_the_drift_charts_last_min_max_are_drift_trends(demo_workspace, demo_service, capsys):
    from console.ui.screens.drift import DriftScreen

    cfg, at = str(demo_workspace / "mlops-console.toml"), f"{FIXED_NOW:%Y-%m-%dT%H:%MZ}"
    assert main(["--config", cfg, "--at", at, "drift", MODEL, "--window", "24h", "--trend", "--format", "json"]) == 0
    trend = json.loads(capsys.readouterr().out)["trend"]
    assert len(trend) == 7 and all(len(pts) > 24 for pts in trend.values())  # the history's buckets, not the window's

    app = make_app(demo_service)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the overview")
        app.open_screen("drift", model=MODEL, environment="production")

        def head() -> str:
            return next((t for t in screen_text(app).splitlines() if " score, drift when " in t and " last " in t), "")

        await until(pilot, lambda: isinstance(app.screen, DriftScreen) and head(), "the trend chart")
        line = head()
    feature = line.split()[0]
    shown = dict(re.findall(r"\b(last|min|max) (\S+)", line))
    scores = [p["score"] for p in trend[feature] if p["score"] is not None]
    assert scores, trend[feature]
    for what, value in (("last", scores[-1]), ("min", min(scores)), ("max", max(scores))):
        assert _close(shown[what], value), (line, what, value)


def test_the_trend_is_said_in_text_too(demo_workspace, capsys):
    """The text form ends with one line per feature: the numbers the chart's head says."""
    cfg, at = str(demo_workspace / "mlops-console.toml"), f"{FIXED_NOW:%Y-%m-%dT%H:%MZ}"
    assert main(["--config", cfg, "--at", at, "drift", MODEL, "--window", "24h", "--trend", "--format", "json"]) == 0
    trend = json.loads(capsys.readouterr().out)["trend"]
    assert main(["--config", cfg, "--at", at, "drift", MODEL, "--window", "24h", "--trend"]) == 0
    lines = [t for t in capsys.readouterr().out.splitlines() if t.startswith("trend ")]
    assert len(lines) == len(trend)
    scores = [p["score"] for p in trend["demand_index"] if p["score"] is not None]
    line = next(t for t in lines if t.startswith("trend demand_index:"))
    assert f"max {max(scores):.3g}" in line and f"({len(trend['demand_index'])} buckets" in line, line
