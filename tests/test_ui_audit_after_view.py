"""The Audit screen in a view of the past: the trail is shown whole (what was done since is worth seeing), but the
records made after the view's end are dimmed and counted in the status line. They were listed with nothing
saying so, as if made before the moment being looked at (thirty-second session's TUI probe)."""

from __future__ import annotations

from datetime import timedelta

from console.ui.screens.audit import AuditScreen
from ui_fixtures import FIXED, make_app, screen_text, until


async def test_records_after_the_views_end_are_dimmed_and_counted(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the workspace's default trail: this test's own
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        trail = app.service.operator.audit
        trail.clock = lambda: FIXED - timedelta(days=2)  # made before the view's end below
        trail.append({"phase": "refused", "action": "promote", "model": "fraud-detector", "outcome": "refused",
                      "message": "before the view"})
        trail.clock = lambda: FIXED - timedelta(hours=1)  # after it
        trail.append({"phase": "refused", "action": "rollback", "model": "fraud-detector", "outcome": "refused",
                      "message": "after the view"})
        app.push_screen(AuditScreen())
        await until(pilot, lambda: app.screen.loaded, "the audit trail")
        assert "after the view's end" not in screen_text(app)  # live: nothing is after the view

        app.set_time(FIXED - timedelta(days=1))
        await until(pilot, lambda: app.screen.after_view == 1 and "after the view's end" in screen_text(app),
                    "the trail read again for the view of the past")
        screen = app.screen
        after = next(k for k, r in screen.records.items() if r.get("message") == "after the view")
        before = next(k for k, r in screen.records.items() if r.get("message") == "before the view")

        def dimmed(cell) -> bool:
            return any(str(span.style) == "dim" and span.end >= len(cell) for span in cell.spans)

        assert all(dimmed(c) for c in screen.table.cells(after))
        assert not any(dimmed(c) for c in screen.table.cells(before))
        assert "1 after the view's end (dim)" in screen_text(app)
