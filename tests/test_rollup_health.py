"""Health of long windows from the hourly rollups, through the real Service and CLI: over 72 h the requests,
errors and error rates per version and variant (and per chart bucket) equal a hand count over the raw
Parquet, the percentiles' true ranks lie within the stated rank error of their quantile, a window of a day
still gives the exact raw numbers, and `health --window 72h --format json` says what `Service.health` says.

The log is `rollup_fleet`'s two models over 80 hours, 2000 rows an hour each (so an hour's latency sketch
per version and variant is past its exact mode), as Hive Parquet; the clock sits mid-hour, so the window
has a partial first hour and an open hour read raw.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from console.cli import main
from console.config import parse_file
from console.service import Service
from rollup_fleet import START, fleet, write_hive

NOW = START + timedelta(hours=78, minutes=23)
KEYS = ["version", "variant"]


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> tuple[Path, pl.DataFrame]:
    root = tmp_path_factory.mktemp("rollup-health")
    preds, _ = fleet(hours=80, per_hour=2000, seed=7)
    preds = preds.with_columns((pl.col("status") != "ok").alias("is_error")).drop("status")
    preds = preds.filter(pl.col("ts") <= NOW)  # nothing after the view (the screen would say so in its header)
    write_hive(preds, root)
    (root / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[models.fraud]\nfeatures = ["amount", "age", "speed", "country", "channel"]\n'
        '[rollups]\nmin_rows = 0\n', encoding="utf-8")  # this small log is read as a large fleet's is
    return root, pl.read_parquet(root / "logs" / "**" / "*.parquet", hive_partitioning=False)


@pytest.fixture(scope="module")
def health72(log):
    root, _ = log
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    svc.refresh()
    try:
        yield svc.health("fraud", "72h")
    finally:
        svc.close()


def _window(raw: pl.DataFrame, span: timedelta) -> pl.DataFrame:
    return raw.filter((pl.col("model") == "fraud") & (pl.col("ts") > NOW - span) & (pl.col("ts") <= NOW))


def _rank_ok(values: np.ndarray, got: float, q: float, eps: float) -> bool:
    """`got`'s true rank among `values` (a range, for ties) comes within `eps` of `q`."""
    v = np.sort(values.astype(np.float32).astype(np.float64))  # as the sketches hold them
    got = float(np.float32(got))
    below, upto = np.searchsorted(v, got, "left") / v.size, np.searchsorted(v, got, "right") / v.size
    return below <= q + eps and upto >= q - eps


def test_counts_are_exact_and_percentiles_within_the_rank_bound(log, health72):
    _, raw = log
    cur = _window(raw, timedelta(hours=72))
    hand = cur.group_by(KEYS).agg(pl.len().alias("requests"), pl.col("is_error").sum().alias("errors")).sort(KEYS)
    table = health72["table"]
    assert table.select(*KEYS, "requests", "errors").to_dicts() == \
        hand.with_columns(pl.col("requests").cast(pl.UInt32), pl.col("errors").cast(pl.Int64)).to_dicts()
    for r in table.iter_rows(named=True):
        assert r["error_rate"] == r["errors"] / r["requests"]
        assert r["throughput_rpm"] == pytest.approx(r["requests"] / (72 * 60))
    eps = health72["rank_error"]
    assert 0 < eps < 0.05 and "percentiles from hourly rollups" in health72["note"]
    assert f"±{100 * eps:.1f}% rank" in health72["note"]
    for r in table.iter_rows(named=True):
        lat = cur.filter((pl.col("version") == r["version"]) & (pl.col("variant") == r["variant"]))["latency_ms"]
        lat = lat.to_numpy()
        exact = np.percentile(lat, 95)
        assert _rank_ok(lat, r["p95_ms"], 0.95, eps)
        assert _rank_ok(lat, r["p50_ms"], 0.50, eps) and _rank_ok(lat, r["p99_ms"], 0.99, eps)
        assert abs(r["p95_ms"] - exact) / exact < 0.1  # a sanity check in value terms too


