"""The Overview, driven with Pilot: the fleet on a real registry, a degraded registry, a live refresh, and an
action a crash left half-done."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from console.actions.audit import AuditLog
from console.config import parse_file
from console.service import Service
from console.ui.app import ConsoleApp
from console.ui.widgets import FilterTable
from demo_copy import demo_at
from ui_fixtures import FIXED, build_workspace, prediction_rows, screen_text, wait_for_snapshot
from fixed_time import DEMO_NOW


async def wait_until(pilot, predicate, rounds: int = 300) -> None:
    for _ in range(rounds):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    config = demo_at(tmp_path_factory.mktemp("overview") / "ws")
    tour = json.loads((config.parent / "tour.json").read_text())
    return parse_file(config), datetime.fromisoformat(tour["now"].rstrip("Z")), tour


async def test_overview_shows_the_fleet_with_champions_and_live_rollouts(demo):
    cfg, now, tour = demo
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: now), poll=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for_snapshot(app, pilot)
        await wait_until(pilot, lambda: app.registry is not None and app.registry.status == "ok")
        await wait_until(pilot, lambda: any(r.champion for r in app.snapshot.rows))
        app.action_refresh()
        await wait_until(pilot, lambda: "canary v4 25%" in screen_text(app))
        # while the refresh reads, its progress holds the status line; the registry's state comes back after
        await wait_until(pilot, lambda: "registry ok" in screen_text(app).replace("  ", " "))
        text = screen_text(app)
        for name, info in tour["models"].items():
            assert name in text
        prod = {r.name: r for r in app.snapshot.rows if r.environment == "production"}
        assert {n: r.champion for n, r in prod.items()} == {
            n: info["aliases"]["champion"] for n, info in tour["models"].items()}
        assert all(r.requests > 0 for r in prod.values())
        assert "registry ok" in text.replace("  ", " ") or "ok" in text
        assert "malformed" in text


async def test_overview_fits_80x24(demo):
    cfg, now, _ = demo
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: now), poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        lines = screen_text(app).splitlines()
        assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
        body = "\n".join(lines)
        for col in ("MODEL", "ENV", "CHAMP", "LIVE", "ALRT", "DRIFT"):  # what matters at 80 columns
            assert col in body
        assert "canary v4 25%" in body and "shadow v4" in body  # the live state, not cut
        assert "delivery-eta" in body and "fraud-detector" in body


async def test_unreachable_registry_is_a_visible_degraded_mode(tmp_path):
    cfg = replace(parse_file(build_workspace(tmp_path)), tracking_uri="http://127.0.0.1:9")
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: FIXED), poll=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_snapshot(app, pilot)
        await wait_until(pilot, lambda: app.registry is not None and app.registry.status != "connecting", 600)
        assert app.registry.status == "unreachable"
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "DEGRADED" in text
        assert "fraud-detector" in text  # the logs still show
        head = next(line for line in text.splitlines() if "DEGRADED" in line)
        # the reason once, not "(unreachable: registry http://127.0.0.1:9 is unreachable)"
        assert "DEGRADED (http://127.0.0.1:9 is unreachable)" in head and head.count("unreachable") == 1, head


async def test_refresh_reads_appended_rows(tmp_path):
    cfg = parse_file(build_workspace(tmp_path))
    clock = {"now": FIXED}
    svc = Service(cfg, clock=lambda: clock["now"])
    app = ConsoleApp(cfg, service=svc, poll=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_snapshot(app, pilot)
        before = app.snapshot.counts["predictions"]
        later = FIXED + timedelta(minutes=10)
        rows = [r for r in prediction_rows(later, minutes=10, start_id=10_000)]
        with open(tmp_path / "logs" / "predictions.jsonl", "a") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
        clock["now"] = later
        app.action_refresh()
        await wait_until(pilot, lambda: app.snapshot.counts["predictions"] == before + len(rows))


async def test_an_interrupted_action_is_reported_at_start(tmp_path):
    cfg = parse_file(build_workspace(tmp_path))
    cfg = replace(cfg, audit_path=tmp_path / "audit.jsonl")
    AuditLog(cfg.audit_path).intent("promote", "fraud-detector", "production", to="4")
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: FIXED), poll=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_snapshot(app, pilot)
        await wait_until(pilot, lambda: any("incomplete action" in str(n.message) for n in app._notifications))


async def test_model_page_reaches_versions_deployments_and_audit(demo):
    cfg, now, _ = demo
    svc = Service(cfg, clock=lambda: now)
    app = ConsoleApp(cfg, service=svc, poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_snapshot(app, pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: getattr(app.screen, "SCREEN_NAME", "") == "model")
        model = app.screen.model
        for key, name in (("v", "versions"), ("e", "deployments"), ("a", "audit")):
            await pilot.press(key)
            await wait_until(pilot, lambda: getattr(app.screen, "SCREEN_NAME", "") == name)
            assert app.screen.model == model  # the audit trail too: opened from a model, filtered to it
            await pilot.press("escape")
            await wait_until(pilot, lambda: getattr(app.screen, "SCREEN_NAME", "") == "model")


def incident_lines(app) -> list[str]:
    """The lines of the Overview's incident list: under its title and column header, above the footer."""
    lines = screen_text(app).splitlines()
    title = next(i for i, line in enumerate(lines) if line.strip().startswith("Firing incidents"))
    assert lines[title + 1].split()[:2] == ["SEV", "MODEL"]
    return [line for line in lines[title + 2:-1] if line.strip()]


