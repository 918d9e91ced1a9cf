"""A log of only bad rows: the Overview said "no predictions in this window (none read yet)" under a header
counting its malformed rows, as though nothing had been read (the thirty-third session's TUI probe)."""

from __future__ import annotations

from datetime import datetime

from ui_fixtures import screen_text, until

NOW = datetime(2026, 3, 10, 12, 0, 0)


async def test_the_empty_window_says_every_row_read_was_set_aside(tmp_path):
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp

    (tmp_path / "p.jsonl").write_text('{"ts": "not a time", "model": "m"}\n{"model": "m", "version": "1"}\nnot json\n')
    (tmp_path / "mlops-console.toml").write_text('[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
                                                 '[models.m]\ntask = "classification"\n')
    cfg = parse_file(tmp_path / "mlops-console.toml")
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: NOW), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None and "malformed rows" in screen_text(app), "the overview")
        await until(pilot, lambda: "no predictions in this window" in screen_text(app), "the empty window note")
        text = screen_text(app)
        assert "malformed rows 3" in text and "no good row read: 3 malformed" in text, text
        assert "none read yet" not in text
