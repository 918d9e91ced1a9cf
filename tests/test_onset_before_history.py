"""An incident that began before the incident history (`--since`, 7 days before `--at` by default) keeps its
onset and id as the clock moves: the rules look further back for the evaluation before the breach
(`incident_rules.RuleEvaluator._look_back`), instead of placing the onset at about the history's start (QA:
`check --at` a day later gave an onset, and an id, a day later, and an acknowledgement stopped covering the
incident 7 days after it was made).

The log: one row a minute from June 20 to July 22, at 100-106 ms, 900 ms from SHIFT (July 10, 10:00) on and
during a BLIP (July 7, 06:00 to 08:00); the rule `slow`: p95 over 1 h above 500 ms (100 rows at least), so
its evaluations end every hour (a quarter of the span, whole hours: `evidence.grid_step`).

By hand: the window ending at 10:00 holds the 10:00 row alone at 900 ms (p95 about 106: no breach), the one
ending at 11:00 holds 60 or 61 rows of 900 ms in its 100 or 120 (raw rows grown back to 100 rows, rollups by a
whole hour to 120): the breach is detected at 11:00, and the change point of the rows in it and the window
before it is the first 900 ms row, 10:00:00 exactly. So the onset is SHIFT and the id `m:slow:20260710T1000`
at every view from July 11 on, though from July 18 the history (7 days) starts after SHIFT: the rule is
already breaching at its first evaluation. The BLIP is a resolved incident of its own, listed while it lies in
the history (a view on July 10) and not once the history has moved past it, though the look-back (14 days)
reads it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from console.cli import main
from console.incident_rules import SPARSE_REACH

SHIFT = datetime(2026, 7, 10, 10)
BLIP = (datetime(2026, 7, 7, 6), datetime(2026, 7, 7, 8))
FIRST, LAST = datetime(2026, 6, 20), datetime(2026, 7, 22)
DETECTED = SHIFT + timedelta(hours=1)  # the first breaching window's end (by hand, above)
SHIFT_ID = "m:slow:20260710T1000"
VIEWS = ["2026-07-18T00:00Z", "2026-07-19T06:00Z", "2026-07-20T12:00Z", "2026-07-21T18:00Z"]  # history after SHIFT


def write_workspace(tmp: Path, rollups: bool, first: datetime = FIRST, shift: datetime = SHIFT,
                    every: timedelta = timedelta(minutes=1), blip: tuple = BLIP) -> Path:
    rows, t, i = [], first, 0
    while t <= LAST:
        latency = 900.0 if t >= shift or blip[0] <= t < blip[1] else 100.0 + i % 7
        rows.append(json.dumps({"ts": f"{t:%Y-%m-%dT%H:%M:%S}Z", "model": "m", "request_id": f"r{i}",
                                "version": "1", "latency_ms": latency, "status": "ok"}))
        t, i = t + every, i + 1
    (tmp / "logs").mkdir()
    (tmp / "logs" / "preds.jsonl").write_text("\n".join(rows) + "\n")
    cfg = tmp / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "logs/preds.jsonl"\n'
                   '[models.m]\ntask = "classification"\n[store]\npath = "store"\n[audit]\npath = "audit.jsonl"\n'
                   + ('[rollups]\npath = "rollups"\nmin_rows = 1000\n' if rollups else "")
                   + '[[alerts]]\nname = "slow"\nmetric = "p95_ms"\nop = ">"\nthreshold = 500\nwindow = "1h"\n'
                   'severity = "critical"\n')
    return cfg


def check(cfg: Path, at: str, capsys, *extra: str) -> tuple[int, list[dict]]:
    code = main(["--config", str(cfg), "check", "--all", "--format", "json", "--at", at, *extra])
    return code, json.loads(capsys.readouterr().out)["incidents"]


def slow(cfg: Path, at: str, capsys, *extra: str) -> list[dict]:
    return [i for i in check(cfg, at, capsys, *extra)[1] if i["rule"] == "slow"]


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.rstrip("Z"))


@pytest.mark.parametrize("rollups", [False, True], ids=["raw", "rollups"])
def test_onset_and_id_stay_as_the_clock_moves(tmp_path, capsys, rollups):
    cfg = write_workspace(tmp_path, rollups)
    for at in VIEWS:
        (f,) = slow(cfg, at, capsys)  # the BLIP, before the history, is not listed
        assert (f["id"], _when(f["onset"]), _when(f["detected"]), f["firing"]) == (SHIFT_ID, SHIFT, DETECTED, True), (
            at, f)
        assert f["onset_before"] is False, f
    assert (tmp_path / "rollups").is_dir() == rollups  # the path taken: the rollups were built and read
    # at the first breach (the Incidents screen's `o`: `Finding.first_listed`) the history holds SHIFT and the
    # BLIP: both listed, the same onset and id
    blip, shift = sorted(slow(cfg, f"{DETECTED:%Y-%m-%dT%H:%M}Z", capsys), key=lambda f: f["onset"])
    assert (shift["id"], _when(shift["onset"]), shift["firing"]) == (SHIFT_ID, SHIFT, True), shift
    assert (_when(blip["onset"]), blip["firing"]) == (BLIP[0], False), blip
    # a history holding the shift and looking at it on its own grid (21.5 days): a rate rule's step is not widened
    # over a long history (`incident_rules.RATE_LIMIT`; it was 3 h, the onset clamped to 10:20 and detected at 12:00),
    # so it is seen as on the default history: detected at 11:00, the onset SHIFT
    on_own = [f for f in slow(cfg, VIEWS[-1], capsys, "--since", "2026-07-01") if f["firing"]]
    assert [(_when(f["onset"]), _when(f["detected"])) for f in on_own] == [(SHIFT, DETECTED)], on_own


@pytest.mark.parametrize("rollups", [False, True], ids=["raw", "rollups"])
def test_an_ack_of_day_one_covers_the_incident_ten_days_on(tmp_path, capsys, rollups):
    """Acknowledged on July 11 (the rule `slow` and the default SLO burn, both firing since SHIFT): `check`
    exits 0 on July 15, 19 and 21, each incident under its day-one id, acknowledged."""
    cfg = write_workspace(tmp_path, rollups)
    code, found = check(cfg, "2026-07-11T00:00Z", capsys)
    found = [f for f in found if f["firing"]]
    assert code == 1 and {(f["rule"], _when(f["onset"])) for f in found} == {
        ("slow", SHIFT), ("default: SLO burn", SHIFT)}, found
    for f in found:
        assert main(["--config", str(cfg), "ack", f["id"], "--at", "2026-07-11T00:00Z",
                     "--reason", "known: slow backend"]) == 0
    capsys.readouterr()
    for at in ("2026-07-15T00:00Z", "2026-07-19T12:00Z", "2026-07-21T00:00Z"):
        code, later = check(cfg, at, capsys)
        later = [f for f in later if f["firing"]]
        assert sorted(f["id"] for f in later) == sorted(f["id"] for f in found), (at, later)
        assert all(f["acknowledged"] for f in later) and code == 0, (at, later)


@pytest.mark.parametrize("rollups", [False, True], ids=["raw", "rollups"])
def test_a_breach_older_than_the_reach_is_said_to_be_before_it(tmp_path, capsys, rollups):
    """Slow on every row from April 1 (a row every 10 minutes): at July 20 and 21 the breach reaches back past
    the look-back's limit (SPARSE_REACH before the view). The incident is said to have begun before that limit,
    and its id does not move with the clock."""
    cfg = write_workspace(tmp_path, rollups, first=datetime(2026, 4, 1), shift=datetime(2026, 4, 1),
                          every=timedelta(minutes=10))
    seen = []
    for at in (datetime(2026, 7, 20, 12), datetime(2026, 7, 21, 0)):
        (f,) = slow(cfg, f"{at:%Y-%m-%dT%H:%M}Z", capsys)
        assert f["firing"] and _when(f["onset"]) == at - SPARSE_REACH and "began before" in f["detail"], f
        assert f["onset_before"] is True, f
        seen.append(f["id"])
    assert seen == ["m:slow:before"] * 2, seen


async def test_the_incidents_screen_lists_the_ids_check_gives(tmp_path, capsys):
    """The Incidents screen (the service's findings, as `check`'s) at two views 10 days apart: SHIFT's incident
    under one id and onset; an incident breaching for all of SPARSE_REACH under its fixed id, its onset cell
    "<" the limit's hour and its FOR cell over 90 days. `check`'s text says the same "since before"."""
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from console.ui.navigation import SCREENS
    from console.ui.screens.incidents import IncidentsScreen
    from ui_fixtures import until

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shifted = write_workspace(tmp_path / "a", rollups=False)
    always = write_workspace(tmp_path / "b", rollups=False, first=datetime(2026, 4, 1), shift=datetime(2026, 4, 1),
                             every=timedelta(minutes=10))
    views = [(shifted, datetime(2026, 7, 11), SHIFT_ID, "07-10 10:00", "14h00m"),
             (shifted, datetime(2026, 7, 21), SHIFT_ID, "07-10 10:00", "10d14h"),
             (always, datetime(2026, 7, 21), "m:slow:before", "<04-22 00h", ">90d00h")]
    for cfg_path, at, key, onset_cell, for_cell in views:
        svc = Service(parse_file(cfg_path), clock=lambda at=at: at)
        svc.refresh()
        app = ConsoleApp(svc.cfg, service=svc, poll=False)
        async with app.run_test(size=(120, 40)) as pilot:
            app.push_screen(SCREENS["incidents"].factory())
            await until(pilot, lambda: isinstance(app.screen, IncidentsScreen), "the incidents screen")
            await until(pilot, lambda: "findings" in app.screen.loaded, "incidents")
            await pilot.pause()
            table = app.screen.query_one("#incidents")
            cols = [c.key for c in table.columns]
            assert key in list(table.row_keys), (at, list(table.row_keys))
            cells = [c.plain for c in table.cells(key)]
            assert (cells[cols.index("onset")], cells[cols.index("for")]) == (onset_cell, for_cell), (at, cells)
        svc.close()
    main(["--config", str(always), "check", "--at", "2026-07-21T00:00Z"])
    assert "since before 2026-04-22 00:00Z" in capsys.readouterr().out
