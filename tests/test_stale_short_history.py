"""The stale rule on a model whose whole 90 days hold fewer than the 20 gaps its usual (p95) gap is measured on: a
model logging about 3 times a day for 6 days paged (critical) 15 minutes after every request, the rule's floor
(alerts probe, carried; 82a3c6d read back 90 days, which such a model does not have). With fewer than 20 gaps the
largest gap seen stands in for the p95 (of so few it is one of the two largest): 10x it is allowed. Checked
against numpy's largest gap of the generated times. Raw path (a model this quiet never reads the rollups) and
`[rollups] min_rows = 1`, which sends every model to them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest

from console.cli import main

FIRST = datetime(2026, 11, 10, 7)


def _times() -> list[datetime]:
    rng = np.random.default_rng(4)
    out = []
    for day in range(6):  # about 07:00, 13:00 and 19:00, a few minutes late or early
        for hour in (0, 6, 12):
            out.append(FIRST + timedelta(days=day, hours=hour, minutes=int(rng.integers(-20, 20))))
    return out


@pytest.fixture(scope="module", params=["", "[rollups]\nmin_rows = 1\n"], ids=["raw", "rollups"])
def workspace(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("stale-short")
    (tmp / "p.jsonl").write_text("".join(json.dumps({
        "ts": f"{t:%Y-%m-%dT%H:%M:%SZ}", "model": "few", "version": "1", "request_id": f"r{i}", "x": 1.0,
        "prediction": "1", "latency_ms": 40.0}) + "\n" for i, t in enumerate(_times())), encoding="utf-8")
    cfg = tmp / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp / "store"}"\n[[logs]]\nkind = "predictions"\npath = "{tmp / "p.jsonl"}"\n'
                   '[models.few]\nfeatures = ["x"]\n' + request.param, encoding="utf-8")
    return cfg


def _stale(cfg, capsys, at: datetime) -> list[dict]:
    main(["--config", str(cfg), "check", "--all", "--at", f"{at:%Y-%m-%dT%H:%M:%S}Z", "--format", "json"])
    return [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["kind"] == "stale_minutes"]


def test_a_model_with_a_short_history_is_stale_past_its_largest_gap_not_the_floor(workspace, capsys):
    times = _times()
    last = times[-1]
    gaps = np.diff(np.array(times, dtype="datetime64[s]")).astype(float)
    assert len(gaps) < 20
    allowed = timedelta(seconds=10 * float(gaps.max()))
    assert allowed > timedelta(days=2)
    for pause in (timedelta(hours=1), timedelta(hours=8), timedelta(days=1), allowed - timedelta(hours=1)):
        assert not _stale(workspace, capsys, last + pause), pause  # an ordinary pause (1 h: stale at the floor)
    # dead: stale once the silence is past the allowed gap (and past the same quiet a day and two days before)
    [stale] = _stale(workspace, capsys, last + allowed + timedelta(days=1))
    assert stale["threshold"] == pytest.approx(allowed.total_seconds() / 60, abs=0.5), stale
