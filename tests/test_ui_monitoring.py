"""The monitoring screens on the demo fleet: model page, drift (+ distributions), health, quality, fairness,
cost and incidents open by keys and show the planted problems.

The demo is built once per module; every test runs the real app (no polling) with a pinned clock and waits
for the screens' thread workers by polling the widgets (bounded loops, no timing assertions).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from console.config import parse_file
from console.service import Service
from console.ui.app import ConsoleApp
from console.ui.navigation import SCREENS
from console.ui.screens import monitoring_registry  # noqa: F401 - registers the screens
from console.ui.screens.cost import CostScreen
from console.ui.screens.drift import DistributionScreen, DriftScreen, bar, distribution_text
from console.ui.screens.fairness import FairnessScreen
from console.ui.screens.health import HealthScreen
from console.ui.screens.incidents import IncidentsScreen
from console.ui.screens.model import ModelScreen, duration
from console.ui.screens.quality import QualityScreen
from console.ui.widgets import FilterTable, TimeChart
from demo_copy import demo_at
from ui_fixtures import screen_text as text_of
from ui_fixtures import until

SMALL, LARGE = (80, 24), (120, 40)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    config = demo_at(tmp_path_factory.mktemp("ui-monitoring") / "ws")
    now = datetime.fromisoformat(json.loads((config.parent / "tour.json").read_text())["now"].rstrip("Z"))
    cfg = parse_file(config)
    svc = Service(cfg, clock=lambda: now)
    svc.MONITOR_TTL_S = 3600.0  # incidents are computed once for the module, not again per test
    svc.refresh()
    svc.findings()
    yield cfg, svc
    svc.close()


def make_app(demo) -> ConsoleApp:
    cfg, svc = demo
    return ConsoleApp(cfg, service=svc, poll=False)




def table(screen, selector: str) -> FilterTable:
    return screen.query_one(selector, FilterTable)


def plain_row(t: FilterTable, key: str) -> list[str]:
    return [c.plain for c in t.cells(key)]


def column(t: FilterTable, key: str) -> int:
    return [c.key for c in t.columns].index(key)


async def open_model(app, pilot, model: str) -> ModelScreen:
    """The model page pushed directly (the overview's enter is covered by its own test)."""
    await app.push_screen(ModelScreen(model, "production"))
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ModelScreen)
    return screen


async def press_and_wait(app, pilot, key: str, cls, tag: str):
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, cls), f"{cls.__name__} after {key!r}")
    screen = app.screen
    await until(pilot, lambda: tag in screen.loaded, f"{cls.__name__} data")
    await pilot.pause()
    return screen


# ---------------------------------------------------------------------------------------- registry


def test_screens_are_registered_for_the_palette():
    for name in ("model", "drift", "health", "quality", "fairness", "cost"):
        assert SCREENS[name].needs_model, name
    assert not SCREENS["incidents"].needs_model
    fleet = SCREENS["incidents"].factory()  # what the palette builds: fleet-wide
    assert isinstance(fleet, IncidentsScreen) and fleet.scope is None
    scoped = SCREENS["incidents"].factory(model="delivery-eta", environment="production")  # the model page
    assert scoped.scope == "delivery-eta"
    ids = [b.id for cls in (ModelScreen, DriftScreen, HealthScreen, IncidentsScreen) for b in cls.BINDINGS]
    assert all(ids) and len(ids) == len(set(ids))


def test_bars_and_durations_read_without_colour():
    assert bar(0.5, 1.0, 10, ascii=True) == "#####     "
    assert bar(0.001, 1.0, 10, ascii=True).strip() == "."  # a non-zero share is never invisible
    assert bar(0.0, 1.0, 4, ascii=True) == "    "
    assert duration(datetime(2026, 1, 2, 3, 4) - datetime(2026, 1, 1, 0, 0)) == "1d03h"

    class H:
        labels, edges = ("a", "b"), ()
        ref_share, cur_share = (0.75, 0.25), (0.25, 0.75)

    lines = distribution_text(H, 60, ascii=True).plain.splitlines()
    assert lines[0].split() == ["VALUE", "REFERENCE", "CURRENT"]
    assert "75.0%" in lines[1] and "25.0%" in lines[1]