async def test_overview_lists_the_firing_incidents_in_the_rows_left_at_80x24(demo):
    from console.ui.screens.incidents import IncidentsScreen
    from console.ui.screens.overview import OverviewScreen

    cfg, now, _ = demo
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: now), poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        await wait_until(pilot, lambda: len(app.incidents) >= 5, 2400)  # the monitor worker's findings
        firing = list(app.incidents)
        overview = app.screen
        assert isinstance(overview, OverviewScreen)
        await wait_until(pilot, lambda: len(incident_lines(app)) == min(len(firing), 12))

        def models_whole() -> None:  # the models table keeps every row: 3 models x 2 environments
            lines = screen_text(app).splitlines()
            for r in app.snapshot.rows:
                assert any(r.name in line and r.environment in line for line in lines), (r.name, r.environment)
            assert len(app.snapshot.rows) == 6

        # 24 rows less the breadcrumb, status, models header and 6 rows, list title, list header, footer: 12 free
        models_whole()
        listed = incident_lines(app)
        assert len(firing) <= 12 and len(listed) == len(firing)  # all fit: no "+N more"
        for f, line in zip(firing, listed):
            assert f.model in line and f.rule[:12] in line
        assert not any("more" in line for line in listed)
        assert any("channel=partner_api" in line for line in listed)  # the segment is kept at 80 columns

        await pilot.resize_terminal(80, 16)  # 4 rows free: 3 incidents and "+N more"
        await wait_until(pilot, lambda: any("more" in line for line in incident_lines(app)))
        models_whole()
        listed = incident_lines(app)
        assert len(listed) == 4
        for f, line in zip(firing[:3], listed):
            assert f.model in line and f.rule[:12] in line
        assert f"+{len(firing) - 3} more" in listed[3]

        incidents = overview.query_one("#incidents", FilterTable)
        incidents.table.focus()
        incidents.table.move_cursor(row=3)
        await pilot.pause()
        await pilot.press("enter")  # "+N more": every firing incident, fleet-wide
        await wait_until(pilot, lambda: isinstance(app.screen, IncidentsScreen))
        assert app.screen.scope is None

        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is overview)
        await pilot.resize_terminal(80, 24)  # room again: the whole list, no "+N more"
        await wait_until(pilot, lambda: len(incident_lines(app)) == len(firing))
        assert not any("more" in line for line in incident_lines(app))


