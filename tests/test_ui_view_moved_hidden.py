"""A move of the time cursor hides what a monitoring screen shows of the view left until every read started for
the new view has landed (thirty-second session's TUI probe: Health kept the hour before's requests under the new
header for a second, Drift its verdicts for longer; the README says numbers computed for the view just left are
never shown under the new one). The progress line says the view is being read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ui_fixtures import FIXED, make_app, screen_text, until


@pytest.mark.parametrize("name", ["health", "drift", "cost"])
async def test_the_old_views_numbers_are_hidden_until_the_new_ones_land(tmp_path, name):
    import console.ui.screens.monitoring_registry  # noqa: F401 - registers the monitoring screens
    from console.ui.navigation import SCREENS

    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        app.push_screen(SCREENS[name].factory("fraud-detector", "production"))
        await until(pilot, lambda: name in getattr(app.screen, "loaded", ()), name, rounds=2000)
        await pilot.pause()
        screen = app.screen
        live = screen_text(app)
        assert "fraud-detector" in live.splitlines()[0] and not screen.has_class("-view-moved")

        app.set_time(FIXED - timedelta(days=30))  # before the log: every number of the screen changes
        assert screen.has_class("-view-moved")
        await pilot.pause()
        now = screen_text(app)
        if screen.has_class("-view-moved"):  # the new view's reads still running: nothing of the old one is shown
            assert "reading the view at the new time" in now or "working:" in now, now
            body = now.splitlines()[1:-2]  # the header names the new time; the progress line and the footer
            assert not any(line.strip() for line in body), now
        else:  # (a read this quick already landed: the new view's numbers)
            assert "no predictions in this window" in now or name != "health", now
        await until(pilot, lambda: not screen.has_class("-view-moved"), "the new view's reads", rounds=2000)
        await pilot.pause()
        assert "no predictions in this window" in screen_text(app) or name != "health"


async def test_deployments_of_the_view_left_are_not_shown_under_the_new_one(tmp_path):
    """Deployments kept the live view's serving table (fraud-detector's champion v3, deployed two days ago) and
    timeline under the header of a view three days back until its reload landed, seconds later on a busy box; a
    load that was running when the cursor moved was shown too. Now the tables empty as the view moves, the title
    says they are being read, and only a load started for the new view fills them: no champion then."""
    from console.ui.screens.deployments import DeploymentsScreen

    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        app.push_screen(DeploymentsScreen("fraud-detector", "production"))
        screen = app.screen

        def production() -> list[str]:
            return [c.plain for c in screen.query_one("#serving").cells("production")]

        await until(pilot, lambda: screen.loaded and production()[:2] == ["production", "v3"], "the live serving")
        assert "03-08 12:00" in screen_text(app)  # the deploy event, two days before FIXED

        screen.load()  # a load of the live view in flight as the cursor moves
        app.set_time(FIXED - timedelta(days=3))
        # what the next frame paints: nothing of the live view (the reload lands after the snapshot's poll)
        assert screen.query_one("#serving").row_keys == [] and screen.query_one("#timeline").row_keys == []
        for _ in range(400):
            await pilot.pause(0.05)
            text = screen_text(app)
            assert "v3" not in text and "03-08 12:00" not in text, text
            if screen.loaded and not screen.reading() and production():
                break
        else:
            raise AssertionError("the new view's deployments never landed")
        assert production()[:2] == ["production", "-"]
