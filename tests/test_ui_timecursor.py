"""The TUI's time cursor (issue 8): `[` / `]` step by the window, `@` jumps to a time, `l` back to live; the
header says plainly when the view is not live, and a window without rows says so and where the newest is."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from console.ui.screens.overview import OverviewScreen
from ui_fixtures import FIXED, make_app, screen_text, until


async def test_step_jump_and_back_to_live(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None, "overview")
        assert app.at is None and f"{FIXED:%Y-%m-%d %H:%M:%S}Z" in screen_text(app).splitlines()[0]
        await pilot.press("left_square_bracket")  # one window (1 h on the Overview) back
        await until(pilot, lambda: app.at == FIXED - timedelta(hours=1) and app.snapshot.now == app.at, "1h back")
        head = screen_text(app).splitlines()[0]
        assert f"AT {FIXED - timedelta(hours=1):%Y-%m-%d %H:%M}Z (not live" in head
        assert app.service.at == app.at  # the facade's cursor: every read ends there
        await pilot.press("right_square_bracket")  # forward again reaches now: live
        await until(pilot, lambda: app.at is None, "live again")

        await pilot.press("at")  # jump to a day with no rows
        await until(pilot, lambda: app.screen.__class__.__name__ == "TimeJump", "the time prompt")
        await pilot.press(*"2026-03-01 08:00", "enter")
        target = datetime(2026, 3, 1, 8, 0)
        await until(pilot, lambda: app.at == target and app.snapshot.now == target, "the jump")
        text = screen_text(app)
        newest = app.service.latest_ts()
        assert "AT 2026-03-01 08:00Z (not live" in text.splitlines()[0]
        assert "no predictions in this window" in text and f"newest row {newest:%Y-%m-%d %H:%M}Z" in text

        await pilot.press("l")
        await until(pilot, lambda: app.at is None and app.snapshot.now == FIXED, "back to live")
        assert "not live" not in screen_text(app)


async def test_opens_at_the_time_the_command_line_names(tmp_path):
    """`mlops-console --at latest` on a log whose newest row is two months old opens on that row's time, not on
    an empty live view; `--since` moves the incident history with it (as `snapshot --at latest` reads them)."""
    from console.service import Service
    from console.ui.app import ConsoleApp
    from ui_fixtures import build_workspace, parse_file

    cfg = parse_file(build_workspace(tmp_path))
    later = FIXED + timedelta(days=60)
    svc = Service(cfg, clock=lambda: later)
    since = FIXED - timedelta(days=3)
    app = ConsoleApp(cfg, service=svc, poll=False, view={"at": "latest", "since": f"{since:%Y-%m-%dT%H:%M}"})
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None and app.at is not None, "the first snapshot")
        newest = svc.latest_ts()
        assert newest is not None and newest <= FIXED
        assert app.at == newest and app.snapshot.now == newest and svc.monitor.since == since
        assert sum(row.requests for row in app.snapshot.rows) > 0  # the window before the newest row has rows
        assert f"AT {newest:%Y-%m-%d %H:%M}Z (not live" in screen_text(app).splitlines()[0]
        await pilot.press("l")
        await until(pilot, lambda: app.at is None and app.snapshot.now == later, "back to live")


def test_a_bad_start_time_is_one_line_and_exit_2(tmp_path, capsys):
    from console.cli import main
    from ui_fixtures import build_workspace

    config = build_workspace(tmp_path)
    assert main(["--config", str(config), "--at", "yesterday-ish"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "yesterday-ish" in err[0]


@pytest.mark.parametrize("name", ["health", "quality", "cost"])
async def test_a_screen_stepped_back_before_the_rows_names_the_newest(tmp_path, name):
    """Health, Quality and Cost at a view a month before the log: their own result holds no rows, so each says
    so and where the newest row is (the Drift screen's words, `BaseScreen.empty_window_note`), though that row
    is after the view."""
    from console.ui.navigation import SCREENS

    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        app.set_time(FIXED - timedelta(days=30))
        await until(pilot, lambda: app.snapshot.now == FIXED - timedelta(days=30), "stepped back")
        app.push_screen(SCREENS[name].factory("fraud-detector", "production"))
        await until(pilot, lambda: name in getattr(app.screen, "loaded", ()), name, rounds=2000)
        await pilot.pause()
        newest = app.service.latest_ts()
        assert newest is not None and newest > FIXED - timedelta(days=30)
        text = screen_text(app)
        assert "no predictions in this window" in text and f"newest row {newest:%Y-%m-%d %H:%M}Z" in text


async def test_the_status_line_says_when_the_data_was_read_not_where_the_cursor_is(tmp_path):
    """With the view moved back an hour, the Overview's status line read "refreshed 11:00:00Z": the cursor's
    time, though the data had just been read at 12:00. It says when the store was last read (the wall clock);
    the header alone says the view is not live."""
    app = make_app(tmp_path)  # the wall clock pinned at FIXED (12:00:00)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None, "overview")
        assert f"refreshed {FIXED:%H:%M:%S}Z" in screen_text(app)
        await pilot.press("left_square_bracket")  # one window (1 h on the Overview) back
        back = FIXED - timedelta(hours=1)
        await until(pilot, lambda: app.at == back and app.snapshot.now == back, "1h back")
        text = screen_text(app)
        assert f"AT {back:%Y-%m-%d %H:%M}Z (not live" in text.splitlines()[0]
        assert f"refreshed {FIXED:%H:%M:%S}Z" in text and f"refreshed {back:%H:%M:%S}Z" not in text, text


async def test_stepping_back_and_forward_returns_to_live_on_a_moving_clock(tmp_path):
    """`[` then `]` on a clock that moved meanwhile stopped a few seconds short of now, "not live", frozen there.
    Forward to where the view left live is live again; and a `@` jump with an offset is that instant in UTC (the
    offset was dropped: 21:00+02:00 opened at 21:00Z), as `--at` reads it."""
    from console.service import Service
    from console.ui.app import ConsoleApp
    from ui_fixtures import build_workspace, parse_file

    cfg = parse_file(build_workspace(tmp_path))
    clock = {"now": FIXED}
    svc = Service(cfg, clock=lambda: clock["now"])
    app = ConsoleApp(cfg, service=svc, poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None, "overview")
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: app.at == FIXED - timedelta(hours=1), "1h back")
        clock["now"] = FIXED + timedelta(seconds=7)  # time passed while the operator looked
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: app.at is None, "live again")

        await pilot.press("at")
        await until(pilot, lambda: app.screen.__class__.__name__ == "TimeJump", "the time prompt")
        await pilot.press(*"2026-03-01T10:00+02:00", "enter")
        await until(pilot, lambda: app.at == datetime(2026, 3, 1, 8, 0), "the jump, in UTC")


async def test_a_time_key_during_a_rule_pass_answers_at_once_and_lists_no_other_views_incidents(tmp_path):
    """Probe C (twenty-ninth session): `[` or `l` while the rules were evaluated froze the screen 4-6 s (the cursor
    moved under the lock the rule pass holds), then listed the old view's incidents under the new view's header,
    with no rule pass for the new view after. The lock is held here as a pass in flight holds it."""
    from console.ui.messages import SnapshotReady

    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None, "overview")
        await until(pilot, lambda: app._have_findings and not app._monitoring, "the first rule pass")
        svc = app.service
        old_gen, found = svc.view_gen, list(svc.findings())
        assert found, "the workspace has incidents"
        old = [replace(f, end=None, state="firing") for f in found]  # what a pass at the old view could report
        assert all(f.firing for f in old)
        assert svc._monitor_lock.acquire(timeout=60)  # a rule pass in flight
        try:
            await pilot.press("left_square_bracket")  # answered on the event loop, the lock still held
            assert app.at == FIXED - timedelta(hours=1) and svc.view_gen == old_gen + 1
            # the pass in flight ends and reports what it found, for the old view: not listed
            app.post_message(SnapshotReady(app.snapshot, rearm=False, findings=old, gen=old_gen))
            await pilot.pause()
            assert app.incidents == [] and not app._have_findings
        finally:
            svc._monitor_lock.release()
        # the new view's pass follows, and its incidents are the view's own
        await until(pilot, lambda: app._have_findings and app.snapshot.now == app.at, "the new view's rule pass")
        assert app.incidents == [f for f in svc.findings() if f.firing]


def test_a_rule_pass_the_view_moved_during_is_not_kept(tmp_path):
    """A pass whose view moved while it ran (its reads may mix both clocks) is kept neither as the service's
    findings nor in the answers memo under the new view."""
    from console.service import Service
    from ui_fixtures import build_workspace, parse_file

    svc = Service(parse_file(build_workspace(tmp_path)), clock=lambda: FIXED)
    try:
        moved = FIXED - timedelta(hours=5)
        run = svc._rule_pass

        def moving(gen):  # the operator presses a time key while the rules are evaluated
            out = run(gen)
            svc.set_at(moved)
            return out
        svc._rule_pass = moving
        svc.findings()
        assert svc._findings is None and svc.monitoring_stale()
        svc._rule_pass = run
        assert svc._answers().get(svc._answer_key("findings")) is None  # nothing kept under the new view
        at_moved = svc.findings()
        assert svc._findings is not None and all(f.onset <= moved for f in at_moved)
    finally:
        svc.close()


def test_a_pass_that_ends_as_the_view_moves_returns_its_findings_not_none(tmp_path):
    """Thirtieth session's TUI probe: `set_at` clears the findings without the lock; a pass that had stored them
    and was still making the Overview's cells then returned None, and the Incidents screen died on a TypeError."""
    from console.service import Service
    from ui_fixtures import build_workspace, parse_file

    svc = Service(parse_file(build_workspace(tmp_path)), clock=lambda: FIXED)
    try:
        cells = svc._overview_cells
        svc._overview_cells = lambda: (cells(), svc.set_at(FIXED - timedelta(hours=1)))[0]  # a time key meanwhile
        found = svc.findings(max_age_s=0)
        assert isinstance(found, list) and found
    finally:
        svc.close()


async def test_a_screens_read_the_view_moved_under_is_read_again_for_the_new_view(tmp_path):
    """Thirtieth session's TUI probe: the Incidents screen, opened while the rules were evaluated, listed the live
    view's incidents (evidence and durations to 06:00) under the header of the hour before after `[`. A read the
    time cursor moved under is dropped and read again; the list is the new view's."""
    from console.ui.screens.incidents import IncidentsScreen

    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app._have_findings and not app._monitoring, "the first rule pass")
        svc = app.service
        screen = IncidentsScreen()
        await app.push_screen(screen)
        await until(pilot, lambda: "findings" in screen.loaded and not screen.busy("findings"), "the incidents")
        await pilot.pause()
        findings, moved = svc.findings, []

        def moving(*a, **k):  # the operator presses `[` while this read runs
            out = findings(*a, **k)
            if not moved:
                moved.append(True)
                app.call_from_thread(app.action_step_time, -1)
            return out
        svc.findings = moving
        shown, show = [], screen.show
        screen.show = lambda tag, result: (shown.append((tag, result, app.at)), show(tag, result))[1]
        screen.loaded.discard("findings")
        app.results.clear()  # read, not answered from the kept results
        screen.refresh_data()
        await until(pilot, lambda: moved and "findings" in screen.loaded and not screen.busy("findings"),
                    "the read again")
        assert app.at == FIXED - timedelta(hours=1)
        lists = [(result[0], at) for tag, result, at in shown if tag == "findings"]
        assert lists and all(now == at for now, at in lists), lists  # never the live view's list under the new one
        assert [f.id for f in screen.findings] == [f.id for f in findings()]


