"""`Service.findings()` as a script's first read, before any refresh: the JSONL rows are not in the store until
ingest, so it brings the store up to date first (`Service._ingested`, as the other first reads do) and returns
what a refreshed service returns. On the small UI workspace: three models, 50 production rows each (one a
minute, written by `ui_fixtures.build_workspace`), so every SLO burn reads "50 rows, needs 100"."""

from __future__ import annotations

from console.config import parse_file
from console.service import Service
from ui_fixtures import FIXED, MODELS, build_workspace


def _findings(root, refresh: bool) -> list[tuple]:
    svc = Service(parse_file(build_workspace(root)), clock=lambda: FIXED)
    try:
        if refresh:
            svc.refresh()
        return sorted((f.id, f.state, f.evidence) for f in svc.findings(max_age_s=0))
    finally:
        svc.close()


def test_findings_before_the_first_refresh_are_complete(tmp_path):
    first = _findings(tmp_path / "first", refresh=False)
    refreshed = _findings(tmp_path / "refreshed", refresh=True)
    assert first == refreshed
    burns = {fid.split(":")[0]: evidence for fid, _, evidence in first if ":default: SLO burn:" in fid}
    assert burns == {m: "50 rows, needs 100" for m in MODELS}  # hand count of the rows the fixture writes
