"""A second-resolution streaming log reads the same on the raw path and the rollup path, `--at` on the hour too.

A live model logs to the second (`10:15:07Z`), so some rows fall on an hour's first instant `hh:00:00`: here one to
three a minute over two days, with three rows planted on the hour `AT`. A view ending on the hour holds those rows
(a duration is `(at - span, at]`, a day `[00:00, next day)` up to `at`), and their share of that hour's replica cost
is the day's. Each command runs through the CLI twice, rows read raw (`[rollups] min_rows` above the log) and from
the hourly rollups (`min_rows = 10`), and is checked against a hand count (the README's cost model: each clock hour
with traffic costs its replica-hour, split evenly over its requests; a view in the past prices its last hour whole
and counts the share of the rows up to its end).

`snapshot`'s COST today read the day's closed rollup hours and the raw rows after the hour `at` falls in, none when
`at` was on the hour, so the rows on `at` itself were left out on the rollup path alone (`rollup_cost.today`):
found by a differential probe of a 600k-row streaming log (thirty-seventh session), $21.6 against $21.6003. The same
probe found a cost spike's onset at the start of the hour holding the version change on the rollup path, and
onsets sought in a shadow's rows too on the rollup path (below)."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from console.cli import main

T0, HOURS = datetime(2026, 7, 30), 48
AT = "2026-07-31T14:00Z"
AT_T = datetime(2026, 7, 31, 14)
CHANGE = datetime(2026, 7, 31, 9, 37, 41)  # version 2 from here: 40x the output tokens, a cost spike
REPLICA_USD, IN_1M, OUT_1M = 0.9, 2.0, 8.0


def stream() -> pl.DataFrame:
    rng = np.random.default_rng(37)
    secs = np.sort(rng.integers(0, HOURS * 3600, 4000))
    ts = [T0 + timedelta(seconds=int(s)) for s in secs] + [AT_T] * 3  # three rows on the hour `AT`
    n = len(ts)
    v2 = np.array([t >= CHANGE for t in ts])
    return pl.DataFrame({"ts": ts, "request_id": [f"r{i}" for i in range(n)], "version": np.where(v2, "2", "1"),
                         "input_tokens": rng.integers(50, 500, n),
                         "output_tokens": rng.integers(10, 90, n) * np.where(v2, 40, 1),
                         "latency_ms": np.round(rng.lognormal(3.7, 0.4, n), 2)}).sort("ts")


# (at, window): on the hour, 5 s after it (the on-hour rows at a window's start), and a calendar day
WINDOWS = [(AT, "24h"), (AT, "7d"), ("2026-07-31T14:00:05Z", "24h"), (None, "2026-07-31")]
DROP = datetime(2026, 7, 31, 4, 12, 9)  # model s: its accuracy falls from 0.95 to 0.55 here
SHADOW = datetime(2026, 7, 30, 19)  # and a shadow mirrors its requests from here, always wrong


def served_and_shadow() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Model s's rows (served, then a shadow's mirrored copies: same request_id) and its labels (30 s later)."""
    rng = np.random.default_rng(38)
    ts = [T0 + timedelta(seconds=int(s)) for s in rng.integers(0, HOURS * 3600, 2500)]
    # a row on every hour's first instant, and on 5 s past the hour where a window below starts and ends
    ts = sorted(ts + [T0 + timedelta(hours=h) for h in range(HOURS)] + [AT_T + timedelta(seconds=5)] * 2
                + [AT_T - timedelta(hours=24) + timedelta(seconds=5)] * 2)
    n = len(ts)
    pred = rng.integers(0, 2, n)
    wrong = rng.random(n) < np.array([0.45 if t >= DROP else 0.05 for t in ts])
    label = np.where(wrong, 1 - pred, pred)
    served = pl.DataFrame({"ts": ts, "request_id": [f"s{i}" for i in range(n)], "version": "1", "variant": "champion",
                           "prediction": pred.astype(str), "x": np.round(rng.normal(0, 1, n), 3)})
    shadow = served.filter(pl.col("ts") >= SHADOW).with_columns(
        version=pl.lit("9"), variant=pl.lit("shadow"),
        prediction=pl.Series((1 - label).astype(str)).filter(pl.Series([t >= SHADOW for t in ts])))
    labels = pl.DataFrame({"request_id": served["request_id"], "label": label.astype(str),
                           "ts": [t + timedelta(seconds=30) for t in ts]})
    return pl.concat([served, shadow]).sort("ts", maintain_order=True), labels