async def test_a_jump_to_year_one_is_refused_not_a_crash(tmp_path):
    """Probe E (twenty-ninth session): `@ 0001-01-01 00:00` was taken, and the Overview's window start overflowed:
    the console died with a traceback. A view ends between 1970 and 8999 (`analytics.windows.parse_time`)."""
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None, "overview")
        for text in ("0001-01-01 00:00", "9999-12-31 00:00"):
            await pilot.press("at")
            await until(pilot, lambda: app.screen.__class__.__name__ == "TimeJump", "the time prompt")
            await pilot.press(*text, "enter")
            await pilot.pause()
            assert app.at is None and app.is_running
            assert any("out of range" in str(n.message) for n in app._notifications), list(app._notifications)


@pytest.mark.parametrize("read_only", [False, True])
def test_a_past_views_header_at_80_columns_keeps_the_screen_and_the_read_only_marker(read_only):
    """Thirtieth session's TUI probe: the header was cut from its end, so a past view at 80 columns read
    `PROD  Overview › support-assistant …  AT ...` (which screen?) and `[read-only]` was gone. The workspace goes
    first, then the middle crumbs shrink; the screen's name and the marker stay."""
    from console.ui.widgets.breadcrumb import fitted, time_text

    room = 80 - len(time_text(FIXED, live=False).plain) - 1
    for screen in ("Incidents", "Quality", "Deployments"):
        text = fitted(["Overview", "support-assistant", screen], True, "mlops-console.toml", read_only, room).plain
        assert len(text) <= room, text
        marker = "" if not read_only else "  [read-only]" if "[read-only]" in text else "  [ro]"
        assert text.endswith(screen + marker), text
    wide = fitted(["Overview", "support-assistant", "Incidents"], True, "mlops-console.toml", read_only, 200).plain
    assert "support-assistant" in wide and "@ mlops-console.toml" in wide and ("[read-only]" in wide) == read_only


