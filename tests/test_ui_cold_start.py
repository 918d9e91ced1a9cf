"""A cold start on a large backlog: the refresh commits in steps, and the Overview shows the rows of each
committed step while the rest is still being read, with the reading progress on its status line; when the
read ends the line goes back to the registry's state. The refresh is held after its first step by the store's
own step hook (no sleeps), so the partial frame is seen for certain."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

from console.config import Config, LogSource
from console.service import Service
from console.ui.app import ConsoleApp
from ui_fixtures import screen_text, until

NOW = datetime(2026, 11, 25, 12, 0)
ROWS = 3000


def test_rows_of_committed_steps_show_before_the_read_ends(tmp_path):
    import asyncio

    log = tmp_path / "p.jsonl"
    log.write_text("".join(json.dumps({
        "ts": (NOW - timedelta(seconds=ROWS - i)).isoformat() + "Z", "model": "m", "version": "1",
        "request_id": f"r{i}", "latency_ms": 10 + i % 7, "x": i / 2}) + "\n" for i in range(ROWS)))
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(log)),))
    svc = Service(cfg, clock=lambda: NOW)
    wh = svc.warehouse
    wh.first_step_rows, wh.step_rows, wh.chunk_bytes = 500, 1000, 8 << 10
    gate, held = threading.Event(), []

    def hold(manifest) -> None:  # on the refreshing thread, after each committed step
        held.append(manifest)
        if len(held) == 1:
            gate.wait(120)

    wh.on_step = hold

    async def run() -> None:
        app = ConsoleApp(cfg, service=svc, poll=True)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.snapshot is not None, "a frame while the refresh is held")
            partial = app.snapshot.counts["predictions"]
            assert not gate.is_set() and len(held) == 1
            assert 500 <= partial < ROWS
            with wh.cursor() as cur:  # what the first step committed, counted by the store itself
                assert partial == cur.execute("SELECT count(*) FROM predictions").fetchone()[0]
            await until(pilot, lambda: "reading p.jsonl" in screen_text(app), "the reading progress")
            gate.set()
            await until(pilot, lambda: app.snapshot.counts["predictions"] == ROWS, "every row after the read")
            await until(pilot, lambda: "reading p.jsonl" not in screen_text(app), "the status line back")
            assert "registry" in screen_text(app)

    try:
        asyncio.run(run())
    finally:
        gate.set()
        svc.close()
