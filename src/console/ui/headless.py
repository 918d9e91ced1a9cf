"""Rendering the console without a terminal: `mlops-console snapshot --format svg --output F`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from console.config import Config


async def render_svg(cfg: Config, size: tuple[int, int] = (120, 40), service=None, rounds: int = 1200) -> str:
    """The overview as an SVG once the first snapshot has been drawn."""
    from console.ui.app import ConsoleApp

    app = ConsoleApp(cfg, service=service, poll=False)
    async with app.run_test(size=size) as pilot:
        def ready() -> bool:
            if app.last_error is not None:
                return True
            registry_known = app.registry is not None and app.registry.status != "connecting"
            monitored = not cfg.has_logs or (app.service.has_findings and not app._monitoring)
            return app.snapshot is not None and registry_known and monitored

        for _ in range(rounds):  # the whole picture (registry, drift, alerts), within a bound
            if ready():
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        return app.export_screenshot()


def save_svg(cfg: Config, path: Path, size: tuple[int, int] = (120, 40), service=None) -> Path:
    path = Path(path)
    svg = asyncio.run(render_svg(cfg, size=size, service=service))
    path.write_text(svg, encoding="utf-8")
    return path
