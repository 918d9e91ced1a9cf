"""The Versions screen with the registry down says so on the screen, once (thirty-second session's TUI probe:
with the registry unreachable it showed an empty table, "reading the registry..." and a new toast at every
refresh, since the registry's "not asked again for 9 s: it failed 6 s ago" made each message new; three at a
time covered half of an 80x24 screen)."""

from __future__ import annotations

from console.sources.registry import RegistryUnavailable
from console.ui.screens.versions import VersionsScreen
from ui_fixtures import make_app, screen_text, until


async def test_registry_down_is_said_on_the_screen_with_one_toast(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        calls, toasts = [], []

        def versions(model):
            calls.append(model)
            raise RegistryUnavailable(f"registry http://127.0.0.1:5999 is unreachable (not asked again for "
                                      f"{15 - len(calls)} s: it failed {len(calls)} s ago)")
        app.service.versions = versions
        notify = app.notify
        app.notify = lambda message, **kw: (toasts.append(message), notify(message, **kw))[1]
        screen = VersionsScreen(model="fraud-detector", environment="production")
        await app.push_screen(screen)
        for n in range(1, 4):  # three refresh ticks, the registry still down
            await until(pilot, lambda: len(calls) >= n and not screen.reading(), f"read {n}")
            screen.show_snapshot(app.snapshot)
        await until(pilot, lambda: len(calls) >= 4 and not screen.reading(), "read 4")
        await pilot.pause()
        assert len([t for t in toasts if "unreachable" in t]) == 1, toasts
        text = screen_text(app)
        assert "registry DEGRADED" in text and "reading the registry" not in text, text

        app.service.versions = lambda model: []  # back: the head is the actions' again
        screen.show_snapshot(app.snapshot)
        await until(pilot, lambda: screen.loaded and not screen.reading(), "the registry back")
        await pilot.pause()
        assert "DEGRADED" not in screen_text(app) and "actions act on" in screen_text(app)


async def test_at_80_columns_the_head_says_why_the_registry_failed(tmp_path):
    """A real registry refusing connections, at 80x24: the one-line head wrapped at a word and showed its first line
    only, "registry DEGRADED (no versions read) registry http://127.0.0.1:9 is", the reason cut off with no mark
    of a cut. The head now takes the lines the reason needs (up to three)."""
    from dataclasses import replace

    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from ui_fixtures import FIXED, build_workspace

    cfg = replace(parse_file(build_workspace(tmp_path)), tracking_uri="http://127.0.0.1:9")
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: FIXED), poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        screen = VersionsScreen(model="fraud-detector", environment="production")
        await app.push_screen(screen)
        await until(pilot, lambda: screen.failed is not None and not screen.reading(), "the failed read", rounds=900)
        await pilot.pause()
        head = " ".join(line.strip() for line in screen_text(app).splitlines()[1:4])
        assert "registry DEGRADED" in head and "is unreachable" in head, screen_text(app)


async def test_with_no_registry_configured_the_screen_does_not_say_it_did_not_answer(tmp_path):
    """With no `[registry]` at all the lineage pane said "the registry did not answer", sending an on-call engineer
    to look for an outage; the head said "no registry configured". Both now say there is none."""
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        screen = VersionsScreen(model="fraud-detector", environment="production")
        await app.push_screen(screen)
        await until(pilot, lambda: screen.failed is not None and not screen.reading(), "the failed read")
        await pilot.pause()
        text = screen_text(app)
        assert "no registry configured" in text and "did not answer" not in text, text
