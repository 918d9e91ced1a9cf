"""A screen's fetch that is started again (asked for another window meanwhile, or read under a view that moved) covers
the data version it starts at. It did not: `_asked_at` kept the version of the last ask, so the read landed "behind"
it, started again, landed from the result cache at once, and so on for ever; the Incidents screen spun the event loop
(the test of the incident list under a new view hung CI for 20 minutes, the Fairness read of the worst segment
landing again and again)."""

from __future__ import annotations

import threading

from textual.widgets import Static

from console.ui.screens.model import MonitorScreen
from ui_fixtures import make_app, until, wait_for_snapshot

CALLS = {"n": 0}


class Probe(MonitorScreen):
    def compose_body(self):
        yield Static(id="probe")

    starts = 0

    def show(self, tag, result):
        self.__dict__.setdefault("shown", []).append(result)

    def _start(self, tag):
        self.starts += 1
        if self.starts <= 6:  # the bound only stops the loop (it never yielded to the test), the assertions judge
            super()._start(tag)


async def test_a_fetch_started_again_under_a_new_data_version_lands_once(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        screen = Probe()
        await app.push_screen(screen)
        await pilot.pause()
        gate = threading.Event()
        CALLS["n"] = 0

        def read(svc, gate=gate):
            CALLS["n"] += 1
            gate.wait(20)
            return "rows"

        screen.fetch("t", read, key="window-1")
        screen.fetch("t", read, key="window-2")  # asked for another window while the first read runs
        app.data_version = app.data_version + ("new rows",)  # a refresh brought rows meanwhile
        gate.set()
        await until(pilot, lambda: screen.__dict__.get("shown"), "the read of window-2")
        for _ in range(10):
            await pilot.pause(0.05)
        assert screen.__dict__["shown"] == ["rows"], len(screen.__dict__["shown"])
        assert screen.starts == 2 and CALLS["n"] == 2  # window-1's read, then window-2's at the new version
        assert not screen.busy("t")
