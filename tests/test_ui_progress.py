"""While a screen's reads run it says what it is computing and for how long, and shows what is ready already
(issue 12: first visits showed only "loading..." for tens of seconds on a busy box).

The drift read is held in flight on the real Service (a gated subclass), never replaced; no timing is asserted,
only what the screen says while it waits and after."""

from __future__ import annotations

import re
import threading

from console.config import parse_file
from console.service import Service
from console.ui.app import ConsoleApp
from console.ui.screens.drift import DriftScreen
from console.ui.screens.model import ModelScreen
from console.ui.screens.overview import OverviewScreen
from ui_fixtures import FIXED, build_workspace, screen_text, until

SECONDS = r"\d+\.\d s"


class HeldDrift(Service):
    """The real service; `drift` waits for `gate` (a slow drift computation, held as long as the test needs)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()

    def drift(self, *args, **kwargs):
        self.gate.wait(120)
        return super().drift(*args, **kwargs)


async def test_screens_show_what_is_ready_and_what_they_wait_for(tmp_path):
    cfg = parse_file(build_workspace(tmp_path, refresh_seconds=3600))
    svc = HeldDrift(cfg, clock=lambda: FIXED)
    app = ConsoleApp(cfg, service=svc, poll=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None,
                        "the overview")
            await pilot.press("enter")  # the first row's model page
            await until(pilot, lambda: isinstance(app.screen, ModelScreen), "the model page")
            page = app.screen
            await until(pilot, lambda: {"health", "quality", "cost"} <= page.loaded, "the panels not held")
            await until(pilot, lambda: re.search(r"DRIFT\s+computing drift \(24h\)\.\.\. " + SECONDS,
                                                 screen_text(app)), "the drift panel saying what it waits for")
            text = screen_text(app)
            assert "drift" not in page.loaded and "loading..." not in text
            health = next(line for line in text.splitlines() if "HEALTH" in line)
            assert "computing" not in health and "..." not in health  # ready panels show their data meanwhile

            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, DriftScreen), "the drift screen")
            drift = app.screen
            await until(pilot, lambda: re.search(r"computing drift over 24h: every feature against the "
                                                 r"reference\.\.\. " + SECONDS, screen_text(app)),
                        "the drift head saying what it computes, and for how long")
            svc.gate.set()
            await until(pilot, lambda: drift.report is not None and "computing" not in screen_text(app),
                        "the drift result")
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is page and "drift" in page.loaded
                        and "computing" not in screen_text(app), "the model page's drift panel")
    finally:
        svc.gate.set()
