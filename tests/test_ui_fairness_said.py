"""The Fairness screen's head says why it has no worst segment: never "no segment columns configured" for a
model that has them (thirty-second session's TUI probe: a view before the log said so where `fairness --at`
says the window holds no rows)."""

from __future__ import annotations

from datetime import timedelta

from console.service import Service
from console.ui.app import ConsoleApp
from console.ui.navigation import SCREENS
from ui_fixtures import FIXED, build_workspace, parse_file, screen_text, until


def segmented_app(tmp_path):
    path = build_workspace(tmp_path)
    path.write_text(path.read_text() + '\n[models.fraud-detector]\nsegments = ["channel"]\n', encoding="utf-8")
    cfg = parse_file(path)
    return ConsoleApp(cfg, service=Service(cfg, clock=lambda: FIXED), poll=False)


async def open_fairness(app, pilot):
    import console.ui.screens.monitoring_registry  # noqa: F401 - registers the monitoring screens

    app.push_screen(SCREENS["fairness"].factory("fraud-detector", "production"))
    await until(pilot, lambda: "fairness" in getattr(app.screen, "loaded", ()), "fairness", rounds=2000)
    await pilot.pause()
    return screen_text(app)


async def test_a_view_before_the_log_says_no_rows_not_no_segment_columns(tmp_path):
    app = segmented_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        app.set_time(FIXED - timedelta(days=30))
        await until(pilot, lambda: app.snapshot.now == FIXED - timedelta(days=30), "stepped back")
        text = await open_fairness(app, pilot)
        newest = app.service.latest_ts()
        assert "no segment columns configured" not in text
        assert "no predictions in this window" in text and f"newest row {newest:%Y-%m-%d %H:%M}Z" in text

