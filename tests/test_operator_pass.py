"""An operator's pass on a hand-written workspace: gaps found and their tests.

The default drift rule fires when the Drift screen says the dataset drifted.

A dataset drifts when the share of drifted features *reaches* `[thresholds] drift_share` (README, Drift;
`drift MODEL` prints "dataset drift: YES"). The default rule compared with `>`, so a model with two
features, one of them clearly moved, was shown as drifted and never alerted (share 0.5, not > 0.5).
Found by an operator's pass on a hand-written workspace: a low-traffic model (30 requests a day) with a
planted shift of two reference standard deviations in one of its two features.
Oracle: scipy's ks_2samp on the same rows, and the planted change time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
from scipy import stats

SRC = str(Path(__file__).resolve().parents[1] / "src")
START = datetime(2026, 10, 1, tzinfo=timezone.utc)
SHIFT = datetime(2026, 10, 15, tzinfo=timezone.utc)
END = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _workspace(tmp: Path) -> tuple[Path, pl.DataFrame, list[dict]]:
    rng = np.random.default_rng(7)
    n = 31 * 30
    secs = np.sort(rng.uniform(START.timestamp(), END.timestamp(), n))
    rows = []
    for i, s in enumerate(secs):
        t = datetime.fromtimestamp(float(s), timezone.utc)
        amount = float(rng.normal(130.0 if t >= SHIFT else 100.0, 15.0))
        rows.append({"ts": _iso(t), "model": "low", "version": "2", "request_id": f"l{i}",
                     "features": {"amount": round(amount, 3), "k": round(float(rng.normal()), 4)},
                     "prediction": "0", "latency_ms": 40.0, "status": "ok"})
    (tmp / "logs").mkdir()
    with open(tmp / "logs" / "pred.jsonl", "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    ref = pl.DataFrame({"amount": rng.normal(100.0, 15.0, 500).round(3), "k": rng.normal(0.0, 1.0, 500).round(4)})
    ref.write_parquet(tmp / "low.parquet")
    cfg = tmp / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "logs/*.jsonl"\n'
                   '[models.low]\ntask = "regression"\nreference = "low.parquet"\nfeatures = ["amount", "k"]\n'
                   '[store]\npath = "store"\n[audit]\npath = "audit.jsonl"\n')
    return cfg, ref, rows


def _cli(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_half_the_features_drifted_fires_the_default_rule(tmp_path):
    cfg, ref, rows = _workspace(tmp_path)
    month = [r["features"] for r in rows]
    p_amount = stats.ks_2samp(ref["amount"].to_numpy(), [f["amount"] for f in month]).pvalue
    p_k = stats.ks_2samp(ref["k"].to_numpy(), [f["k"] for f in month]).pvalue
    assert p_amount <= 0.05 < p_k  # the oracle: exactly one of the two features drifted

    drift = _cli(cfg, "drift", "low", "--window", "2026-10", "--format", "json")
    assert drift.returncode == 0, drift.stderr
    out = json.loads(drift.stdout)
    scores = {f["column"]: f["score"] for f in out["features"]}
    assert np.isclose(scores["amount"], p_amount, rtol=1e-9) and np.isclose(scores["k"], p_k, rtol=1e-9)
    assert out["dataset"]["share"] == 0.5 and out["dataset"]["drifted"] is True

    check = _cli(cfg, "check", "--at", "2026-10-31T00:00Z", "--since", "2026-10-01T00:00Z", "--format", "json")
    assert check.returncode == 1, check.stdout + check.stderr
    fired = [i for i in json.loads(check.stdout)["incidents"] if i["kind"] == "drift_share"]
    assert len(fired) == 1, check.stdout
    onset = datetime.fromisoformat(fired[0]["onset"].replace("Z", "+00:00"))
    assert SHIFT - timedelta(days=1) <= onset <= SHIFT + timedelta(days=3)


def test_missing_log_and_folder_in_glob_are_said_on_stderr(tmp_path):
    """A labels path with a typo matched nothing and a folder matched the glob: the store knew both
    (RefreshStats.missing / .notes) but no command said so; only `snapshot --format json` listed the
    missing path. Now every read command says each on stderr, and the snapshot JSON carries the notes;
    the other files' rows are all kept (hand count)."""
    cfg, _, rows = _workspace(tmp_path)
    (tmp_path / "logs" / "old.jsonl").mkdir()  # a folder matching logs/*.jsonl
    with open(tmp_path / "logs" / "pred.jsonl", "ab") as fh:
        fh.write(b'{"ts": "2026-10-31T23:00:00Z", "model": "low", "version": "2", "request_id": "x\xff"}\n')
    cfg.write_text(cfg.read_text() + '[[logs]]\nkind = "labels"\npath = "logs/lables.csv"\n')

    snap = _cli(cfg, "snapshot", "--at", "latest", "--format", "json")
    assert snap.returncode == 0, snap.stderr
    out = json.loads(snap.stdout)
    assert out["counts"]["predictions"] == len(rows) and out["counts"]["malformed"] == 1
    assert out["missing_logs"] == [str(tmp_path / "logs" / "lables.csv")]
    assert any("old.jsonl" in n and "not a file" in n for n in out["log_notes"]), out["log_notes"]
    for args in (("snapshot", "--at", "latest"), ("check", "--at", "latest"),
                 ("quality", "low", "--at", "latest")):
        res = _cli(cfg, *args)
        assert "Traceback" not in res.stderr
        lines = res.stderr.splitlines()
        assert f"mlops-console: configured log matches no file: {tmp_path / 'logs' / 'lables.csv'}" in lines, args
        assert any("old.jsonl" in ln and "not a file" in ln for ln in lines), (args, res.stderr)
        assert "lables.csv" not in res.stdout  # stdout carries only data