def _workspace(root, rows: pl.DataFrame, min_rows: int):
    root.mkdir()
    s_rows, s_labels = served_and_shadow()
    with open(root / "s.jsonl", "w") as f:
        for r in s_rows.iter_rows(named=True):
            f.write(json.dumps({**r, "ts": r["ts"].strftime("%Y-%m-%dT%H:%M:%SZ"), "model": "s", "latency_ms": 20.0,
                                "status": "ok"}) + "\n")
    s_labels.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_ndjson(root / "l.jsonl")
    rng = np.random.default_rng(1)
    ref = rng.integers(0, 2, 2000)
    pl.DataFrame({"prediction": ref.astype(str), "label": np.where(rng.random(2000) < 0.05, 1 - ref, ref).astype(str),
                  "x": rng.normal(0, 1, 2000)}).write_parquet(root / "ref.parquet")
    with open(root / "p.jsonl", "w") as f:
        for r in rows.iter_rows(named=True):
            f.write(json.dumps({"ts": r["ts"].strftime("%Y-%m-%dT%H:%M:%SZ"), "model": "m", "version": r["version"],
                                "request_id": r["request_id"], "prediction": "1", "latency_ms": r["latency_ms"],
                                "status": "ok", "input_tokens": r["input_tokens"],
                                "output_tokens": r["output_tokens"]}) + "\n")
    cfg = root / "c.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
                   '[[logs]]\nkind = "predictions"\npath = "s.jsonl"\n[[logs]]\nkind = "labels"\npath = "l.jsonl"\n'
                   '[models.s]\ntask = "classification"\nreference = "ref.parquet"\nfeatures = ["x"]\n'
                   f'[rollups]\npath = "rollups"\nmin_rows = {min_rows}\n'
                   '[models.m]\ntask = "classification"\n'
                   f'[models.m.prices]\ninput_per_1m = {IN_1M}\noutput_per_1m = {OUT_1M}\n'
                   f'replica_hour_usd = {REPLICA_USD}\nreplicas = 1\n', encoding="utf-8")
    return cfg


def _run(cfg, *argv) -> dict:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["--config", str(cfg), *argv, "--format", "json"])
    assert code in (0, 1), (argv, code, buf.getvalue())
    return json.loads(buf.getvalue())


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    rows = stream()
    root = tmp_path_factory.mktemp("streaming")
    out = {}
    for name, min_rows in (("raw", 10**9), ("rollups", 10)):
        cfg = _workspace(root / name, rows, min_rows)
        out[name] = {"snapshot": _run(cfg, "--at", AT, "snapshot"), "cost": _run(cfg, "--at", AT, "cost", "m"),
                     "check": _run(cfg, "--at", AT, "check")}
        for at, w in WINDOWS:
            when = ("--at", at) if at else ()
            for cmd in ("health", "quality", "drift"):
                out[name][cmd, at, w] = _run(cfg, *when, cmd, "s", "--window", w)
    return rows, out


def _t(at: str) -> datetime:
    return datetime.fromisoformat(at.rstrip("Z"))


def _by_readme(df: pl.DataFrame, at: str | None, w: str) -> pl.DataFrame:
    """A window's rows by the README: a duration is (at - span, at], a calendar day [00:00, next day)."""
    if at is None:
        a = datetime.strptime(w, "%Y-%m-%d")
        return df.filter((pl.col("ts") >= a) & (pl.col("ts") < a + timedelta(days=1)))
    end = _t(at)
    return df.filter((pl.col("ts") > end - timedelta(hours=int(w[:-1]) * (24 if w.endswith("d") else 1)))
                     & (pl.col("ts") <= end))


@pytest.mark.parametrize("at,w", WINDOWS)
def test_window_reads_count_alike_on_both_paths(paths, at, w):
    """Rolling windows ending on the hour and 5 s after it, and a calendar day, of a log with rows on hh:00:00:
    counts by the README on both paths; the sketch scores within their bound."""
    s_rows, s_labels = served_and_shadow()
    rows = _by_readme(s_rows, at, w)
    served = rows.filter(pl.col("variant") != "shadow")
    # rows on the window's edges: on its end and start (one in, one out) or on a day's first instant
    edges = [_t(at), _t(at) - timedelta(hours=int(w[:-1]) * (24 if w.endswith("d") else 1))] if at else \
        [datetime.strptime(w, "%Y-%m-%d")]
    assert all(s_rows.filter(pl.col("ts") == e).height for e in edges if e >= T0)
    # the labels logged by the view's end (a calendar day's: before the next midnight)
    known = s_labels.filter(pl.col("ts") <= _t(at)) if at else \
        s_labels.filter(pl.col("ts") < datetime.strptime(w, "%Y-%m-%d") + timedelta(days=1))
    got = {}
    for path in ("raw", "rollups"):
        o = paths[1][path]
        health, quality = o["health", at, w], o["quality", at, w]
        assert sum(r["requests"] for r in health["table"]) == rows.height, path
        assert quality["now"]["n"] == served.height, path
        assert quality["now"]["n_labelled"] == served.join(known.select("request_id"), on="request_id").height, path
        drift = {f["column"]: f for f in o["drift", at, w]["features"]}
        assert drift["x"]["n_cur"] == served.height, path
        got[path] = (quality["now"]["metrics"]["accuracy"], drift["x"]["score"], drift["x"].get("bound") or 0.0)
    assert got["rollups"][0] == pytest.approx(got["raw"][0])
    assert abs(got["rollups"][1] - got["raw"][1]) <= got["rollups"][2] + 1e-12


