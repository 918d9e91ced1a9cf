"""One refresh scheduler: a poll in flight makes the next one skip and the timer is re-armed only when it
ends (so `r` during a poll leaves one timer chain); only the visible screen fetches; results are kept per
data version, so a screen coming back, or reopened, on unchanged data computes nothing again.

Calls are counted on the real Service (a counting subclass), never replaced."""

from __future__ import annotations

import threading

from console.config import parse_file
from console.service import Service
from console.ui.app import ConsoleApp
from console.ui.screens.help import HelpScreen
from console.ui.screens.model import ModelScreen
from console.ui.screens.overview import OverviewScreen
from ui_fixtures import FIXED, build_workspace, until

SCREEN_READS = {"health", "quality", "drift", "cost", "fairness", "histograms"}


class CountingMonitor:
    """The service's real Monitor, with its screen reads counted."""

    def __init__(self, inner, calls: list[str]) -> None:
        self._inner, self._calls = inner, calls

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if name in SCREEN_READS and callable(attr):
            def counted(*args, **kwargs):
                self._calls.append(name)
                return attr(*args, **kwargs)
            return counted
        return attr


class CountingService(Service):
    """Counts polls (snapshots that ingest) and screen reads; `gate` holds a poll in flight until set."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.polls = 0
        self.gate = threading.Event()
        self.gate.set()
        self.calls: list[str] = []
        self.monitor = CountingMonitor(self.monitor, self.calls)

    def snapshot(self, refresh: bool = True, **kwargs):
        if refresh:
            self.polls += 1
            self.gate.wait(60)
        return super().snapshot(refresh=refresh, **kwargs)


def make(tmp_path, poll: bool):
    cfg = parse_file(build_workspace(tmp_path, refresh_seconds=3600))  # the timer never fires during a test
    svc = CountingService(cfg, clock=lambda: FIXED)
    return ConsoleApp(cfg, service=svc, poll=poll), svc


async def test_r_during_a_poll_leaves_one_timer(tmp_path):
    app, svc = make(tmp_path, poll=True)
    svc.gate.clear()  # the first poll stays in flight
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: svc.polls == 1, "the first poll")
        for _ in range(3):
            await pilot.press("r")  # while it runs: skipped, one more poll queued
        await pilot.pause(0.2)
        assert svc.polls == 1 and app.pending_polls() == 0
        svc.gate.set()
        await until(pilot, lambda: svc.polls == 2 and not app._polling and app.snapshot is not None,
                    "the queued poll")
        await until(pilot, lambda: app.pending_polls() == 1, "the timer re-armed")
        await pilot.press("r")  # idle now: polls at once, then re-arms one timer (the old one stopped)
        await until(pilot, lambda: svc.polls == 3 and not app._polling, "the poll asked for")
        await pilot.pause(0.2)
        assert app.pending_polls() == 1


async def test_a_hidden_screen_makes_no_calls_and_results_are_kept_per_data_version(tmp_path):
    app, svc = make(tmp_path, poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None
                    and app.screen.context() is not None, "the overview")
        app.open_model("fraud-detector", "production")
        await until(pilot, lambda: isinstance(app.screen, ModelScreen), "the model page")
        page = app.screen
        await until(pilot, lambda: {"health", "quality", "drift", "cost"} <= page.loaded, "the model page's panels")
        first = len(svc.calls)
        assert first >= 4

        await pilot.press("question_mark")  # the help covers the model page
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        svc.calls.clear()
        for n in range(3):
            before = app.snapshot
            app.action_refresh()
            await until(pilot, lambda: app.snapshot is not before and not app._polling, f"refresh {n}")
        await pilot.pause(0.3)
        assert svc.calls == []  # covered: no fetches

        await pilot.press("question_mark")  # back to the model page: it catches up, from the cache
        await until(pilot, lambda: app.screen is page, "the model page again")
        await pilot.pause(0.3)
        assert svc.calls == [] and "loading" not in str(page.query_one("#summary").content)

        await pilot.press("escape")  # reopening the page on unchanged data computes nothing either
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview again")
        app.open_model("fraud-detector", "production")
        await until(pilot, lambda: isinstance(app.screen, ModelScreen) and app.screen is not page
                    and {"health", "quality", "drift", "cost"} <= app.screen.loaded, "the reopened page")
        assert svc.calls == []
