"""A semicolon CSV in a decimal-comma locale with one value the parser cannot read as such (`1.234,5`, a thousands
separator): that row alone is set aside, as a bad row costs only itself. Every `12,5` of its piece was set aside with
it ("latency_ms is not a number": 4 of 6 rows), and the median of what was left was 56 ms instead of 10."""

from __future__ import annotations

import json

import numpy as np

from console.cli import main

ROWS = [("12,5", "3,25"), ("12", "4"), ("1.234,5", "1.000,75"), ("0,5", "2,5"), ("100", "10"), ("7,25", "1,5")]


def test_one_value_with_a_thousands_separator_costs_only_its_row(tmp_path, capsys):
    log = tmp_path / "eu.csv"
    log.write_text("ts;model;version;request_id;latency_ms;amount;status\n" + "".join(
        f"2026-11-30T10:{i:02d}:00Z;m;1;r{i};{lat};{amt};ok\n" for i, (lat, amt) in enumerate(ROWS)), encoding="utf-8")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "store"}"\n[[logs]]\nkind = "predictions"\npath = "{log}"\n'
                   'format = "csv"\n[models.m]\ntask = "regression"\nfeatures = ["amount"]\n', encoding="utf-8")
    assert main(["--config", str(cfg), "health", "m", "--at", "2026-11-30T10:30Z", "--window", "1h",
                 "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["table"]
    kept = [12.5, 12.0, 0.5, 100.0, 7.25]
    assert row["requests"] == 5
    assert abs(row["p50_ms"] - float(np.percentile(kept, 50))) < 1e-9, row
    main(["--config", str(cfg), "snapshot", "--at", "2026-11-30T11:00Z", "--format", "json"])
    snap = json.loads(capsys.readouterr().out)
    assert snap["counts"]["malformed"] == 1, snap["counts"]
    assert [g["reason"] for g in snap["malformed_by"]] == ["latency_ms is not a number"], snap["malformed_by"]
