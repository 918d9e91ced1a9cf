"""Over a long history the evaluation step widens (about 168 windows), and each grid window now covers its step at
least, so the windows tile the history: no stretch goes unevaluated, on the raw rows and on the rollups alike.

Found by the twenty-fifth session's probe (ws4): over `--since` 10 days (a 2 h step) a 1 h error-rate rule's
windows covered one hour in two, and a 45-minute outage at 34 % errors was not listed at all; over a month (6 h)
onsets landed hours after the breach began. The oracle is a hand count of the outage's rows.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from console.cli import main

START, END = datetime(2026, 11, 18), datetime(2026, 11, 30)
OUTAGE = (datetime(2026, 11, 27, 6, 5), datetime(2026, 11, 27, 6, 50))


@pytest.mark.parametrize("rollups", [False, True], ids=["raw", "rollups"])
def test_a_short_outage_is_seen_over_a_long_history(tmp_path, capsys, rollups):
    rows, t, i = [], START, 0
    while t < END:
        bad = OUTAGE[0] <= t < OUTAGE[1] and i % 3 == 0  # a third of the outage's requests fail
        rows.append({"ts": t.isoformat() + "Z", "model": "svc", "version": "1", "request_id": f"r{i}",
                     "latency_ms": 20.0, "prediction": "1", "error": "boom" if bad else None})
        t, i = t + timedelta(seconds=36), i + 1
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\n'
                      + ("[rollups]\nmin_rows = 1000\n" if rollups else "")
                      + '[models.svc]\ntask = "classification"\n[models.svc.slo]\nerror_rate = 0.5\n'
                      '[[alerts]]\nname = "errors"\nmetric = "error_rate"\nop = ">"\nthreshold = 0.05\n'
                      'window = "1h"\nseverity = "critical"\n', encoding="utf-8")
    bad = sum(1 for r in rows if r["error"])
    assert bad == 25  # 75 requests in the 45 minutes, one in three failed: 25 / 100 in its hour
    for since in ("2026-11-20T00:00:00Z", "2026-11-01T00:00:00Z"):  # 10 days (2 h step), a month (6 h)
        main(["--config", str(config), "check", "--format", "json", "--at", "2026-11-30T00:00:00Z",
              "--since", since, "--all"])
        found = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["rule"] == "errors"
                 and i["state"] in ("firing", "resolved")]
        assert len(found) == 1, (since, found)
        onset = datetime.fromisoformat(found[0]["onset"].replace("Z", ""))
        assert OUTAGE[0] - timedelta(minutes=1) <= onset <= OUTAGE[1], (since, found[0])
