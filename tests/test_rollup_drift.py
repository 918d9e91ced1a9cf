"""Drift over long windows from the hourly rollups, through the real Service, CLI and TUI: sketch scores
within their stated bound of scipy's exact ones, `--exact` equal to scipy, a score sitting on its threshold
called "borderline", catch-up that builds each hour once and rebuilds an hour that gained late rows, and
the Drift screen's `x` (exact re-run).

The generated log is four days of one model (x for KS, y for normed Wasserstein, c for Jensen-Shannon),
3000 rows a day as Parquet by day. Its float values are float32-exact (KLL sketches hold float32), so the
only difference between a sketch score and scipy's is the sketch's rank error, which the bound covers.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats
from scipy.spatial import distance

from console.cli import main
from console.config import parse_file
from console.service import Service
from s3_server import s3_server  # noqa: F401  (session fixture)

START = datetime(2026, 5, 1)
NOW = datetime(2026, 5, 4, 17, 23)  # mid-hour: the window has a partial first hour and an open hour
WINDOW = timedelta(hours=72)


def _f32(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32).astype(np.float64)


def _config(root: Path, extra: str = "", min_rows: int = 0) -> Path:
    """`min_rows = 0`: these small logs are scored from the rollups, as a large fleet's are."""
    path = root / f"console{abs(hash((extra, min_rows))) % 10**6}.toml"
    rollups = f"[rollups]\nmin_rows = {min_rows}\n"
    extra = extra.replace("[rollups]\n", rollups) if "[rollups]\n" in extra else extra + "\n" + rollups
    path.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n'
                    '[models.m]\ntask = "classification"\nreference = "reference.parquet"\nfeatures = ["x", "y", "c"]\n'
                    '[models.m.drift.x]\ntest = "ks"\n' + extra, encoding="utf-8")
    return path


def _write_rows(path: Path, ts: list[datetime], x, y, c, tag: str) -> None:
    n = len(ts)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({
        "ts": pa.array(ts, pa.timestamp("us")), "model": ["m"] * n, "version": ["1"] * n,
        "environment": ["production"] * n, "request_id": [f"{tag}-{i}" for i in range(n)],
        "latency_ms": np.full(n, 20.0), "prediction": ["1"] * n, "x": x, "y": y, "c": c}), path)


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    """(root folder, every row as columns, the reference columns)."""
    root = tmp_path_factory.mktemp("rollup-drift")
    rng = np.random.default_rng(5)
    cols = {"ts": [], "x": [], "y": [], "c": []}
    for day in range(4):
        n = 3000
        ts = [START + timedelta(days=day, seconds=int(s)) for s in np.sort(rng.integers(0, 86400, n))]
        x = _f32(rng.normal(0.1 * day, 1, n))
        y = _f32(rng.lognormal(0, 0.5 + 0.05 * day, n))
        c = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2] if day < 2 else [0.4, 0.3, 0.3])
        _write_rows(root / "logs" / f"date={(START + timedelta(days=day)).date()}" / "part-0.parquet", ts, x, y, c,
                    f"d{day}")
        for k, v in (("ts", ts), ("x", x), ("y", y), ("c", c)):
            cols[k].extend(list(v))
    ref = {"x": _f32(rng.normal(0, 1, 5000)), "y": _f32(rng.lognormal(0, 0.5, 5000)),
           "c": rng.choice(["a", "b", "c"], 5000, p=[0.5, 0.3, 0.2])}
    pq.write_table(pa.table(ref), root / "reference.parquet")
    rows = {k: np.array(v) for k, v in cols.items()}
    return root, rows, ref


def _window(rows: dict, end: datetime = NOW, span: timedelta = WINDOW) -> dict:
    ts = rows["ts"]
    keep = (ts > np.datetime64(end - span)) & (ts <= np.datetime64(end))
    return {k: v[keep] for k, v in rows.items()}


def _exact(rows: dict, ref: dict, span: timedelta = WINDOW) -> dict:
    cur = _window(rows, span=span)
    shares = []
    for sample in (ref["c"], cur["c"]):
        values, counts = np.unique(sample, return_counts=True)
        got = dict(zip(values, counts))
        shares.append(np.array([got.get(k, 0) for k in ("a", "b", "c")]) / len(sample))
    return {"n": len(cur["x"]), "ks": stats.ks_2samp(ref["x"], cur["x"]),
            "w": stats.wasserstein_distance(ref["y"], cur["y"]) / np.std(ref["y"]),
            "js": distance.jensenshannon(*shares)}


def _service(config: Path) -> Service:
    svc = Service(parse_file(config), clock=lambda: NOW)
    svc.refresh()
    return svc


def _features(report) -> dict:
    return {c.column: c for c in report.dataset.columns}


def test_a_long_window_of_fewer_rows_than_min_rows_is_scored_exactly(log):
    """Below `[rollups] min_rows` rows a 72 h window is read raw, so its scores are scipy's, not a sketch's;
    the same window past the limit comes from the rollups."""
    root, rows, ref = log
    cur = _window(rows)
    n = len(cur["ts"])
    small = _service(_config(root, min_rows=n + 1))
    large = _service(_config(root, min_rows=n))
    try:
        f = _features(small.drift("m", "72h", series=False))
        assert {c.method for c in f.values()} == {"exact"}
        assert f["x"].score == pytest.approx(stats.ks_2samp(ref["x"], cur["x"]).pvalue, rel=1e-9)
        assert {c.method for c in _features(large.drift("m", "72h", series=False)).values()} == {"sketch"}
        assert "rank_error" not in small.health("m", "72h") and "rank_error" in large.health("m", "72h")
    finally:
        small.close()
        large.close()


def test_sketch_scores_are_within_their_bound_of_scipy(log):
    root, rows, ref = log
    svc = _service(_config(root))
    try:
        report = svc.drift("m", "72h")
    finally:
        svc.close()
    exact = _exact(rows, ref)
    f = _features(report)
    assert {c.method for c in f.values()} == {"sketch"}
    assert all(c.n_cur == exact["n"] for c in f.values())  # counts merge exactly, across the cut hours
    x = f["x"]
    assert 0 < x.bound < 0.05 and abs(x.stats["statistic"] - exact["ks"].statistic) <= x.bound
    lo, hi = x.stats["p_range"]
    assert lo <= exact["ks"].pvalue <= hi
    y = f["y"]
    assert 0 < y.bound and abs(y.score - exact["w"]) <= y.bound
    assert f["c"].bound == 0 and f["c"].score == pytest.approx(exact["js"], rel=1e-9)  # counts are exact
    # the trend comes from the rollups too: 6-hour buckets over the 7-day history that has rows
    assert report.series["x"] and all(t.hour % 6 == 0 for t, _, _ in report.series["x"])


def test_a_contract_field_drifted_as_a_feature_is_counted_once(log):
    """`latency_ms` configured as a feature was sketched twice into each hour's rollup (as the latency and as the
    feature, one accumulator): its N from the rollups was twice scipy's count (257,400 of 129,600 rows over 3 days)."""
    root, rows, ref = log
    rng = np.random.default_rng(9)
    pq.write_table(pa.table({**ref, "latency_ms": _f32(rng.normal(20, 1, 5000))}), root / "reference-latency.parquet")
    config = _config(root)
    text = config.read_text(encoding="utf-8")
    config = root / "console-latency.toml"
    config.write_text(text.replace('path = "store"', 'path = "store-latency"')
                      .replace("reference.parquet", "reference-latency.parquet")
                      .replace('features = ["x", "y", "c"]', 'features = ["x", "y", "c", "latency_ms"]'), encoding="utf-8")
    svc = _service(config)
    try:
        f = _features(svc.drift("m", "72h", series=False))
    finally:
        svc.close()
    exact = _exact(rows, ref)
    assert f["latency_ms"].method == "sketch"
    assert f["latency_ms"].n_cur == f["x"].n_cur == exact["n"]


def test_exact_flag_equals_scipy_and_the_text_shows_bounds(log, capsys):
    root, rows, ref = log
    config = _config(root)
    exact = _exact(rows, ref)
    common = ["drift", "m", "--config", str(config), "--window", "72h", "--at", NOW.isoformat() + "Z"]
    assert main([*common, "--exact", "--format", "json"]) == 0
    data = {c["column"]: c for c in json.loads(capsys.readouterr().out)["features"]}
    assert {c["method"] for c in data.values()} == {"exact"} and data["x"]["bound"] is None
    assert data["x"]["score"] == pytest.approx(exact["ks"].pvalue, rel=1e-9)
    assert data["y"]["score"] == pytest.approx(exact["w"], rel=1e-9)
    assert data["c"]["score"] == pytest.approx(exact["js"], rel=1e-9)
    assert all(c["n_cur"] == exact["n"] for c in data.values())

    assert main([*common, "--format", "json"]) == 0
    sketch = {c["column"]: c for c in json.loads(capsys.readouterr().out)["features"]}
    assert {c["method"] for c in sketch.values()} == {"sketch"}
    assert abs(sketch["y"]["score"] - exact["w"]) <= sketch["y"]["bound"] + 1e-12
    assert main(common) == 0
    text = capsys.readouterr().out
    assert "BOUND" in text and "D +-" in text and "hourly rollups" in text


