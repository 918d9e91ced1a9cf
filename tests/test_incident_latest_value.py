"""A firing incident shows its latest evaluation (README: "an incident's `value` in JSON is its latest evaluation,
the one the text's evidence shows"), also when that evaluation is inconclusive and the run goes on.

Found by the twenty-fifth session's probe (ws4): an error burst had ended and the latest window held 9 errors in
100 requests, its Wilson interval across the threshold, but the incident kept showing 34 % from the last window that
breached. The oracle is a hand count of the rows and scipy's Wilson interval.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from scipy import stats

from console.cli import main

DAY = datetime(2026, 11, 27)


def test_a_firing_incident_shows_the_latest_window_not_the_last_breaching_one(tmp_path, capsys):
    rows = []
    for h in range(24):
        for i in range(100):
            t = DAY + timedelta(hours=h, seconds=36 * i + 18)
            bad = (h == 6 and i % 5 < 2) or (h == 7 and i % 12 == 0)  # 40 % from 06:00, 9 % from 07:00
            rows.append({"ts": t.isoformat() + "Z", "model": "svc", "version": "1", "request_id": f"{h}-{i}",
                         "latency_ms": 20.0, "prediction": "1", "error": "boom" if bad else None})
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\n'
                      '[models.svc]\ntask = "classification"\n[models.svc.slo]\nerror_rate = 0.5\n'
                      '[[alerts]]\nname = "errors"\nmetric = "error_rate"\nop = ">"\nthreshold = 0.05\n'
                      'window = "1h"\nseverity = "critical"\n', encoding="utf-8")
    main(["--config", str(config), "check", "--format", "json", "--at", "2026-11-27T08:00:00Z"])
    [inc] = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["rule"] == "errors"]
    k = sum(1 for r in rows if r["error"] and "2026-11-27T07" in r["ts"])  # (07:00, 08:00]: the latest window
    ci = stats.binomtest(k, 100).proportion_ci(method="wilson")
    assert 0.05 < k / 100 and ci.low < 0.05  # inconclusive: the run is neither confirmed nor over
    assert inc["state"] == "firing"
    assert inc["value"] == pytest.approx(k / 100)
    assert inc["evidence"] == f"{k / 100:.4g} [{ci.low:.3g}, {ci.high:.3g}] on 100 rows"
    assert inc["peak"] == pytest.approx(0.4)  # the worst of the run stays its peak
