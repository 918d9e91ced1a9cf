"""A shadow answers mirrored copies of the users' requests: the same request ids and the same features, logged again
under variant "shadow". Feature drift read every variant's rows, so a 100 % shadow counted each request twice (the
demo's `drift support-assistant` said N=5334 per feature beside 2667 served requests): windows reached the 500 rows a
drift verdict needs on half the traffic, and a model too quiet for a verdict got one. Every feature drift route (the
`drift` command raw and from rollups with its trend, the histograms, the drift rules raw, streamed and from rollups,
a quiet model's reach, the Overview's DRIFT cell) is checked against the same workspace written without the shadow's
rows, and the counts against a hand count of the champion's rows."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

NOW = datetime(2026, 5, 20, 12, 30)
DAYS = 8
PER_HOUR = 40  # the busy model's requests an hour: 960 in a day, 500 (a verdict) in 12.5 h
SHIFT = NOW - timedelta(hours=30)  # x moves by 0.4 standard deviations: the drift rules fire after it
# 600 reference rows: x's test is KS and c's chi-square (`drift.SMALL_REFERENCE`), whose p-values fall as the rows
# grow, so a score that counted the shadow's copies differs from the served rows' (a normed Wasserstein would not)
REF_ROWS = 600
QUIET_HOURS = 150  # the quiet model: 2 requests an hour, 300 in its whole history (600 with its shadow's copies)


def _workspace(root: Path, shadow: bool) -> tuple[Path, dict]:
    """`busy` and `quiet`, each with a 100 % shadow (v2) when `shadow`: a copy of every request, same ts, request id
    and features. Returns the config and the champion's timestamps per model (the hand count's rows)."""
    rng = np.random.default_rng(3)
    rows, served = [], {"busy": [], "quiet": []}
    start = NOW - timedelta(days=DAYS)
    plan = [("busy", start + timedelta(hours=h, seconds=int(k * 3600 / PER_HOUR) + 1))
            for h in range(DAYS * 24) for k in range(PER_HOUR)]
    plan += [("quiet", NOW - timedelta(hours=QUIET_HOURS - h, seconds=-int(k * 1800) - 7))
             for h in range(QUIET_HOURS) for k in range(2)]
    for i, (model, ts) in enumerate(plan):
        x = float(rng.normal(0.4 if ts > SHIFT else 0.0, 1.0))
        c = "abc"[int(rng.integers(3))]
        served[model].append(ts)
        for version, variant in [("1", "champion"), *([("2", "shadow")] if shadow else [])]:
            rows.append({"ts": ts, "model": model, "version": version, "variant": variant, "environment": "production",
                         "request_id": f"{model}-{i}", "prediction": "1" if x > 0 else "0", "x": x, "c": c,
                         "latency_ms": 20.0, "is_error": False})
    (root / "logs").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), root / "logs" / "p.parquet")
    pq.write_table(pa.table({"x": rng.normal(size=REF_ROWS), "c": ["abc"[k % 3] for k in range(REF_ROWS)]}),
                   root / "reference.parquet")
    cfg = root / "console.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs/*.parquet"\n'
                   'format = "parquet"\n'
                   '[[alerts]]\nmetric = "drift_share"\nop = ">="\nthreshold = 0.5\nwindow = "24h"\n'
                   '[[alerts]]\nmetric = "feature_drift"\nfeature = "x"\nop = ">="\nthreshold = 1\nwindow = "12h"\n'
                   + "".join(f'[models.{m}]\ntask = "classification"\nreference = "reference.parquet"\n'
                             'features = ["x", "c"]\n' for m in ("busy", "quiet")), encoding="utf-8")
    return cfg, served


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """(config with the shadow, config without it, the champion's timestamps per model)."""
    root = tmp_path_factory.mktemp("shadow-feature-drift")
    with_shadow, served = _workspace(root / "with", shadow=True)
    without, served_again = _workspace(root / "without", shadow=False)
    assert served == served_again
    return with_shadow, without, served


def _service(cfg: Path, rollups_after: int | None = None, narrow_after: int | None = None):
    from console.config import parse_file
    from console.service import Service

    svc = Service(parse_file(cfg), clock=lambda: NOW)
    svc.refresh()
    if rollups_after is not None:
        svc.monitor.rollups_after = rollups_after
    if narrow_after is not None:
        svc.monitor.narrow_after = narrow_after
    return svc


def _drift(cfg: Path, exact: bool) -> tuple[list, dict, list, str | None]:
    svc = _service(cfg)
    try:
        report = svc.drift("busy", "24h", series=True, exact=exact)
        features = [(c.column, c.score, c.n_cur, c.status, c.method) for c in report.dataset.columns]
        trend = [(w.start, w.n_rows, [(c.column, c.score, c.status) for c in w.drift.columns])
                 for w in report.windows]
        hist = json.dumps(asdict(svc.histograms("busy", "x", "24h")), default=str) if exact else None
        return features, report.dataset.share, trend, hist
    finally:
        svc.close()


@pytest.mark.parametrize("exact", [True, False], ids=["raw", "rollups"])
def test_the_drift_command_counts_each_served_request_once(twins, exact):
    with_shadow, without, served = twins
    got = _drift(with_shadow, exact)
    assert got == _drift(without, exact)
    features, _, trend, _ = got
    n = sum(NOW - timedelta(hours=24) < t <= NOW for t in served["busy"])
    assert n == 24 * PER_HOUR
    assert {c: n_cur for c, _, n_cur, _, _ in features} == {"x": n, "c": n}  # the champion's rows alone
    assert {m for *_, m in features} == ({"exact"} if exact else {"sketch"})
    assert trend and max(rows for _, rows, _ in trend) <= PER_HOUR  # a 1 h bucket of the trend: its served rows


def _findings(cfg: Path, monkeypatch, rollups_after: int, narrow_after: int | None = None) -> tuple[str, dict, list]:
    """(the drift findings as JSON, whether each model's rules read rollups, and what every drift rule scored: per
    window its served row count and each feature's score and count, as both paths hand them to `_drift_evals`)."""
    from console.incident_rules import RuleEvaluator

    scored, evals = [], RuleEvaluator._drift_evals

    def record(rule, spans, reports):
        scored.append((rule.metric, [(lo, hi, n, [(c.column, c.score, c.n_cur, c.status)
                                                  for c in reports[(lo, hi)].columns] if (lo, hi) in reports else None)
                                     for lo, hi, n in spans]))
        return evals(rule, spans, reports)

    with monkeypatch.context() as patch:
        patch.setattr(RuleEvaluator, "_drift_evals", staticmethod(record))
        svc = _service(cfg, rollups_after, narrow_after)
        try:
            mon = svc.monitor
            routes = {m: mon.incident_rules._rules_from_rollups(m, mon.history_start(NOW), NOW)
                      for m in ("busy", "quiet")}
            found = [asdict(f) for f in mon.findings(at=NOW) if f.kind in ("drift_share", "feature_drift")]
            return json.dumps(sorted(found, key=lambda f: f["id"]), default=str, sort_keys=True), routes, scored
        finally:
            svc.close()


@pytest.mark.parametrize("route", ["raw", "streamed", "rollups"])
def test_the_drift_rules_count_each_served_request_once(twins, route, monkeypatch):
    """Raw rows (the history held whole, or past `narrow_after` its features streamed per window) and the hourly
    rollups: the same findings as without the shadow, the busy model's drift fires, and the quiet model, whose 300
    served requests are too few for a verdict (600 with the shadow's copies), has none."""
    with_shadow, without, _ = twins
    after = {"raw": 10**12, "streamed": 10**12, "rollups": 100}[route]
    narrow = 1_000 if route == "streamed" else None
    got, routes, scored = _findings(with_shadow, monkeypatch, after, narrow)
    again, routes_again, scored_again = _findings(without, monkeypatch, after, narrow)
    assert routes == routes_again == {"busy": route == "rollups", "quiet": route == "rollups"}
    assert scored == scored_again
    windows = [w for _, spans in scored for w in spans if w[3] is not None]
    assert windows and all(n_cur == n for _, _, n, cols in windows for _, _, n_cur, _ in cols)  # each served row once
    assert got == again
    found = json.loads(got)
    busy = {f["kind"]: f for f in found if f["model"] == "busy"}
    assert busy["drift_share"]["state"] == "firing" and busy["feature_drift"]["state"] == "firing"
    assert f"on {24 * PER_HOUR} rows" in busy["drift_share"]["evidence"]  # the latest 24 h window's served rows
    quiet = [f for f in found if f["model"] == "quiet"]
    assert {f["kind"] for f in quiet} == {"drift_share", "feature_drift"}
    assert all(f["state"] == "insufficient data" for f in quiet), quiet
    assert all(f["evidence"].endswith(" rows, needs 500") and int(f["evidence"].split()[0]) <= 2 * QUIET_HOURS
               for f in quiet), quiet


def test_the_overview_drift_cell_counts_served_rows(twins):
    """The Overview's DRIFT cell sizes its evidence as the drift rule does: the quiet model's served rows are too
    few for a verdict, with or without its shadow's copies."""
    with_shadow, without, _ = twins
    cells = []
    for cfg in (with_shadow, without):
        svc = _service(cfg)
        try:
            cells.append({m: svc.monitor._drift_status(m) for m in ("busy", "quiet")})
        finally:
            svc.close()
    assert cells[0] == cells[1]
    assert cells[0]["quiet"] == "few rows"
    assert cells[0]["busy"].startswith("DRIFT")