async def test_a_configured_log_matching_no_file_is_said_on_the_overview(tmp_path):
    """A typo in the labels path left Quality empty with no sign on screen (the CLI says it on stderr): the
    Overview's notes line names the first such path, as data (no markup, no control characters)."""
    config = build_workspace(tmp_path)
    config.write_text(config.read_text() + '\n[[logs]]\nkind = "labels"\npath = "logs/lables[red]\\u001b.csv"\n')
    cfg = parse_file(config)
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: FIXED), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_snapshot(app, pilot)
        await pilot.pause()
        text = screen_text(app)
        assert app.snapshot.missing_logs and "configured log matches no file: " in text
        assert "lables[red]\\x1b.csv" in text and "\x1b" not in text


async def test_a_log_note_is_said_on_the_overview_and_the_rest_still_shown(tmp_path):
    """A folder matching a log's glob (or an unreadable file, a failing bucket) is a note of the refresh: the CLI
    prints it on stderr; the Overview's notes line names it, while the readable log's rows are still counted."""
    config = build_workspace(tmp_path)
    (tmp_path / "logs" / "extra[b]\u001b.jsonl").mkdir()
    config.write_text(config.read_text() + '\n[[logs]]\nkind = "predictions"\npath = "logs/extra*.jsonl"\n')
    cfg = parse_file(config)
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: FIXED), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_snapshot(app, pilot)
        await pilot.pause()
        text = screen_text(app)
        assert app.snapshot.log_notes and "logs: " in text and "not a file" in text
        assert "extra[b]\\x1b.jsonl" in text and "\x1b" not in text
        assert app.snapshot.counts["predictions"] > 0


async def test_the_incident_title_says_the_rules_are_being_checked_until_a_check_ends(demo):
    """Before the first rule check ended, the Overview said "Firing incidents (0)" though the demo has firing
    incidents (qa3): it now says the rules are being checked, or that they were not (the header names why)."""
    cfg, now, _ = demo
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: now), poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        await wait_until(pilot, lambda: app._have_findings, rounds=2400)
        overview = app.screen
        assert "Firing incidents (" in screen_text(app) and "checking" not in screen_text(app)
        app._have_findings = False  # as before the first check's findings land
        overview._render_incidents()
        await pilot.pause()
        assert "Firing incidents (checking the rules...)" in screen_text(app)
        app.last_error = "monitoring: OSError: disk gone"
        overview._render_incidents()
        await pilot.pause()
        assert "Firing incidents (not checked: see the header)" in screen_text(app)


async def test_moving_the_time_cursor_drops_the_incidents_and_cells_of_the_old_view(demo):
    """After `[`, `@` or `l`, the Overview listed the old view's firing incidents (their FOR recomputed against
    the new time: "0m" at a time before they began) and the old DRIFT and COST cells under the new header, until
    the next rule check ended, seconds later on a loaded box (qa5): it now says the rules are being checked."""
    cfg, now, _ = demo
    svc = Service(cfg, clock=lambda: now)
    app = ConsoleApp(cfg, service=svc, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        await wait_until(pilot, lambda: len(app.incidents) >= 5, 2400)
        live_drift = {r.name: r.drift for r in app.snapshot.rows if r.environment == "production"}
        assert any(cell != "-" for cell in live_drift.values())
        before = now - timedelta(days=9)  # before the demo's first row: no incident, no drift
        app.set_time(before)
        assert app.incidents == [] and not app._have_findings  # nothing of the old view is listed
        await pilot.pause()
        text = screen_text(app)
        assert "Firing incidents (checking the rules...)" in text or "Firing incidents (0)" in text
        assert "fraud accuracy" not in text and "delivery latency" not in text
    # the facade's cells: a snapshot at a new time before its rule pass names no drift of the old view
    svc.set_at(None)
    assert {r.name: r.drift for r in svc.snapshot(refresh=False).rows if r.environment == "production"} == live_drift
    svc.set_at(before)
    snap = svc.snapshot(refresh=False, monitoring=False)
    assert snap.now == before and all(r.drift == "-" for r in snap.rows)
    assert all(not r.cost_usd for r in snap.rows)  # no row before the first: nothing spent that day


async def test_the_model_page_says_the_month_spend_in_dollars_as_the_cost_screen_does(demo):
    """The model page's COST line read "month 50 of $1,500": the spend lacked its dollar sign (qa5)."""
    from console.ui.screens.model import ModelScreen

    cfg, now, _ = demo
    svc = Service(cfg, clock=lambda: now)
    svc.refresh()  # the store holds the demo's month before the page reads it
    app = ConsoleApp(cfg, service=svc, poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_snapshot(app, pilot)
        app.open_model("fraud-detector", "production")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelScreen) and "of $1,500" in screen_text(app), 2400)
        line = next(l for l in screen_text(app).splitlines() if "of $1,500" in l)
        spent = svc.cost("fraud-detector")["budget"].spent_usd
        assert f"month ${spent:,.0f} of $1,500" in line, line


