"""The screen registry: every screen the palette, `:` and the help can reach, by name.

A screen module registers itself when imported::

    from console.ui.navigation import register_screen
    register_screen("drift", "Drift", DriftScreen, needs_model=True, help="feature drift of one model")

`factory(model=..., environment=...)` builds the screen; `needs_model` screens are opened for the model
in context (the screen's model, else the overview's selected row). Modules under `console.ui.screens`
are imported by `load_screens()` at start-up, so a new screen file needs no edit anywhere else.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ScreenSpec:
    name: str  # the id used by `:name`, the palette and open_screen()
    title: str  # what the palette and the breadcrumb show
    factory: Callable[..., object]  # factory(model=None, environment=None) -> Screen
    needs_model: bool = False
    help: str = ""
    order: int = 100  # the palette lists screens by (order, title)


SCREENS: dict[str, ScreenSpec] = {}


def register_screen(name: str, title: str, factory: Callable[..., object], *, needs_model: bool = False,
                    help: str = "", order: int = 100) -> ScreenSpec:
    spec = ScreenSpec(name=name, title=title, factory=factory, needs_model=needs_model, help=help, order=order)
    SCREENS[name] = spec
    return spec


def screens() -> list[ScreenSpec]:
    return sorted(SCREENS.values(), key=lambda s: (s.order, s.title))


_LOAD_ERRORS: dict[str, str] = {}


def load_screens() -> dict[str, str]:
    """Imports every module in `console.ui.screens` (each registers itself); returns {module: error}. Most bring
    the analytics' libraries: their first import waits for a worker's in flight (`libraries.ensure`)."""
    import console.ui.screens as pkg
    from console.ui.libraries import ensure

    ensure()

    for info in pkgutil.iter_modules(pkg.__path__):
        name = f"{pkg.__name__}.{info.name}"
        if name in _LOAD_ERRORS:
            continue
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - one broken screen must not take the console down
            _LOAD_ERRORS[name] = f"{type(exc).__name__}: {exc}"
    return dict(_LOAD_ERRORS)