async def test_the_incident_list_of_the_view_left_is_not_shown_under_the_new_one(tmp_path):
    """Thirty-second session's TUI probe: on the demo, `[` (or `o`) on the Incidents screen kept the list and the
    triage pane of the view left ("FOR 13h00m", "EVIDENCE ... on 482 rows") under the header of the new view for
    the ~30 s its rule pass took. The list is dropped at once and says it is evaluating; the new view's follows,
    with the same incident selected."""
    import threading

    from console.ui.screens.incidents import IncidentsScreen

    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app._have_findings and not app._monitoring, "the first rule pass")
        svc = app.service
        screen = IncidentsScreen()
        await app.push_screen(screen)
        await until(pilot, lambda: "findings" in screen.loaded and not screen.busy("findings"), "the incidents")
        await pilot.pause()
        table = screen.query_one("#incidents")
        assert table.row_keys, "the workspace has incidents"
        table.select_key(table.row_keys[-1])
        chosen = screen.selected_id()
        gate, findings = threading.Event(), svc.findings
        svc.findings = lambda *a, **k: (gate.wait(30), findings(*a, **k))[1]  # the new view's pass is slow
        try:
            await pilot.press("left_square_bracket")
            await pilot.pause()
            assert app.at == FIXED - timedelta(hours=1)
            assert table.row_keys == [] and screen.findings == []
            text = screen_text(app)
            assert "evaluating the alert rules" in text and "FIRING" not in text and "resolved" not in text
        finally:
            gate.set()
        await until(pilot, lambda: "findings" in screen.loaded and not screen.busy("findings"), "the new list")
        assert screen.now == app.at
        assert [f.id for f in screen.findings] == [f.id for f in findings()]
        if chosen in table.row_keys:
            assert screen.selected_id() == chosen


