"""A classifier logging its answer as a JSON boolean against 0/1 labels: `true` is the class 1 and `false` 0 (they were
compared as text, so every boolean answer counted wrong while ROC AUC on the same screen was right). Checked against
sklearn with the booleans read as 1 and 0, on raw rows and from the hourly rollups."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from console.cli import main

AT = datetime(2026, 12, 1, 0, 0)


@pytest.mark.parametrize("min_rows", [200_000, 100], ids=["raw", "rollups"])
def test_boolean_answers_are_the_classes_1_and_0(tmp_path, capsys, min_rows):
    rng = np.random.default_rng(11)
    n = 1200
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < 0.8, y, 1 - y)
    # true, "1", 1, "1.0", "yes": yes/no were always wrong (the recheck's N1), as error flags read them
    forms = [lambda v: bool(v), lambda v: str(v), lambda v: int(v), lambda v: f"{v}.0", lambda v: "yes" if v else "no"]
    with (tmp_path / "p.jsonl").open("w") as f, (tmp_path / "l.jsonl").open("w") as g:
        for i in range(n):
            ts = AT - timedelta(hours=20) + timedelta(seconds=60 * i)
            f.write(json.dumps({"ts": f"{ts:%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1", "request_id": f"r{i}",
                                "prediction": forms[i % 5](int(p[i])), "latency_ms": 5}) + "\n")
            g.write(json.dumps({"request_id": f"r{i}", "label": str(int(y[i])),
                                "ts": f"{ts + timedelta(minutes=1):%Y-%m-%dT%H:%M:%SZ}"}) + "\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "store"}"\n[rollups]\nmin_rows = {min_rows}\n'
                   f'[[logs]]\nkind = "predictions"\npath = "{tmp_path / "p.jsonl"}"\n'
                   f'[[logs]]\nkind = "labels"\npath = "{tmp_path / "l.jsonl"}"\n'
                   '[models.m]\ntask = "classification"\n', encoding="utf-8")
    assert main(["--config", str(cfg), "quality", "m", "--at", AT.isoformat(), "--window", "1d", "--format",
                 "json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["now"]["metrics"]
    for name, fn in (("accuracy", accuracy_score), ("precision", precision_score), ("recall", recall_score),
                     ("f1", f1_score)):
        assert abs(metrics[name] - fn(y, p)) < 1e-12, (name, metrics)