def test_series_buckets_count_exactly(log, health72):
    _, raw = log
    assert health72["every"] == "3h" and health72["range"] == (NOW - timedelta(hours=72), NOW)
    cur = _window(raw, timedelta(hours=72))
    hand = (cur.group_by(pl.col("ts").dt.truncate("3h").alias("bucket"))
            .agg(pl.len().alias("requests"), pl.col("is_error").sum().alias("errors")).sort("bucket"))
    series = health72["series"]
    assert series["bucket"].to_list() == hand["bucket"].to_list()
    assert series["requests"].to_list() == hand["requests"].to_list()
    assert series["errors"].to_list() == hand["errors"].to_list()
    assert series["throughput_rpm"].to_list() == pytest.approx([n / 180 for n in hand["requests"].to_list()])


def test_a_day_stays_exact(log):
    root, raw = log
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    svc.refresh()
    try:
        h = svc.health("fraud", "24h")
    finally:
        svc.close()
    assert "note" not in h
    cur = _window(raw, timedelta(hours=24))
    lat = pl.col("latency_ms")
    hand = cur.group_by(KEYS).agg(
        pl.len().alias("requests"), pl.col("is_error").cast(pl.Int64).sum().alias("errors"),
        pl.col("is_error").cast(pl.Float64).mean().alias("error_rate"),
        *(lat.quantile(q, interpolation="linear").alias(f"p{int(q * 100)}_ms") for q in (0.5, 0.95, 0.99))).sort(KEYS)
    got = h["table"].select(hand.columns)
    assert got.select(*KEYS, "requests", "errors").to_dicts() == \
        hand.select(*KEYS, "requests", "errors").with_columns(pl.col("requests").cast(pl.UInt32)).to_dicts()
    for a, b in zip(got.iter_rows(named=True), hand.iter_rows(named=True)):
        for c in ("error_rate", "p50_ms", "p95_ms", "p99_ms"):
            assert a[c] == pytest.approx(b[c], rel=1e-12), c
        assert b["p95_ms"] == pytest.approx(np.percentile(
            cur.filter((pl.col("version") == a["version"]) & (pl.col("variant") == a["variant"]))["latency_ms"]
            .to_numpy(), 95), rel=1e-12)


