"""Visual baselines of EVERY screen: 80x24 and 120x40, default theme and NO_COLOR (issue 5's check).

The screens come from the registry (`console.ui.navigation.SCREENS`, filled by `load_screens()`), so a screen
that registers itself later is covered without editing this file: its baselines are missing until they are
generated (the test fails until then). Model-scoped screens are opened for MODEL in production. Besides the
registered screens: the drift distributions view, the help (`?`), the action confirmation dialog (promote
from the versions screen) and the too-small message (50x12, under the 60x15 floor).

Deterministic data: the demo workspace built once per session with a fixed seed, a fixed `now`, seeded
MLflow ids and the registry's wall-clock timestamps rewritten (tests/snapshot_workspace.py); the service
clock is pinned to the same `now`, polling is off, animations are off, and every snapshot waits (bounded
pauses, no timing assertion) until no worker runs and the rendered screen stopped changing.

Regenerate after an intended change: pytest tests/test_ui_screens_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from console.ui.navigation import SCREENS, load_screens
from snapshot_workspace import demo_service, demo_workspace, make_app  # noqa: F401 - fixtures

MODEL = "fraud-detector"
ENVIRONMENT = "production"
SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
MODES = ("default", "no_color")
TOO_SMALL = (50, 12)

LOAD_ERRORS = load_screens()  # imports every module under console.ui.screens: each registers itself
SCREEN_NAMES = sorted(SCREENS)
EXTRA_VIEWS = ("distribution", "help", "confirm")

STABLE_ROUNDS = 3  # consecutive idle polls with an unchanged screen before the snapshot
MAX_ROUNDS = 600  # a bound against a hang (60 s of 0.1 s pauses), not a timing assertion


# ---------------------------------------------------------------------------------------- waiting


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def screen_state(app) -> tuple:
    """What the screen shows, styles included (a focus or highlight change is a change too)."""
    return tuple((seg.text, str(seg.style)) for strip in app.screen._compositor.render_strips() for seg in strip)


def busy(app) -> list[str]:
    """What is still loading: running workers, a monitoring screen's fetches in flight, an unloaded screen."""
    out = [f"worker {w.name or w.group}" for w in app.workers if not w.is_finished]
    screen = app.screen
    inflight = getattr(screen, "_inflight", None)
    if inflight:
        out.append(f"fetches {sorted(inflight)}")
    loaded = getattr(screen, "loaded", True)
    if not loaded:
        out.append("screen not loaded")
    if getattr(screen, "reading", lambda: False)():  # a Versions, Deployments or Audit read in flight
        out.append("screen loading")
    if app.snapshot is None:
        out.append("no app snapshot yet")
    for table in screen.query(DataTable):  # column widths are measured on the table's next idle
        if table._require_update_dimensions or table._new_rows or table._updated_cells:
            out.append(f"table {table.parent.id or table.id} not measured yet")
    return out


async def settle(pilot, what: str) -> None:
    """Pauses until nothing is loading and the rendered screen is the same over STABLE_ROUNDS polls."""
    app = pilot.app
    previous, stable = None, 0
    for _ in range(MAX_ROUNDS):
        await pilot.pause(0.1)
        text = screen_state(app)
        if not busy(app) and text == previous:
            stable += 1
            if stable >= STABLE_ROUNDS:
                return
        else:
            stable = 0
        previous = text
    raise AssertionError(f"{what} never settled ({busy(app)}); the screen shows:\n{screen_text(app)}")


async def until(pilot, predicate, what: str) -> None:
    for _ in range(MAX_ROUNDS):
        if predicate():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"gave up waiting for {what}; the screen shows:\n{screen_text(pilot.app)}")


def screen_name(app) -> str:
    return getattr(app.screen, "SCREEN_NAME", "") or type(app.screen).__name__


# ---------------------------------------------------------------------------------------- opening


