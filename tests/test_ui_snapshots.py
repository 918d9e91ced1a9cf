"""Visual baselines of the overview: 80x24 and 120x40, default theme and NO_COLOR (fixed clock, no polling).

Regenerate after an intended change: pytest tests/test_ui_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest

from ui_fixtures import make_app, wait_for_snapshot


async def _ready(pilot) -> None:
    await wait_for_snapshot(pilot.app, pilot)
    # the baselines show the monitor's pass too (the DRIFT cell): wait for every worker to end, not for the first
    # numbers only (the shot was taken before the monitor's snapshot landed when the box was busy)
    for _ in range(2400):
        if all(w.is_finished for w in pilot.app.workers):
            break
        await pilot.pause(0.05)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_overview_default_theme(snap_compare, tmp_path, size):
    assert snap_compare(make_app(tmp_path), terminal_size=size, run_before=_ready)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_overview_no_color(snap_compare, tmp_path, monkeypatch, size):
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(make_app(tmp_path), terminal_size=size, run_before=_ready)
