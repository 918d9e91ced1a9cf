"""Cost of long windows from the hourly rollups, through the real Service and CLI: the month's spend, the
budget's share and projection, today and the last 7 days, cost per 1k requests per version and prompt
version, and the token totals equal the raw computation on the same store (to float rounding) and a hand
count over the raw Parquet; the hourly view and the spike are the raw ones; the output says where its
numbers come from; and rollup files written before the cost columns existed are rebuilt, not misread.

The log is an LLM fleet over 9 days as Hive Parquet: some requests log a cost, some log nothing (priced from
tokens, cached tokens apart, plus a replica share per clock hour), some NaN or infinity (the store sets
those rows aside as bad records, so the oracle drops them too), two versions, two
prompt versions and requests without one, a staging environment beside production. The clock sits
mid-hour, so the history's start, now - 7 d and now - 24 h cut hours that are read raw.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from console import store_rollups as ro
from console.cli import main
from console.config import parse_file
from console.service import Service
from rollup_fleet import write_hive

START = datetime(2026, 6, 30, 18)
NOW = datetime(2026, 7, 9, 14, 23, 17)
PRICES = dict(input_per_1m=2.0, output_per_1m=8.0, cached_per_1m=0.5, replica_hour_usd=3.0, replicas=2)
BUDGET = 40.0


def llm_fleet(seed: int = 5, per_hour: int = 120) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    hours = int((NOW - START).total_seconds() // 3600) + 1
    n = hours * per_hour
    ts = START + pl.Series(np.sort(rng.integers(0, hours * 3600 * 10**6, n))).cast(pl.Duration("us"))
    cost = rng.random(n) / 50
    kind = rng.choice(["logged", "nan", "inf", "null"], n, p=[0.4, 0.1, 0.05, 0.45])
    cost = np.where(kind == "logged", cost, np.where(kind == "nan", np.nan, np.where(kind == "inf", np.inf, 0.0)))
    inp = rng.integers(50, 2000, n)
    df = pl.DataFrame({
        "ts": ts, "model": "chat", "version": rng.choice(["1", "2"], n),
        "request_id": [f"chat-{i}" for i in range(n)],
        "environment": rng.choice(["production", "staging"], n, p=[0.85, 0.15]),
        "variant": rng.choice(["champion", "challenger"], n, p=[0.9, 0.1]),
        "prediction": "ok", "score": rng.random(n), "latency_ms": np.round(rng.lognormal(5, 0.4, n), 1),
        "is_error": rng.random(n) < 0.02,
        "input_tokens": inp, "output_tokens": rng.integers(10, 800, n),
        "cached_tokens": np.minimum(rng.integers(0, 2500, n), inp + 300),  # sometimes more than the input
        "cost_usd": cost,
        "prompt_version": rng.choice(["p1", "p2", ""], n, p=[0.5, 0.4, 0.1]),
        "refused": rng.random(n) < 0.03, "guardrail_blocked": rng.random(n) < 0.01,
        "factuality": rng.random(n),
    })
    return df.with_columns(
        pl.when(pl.Series(kind) == "null").then(None).otherwise(pl.col("cost_usd")).alias("cost_usd"),
        pl.when(pl.col("prompt_version") == "").then(None).otherwise(pl.col("prompt_version")).alias("prompt_version"))


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> tuple[Path, pl.DataFrame]:
    root = tmp_path_factory.mktemp("rollup-cost")
    preds = llm_fleet()
    write_hive(preds, root)
    prices = "".join(f"{k} = {v}\n" for k, v in PRICES.items())
    (root / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        f'[models.chat]\ntask = "llm"\nbudget_usd_month = {BUDGET}\n[models.chat.prices]\n{prices}',
        encoding="utf-8")
    return root, preds


def _service(root: Path) -> Service:
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW)
    svc.refresh()
    return svc


@pytest.fixture(scope="module")
def both(log):
    root, _ = log
    svc = _service(root)
    try:
        raw = svc.cost("chat", rollups=False)
        rolled = svc.cost("chat", rollups=True)
        built = list(svc.monitor.sketch_drift.built)
    finally:
        svc.close()
    return raw, rolled, built


def _hand_cost(df: pl.DataFrame) -> pl.DataFrame:
    """Each request's cost by the module docstring's rule, row by row in numpy (not the console's code)."""
    df = df.filter(pl.col("cost_usd").is_null() | pl.col("cost_usd").is_finite())  # what the store keeps
    p = PRICES
    cost = df["cost_usd"].fill_null(np.nan).to_numpy()
    logged = np.isfinite(cost)
    inp, out, cached = (df[c].to_numpy().astype(float) for c in ("input_tokens", "output_tokens", "cached_tokens"))
    tokens = (np.maximum(inp - cached, 0) * p["input_per_1m"] + cached * p["cached_per_1m"]
              + out * p["output_per_1m"]) / 1e6
    hour = df["ts"].dt.truncate("1h")
    per_hour = hour.to_frame("h").group_by("h").len()
    n = hour.to_frame("h").join(per_hour, on="h", how="left")["len"].to_numpy()
    share = p["replica_hour_usd"] * p["replicas"] / n
    return df.with_columns(pl.Series("c", np.where(logged, cost, tokens + share)))


def test_spend_budget_and_per_1k_equal_the_raw_path_and_a_hand_count(log, both):
    _, preds = log
    raw, rolled, built = both
    assert built, "the rollups were built by the console before reading"
    assert rolled["source"] == "rollups" and raw["source"] == "raw rows"
    assert "from hourly rollups" in rolled["note"]
    # the read: production rows of (month start, now]; the replica share splits each clock hour over them
    month = datetime(2026, 7, 1)
    read = preds.filter((pl.col("environment") == "production") & (pl.col("ts") > month) & (pl.col("ts") <= NOW))
    hand = _hand_cost(read)
    read = read.filter(pl.col("cost_usd").is_null() | pl.col("cost_usd").is_finite())
    spent = hand["c"].sum()
    assert rolled["budget"].spent_usd == pytest.approx(spent, rel=1e-9)
    assert raw["budget"].spent_usd == pytest.approx(spent, rel=1e-9)
    for key in ("spent_usd", "share_used", "elapsed_fraction", "projected_usd", "projected_share"):
        assert getattr(rolled["budget"], key) == pytest.approx(getattr(raw["budget"], key), rel=1e-9), key
    # the JSON names whose budget and spike these are (it said "model": null on both paths)
    for view in (raw, rolled):
        assert view["budget"].model == view["spike"].model == "chat"
    assert rolled["budget"].share_used == pytest.approx(spent / BUDGET, rel=1e-9)
    pace = hand.filter(pl.col("ts") > NOW - timedelta(hours=24))["c"].sum()
    assert rolled["budget"].projected_usd == pytest.approx(spent + pace * (datetime(2026, 8, 1) - NOW) /
                                                           timedelta(hours=24), rel=1e-9)
    (w,), (rw,) = rolled["windows"], raw["windows"]
    week = hand.filter(pl.col("ts") > NOW - timedelta(days=7))
    today = hand.filter(pl.col("ts") >= datetime(2026, 7, 9))
    assert (w.week_requests, w.today_requests) == (rw.week_requests, rw.today_requests) == (week.height, today.height)
    assert w.week_usd == pytest.approx(week["c"].sum(), rel=1e-9) and w.today_usd == pytest.approx(today["c"].sum(),
                                                                                                     rel=1e-9)
    assert w.week_per_1k == pytest.approx(rw.week_per_1k, rel=1e-9)
    # per 1k requests by version and prompt version over the history (the last 7 days)
    want = (week.group_by("version", "prompt_version").agg(pl.len().alias("requests"), pl.col("c").sum())
            .sort("version", "prompt_version", nulls_last=True))
    got, got_raw = rolled["per_1k"], raw["per_1k"]
    assert got.select("version", "prompt_version", "requests").to_dicts() == \
        want.select("version", "prompt_version", "requests").with_columns(pl.col("requests").cast(pl.Int64)).to_dicts()
    assert got.select("version", "prompt_version").to_dicts() == got_raw.select("version", "prompt_version").to_dicts()
    assert got["requests"].to_list() == got_raw["requests"].to_list()
    assert got["cost_usd"].to_list() == pytest.approx(want["c"].to_list(), rel=1e-9)
    assert got["cost_per_1k"].to_list() == pytest.approx(got_raw["cost_per_1k"].to_list(), rel=1e-9)
    # token totals over the same range as per 1k (no --window: the history, the last 7 days)
    tokens = read.filter(pl.col("ts") > NOW - timedelta(days=7))
    assert rolled["range"] == raw["range"] == (NOW - timedelta(days=7), NOW)
    assert rolled["tokens"] == raw["tokens"] == {"input_tokens": int(tokens["input_tokens"].sum()),
                                                 "output_tokens": int(tokens["output_tokens"].sum())}


def test_the_hourly_view_the_spike_rule_and_llm_usage_are_the_raw_ones(both):
    raw, rolled, _ = both
    assert rolled["hourly"]["bucket"].to_list() == raw["hourly"]["bucket"].to_list()
    assert rolled["hourly"]["cost_usd"].to_list() == pytest.approx(raw["hourly"]["cost_usd"].to_list(), rel=1e-9)
    assert rolled["spike"].rate_usd_per_hour == pytest.approx(raw["spike"].rate_usd_per_hour, rel=1e-9)
    assert len(rolled["llm"]) == len(raw["llm"]) > 0  # a narrower read of the same rows: sums in another order
    for a, b in zip(rolled["llm"], raw["llm"]):
        assert a.to_dict() == pytest.approx(b.to_dict(), rel=1e-12)
    (rule, ev), (rule_raw, ev_raw) = rolled["rule_spike"], raw["rule_spike"]
    assert rule == rule_raw and (ev is None) == (ev_raw is None)
    if ev is not None:
        assert ev.value == pytest.approx(ev_raw.value, rel=1e-9) and ev.note == ev_raw.note


def test_every_environment(log):
    root, preds = log
    svc = _service(root)
    try:
        raw = svc.cost("chat", environment=None, rollups=False)
        rolled = svc.cost("chat", environment=None, rollups=True)
    finally:
        svc.close()
    assert rolled["budget"].spent_usd == pytest.approx(raw["budget"].spent_usd, rel=1e-9)
    read = preds.filter((pl.col("ts") > datetime(2026, 7, 1)) & (pl.col("ts") <= NOW))
    assert rolled["budget"].spent_usd == pytest.approx(_hand_cost(read)["c"].sum(), rel=1e-9)
    assert rolled["per_1k"]["requests"].to_list() == raw["per_1k"]["requests"].to_list()


def test_a_small_case_by_hand(tmp_path):
    """Three closed hours and an open one, six requests: every figure counted on paper."""
    t0 = datetime(2026, 7, 9, 10)
    rows = pl.DataFrame({
        "ts": [t0 + timedelta(minutes=5), t0 + timedelta(minutes=50), t0 + timedelta(hours=1, minutes=1),
               t0 + timedelta(hours=2, minutes=30), t0 + timedelta(hours=2, minutes=31),
               t0 + timedelta(hours=4, minutes=10)],
        "model": "chat", "version": ["1", "1", "2", "2", "1", "2"], "request_id": [f"r{i}" for i in range(6)],
        "environment": "production", "variant": "champion", "prediction": "ok",
        "latency_ms": 10.0, "is_error": False,
        "input_tokens": [1000, 1000, 0, 2000, 500, 1000], "output_tokens": [100, 0, 0, 1000, 0, 0],
        "cached_tokens": [400, 1500, 0, 0, 0, 0],
        "cost_usd": [None, 0.25, None, None, 1.0, None],
        "prompt_version": ["a", "a", None, "b", "a", "b"],
    })
    write_hive(rows, tmp_path)
    (tmp_path / "console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\nformat = "parquet"\n'
        '[models.chat]\ntask = "llm"\nbudget_usd_month = 100\n[models.chat.prices]\ninput_per_1m = 1000\n'
        'output_per_1m = 2000\ncached_per_1m = 100\nreplica_hour_usd = 1.5\nreplicas = 2\n', encoding="utf-8")
    now = t0 + timedelta(hours=4, minutes=30)
    svc = Service(parse_file(tmp_path / "console.toml"), clock=lambda: now)
    svc.refresh()
    try:
        c = svc.cost("chat", rollups=True)
    finally:
        svc.close()
    # hour 10: r0 = 600*1000/1e6 + 400*100/1e6 + 100*2000/1e6 + 3/2 = 0.6 + 0.04 + 0.2 + 1.5; r1 logged 0.25
    # hour 11: r2 = 0 tokens + 3/1 = 3.0
    # hour 12: r3 = 2.0 + 2.0 + 3/2 = 5.5; r4 logged 1.0
    # hour 14 (open, raw): r5 = 1.0 + 3/1 = 4.0
    r = [2.34, 0.25, 3.0, 5.5, 1.0, 4.0]
    assert c["source"] == "rollups"
    assert c["budget"].spent_usd == pytest.approx(sum(r))
    (w,) = c["windows"]
    assert (w.today_requests, w.today_usd) == (6, pytest.approx(sum(r)))
    per = [(x["version"], x["prompt_version"], x["requests"], x["cost_usd"]) for x in c["per_1k"].to_dicts()]
    assert per == [("1", "a", 3, pytest.approx(r[0] + r[1] + r[4])), ("2", "b", 2, pytest.approx(r[3] + r[5])),
                   ("2", None, 1, pytest.approx(r[2]))]
    assert c["tokens"] == {"input_tokens": 5500, "output_tokens": 1100}


def test_the_cli_says_where_the_numbers_come_from(log, both, capsys, monkeypatch):
    root, _ = log
    large = root / "as-large.toml"  # a large fleet, as far as the choice goes
    large.write_text((root / "console.toml").read_text(encoding="utf-8") + "\n[rollups]\nmin_rows = 1\n",
                     encoding="utf-8")
    assert main(["cost", "chat", "--config", str(large), "--at", NOW.isoformat() + "Z",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # the CLI's view at NOW is in the past (the wall clock is later): the hour NOW falls in has closed and is priced
    # whole (analytics.cost.priced_until), as a service whose wall clock is past it prices it
    svc = Service(parse_file(root / "console.toml"), clock=lambda: NOW + timedelta(days=30))
    try:
        svc.refresh()
        svc.set_at(NOW)
        rolled = svc.cost("chat", rollups=True)
    finally:
        svc.close()
    assert data["source"] == "rollups" and data["note"] == rolled["note"]
    assert data["budget"]["spent_usd"] == pytest.approx(rolled["budget"].spent_usd, rel=1e-12)
    assert data["budget"]["model"] == data["spike"]["model"] == "chat"
    assert main(["cost", "chat", "--config", str(large), "--at", NOW.isoformat() + "Z"]) == 0
    text = capsys.readouterr().out
    assert "source: rollups" in text and "from hourly rollups" in text


def test_hours_written_before_the_cost_columns_are_rebuilt(log, both):
    root, _ = log
    _, rolled, _ = both
    rollups = root / "store" / "rollups"
    old = [f for f in ro.files(rollups, "chat")]
    assert old
    for f in old:  # as a build from before this change wrote them
        t = pq.read_table(f.path)
        pq.write_table(t.drop_columns([c for c in ro.ADDED if c in t.column_names]), f.path)
    svc = _service(root)
    try:
        again = svc.cost("chat", rollups=True)
        rebuilt = list(svc.monitor.sketch_drift.built)
    finally:
        svc.close()
    assert rebuilt  # the thin hours were built again, then read
    assert again["budget"].spent_usd == pytest.approx(rolled["budget"].spent_usd, rel=1e-12)
    assert again["per_1k"].to_dicts() == rolled["per_1k"].to_dicts()


async def test_the_cost_screen_says_where_its_numbers_come_from(log, both):
    from console.ui.app import ConsoleApp
    from console.ui.screens import monitoring_registry  # noqa: F401 - registers the screens
    from console.ui.screens.cost import CostScreen
    from console.ui.widgets import FilterTable
    from ui_fixtures import screen_text, until

    root, _ = log
    _, rolled, _ = both
    cfg = parse_file(root / "console.toml")
    svc = Service(cfg, clock=lambda: NOW)
    svc.refresh()
    svc.monitor.rollups_after = 1  # a large fleet, as far as the choice goes
    app = ConsoleApp(cfg, service=svc, poll=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await app.push_screen(CostScreen("chat", "production"))
            await until(pilot, lambda: "from hourly rollups" in screen_text(app), "the cost screen's source line")
            t = app.screen.query_one("#per1k", FilterTable)
            col = [c.key for c in t.columns].index("requests")
            shown = [int(t.cells(k)[col].plain.replace(",", "")) for k in t.row_keys]
            assert sorted(shown) == sorted(rolled["per_1k"]["requests"].to_list())
            await app.workers.wait_for_complete()
    finally:
        import asyncio

        # a screen's fetch still running in the loop's executor (not a Textual worker) ends before the store closes
        await asyncio.get_running_loop().shutdown_default_executor()
        svc.close()


def test_the_hourly_view_follows_a_moving_clock_from_kept_hours(log):
    """A live console's clock moves at each refresh, and every now-aligned hour of the chart splits two clock
    hours differently: the chart is still the raw path's (to float rounding) at each new time, from the clock
    hours kept as running sums, with no raw read while no file changed."""
    root, _ = log
    clock = {"now": NOW}
    svc = Service(parse_file(root / "console.toml"), clock=lambda: clock["now"])
    svc.refresh()
    try:
        svc.cost("chat", rollups=True)
        drift = svc.monitor.sketch_drift
        reads = len(drift.raw_reads)
        for minutes in (7, 31, 36.5):
            clock["now"] = NOW + timedelta(minutes=minutes)
            rolled, raw = svc.cost("chat", rollups=True), svc.cost("chat", rollups=False)
            assert rolled["hourly"]["bucket"].to_list() == raw["hourly"]["bucket"].to_list()
            assert rolled["hourly"]["cost_usd"].to_list() == pytest.approx(raw["hourly"]["cost_usd"].to_list(),
                                                                           rel=1e-9)
            assert rolled["spike"].rate_usd_per_hour == pytest.approx(raw["spike"].rate_usd_per_hour, rel=1e-9)
        assert len(drift.raw_reads) == reads
    finally:
        svc.close()


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_the_overviews_cost_today_from_rollups_equals_a_hand_count(log, environment, monkeypatch):
    """The Overview's COST TODAY cell read every raw row since midnight (1.1M a model at 100M rows: 1 s of a
    `snapshot`); past `[rollups] min_rows` it is now the day's closed hours from the rollups plus the open hour's
    raw rows, and equals the hand count of the day's requests; under it, the raw read gives the same."""
    root, preds = log
    hand = _hand_cost(preds.filter((pl.col("environment") == environment) & (pl.col("ts") >= datetime(2026, 7, 9))
                                   & (pl.col("ts") <= NOW)))["c"].sum()
    from console import rollup_cost

    asked = []
    real = rollup_cost.today
    monkeypatch.setattr(rollup_cost, "today", lambda *a: asked.append(a[1:]) or real(*a))
    svc = _service(root)
    try:
        mon = svc.monitor
        mon.rollups_after = 100  # the day's rows are many: the rollups are read
        assert mon.cost_today("chat", environment) == pytest.approx(hand, rel=1e-9)
        assert asked == [("chat", environment)]
        mon.rollups_after = 10**9  # a small day: its raw rows
        assert mon.cost_today("chat", environment) == pytest.approx(hand, rel=1e-9)
        assert len(asked) == 1
    finally:
        svc.close()


def test_cost_today_falls_back_to_raw_rows_when_the_rollups_cannot_be_read(log, monkeypatch):
    """A rollup folder that cannot be built or read (a full disk, a damaged file) must not blank the cell: the
    day's raw rows still give the figure."""
    root, preds = log
    hand = _hand_cost(preds.filter((pl.col("environment") == "production") & (pl.col("ts") >= datetime(2026, 7, 9))
                                   & (pl.col("ts") <= NOW)))["c"].sum()
    from console import rollup_cost

    def broken(*a):
        raise OSError("rollup folder unreadable")

    monkeypatch.setattr(rollup_cost, "today", broken)
    svc = _service(root)
    try:
        svc.monitor.rollups_after = 100
        assert svc.monitor.cost_today("chat", "production") == pytest.approx(hand, rel=1e-9)
    finally:
        svc.close()


@pytest.mark.parametrize("rolled", [False, True])
def test_the_weeks_spend_does_not_depend_on_how_the_window_is_written(log, capsys, rolled):
    """`cost --window 2026-07-03` read rows from the month's start at the earliest, so "the last 7 days" lost the
    last days of June (the log starts on June 30); `--from/--to` an hour likewise. Every way of writing a window that
    ends at one time gives the week, today and the forecast of that time; the week's requests are a hand count."""
    root, preds = log
    config = root / "console.toml"
    if rolled:
        config = root / "as-large.toml"
        config.write_text((root / "console.toml").read_text(encoding="utf-8") + "\n[rollups]\nmin_rows = 1\n",
                          encoding="utf-8")
    at = datetime(2026, 7, 3, 23, 59, 59, 999999)
    got = []
    for window in (["--window", "2026-07-03"], ["--window", "1d", "--at", at.isoformat() + "Z"],
                   ["--from", "2026-07-03T23:00:00Z", "--to", "2026-07-04T00:00:00Z"]):
        assert main(["cost", "chat", "--config", str(config), *window, "--format", "json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["to"].startswith("2026-07-03T23:59:59.999")
        got.append((data["windows"][0], data["budget"]))
    week = preds.filter((pl.col("environment") == "production") & (pl.col("ts") > at - timedelta(days=7))
                        & (pl.col("ts") <= at) & (pl.col("cost_usd").is_null() | pl.col("cost_usd").is_finite()))
    for w, b in got:
        assert w["week_requests"] == week.height
        assert w["week_usd"] == pytest.approx(got[1][0]["week_usd"], rel=1e-9)
        assert b["projected_usd"] == pytest.approx(got[1][1]["projected_usd"], rel=1e-9)


@pytest.mark.parametrize("min_rows", [200_000, 1_000])  # raw rows, then the hourly rollups
def test_a_cost_spike_mid_hour_is_detected_after_its_onset_with_its_prompt_suspected(tmp_path, capsys, min_rows):
    """Thirtieth session's LLM probe: a prompt change at 10:30 tripled the cost per request; from rollups the
    incident's onset was 10:59:59.999999 and its detection 10:00, before its first p2 row, and the prompt change
    was no suspect (the hour's two blocks each span the whole hour). Both paths: onset <= the first p2 row <= the
    detection, and p2 suspected."""
    import json

    from console import cli

    change = datetime(2026, 11, 25, 10, 30)
    rows, t = [], datetime(2026, 11, 23)
    while t < datetime(2026, 11, 26):
        after = t >= change
        rows.append({"ts": f"{t + timedelta(seconds=30):%Y-%m-%dT%H:%M:%S}Z", "model": "chat", "version": "1",
                     "request_id": f"x{len(rows)}", "prompt_version": "p2" if after else "p1", "prediction": "x",
                     "latency_ms": 100, "input_tokens": 4000 if after else 1000, "output_tokens": 200})
        t += timedelta(minutes=1)
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = tmp_path / "console.toml"
    config.write_text(f'[store]\npath = "store"\n[rollups]\nmin_rows = {min_rows}\n[[logs]]\nkind = "predictions"\n'
                      'path = "preds.jsonl"\n[models.chat]\ntask = "llm"\n[models.chat.prices]\ninput_per_1m = 2.0\n'
                      'output_per_1m = 10.0\n')
    cli.main(["--config", str(config), "--at", "2026-11-25T20:00Z", "check", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    (spike,) = [i for i in out["incidents"] if "spike" in i["rule"]]
    first = (change + timedelta(seconds=30)).isoformat() + "Z"
    assert spike["state"] == "firing" and spike["onset"] <= first <= spike["detected"], spike
    assert any("prompt_version p2" in s["detail"] for s in spike["suspects"]), spike["suspects"]
