"""A shadow serves no one (docs/ACTIONS.md): its mirrored requests are its own row of the health table, never
the model's traffic, error rate, latency, SLO burn or the alert rules on them (qa9: a failing shadow beside a
healthy champion fired 'errors', 'latency' and the SLO burn page; a healthy shadow beside a failing champion
halved its error rate, so the error rule never fired). Every expected number is counted by hand from the rows
this file writes; the CLI and the TUI's model page must say the same."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from console.cli import main
from ui_fixtures import screen_text, until

NOW = datetime(2026, 3, 10, 12, 0, 0)
AT = "2026-03-10T12:00Z"
PER_MINUTE = 5  # requests per minute to the champion, each mirrored to the shadow
HOURS = 12


def _workspace(root: Path) -> Path:
    """`bad-shadow`: champion v1 never fails and answers in 20 ms, its shadow v2 fails every other request in
    900 ms. `bad-champion`: champion v1 fails every 10th request, its shadow v2 never fails."""
    rows = []
    i = 0
    for m in range(HOURS * 60):
        ts = NOW - timedelta(minutes=HOURS * 60 - m) + timedelta(seconds=30)
        for _ in range(PER_MINUTE):
            i += 1
            for model, champ_err, shadow_err, shadow_ms in (("bad-shadow", False, i % 2 == 0, 900.0),
                                                            ("bad-champion", i % 10 == 0, False, 20.0)):
                for version, variant, err, ms in (("1", "champion", champ_err, 20.0),
                                                  ("2", "shadow", shadow_err, shadow_ms)):
                    rows.append({"ts": ts.isoformat() + "Z", "model": model, "version": version, "variant": variant,
                                 "request_id": f"{model}-{variant}-{i}", "environment": "production",
                                 "prediction": "1", "latency_ms": ms, "status": "error" if err else "ok"})
    (root / "logs").mkdir(parents=True)
    (root / "logs/p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    deploys = [{"ts": (NOW - timedelta(days=1)).isoformat() + "Z", "model": m, "version": "2",
                "environment": "production", "strategy": "shadow", "traffic_pct": 100, "action": "shadow-start",
                "actor": "qa"} for m in ("bad-shadow", "bad-champion")]
    (root / "logs/d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in deploys))
    cfg = root / "mlops-console.toml"
    cfg.write_text("\n".join([
        '[workspace]', 'name = "shadow"',
        '[[logs]]', 'kind = "predictions"', 'path = "logs/p.jsonl"',
        '[[logs]]', 'kind = "deployments"', 'path = "logs/d.jsonl"',
        '[environments.production]', 'production = true',
        *[line for m in ("bad-shadow", "bad-champion") for line in
          (f'[models.{m}]', 'task = "classification"', f'[models.{m}.slo]', 'p95_ms = 300', 'error_rate = 0.01')],
        '[[alerts]]', 'name = "errors"', 'metric = "error_rate"', 'op = ">"', 'threshold = 0.05', 'window = "1h"',
        'severity = "warning"',
        '[[alerts]]', 'name = "latency"', 'metric = "p95_ms"', 'op = ">"', 'threshold = 300', 'window = "1h"',
        'severity = "critical"', '']))
    return cfg


def _all_read(app) -> bool:
    """The app's snapshot counts every row `_workspace` wrote: 2 models x (champion + shadow), each minute."""
    snap = app.snapshot
    return snap is not None and (snap.counts or {}).get("predictions") == 2 * 2 * HOURS * 60 * PER_MINUTE


