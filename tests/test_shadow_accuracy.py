"""A shadow's answers reach no one, so its accuracy is not the model's (`health.served`: never the model's error
rate, latency, burn, traffic or accuracy). A mirrored request carries the request_id users sent, so the labels
join the shadow's predictions too; the accuracy rule counted them (qa10: a 100 % shadow that flips every answer
beside a champion at 0.85 fired 'accuracy 0.500 on 22277 labels vs expected 0.851' on the production model).
Expected numbers come from sklearn over the rows this file writes, not from the console."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.metrics import accuracy_score

NOW = datetime(2026, 3, 10, 12, 0, 0)
PER_MINUTE = 5
HOURS = 12
EXPECTED = 0.9  # the reference's accuracy: 90 of each 100 rows right


def _workspace(root: Path, shadow_version: str = "2") -> tuple[Path, dict]:
    """`good-champion`: v1 right on 9 requests in 10, its shadow v2 wrong on every one. `bad-champion`: v1 right on
    1 in 2, its shadow v2 always right. Every request is labelled 10 minutes later."""
    preds, labels, truth = [], [], {"good-champion": ([], []), "bad-champion": ([], [])}
    i = 0
    for m in range(HOURS * 60):
        ts = NOW - timedelta(minutes=HOURS * 60 - m) + timedelta(seconds=30)
        for _ in range(PER_MINUTE):
            i += 1
            y = "1" if i % 3 == 0 else "0"
            flip = {"0": "1", "1": "0"}
            for model, champ_ok, shadow_ok in (("good-champion", i % 10 != 0, False), ("bad-champion", i % 2 == 0, True)):
                rid = f"{model}-{i}"
                for version, variant, ok in (("1", "champion", champ_ok), (shadow_version, "shadow", shadow_ok)):
                    p = y if ok else flip[y]
                    preds.append({"ts": ts.isoformat() + "Z", "model": model, "version": version, "variant": variant,
                                  "request_id": rid, "environment": "production", "x": float(i % 7),
                                  "prediction": p, "latency_ms": 20.0, "status": "ok"})
                    if variant == "champion":
                        truth[model][0].append(y)
                        truth[model][1].append(p)
                labels.append({"request_id": rid, "label": y, "ts": (ts + timedelta(minutes=10)).isoformat() + "Z"})
    (root / "logs").mkdir(parents=True)
    (root / "logs/p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in preds))
    (root / "logs/l.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labels))
    ref_y = ["1" if k % 3 == 0 else "0" for k in range(1000)]
    ref_p = [y if k % 10 != 0 else {"0": "1", "1": "0"}[y] for k, y in enumerate(ref_y)]
    pq.write_table(pa.table({"x": [float(k % 7) for k in range(1000)], "label": ref_y, "prediction": ref_p}),
                   root / "ref.parquet")
    assert abs(accuracy_score(ref_y, ref_p) - EXPECTED) < 1e-12
    cfg = root / "mlops-console.toml"
    cfg.write_text("\n".join([
        '[workspace]', 'name = "shadow-accuracy"',
        '[[logs]]', 'kind = "predictions"', 'path = "logs/p.jsonl"',
        '[[logs]]', 'kind = "labels"', 'path = "logs/l.jsonl"',
        *[line for m in ("good-champion", "bad-champion") for line in
          (f'[models.{m}]', 'task = "classification"', 'reference = "ref.parquet"', 'features = ["x"]')], '']))
    return cfg, truth


def test_the_accuracy_rule_counts_the_served_answers(tmp_path):
    from console.config import parse_file
    from console.service import Service

    path, truth = _workspace(tmp_path)
    # the window the rule's latest evaluation reads: the 24 h before NOW hold the whole 12 h history, all labelled
    acc = {m: accuracy_score(y, p) for m, (y, p) in truth.items()}
    assert abs(acc["good-champion"] - 0.9) < 0.01 and abs(acc["bad-champion"] - 0.5) < 0.01
    cfg = parse_file(path)
    for route, after in (("raw", 10**12), ("rollups", 1_000)):
        svc = Service(cfg, clock=lambda: NOW)
        try:
            svc.refresh()
            svc.monitor.rollups_after = after
            assert svc.monitor.incident_rules._rules_from_rollups("good-champion", NOW - timedelta(days=7), NOW) \
                == (route == "rollups")
            found = {f.model: f for f in svc.monitor.findings(at=NOW) if f.kind == "accuracy_drop" and f.firing}
            # the champion users met is as good as expected: no page, whatever its shadow answers
            assert "good-champion" not in found, (route, found)
            # the champion at 0.5 fires, and its drop is the champion's alone (0.9 - 0.5), not blended with the
            # shadow's perfect answers (0.9 - 0.75)
            assert "bad-champion" in found, (route, found)
            assert abs(found["bad-champion"].latest - (EXPECTED - acc["bad-champion"])) < 1e-9, \
                (route, found["bad-champion"].latest)
        finally:
            svc.close()


def test_quality_is_of_the_served_answers(tmp_path):
    """`quality`'s summary and chart are the champion's answers (sklearn over its rows), on raw rows and from the
    rollups; the per-version table keeps the shadow's own row (v2: wrong on every request of good-champion)."""
    from console.config import parse_file
    from console.service import Service

    path, truth = _workspace(tmp_path)
    y, p = truth["good-champion"]
    cfg = parse_file(path)
    for route, after in (("raw", 10**12), ("rollups", 1_000)):
        svc = Service(cfg, clock=lambda: NOW)
        try:
            svc.refresh()
            svc.monitor.rollups_after = after
            q = svc.monitor.quality("good-champion", "24h")
            assert q["source"] == ("rollups" if route == "rollups" else "raw rows"), q["source"]
            # labels land 10 minutes after their request: the last 10 minutes' 50 requests are not labelled yet
            assert q["now"].n == len(y) and q["now"].n_labelled == len(y) - 10 * PER_MINUTE, (route, q["now"])
            assert abs(q["now"].metrics["accuracy"] - accuracy_score(y[:-50], p[:-50])) < 1e-12, (route, q["now"])
            series = q["series"]
            assert int(series["n"].sum()) == len(y), (route, series)
            versions = {r["version"]: r for r in q["by_version"].iter_rows(named=True)}
            assert versions["2"]["accuracy"] == 0.0 and versions["2"]["n"] == len(y), (route, versions)
        finally:
            svc.close()


def test_a_version_serving_and_shadowing_has_a_row_for_each(tmp_path):
    """v1 as champion and as its own shadow (a new build of the same version mirrored): the per-version table keeps
    the shadow's answers in their own row, on raw rows and from the rollups; it pooled them into one v1 row."""
    from console.config import parse_file
    from console.service import Service

    path, truth = _workspace(tmp_path, shadow_version="1")
    y, p = truth["good-champion"]
    for route, after in (("raw", 10**12), ("rollups", 1_000)):
        svc = Service(parse_file(path), clock=lambda: NOW)
        try:
            svc.refresh()
            svc.monitor.rollups_after = after
            q = svc.monitor.quality("good-champion", "24h")
            rows = {(r["version"], r["variant"]): r for r in q["by_version"].iter_rows(named=True)}
            assert set(rows) == {("1", None), ("1", "shadow")}, (route, rows)
            assert rows[("1", None)]["n"] == rows[("1", "shadow")]["n"] == len(y), (route, rows)
            assert abs(rows[("1", None)]["accuracy"] - accuracy_score(y[:-50], p[:-50])) < 1e-12, (route, rows)
            assert rows[("1", "shadow")]["accuracy"] == 0.0, (route, rows)
        finally:
            svc.close()