def test_the_cli_default_24h_window_is_scored_from_rollups_past_min_rows_and_exact_below(log, capsys):
    """`drift` with no --window (24 h, longer than `rollup_drift.SKETCH_AFTER`, 6 h) over a log holding `min_rows`
    rows in the window: from the rollups, each score within its stated bound of scipy's; `--exact` and the
    deployment gate give scipy's; one row fewer than `min_rows` (a small log) reads raw, exact; 6 h stays exact."""
    root, rows, ref = log
    day = timedelta(hours=24)
    exact = _exact(rows, ref, day)
    n = exact["n"]
    at = ["--at", NOW.isoformat() + "Z", "--format", "json"]

    def scores(config: Path, *extra: str) -> dict:
        assert main(["drift", "m", "--config", str(config), *at, *extra]) == 0
        return {c["column"]: c for c in json.loads(capsys.readouterr().out)["features"]}

    large = _config(root, min_rows=n)
    sketch = scores(large)
    assert {c["method"] for c in sketch.values()} == {"sketch"} and all(c["n_cur"] == n for c in sketch.values())
    x, y, c = sketch["x"], sketch["y"], sketch["c"]
    assert 0 < x["bound"] < 0.1 and abs(x["stats"]["statistic"] - exact["ks"].statistic) <= x["bound"] + 1e-12
    assert x["stats"]["p_range"][0] <= exact["ks"].pvalue <= x["stats"]["p_range"][1]
    assert 0 < y["bound"] and abs(y["score"] - exact["w"]) <= y["bound"] + 1e-12
    assert c["bound"] == 0 and c["score"] == pytest.approx(exact["js"], rel=1e-9)
    for got in (scores(large, "--exact"), scores(_config(root, min_rows=n + 1))):  # asked, or a small log
        assert {c["method"] for c in got.values()} == {"exact"}
        assert got["x"]["score"] == pytest.approx(exact["ks"].pvalue, rel=1e-9)
        assert got["y"]["score"] == pytest.approx(exact["w"], rel=1e-9)
        assert got["c"]["score"] == pytest.approx(exact["js"], rel=1e-9)
    six = scores(large, "--window", "6h")
    assert {c["method"] for c in six.values()} == {"exact"}
    assert six["y"]["score"] == pytest.approx(_exact(rows, ref, timedelta(hours=6))["w"], rel=1e-9)
    svc = _service(large)
    try:  # the gate decides on exact scores: the 24 h the CLI now sketches is read raw for it
        gate, raw = svc.drift_evidence("m"), svc.monitor.drift("m", "24h", series=False, exact=True).dataset
        assert {c.method for c in raw.columns} == {"exact"}
        assert (gate["n_evaluated"], gate["share"], gate["drifted"]) == (3, raw.share, raw.drifted)
    finally:
        svc.close()


def test_a_score_on_its_threshold_is_borderline(log, capsys):
    root, rows, ref = log
    exact = _exact(rows, ref)
    # y's threshold set to its exact score: a sketch score within its bound cannot tell which side it is on
    config = _config(root, f"[models.m.drift.y]\nthreshold = {float(exact['w'])!r}\n")
    svc = _service(config)
    try:
        report = svc.drift("m", "72h")
        exact_report = svc.drift("m", "72h", exact=True)
    finally:
        svc.close()
    y = _features(report)["y"]
    assert y.status == "borderline" and not y.drifted and y.method == "sketch"
    assert report.dataset.n_borderline >= 1
    assert _features(exact_report)["y"].status in ("ok", "drift")  # the exact run decides
    assert main(["drift", "m", "--config", str(config), "--window", "72h", "--at", NOW.isoformat() + "Z"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("y "))
    assert "borderline" in line


def test_catch_up_is_incremental_and_rebuilds_an_hour_that_gained_late_rows(log, tmp_path):
    src, rows, ref = log
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copytree(src / "logs", root / "logs")
    shutil.copy(src / "reference.parquet", root)
    config = _config(root)
    first = _service(config)
    try:
        before = _features(first.drift("m", "72h", series=False))["x"].n_cur
        built = list(first.monitor.sketch_drift.built)
        assert built and built[0][1] == datetime(2026, 5, 1, 18)  # the first whole hour of the window
        assert max(e for _, _, e in built) == datetime(2026, 5, 4, 17)  # up to the open hour
        first.drift("m", "72h", series=False)
        assert first.monitor.sketch_drift.built == built  # nothing new
    finally:
        first.close()
    assert list((root / "store" / "rollups").glob(".build.lock"))  # catch-up runs under the shared lock

    second = _service(config)  # another process on the same store: counts match, nothing is built
    try:
        second.drift("m", "72h", series=False)
        assert second.monitor.sketch_drift.built == []
        # 50 rows land late in a closed hour (a log flushed late): that hour, and only it, is rebuilt
        hour = datetime(2026, 5, 3, 10)
        rng = np.random.default_rng(9)
        _write_rows(root / "logs" / "date=2026-05-03" / "part-late.parquet",
                    [hour + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 3600, 50))],
                    _f32(rng.normal(3, 1, 50)), _f32(rng.lognormal(0, 0.5, 50)), ["a"] * 50, "late")
        second.refresh()
        after = _features(second.drift("m", "72h", series=False))["x"].n_cur
        assert second.monitor.sketch_drift.built == [("m", hour, hour + timedelta(hours=1))]
        assert after == before + 50
    finally:
        second.close()