def test_drift_of_an_empty_window_names_the_newest_row(tmp_path):
    cfg, _, rows = _workspace(tmp_path)
    newest = max(r["ts"] for r in rows)
    text = _cli(cfg, "drift", "low", "--at", "2026-12-01T00:00Z", "--window", "24h")
    assert text.returncode == 2, text.stderr  # could not evaluate (README's exit table)
    assert f"low: no rows in this window; the newest row is at {newest[:19]}" in text.stdout
    js = _cli(cfg, "drift", "low", "--at", "2026-12-01T00:00Z", "--window", "24h", "--format", "json")
    assert js.returncode == 2, js.stderr
    assert json.loads(js.stdout)["note"].startswith(f"no rows in this window; the newest row is at {newest[:19]}")
    full = _cli(cfg, "drift", "low", "--window", "2026-10", "--format", "json")
    assert json.loads(full.stdout)["note"] == ""


def test_fairness_reads_the_window_it_names(tmp_path):
    """`fairness MODEL --window 2026-10-20` printed "window: 1d" but counted the whole 7-day history.
    Oracle: a hand count of labelled rows per segment value in the window (labels known by its end)."""
    cfg, _, rows = _workspace(tmp_path)
    rng = np.random.default_rng(3)
    labels = [(r["request_id"], int(rng.random() < 0.3), r["ts"][:-1] + "Z") for r in rows[::2]]
    labels = [(rid, lab, _iso(datetime.fromisoformat(ts.replace("Z", "+00:00")) + timedelta(hours=2)))
              for rid, lab, ts in labels]
    pl.DataFrame(labels, schema=["request_id", "label", "ts"], orient="row").write_csv(tmp_path / "logs" / "labels.csv")
    cfg.write_text(cfg.read_text().replace('features = ["amount", "k"]\n',
                                           'features = ["amount", "k"]\nsegments = ["version"]\n')
                   .replace('task = "regression"', 'task = "classification"')
                   + '[[logs]]\nkind = "labels"\npath = "logs/labels.csv"\n')
    known = {rid: ts for rid, _, ts in labels}
    for window, lo, hi in (("2026-10-20", "2026-10-20", "2026-10-21"), ("2026-10", "2026-10-01", "2026-11-01")):
        end = hi + "T00:00:00Z"
        expected = sum(1 for r in rows if lo <= r["ts"] < hi and known.get(r["request_id"], "~") < end)
        res = _cli(cfg, "fairness", "low", "--window", window, "--format", "json")
        assert res.returncode == 0, res.stderr
        out = json.loads(res.stdout)
        got = {s["group"]: s["n_labelled"] for s in out["segments"] if s["column"] == "version"}
        assert list(got.values()) == [expected], (window, out["window"], got, expected)


def test_a_quiet_model_gets_a_drift_verdict_under_the_default_history(tmp_path, monkeypatch):
    """30 requests a day: the default 7-day history holds about 210 rows, under the 500 a drift verdict needs,
    so `check` said "needs 500" forever and a planted shift never alerted. The windows now reach back before
    --since for the rows they need (as they already grew back within the history). Oracle: scipy's ks_2samp
    on the last 500 rows before `--at`; the same log without the shift is the control."""
    at = datetime(2026, 10, 31, tzinfo=timezone.utc)
    for planted in (True, False):
        if not planted:
            monkeypatch.setattr(sys.modules[__name__], "SHIFT", END + timedelta(days=1))
        root = tmp_path / str(planted)
        root.mkdir()
        cfg, ref, rows = _workspace(root)
        times = [datetime.fromisoformat(r["ts"].replace("Z", "+00:00")) for r in rows]
        assert sum(1 for t in times if at - timedelta(days=7) < t <= at) < 500  # the default history is too thin
        tail = [r["features"] for r, t in zip(rows, times) if t <= at][-500:]
        drifted = [c for c in ("amount", "k")
                   if stats.ks_2samp(ref[c].to_numpy(), [f[c] for f in tail]).pvalue <= 0.05]
        assert drifted == (["amount"] if planted else [])  # the oracle agrees with the plant

        check = _cli(cfg, "check", "--at", _iso(at), "--format", "json")
        assert check.returncode in (0, 1), check.stderr
        found = [i for i in json.loads(check.stdout)["incidents"] if i["kind"] == "drift_share"]
        assert bool([i for i in found if i["state"] == "firing"]) is planted, check.stdout
        assert "needs 500" not in check.stdout, check.stdout


def test_a_segment_on_a_contract_column_keeps_its_values(tmp_path):
    """`segments = ["version"]`: the attribute typing inferred numbers from the text column, so version "2" was
    grouped as "2.0" (fairness --format json). A contract column keeps the contract's type."""
    from console.config import parse_file
    from console.service import Service

    cfg_path, _, rows = _workspace(tmp_path)
    cfg_path.write_text(cfg_path.read_text().replace('features = ["amount", "k"]\n',
                                                     'features = ["amount", "k"]\nsegments = ["version"]\n'))
    svc = Service(parse_file(cfg_path), clock=lambda: END.replace(tzinfo=None))
    try:
        svc.refresh()
        frame = svc.monitor.typed_rows("low", START.replace(tzinfo=None), END.replace(tzinfo=None))
    finally:
        svc.close()
    assert frame["version"].dtype == pl.Utf8 and set(frame["version"].to_list()) == {r["version"] for r in rows}
    assert frame.height == len(rows)
