"""Helpers for the UI tests: a small workspace of log files + config with hostile names, a fixed clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from console.config import parse_file

FIXED = datetime(2026, 3, 10, 12, 0, 0)
HOSTILE_MODEL = "[bold red]x"
CLICK_MODEL = "[@click=app.quit]z"
ESC_VERSION = "7\x1b[2J"
MODELS = ("fraud-detector", HOSTILE_MODEL, CLICK_MODEL)


def prediction_rows(now: datetime, minutes: int = 50, start_id: int = 0) -> list[dict]:
    rows = []
    i = start_id
    for m in range(minutes, 0, -1):
        ts = now - timedelta(minutes=m)
        for k, model in enumerate(MODELS):
            for env in ("production", "staging"):
                i += 1
                version = ESC_VERSION if model == HOSTILE_MODEL else "3"
                rows.append({"ts": ts.isoformat() + "Z", "model": model, "version": version, "request_id": f"r{i}",
                             "environment": env, "prediction": "1", "score": 0.5,
                             "latency_ms": 20.0 + (m % 7) * 5 + k, "status": "error" if i % 53 == 0 else "ok",
                             "cost_usd": 0.001})
    return rows


def build_workspace(root: Path, *, keys: dict | None = None, theme: str | None = None, refresh_seconds: float = 5.0,
                    now: datetime = FIXED) -> Path:
    """Writes logs and `mlops-console.toml` under `root`; returns the config path."""
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / "predictions.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in prediction_rows(now))
    deployments = [
        {"ts": (now - timedelta(days=2)).isoformat() + "Z", "model": "fraud-detector", "version": "3",
         "environment": "production", "strategy": "direct", "action": "deploy", "actor": "ci"},
        {"ts": (now - timedelta(days=1)).isoformat() + "Z", "model": HOSTILE_MODEL, "version": ESC_VERSION,
         "environment": "production", "strategy": "direct", "action": "deploy", "actor": "[@click=app.quit]"},
    ]
    with open(logs / "deployments.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(e) + "\n" for e in deployments)
    lines = [
        '[workspace]', 'name = "ui-test"', '',
        '[console]', f'refresh_seconds = {refresh_seconds}',
    ]
    if theme:
        lines.append(f'theme = "{theme}"')
    lines += ['', '[[logs]]', 'kind = "predictions"', 'path = "logs/predictions.jsonl"', '',
              '[[logs]]', 'kind = "deployments"', 'path = "logs/deployments.jsonl"', '',
              '[environments.production]', 'production = true', '',
              '[environments.staging]', 'production = false', '']
    if keys:
        lines.append('[keys]')
        lines += [f'{json.dumps(k)} = {json.dumps(v)}' for k, v in keys.items()]
    path = root / "mlops-console.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_app(root: Path, *, keys: dict | None = None, theme: str | None = None, clock_now: datetime = FIXED):
    """A ConsoleApp on a fresh workspace with a pinned clock and no polling (stable for snapshots)."""
    from console.service import Service
    from console.ui.app import ConsoleApp

    cfg = parse_file(build_workspace(root, keys=keys, theme=theme))
    svc = Service(cfg, clock=lambda: clock_now)
    return ConsoleApp(cfg, service=svc, poll=False)


async def wait_for_snapshot(app, pilot, rounds: int = 2400) -> None:
    """Pauses until the first snapshot reached the app (polling, no timing assertion)."""
    for _ in range(rounds):
        if app.snapshot is not None:
            await pilot.pause()
            return
        await pilot.pause(0.05)
    raise AssertionError(f"no snapshot arrived; last error: {app.last_error}")


def dialog_ready(app) -> bool:
    """An action dialog on screen with its first field focused (AUTO_FOCUS is applied after the dialog mounts:
    a key pressed before that reaches the screen beneath), so a test's keys go where an operator's would."""
    from console.ui.screens.confirm import ActionDialog

    return isinstance(app.screen, ActionDialog) and app.focused is not None and app.focused.screen is app.screen


async def confirm_dialog(pilot, dialog, model: str, reason: str) -> None:
    """Confirm an open action dialog as an operator does: the reason, then the model's name where it must be typed,
    else the confirm button."""
    from textual.widgets import Input

    dialog.query_one("#reason", Input).value = reason
    if dialog.request.typed:
        dialog.query_one("#typed", Input).focus()
        await pilot.press(*model, "enter")
    else:
        dialog.query_one("#confirm").focus()
        await pilot.press("enter")


def screen_text(app) -> str:
    """The rendered screen as plain text (what a user reads), toasts and overlays included."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def raw_control_chars(text: str) -> list[str]:
    """Control characters (ESC, BEL, ...) that reached rendered output instead of being shown as escapes."""
    return sorted({c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7f <= ord(c) < 0xa0})


async def until(pilot, predicate, what: str, rounds: int = 400) -> None:
    """Pauses until `predicate()` holds; the bound only stops a hang, it asserts nothing about time."""
    for _ in range(rounds):
        if predicate():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"gave up waiting for {what}; the screen shows:\n{screen_text(pilot.app)}")