async def test_drift_screen_x_reruns_the_window_exactly(log):
    from console.ui.app import ConsoleApp
    from console.ui.screens.drift import DriftScreen
    from console.ui.widgets import FilterTable
    from ui_fixtures import screen_text, until

    root, rows, ref = log
    cur = _window(rows, span=timedelta(days=7))
    config = _config(root)
    svc = _service(config)
    app = ConsoleApp(parse_file(config), service=svc, poll=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await app.push_screen(DriftScreen("m", "production", window="7d"))
            drift = app.screen
            await until(pilot, lambda: "drift" in drift.loaded and drift.query_one("#features", FilterTable).row_keys,
                        "the sketch drift table")
            assert {f["method"] for f in drift.report["features"]} == {"sketch"}
            table = drift.query_one("#features", FilterTable)
            bound = [c.key for c in table.columns].index("bound")
            assert table.cells("x")[bound].plain.startswith("D")  # the bound of the KS statistic
            await pilot.press("x")
            await until(pilot, lambda: drift.exact is not None and "report" in drift.exact, "the exact re-run")
            assert isinstance(app.screen, DriftScreen)
            got = {f["column"]: f for f in drift.report["features"]}
            assert {f["method"] for f in got.values()} == {"exact"}
            assert got["x"]["score"] == pytest.approx(stats.ks_2samp(ref["x"], cur["x"]).pvalue, rel=1e-9)
            assert got["y"]["score"] == pytest.approx(
                stats.wasserstein_distance(ref["y"], cur["y"]) / np.std(ref["y"]), rel=1e-9)
            assert table.cells("x")[bound].plain == "exact"
            assert "scores above are exact" in screen_text(app)
            # a refresh keeps the exact scores of this window; coming back to it from another window does not
            drift.refresh_data()
            await pilot.pause()
            await until(pilot, lambda: not drift.busy("drift"), "the refresh's fetch")
            assert {f["method"] for f in drift.report["features"]} == {"exact"}
            await pilot.press("2")
            await until(pilot, lambda: drift.report is not None and drift.report["window"] == "24h", "the 24h table")
            await pilot.press("7")
            await until(pilot, lambda: drift.report is not None and drift.report["window"] == "7d"
                        and not drift.busy("drift"), "the 7d table")
            assert {f["method"] for f in drift.report["features"]} == {"sketch"}
    finally:
        svc.close()


async def test_esc_cancels_an_exact_rerun_still_running_and_the_sketch_scores_stand(log):
    """`x` then `esc` while the exact re-run is still reading: the head says it was cancelled, the table keeps
    the sketch scores, and the re-run's answer, when it lands, is dropped; `esc` did not leave the screen. The
    re-run is kept in flight, whatever the box's speed, by holding the store's view lock (every read takes it
    to bind its views) from the key press until after the cancel: no timing is assumed or asserted."""
    from console.ui.app import ConsoleApp
    from console.ui.screens.drift import DriftScreen
    from console.ui.widgets import FilterTable
    from ui_fixtures import screen_text, until

    root, _, _ = log
    config = _config(root)
    svc = _service(config)
    app = ConsoleApp(parse_file(config), service=svc, poll=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await app.push_screen(DriftScreen("m", "production", window="7d"))
            drift = app.screen
            await until(pilot, lambda: "drift" in drift.loaded and drift.query_one("#features", FilterTable).row_keys
                        and not drift.busy("drift"), "the sketch drift table")
            sketch = {f["column"]: (f["method"], f["score"]) for f in drift.report["features"]}
            assert {m for m, _ in sketch.values()} == {"sketch"}
            with svc.warehouse._views_lock:  # the exact re-run's first read waits here: it is still running
                await pilot.press("x")
                await until(pilot, lambda: drift.exact_running, "the exact re-run started")
                assert "computing exact drift over the raw rows of the last 7d" in screen_text(app)
                await pilot.press("escape")
                await until(pilot, lambda: drift.exact is not None and drift.exact.get("cancelled"), "the cancel")
            await until(pilot, lambda: "exact" not in drift.__dict__.get("_busy", {}), "the re-run's answer landed")
            await pilot.pause()
            assert app.screen is drift  # esc cancelled; it did not go back
            assert "report" not in drift.exact  # what it computed after the cancel was dropped
            assert {f["column"]: (f["method"], f["score"]) for f in drift.report["features"]} == sketch
            assert "exact re-run cancelled; the sketch scores stand" in screen_text(app)
    finally:
        svc.close()


async def test_an_exact_rerun_does_not_outlive_a_step_in_time(log):
    """`x` settles the window on show; `[` or `@` then moves the view to another window of the same length, whose
    table is that window's (its row count, its sketch scores), not the exact scores of the one left behind."""
    from console.ui.app import ConsoleApp
    from console.ui.screens.drift import DriftScreen
    from console.ui.widgets import FilterTable
    from ui_fixtures import screen_text, until

    root, rows, ref = log
    config = _config(root)
    svc = _service(config)
    app = ConsoleApp(parse_file(config), service=svc, poll=False)
    jump = START + timedelta(days=2, hours=12)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await app.push_screen(DriftScreen("m", "production", window="24h"))
            drift = app.screen
            await until(pilot, lambda: "drift" in drift.loaded and drift.query_one("#features", FilterTable).row_keys,
                        "the sketch drift table")
            await pilot.press("x")
            await until(pilot, lambda: drift.exact is not None and "report" in drift.exact, "the exact re-run")
            assert {f["n_cur"] for f in drift.report["features"]} == {len(_window(rows, span=timedelta(hours=24))["x"])}
            await pilot.press("at")
            await until(pilot, lambda: app.screen.__class__.__name__ == "TimeJump", "the time prompt")
            await pilot.press(*f"{jump:%Y-%m-%d %H:%M}", "enter")
            await until(pilot, lambda: app.at == jump and drift.report is not None and drift.report["now"]
                        .startswith(f"{jump:%Y-%m-%dT%H:%M}") and not drift.busy("drift"), "the table at the jump")
            n = len(_window(rows, end=jump, span=timedelta(hours=24))["x"])
            assert 0 < n != len(_window(rows, span=timedelta(hours=24))["x"])
            assert {f["n_cur"] for f in drift.report["features"]} == {n}
            assert {f["method"] for f in drift.report["features"]} == {"sketch"}
            assert "scores above are exact" not in screen_text(app)
            await pilot.press("x")  # settles the window at the jump, over its own rows
            await until(pilot, lambda: drift.exact is not None and "report" in drift.exact, "the exact re-run there")
            cur = _window(rows, end=jump, span=timedelta(hours=24))
            got = {f["column"]: f for f in drift.report["features"]}
            assert got["x"]["score"] == pytest.approx(stats.ks_2samp(ref["x"], cur["x"]).pvalue, rel=1e-9)
            await pilot.press("left_square_bracket")  # one window back: a day of its own rows, sketch-scored
            back = jump - timedelta(hours=24)
            await until(pilot, lambda: app.at == back and drift.report is not None and drift.report["now"]
                        .startswith(f"{back:%Y-%m-%dT%H:%M}") and not drift.busy("drift"), "the day before")
            assert {f["n_cur"] for f in drift.report["features"]} == {len(_window(rows, end=back, span=timedelta(hours=24))["x"])}
            assert "scores above are exact" not in screen_text(app) and "not live" in screen_text(app)
            await pilot.press("at")  # a day before the log's first row: the window is empty and says so
            await until(pilot, lambda: app.screen.__class__.__name__ == "TimeJump", "the time prompt")
            empty = START - timedelta(days=1)
            await pilot.press(*f"{empty:%Y-%m-%d %H:%M}", "enter")
            await until(pilot, lambda: app.at == empty and drift.report is not None and drift.report["now"]
                        .startswith(f"{empty:%Y-%m-%dT%H:%M}") and not drift.busy("drift"), "the empty day")
            newest = max(rows["ts"])
            text = screen_text(app)
            assert "no predictions in this window" in text and f"newest row {newest:%Y-%m-%d %H:%M}Z" in text
    finally:
        svc.close()


async def test_drift_screen_offers_x_only_on_a_window_read_from_rollups(log):
    """`x` (exact re-run) is in the footer and the help on a 24 h or 7d window, scored from the rollups (longer than
    `rollup_drift.SKETCH_AFTER`, 6 h, with `min_rows` rows), and on neither on a 6 h or 1 h window, already exact;
    the key's action is the same wherever it is offered."""
    from console.ui.app import ConsoleApp
    from console.ui.screens.drift import DriftScreen
    from console.ui.screens.help import HelpScreen
    from ui_fixtures import screen_text, until

    root, _, _ = log
    config = _config(root)
    svc = _service(config)
    app = ConsoleApp(parse_file(config), service=svc, poll=False)

    def footer() -> str:
        return screen_text(app).splitlines()[-1]

    async def help_ids() -> set[str]:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        shown = screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DriftScreen), "back on drift")
        return {i for i in ("drift.exact", "drift.distributions", "window.cycle") if i in shown}

    async def window(key: str, name: str, methods: set[str]) -> None:
        await pilot.press(key)
        await until(pilot, lambda: drift.report is not None and drift.report["window"] == name
                    and not drift.busy("drift"), f"the {name} table")
        assert {f["method"] for f in drift.report["features"]} == methods  # what the service read
        await pilot.pause()

    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await app.push_screen(DriftScreen("m", "production", window="6h"))
            drift = app.screen
            await until(pilot, lambda: drift.report is not None and not drift.busy("drift"), "the 6h table")
            assert {f["method"] for f in drift.report["features"]} == {"exact"}
            await pilot.pause()
            assert "x Exact" not in footer() and "w Window" in footer()
            assert await help_ids() == {"drift.distributions", "window.cycle"}

            await window("2", "24h", {"sketch"})  # longer than 6 h: from the rollups, as the CLI's default
            await until(pilot, lambda: "x Exact" in footer(), "x in the footer on 24h")

            await window("7", "7d", {"sketch"})
            await until(pilot, lambda: "x Exact" in footer(), "x in the footer on the rollup window")
            assert await help_ids() == {"drift.exact", "drift.distributions", "window.cycle"}

            await window("1", "1h", {"exact"})
            await until(pilot, lambda: "x Exact" not in footer(), "x gone from the footer on 1h")
            assert "drift.exact" not in await help_ids()

            await window("7", "7d", {"sketch"})
            await until(pilot, lambda: "x Exact" in footer(), "x back on 7d")
            await pilot.press("x")  # unchanged: re-runs the window over its raw rows
            await until(pilot, lambda: drift.exact is not None and "report" in drift.exact, "the exact re-run")
            assert {f["method"] for f in drift.report["features"]} == {"exact"}
            assert "x Exact" in footer()  # the window is still one read from rollups: x may run again
    finally:
        svc.close()


def test_a_merged_sketch_keeps_its_weights():
    """datasketches 5.2's iterator gives every item of a merged sketch weight 1; Dist reads the sketch's ranks."""
    from console.analytics import sketches as sk

    rng = np.random.default_rng(2)
    parts = [rng.normal(0, 1, 400) for _ in range(300)]  # hourly groups of a few hundred rows
    merged = sk.merge(sk.kll(p) for p in parts)
    values = np.sort(_f32(np.concatenate(parts)))
    d = sk.Dist.of(merged)
    assert d.total == merged.n == values.size
    true = np.searchsorted(values, d.values, side="right") / values.size
    assert np.max(np.abs(d.cum / d.total - true)) <= sk.rank_error(merged)


def _fresh_drift(config: Path, **kw):
    """A drift report of the 72 h window from a new Service that keeps nothing of the last one's (the reference's
    summary and the trend's scored buckets in `.memo` are computed again); the rollups are left as they are."""
    svc = _service(config)
    try:
        shutil.rmtree(svc.monitor.sketch_drift.path / ".memo", ignore_errors=True)
        report = svc.drift("m", "72h", exact=False, **kw)
    finally:
        svc.close()
    return json.dumps([report.to_dict(), [w.to_dict() for w in report.windows],
                       {f: [(t.isoformat(), s, d) for t, s, d in pts] for f, pts in report.series.items()}],
                      default=str), report


