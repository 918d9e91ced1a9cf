"""`ConsoleScreen.read`: one read per tag at a time; asked again while it runs, exactly one more read when it lands.

The Versions, Deployments and Audit screens each carried this logic (`_loading`/`_again`); it is now one helper on
the base. A probe screen asks through it while its first read is held in a worker thread: however often it is asked
meanwhile, one more read runs after the held one lands (the newest ask's), and the screen ends on the newer data.
A helper that dropped the re-read leaves one read and the old value; one that re-read per ask leaves four reads.
"""

from __future__ import annotations

import threading

from console.ui.screens.base import ConsoleScreen
from ui_fixtures import make_app, until


class Probe(ConsoleScreen):
    """Reads `source["value"]` through `read`; the first read waits for `release` after it has read."""

    def __init__(self, source: dict, fail_first: bool = False):
        super().__init__()
        self.source, self.fail_first = source, fail_first
        self.calls: list[int] = []  # the ask number of each read run, in order
        self.shown: list = []
        self.errors: list[str] = []
        self.asks = 0
        self.computed, self.release = threading.Event(), threading.Event()

    def load(self) -> None:
        self.asks += 1
        ask = self.asks

        def fn(svc):
            value = self.source["value"]
            self.calls.append(ask)
            if len(self.calls) == 1:
                self.computed.set()
                self.release.wait(120)
                if self.fail_first:
                    raise OSError("the first read failed")
            return value

        self.read("probe", fn)

    def handle_result(self, tag: str, result) -> None:
        self.shown.append(result)

    def handle_error(self, tag: str, error: str) -> None:
        self.errors.append(error)


async def _asked_three_times_while_held(tmp_path, fail_first: bool) -> Probe:
    app = make_app(tmp_path)
    source = {"value": "old"}
    screen = Probe(source, fail_first=fail_first)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await app.push_screen(screen)
            screen.load()
            await until(pilot, screen.computed.is_set, "the first read, computed")
            assert screen.reading("probe") and screen.reading()
            source["value"] = "new"  # the change the refreshes come with
            for _ in range(3):
                screen.load()  # three refreshes while the first read is in flight
            assert screen.calls == [1]  # none of them started a read beside it
            screen.release.set()
            # a re-read starts in the handler of the read that landed: once none is in flight, none is coming
            await until(pilot, lambda: not screen.reading() and (screen.shown or screen.errors), "the reads landed")
    finally:
        screen.release.set()
    return screen


async def test_asked_while_a_read_runs_reads_exactly_once_more_with_the_newest_ask(tmp_path):
    screen = await _asked_three_times_while_held(tmp_path, fail_first=False)
    assert screen.calls == [1, 4]  # the held read, then the newest of the three asks made meanwhile
    assert screen.shown == ["old", "new"]  # the screen ends on the newer data
    assert screen.errors == []


async def test_a_failed_read_asked_again_meanwhile_is_read_again(tmp_path):
    screen = await _asked_three_times_while_held(tmp_path, fail_first=True)
    assert screen.calls == [1, 4]
    assert screen.errors == ["OSError: the first read failed"]
    assert screen.shown == ["new"]
