"""The Overview's status line shows a refresh's reading progress only once the read has lasted
`ConsoleApp.READ_PROGRESS_AFTER_S`: a timer started with the read and stopped when it ends. A routine refresh
that ends sooner never takes the line (on the live demo it flickered "reading live.jsonl ..." at every poll).

The read is held mid-file on the real store (its progress hook runs on the refreshing thread, after the
progress is published), so the store is reading while the test looks. The time that matters is the Textual
timer's, driven from the test: paused, its second has not passed, however loaded the box; resumed, it has.
No sleep decides an outcome."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from console.config import parse_file
from console.service import Service
from console.ui.app import ConsoleApp
from console.ui.screens.overview import OverviewScreen
from ui_fixtures import FIXED, build_workspace, prediction_rows, screen_text, until, wait_for_snapshot


class HeldRead:
    """The store's progress hook: once armed, the next chunk read waits for `gate` (the read in flight)."""

    def __init__(self, warehouse) -> None:
        self.armed = False
        self.reached, self.gate = threading.Event(), threading.Event()
        warehouse.on_progress = self

    def __call__(self, progress) -> None:
        if self.armed:
            self.armed = False
            self.reached.set()
            self.gate.wait(120)


def status(app) -> str:
    return screen_text(app).splitlines()[1]


async def start_held_refresh(tmp_path, pilot, app, svc, hold, minutes: int) -> tuple[int, object, list[str]]:
    """Appends rows, starts a refresh that the store holds mid-read, with its progress timer paused at once
    (the same turn of the event loop as the start: it cannot have fired). Returns (rows expected after it,
    the paused timer, every status line the Overview writes from now on)."""
    overview = app.screen
    assert isinstance(overview, OverviewScreen)
    written: list[str] = []
    set_line = overview._set

    def spy(selector, text):  # the Overview's one writer of its lines, called through
        if selector == "#status":
            written.append(text.plain)
        set_line(selector, text)

    overview._set = spy
    before = app.snapshot.counts["predictions"]
    rows = prediction_rows(FIXED + timedelta(minutes=minutes), minutes=minutes, start_id=10_000 * minutes)
    with open(tmp_path / "logs" / "predictions.jsonl", "a") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    hold.armed = True
    app.action_refresh()
    timer = app._read_timer
    assert timer is not None, "the read's timer starts with the read"
    timer.pause()
    await until(pilot, hold.reached.is_set, "the read held mid-file")
    assert svc.ingest_progress(), "the store publishes its progress while it reads"
    overview._render_progress()  # the status tick (every 0.5 s), run now as well
    await pilot.pause()
    return before + len(rows), timer, written


def make(tmp_path):
    cfg = parse_file(build_workspace(tmp_path, refresh_seconds=3600))  # no poll timer during the test
    svc = Service(cfg, clock=lambda: FIXED + timedelta(hours=1))
    return ConsoleApp(cfg, service=svc, poll=False), svc, HeldRead(svc.warehouse)


async def test_a_read_that_ends_within_the_second_never_shows_its_progress(tmp_path):
    app, svc, hold = make(tmp_path)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_for_snapshot(app, pilot)
            await until(pilot, lambda: "registry" in status(app) and not app._polling, "the first refresh")
            expected, timer, written = await start_held_refresh(tmp_path, pilot, app, svc, hold, minutes=5)
            assert "reading" not in status(app) and "registry" in status(app)
            hold.gate.set()  # the read ends before its second is up
            await until(pilot, lambda: app.snapshot.counts["predictions"] == expected and not app._polling,
                        "the refresh's rows")
            assert app._read_timer is None and not app.read_is_slow  # the timer was stopped with the read
            timer.resume()  # a stopped timer stays stopped: its second passing now shows nothing
            await pilot.pause(app.READ_PROGRESS_AFTER_S + 0.2)
            assert not app.read_is_slow
            assert written and not [line for line in written if "reading" in line], written
            assert "reading" not in status(app) and "registry" in status(app)
    finally:
        hold.gate.set()
        svc.close()


async def test_a_read_past_the_second_shows_its_progress_until_it_ends(tmp_path):
    app, svc, hold = make(tmp_path)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_for_snapshot(app, pilot)
            await until(pilot, lambda: "registry" in status(app) and not app._polling, "the first refresh")
            expected, timer, written = await start_held_refresh(tmp_path, pilot, app, svc, hold, minutes=7)
            assert "reading" not in status(app)  # under the second: the line is still the registry's
            timer.resume()  # the second passes with the read still going
            await until(pilot, lambda: "reading predictions.jsonl" in status(app), "the reading progress")
            assert app.read_is_slow
            hold.gate.set()
            await until(pilot, lambda: app.snapshot.counts["predictions"] == expected and not app._polling,
                        "the refresh's rows")
            await until(pilot, lambda: "registry" in status(app), "the status line given back")
            assert "reading" not in status(app) and not app.read_is_slow and app._read_timer is None
            assert [line for line in written if "reading" in line]
    finally:
        hold.gate.set()
        svc.close()