def test_the_cli_says_what_the_service_says(log, health72, capsys):
    root, _ = log
    assert main(["health", "fraud", "--config", str(root / "console.toml"), "--window", "72h",
                 "--at", NOW.isoformat() + "Z", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    want = health72["table"].to_dicts()
    assert data["table"] == json.loads(json.dumps(want))
    assert data["note"] == health72["note"] and data["rank_error"] == health72["rank_error"]
    assert [r["requests"] for r in data["series"]] == health72["series"]["requests"].to_list()
    assert [r["p95_ms"] for r in data["series"]] == health72["series"]["p95_ms"].to_list()


def test_every_environment_and_an_empty_window(log, health72):
    root, _ = log
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    later = Service(parse_file(root / "console.toml"), clock=lambda: NOW + timedelta(days=30))
    try:
        svc.refresh()
        every = svc.health("fraud", "72h", environment=None)  # the fleet logs production only
        later.refresh()
        empty = later.health("fraud", "72h")
    finally:
        svc.close()
        later.close()
    assert every["table"].to_dicts() == health72["table"].to_dicts()
    assert every["series"].to_dicts() == health72["series"].to_dicts()
    assert empty["table"].height == 0 and empty["series"].height == 0
    assert list(empty["table"].columns) == list(health72["table"].columns)


async def test_the_health_screen_says_where_its_percentiles_come_from(log):
    from console.ui.app import ConsoleApp
    from console.ui.screens import monitoring_registry  # noqa: F401 - registers the screens
    from console.ui.screens.health import HealthScreen
    from console.ui.widgets import FilterTable
    from ui_fixtures import screen_text, until

    root, _ = log
    cfg = parse_file(root / "console.toml")
    svc = Service(cfg, clock=lambda: NOW)
    svc.refresh()
    want = svc.health("fraud", "7d")
    app = ConsoleApp(cfg, service=svc, poll=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await app.push_screen(HealthScreen("fraud", "production", window="7d"))
            screen = app.screen
            await until(pilot, lambda: screen.p95 is not None and screen.p95["every"] == "6h", "the 7d health")
            await pilot.pause()
            shown = screen_text(app)
            assert "percentiles from hourly rollups, within ±" in shown and "[7d]" in shown
            t = screen.query_one("#versions", FilterTable)
            col = [c.key for c in t.columns].index("requests")
            assert [int(t.cells(k)[col].plain.replace(",", "")) for k in t.row_keys] == want["table"]["requests"].to_list()
            await pilot.press("1")  # 1h: raw rows, no note
            await until(pilot, lambda: screen.p95 is not None and screen.p95["every"] == "5m", "the 1h health")
            await pilot.pause()
            assert "hourly rollups" not in screen_text(app)
    finally:
        svc.close()


def test_a_second_read_after_late_rows_counts_them(log, tmp_path):
    """Rollup rows are kept per hour file in the process: after late rows land in a closed hour and the
    store refreshes, the same process's next read counts them (the rebuilt hour's newer file wins), equal to a
    hand count of the raw rows with them."""
    import shutil

    src, raw = log
    root = tmp_path / "ws"
    shutil.copytree(src, root, ignore=shutil.ignore_patterns("store"))
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    svc.refresh()
    try:
        first = svc.health("fraud", "72h")["table"]
        hour = START + timedelta(hours=40)
        late = raw.filter(pl.col("model") == "fraud").head(30).with_columns(
            (pl.lit(hour) + pl.duration(seconds=pl.int_range(30))).cast(pl.Datetime("us")).alias("ts"),
            (pl.lit("late-") + pl.int_range(30).cast(pl.String)).alias("request_id"))
        d = root / "logs" / f"date={hour:%Y-%m-%d}" / f"hour={hour:%H}"
        late.write_parquet(d / "part-late.parquet")
        svc.refresh()
        again = svc.health("fraud", "72h")["table"]
    finally:
        svc.close()
    cur = pl.concat([_window(raw, timedelta(hours=72)), late.select(raw.columns)])
    hand = cur.group_by(KEYS).agg(pl.len().alias("requests"), pl.col("is_error").sum().alias("errors")).sort(KEYS)
    assert again.select(*KEYS, "requests", "errors").to_dicts() == \
        hand.with_columns(pl.col("requests").cast(pl.UInt32), pl.col("errors").cast(pl.Int64)).to_dicts()
    assert int(again["requests"].sum()) == int(first["requests"].sum()) + 30


def test_the_slo_of_a_long_window_counts_its_own_windows_exactly(log, health72):
    """The SLO panel of a window read from rollups reads only the SLO's windows (1 h and 6 h), narrowed to
    the columns it needs; its burns equal a numpy count of errors and of requests slower than the objective."""
    _, raw = log
    slo = health72["slo"]
    assert slo.model == "fraud"  # `health --format json` said "slo": {"model": null, ...}
    for window, err, lat in (("1h", slo.error_short, slo.latency_short), ("6h", slo.error_long, slo.latency_long)):
        rows = _window(raw, timedelta(hours=int(window[:-1])))
        n = rows.height
        errors = int(np.sum(rows["is_error"].to_numpy()))
        slow = int(np.sum(rows["latency_ms"].to_numpy().astype(np.float64) > 300.0))  # the default p95 objective
        assert (err.window, err.requests, lat.requests) == (window, n, n)
        assert err.bad_fraction == pytest.approx(errors / n, rel=1e-12)
        assert err.burn_rate == pytest.approx(errors / n / 0.01, rel=1e-12)
        assert lat.bad_fraction == pytest.approx(slow / n, rel=1e-12)
        assert lat.burn_rate == pytest.approx(slow / n / 0.05, rel=1e-12)


def test_rows_landing_in_the_raw_edges_after_a_read_are_counted_by_the_next(log, tmp_path):
    """The raw edges (the window's partial first hour, the SLO's hours with the open hour) are kept by the
    store's files that may hold their rows: a read with no new file reads the same rows again, and a file that
    lands in an edge after a read is counted by the next one, equal to a hand count (table and SLO)."""
    import shutil

    src, raw = log
    root = tmp_path / "ws"
    shutil.copytree(src, root, ignore=shutil.ignore_patterns("store"))
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    svc.refresh()
    try:
        first = svc.health("fraud", "72h")
        svc.refresh()  # nothing new: the same numbers
        assert svc.health("fraud", "72h")["table"].to_dicts() == first["table"].to_dicts()
        lates = []
        for i, t in enumerate((NOW - timedelta(hours=72) + timedelta(minutes=5), NOW - timedelta(minutes=7))):
            late = raw.filter(pl.col("model") == "fraud").head(20).with_columns(
                (pl.lit(t) + pl.duration(seconds=pl.int_range(20))).cast(pl.Datetime("us")).alias("ts"),
                (pl.lit(f"late{i}-") + pl.int_range(20).cast(pl.String)).alias("request_id"),
                pl.lit(i == 1).alias("is_error"))
            d = root / "logs" / f"date={t:%Y-%m-%d}" / f"hour={t:%H}"
            late.write_parquet(d / "part-late.parquet")
            lates.append(late.select(raw.columns))
        svc.refresh()
        again = svc.health("fraud", "72h")
    finally:
        svc.close()
    cur = pl.concat([_window(raw, timedelta(hours=72)), *lates])
    hand = cur.group_by(KEYS).agg(pl.len().alias("requests"), pl.col("is_error").sum().alias("errors")).sort(KEYS)
    assert again["table"].select(*KEYS, "requests", "errors").to_dicts() == \
        hand.with_columns(pl.col("requests").cast(pl.UInt32), pl.col("errors").cast(pl.Int64)).to_dicts()
    hour = pl.concat([_window(raw, timedelta(hours=1)), lates[1]])
    err = again["slo"].error_short
    assert err.requests == hour.height == first["slo"].error_short.requests + 20
    assert err.bad_fraction == pytest.approx(int(np.sum(hour["is_error"].to_numpy())) / hour.height, rel=1e-12)


def test_a_month_reads_its_whole_days_from_compacted_day_rows(log, tmp_path):
    """A month's chart has day buckets, so whole days are read from their compacted day rows (one latency sketch
    per group and day, not 24): the counts per group and per day still equal a hand count, the percentiles'
    true ranks are within the stated rank error."""
    import shutil

    root, raw = log
    ws = tmp_path / "ws"
    shutil.copytree(root / "logs", ws / "logs")
    shutil.copy(root / "console.toml", ws)
    svc = Service(parse_file(ws / "console.toml"), clock=lambda: NOW)
    svc.refresh()
    try:
        month = svc.health("fraud", "30d")
        kept = [key[0] for key in svc.monitor.sketch_drift._health]
    finally:
        svc.close()
    assert month["every"] == "1d" and any(p.parent.name == "daily" for p in kept)
    cur = _window(raw, timedelta(days=30))
    hand = cur.group_by(KEYS).agg(pl.len().alias("requests"), pl.col("is_error").sum().alias("errors")).sort(KEYS)
    assert month["table"].select(*KEYS, "requests", "errors").to_dicts() == \
        hand.with_columns(pl.col("requests").cast(pl.UInt32), pl.col("errors").cast(pl.Int64)).to_dicts()
    days = cur.group_by(pl.col("ts").dt.truncate("1d").alias("bucket")).agg(pl.len().alias("requests")).sort("bucket")
    assert month["series"]["requests"].to_list() == days["requests"].to_list()
    eps = month["rank_error"]
    for r in month["table"].iter_rows(named=True):
        lat = cur.filter((pl.col("version") == r["version"]) & (pl.col("variant") == r["variant"]))["latency_ms"]
        assert _rank_ok(lat.to_numpy(), r["p95_ms"], 0.95, eps) and _rank_ok(lat.to_numpy(), r["p50_ms"], 0.50, eps)
