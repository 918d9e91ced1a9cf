"""The model page's HEALTH line names each p95 as `health` names its row. A version in two rows of the hour (its
canary rows, then its champion rows after a promotion) was printed "p95 99ms v4, 204ms v4": two numbers no one could
attribute (found by the differential probe h7 on the benchmark fleet, whose versions each serve two variants)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from console.cli import main
from ui_fixtures import screen_text, until

NOW = datetime(2026, 3, 10, 12, 0, 0)


def _workspace(root):
    """m: v3 champion, then v4 canary for 30 minutes, then v4 promoted to champion (slower) for the last 30."""
    rows = []
    for i in range(120):
        ts = NOW - timedelta(minutes=60) + timedelta(seconds=30 * i + 15)
        late = i >= 60
        for version, variant, latency in (("3", "champion", 40.0 + i % 5), ("4", "champion" if late else "canary",
                                                                          (200.0 if late else 100.0) + i % 7)):
            if version == "3" and late:
                continue
            rows.append({"ts": ts.isoformat() + "Z", "model": "m", "version": version, "variant": variant,
                         "request_id": f"r{len(rows)}", "environment": "production", "prediction": "1",
                         "latency_ms": latency, "status": "ok"})
    (root / "logs").mkdir(parents=True)
    (root / "logs" / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = root / "mlops-console.toml"
    config.write_text('[workspace]\nname = "w"\n\n[[logs]]\nkind = "predictions"\npath = "logs/p.jsonl"\n\n'
                      '[environments.production]\nproduction = true\n')
    return config, rows


async def test_each_p95_is_named_as_the_health_row_it_is(tmp_path, capsys):
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from console.ui.screens.model import ModelScreen

    config, rows = _workspace(tmp_path)
    assert main(["--config", str(config), "--at", f"{NOW:%Y-%m-%dT%H:%MZ}", "health", "m", "--window", "1h",
                 "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)["table"]
    # three rows, and v4 in two of them (hand count of the rows written above)
    assert sorted((r["version"], r["variant"], r["requests"]) for r in table) == \
        [("3", "champion", 60), ("4", "canary", 60), ("4", "champion", 60)]
    expected = {f"{r['p95_ms']:,.0f}ms v{r['version']}" + (f" {r['variant']}" if r["version"] == "4" else "")
                for r in table}

    svc = Service(parse_file(config), clock=lambda: NOW)
    app = ConsoleApp(svc.cfg, service=svc, poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the overview")
        app.open_model("m", "production")

        def health() -> str:
            return next((t for t in screen_text(app).splitlines() if t.lstrip().startswith("HEALTH ")), "")

        await until(pilot, lambda: isinstance(app.screen, ModelScreen) and "p95 " in health()
                    and "loading" not in health(), "the health line")
        line = health()
    svc.close()
    named = line.split("p95 ", 1)[1].split(" (SLO")[0].split("  ")[0]
    assert set(named.split(", ")) == expected, (line, expected)
