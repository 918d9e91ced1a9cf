"""Versions, Deployments and Audit: a read begun before a refresh is read again when it lands, not shown as current.

Each screen ran one read at a time and dropped a refresh's ask while it ran (now `ConsoleScreen.read`); the read
that landed had begun before the change the refresh came with (a record written, an alias moved), and the screen
showed it as current until some later refresh (none with polling off; live, the next tick). The Model page had the
same window (commit "Model page: a read begun before new rows arrived is read again"). Each test holds the screen's
first read after it has computed, makes a real change (a record in the trail, an alias in a sqlite registry),
refreshes, lets the read go, and reads the screen once no read is in flight.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from conftest import mlflow_client, seed_model, unique
from console.ui.screens import audit as audit_screen
from console.ui.screens import deployments as deployments_screen
from ui_fixtures import FIXED, build_workspace, make_app, screen_text, until

WRITTEN = "written while the trail was read"


class Held:
    """Wraps a read: its first call computes, then returns only when let go (`release`)."""

    def __init__(self, read):
        self.read, self.calls = read, 0
        self.computed, self.release = threading.Event(), threading.Event()

    def __call__(self, *args, **kwargs):
        out = self.read(*args, **kwargs)
        self.calls += 1
        if self.calls == 1:
            self.computed.set()
            self.release.wait(120)
        return out


def write_record(app) -> None:
    app.service.operator.audit.append({"phase": "refused", "action": "rollback", "model": "fraud-detector",
                                       "environment": "production", "outcome": "refused", "message": WRITTEN})


async def test_the_audit_screen_reads_the_trail_again(tmp_path, monkeypatch):
    from console.ui.screens.audit import AuditScreen

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # this test's own trail
    held = Held(audit_screen.load_audit)
    monkeypatch.setattr(audit_screen, "load_audit", held)
    app = make_app(tmp_path)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
            screen = AuditScreen()
            await app.push_screen(screen)
            await until(pilot, held.computed.is_set, "the screen's first read, computed")
            write_record(app)
            for _ in range(3):
                screen.show_snapshot(app.snapshot)  # refreshes, while that read is in flight
            held.release.set()
            await until(pilot, lambda: screen.loaded and not screen.reading(), "the trail read")
            assert held.calls == 2  # the held read, and one more for the three refreshes
            assert [r.get("message") for r in screen.records.values()] == [WRITTEN]
            assert WRITTEN in screen_text(app)
    finally:
        held.release.set()


async def test_the_deployments_screen_reads_its_timeline_again(tmp_path, monkeypatch):
    from console.ui.screens.deployments import DeploymentsScreen

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    held = Held(deployments_screen.load_deployments)
    monkeypatch.setattr(deployments_screen, "load_deployments", held)
    app = make_app(tmp_path)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
            screen = DeploymentsScreen(model="fraud-detector", environment="production")
            await app.push_screen(screen)
            await until(pilot, held.computed.is_set, "the screen's first read, computed")
            write_record(app)
            screen.show_snapshot(app.snapshot)
            held.release.set()
            await until(pilot, lambda: screen.loaded and not screen.reading(), "the deployments read")
            texts = [e["text"] for e in screen.events.values() if e["source"] == "audit"]
            assert texts == [WRITTEN]  # the one record in this test's trail, beside the log's deploy event
            assert len(screen.events) == 2
    finally:
        held.release.set()


async def test_the_versions_screen_reads_the_aliases_again(sqlite_uri, tmp_path, monkeypatch):
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from console.ui.screens.versions import VersionsScreen

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    name = unique("held")
    seed_model(sqlite_uri, name, 2, aliases={"champion": "1"})
    cfg = replace(parse_file(build_workspace(tmp_path)), tracking_uri=sqlite_uri)
    svc = Service(cfg, clock=lambda: FIXED)
    held = Held(svc.versions)
    svc.versions = held
    app = ConsoleApp(cfg, service=svc, poll=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
            screen = VersionsScreen(model=name, environment="production")
            await app.push_screen(screen)
            await until(pilot, held.computed.is_set, "the screen's first read, computed")
            mlflow_client(sqlite_uri).set_registered_model_alias(name, "champion", "2")  # another operator
            screen.show_snapshot(app.snapshot)
            held.release.set()
            await until(pilot, lambda: screen.loaded and not screen.reading(), "the versions read")
            assert {v: list(info.aliases) for v, info in screen.versions.items()} == {"2": ["champion"], "1": []}
    finally:
        held.release.set()


async def test_the_versions_screen_reads_the_lineage_of_a_version_listed_while_lineage_was_read(sqlite_uri, tmp_path,
                                                                                               monkeypatch):
    """The lineage (a run read per version) is the list's second phase, one read at a time: a version listed while
    one ran was skipped (`_lineage_loading`), and its row said "-" and its pane "loading" until the list was read
    again by some later refresh (none with polling off)."""
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from console.ui.screens.versions import VersionsScreen

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    name = unique("lineage")
    seed_model(sqlite_uri, name, 2, aliases={"champion": "1"})
    cfg = replace(parse_file(build_workspace(tmp_path)), tracking_uri=sqlite_uri)
    svc = Service(cfg, clock=lambda: FIXED)
    held = Held(svc.lineage)
    svc.lineage = held
    app = ConsoleApp(cfg, service=svc, poll=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app._have_findings and not app._monitoring, "the first rule pass")
            screen = VersionsScreen(model=name, environment="production")
            await app.push_screen(screen)
            await until(pilot, held.computed.is_set, "the first lineage read, computed")
            client = mlflow_client(sqlite_uri)  # a third version, registered as the lineage is read
            exp = client.get_experiment_by_name(f"seed-{name}")
            run = client.create_run(exp.experiment_id)
            client.log_metric(run.info.run_id, "auc", 0.9)
            client.create_model_version(name, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
            screen.show_snapshot(app.snapshot)
            await until(pilot, lambda: "3" in screen.versions and not screen.reading(), "the list with v3")
            held.release.set()
            await until(pilot, lambda: "3" in screen.lineages or "3" in screen.errors, "v3's lineage", rounds=100)
            assert screen.lineages["3"].metrics == {"auc": 0.9}
            assert set(screen.lineages) == {"1", "2", "3"} and not screen.errors
    finally:
        held.release.set()
