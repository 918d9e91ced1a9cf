"""A quality window short of its 200 labelled rows is the last 200 on both paths. The raw path grows it back by
labelled rows (`evidence._grown` on the labelled rows' times); the rollups grew it by whole hours, so on a quiet
model (about 6 labelled requests an hour) a rollup window held a few more (203 here) where the raw one held 200,
from another start. The hour a quality window grows back into last is now cut at the row from its raw rows joined
with their labels (as the rate and drift windows are, `RollupRules._cut`).

The fleet: `c` (a classifier, `accuracy_drop`) and `r` (a regressor, `mae_increase`), 6-12 served requests an hour at
random seconds, 70 % of them labelled 10 minutes later, a quarter mirrored to a shadow (not evidence), over 7 days;
their default 24 h rules. Hand counts: each window's (lo, hi] from the labelled served timestamps as the raw path
grows it, and its count; accuracy's correct count and the MAE's mean equal on both paths."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

NOW = datetime(2026, 6, 10, 9, 20)
DAYS = 7
US = timedelta(microseconds=1)
SPAN = timedelta(hours=24)  # the default quality rules' window
MIN_LABELS = 200


def _workspace(root: Path) -> tuple[Path, dict]:
    rng = np.random.default_rng(5)
    rows, labels, labelled = [], [], {"c": [], "r": []}
    start = NOW - timedelta(days=DAYS)
    for model in ("c", "r"):
        for h in range(DAYS * 24 + 1):
            hour = start.replace(minute=0) + timedelta(hours=h)
            for s in sorted(rng.choice(np.arange(1, 3600), size=int(rng.integers(6, 13)), replace=False)):
                ts = hour + timedelta(seconds=int(s), microseconds=int(rng.integers(1, 999_999)))
                if ts > NOW:
                    continue
                i = len(rows)
                y = float(rng.normal(10, 2))
                pred = y + float(rng.normal(0, 1)) if model == "r" else float(rng.random() < 0.5)
                label = y if model == "r" else (pred if rng.random() < 0.9 else 1 - pred)
                for variant in ["champion", *(["shadow"] if i % 4 == 0 else [])]:
                    rows.append({"ts": ts, "model": model, "version": "1" if variant == "champion" else "2",
                                 "variant": variant, "environment": "production", "request_id": f"{model}{i}",
                                 "prediction": f"{pred:g}" if model == "c" else f"{pred:.4f}", "x": y,
                                 "latency_ms": 20.0, "is_error": False})
                if rng.random() < 0.7 and ts + timedelta(minutes=10) <= NOW:
                    labels.append({"ts": (ts + timedelta(minutes=10)).isoformat() + "Z", "model": model,
                                   "request_id": f"{model}{i}",
                                   "label": f"{label:g}" if model == "c" else f"{label:.4f}"})
                    labelled[model].append(ts)
    (root / "logs").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), root / "logs" / "p.parquet")
    (root / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labels), encoding="utf-8")
    for model in ("c", "r"):  # the expected quality: the reference's labels and predictions
        y = rng.normal(10, 2, 400)
        pred = y + rng.normal(0, 1, 400) if model == "r" else (rng.random(400) < 0.5).astype(float)
        label = y if model == "r" else np.where(rng.random(400) < 0.9, pred, 1 - pred)
        pq.write_table(pa.table({"x": y, "label": label, "prediction": pred}), root / f"ref_{model}.parquet")
    cfg = root / "console.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs/*.parquet"\n'
                   'format = "parquet"\n[[logs]]\nkind = "labels"\npath = "labels.jsonl"\n'
                   '[models.c]\ntask = "classification"\nreference = "ref_c.parquet"\nfeatures = ["x"]\n'
                   '[models.r]\ntask = "regression"\nreference = "ref_r.parquet"\nfeatures = ["x"]\n',
                   encoding="utf-8")
    return cfg, {m: sorted(ts) for m, ts in labelled.items()}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    return _workspace(tmp_path_factory.mktemp("quality-rollup-last-labels"))


def _evaluated(cfg: Path, monkeypatch, rollups_after: int) -> tuple[list, dict, list]:
    """(each quality window the rules evaluated: (metric, lo, hi, n, correct or MAE mean and std), whether each
    model's rules read rollups, the quality findings)."""
    from dataclasses import asdict

    from console.analytics import evidence as ev
    from console.config import parse_file
    from console.service import Service

    seen, acc, mae = [], ev.accuracy_evaluation, ev.mae_evaluation

    def accuracy(lo, hi, n, k, *args, **kw):
        seen.append(("accuracy_drop", lo, hi, n, k if n >= MIN_LABELS else None))
        return acc(lo, hi, n, k, *args, **kw)

    def mean_error(lo, hi, n, mean, std, *args, **kw):
        seen.append(("mae_increase", lo, hi, n, (mean, std) if n >= MIN_LABELS else None))
        return mae(lo, hi, n, mean, std, *args, **kw)

    with monkeypatch.context() as patch:
        patch.setattr(ev, "accuracy_evaluation", accuracy)
        patch.setattr(ev, "mae_evaluation", mean_error)
        svc = Service(parse_file(cfg), clock=lambda: NOW)
        try:
            svc.refresh()
            mon = svc.monitor
            mon.rollups_after = rollups_after
            routes = {m: mon.incident_rules._rules_from_rollups(m, mon.history_start(NOW), NOW) for m in ("c", "r")}
            found = [asdict(f) for f in mon.findings(at=NOW) if f.kind in ("accuracy_drop", "mae_increase")]
            return seen, routes, sorted(found, key=lambda f: f["id"])
        finally:
            svc.close()


def _grown(times: list[datetime], hi: datetime) -> tuple[datetime, int]:
    """By hand: (lo, n) of the window (lo, hi] over SPAN grown back to its last 200 labelled rows, in the history."""
    since = NOW - timedelta(days=DAYS)
    inside = [t for t in times if since < t <= hi]
    lo = max(hi - SPAN, since)
    if sum(t > lo for t in inside) < MIN_LABELS <= len(inside):
        lo = min(lo, inside[-MIN_LABELS] - US)
    return lo, sum(lo < t <= hi for t in inside)


def test_a_quiet_models_quality_windows_are_the_same_labelled_rows_on_both_paths(fleet, monkeypatch):
    cfg, labelled = fleet
    raw, raw_routes, raw_found = _evaluated(cfg, monkeypatch, 10**12)
    rolled, rolled_routes, rolled_found = _evaluated(cfg, monkeypatch, 100)
    # the history's windows (a look-back before it, for an onset, reads an earlier history the paths bound apart)
    raw, rolled = ([w for w in ws if w[1] >= NOW - timedelta(days=DAYS)] for ws in (raw, rolled))
    assert raw_routes == {"c": False, "r": False} and rolled_routes == {"c": True, "r": True}
    assert {m for m, *_ in raw} == {"accuracy_drop", "mae_increase"}
    assert [w[:4] for w in rolled] == [w[:4] for w in raw]
    for (metric, lo, hi, n, got), (*_, want) in zip(rolled, raw):
        if metric == "accuracy_drop":
            assert got == want, (lo, hi, n)
        elif want is not None:
            assert math.isclose(got[0], want[0], rel_tol=1e-9) and math.isclose(got[1], want[1], rel_tol=1e-6)
    grown = 0
    for metric, model in (("accuracy_drop", "c"), ("mae_increase", "r")):
        windows = [w for w in raw if w[0] == metric]
        assert windows
        for _, lo, hi, n, _ in windows:
            assert (lo, n) == _grown(labelled[model], hi), (metric, hi)
            grown += lo < hi - SPAN
    assert grown >= 10  # most windows grew back past their span (fewer than 200 labelled rows of their own)
    key = lambda fs: [(f["kind"], f["id"], f["onset"], f["state"], f["evidence"]) for f in fs]  # noqa: E731
    assert key(rolled_found) == key(raw_found)
