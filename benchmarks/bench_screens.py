"""Per screen, how long from the key press until the screen shows data: the model page, Drift and Incidents,
first visit (a fresh console: nothing computed yet, the store already built) and a second visit (esc, open
again: cached by data version). Drives the real app headless with Textual's Pilot, polling on, as a user at
the keyboard would: launch, wait for the Overview's first data, select delivery-eta, open the screen.

    PYTHONPATH=src python benchmarks/bench_screens.py [--runs 3] [--dir /tmp/bench-screens] [--fleet-rows 0]

`--fleet-rows N` also runs on benchmarks/fleet.py's Parquet fleet (3 models x 25 features, 7 days, no
registry). The model page reports its first panel (serving, from the Overview's snapshot) and all panels.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
MODEL = "delivery-eta"
MODEL_TAGS = {"health", "quality", "drift", "cost", "incidents"}
# when each screen shows its first data: a monitoring screen's first read landed, a registry screen loaded
LOADED = {
    "drift": lambda s: "drift" in s.loaded,
    "health": lambda s: "health" in s.loaded,
    "quality": lambda s: "quality" in s.loaded,
    "cost": lambda s: "cost" in s.loaded,
    "fairness": lambda s: "fairness" in s.loaded,
    "incidents": lambda s: "findings" in s.loaded,
    "versions": lambda s: s.loaded is True,
    "deployments": lambda s: s.loaded is True,
    "audit": lambda s: s.loaded is True,
}
SCREENS = ("model", *LOADED)


async def _until(pilot, predicate, limit: float = 600.0) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > limit:
            raise TimeoutError
        await pilot.pause(0.02)
    return time.monotonic()


async def visit(cfg, now: datetime, screen: str) -> dict[str, float]:
    """One fresh console; seconds to first data for `screen`, then for a second visit."""
    from console.service import Service
    from console.ui.app import ConsoleApp
    from console.ui.screens.overview import OverviewScreen

    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: now, cache=True), poll=True)
    out: dict[str, float] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, OverviewScreen) and app.snapshot is not None
                     and app.snapshot.rows)
        overview = app.screen
        await pilot.press("slash", *MODEL, "enter")
        await _until(pilot, lambda: (overview.context() or ("",))[0] == MODEL)

        def opened():
            s = app.screen
            return s if getattr(s, "SCREEN_NAME", "") == screen and s is not overview else None

        for label in ("first", "again"):
            t0 = time.monotonic()
            if screen == "model":
                await pilot.press("enter")
            else:  # what the palette's `:drift` / `:incidents` ... does
                app.open_screen(screen, model=MODEL, environment="production")
            await _until(pilot, lambda: opened() is not None)
            s = opened()
            if screen == "model":
                await _until(pilot, lambda: "serving" in s.parts and s.drawn_at is not None)
                out[f"{label} panel"] = s.drawn_at - t0  # the first frame, drawn with the serving panel
                t2 = await _until(pilot, lambda: MODEL_TAGS <= s.loaded)
                out[f"{label} all"] = t2 - t0
            else:
                ready = LOADED[screen]
                t1 = await _until(pilot, lambda: ready(s))
                out[label] = t1 - t0
            await pilot.press("escape")
            await _until(pilot, lambda: app.screen is overview)
    return out


def run(cfg_path: Path, now: datetime, runs: int, title: str, screens=SCREENS) -> None:
    from console.config import parse_file

    cfg = parse_file(cfg_path)
    print(f"\n{title}: seconds from the key press to data ({runs} fresh consoles per screen, median / max)")
    print(f"{'screen':10} {'measure':14} {'median s':>9} {'max s':>7}")
    for screen in screens:
        results = [asyncio.run(visit(cfg, now, screen)) for _ in range(runs)]
        for key in results[0]:
            values = [r[key] for r in results]
            print(f"{screen:10} {key:14} {statistics.median(values):9.2f} {max(values):7.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/bench-screens")
    ap.add_argument("--fleet-rows", type=int, default=0)
    ap.add_argument("--screens", default=",".join(SCREENS), help="comma-separated, of " + ", ".join(SCREENS))
    args = ap.parse_args()
    sys.path.insert(0, SRC)
    import os

    os.environ.setdefault("XDG_CACHE_HOME", str(Path(args.dir) / "cache"))
    from console.demo.workspace import build_workspace

    config = build_workspace(Path(args.dir) / "ws")
    now = datetime.fromisoformat(json.loads((config.parent / "tour.json").read_text())["now"].rstrip("Z"))
    screens = [s for s in args.screens.split(",") if s]
    run(config, now, args.runs, "demo workspace", screens)
    if args.fleet_rows:
        sys.path.insert(0, str(Path(__file__).parent))
        import fleet

        root = Path(args.dir) / f"fleet-{args.fleet_rows}"
        if not (root / "logs").exists():
            fleet.write_fleet(root, args.fleet_rows, ["parquet"])
        cfg = fleet.write_config(root, "parquet", live=False)
        run(cfg, fleet.END, args.runs, f"fleet, {args.fleet_rows:,} rows (Parquet)", screens)


if __name__ == "__main__":
    main()
