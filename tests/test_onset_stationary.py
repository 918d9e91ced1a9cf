"""A breach held from a log's first row has no change point inside its first breaching window: the CUSUM's largest
excursion of a stationary series falls anywhere, so models failing alike (one request in ten, from the start) got
onsets hours apart, "FOR 17m" beside "3h32m" (first-user probe D4). A shift the rows do not show is no onset: the
window's start is."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest

from console.cli import main

START = datetime(2026, 12, 5, 0, 9)


def test_models_failing_alike_from_their_first_row_get_one_onset(tmp_path, capsys):
    with (tmp_path / "p.jsonl").open("w") as f:
        for phase in range(7):
            for i in range(120):  # one request every 2 minutes, every tenth failing, each model another phase
                ts = START + timedelta(minutes=2 * i)
                f.write(json.dumps({"ts": f"{ts:%Y-%m-%dT%H:%M:%SZ}", "model": f"m{phase}", "version": "1",
                                    "request_id": f"{phase}-{i}", "latency_ms": 10,
                                    **({"error": "boom"} if (i + phase) % 10 == 0 else {})}) + "\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "store"}"\n[[logs]]\nkind = "predictions"\n'
                   f'path = "{tmp_path / "p.jsonl"}"\n', encoding="utf-8")
    main(["--config", str(cfg), "--at", "latest", "check", "--format", "json"])
    onsets = {i["model"]: datetime.fromisoformat(i["onset"].rstrip("Z")) for i in
              json.loads(capsys.readouterr().out)["incidents"] if i["kind"] == "burn_rate"}
    assert len(onsets) == 7, onsets
    assert max(onsets.values()) - min(onsets.values()) <= timedelta(minutes=20), onsets
    assert max(onsets.values()) <= START + timedelta(hours=1), onsets


FIRST = datetime(2026, 3, 10)  # the first of a request every 6 s, each failing by chance at 8 %, to 12:00


@pytest.mark.parametrize("extra", ["", "[rollups]\nmin_rows = 10\n"], ids=["raw", "rollups"])
def test_a_log_failing_at_random_from_its_first_row_has_its_onset_there(tmp_path, capsys, extra):
    """Errors at one rate throughout, drawn at random (a Bernoulli series, not the pattern above): no shift, so the
    onset is the first breaching window's start, (00:00, 01:00]'s, the first row's time. The shift was accepted
    where the means before and after the CUSUM's largest excursion differed by a t of 3, the level for one split
    point, not for the largest of all: with seed 3 the onset (and the id) was 00:28:00, on both paths."""
    ids = set()
    for seed in range(6):
        rng = np.random.default_rng(seed)
        log = tmp_path / f"p{seed}.jsonl"
        log.write_text("".join(json.dumps({
            "ts": f"{FIRST + timedelta(seconds=6 * i):%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1",
            "request_id": f"r{i}", "prediction": "1", "latency_ms": 20.0,
            "status": "error" if rng.random() < 0.08 else "ok"}) + "\n" for i in range(12 * 600)))
        cfg = tmp_path / f"c{seed}.toml"
        cfg.write_text(f'[store]\npath = "{tmp_path / f"store{seed}"}"\n[[logs]]\nkind = "predictions"\n'
                       f'path = "{log}"\n{extra}[models.m]\ntask = "classification"\n[models.m.slo]\n'
                       'error_rate = 0.01\n', encoding="utf-8")
        main(["--config", str(cfg), "--at", "2026-03-10T12:00Z", "check", "--all", "--format", "json"])
        (burn,) = [i for i in json.loads(capsys.readouterr().out)["incidents"] if i["kind"] == "burn_rate"]
        assert burn["detected"] == "2026-03-10T01:00:00Z", (seed, burn)
        assert burn["onset"] == "2026-03-10T00:00:00Z", (seed, burn)
        ids.add(burn["id"])
    assert ids == {"m:default: SLO burn:20260310T0000"}
