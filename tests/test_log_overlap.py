"""A file two `[[logs]]` entries of one kind match (`logs/*.jsonl` and the same file by its path) is read once,
by the first, and the other entry says so. Each entry kept its own cursors and every row was stored twice, with
no note. Under two kinds (the same file as predictions and as labels) it is read by both, as configured."""

from __future__ import annotations

import json
from datetime import datetime

from console.config import parse_file
from console.service import Service


def test_a_file_matched_by_two_entries_is_stored_once(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    rows = [{"ts": f"2026-12-04T10:{i:02d}:00Z", "model": "m", "version": "1", "request_id": f"r{i}",
             "latency_ms": 1.0} for i in range(10)]
    (logs / "app.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "c.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs/*.jsonl"\n'
        f'[[logs]]\nkind = "predictions"\npath = "{logs / "app.jsonl"}"\n', encoding="utf-8")
    svc = Service(parse_file(tmp_path / "c.toml"), clock=lambda: datetime(2026, 12, 4, 11))
    try:
        svc.refresh()
        with open(logs / "app.jsonl", "a") as fh:  # and what is appended later, once too
            fh.write(json.dumps({**rows[0], "request_id": "r10", "ts": "2026-12-04T10:30:00Z"}) + "\n")
        svc.refresh()
        snap = svc.snapshot(refresh=False)
    finally:
        svc.close()
    assert snap.counts["predictions"] == 11, snap.counts
    assert any("also matched by the [[logs]] entry" in n for n in snap.log_notes), snap.log_notes
