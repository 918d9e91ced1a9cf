"""The Overview's COST and ERR% cells at 120 columns say what `snapshot` says (qa9: $0.24 of spend today read
"$0" and $0.55 read "$1", and one error in 3,000 requests read "0.0", the same as none)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from console.cli import main
from ui_fixtures import screen_text, until

NOW = datetime(2026, 3, 10, 12, 0, 0)


def _workspace(root):
    rows = []
    for i in range(3000):  # the last hour: 3,000 requests, one error, each costing $0.00008 ($0.24 in all)
        ts = NOW - timedelta(seconds=3600 * (i + 0.5) / 3000)
        rows.append({"ts": ts.isoformat() + "Z", "model": "m", "version": "1", "request_id": f"r{i}",
                     "environment": "production", "prediction": "1", "latency_ms": 10.0,
                     "status": "error" if i == 7 else "ok", "cost_usd": 0.00008})
    (root / "logs").mkdir()
    (root / "logs/p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = root / "mlops-console.toml"
    cfg.write_text('[workspace]\nname = "cells"\n[[logs]]\nkind = "predictions"\npath = "logs/p.jsonl"\n'
                   '[environments.production]\nproduction = true\n[models.m]\ntask = "classification"\n')
    return cfg


async def test_cost_and_error_cells_keep_small_numbers(tmp_path, capsys):
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp

    cfg_path = _workspace(tmp_path)
    assert main(["--config", str(cfg_path), "--at", "2026-03-10T12:00Z", "snapshot", "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)["models"][0]
    assert round(row["cost_usd"], 2) == 0.24 and row["error_rate"] == 1 / 3000  # by hand: 3000 x $0.00008, 1/3000

    cfg = parse_file(cfg_path)
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: NOW), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        def row_line():  # the table is drawn after the snapshot lands: wait for the row itself
            return next((t for t in screen_text(app).splitlines() if t.lstrip().startswith("m ")), None)

        await until(pilot, lambda: app.snapshot is not None and row_line() is not None, "the overview's row")
        line = row_line()
        cells = line.split()
        assert "$0.24" in cells, line
        assert "<0.1" in cells, line
