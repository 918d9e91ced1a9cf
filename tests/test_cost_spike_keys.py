"""The cost-spike rule watches a change of the serving version and of the prompt version alike, on the raw rows and
on the rollups, for a log that carries a prompt version and for one that does not.

Found by the twenty-fifth session's probe: with a `prompt_version` column only prompt changes counted (a new
version with the same prompt doubling the cost never alerted), and on the rollup path an LLM logging no prompt
version was "insufficient data: no champion traffic" while the Cost screen showed the spike. The independent
figure is each side's cost per request, summed by hand from the tokens and prices.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest

from console.cli import main

T0, T1 = datetime(2026, 11, 20), datetime(2026, 11, 30)
SWITCH = datetime(2026, 11, 26, 12)
AT = "2026-11-27T12:00:00Z"
PRICES = (3.0, 15.0)  # per 1M input, output tokens


def _rows() -> list[dict]:
    rng = np.random.default_rng(3)
    out = []
    for model in ("same-prompt", "new-prompt", "no-prompt"):
        seconds = np.sort(rng.uniform(0, (T1 - T0).total_seconds(), 3000))
        for i, s in enumerate(seconds):
            t = T0 + timedelta(seconds=float(s))
            after = t >= SWITCH
            r = {"ts": t.isoformat() + "Z", "model": model, "request_id": f"{model}-{i}", "prediction": "x",
                 "latency_ms": 500.0, "input_tokens": int(rng.normal(3000 if after else 1000, 30)),
                 "output_tokens": 200}
            if model == "same-prompt":  # version 1 -> 2, the prompt the same
                r.update(version="2" if after else "1", prompt_version="p1")
            elif model == "new-prompt":  # the version the same, prompt p1 -> p2
                r.update(version="1", prompt_version="p2" if after else "p1")
            else:
                r.update(version="2" if after else "1")
            out.append(r)
    return sorted(out, key=lambda r: r["ts"])


def _ratio(rows: list[dict], model: str) -> float:
    """Cost per request after the switch / before it, over the default history (7 days to AT), by hand."""
    at = datetime.fromisoformat(AT.replace("Z", ""))
    since = at - timedelta(days=7)
    cost = {True: [0.0, 0], False: [0.0, 0]}
    for r in rows:
        t = datetime.fromisoformat(r["ts"].replace("Z", ""))
        if r["model"] == model and since < t <= at:
            side = cost[t >= SWITCH]
            side[0] += (r["input_tokens"] * PRICES[0] + r["output_tokens"] * PRICES[1]) / 1e6
            side[1] += 1
    return (cost[True][0] / cost[True][1]) / (cost[False][0] / cost[False][1])


@pytest.mark.parametrize("rollups", [False, True], ids=["raw", "rollups"])
def test_a_version_or_a_prompt_change_that_raises_the_cost_fires(tmp_path, capsys, rollups):
    rows = _rows()
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\n'
    if rollups:
        config += "[rollups]\nmin_rows = 1000\n"
    for m in ("same-prompt", "new-prompt", "no-prompt"):
        config += (f'[models.{m}]\ntask = "llm"\n[models.{m}.prices]\ninput_per_1m = {PRICES[0]}\n'
                   f'output_per_1m = {PRICES[1]}\n[models.{m}.slo]\np95_ms = 3000\n')
    (tmp_path / "mlops-console.toml").write_text(config, encoding="utf-8")
    main(["--config", str(tmp_path / "mlops-console.toml"), "check", "--format", "json", "--at", AT, "--all"])
    got = json.loads(capsys.readouterr().out)
    spikes = {i["model"]: i for i in got["incidents"] if i["kind"] == "cost_spike"}
    for model in ("same-prompt", "new-prompt", "no-prompt"):
        assert model in spikes and spikes[model]["state"] == "firing", (model, spikes.get(model))
        assert spikes[model]["value"] == pytest.approx(_ratio(rows, model), rel=1e-6), model