async def test_the_model_pages_panels_of_the_view_left_are_not_shown_under_the_new_one(tmp_path):
    """The model page kept its ALERTS line and firing list (and every panel) of the view left under the new view's
    header until each read landed again: the firing list for the whole of the new view's rule pass."""
    import threading

    from console.ui.screens.model import ModelScreen

    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app._have_findings and not app._monitoring, "the first rule pass")
        svc = app.service
        screen = ModelScreen(model="fraud-detector", environment="production")
        await app.push_screen(screen)
        await until(pilot, lambda: {"health", "incidents"} <= screen.loaded and not screen.busy("incidents"), "panels")
        await pilot.pause()
        before = screen.parts["health"].plain
        gate, findings, health = threading.Event(), svc.findings, svc.health
        svc.findings = lambda *a, **k: (gate.wait(30), findings(*a, **k))[1]
        svc.health = lambda *a, **k: (gate.wait(30), health(*a, **k))[1]
        try:
            await pilot.press("left_square_bracket")
            await pilot.pause()
            assert app.at == FIXED - timedelta(hours=1)
            text = screen_text(app)
            assert before not in text and "none firing" not in text and screen.firing == []
        finally:
            gate.set()
        await until(pilot, lambda: {"health", "alerts"} <= set(screen.parts) and not screen.busy("incidents")
                    and not screen.busy("health"), "the new view's panels")