def test_the_same_question_over_unchanged_rollups_gets_the_same_scores(log, tmp_path):
    """QA: three runs of a month's drift gave one feature three p-values (0.068, 0.092, 0.060), all within the
    bound, because KLL merges at read time compact with random bits. The window, the trend's buckets and the raw
    edges are now unions of the rollups' sketches and of the raw values (`Dist.union`): two fresh Service instances
    over the same rollups give identical scores, verdicts and trend, each score within its bound of scipy's."""
    src, rows, ref = log
    root = _copy(src, tmp_path)
    config = _config(root)
    _fresh_drift(config)  # builds the rollups (hours and compacted days), which the two reads below share
    (text_a, a), (text_b, b) = _fresh_drift(config), _fresh_drift(config)
    assert text_a == text_b
    f, exact = _features(a), _exact(rows, ref)
    assert {c.method for c in f.values()} == {"sketch"} and len(a.windows) > 10
    assert abs(f["x"].stats["statistic"] - exact["ks"].statistic) <= f["x"].bound
    lo, hi = f["x"].stats["p_range"]
    assert lo <= exact["ks"].pvalue <= hi
    assert abs(f["y"].score - exact["w"]) <= f["y"].bound
    # and in two processes, through the CLI's JSON (each process with nothing kept in `.memo`)
    import os
    import subprocess
    import sys

    import console

    env = dict(os.environ, PYTHONPATH=str(Path(console.__file__).resolve().parents[1]))
    outs = []
    for _ in range(2):
        shutil.rmtree(root / "store" / "rollups" / ".memo", ignore_errors=True)
        done = subprocess.run([sys.executable, "-m", "console", "drift", "m", "--config", str(config), "--window",
                               "72h", "--at", NOW.isoformat() + "Z", "--format", "json"], env=env,
                              capture_output=True, text=True, check=False, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        outs.append(json.loads(done.stdout))
    assert outs[0] == outs[1]
    x = next(c for c in outs[0]["features"] if c["column"] == "x")
    assert x["method"] == "sketch" and x["score"] == f["x"].score


def test_rollups_kept_in_s3_are_pulled_and_read(log, tmp_path, s3_server, monkeypatch):  # noqa: F811
    """`[rollups] path = "s3://..."`: rollups another box built and pushed are pulled into the console's
    mirror and read; the console builds nothing the bucket already holds, and its scores equal the builder's."""
    from console import rollup_remote

    src, rows, ref = log
    builder_root = tmp_path / "builder"
    builder_root.mkdir()
    shutil.copytree(src / "logs", builder_root / "logs")
    shutil.copy(src / "reference.parquet", builder_root)
    builder = _service(_config(builder_root))
    try:
        built = _features(builder.drift("m", "72h", series=False))
        assert builder.monitor.sketch_drift.built
    finally:
        builder.close()
    s3_server.client().create_bucket(Bucket="rollups-drift")
    assert rollup_remote.push(builder_root / "store" / "rollups", "s3://rollups-drift/fleet", s3_server.storage) > 0

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # a fresh mirror
    console_root = tmp_path / "console"
    console_root.mkdir()
    shutil.copytree(src / "logs", console_root / "logs")
    shutil.copy(src / "reference.parquet", console_root)
    s3 = s3_server.storage
    config = _config(console_root, f'[rollups]\npath = "s3://rollups-drift/fleet"\n[storage.s3]\n'
                                   f'endpoint_url = "{s3["endpoint_url"]}"\nregion = "us-east-1"\n'
                                   f'access_key_id = "{s3["access_key_id"]}"\n'
                                   f'secret_access_key = "{s3["secret_access_key"]}"\n')
    svc = _service(config)
    try:
        got = _features(svc.drift("m", "72h", series=False))
        sd = svc.monitor.sketch_drift
        assert sd.path == rollup_remote.mirror_dir("s3://rollups-drift/fleet") and sd.note == ""
        assert sd.built == []  # every closed hour came from the bucket
        assert not (console_root / "s3:").exists()
        for f in ("x", "y", "c"):
            assert got[f].n_cur == built[f].n_cur  # the same hours, from the builder's files
        assert got["c"].score == pytest.approx(built["c"].score, abs=1e-12)  # merged exact counts
        # KLL compaction is randomised: the open hours and the reference are sketched again in this process
        assert abs(got["y"].score - built["y"].score) <= got["y"].bound + built["y"].bound
    finally:
        svc.close()


def _late(root: Path, hour: datetime, n: int = 50) -> None:
    rng = np.random.default_rng(11)
    _write_rows(root / "logs" / f"date={hour.date()}" / "part-late.parquet",
                [hour + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 3600, n))],
                _f32(rng.normal(3, 1, n)), _f32(rng.lognormal(0, 0.5, n)), ["b"] * n, "late")