# ---------------------------------------------------------------------------------------- navigation


async def test_overview_enter_opens_the_model_page_and_each_screen_by_key(demo):
    app = make_app(demo)
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        await pilot.pause()
        overview = app.screen
        models = overview.query_one("#models", FilterTable)
        assert models.select_key("delivery-eta\x00production")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ModelScreen), "the model page")
        page = app.screen
        assert (page.model, page.environment) == ("delivery-eta", "production")
        await until(pilot, lambda: {"health", "incidents", "cost"} <= page.loaded, "model page panels")
        await pilot.pause()
        shown = text_of(app)
        for label in ("SERVING", "HEALTH", "QUALITY", "DRIFT", "COST", "ALERTS"):
            assert label in shown
        assert "champion v5" in shown and "firing" in shown
        firing = table(page, "#firing")
        assert "delivery latency" in [plain_row(firing, k)[column(firing, "rule")] for k in firing.row_keys]

        for key, cls, tag in (("d", DriftScreen, "drift"), ("h", HealthScreen, "health"),
                              ("u", QualityScreen, "quality"), ("f", FairnessScreen, "fairness"),
                              ("c", CostScreen, "cost"), ("i", IncidentsScreen, "findings")):
            screen = await press_and_wait(app, pilot, key, cls, tag)
            assert screen.model == "delivery-eta"
            assert "delivery-eta" in text_of(app).splitlines()[0]  # the breadcrumb names the model
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is page, f"back on the model page from {cls.__name__}")


# ---------------------------------------------------------------------------------------- drift


async def test_drift_sorts_by_severity_and_opens_distributions(demo):
    app = make_app(demo)
    async with app.run_test(size=SMALL) as pilot:
        await open_model(app, pilot, "delivery-eta")
        drift = await press_and_wait(app, pilot, "d", DriftScreen, "drift")
        await pilot.press("7")
        await until(pilot, lambda: drift.report is not None and drift.report["window"] == "7d"
                    and table(drift, "#features").row_keys and drift.report.get("series"),
                    "the 7d drift table with its trends (the second phase)")
        await pilot.pause()
        features = table(drift, "#features")
        first = features.row_keys[:3]
        assert "demand_index" in first, first
        row = plain_row(features, "demand_index")
        assert row[column(features, "verdict")] == "DRIFT"
        assert row[column(features, "when")] == "score >= 0.1"
        assert row[column(features, "trend")].strip()  # a sparkline of its score over time
        verdicts = [plain_row(features, k)[column(features, "verdict")] for k in features.row_keys]
        assert verdicts == sorted(verdicts, key=lambda v: v != "DRIFT")  # drifted first
        shown = text_of(app)
        assert "[7d]" in shown and "features drifted" in shown and "threshold 50%" in shown
        assert "KIND" not in shown  # low-priority columns hide at 80 columns
        assert drift.query_one("#feature-chart").lo == 0.0  # scores and p-values: no axis below 0

        features.select_key("demand_index")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DistributionScreen), "the distributions")
        dist = app.screen
        await until(pilot, lambda: dist.hist is not None, "the histograms")
        await pilot.pause()
        assert dist.feature == "demand_index" and dist.window == "7d"
        shown = text_of(app)
        assert "REFERENCE" in shown and "CURRENT" in shown
        assert dist.hist.labels[0] in shown
        assert "demand_index" in shown.splitlines()[0]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is drift, "back on drift")
        await pilot.press("w")  # cycles 7d -> 1h
        await until(pilot, lambda: drift.report["window"] == "1h", "the 1h drift")


