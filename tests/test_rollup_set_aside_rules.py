"""`rollup`'s summary counts every row of a text log it set aside, by reason, as the store does. It counted only the
rows the parser refused (not JSON, a broken quote): a row with no request_id, no version, a negative latency or
cost (predictions), or no label (labels) was dropped by the build's scans and counted nowhere, so on one log
`rows_set_aside` said 1 where the store said 6."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from console import rollup_engine
from console.config import parse_file

START = datetime(2026, 12, 1)


def _row(i: int, **change) -> dict:
    row = {"ts": f"{START + timedelta(minutes=i):%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1",
           "request_id": f"r{i}", "latency_ms": 20.0}
    return {k: v for k, v in {**row, **change}.items() if v is not None}


def _catch_up(tmp_path, fields: str = ""):
    cfg = parse_file(tmp_path / "c.toml")
    logs = [s for s in cfg.logs if s.kind == "predictions"], [s for s in cfg.logs if s.kind == "labels"]
    return rollup_engine.catch_up(*logs, tmp_path / "rollups", now=START + timedelta(days=1), models=cfg.models,
                                  since=START, horizon=START + timedelta(days=1, minutes=5))


def test_the_rows_the_rules_set_aside_are_counted_by_reason(tmp_path):
    bad = [dict(request_id=None), dict(version=None), dict(latency_ms=-3.0), dict(cost_usd=-1), dict(ts=None),
           dict(latency_ms=-1.0)]
    rows = [json.dumps(_row(i)) for i in range(100)] + [json.dumps(_row(100 + i, **b)) for i, b in enumerate(bad)]
    (tmp_path / "p.jsonl").write_text("\n".join([*rows, "{not json"]) + "\n")
    labels = ["request_id,label,ts"] + [f"r{i},1,2026-12-01T12:00:00Z" for i in range(40)]
    labels += ["r50,,2026-12-01T12:00:00Z", ",1,2026-12-01T12:00:00Z", "r51,1,yesterday"]
    (tmp_path / "l.csv").write_text("\n".join(labels) + "\n")
    (tmp_path / "c.toml").write_text('[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
                                     '[[logs]]\nkind = "labels"\npath = "l.csv"\n')
    out = _catch_up(tmp_path)
    assert out.rows == 100  # by hand: every good row, none of the bad
    assert out.set_aside == {"invalid JSON": 1, "missing request_id": 2, "missing version": 1,
                             "latency_ms is negative": 2, "cost_usd is negative": 1, "missing ts": 1,
                             "missing label (label or label_num)": 1, "ts is not a timestamp": 1}, out.set_aside


def test_a_reason_names_the_logs_own_column(tmp_path):
    rows = [{"when": r.get("ts"), "model": "m", "version": "1", "id": r["request_id"]}
            for r in (_row(i) for i in range(10))]
    rows[3]["when"] = None
    rows[5]["id"] = ""
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "c.toml").write_text('[[logs]]\nkind = "predictions"\npath = "p.jsonl"\nformat = "jsonl"\n'
                                     '[logs.fields]\nts = "when"\nrequest_id = "id"\n')
    out = _catch_up(tmp_path)
    assert out.rows == 8
    assert out.set_aside == {"missing ts (`when` in this log)": 1, "missing request_id (`id` in this log)": 1}


def test_features_change_nothing_the_rules_count(tmp_path):
    """The rules read the contract's fields alone, so a log with features (a non-finite one, text in a number's
    place) sets aside the same rows for the same reasons; `refused` judges the pieces cut to those fields, which
    lets a clean piece with features skip the query (it ran on every piece of a 25-feature log)."""
    bad = [dict(request_id=None), dict(latency_ms=-3.0), dict(cost_usd=-1), dict(ts=None)]
    feats = [{"f0": 0.5 * i, "f1": "NaN" if i % 7 == 0 else i, "c0": f"v{i % 3}", "amount": "Infinity"}
             for i in range(110)]
    rows = [json.dumps({**_row(i), **feats[i]}) for i in range(100)]
    rows += [json.dumps({**_row(100 + i, **b), **feats[100 + i]}) for i, b in enumerate(bad)]
    (tmp_path / "p.jsonl").write_text("\n".join(rows) + "\n")
    (tmp_path / "c.toml").write_text('[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
                                     '[models.m]\ntask = "classification"\nfeatures = ["f0", "f1", "c0", "amount"]\n')
    out = _catch_up(tmp_path)
    assert out.rows == 100
    assert out.set_aside == {"missing request_id": 1, "latency_ms is negative": 1, "cost_usd is negative": 1,
                             "missing ts": 1}, out.set_aside


def test_a_piece_is_judged_on_its_contract_fields():
    """`refused` on pieces with and without their feature columns: the same rows, the same reasons."""
    import pyarrow as pa

    from console import rollup_text

    base = {"ts": ["2026-12-01T00:00:00Z", None, "2026-12-01T00:02:00Z", "2026-12-01T00:03:00Z"],
            "model": ["m", "m", "m", "m"], "version": ["1", "1", "1", "1"], "request_id": ["a", "b", "", "d"],
            "latency_ms": [1.0, 2.0, 3.0, -4.0], "source": ["p.jsonl"] * 4, "loc": [1, 2, 3, 4]}
    plain = pa.table(base)
    featured = pa.table({**base, "f0": [float("nan"), 1.0, 2.0, 3.0], "c0": ["x", None, "y", "z"]})
    got = [sorted((r.loc, r.reason) for r in rollup_text.refused("predictions", [t])) for t in (plain, featured)]
    assert got[0] == got[1] == [(2, "missing ts"), (3, "missing request_id"), (4, "latency_ms is negative")]
    clean = pa.table({k: v[:1] for k, v in base.items()} | {"f0": [float("inf")]})
    assert rollup_text.refused("predictions", [clean]) == []
