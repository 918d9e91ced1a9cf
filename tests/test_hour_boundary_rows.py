"""Rows stamped exactly on the hour (a batch-scored model) read the same on the raw path and the rollup path.

A batch job stamps every row `hh:00:00.000000`: here 20 to 26 rows each hour and a daily job's 400 more at 02:00, over
three and a quarter days (batches of unlike sizes), with labels logged at the same instants; the midnight batch is unlike the others (its feature `x`
shifted, a new category, errors, slow, its labels wrong), so a window that holds one midnight batch too many or
too few says so in every number. The README's windows: a duration ends at `--at` and excludes its start,
`(at - span, at]`; a calendar period is `[first instant, next period)`. Each read command is run through the CLI
twice, rows read raw (`[rollups] min_rows` above the log) and from the hourly rollups (`min_rows = 10`), and its
counts are checked against a hand count of the log by those definitions.

The window reads (`health`, `quality`, `cost`, `drift`, rolling and calendar) agree with the hand count on both
paths, and the rules (`check`) find the same incidents. They did not until the rollups kept an hour's first
instant apart (`store_rollups.ON_HOUR`): the rollup path's windows were whole rollup hours `[h, h + 1h)`, so a
rule's window `(lo, hi]` on the hour was read as `[lo, hi)`, holding the batch at `lo` and missing the one at `hi`
(burn fired on the rollup path alone). Found by this test (the thirty-fourth session's hour-boundary probe)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from console.cli import main

FIRST, LAST = datetime(2026, 7, 29), datetime(2026, 8, 1, 6)  # the first and last batch
AT = "2026-08-01T02:00Z"  # a rolling window ends on the daily batch: (at - span, at] holds it
AT_T = datetime(2026, 8, 1, 2)
ROLLING = ("24h", "7d")
CALENDAR = {"2026-07": (datetime(2026, 7, 1), datetime(2026, 8, 1)),
            "2026-07-31": (datetime(2026, 7, 31), datetime(2026, 8, 1))}


def batches() -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(34)
    preds, labels, t, i = [], [], FIRST, 0
    while t <= LAST:
        odd = t.hour == 0  # the midnight batch
        k = int((t - FIRST) / timedelta(hours=1))  # batches of unlike sizes: a window off by one batch is off in N
        for _ in range(20 + k % 7 + (400 if t.hour == 2 else 0)):
            score = float(rng.random())
            pred = "1" if score > 0.5 else "0"
            preds.append({"ts": t, "request_id": f"r{i}", "prediction": pred, "score": round(score, 4),
                          "latency_ms": 900.0 if odd else 20.0, "is_error": bool(rng.random() < (0.5 if odd else 0.01)),
                          "x": round(float(rng.normal(1.5 if odd else 0.0, 1.0)), 4),
                          "c": "z" if odd else str(rng.choice(["a", "b"]))})
            if rng.random() < 0.8:
                labels.append({"ts": t, "request_id": f"r{i}", "label": {"1": "0", "0": "1"}[pred] if odd else pred})
            i += 1
        t += timedelta(hours=1)
    return pl.DataFrame(preds), pl.DataFrame(labels)


def _workspace(root, preds: pl.DataFrame, labels: pl.DataFrame, min_rows: int):
    root.mkdir()
    iso = pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S.%6fZ")  # to the microsecond: exactly on the hour
    with open(root / "p.jsonl", "w") as f:
        for r in preds.with_columns(iso).iter_rows(named=True):
            f.write(json.dumps({"ts": r["ts"], "model": "m", "version": "1", "request_id": r["request_id"],
                                "prediction": r["prediction"], "score": r["score"], "latency_ms": r["latency_ms"],
                                "status": "500" if r["is_error"] else "ok", "input_tokens": 100,
                                "output_tokens": 10, "features": {"x": r["x"], "c": r["c"]}}) + "\n")
    labels.with_columns(iso).write_ndjson(root / "l.jsonl")
    rng = np.random.default_rng(1)
    pl.DataFrame({"x": rng.normal(0, 1, 3000), "c": rng.choice(["a", "b"], 3000)}).write_parquet(root / "ref.parquet")
    cfg = root / "c.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
                   '[[logs]]\nkind = "labels"\npath = "l.jsonl"\n'
                   f'[rollups]\npath = "rollups"\nmin_rows = {min_rows}\n'
                   '[models.m]\ntask = "classification"\nreference = "ref.parquet"\nfeatures = ["x", "c"]\n'
                   'budget_usd_month = 50\n[models.m.prices]\ninput_per_1m = 100.0\noutput_per_1m = 100.0\n'
                   'replica_hour_usd = 1.0\nreplicas = 1\n', encoding="utf-8")
    return cfg


def _reads(cfg, capsys) -> dict:
    def run(*argv):
        code = main(["--config", str(cfg), *argv, "--format", "json"])
        out = capsys.readouterr().out
        assert code in (0, 1), (argv, code, out)
        return json.loads(out)

    got = {}
    for w in ROLLING:
        for cmd in ("health", "quality", "cost", "drift"):
            got[cmd, w] = run("--at", AT, cmd, "m", "--window", w)
    for w in CALENDAR:
        for cmd in ("health", "quality", "cost", "drift"):
            got[cmd, w] = run(cmd, "m", "--window", w)
        got["check", w] = run("check", "--window", w)
    got["check", None] = run("--at", AT, "check")
    return got


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    preds, labels = batches()
    root = tmp_path_factory.mktemp("hour-boundary")
    capsys = _Capture()
    out = {}
    for name, min_rows in (("raw", 10**9), ("rollups", 10)):
        with capsys:
            out[name] = _reads(_workspace(root / name, preds, labels, min_rows), capsys)
    return preds, labels, out


class _Capture:
    """capsys is function-scoped: a module's two workspaces are read once, their stdout taken here."""

    def __enter__(self):
        import contextlib
        import io
        self._buf = io.StringIO()
        self._cm = contextlib.redirect_stdout(self._buf)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)

    def readouterr(self):
        out = self._buf.getvalue()
        self._buf.seek(0)
        self._buf.truncate()
        return type("R", (), {"out": out})()


