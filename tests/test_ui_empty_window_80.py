"""At 80x24 a screen's "no predictions in this window" names the newest row's time whole (thirty-second
session's TUI probe: after Health's and Quality's window keys, and after Cost's "no priced traffic yet", the
note was cut at "newest row 2026-12-05 2…" or "newest row 202…")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ui_fixtures import FIXED, make_app, screen_text, until


@pytest.mark.parametrize("name", ["health", "quality", "cost"])
async def test_the_newest_rows_time_is_whole_at_80_columns(tmp_path, name):
    import console.ui.screens.monitoring_registry  # noqa: F401 - registers the monitoring screens
    from console.ui.navigation import SCREENS

    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        app.set_time(FIXED - timedelta(days=30))
        await until(pilot, lambda: app.snapshot.now == FIXED - timedelta(days=30), "stepped back")
        app.push_screen(SCREENS[name].factory("fraud-detector", "production"))
        await until(pilot, lambda: name in getattr(app.screen, "loaded", ()), name, rounds=2000)
        await pilot.pause()
        newest = app.service.latest_ts()
        text = screen_text(app)
        assert "no predictions in this window" in text and f"newest row {newest:%Y-%m-%d %H:%M}Z" in text, text
