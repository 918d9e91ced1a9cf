"""The Deployments screen follows the time cursor. In a view of the past its table showed the registry's aliases
now (a promote made since showed as already done) and its timeline listed audit records after the view's end,
while the Overview at the same time showed what served then. It now shows the deployment events' fold up to the
view's end, as the Overview does, and the records up to it."""

from __future__ import annotations

from datetime import timedelta

from console.cli import main
from console.config import parse_file
from console.service import Service
from console.ui.screens.deployments import load_deployments
from demo_copy import demo_at
from fixed_time import DEMO_NOW


def test_a_past_view_shows_what_served_then(tmp_path, capsys):
    config = demo_at(tmp_path / "ws")
    assert main(["--config", str(config), "promote", "fraud-detector", "4", "--yes", "--force",
                 "--reason", "after the view"]) == 0  # moves the alias now, audited at the wall clock
    capsys.readouterr()
    svc = Service(parse_file(config), clock=lambda: DEMO_NOW)
    try:
        now = load_deployments(svc, "fraud-detector")
        svc.set_at(DEMO_NOW - timedelta(days=1))
        then = load_deployments(svc, "fraud-detector")
        folded = svc.serving()[("fraud-detector", "production")]
        rows = svc.snapshot(refresh=False).rows
    finally:
        svc.close()
    prod = lambda got: next(s for s in got["serving"] if s["environment"] == "production")  # noqa: E731
    assert prod(now)["champion"] == "4" and any(e["source"] == "audit" for e in now["timeline"])
    assert prod(then)["champion"] == folded.champion != "4"
    assert prod(then)["canary"] == folded.canary
    overview = next(r for r in rows if r.name == "fraud-detector" and r.environment == "production")
    assert overview.champion == prod(then)["champion"]  # the screen and the Overview agree at the cursor
    assert not [e for e in then["timeline"] if e["source"] == "audit"]  # the promote came after the view