def _window(df: pl.DataFrame, w: str) -> pl.DataFrame:
    """The README's window by hand: a duration is (at - span, at], a calendar period [first, next)."""
    if w in CALENDAR:
        a, b = CALENDAR[w]
        return df.filter((pl.col("ts") >= a) & (pl.col("ts") < b))
    span = timedelta(hours=24) if w == "24h" else timedelta(days=7)
    return df.filter((pl.col("ts") > AT_T - span) & (pl.col("ts") <= AT_T))


@pytest.mark.parametrize("path", ["raw", "rollups"])
@pytest.mark.parametrize("w", [*ROLLING, *CALENDAR])
def test_window_reads_count_the_windows_rows_by_the_readme(paths, path, w):
    preds, labels, out = paths
    rows = _window(preds, w)
    labelled = rows.join(labels.select("request_id"), on="request_id")
    # the data tell the edges apart: the window with its other edge in and this one out holds another count
    assert rows.height != _window(preds.with_columns(pl.col("ts") + timedelta(microseconds=-1 if w in CALENDAR
                                                                               else 1)), w).height
    health = out[path]["health", w]
    assert sum(r["requests"] for r in health["table"]) == rows.height
    assert sum(r["errors"] for r in health["table"]) == int(rows["is_error"].sum())
    quality = out[path]["quality", w]["now"]
    assert (quality["n"], quality["n_labelled"]) == (rows.height, labelled.height)
    spend = out[path]["cost", w]["window_spend"]
    assert spend["requests"] == rows.height
    drift = {f["column"]: f for f in out[path]["drift", w]["features"]}
    assert drift["c"]["n_cur"] == drift["x"]["n_cur"] == rows.height
    assert drift["c"]["stats"].get("new_categories") == (["z"] if (rows["c"] == "z").any() else None)


@pytest.mark.parametrize("w", [*ROLLING, *CALENDAR])
def test_window_reads_agree_between_the_paths(paths, w):
    _, _, out = paths
    raw, rolled = out["raw"], out["rollups"]
    assert rolled["cost", w]["source"] == "rollups" and raw["cost", w]["source"] == "raw rows"
    assert rolled["cost", w]["budget"]["spent_usd"] == pytest.approx(raw["cost", w]["budget"]["spent_usd"])
    assert rolled["quality", w]["now"]["metrics"]["accuracy"] == pytest.approx(raw["quality", w]["now"]["metrics"]
                                                                               ["accuracy"])
    a, b = ({f["column"]: f for f in o["drift", w]["features"]} for o in (raw, rolled))
    assert a["c"]["score"] == pytest.approx(b["c"]["score"])  # exact counts on both paths
    assert abs(a["x"]["score"] - b["x"]["score"]) <= b["x"]["bound"] + 1e-12  # a sketch, within its bound


def _incidents(o: dict) -> list[tuple]:
    return sorted((i["id"], i["state"], i["onset"], round(i["peak"], 6)) for i in o["incidents"])


@pytest.mark.parametrize("w", [None, *CALENDAR])
def test_check_finds_the_same_incidents_on_both_paths(paths, w):
    _, _, out = paths
    assert _incidents(out["rollups"]["check", w]) == _incidents(out["raw"]["check", w])