async def test_the_alrt_column_says_the_rules_are_being_checked_until_the_first_check_ends(demo, monkeypatch):
    """Before the first rule check ended, ALRT read "-" on every row, as "no alerts" reads (qa): delivery-eta,
    with two incidents firing, looked quiet for the seconds the check took. Until a check of the view has ended
    its production rows show a mark of their own ("…", "..." over ASCII); a later check keeps the counts known."""
    from console.ui.screens.overview import COLUMNS, OverviewScreen
    from console.ui.widgets.sparkline import unicode_ok

    cfg, now, _ = demo
    svc = Service(cfg, clock=lambda: now)
    messages: list = []
    app = ConsoleApp(cfg, service=svc, poll=False)
    alrt = [c.key for c in COLUMNS].index("alerts")
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for_snapshot(app, pilot)
        await wait_until(pilot, lambda: app._have_findings and any(r.alerts for r in app.snapshot.rows),
                         rounds=2400)
        # the first snapshot is the refresh's: the monitor worker's rule pass starts after it is posted
        first, last = [m.snapshot for m in messages if type(m).__name__ == "SnapshotReady"][0], app.snapshot
        firing = {f.model for f in app.incidents if f.ack is None}
        assert "delivery-eta" in firing
        overview = app.screen
        assert isinstance(overview, OverviewScreen)

        def alrt_cells() -> dict:
            return {(r.name, r.environment): overview.table.cells(f"{r.name}\x00{r.environment}")[alrt].plain
                    for r in app.snapshot.rows}

        overview.show_snapshot(first)  # what the screen drew before the first check ended
        app.snapshot = first
        await pilot.pause()
        cells = alrt_cells()
        assert {c for (m, env), c in cells.items() if cfg.environment(env).production} == {"…"}, cells
        assert {c for (m, env), c in cells.items() if not cfg.environment(env).production} <= {"-"}
        assert "…" in screen_text(app)  # readable at 80x24

        app.snapshot = last
        overview.show_snapshot(last)
        await pilot.pause()
        cells = alrt_cells()
        assert cells[("delivery-eta", "production")].startswith("!") and "…" not in cells.values()
        assert {m for (m, env), c in cells.items() if c.startswith("!")} == firing

    # a later check (the findings stale, the next pass not ended): the counts of the last one, not the mark
    svc._findings_at = 0.0
    assert svc.monitoring_stale()
    later = svc.snapshot(refresh=True, monitoring=False)
    assert later.alerts_checked and [r.alerts for r in later.rows] == [r.alerts for r in last.rows]
    # moving the view: the old view's counts are not this one's, so the mark again until its check ends
    svc.set_at(now - timedelta(days=1))
    assert not svc.snapshot(refresh=False, monitoring=False).alerts_checked

    monkeypatch.setenv("MLOPS_CONSOLE_ASCII", "1")
    unicode_ok.cache_clear()
    try:
        from console.ui.screens.overview import checking_mark

        assert checking_mark() == "..."
    finally:
        unicode_ok.cache_clear()


