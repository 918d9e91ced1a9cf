"""A cost spike's onset is the old version's last request, on the raw path and from rollups alike.

Found by the signals probe (helper h6): a nightly batch whose v2 tripled its tokens at one night's batch had its spike
onset at the previous night's last v1 row on the raw path (02:04:59, as `incident_rules.cost_spike` defines it) and
at the end of that row's hour from the rollups (02:59:59.999999), so the two paths gave one incident two ids: an
hour of rollups ends at its end, not at its last row. Here v1 logs every 10 minutes until 11:20, the service is
down, and v2's first request is at 12:37:30: the onset is 11:20, counted by hand, on both paths.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from console.cli import main
from llm_versions import llm_workspace

START, LAST_V1, FIRST_V2 = datetime(2026, 8, 1), datetime(2026, 8, 3, 11, 20), datetime(2026, 8, 3, 12, 37, 30)


def _workspace(tmp_path, rollups: bool) -> str:
    stamps = [START + timedelta(minutes=10 * k) for k in range(int((LAST_V1 - START) / timedelta(minutes=10)) + 1)]
    stamps += [FIRST_V2 + timedelta(minutes=10 * k) for k in range(120)]
    return llm_workspace(tmp_path, stamps, FIRST_V2, rollups)


@pytest.mark.parametrize("rollups", [False, True], ids=["raw", "rollups"])
def test_a_cost_spike_begins_at_the_old_versions_last_request(tmp_path, capsys, rollups):
    cfg = _workspace(tmp_path, rollups)
    main(["--config", cfg, "check", "--at", (FIRST_V2 + timedelta(hours=18)).isoformat() + "Z", "--all",
          "--format", "json"])
    [spike] = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["kind"] == "cost_spike"]
    assert spike["state"] == "firing"
    assert datetime.fromisoformat(spike["onset"][:-1]) == LAST_V1
    assert spike["id"] == "llm:default: cost spike:20260803T1120"
