"""The Incidents screen says what is known: a rule whose window lacks the rows or labels to judge reads
"too few" (never "resolved"), with the evidence behind each verdict in its own column and in the detail
pane. On the small UI workspace (50 minutes of rows: every rule short of its minimum), at both sizes."""

from __future__ import annotations

import pytest

from console.config import parse_file
from console.service import Service
from console.ui.app import ConsoleApp
from console.ui.navigation import SCREENS
from console.ui.screens.incidents import IncidentsScreen
from ui_fixtures import FIXED, build_workspace, screen_text, until


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    cfg = parse_file(build_workspace(tmp_path_factory.mktemp("states")))
    svc = Service(cfg, clock=lambda: FIXED)
    svc.refresh()
    yield cfg, svc
    svc.close()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_rules_without_enough_rows_read_too_few_with_their_evidence(workspace, size):
    cfg, svc = workspace
    findings = svc.findings(max_age_s=0)
    assert findings and all(f.status == "insufficient data" for f in findings)
    app = ConsoleApp(cfg, service=svc, poll=False)
    async with app.run_test(size=size) as pilot:
        app.push_screen(SCREENS["incidents"].factory())
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen), "the incidents screen")
        inc = app.screen
        await until(pilot, lambda: "findings" in inc.loaded, "incidents")
        await pilot.pause()
        table = inc.query_one("#incidents")
        keys = list(table.row_keys)
        assert len(keys) == len(findings)
        states = {[c.plain for c in table.cells(k)][0] for k in keys}
        assert states == {"too few"}
        shown = screen_text(app)
        assert f"0 firing, 0 resolved, {len(findings)} insufficient data" in shown
        assert "resolved" not in shown.replace("0 resolved", "")
        burn = next(f for f in findings if f.model == "fraud-detector" and f.rule == "default: SLO burn")
        assert table.select_key(burn.id)
        await until(pilot, lambda: "insufficient data" in screen_text(app) and "EVIDENCE" in screen_text(app),
                    "the detail pane")
        assert "50 rows, needs 100" in screen_text(app)  # 50 one-minute rows in production vs the minimum
        cols = [c.key for c in table.columns]
        if "evidence" in cols:
            assert [c.plain for c in table.cells(burn.id)][cols.index("evidence")] == "50 rows, needs 100"
        if size == (120, 40):
            assert "evidence" in cols
