"""The model page's HEALTH line with no request in its hour says so, never "SLO ok" (thirty-second session's
TUI probe: the demo's delivery-eta at @ 2026-11-01 12:00, before its log, read "p95 - err - SLO ok (1h)"
beside "0 req/24h"; `health --at` says the window holds no rows)."""

from __future__ import annotations

from datetime import timedelta

from console.ui.screens.model import ModelScreen
from ui_fixtures import FIXED, make_app, screen_text, until


async def test_a_view_before_the_log_says_no_predictions_not_slo_ok(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        app.set_time(FIXED - timedelta(days=30))
        await until(pilot, lambda: app.snapshot.now == FIXED - timedelta(days=30), "stepped back")
        screen = ModelScreen(model="fraud-detector", environment="production")
        await app.push_screen(screen)
        await until(pilot, lambda: "health" in screen.loaded, "health", rounds=2000)
        await pilot.pause()
        health = next(row for row in screen_text(app).splitlines() if row.lstrip().startswith("HEALTH"))
        newest = app.service.latest_ts()
        assert "SLO ok" not in health and "no predictions in this window" in health, health
        assert f"newest row {newest:%Y-%m-%d %H:%M}Z" in health, health


async def test_the_live_view_with_requests_keeps_its_numbers(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        screen = ModelScreen(model="fraud-detector", environment="production")
        await app.push_screen(screen)
        await until(pilot, lambda: "health" in screen.loaded, "health", rounds=2000)
        await pilot.pause()
        health = next(row for row in screen_text(app).splitlines() if row.lstrip().startswith("HEALTH"))
        assert "p95 " in health and "SLO " in health and "no predictions" not in health, health