async def test_drift_uses_the_room_at_120x40(demo):
    app = make_app(demo)
    async with app.run_test(size=LARGE) as pilot:
        await app.push_screen(DriftScreen("delivery-eta", "production", window="7d"))
        drift = app.screen
        await until(pilot, lambda: "drift" in drift.loaded and table(drift, "#features").row_keys, "drift rows")
        await pilot.pause()
        shown = text_of(app)
        assert "KIND" in shown and "TEST" in shown and "wasserstein" in shown
        assert "demand_index" in shown and "drift when" in shown  # the selected feature's chart title
        # the chart's threshold line is labelled with its exact value, and scores are drawn past it iff they
        # drift (the comparison of the feature's "drift when"; tests/test_ui_chart.py reads the rows)
        chart = drift.query_one("#feature-chart", TimeChart)
        await until(pilot, lambda: chart.points and "0.1" in text_of(app), "the chart of the score series")
        await pilot.pause()
        shown = text_of(app)
        assert chart.threshold == 0.1 and chart.breach == ">="
        assert any(line.strip()[:4] in ("0.1├", "0.1┤") for line in shown.splitlines()), shown


# ---------------------------------------------------------------------------------------- health, quality


async def test_health_and_quality_of_delivery_eta(demo):
    app = make_app(demo)
    async with app.run_test(size=LARGE) as pilot:
        page = await open_model(app, pilot, "delivery-eta")
        health = await press_and_wait(app, pilot, "h", HealthScreen, "health")
        versions = table(health, "#versions")
        assert versions.row_keys
        row = plain_row(versions, versions.row_keys[0])
        assert row[0] == "v5" and row[1] == "green"
        assert int(row[column(versions, "p95")].replace(",", "")) > 250  # the planted latency regression
        shown = text_of(app)
        assert "SLO" in shown and "p95 <= 250ms" in shown and "latency" in shown and "errors" in shown
        assert "p95 per " in shown and "(SLO 250ms" in shown  # the chart (its axes: test_ui_chart.py)
        assert health.query_one("#p95").lo == 0.0  # a latency axis stops at 0 (a flat 5 ms under a 300 ms SLO: -18.6ms)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is page, "back on the model page")

        quality = await press_and_wait(app, pilot, "u", QualityScreen, "quality")
        shown = text_of(app)
        assert "MAE" in shown and "RMSE" in shown and "MAPE" in shown and "ACC" not in shown
        assert "labelled" in shown and "mae per 1h, last 24h" in shown  # the chart covers the window
        # the table covers the window, the last 24 h (rows keyed version|variant: v5, no shadow)
        assert set(table(quality, "#by-version").row_keys) == {"5|"}
        await pilot.press("7")  # a week back holds version 4 too
        await until(pilot, lambda: {"4|", "5|"} <= set(table(quality, "#by-version").row_keys), "the 7d table")


# ---------------------------------------------------------------------------------------- fairness


async def test_fairness_marks_partner_api_as_worst_for_fraud_detector(demo):
    app = make_app(demo)
    async with app.run_test(size=SMALL) as pilot:
        await open_model(app, pilot, "fraud-detector")
        fair = await press_and_wait(app, pilot, "f", FairnessScreen, "fairness")
        segments = table(fair, "#segments")
        marked = [k for k in segments.row_keys if plain_row(segments, k)[0].strip()]
        assert marked == ["channel=partner_api"]
        row = plain_row(segments, "channel=partner_api")
        assert row[column(segments, "n")].replace(",", "").isdigit()
        head = text_of(app)
        assert "WORST" in head and "channel=partner_api" in head and "accuracy" in head
        gaps = table(fair, "#gaps")
        assert gaps.row_keys
        assert all(plain_row(gaps, k)[column(gaps, "tpr_ratio")] != "" for k in gaps.row_keys)
        assert "SEL DIFF" in head and "TPR RATIO" in head


