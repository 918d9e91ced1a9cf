"""A drift window short of its 500 served rows is the last 500 on both paths. The raw path grows it back by rows
(`evidence._grown`); the rollups grew it by whole hours, so on a quiet model (about 20 served requests an hour) a
rollup window held 500-525 rows where the raw one held 500, its scores were another sample's, and here the
drift_share incident began a day later from the rollups (06-10 00:00, raw 06-09 00:00). The hour a drift window
grows back into last is now cut at the row from its raw rows, with those rows' features (as the rate windows are,
`RollupRules._cut`).

The fleet: `q`, 14-26 served requests an hour at random seconds (never on an hour), a third of them mirrored to a
shadow (not evidence), over 7 days; x moves by 0.15 standard deviations 40 h before now (small: a verdict rests on
the rows a window holds). A 12 h `feature_drift` and a 24 h `drift_share` window hold fewer than 500 served rows and
grow back. Hand counts: each window's (lo, hi] from the served timestamps as the raw path grows it, and its count."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

NOW = datetime(2026, 6, 10, 9, 20)
DAYS = 7
SHIFT = NOW - timedelta(hours=40)
MOVE = 0.15  # standard deviations x moves by: small, so a verdict rests on which rows a window holds
REF_ROWS = 2000  # a normed Wasserstein for x and Jensen-Shannon for c (`drift.default_test`)
US = timedelta(microseconds=1)


def _workspace(root: Path) -> tuple[Path, list[datetime]]:
    rng = np.random.default_rng(16)
    rows, served = [], []
    start = NOW - timedelta(days=DAYS)
    for h in range(DAYS * 24 + 1):
        hour = start.replace(minute=0) + timedelta(hours=h)
        for s in sorted(rng.choice(np.arange(1, 3600), size=int(rng.integers(14, 27)), replace=False)):
            ts = hour + timedelta(seconds=int(s), microseconds=int(rng.integers(1, 999_999)))
            if ts > NOW:
                continue
            x = float(rng.normal(MOVE if ts > SHIFT else 0.0, 1.0))
            c = "abc"[int(rng.integers(3))]
            served.append(ts)
            i = len(served)
            for variant in ["champion", *(["shadow"] if i % 3 == 0 else [])]:
                rows.append({"ts": ts, "model": "q", "version": "1" if variant == "champion" else "2",
                             "variant": variant, "environment": "production", "request_id": f"r{i}",
                             "prediction": "1" if x > 0 else "0", "x": x, "c": c, "latency_ms": 20.0,
                             "is_error": False})
    (root / "logs").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), root / "logs" / "p.parquet")
    pq.write_table(pa.table({"x": rng.normal(size=REF_ROWS), "c": ["abc"[k % 3] for k in range(REF_ROWS)]}),
                   root / "reference.parquet")
    cfg = root / "console.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs/*.parquet"\n'
                   'format = "parquet"\n'
                   '[[alerts]]\nmetric = "drift_share"\nop = ">="\nthreshold = 0.5\nwindow = "24h"\n'
                   '[[alerts]]\nmetric = "feature_drift"\nfeature = "x"\nop = ">="\nthreshold = 1\nwindow = "12h"\n'
                   '[models.q]\ntask = "classification"\nreference = "reference.parquet"\nfeatures = ["x", "c"]\n',
                   encoding="utf-8")
    return cfg, sorted(served)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    return _workspace(tmp_path_factory.mktemp("drift-rollup-last-rows"))


def _findings(cfg: Path, monkeypatch, rollups_after: int) -> tuple[list, list, bool, tuple]:
    """(the drift findings, what each drift rule scored per window: (lo, hi, n, {feature: ColumnDrift}), whether the
    rules read rollups, the rollup path's (hits, misses) of kept evaluations)."""
    from console.config import parse_file
    from console.incident_rules import RuleEvaluator
    from console.service import Service

    scored, evals = [], RuleEvaluator._drift_evals

    def record(rule, spans, reports):
        scored.append((rule.metric, [(lo, hi, n, {c.column: c for c in reports[(lo, hi)].columns}
                                      if (lo, hi) in reports else None) for lo, hi, n in spans]))
        return evals(rule, spans, reports)

    with monkeypatch.context() as patch:
        patch.setattr(RuleEvaluator, "_drift_evals", staticmethod(record))
        svc = Service(parse_file(cfg), clock=lambda: NOW)
        try:
            svc.refresh()
            mon = svc.monitor
            mon.rollups_after = rollups_after
            route = mon.incident_rules._rules_from_rollups("q", mon.history_start(NOW), NOW)
            found = [asdict(f) for f in mon.findings(at=NOW) if f.kind in ("drift_share", "feature_drift")]
            return sorted(found, key=lambda f: f["id"]), scored, route, mon.incident_rules.kept.get("q")
        finally:
            svc.close()


def _grown(served: list[datetime], hi: datetime, span: timedelta) -> tuple[datetime, int]:
    """By hand: the window (lo, hi] over `span` grown back to its last 500 served rows (ties at the first kept),
    within the history (the 7 days before now)."""
    since = NOW - timedelta(days=DAYS)
    inside = [t for t in served if since < t <= hi]
    lo = max(hi - span, since)
    own = [t for t in inside if t > lo]
    if len(own) < 500 <= len(inside):
        lo = min(lo, inside[-500] - US)
    return lo, sum(lo < t <= hi for t in inside)


@pytest.fixture(scope="module")
def both(fleet):
    cfg, served = fleet
    with pytest.MonkeyPatch.context() as patch:
        raw = _findings(cfg, patch, 10**12)
        rolled = _findings(cfg, patch, 100)
    return raw, rolled, served


def test_a_quiet_models_drift_windows_are_the_same_rows_on_both_paths(both):
    (_, raw, raw_route, _), (_, rolled, rolled_route, _), served = both
    assert (raw_route, rolled_route) == (False, True)
    spans = {"drift_share": timedelta(hours=24), "feature_drift": timedelta(hours=12)}
    assert [m for m, _ in raw] == [m for m, _ in rolled] and {m for m, _ in raw} == set(spans)
    grown = 0
    _same(raw, rolled)
    for (metric, raws), (_, rolls) in zip(raw, rolled):
        if raws[-1][1] == NOW:  # the history's windows (not a look-back's before it, for an onset)
            for lo, hi, n, cols in raws:
                assert (lo, n) == _grown(served, hi, spans[metric])  # the raw path's, by hand
                grown += lo < hi - spans[metric]
    assert grown >= 10  # most windows grew back past their span (fewer than 500 served rows of their own)


def _same(raw: list, rolled: list) -> None:
    """Every drift window the same (lo, hi, n) on both paths, each feature scored on its n served rows, and the
    rollups' score within its sketch's bound of the raw path's exact one (exactly when re-scored exactly)."""
    assert [m for m, _ in raw] == [m for m, _ in rolled]
    for (metric, raws), (_, rolls) in zip(raw, rolled):
        assert [(lo, hi, n) for lo, hi, n, _ in rolls] == [(lo, hi, n) for lo, hi, n, _ in raws], metric
        for (lo, hi, n, exact), (_, _, _, sketch) in zip(raws, rolls):
            if n < 500:
                continue
            assert set(exact) == set(sketch) == {"x", "c"}
            for f, e in exact.items():
                s = sketch[f]
                assert e.n_cur == s.n_cur == n, (metric, hi, f, e.n_cur, s.n_cur, n)
                if "mean_cur" in e.stats:  # the rows' mean, from the sketches' sums (float32 values): the same rows
                    assert math.isclose(s.stats["mean_cur"], e.stats["mean_cur"], abs_tol=1e-6), (metric, hi, f)
                if s.method == "sketch":  # within the sketch's bound of the exact score (KS: of its statistic D)
                    got, want = (s.stats["statistic"], e.stats["statistic"]) if s.test == "ks" else (s.score, e.score)
                    assert abs(got - want) <= (s.bound or 0.0) + 1e-9, (metric, hi, f, got, want, s.bound)
                else:
                    assert math.isclose(s.score, e.score, rel_tol=1e-9, abs_tol=1e-12), (metric, hi, f)


def test_a_quiet_models_drift_incidents_start_at_the_same_time_on_both_paths(both):
    (raw, *_), (rolled, *_), _ = both
    assert {f["kind"] for f in raw if f["onset"]} == {"drift_share", "feature_drift"}, raw
    key = lambda fs: [(f["kind"], f["id"], f["onset"], f["state"], f["feature"]) for f in fs]  # noqa: E731
    assert key(rolled) == key(raw)
    assert all(SHIFT - timedelta(hours=24) <= datetime.fromisoformat(str(f["onset"])) for f in raw if f["onset"])


def test_a_late_row_in_a_cut_piece_is_scored_on_the_next_pass(fleet, tmp_path, monkeypatch):
    """The closed windows' evaluations are kept (`rule_memo`) under their parts, the cut piece named by its rows and
    its hours' rollup files: a second pass takes them from the memo, and a row logged late at a closed window's first
    row (a tie: its start stays, its cut piece holds one row more, its hour is rebuilt) is scored again, the same on
    both paths, not read back from the memo as the 500 rows before."""
    cfg, _ = fleet
    for f in ("console.toml", "reference.parquet", "logs/p.parquet"):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_bytes((cfg.parent / f).read_bytes())
    cfg = tmp_path / "console.toml"
    _, first, _, kept = _findings(cfg, monkeypatch, 100)
    _, again, _, kept_again = _findings(cfg, monkeypatch, 100)
    assert kept_again[1] == 0 < kept[1] and kept_again[0] > kept[0], (kept, kept_again)  # all kept from the first
    _same(first, again)
    metric, spans = first[0]
    cut = [(lo, hi) for lo, hi, n, _ in spans if n >= 500 and lo != lo.replace(minute=0, second=0, microsecond=0)
           and hi < NOW - timedelta(days=1)]
    assert cut, spans
    lo, hi = cut[0]
    late = lo + US  # at the window's first row: a tie, which the window holds too (501 rows from the same start)
    pq.write_table(pa.Table.from_pylist([{"ts": late, "model": "q", "version": "1", "variant": "champion",
                                          "environment": "production", "request_id": "late", "prediction": "1",
                                          "x": 9.0, "c": "a", "latency_ms": 20.0, "is_error": False}]),
                   tmp_path / "logs" / "late.parquet")
    _, raw, _, _ = _findings(cfg, monkeypatch, 10**12)
    _, rolled, _, _ = _findings(cfg, monkeypatch, 100)
    _same(raw, rolled)
    moved = next(w for w in rolled[0][1] if w[1] == hi)
    assert moved[:3] == (lo, hi, 501), moved
