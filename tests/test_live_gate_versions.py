"""The canary's live gates count the rows of the versions the aliases name now: a canary started minutes ago is
judged on its own rows, not on those its predecessor served under the same variant.

Found by the twenty-fifth session's CLI probe (finding 3): after a rollback aborted canary v4 and v1 was started as
the canary, `canary step` gated v1 on v4's last hour (`gate FAIL live:p95_ms: 36.58 vs champion 32.77`, "champion
343 req, canary 120 req") though v1 had served nothing. The oracle is a polars count of the demo's log.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import polars as pl
import pytest

from console.actions import plan
from console.config import parse_file
from console.service import Service
from demo_copy import demo_at
from fixed_time import DEMO_NOW

MODEL = "fraud-detector"


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    config = demo_at(tmp_path_factory.mktemp("gates") / "ws")
    s = Service(parse_file(config), clock=lambda: DEMO_NOW)
    s.refresh()
    yield s, config.parent
    s.close()


def _last_hour(ws) -> pl.DataFrame:
    """Production rows of the last hour, by hand (the demo plants malformed lines: skipped, as the store skips them)."""
    rows = []
    for line in (ws / "logs" / "predictions" / f"{MODEL}.jsonl").read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            r = json.loads(line)
            t = datetime.fromisoformat(str(r["ts"]).replace("Z", "+00:00")).replace(tzinfo=None)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        if isinstance(r, dict) and DEMO_NOW - timedelta(hours=1) < t <= DEMO_NOW and r.get("environment") == "production":
            rows.append({"variant": r.get("variant"), "version": str(r.get("version"))})
    return pl.DataFrame(rows)


def test_the_live_gates_read_the_canary_version_alone(svc):
    s, ws = svc
    hour = _last_hour(ws)
    served = {(v, str(ver)): n for v, ver, n in hour.group_by("variant", "version").len().iter_rows()}
    reg = s.operator.registry
    champion, canary = reg.alias_version(MODEL, "champion"), reg.alias_version(MODEL, "canary")
    assert served.get(("canary", canary), 0) > 0  # the demo's canary served in the last hour
    got = s.live_stats(MODEL, "production", {"champion": champion, "canary": canary})
    assert got["canary"]["requests"] == served[("canary", canary)]
    assert got["champion"]["requests"] == served[("champion", champion)]

    fresh = next(v.version for v in reg.versions(MODEL) if v.version not in (champion, canary))
    assert served.get(("canary", fresh), 0) == 0  # a canary just started: not one row yet
    reg.set_alias(MODEL, "canary", fresh)
    try:
        live, _, notes = plan.gather_evidence(s.operator, MODEL, "production", "canary-step", None, s.live_stats, None)
    finally:
        reg.set_alias(MODEL, "canary", canary)
    assert live is None or "canary" not in live, (live, notes)  # not the predecessor's rows
    assert any("no live canary traffic" in n for n in notes), notes
