"""A breach held from a log's first row has no change point inside its first breaching window: the CUSUM's largest
excursion of a stationary series falls anywhere, so models failing alike (one request in ten, from the start) got
onsets hours apart, "FOR 17m" beside "3h32m" (first-user probe D4). A shift the rows do not show is no onset: the
window's start is."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

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