# ---------------------------------------------------------------------------------------- cost


async def test_cost_shows_prompt_versions_of_support_assistant(demo):
    app = make_app(demo)
    async with app.run_test(size=LARGE) as pilot:
        await open_model(app, pilot, "support-assistant")
        cost = await press_and_wait(app, pilot, "c", CostScreen, "cost")
        per1k = table(cost, "#per1k")
        prompts = {plain_row(per1k, k)[column(per1k, "prompt")] for k in per1k.row_keys}
        assert {"v2", "v3"} <= prompts
        llm = table(cost, "#llm")
        assert {"v2", "v3"} <= set(llm.row_keys)
        shown = text_of(app)
        for label in ("TODAY", "7 DAYS", "BUDGET", "month-end", "SPIKE", "ratio", "REFUSAL", "BLOCKS", "FACTUAL",
                      "TOK/REQ", "cost per hour"):
            assert label in shown, label


async def test_cost_hides_llm_panels_for_a_classifier(demo):
    app = make_app(demo)
    async with app.run_test(size=SMALL) as pilot:
        await open_model(app, pilot, "fraud-detector")
        cost = await press_and_wait(app, pilot, "c", CostScreen, "cost")
        assert "prompt" not in [c.key for c in table(cost, "#per1k").columns]
        assert not cost.query_one("#llm").display
        assert "BUDGET" in text_of(app)


# ---------------------------------------------------------------------------------------- incidents


async def test_incidents_show_the_delivery_latency_incident_with_its_suspects(demo):
    app = make_app(demo)
    async with app.run_test(size=SMALL) as pilot:
        app.push_screen(SCREENS["incidents"].factory())  # as the palette opens it: fleet-wide
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen), "the incidents screen")
        inc = app.screen
        await until(pilot, lambda: "findings" in inc.loaded, "incidents")
        await pilot.pause()
        incidents = table(inc, "#incidents")
        assert {inc.by_id[k].model for k in incidents.row_keys} >= {"delivery-eta", "fraud-detector"}
        latency = [k for k in incidents.row_keys
                   if inc.by_id[k].model == "delivery-eta" and inc.by_id[k].rule == "delivery latency"
                   and inc.by_id[k].firing]
        assert latency, "no firing delivery latency incident"
        assert plain_row(incidents, latency[0])[0] == "FIRING"
        states = [plain_row(incidents, k)[0] for k in incidents.row_keys]
        assert states == sorted(states, key=lambda s: s != "FIRING")  # firing first
        incidents.select_key(latency[0])
        await until(pilot, lambda: "switch v5" in text_of(app), "the suspects of the latency incident")
        shown = text_of(app)
        assert "SUSPECTS" in shown and "FIRST DRIFT" in shown and "SEGMENT" in shown
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ModelScreen), "the incident's model page")
        assert app.screen.model == "delivery-eta"


async def test_incidents_from_the_model_page_are_filtered_to_that_model(demo):
    app = make_app(demo)
    async with app.run_test(size=LARGE) as pilot:
        page = await open_model(app, pilot, "fraud-detector")
        inc = await press_and_wait(app, pilot, "i", IncidentsScreen, "findings")
        incidents = table(inc, "#incidents")
        assert incidents.row_keys and {inc.by_id[k].model for k in incidents.row_keys} == {"fraud-detector"}
        worst = [k for k in incidents.row_keys if inc.by_id[k].segment]
        assert worst and inc.by_id[worst[0]].segment["value"] == "partner_api"
        await pilot.press("a")
        await until(pilot, lambda: len({inc.by_id[k].model for k in incidents.row_keys}) > 1, "all models")
        incidents.select_key(worst[0])
        await pilot.pause()
        await pilot.press("m")  # the model page already below is reused, not stacked again
        await until(pilot, lambda: isinstance(app.screen, ModelScreen), "the model page")
        assert app.screen is page
