"""Quitting while an action runs asks first: `n` / esc stays, `y` leaves (the action is handed to the facade
to be recorded as interrupted, when it offers that)."""

from __future__ import annotations

from console.ui.screens.confirm import ActionRequest
from console.ui.screens.overview import OverviewScreen
from console.ui.screens.quit_confirm import QuitConfirm
from ui_fixtures import make_app, screen_text, until


async def test_quitting_during_an_action_asks_first(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None, "overview")
        overview = app.screen
        # an operator call in flight (as `ActionFlow._decided` sets it while the run worker works)
        overview.flow.running = ActionRequest("rollback", "Rollback", "fraud-detector", "production")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitConfirm), "the question")
        text = screen_text(app)
        assert "An action is running" in text and "Rollback" in text and "fraud-detector" in text
        await pilot.press("n")
        await until(pilot, lambda: app.screen is overview, "back, still running")
        assert app.is_running
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitConfirm), "the question again")
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running or app._exit_renderables is not None or app.return_code == 0,
                    "the console leaving")
    assert overview.flow.running is None