def _json(capsys, *argv) -> tuple[int, dict]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_rules_and_numbers_count_the_served_rows(tmp_path, capsys):
    cfg = str(_workspace(tmp_path))
    code, check = _json(capsys, "--config", cfg, "--at", AT, "check", "--format", "json")
    firing = {(i["model"], i["rule"]) for i in check["incidents"] if i["firing"]}
    # bad-shadow: the champion, the only version users met, has no error and 20 ms: nothing may fire
    assert not {f for f in firing if f[0] == "bad-shadow"}, firing
    # bad-champion: 30 of its 300 requests in the last hour failed (10 %, Wilson [0.071, 0.14] > 0.05): it fires;
    # with the shadow's 300 clean mirrored rows counted it read 5 % and never fired
    assert ("bad-champion", "errors") in firing and code == 1

    _, snap = _json(capsys, "--config", cfg, "--at", AT, "snapshot", "--format", "json")
    rows = {m["name"]: m for m in snap["models"]}
    for name, errors_1h in (("bad-shadow", 0), ("bad-champion", 30)):
        row = rows[name]
        assert row["requests"] == 24 * 0 + HOURS * 60 * PER_MINUTE  # the history is 12 h: all of it is in 24 h
        assert row["requests_1h"] == 60 * PER_MINUTE and row["rpm"] == PER_MINUTE
        assert row["p95_latency_ms"] == 20.0
        assert row["error_rate"] == errors_1h / (60 * PER_MINUTE)

    _, health = _json(capsys, "--config", cfg, "--at", AT, "health", "bad-shadow", "--format", "json")
    slo = health["slo"]
    assert slo["error_short"]["requests"] == 60 * PER_MINUTE and slo["error_short"]["burn_rate"] == 0.0
    assert slo["latency_long"]["burn_rate"] == 0.0 and not slo["error_alert"] and not slo["latency_alert"]
    by_variant = {r["variant"]: r for r in health["table"]}
    assert by_variant["shadow"]["errors"] == 30 * PER_MINUTE  # the shadow keeps its own row, failures and all

    _, health = _json(capsys, "--config", cfg, "--at", AT, "health", "bad-champion", "--format", "json")
    assert abs(health["slo"]["error_short"]["burn_rate"] - 0.10 / 0.01) < 1e-9  # 10 % errors on a 1 % budget


async def test_model_page_says_the_served_error_rate(tmp_path):
    """The model page's HEALTH and BURN lines read the same served rows as `health` and `check`."""
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from console.ui.screens.model import ModelScreen

    cfg = parse_file(_workspace(tmp_path))
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: NOW), poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the overview")
        await pilot.press("enter")  # the first row: bad-champion, production (the rows are sorted by name)
        # the first snapshot can be the first look's, over a store that has read nothing yet: a HEALTH line drawn
        # from a read begun then said "no requests (1h)" (twice under load). Wait for the app's own loaded state:
        # the refresh's snapshot holds every row written, and the page's health read of it has landed
        await until(pilot, lambda: isinstance(app.screen, ModelScreen) and _all_read(app)
                    and "health" in app.screen.loaded and not app.screen.busy("health"), "the page")
        text = screen_text(app)
        assert "bad-champion" in text.splitlines()[0]
        assert "err 10.00%" in text and "errors 1h 10.0x" in text, text
        assert f"{HOURS * 60 * PER_MINUTE:,} req/24h" in text


async def test_model_page_p95_is_of_the_served_versions(tmp_path):
    """Thirtieth session's TUI probe: the HEALTH line's p95 listed the shadow beside the champion
    ("p95 4,082ms v2, 4,005ms v4"), while its error rate was the served rows'. bad-shadow's champion answers in 20 ms,
    its shadow in 900 ms: the line says 20 ms alone."""
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from console.ui.screens.model import ModelScreen

    cfg = parse_file(_workspace(tmp_path))
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: NOW), poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the overview")
        await pilot.press("down", "enter")  # the second row: bad-shadow
        await until(pilot, lambda: isinstance(app.screen, ModelScreen) and _all_read(app)
                    and "health" in app.screen.loaded and not app.screen.busy("health"),
                    "the page")  # its numbers, not the placeholders nor a read before the store's first
        text = screen_text(app)
        assert "bad-shadow" in text.splitlines()[0]
        health = next(ln for ln in text.splitlines() if "HEALTH" in ln)
        assert "p95 20ms" in health and "900" not in health, health