async def home(pilot) -> None:
    await settle(pilot, "the overview")
    assert screen_name(pilot.app) == "overview", screen_name(pilot.app)


async def open_registered(pilot, name: str) -> None:
    """Opens `name` from the registry the way the palette does (`app.open_screen`), for MODEL if scoped."""
    app = pilot.app
    await home(pilot)
    if name != "overview":
        spec = SCREENS[name]
        if spec.needs_model:
            app.open_screen(name, model=MODEL, environment=ENVIRONMENT)
        else:
            app.open_screen(name)
        await until(pilot, lambda: screen_name(app) == name, f"the {name} screen")
        if spec.needs_model:
            assert app.screen.model == MODEL
    await settle(pilot, f"the {name} screen")


async def open_distribution(pilot) -> None:
    """Drift for MODEL, enter on the first (most severe) feature: its reference vs current distributions."""
    from console.ui.screens.drift import DistributionScreen

    app = pilot.app
    await open_registered(pilot, "drift")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, DistributionScreen), "the distributions view")
    await until(pilot, lambda: {"hist", "drift"} <= app.screen.loaded, "the histograms")
    await settle(pilot, "the distributions view")


async def open_help(pilot) -> None:
    from console.ui.screens.help import HelpScreen

    app = pilot.app
    await home(pilot)
    await pilot.press("question_mark")
    await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
    await settle(pilot, "the help")


async def open_confirm(pilot) -> None:
    """Versions for MODEL, P on the newest version: the promote dialog with its plan, strategies and gates."""
    from console.ui.screens.confirm import ActionDialog

    app = pilot.app
    await open_registered(pilot, "versions")
    versions = app.screen
    await until(pilot, lambda: ENVIRONMENT in versions.flow.states, "the action state")
    await settle(pilot, "the versions screen")
    await pilot.press("P")
    await until(pilot, lambda: isinstance(app.screen, ActionDialog), "the confirmation dialog")
    await settle(pilot, "the confirmation dialog")


OPENERS = {"distribution": open_distribution, "help": open_help, "confirm": open_confirm}


# ---------------------------------------------------------------------------------------- the tests


@pytest.fixture(params=MODES)
def mode(request, monkeypatch) -> str:
    monkeypatch.setenv("MLOPS_CONSOLE_ASCII", "0")  # sparklines and bars the same whatever the locale/TERM
    if request.param == "no_color":
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    return request.param


def app_for(service, mode: str):
    app = make_app(service)
    app.animation_level = "none"
    assert app.no_color == (mode == "no_color")
    return app


def test_every_screen_module_loads():
    assert LOAD_ERRORS == {}, LOAD_ERRORS
    assert "overview" in SCREENS and len(SCREENS) > 1


@pytest.mark.parametrize("size", list(SIZES.values()), ids=list(SIZES))
@pytest.mark.parametrize("name", SCREEN_NAMES)
def test_screen(snap_compare, demo_service, mode, name, size):
    async def run_before(pilot):
        await open_registered(pilot, name)

    assert snap_compare(app_for(demo_service, mode), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", list(SIZES.values()), ids=list(SIZES))
@pytest.mark.parametrize("view", EXTRA_VIEWS)
def test_view(snap_compare, demo_service, mode, view, size):
    async def run_before(pilot):
        await OPENERS[view](pilot)
        from textual.widgets import Input

        for field in pilot.app.screen.query(Input):  # a blinking cursor is drawn or not by the clock
            field.cursor_blink = False
        await pilot.pause()

    assert snap_compare(app_for(demo_service, mode), terminal_size=size, run_before=run_before)


def test_too_small(snap_compare, demo_service, mode):
    async def run_before(pilot):
        app = pilot.app
        await settle(pilot, "the overview")
        assert app.screen.has_class("-too-small"), "the floor is 60x15: 50x12 must show the message"

    assert snap_compare(app_for(demo_service, mode), terminal_size=TOO_SMALL, run_before=run_before)