async def test_with_the_registry_down_a_rule_not_evaluated_shows_in_the_alerts_cell(tmp_path):
    """TUI probe, finding 2: with the registry unreachable the critical accuracy incident (its expected level is on
    the registry run) dropped off the Overview (`!2` became `!1`) while `check` said the model was not evaluated
    and exited 2. The row now says so: its count is a lower bound (`!1?`)."""
    cfg = replace(parse_file(demo_at(tmp_path / "ws")), tracking_uri="http://127.0.0.1:9")
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: DEMO_NOW), poll=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_snapshot(app, pilot)
        await wait_until(pilot, lambda: app.snapshot.alerts_checked and any(
            r.not_evaluated for r in app.snapshot.rows), 600)
        row = next(r for r in app.snapshot.rows if r.name == "fraud-detector" and r.production)
        assert "registry did not answer" in row.not_evaluated, row
        await pilot.pause(0.2)
        line = next(x for x in screen_text(app).splitlines() if "fraud-detector" in x and "production" in x)
        assert f"!{row.alerts}?" in line if row.alerts else "?" in line


def many_models_workspace(root, n: int):
    """A fleet of `n` models, a few rows each (more than an 80x24 Overview lists at once)."""
    config = build_workspace(root)
    rows = [{"ts": (FIXED - timedelta(minutes=m)).isoformat() + "Z", "model": f"model-{i:02d}", "version": "1",
             "request_id": f"m{i}-{m}", "environment": "production", "latency_ms": 20.0, "status": "ok"}
            for i in range(n) for m in range(1, 4)]
    with open(root / "logs" / "predictions.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    return parse_file(config)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_a_fleet_longer_than_the_screen_scrolls_down_not_sideways(tmp_path, size):
    """With 60 models the table's vertical scrollbar (two cells wide) took a column the widths counted as one:
    the table was one column too wide, so a horizontal scrollbar ate a row and `end` shifted every column left
    by one (the header read "MODEL" from the screen's first cell). The columns now fit beside the scrollbar."""
    cfg = many_models_workspace(tmp_path, 60)
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: FIXED), poll=False)
    async with app.run_test(size=size) as pilot:
        await wait_for_snapshot(app, pilot)
        await pilot.pause()
        table = app.screen.query_one("#models", FilterTable).table
        assert table.show_vertical_scrollbar  # 60 rows do not fit: it scrolls down
        assert table.max_scroll_x == 0 and not table.show_horizontal_scrollbar
        for key in ("end", "ctrl+end"):  # (DataTable's `end` is the rightmost column, `ctrl+end` the last row)
            await pilot.press(key)
            await pilot.pause()
            header = next(line for line in screen_text(app).splitlines() if "MODEL" in line and "ENV" in line)
            assert header.startswith(" MODEL"), key
        assert "model-59" in screen_text(app)
        # home and end go to the first and last row (the TUI probe: `end` scrolled sideways, and ctrl+home / ctrl+end
        # often do not get through tmux or SSH)
        table.focus()
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0 and "model-00" in screen_text(app)
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == table.row_count - 1 and "model-59" in screen_text(app)
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_with_nothing_firing_the_models_take_the_rows_the_incidents_do_not_need(tmp_path, size):
    """60 models and no incident: the models table stopped at 60% of the screen and the incident list under it
    was six empty rows at 80x24 while the models scrolled. The list now keeps its header and one row; the
    models get the rest. A long incident list still gets its rows (test above: "+N more")."""
    cfg = many_models_workspace(tmp_path, 60)
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: FIXED), poll=False)
    async with app.run_test(size=size) as pilot:
        await wait_for_snapshot(app, pilot)
        await wait_until(pilot, lambda: "Firing incidents (" in screen_text(app)
                         and "checking" not in screen_text(app), rounds=1200)
        await pilot.pause(0.2)
        lines = screen_text(app).splitlines()
        title = next(i for i, line in enumerate(lines) if "Firing incidents (0)" in line)
        below = lines[title + 2:-1]  # under the list's header, above the footer
        assert sum(not line.strip() for line in below) <= 1, lines
        header = next(i for i, line in enumerate(lines) if "MODEL" in line and "ENV" in line)
        # every row but the crumbs, status, models header, incidents title, list header, one list row and footer
        assert title - header - 1 == size[1] - 7, lines