async def test_a_read_begun_before_the_rows_arrived_is_read_again(tmp_path):
    """The model page opened on the first look (a fresh store: nothing read yet) starts its health read; the
    refresh's snapshot lands while that read is in flight, and its fetch waits for it. The read that lands is of
    the empty store: the page said "HEALTH no requests (1h)" until some later snapshot asked again (none comes
    with polling off; live, the next tick). It must read again at once and say the served 10 %."""
    import threading

    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from console.ui.screens.model import ModelScreen

    cfg = parse_file(_workspace(tmp_path))
    svc = Service(cfg, clock=lambda: NOW)
    reading, release, held = threading.Event(), threading.Event(), []
    health, snapshot = svc.health, svc.snapshot

    def held_first(model, *args, **kwargs):  # the page's first read computes, then lands only when let go
        out = health(model, *args, **kwargs)
        if not held:
            held.append(out["table"].height)
            reading.set()
            release.wait(120)
        return out

    def refresh_after_it(*args, **kwargs):  # the refresh reads the logs once that read has begun
        if kwargs.get("refresh"):
            reading.wait(120)
        return snapshot(*args, **kwargs)

    svc.health, svc.snapshot = held_first, refresh_after_it
    app = ConsoleApp(cfg, service=svc, poll=False)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.snapshot is not None, "the first look")
            await pilot.press("enter")
            await until(pilot, lambda: held, "the page's first health read")
            # the refresh's snapshot, then the monitor pass's (the last snapshot with polling off)
            await until(pilot, lambda: _all_read(app) and ("bad-champion", "errors") in
                        {(f.model, f.rule) for f in app.incidents}, "every row read and the rules run", rounds=2000)
            assert held == [0]  # the held read was of the store before the refresh: nothing in it
            release.set()
            await until(pilot, lambda: isinstance(app.screen, ModelScreen) and "health" in app.screen.loaded
                        and not app.screen.busy("health"), "the page's health")
            text = screen_text(app)
            assert "bad-champion" in text.splitlines()[0]
            health_line = next(ln for ln in text.splitlines() if "HEALTH" in ln)
            assert "err 10.00%" in health_line, health_line
    finally:
        release.set()


def test_the_rules_from_rollups_count_the_served_rows_too(tmp_path):
    """Past `[rollups] min_rows` the rules read hourly rollups (`rollup_rules`): the same served rows, so the same
    incidents as the raw path (the rollups keep a shadow's rows under its own variant)."""
    from console.config import parse_file
    from console.service import Service

    cfg = parse_file(_workspace(tmp_path))
    found = {}
    for path, after in (("raw", 10**12), ("rollups", 1_000)):
        svc = Service(cfg, clock=lambda: NOW)
        try:
            svc.refresh()
            svc.monitor.rollups_after = after
            assert svc.monitor.incident_rules._rules_from_rollups("bad-shadow", NOW - timedelta(days=7), NOW) \
                == (path == "rollups")
            found[path] = sorted((f.model, f.rule) for f in svc.monitor.findings(at=NOW) if f.firing)
        finally:
            svc.close()
    assert found["rollups"] == found["raw"] == [("bad-champion", "default: SLO burn"), ("bad-champion", "errors")], found


def test_the_health_chart_is_of_the_served_rows(tmp_path):
    """The Health chart's p95 sits beside the SLO line and the burn (README: a chart draws a score past its
    threshold exactly when it breaches): the served rows' p95 (20 ms), not the shadow's 900 ms, over a raw window
    and over one read from the hourly rollups."""
    from console.config import parse_file
    from console.service import Service

    cfg = parse_file(_workspace(tmp_path))
    for window, after in (("1h", 10**12), ("7d", 1_000)):
        svc = Service(cfg, clock=lambda: NOW)
        try:
            svc.refresh()
            svc.monitor.rollups_after = after
            health = svc.monitor.health("bad-shadow", window)
            series = health["series"]
            assert (window == "7d") == ("note" in health and "rollups" in health["note"]), health.get("note")
            assert series.height and set(series["p95_ms"].to_list()) == {20.0}, (window, series)
            assert not health["slo"].alert
        finally:
            svc.close()