def _today_by_hand(rows: pl.DataFrame) -> float:
    """Spend from midnight to `AT` inclusive: tokens of those rows, and each of their clock hours' replica cost
    split over all of that hour's rows (the hour of `AT` priced whole, only its rows up to `AT` counted)."""
    hourly = rows.group_by(pl.col("ts").dt.truncate("1h").alias("h")).agg(pl.len().alias("n"))
    day = rows.filter((pl.col("ts") >= AT_T.replace(hour=0)) & (pl.col("ts") <= AT_T)).join(
        hourly, left_on=pl.col("ts").dt.truncate("1h"), right_on="h")
    tokens = (day["input_tokens"].sum() * IN_1M + day["output_tokens"].sum() * OUT_1M) / 1e6
    return tokens + float((REPLICA_USD / day["n"]).sum())


@pytest.mark.parametrize("path", ["raw", "rollups"])
def test_todays_cost_on_the_hour_holds_the_rows_on_at(paths, path):
    rows, out = paths
    want = _today_by_hand(rows)
    # the rows on `AT` tell it apart: without them the day costs less by their tokens and share of hour 14
    assert want - _today_by_hand(rows.filter(pl.col("ts") != AT_T)) > 0.02
    snap = {m["name"]: m for m in out[path]["snapshot"]["models"]}["m"]
    assert snap["cost_usd"] == pytest.approx(want, rel=1e-9)
    assert out[path]["cost"]["windows"][0]["today_usd"] == pytest.approx(want, rel=1e-9)
    assert out[path]["cost"]["source"] == ("rollups" if path == "rollups" else "raw rows")


def test_a_cost_spike_has_the_changes_onset_and_id_on_both_paths(paths):
    """The onset of a version change is the old version's last row (`incident_rules.cost_spike`), on both paths:
    the rollup path located a change to its hour, so its onset was 09:00 and its id another (a ninth of the hour
    before the change here; 07:00 against 07:29:58 on the probe's log)."""
    rows, out = paths
    last_old = rows.filter(pl.col("version") == "1")["ts"].max()
    for path in ("raw", "rollups"):
        spikes = [i for i in out[path]["check"]["incidents"] if i["kind"] == "cost_spike"]
        assert [(i["id"], i["onset"], i["state"]) for i in spikes] == [
            (f"m:default: cost spike:{last_old:%Y%m%dT%H%M}", f"{last_old:%Y-%m-%dT%H:%M:%SZ}", "firing")], path


def test_an_accuracy_drop_has_its_onset_in_the_served_rows_on_both_paths(paths):
    """The onset's change point is sought in the rows users were served (a shadow's mirrored copies keep the
    request_id, so its labels join them too): the rollup path read its onset rows without `variant`, so the
    shadow's always-wrong answers from 19:00 the day before were in them, and on the probe's log a regression
    model's MAE onset moved by 8 s (18:08:29 against 18:08:37; 58,226 labelled rows against 50,654)."""
    _, out = paths
    got = {}
    for path in ("raw", "rollups"):
        drops = [i for i in out[path]["check"]["incidents"] if i["kind"] == "accuracy_drop" and i["model"] == "s"]
        assert len(drops) == 1, (path, drops)
        got[path] = (drops[0]["id"], drops[0]["onset"])
        onset = datetime.strptime(drops[0]["onset"], "%Y-%m-%dT%H:%M:%SZ")
        assert abs(onset - DROP) < timedelta(minutes=30), (path, drops[0]["onset"])  # not the shadow's start
    assert got["rollups"] == got["raw"]


def test_a_cost_spike_is_detected_at_the_new_stretchs_50th_request_on_both_paths(paths):
    """`detected` is when the evidence was there: the new version's `MIN_COST_ROWS`-th request (`evidence.ready_at`),
    which a view at that instant lists. The rollup path took the end of the rollup hour holding it (10:59:59.999999
    here; 11:59:59.999999 against 11:23:18 on the second probe's LLM log, a prompt change), so its `detected` was
    up to an hour late, and `check --at` the raw instant listed an incident detected after it."""
    from console.incident_rules import MIN_COST_ROWS

    rows, out = paths
    ready = rows.filter(pl.col("version") == "2")["ts"][MIN_COST_ROWS - 1]
    assert ready.minute or ready.second  # inside an hour, not on its end
    for path in ("raw", "rollups"):
        spikes = [i for i in out[path]["check"]["incidents"] if i["kind"] == "cost_spike"]
        assert [i["detected"] for i in spikes] == [f"{ready:%Y-%m-%dT%H:%M:%SZ}"], path
