"""An incident's onset is a fact about the rows, not about the view: on `rollup_fleet`'s 30 hours (`amount` and
`channel` drift from the middle row on), every view between the first breach and the end of the fleet lists the
feature drift with one onset, before the planted change. The first breach can be the latest window, which ends
at the view's end; the onset is then placed after the grid point before it, not a step before the view's end.
The Incidents screen's `o` goes to the first breach, where the incident is listed with that onset (at the onset
itself the evidence was not there yet)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from console.config import parse_file
from console.service import Service
from rollup_fleet import START, fleet, write_hive

HOURS = 30
NOW = START + timedelta(hours=HOURS, minutes=10)
VIEWS = [START + timedelta(hours=h, minutes=m) for h, m in ((18, 30), (21, 0), (23, 50), (27, 10), (30, 10))]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> tuple[Path, datetime]:
    root = tmp_path_factory.mktemp("onset")
    preds, labels = fleet(hours=HOURS, per_hour=200, seed=7)
    preds = preds.with_columns((pl.col("status") != "ok").alias("is_error")).drop("status")
    write_hive(preds, root)
    labels.write_parquet(root / "labels.parquet")
    feats = ["amount", "age", "speed", "country", "channel"]
    for model in ("fraud", "eta"):
        early = preds.filter((pl.col("model") == model) & (pl.col("ts") < START + timedelta(hours=10)))
        early.join(labels.select("request_id", "label"), on="request_id").select(
            *feats, "label", "prediction").write_parquet(root / f"{model}.parquet")
    names = ", ".join(f'"{f}"' for f in feats)
    (root / "console.toml").write_text(
        '[store]\npath = "store"\n[thresholds]\ndrift_share = 0.3\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[[logs]]\nkind = "labels"\npath = "labels.parquet"\n'
        f'[models.fraud]\nfeatures = [{names}]\nreference = "fraud.parquet"\n'
        f'[models.eta]\ntask = "regression"\nfeatures = [{names}]\nreference = "eta.parquet"\n', encoding="utf-8")
    eta = preds.filter(pl.col("model") == "eta").sort("ts")
    return root, eta["ts"][eta.height // 2]  # the planted change: the first drifted row


def _drift(svc: Service, at: datetime):
    return [f for f in svc.monitor.findings(at=at) if f.model == "eta" and f.rule == "default: feature drift" and f.firing]


def test_the_onset_is_the_same_at_every_view_that_lists_it(workspace):
    root, change = workspace
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    try:
        svc.refresh()
        seen = {at: _drift(svc, at) for at in VIEWS}
    finally:
        svc.close()
    assert all(len(found) == 1 for found in seen.values()), seen
    onsets = {found[0].onset for found in seen.values()}
    ids = {found[0].id for found in seen.values()}
    assert len(onsets) == 1 and len(ids) == 1, seen  # was at - 12 h at each view whose latest window breached first
    onset = onsets.pop()
    for at, (f,) in seen.items():
        assert onset <= change < f.detected <= at


async def test_o_goes_to_the_first_breach_where_the_incident_is_listed_with_its_onset(workspace):
    from console.ui.app import ConsoleApp
    from console.ui.navigation import SCREENS
    from console.ui.screens.incidents import IncidentsScreen
    from ui_fixtures import until

    root, _ = workspace
    cfg = parse_file(root / "console.toml")
    svc = Service(cfg, clock=lambda: NOW)
    back = VIEWS[3]
    app = ConsoleApp(cfg, service=svc, poll=False, view={"at": f"{back:%Y-%m-%dT%H:%M}"})
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.at == back, "the view stepped back")
            app.push_screen(SCREENS["incidents"].factory())
            await until(pilot, lambda: isinstance(app.screen, IncidentsScreen), "the incidents screen")
            inc = app.screen
            await until(pilot, lambda: "findings" in inc.loaded, "incidents", rounds=2000)
            await pilot.pause()
            (f,) = _drift(svc, back)
            table = inc.query_one("#incidents")
            await until(pilot, lambda: f.id in table.row_keys, "the drift incident listed", rounds=2000)
            assert table.select_key(f.id)
            await pilot.press("o")
            await until(pilot, lambda: app.at != back, "the jump")
            assert app.at == f.detected and f.onset < app.at  # not onset + 1 minute: nothing is listed there
            assert [(g.id, g.onset) for g in _drift(svc, app.at)] == [(f.id, f.onset)]
            assert _drift(svc, f.onset + timedelta(minutes=1)) == []
    finally:
        svc.close()
