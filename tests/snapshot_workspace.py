"""A deterministic demo workspace for the screen snapshots (tests/test_ui_screens_snapshots.py).

`console.demo.workspace.build_workspace(dir, now=FIXED_NOW)` is a pure function of (seed, now) for the logs,
the reference data and tour.json, but its MLflow registry is not: MLflow gives runs (and datasets, inputs)
random uuid4 ids and stamps experiments, registered models and model versions with the wall clock. So:

- the build runs with `uuid.uuid4` replaced by a seeded generator (same run ids on every build), and
- afterwards every wall-clock timestamp in `mlflow.db` is rewritten to a fixed value derived from the
  seeded data (a version is created 10 minutes after its training run ended, a model when its first
  version was, a prompt version a day apart ending one day before FIXED_NOW), and a final sweep checks
  that no column anywhere still holds a time from the build;
- `[audit] path` points at a fixed path (AUDIT_PATH), since the Audit screen shows it.

`demo_workspace` (session fixture) builds it once; `demo_service` (session fixture) is one warm Service
on it with the clock pinned to FIXED_NOW; `make_app(service)` builds a ConsoleApp on it with no polling.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest

FIXED_NOW = datetime(2026, 3, 10, 12, 0, 0)  # naive UTC, like Service's clock
UUID_SEED = 20260310
# The Audit screen shows the audit file's absolute path, and the session's tmp dir differs on every run:
# the snapshot workspace points `[audit] path` at this fixed location instead. Nothing here writes to it
# (no test confirms an action); it must not exist, so the trail reads as empty, like a fresh demo's.
AUDIT_PATH = "/nonexistent/mlops-console-snapshots/audit.jsonl"


def _ms(dt: datetime) -> int:
    return int(dt.replace(tzinfo=UTC).timestamp() * 1000)


def build_demo(directory: Path) -> Path:
    """Builds the demo workspace under `directory` deterministically; returns the directory."""
    started = time.time()
    # in a fresh interpreter: inside a long test session other threads and earlier MLflow use also call
    # uuid4, so the seeded sequence (and the run ids on screen) would depend on which tests ran before
    subprocess.run([sys.executable, "-c", f"import sys; sys.path[:0] = {sys.path!r}; "
                    f"from snapshot_workspace import seeded_build; seeded_build({str(directory)!r})"],
                   check=True, cwd=Path(__file__).parent)
    config = directory / "mlops-console.toml"
    finished = time.time()
    pin_registry_times(config.parent / "mlflow.db", started - 60, finished + 60)
    text = config.read_text(encoding="utf-8")
    pinned = text.replace('[audit]\npath = "audit.jsonl"', f'[audit]\npath = "{AUDIT_PATH}"')
    assert pinned != text, "the demo config's [audit] section changed: update snapshot_workspace.py"
    config.write_text(pinned, encoding="utf-8")
    assert not Path(AUDIT_PATH).exists(), f"{AUDIT_PATH} must not exist (the snapshots show an empty trail)"
    return config.parent


def seeded_build(directory: str) -> None:
    """The demo build with `uuid.uuid4` seeded: run it in a fresh interpreter (see build_demo)."""
    from console.demo.workspace import build_workspace

    rng = random.Random(UUID_SEED)

    def seeded_uuid4() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    with mock.patch("uuid.uuid4", seeded_uuid4):
        build_workspace(Path(directory), now=FIXED_NOW)


def pin_registry_times(db: Path, since_s: float, until_s: float) -> None:
    """Rewrites the wall-clock timestamps MLflow wrote during the build (epoch ms) to fixed values."""
    con = sqlite3.connect(db)
    try:
        cur = con.cursor()
        runs = {run_id: end for run_id, end in cur.execute("SELECT run_uuid, end_time FROM runs")}
        prompt_day = _ms(FIXED_NOW - timedelta(days=1))
        versions = list(cur.execute("SELECT name, version, run_id FROM model_versions ORDER BY name, version"))
        newest = {}
        for name, version, _ in versions:
            newest[name] = max(newest.get(name, 0), int(version))
        for name, version, run_id in versions:
            if run_id and runs.get(run_id):
                created = runs[run_id] + 10 * 60_000
            else:  # a prompt version (no run): one a day, the newest one day before FIXED_NOW
                created = prompt_day - (newest[name] - int(version)) * 86_400_000
            cur.execute("UPDATE model_versions SET creation_time = ?, last_updated_time = ? "
                        "WHERE name = ? AND version = ?", (created, created, name, version))
        for (name,) in list(cur.execute("SELECT name FROM registered_models")):
            first, last = cur.execute("SELECT MIN(creation_time), MAX(creation_time) FROM model_versions "
                                      "WHERE name = ?", (name,)).fetchone()
            first = first if first is not None else prompt_day
            cur.execute("UPDATE registered_models SET creation_time = ?, last_updated_time = ? WHERE name = ?",
                        (first, last if last is not None else first, name))
        for (exp_id,) in list(cur.execute("SELECT experiment_id FROM experiments")):
            start = cur.execute("SELECT MIN(start_time) FROM runs WHERE experiment_id = ?", (exp_id,)).fetchone()[0]
            created = (start - 86_400_000) if start is not None else _ms(FIXED_NOW - timedelta(days=90))
            cur.execute("UPDATE experiments SET creation_time = ?, last_update_time = ? WHERE experiment_id = ?",
                        (created, created, exp_id))
        _sweep(cur, since_s, until_s)
        con.commit()
    finally:
        con.close()


def _sweep(cur, since_s: float, until_s: float) -> None:
    """Any other integer column holding a build-time stamp (s, ms, us or ns) gets a fixed one; then checks."""
    fixed_ms = _ms(FIXED_NOW - timedelta(days=1))
    scales = (1, 1_000, 1_000_000, 1_000_000_000)
    tables = [r[0] for r in cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        columns = [r[1] for r in cur.execute(f'PRAGMA table_info("{table}")')]
        for column in columns:
            for scale in scales:
                lo, hi = int(since_s * scale), int(until_s * scale)
                value = fixed_ms * scale // 1_000
                cur.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE typeof("{column}") = \'integer\' '
                            f'AND "{column}" BETWEEN ? AND ?', (value, lo, hi))
    for table in tables:
        columns = [r[1] for r in cur.execute(f'PRAGMA table_info("{table}")')]
        for column in columns:
            for scale in scales:
                lo, hi = int(since_s * scale), int(until_s * scale)
                left = cur.execute(f'SELECT COUNT(*) FROM "{table}" WHERE typeof("{column}") = \'integer\' '
                                   f'AND "{column}" BETWEEN ? AND ?', (lo, hi)).fetchone()[0]
                assert not left, f"{table}.{column} still holds a build-time timestamp"


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory) -> Path:
    """The deterministic demo workspace, built once per session (read only: no test writes to it)."""
    return build_demo(tmp_path_factory.mktemp("snapshot-demo") / "ws")


@pytest.fixture(scope="session")
def demo_service(demo_workspace):
    """One warm Service for the session: clock pinned to FIXED_NOW, logs ingested, monitoring computed.

    Every result it gives is a pure function of the workspace and the clock, so sharing it changes what a
    screen shows in no way; it only spares each app the ~10 s of ingest and monitoring. It is warmed here
    (ingest twice: a refresh with no new rows changes nothing) so the first test sees what the last does.
    """
    from console.config import parse_file
    from console.service import Service

    svc = Service(parse_file(demo_workspace / "mlops-console.toml"), clock=lambda: FIXED_NOW)
    svc.MONITOR_TTL_S = 7 * 24 * 3600.0  # findings computed once, never again mid-session
    svc.snapshot(wait_for_registry=True, monitoring=True)
    svc.snapshot(wait_for_registry=True, monitoring=True)
    yield svc
    assert not Path(AUDIT_PATH).parent.exists(), f"something wrote an audit trail under {AUDIT_PATH}"


def make_app(service):
    """A ConsoleApp on `service` (see demo_service), polling off."""
    from console.ui.app import ConsoleApp

    return ConsoleApp(service.cfg, service=service, poll=False)