def _copy(src: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copytree(src / "logs", root / "logs")
    shutil.copy(src / "reference.parquet", root)
    return root


def _counts(values) -> dict:
    keys, n = np.unique(values, return_counts=True)
    return {str(k): int(v) for k, v in zip(keys, n)}


def test_the_consoles_catch_up_compacts_whole_days_and_a_late_row_recompacts_its_day(log, tmp_path):
    """The console's own catch-up writes day rows for the whole days of the window (not only `rollup`), a
    window read through them counts exactly what numpy counts in the raw rows, and late rows in a compacted
    day make the next read rebuild the hour, compact the day again and count them."""
    from console import store_rollups as ro

    src, rows, ref = log
    root = _copy(src, tmp_path)
    svc = _service(_config(root))
    path = root / "store" / "rollups"
    try:
        first = svc.monitor.sketch_drift.current("m", NOW - WINDOW, NOW, None, svc.monitor.sketch_drift.spec("m"),
                                                 ["x", "y", "c"])
        days = ro.valid_days(path, "m", START, NOW)
        assert sorted(days) == [datetime(2026, 5, 2), datetime(2026, 5, 3)]  # wholly inside (05-01 17:23, NOW]
        cur = _window(rows)
        assert first.rows == len(cur["x"]) and first.numeric["x"].n == len(cur["x"])
        assert first.counts["c"] == _counts(cur["c"])
        assert first.sums["y"] == pytest.approx(float(np.sum(cur["y"])), rel=1e-9)
        before = days[datetime(2026, 5, 3)].path

        _late(root, datetime(2026, 5, 3, 10))
        svc.refresh()
        again = svc.monitor.sketch_drift.current("m", NOW - WINDOW, NOW, None, svc.monitor.sketch_drift.spec("m"),
                                                 ["x", "y", "c"])
        days = ro.valid_days(path, "m", START, NOW)
        assert sorted(days) == [datetime(2026, 5, 2), datetime(2026, 5, 3)] and days[datetime(2026, 5, 3)].path != before
        want = _counts(cur["c"])
        want["b"] += 50
        assert again.rows == first.rows + 50 and again.counts["c"] == want
        assert again.numeric["x"].n == len(cur["x"]) + 50
    finally:
        svc.close()


def _bucket_rows(ts: np.ndarray, lo: datetime, hi: datetime, every: timedelta) -> dict:
    """Rows per epoch-aligned bucket of (lo, hi], counted by hand."""
    keep = (ts > np.datetime64(lo)) & (ts <= np.datetime64(hi))
    us = ts[keep].astype("datetime64[us]").astype(np.int64)
    step = int(every.total_seconds() * 1e6)
    starts, n = np.unique(us // step * step, return_counts=True)
    return {datetime(1970, 1, 1) + timedelta(microseconds=int(s)): int(c) for s, c in zip(starts, n)}


def test_the_trend_keeps_closed_buckets_and_rescores_the_one_a_late_row_changed(log, tmp_path):
    """The Drift screen's trend over 7 days (6 h buckets): rows per bucket equal a hand count of the raw rows
    (whole hours in the first bucket, the open hour's rows in the last), a second read gives the same
    buckets, and after late rows land in a closed hour only that hour's bucket changes, by exactly them; its
    Jensen-Shannon score equals scipy's on the bucket's counts."""
    src, rows, ref = log
    root = _copy(src, tmp_path)
    svc = _service(_config(root))
    every = timedelta(hours=6)
    lo = datetime(2026, 4, 27, 18)  # floor_hour(NOW - 7 d) + 1 h: the first whole hour of the history
    try:
        first = svc.drift("m", "7d", target=False).windows
        want = _bucket_rows(rows["ts"], lo - timedelta(microseconds=1), NOW, every)
        assert {w.start: w.n_rows for w in first if w.n_rows} == want
        second = svc.drift("m", "7d", target=False).windows
        assert [(w.start, w.n_rows, w.drift.share) for w in second] == [(w.start, w.n_rows, w.drift.share)
                                                                         for w in first]

        hour = datetime(2026, 5, 2, 14)
        _late(root, hour)
        svc.refresh()
        third = svc.drift("m", "7d", target=False).windows
        changed = {w.start: w.n_rows - b.n_rows for w, b in zip(third, first) if w.n_rows != b.n_rows}
        assert changed == {datetime(2026, 5, 2, 12): 50}
        bucket = next(w for w in third if w.start == datetime(2026, 5, 2, 12))
        keep = (rows["ts"] >= np.datetime64(datetime(2026, 5, 2, 12))) & (rows["ts"] < np.datetime64(datetime(2026, 5, 2, 18)))
        got = _counts(rows["c"][keep])
        got["b"] += 50
        shares = []
        for sample in (_counts(ref["c"]), got):
            total = sum(sample.values())
            shares.append(np.array([sample.get(k, 0) for k in ("a", "b", "c")]) / total)
        assert bucket.drift.column("c").score == pytest.approx(distance.jensenshannon(*shares), rel=1e-9)
    finally:
        svc.close()


def test_prediction_and_label_drift_from_the_rollup_path_agree_with_the_exact_paths(tmp_path):
    """The rollup path reads prediction and label drift from the rollups' per-hour summaries of the baseline
    days and the window (plus their raw edge hours): over 48 h of a 200-hour log, tests on counts (a classifier's
    0/1) give the exact path's scores, normed Wasserstein (a regression's predictions and labels) is within its
    stated bound of the exact path and of scipy; a 30-day window, which reaches into the baseline, has neither."""
    import polars as pl

    from rollup_fleet import START as FLEET_START
    from rollup_fleet import fleet, write_hive

    preds, labels = fleet(hours=200, per_hour=40, seed=4)
    now = FLEET_START + timedelta(hours=199, minutes=23)
    write_hive(preds.with_columns((pl.col("status") != "ok").alias("is_error")).drop("status"), tmp_path)
    labels.filter(pl.col("ts") <= now).write_parquet(tmp_path / "labels.parquet")
    preds.head(2000).select("amount", "speed", "country").write_parquet(tmp_path / "reference.parquet")
    (tmp_path / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[[logs]]\nkind = "labels"\npath = "labels.parquet"\n'
        '[models.fraud]\nreference = "reference.parquet"\nfeatures = ["amount", "speed", "country"]\n'
        '[models.eta]\ntask = "regression"\nreference = "reference.parquet"\nfeatures = ["amount", "speed", "country"]\n',
        encoding="utf-8")
    svc = Service(parse_file(tmp_path / "console.toml"), clock=lambda: now)
    svc.refresh()
    try:
        kept = {}
        for model in ("fraud", "eta"):
            sketched = svc.drift(model, "48h", series=False, exact=False)
            kept[model] = json.dumps([sketched.prediction.to_dict(), sketched.label.to_dict()])
            exact = svc.drift(model, "48h", series=False, exact=True)
            assert _features(sketched)["amount"].method == "sketch"
            assert sketched.prediction is not None and sketched.label is not None
            for got, want in ((sketched.prediction, exact.prediction), (sketched.label, exact.label)):
                # the same column, test, threshold and counts as the exact engine chooses from the raw rows
                assert got.method == "sketch" and got.bound is not None
                for key in ("column", "kind", "test", "threshold", "n_ref", "n_cur"):
                    assert getattr(got, key) == getattr(want, key), (model, key)
                if got.test == "wasserstein":  # on the two sides' KLL sketches: within the stated bound
                    assert abs(got.score - want.score) <= got.bound, (model, got.column)
                else:  # on exact counts by value: the exact score
                    assert got.bound == 0.0 and got.score == pytest.approx(want.score, abs=1e-12)
                    assert got.status == want.status
            # against scipy on the raw rows: the regression's predictions, normed Wasserstein
            if model == "eta":
                history_start = now - timedelta(days=7)
                rows = preds.filter(pl.col("model") == model).with_columns(
                    pl.col("prediction").cast(pl.Float64, strict=False).alias("p"))
                base = rows.filter((pl.col("ts") > history_start) & (pl.col("ts") <= history_start + timedelta(days=2)))
                cur = rows.filter(pl.col("ts") > now - timedelta(hours=48))
                b = _f32(base["p"].drop_nulls().to_numpy())
                want = stats.wasserstein_distance(b, _f32(cur["p"].drop_nulls().to_numpy())) / np.std(b)
                assert abs(sketched.prediction.score - want) <= sketched.prediction.bound
            month = svc.drift(model, "30d", series=False, exact=False)
            assert month.prediction is None and month.label is None
    finally:
        svc.close()
    # a second process's Service over the same rollups: the same prediction and label drift (the sides' sketches
    # are unioned, not merged with random bits, and the raw edge hours are summarised exactly)
    again = Service(parse_file(tmp_path / "console.toml"), clock=lambda: now)
    again.refresh()
    try:
        for model, first in kept.items():
            second = again.drift(model, "48h", series=False, exact=False)
            assert json.dumps([second.prediction.to_dict(), second.label.to_dict()]) == first
    finally:
        again.close()


def test_hours_built_without_the_target_summaries_read_prediction_drift_raw(tmp_path):
    """Rollups written before the prediction and label summaries existed (or by the Spark job) are not rebuilt:
    prediction and label drift read the raw rows then, and equal the exact path's."""
    import polars as pl

    from console import store_rollups as ro
    from rollup_fleet import START as FLEET_START
    from rollup_fleet import fleet, write_hive

    preds, labels = fleet(hours=200, per_hour=20, seed=7)
    now = FLEET_START + timedelta(hours=199, minutes=23)
    write_hive(preds.with_columns((pl.col("status") != "ok").alias("is_error")).drop("status"), tmp_path)
    labels.filter(pl.col("ts") <= now).write_parquet(tmp_path / "labels.parquet")
    preds.head(2000).select("amount", "speed", "country").write_parquet(tmp_path / "reference.parquet")
    (tmp_path / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[[logs]]\nkind = "labels"\npath = "labels.parquet"\n'
        '[models.fraud]\nreference = "reference.parquet"\nfeatures = ["amount", "speed", "country"]\n',
        encoding="utf-8")
    svc = Service(parse_file(tmp_path / "console.toml"), clock=lambda: now)
    svc.refresh()
    try:
        assert svc.drift("fraud", "48h", series=False, exact=False).prediction.method == "sketch"
        for f in (tmp_path / "store" / "rollups").rglob("*.parquet"):  # as older code wrote them, same names
            t = pq.read_table(f)
            pq.write_table(t.drop_columns([c for c in ro.target_columns() if c in t.column_names]), f)
        ro._names.cache_clear()
        svc2 = Service(parse_file(tmp_path / "console.toml"), clock=lambda: now)
        svc2.refresh()
        try:
            sketched = svc2.drift("fraud", "48h", series=False, exact=False)
            exact = svc2.drift("fraud", "48h", series=False, exact=True)
            assert sketched.prediction.method == "exact" and sketched.label.method == "exact"
            assert sketched.prediction.to_dict() == exact.prediction.to_dict()
            assert sketched.label.to_dict() == exact.label.to_dict()
        finally:
            svc2.close()
    finally:
        svc.close()


def test_a_refresh_that_brought_nothing_counts_no_hour_and_a_late_file_counts_only_its_hours(log, tmp_path):
    """The catch-up keys what it verified on the store's files (`rollup_changes`), not on the refresh count:
    a refresh with no new file counts no hour again; a late file counts only the hours its footer's time range
    covers, rebuilds the one it changed, and the window then holds what numpy counts."""
    src, rows, ref = log
    root = _copy(src, tmp_path)
    svc = _service(_config(root))
    drift = svc.monitor.sketch_drift
    spec = drift.spec("m")
    try:
        drift.current("m", NOW - WINDOW, NOW, None, spec, ["x", "y", "c"])
        assert drift.checked == [("m", datetime(2026, 5, 1, 18), datetime(2026, 5, 4, 17))]
        first = len(drift.built)
        svc.refresh()  # nothing new
        drift.checked.clear()
        drift.current("m", NOW - WINDOW, NOW, None, spec, ["x", "y", "c"])
        assert drift.checked == [] and len(drift.built) == first

        hour = datetime(2026, 5, 3, 10)
        _late(root, hour, n=37)
        svc.refresh()
        cur = drift.current("m", NOW - WINDOW, NOW, None, spec, ["x", "y", "c"])
        assert drift.checked == [("m", hour, hour + timedelta(hours=1))]
        assert drift.built[first:] == [("m", hour, hour + timedelta(hours=1))]
        want = _counts(_window(rows)["c"])
        want["b"] += 37
        assert cur.rows == len(_window(rows)["x"]) + 37 and cur.counts["c"] == want

        # the late file removed: the hours it covered are counted again and lose its rows
        (root / "logs" / "date=2026-05-03" / "part-late.parquet").unlink()
        svc.refresh()
        drift.checked.clear()
        cur = drift.current("m", NOW - WINDOW, NOW, None, spec, ["x", "y", "c"])
        assert drift.checked == [("m", hour, hour + timedelta(hours=1))]
        assert cur.rows == len(_window(rows)["x"]) and cur.counts["c"] == _counts(_window(rows)["c"])
    finally:
        svc.close()


def test_a_new_process_reuses_what_a_catch_up_verified_and_counts_an_hour_rebuilt_meanwhile(log, tmp_path):
    """What a catch-up verified is kept in the rollup folder: a new process (a new Service) over the same store
    counts no hour and reads the same window; a late file counts only its hours, as within a process; an hour
    whose rollup file another process rebuilt meanwhile is counted again."""
    from console import store_rollups as ro

    src, rows, ref = log
    root = _copy(src, tmp_path)
    feats = ["x", "y", "c"]
    svc = _service(_config(root))
    try:
        drift = svc.monitor.sketch_drift
        first = drift.current("m", NOW - WINDOW, NOW, None, drift.spec("m"), feats)
        assert drift.checked and list(drift.path.glob(".verified/*.json"))
    finally:
        svc.close()
    svc = _service(_config(root))
    try:
        drift = svc.monitor.sketch_drift
        cur = drift.current("m", NOW - WINDOW, NOW, None, drift.spec("m"), feats)
        assert drift.checked == [] and drift.built == []
        assert cur.rows == first.rows == len(_window(rows)["x"]) and cur.counts["c"] == _counts(_window(rows)["c"])
    finally:
        svc.close()
    hour = datetime(2026, 5, 3, 10)
    _late(root, hour, n=37)
    svc = _service(_config(root))
    try:
        drift = svc.monitor.sketch_drift
        cur = drift.current("m", NOW - WINDOW, NOW, None, drift.spec("m"), feats)
        assert drift.checked == [("m", hour, hour + timedelta(hours=1))]
        assert cur.rows == len(_window(rows)["x"]) + 37
        # another process rebuilds an hour (a newer generation of the same rows): this one counts it again
        other = datetime(2026, 5, 2, 7)
        ro.write({"m": ro.read_table(drift.path, "m", other, other + timedelta(hours=1))}, drift.path, other,
                 other + timedelta(hours=1))
    finally:
        svc.close()
    svc = _service(_config(root))
    try:
        drift = svc.monitor.sketch_drift
        cur = drift.current("m", NOW - WINDOW, NOW, None, drift.spec("m"), feats)
        assert drift.checked == [("m", other, other + timedelta(hours=1))] and drift.built == []
        assert cur.rows == len(_window(rows)["x"]) + 37
    finally:
        svc.close()


def test_a_kept_record_of_another_configuration_is_not_trusted(log, tmp_path):
    """A feature added to the configuration makes every hour built without it thin: a new process with the new
    configuration counts and rebuilds them, although a record of the old one says they were verified."""
    src, rows, ref = log
    root = _copy(src, tmp_path)
    narrow = _config(root).read_text(encoding="utf-8").replace('features = ["x", "y", "c"]', 'features = ["x", "y"]')
    (root / "narrow.toml").write_text(narrow, encoding="utf-8")
    svc = _service(root / "narrow.toml")
    try:
        drift = svc.monitor.sketch_drift
        drift.current("m", NOW - WINDOW, NOW, None, drift.spec("m"), ["x", "y"])
        assert drift.checked
    finally:
        svc.close()
    svc = _service(_config(root))
    try:
        drift = svc.monitor.sketch_drift
        cur = drift.current("m", NOW - WINDOW, NOW, None, drift.spec("m"), ["x", "y", "c"])
        assert drift.checked and drift.built
        assert cur.counts["c"] == _counts(_window(rows)["c"])
    finally:
        svc.close()


def test_a_new_process_reads_the_trend_and_reference_sketch_kept_by_the_last(log, tmp_path):
    """The reference's sketches and the trend's scored closed buckets are kept in the rollup folder
    (`rollup_memo`): a new process loads the same reference sketch and gives the same closed buckets without
    scoring them; the open hour's bucket is scored anew, within its bound of the first process's."""
    src, rows, ref = log
    root = _copy(src, tmp_path)
    reports, ids = [], []
    for _ in range(2):
        svc = _service(_config(root))
        try:
            reports.append(svc.drift("m", "72h", exact=False, target=False))
            drift = svc.monitor.sketch_drift
            ids.append(drift.reference("m").id)
            kept = list(drift.path.glob(".memo/*/trend-*.json")) + list(drift.path.glob(".memo/*/ref-*.npz"))
        finally:
            svc.close()
    assert ids[0] == ids[1] and not ids[0].startswith("process-") and len(kept) == 2
    a, b = reports
    assert len(a.windows) == len(b.windows) > 10
    assert [w.to_dict() for w in a.windows[:-1]] == [w.to_dict() for w in b.windows[:-1]]
    for x, y in zip(a.windows[-1].drift.columns, b.windows[-1].drift.columns):
        assert abs(x.score - y.score) <= x.bound + y.bound + 1e-12


def test_the_rollup_command_leaves_the_folder_ready_for_the_first_reads(log, tmp_path, capsys):
    """`mlops-console rollup` runs the first reads after building (`rollup_build.ready`): a new process's first 24 h
    and 7-day Drift screens (their windows and trends) count no hour against the store and score no trend bucket
    (the kept trend file is not rewritten), and give the scores a process reading the same rollups left without it
    (`--no-ready`) computes itself (unions are deterministic)."""
    src, _, _ = log
    root = _copy(src, tmp_path)
    configs = {how: _config(root, f'[rollups]\npath = "rollups-{how}"\n') for how in ("ready", "no-ready")}

    def rollup(how: str, *extra: str) -> dict:
        assert main(["rollup", "--config", str(configs[how]), "--format", "json", *extra]) == 0
        return json.loads(capsys.readouterr().out)

    built = rollup("no-ready", "--no-ready")
    assert built["ready"] == [] and not (root / "rollups-no-ready" / ".memo").exists()
    # the same rollup files (a build's compaction draws random bits), then a run with nothing left to build
    shutil.copytree(root / "rollups-no-ready", root / "rollups-ready")
    again = rollup("ready")
    # the folder holds the log from its first row: a month's window reads no hour it lacks
    assert again["ready"] == ["m 24h", "m 7d", "m 30d"] and again["rows"] == 0
    folder = root / "rollups-ready"
    memo = sorted(folder.glob(".memo/*/trend-*.json"))
    assert len(memo) == 2 and (folder / ".verified").is_dir()  # hour buckets (24 h); 6-hour buckets (7, 30 days)
    stamps = {p: p.stat().st_mtime_ns for p in memo}
    reports = {}
    for how in ("ready", "no-ready"):
        svc = Service(parse_file(configs[how]))
        try:
            svc.refresh()
            svc.view(at="latest")
            reports[how] = [(r.to_dict()["features"], [w.to_dict() for w in r.windows])
                            for r in (svc.drift("m", w, target=False) for w in ("24h", "7d"))]
            drift = svc.monitor.sketch_drift
            if how == "ready":
                assert drift.checked == [] and drift.built == []  # the catch-up's record covered both windows
                assert {p: p.stat().st_mtime_ns for p in memo} == stamps  # every closed bucket was kept
            else:
                assert drift.checked
        finally:
            svc.close()
    for (features, trend), want in zip(reports["ready"], reports["no-ready"]):
        assert {c["method"] for c in features} == {"sketch"} and len(trend) > 10
        assert (features, trend) == want


def test_the_rollup_command_reads_no_window_reaching_before_its_folder_into_rows(log, tmp_path, capsys):
    """A build from --since after the log's first rows (another builder's range before it, say): every window the
    first reads would run reaches (with the trend's 7-day history) before the folder's first hour into rows of the
    store, so none is read, and the folder holds no hour before --since."""
    from console import store_rollups as ro

    src, _, _ = log
    root = _copy(src, tmp_path)
    since = START + timedelta(days=2)
    assert main(["rollup", "--config", str(_config(root)), "--since", since.isoformat(), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ready"] == []
    assert min(f.start for f in ro.files(Path(summary["path"]), "m")) == since


def test_a_file_rewritten_in_place_counts_the_hours_of_its_old_and_new_rows(log, tmp_path):
    """An in-place log rewritten under the same name (new inode, size, mtime) is a changed part: the hours
    of its old rows and of its new ones are counted again, and a window over them equals numpy's counts."""
    src, rows, ref = log
    root = _copy(src, tmp_path)
    svc = _service(_config(root))
    drift = svc.monitor.sketch_drift
    spec = drift.spec("m")
    path = root / "logs" / "date=2026-05-03" / "part-late.parquet"
    try:
        _late(root, datetime(2026, 5, 3, 4), n=20)
        svc.refresh()
        drift.current("m", NOW - WINDOW, NOW, None, spec, ["x", "y", "c"])
        drift.checked.clear()
        tmp = path.with_name("tmp.parquet.tmp")
        rng = np.random.default_rng(3)
        _write_rows(tmp, [datetime(2026, 5, 3, 6, 30), datetime(2026, 5, 3, 6, 31)], _f32(rng.normal(0, 1, 2)),
                    _f32(rng.lognormal(0, 0.5, 2)), ["zz", "zz"], "rewritten")
        tmp.replace(path)
        svc.refresh()
        cur = drift.current("m", NOW - WINDOW, NOW, None, spec, ["x", "y", "c"])
        # the old rows' hour and the new rows' hour, not the one between them
        assert drift.checked == [("m", datetime(2026, 5, 3, 4), datetime(2026, 5, 3, 5)),
                                 ("m", datetime(2026, 5, 3, 6), datetime(2026, 5, 3, 7))]
        want = _counts(_window(rows)["c"])
        want["zz"] = 2
        assert cur.rows == len(_window(rows)["x"]) + 2 and cur.counts["c"] == want
    finally:
        svc.close()


def test_the_time_range_of_a_parquet_file_is_its_rows_first_and_last_ts(tmp_path):
    """`rollup_changes.ts_span` from row group statistics equals numpy's min and max of the rows; a ts of text
    or a file with no rows says so (every hour, no hour)."""
    from console import rollup_changes as rc

    rng = np.random.default_rng(1)
    ts = np.datetime64(START, "us") + np.sort(rng.integers(0, 86400 * 10**6, 5000)).astype("timedelta64[us]")
    order = rng.permutation(5000)  # out of order: the span is the min and max, not the first and last row
    pq.write_table(pa.table({"ts": pa.array(ts[order], pa.timestamp("us"))}), tmp_path / "a.parquet",
                   row_group_size=700)
    assert rc.ts_span(str(tmp_path / "a.parquet")) == (ts.min().astype(datetime), ts.max().astype(datetime))
    pq.write_table(pa.table({"ts": pa.array(ts[:3], pa.timestamp("us", tz="Europe/Paris"))}), tmp_path / "z.parquet")
    assert rc.ts_span(str(tmp_path / "z.parquet")) == (ts[0].astype(datetime), ts[2].astype(datetime))
    pq.write_table(pa.table({"ts": ["2026-05-01T00:00:00"]}), tmp_path / "t.parquet")
    assert rc.ts_span(str(tmp_path / "t.parquet")) == rc.EVERY
    pq.write_table(pa.table({"ts": pa.array([], pa.timestamp("us"))}), tmp_path / "e.parquet")
    assert rc.ts_span(str(tmp_path / "e.parquet")) == rc.EMPTY


def test_raw_edges_are_read_as_kept_hours_and_equal_the_store_s_rows(log, tmp_path):
    """`RollupDrift.raw` gives the rows `typed_rows` gives for any (a, b], from whole clock hours kept by the
    files that may hold them: a window whose start moves within its first hour (a live log's next refresh) reads
    nothing again, and a file landing in the open hour makes the next read fetch that hour alone."""
    from polars.testing import assert_frame_equal

    src, rows, ref = log
    root = _copy(src, tmp_path)
    svc = _service(_config(root))
    drift, mon = svc.monitor.sketch_drift, svc.monitor
    cols = ["ts", "request_id", "x", "c"]
    try:
        def same(a, b):  # the same rows; rows of one ts may come in either order (a full suite under load did)
            key = ["ts", "request_id"]
            assert_frame_equal(drift.raw("m", a, b, None, cols).sort(key),
                               mon.typed_rows("m", a, b, None, columns=cols).sort(key))

        a, b = datetime(2026, 5, 3, 20, 17), NOW
        same(a, b)
        assert drift.raw_reads == [("m", datetime(2026, 5, 3, 20), datetime(2026, 5, 4, 18))]
        same(a + timedelta(minutes=9), b)  # the start moved within its hour, the end within the open hour
        same(datetime(2026, 5, 4, 16, 59, 59, 999999), b)  # the open hour alone, as the drift edge reads it
        assert len(drift.raw_reads) == 1
        rng = np.random.default_rng(4)  # 12 rows land in the open hour, before NOW
        _write_rows(root / "logs" / "date=2026-05-04" / "part-live.parquet",
                    [datetime(2026, 5, 4, 17, i + 1) for i in range(12)], _f32(rng.normal(0, 1, 12)),
                    _f32(rng.lognormal(0, 0.5, 12)), ["a"] * 12, "live")
        svc.refresh()
        same(a, b)
        assert drift.raw_reads[1:] == [("m", datetime(2026, 5, 4, 17), datetime(2026, 5, 4, 18))]
        assert drift.raw("m", a, b, None, cols).height == int(np.sum(
            (rows["ts"] > np.datetime64(a)) & (rows["ts"] <= np.datetime64(b)))) + 12
    finally:
        svc.close()


def test_quality_of_a_store_without_labels_counts_the_window_and_the_raw_path_agrees(log):
    """Quality from rollups on a store that holds no label (known from its metadata, so the range's request
    ids are not joined with nothing): n equals a numpy count of the window, nothing is labelled, and the raw
    path says the same."""
    src, rows, ref = log
    svc = _service(_config(src))
    try:
        rolled = svc.quality("m", "72h", rollups=True)
        raw = svc.quality("m", "72h", rollups=False)
    finally:
        svc.close()
    assert rolled["source"] == "rollups" and raw["source"] == "raw rows"
    n = len(_window(rows)["x"])
    assert (rolled["now"].n, rolled["now"].n_labelled) == (raw["now"].n, raw["now"].n_labelled) == (n, 0)
    metrics = {k: v for k, v in rolled["now"].metrics.items() if k != "roc_auc_bound"}  # the rollups' own key
    assert metrics == raw["now"].metrics and all(v is None for v in metrics.values())


def test_what_a_catch_up_verified_is_known_to_the_next_process(log, tmp_path):
    """A new process (a new service) on a store whose content and rollup files are as the last catch-up left them
    counts no hour; a late file then counts only its hours, as within one process, and a window over them equals
    numpy's counts; rollup files changed by someone else (a file removed) make it count the hours they won again."""
    src, rows, ref = log
    root = _copy(src, tmp_path)
    svc = _service(_config(root))
    spec = svc.monitor.sketch_drift.spec("m")
    svc.monitor.sketch_drift.current("m", NOW - WINDOW, NOW, None, spec, ["x", "y", "c"])
    svc.close()
    every = [("m", datetime(2026, 5, 1, 18), datetime(2026, 5, 4, 17))]
    svc = _service(_config(root))
    drift = svc.monitor.sketch_drift
    try:
        drift.current("m", NOW - WINDOW, NOW, None, spec, ["x", "y", "c"])
        assert drift.checked == [] and drift.built == []
    finally:
        svc.close()
    hour = datetime(2026, 5, 3, 10)
    _late(root, hour, n=37)
    svc = _service(_config(root))
    drift = svc.monitor.sketch_drift
    try:
        cur = drift.current("m", NOW - WINDOW, NOW, None, spec, ["x", "y", "c"])
        assert drift.checked == [("m", hour, hour + timedelta(hours=1))]
        want = _counts(_window(rows)["c"])
        want["b"] += 37
        assert cur.rows == len(_window(rows)["x"]) + 37 and cur.counts["c"] == want
        newest = max(drift.path.joinpath("m").glob("*.parquet"))
    finally:
        svc.close()
    newest.unlink()  # the rollups changed under the record: nothing it says is trusted
    svc = _service(_config(root))
    drift = svc.monitor.sketch_drift
    try:
        cur = drift.current("m", NOW - WINDOW, NOW, None, spec, ["x", "y", "c"])
        # the hours whose winning rollup file changed are counted again (not those another file still wins)
        (_, lo, hi), = drift.checked
        assert every[0][1] <= lo < hi <= every[0][2]
        assert cur.rows == len(_window(rows)["x"]) + 37 and cur.counts["c"] == want
    finally:
        svc.close()


def _built_from(src: Path, root: Path, monkeypatch, note) -> tuple:
    """A copy of the log's drift over 72 h from the rollups its store builds: (the rows of each hour the rollups hold,
    the drift's features, the pieces built, `note(*args)` of each `typed_rows` read)."""
    from console import store_rollups as ro

    root.mkdir()
    shutil.copytree(src / "logs", root / "logs")
    shutil.copy(src / "reference.parquet", root)
    svc = _service(_config(root))
    notes = []
    typed_rows = svc.monitor.typed_rows
    monkeypatch.setattr(svc.monitor, "typed_rows", lambda *a, **k: notes.append(note(*a)) or typed_rows(*a, **k))
    try:
        report = svc.drift("m", "72h", series=False)
        built = svc.monitor.sketch_drift.built
    finally:
        svc.close()
    table = ro.read_table(root / "store" / "rollups", "m", START, NOW, columns=["hour", "segment", "rows"])
    per_hour: dict = {}  # an hour's first instant's rows are a row of their own (`ro.ON_HOUR`)
    for h, s, n in zip(*(table.column(c).to_pylist() for c in ("hour", "segment", "rows"))):
        if s is None:
            per_hour[h] = per_hour.get(h, 0) + n
    return per_hour, _features(report), built, notes


def test_a_busy_hour_is_built_from_slices_of_at_most_build_rows_with_the_same_rollups(log, tmp_path, monkeypatch):
    """Memory of a catch-up follows BUILD_CELLS, not the traffic: with BUILD_CELLS below an hour's values (125
    rows a model-hour here, of 17 columns), each hour is read in time slices streamed through one build, and gives
    the rollups one read of the whole week gave: the same rows per hour, scores within their bounds."""
    from console import rollup_catch_up

    src, rows, ref = log
    got = {}
    for cap in (10**9, 1000):
        monkeypatch.setattr(rollup_catch_up, "BUILD_CELLS", cap)
        got[cap] = _built_from(src, tmp_path / f"cap{cap}", monkeypatch, lambda *a: a[1:3])
    (whole, cols, built, reads), (sliced, sliced_cols, sliced_built, sliced_reads) = got[10**9], got[1000]
    hourly = [n for n in np.unique(rows["ts"].astype("datetime64[h]"), return_counts=True)[1]]
    assert min(hourly) * 10 > 1000  # every piece is one hour, read in slices
    assert all(e - s == timedelta(hours=1) for _, s, e in sliced_built)
    assert len(sliced_reads) >= 2 * len(sliced_built) > len(reads)
    assert whole == sliced and sum(whole.values()) == int(((rows["ts"] >= np.datetime64(START)) &
                                                           (rows["ts"] < np.datetime64(datetime(2026, 5, 4, 17)))).sum())
    exact = _exact(rows, ref)
    for f in (cols, sliced_cols):  # sketches updated in other batches differ, each within its bound of scipy
        assert f["x"].n_cur == f["y"].n_cur == exact["n"]
        assert abs(f["x"].stats["statistic"] - exact["ks"].statistic) <= f["x"].bound
        assert abs(f["y"].score - exact["w"]) <= f["y"].bound
        assert f["c"].score == pytest.approx(exact["js"], rel=1e-9)  # counts are exact


def test_pieces_of_models_share_a_read_by_hours_summed_or_spanned(monkeypatch):
    """A cold build's pieces of one day, of distinct models, are read together (their hours span a day though they
    sum to more); pieces far apart still join when their hours sum to a day at most; values still bound a read."""
    from console import rollup_catch_up as rd

    monkeypatch.setattr(rd, "BUILD_CELLS", 10)
    h, hour, day = datetime(2026, 5, 1), timedelta(hours=1), timedelta(days=1)
    a, b = (0, None, h, h + day, 4), (1, None, h, h + day, 4)
    assert rd._fits([a], b)
    assert not rd._fits([a], (1, None, h + day, h + 2 * day, 4))  # 48 h summed and spanned
    assert rd._fits([(0, None, h, h + hour, 4)], (1, None, h + 30 * hour, h + 31 * hour, 4))  # 2 h summed
    assert not rd._fits([a, b], (2, None, h, h + day, 4))  # 12 values


def test_stale_hours_are_cut_into_pieces_by_hours_and_values(monkeypatch):
    from console import rollup_catch_up as rd

    monkeypatch.setattr(rd, "BUILD_CELLS", 250_000)
    h = datetime(2026, 5, 1)
    hours = {h + timedelta(hours=i): 100_000 for i in range(5)}
    hours[h + timedelta(hours=7)] = 900_000  # after a gap, one hour over BUILD_CELLS
    hours[h + timedelta(hours=8)] = 0
    assert rd._pieces(hours) == [(h, h + timedelta(hours=2), 200_000), (h + timedelta(hours=2), h + timedelta(hours=4), 200_000),
                                 (h + timedelta(hours=4), h + timedelta(hours=5), 100_000),
                                 (h + timedelta(hours=7), h + timedelta(hours=8), 900_000),
                                 (h + timedelta(hours=8), h + timedelta(hours=9), 0)]
    assert rd._slices(h, h + timedelta(hours=1), 900_000) == [
        (h + timedelta(minutes=15 * i), h + timedelta(minutes=15 * (i + 1))) for i in range(4)]
    assert rd._slices(h, h + timedelta(hours=1), 10) == [(h, h + timedelta(hours=1))]


def test_a_run_of_stale_hours_goes_on_over_empty_hours_only(monkeypatch):
    """A quiet model's stale hours a few apart are one piece when only empty hours (no row stored or rolled up) lie
    between them; an hour between that holds rows already rolled up (neither stale nor empty) ends the run, and so
    do BUILD_CHUNK and BUILD_CELLS."""
    from console import rollup_catch_up as rd

    monkeypatch.setattr(rd, "BUILD_CELLS", 100)
    h, hour = datetime(2026, 5, 1), timedelta(hours=1)
    stale = {h: 10, h + 3 * hour: 10, h + 5 * hour: 10, h + 9 * hour: 10}
    empty = {h + hour, h + 2 * hour, h + 4 * hour, h + 6 * hour, h + 8 * hour}  # h + 7 h holds rows rolled up
    assert rd._pieces(stale) == [(t, t + hour, 10) for t in sorted(stale)]
    assert rd._pieces(stale, empty) == [(h, h + 6 * hour, 30), (h + 9 * hour, h + 10 * hour, 10)]
    monkeypatch.setattr(rd, "BUILD_CELLS", 25)
    assert rd._pieces(stale, empty) == [(h, h + 4 * hour, 20), (h + 5 * hour, h + 6 * hour, 10),
                                        (h + 9 * hour, h + 10 * hour, 10)]
    monkeypatch.setattr(rd, "BUILD_CELLS", 100)
    far = {h: 1, h + 30 * hour: 1}  # a day apart: two pieces, whatever lies between
    assert rd._pieces(far, {h + i * hour for i in range(1, 30)}) == [(h, h + hour, 1), (h + 30 * hour, h + 31 * hour, 1)]


def test_a_large_build_reads_the_next_piece_in_a_thread_with_the_same_rollups(log, tmp_path, monkeypatch):
    """Past READ_AHEAD_CELLS values a catch-up reads the next piece's raw rows in a thread while it sketches this
    one's (the reads let go of the GIL, the sketches hold it); what it builds is what one read at a time builds:
    the same rows per hour, every piece built once, scores within their bounds of scipy's."""
    import threading

    from console import rollup_catch_up

    src, rows, ref = log
    got = {}
    for label, cells in (("ahead", 0), ("in turn", 10**12)):
        monkeypatch.setattr(rollup_catch_up, "BUILD_CELLS", 20_000)  # a few hours a piece: many pieces
        monkeypatch.setattr(rollup_catch_up, "READ_AHEAD_CELLS", cells)
        got[label] = _built_from(src, tmp_path / label.replace(" ", "-"), monkeypatch,
                                 lambda *a: threading.current_thread().name)
    (whole, cols, built, threads), (turn, turn_cols, turn_built, turn_threads) = got["ahead"], got["in turn"]
    assert len(built) >= 4 and sorted(built) == sorted(turn_built) and len(set(built)) == len(built)
    assert any(t.startswith("rollup-read") for t in threads)  # read beside the build
    assert not any(t.startswith("rollup-read") for t in turn_threads)
    assert whole == turn and sum(whole.values()) == int(((rows["ts"] >= np.datetime64(START)) &
                                                         (rows["ts"] < np.datetime64(datetime(2026, 5, 4, 17)))).sum())
    exact = _exact(rows, ref)
    for f in (cols, turn_cols):
        assert f["x"].n_cur == f["y"].n_cur == exact["n"]
        assert abs(f["x"].stats["statistic"] - exact["ks"].statistic) <= f["x"].bound
        assert abs(f["y"].score - exact["w"]) <= f["y"].bound
        assert f["c"].score == pytest.approx(exact["js"], rel=1e-9)


def test_read_ahead_overlaps_the_next_read_keeps_the_order_and_raises_at_the_failed_item():
    import threading

    from console.rollup_catch_up import _read_ahead

    started = {i: threading.Event() for i in range(4)}

    def read(i):
        started[i].set()
        if i == 2:
            raise OSError("gone")
        return i * 10

    seen, overlapped = [], []
    with pytest.raises(OSError, match="gone"):
        for item, value in _read_ahead(read, [0, 1, 2, 3]):
            # the next item's read runs while this one is worked on
            overlapped.append(started[item + 1].wait(timeout=10))
            seen.append((item, value))
    assert seen == [(0, 0), (1, 10)] and overlapped == [True, True]
    # in turn: nothing is read before it is asked for
    started = {i: threading.Event() for i in range(4)}
    for item, value in _read_ahead(lambda i: started[i].set() or i, [0, 1, 2], ahead=False):
        assert value == item and not started.get(item + 1, threading.Event()).is_set()


def test_a_category_folded_into_other_states_no_bound_it_cannot_keep(tmp_path, capsys):
    """A column with more values an hour than a rollup hour keeps (`4 * sketches.TOP_N`, the rest under "other"):
    the counts merged from the hours no longer give scipy's Jensen-Shannon distance, so the score from the rollups
    states no bound (JSON null, "unknown" in the text) rather than +-0, and the exact re-check is scipy's."""
    rng = np.random.default_rng(17)
    end = datetime(2026, 5, 3)
    ts, c = [], []
    for h in range(36):
        ts += [end - timedelta(hours=36 - h, seconds=-int(s)) for s in np.sort(rng.integers(0, 3600, 600))]
        c += [f"v{int(v):04d}" for v in rng.integers(0, 1500, 600)]
    n = len(ts)
    _write_rows(tmp_path / "logs" / "part-0.parquet", ts, _f32(rng.normal(0, 1, n)), _f32(rng.lognormal(0, 0.5, n)),
                np.array(c), "w")
    ref_c = np.array([f"v{int(v):04d}" for v in rng.integers(0, 1200, 5000)])
    pq.write_table(pa.table({"x": _f32(rng.normal(0, 1, 5000)), "y": _f32(rng.lognormal(0, 0.5, 5000)),
                             "c": ref_c}), tmp_path / "reference.parquet")
    cur = np.array(c)[(np.array(ts) > np.datetime64(end - timedelta(hours=24))) & (np.array(ts) <= np.datetime64(end))]
    keys = sorted(set(ref_c) | set(cur))
    shares = [np.array([dict(zip(*np.unique(s, return_counts=True))).get(k, 0) for k in keys]) / len(s)
              for s in (ref_c, cur)]
    exact = distance.jensenshannon(*shares)
    common = ["drift", "m", "--config", str(_config(tmp_path)), "--window", "24h", "--at", end.isoformat() + "Z"]
    assert main([*common, "--format", "json"]) == 0
    got = {f["column"]: f for f in json.loads(capsys.readouterr().out)["features"]}["c"]
    assert got["method"] == "sketch" and got["stats"]["folded_into_other"] is True
    assert got["bound"] is None or abs(got["score"] - exact) <= got["bound"], (got["score"], got["bound"], exact)
    assert got["status"] == "borderline"  # the exact distance drifts; the folded counts cannot settle it
    assert main(common) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("c "))
    assert "+-0 " not in line and "unknown" in line, line
    assert main([*common, "--exact", "--format", "json"]) == 0
    got = {f["column"]: f for f in json.loads(capsys.readouterr().out)["features"]}["c"]
    assert got["score"] == pytest.approx(exact, rel=1e-9) and got["status"] == "drift"
