"""Cost, budgets and spikes checked by hand and against numpy."""

import json
import math
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from console.analytics import cost as c
from console.config import Prices

NOW = datetime(2026, 3, 16, 0, 0)  # 15 of March's 31 days elapsed


def frame(rows):
    base = {"model": "m", "version": "1", "cost_usd": None, "input_tokens": 0, "output_tokens": 0}
    return pl.DataFrame([{**base, **r} for r in rows],
                        schema_overrides={"cost_usd": pl.Float64, "input_tokens": pl.Int64,
                                          "output_tokens": pl.Int64, "ts": pl.Datetime("us")})


def test_logged_cost_wins_and_computed_cost_by_hand():
    prices = Prices(input_per_1m=2.0, output_per_1m=8.0, cached_per_1m=0.5, replica_hour_usd=3.0, replicas=2)
    h = NOW - timedelta(hours=3)
    df = frame([
        {"ts": h + timedelta(minutes=1), "cost_usd": 0.25, "input_tokens": 10**6},
        {"ts": h + timedelta(minutes=2), "cost_usd": 0.0, "input_tokens": 10**6},  # a logged zero is kept
        {"ts": h + timedelta(minutes=3), "input_tokens": 1000, "output_tokens": 500, "cached_tokens": 400},
        {"ts": h + timedelta(minutes=4), "input_tokens": None, "output_tokens": None, "cached_tokens": None},
        {"ts": h + timedelta(hours=1, minutes=5), "input_tokens": 2000},  # alone in the next hour
    ])
    got = c.with_cost(df, prices).get_column("cost").to_list()
    share = 3.0 * 2 / 4  # 4 requests in the first hour share $6 of compute
    assert got[0] == 0.25 and got[1] == 0.0
    assert got[2] == pytest.approx((600 * 2.0 + 400 * 0.5 + 500 * 8.0) / 1e6 + share)
    assert got[3] == pytest.approx(share)
    assert got[4] == pytest.approx(2000 * 2.0 / 1e6 + 6.0)


def test_prices_by_model_and_unknown_model():
    df = frame([{"ts": NOW - timedelta(minutes=5), "model": "a", "input_tokens": 10**6},
                {"ts": NOW - timedelta(minutes=5), "model": "b", "input_tokens": 10**6}])
    got = c.with_cost(df, {"a": Prices(input_per_1m=3.0)}).get_column("cost").to_list()
    assert got == [pytest.approx(3.0), 0.0]


def test_cost_per_1k_by_model_version_prompt():
    rows = ([{"ts": NOW - timedelta(minutes=i + 1), "cost_usd": 0.002, "prompt_version": "p1"} for i in range(3)]
            + [{"ts": NOW - timedelta(minutes=i + 1), "cost_usd": 0.010, "prompt_version": "p2"} for i in range(2)]
            + [{"ts": NOW - timedelta(minutes=1), "version": "2", "cost_usd": 0.0, "prompt_version": "p1"}])
    out = c.cost_per_1k(c.with_cost(frame(rows), Prices()))
    got = {(r["version"], r["prompt_version"]): (r["requests"], r["cost_per_1k"]) for r in out.iter_rows(named=True)}
    assert got[("1", "p1")] == (3, pytest.approx(2.0))
    assert got[("1", "p2")] == (2, pytest.approx(10.0))
    assert got[("2", "p1")] == (1, 0.0)
    # without a prompt_version column the grouping simply omits it
    out = c.cost_per_1k(c.with_cost(frame(rows).drop("prompt_version"), Prices()))
    assert out.columns == ["model", "version", "requests", "cost_usd", "cost_per_1k"]


def test_today_and_last_seven_days():
    now = datetime(2026, 3, 16, 10, 0)
    rows = [{"ts": now - timedelta(hours=1), "cost_usd": 1.0},       # today
            {"ts": now - timedelta(hours=11), "cost_usd": 2.0},      # yesterday, within 7 days
            {"ts": now - timedelta(days=6, hours=23), "cost_usd": 4.0},
            {"ts": now - timedelta(days=8), "cost_usd": 100.0}]      # too old
    [w] = c.cost_windows(c.with_cost(frame(rows), Prices()), now)
    assert (w.today_usd, w.today_requests, w.today_per_1k) == (1.0, 1, 1000.0)
    assert (w.week_usd, w.week_requests) == (7.0, 3)
    assert w.week_per_1k == pytest.approx(7000 / 3)
    json.dumps(w.to_dict())


def test_budget_share_and_projection():
    rows = [{"ts": datetime(2026, 3, d, 12), "cost_usd": 10.0} for d in range(1, 11)]
    rows.append({"ts": datetime(2026, 2, 27), "cost_usd": 500.0})  # last month does not count
    st = c.budget_status(c.with_cost(frame(rows), Prices()), NOW, 400.0)
    assert st.spent_usd == pytest.approx(100.0)
    assert st.share_used == pytest.approx(0.25)
    assert st.elapsed_fraction == pytest.approx(15 / 31)
    assert st.projected_usd == pytest.approx(100.0 * 31 / 15)
    assert st.projected_share == pytest.approx(100.0 * 31 / 15 / 400.0)
    assert c.budget_status(c.with_cost(frame(rows), Prices()), NOW, None).share_used is None
    # the first instant of a month has no elapsed time to project from
    assert c.budget_status(c.with_cost(frame(rows), Prices()), datetime(2026, 3, 1), 400.0).projected_usd is None


def test_spike_against_median_of_previous_24_hours_and_onset():
    rng = np.random.default_rng(2)
    hourly = list(rng.uniform(1.0, 2.0, 30))  # oldest first; the last entry is the latest hour
    hourly[-2:] = [20.0, 25.0]                  # a spike for the last two hours
    rows = [{"ts": NOW - timedelta(hours=len(hourly) - 1 - i, minutes=30), "cost_usd": v}
            for i, v in enumerate(hourly)]
    costed = c.with_cost(frame(rows), Prices())
    sp = c.cost_spike(costed, NOW, factor=3.0)
    baseline = float(np.median(hourly[-25:-1]))
    assert sp.rate_usd_per_hour == pytest.approx(25.0)
    assert sp.baseline_usd_per_hour == pytest.approx(baseline)
    assert sp.ratio == pytest.approx(25.0 / baseline)
    assert sp.spiking
    assert sp.onset == NOW - timedelta(hours=2)  # the first spiking hour covers (now-2h, now-1h]
    series = c.hourly_cost_series(costed, NOW, hours=3)
    assert series.get_column("baseline")[1] == pytest.approx(float(np.median(hourly[-26:-2])))
    assert series.get_column("spiking").to_list() == [False, True, True]
    assert not c.cost_spike(costed, NOW, factor=100.0).spiking


def test_spike_without_history_or_cost():
    costed = c.with_cost(frame([{"ts": NOW - timedelta(minutes=5), "cost_usd": 0.0}]), Prices())
    sp = c.cost_spike(costed, NOW)
    assert sp.rate_usd_per_hour == 0.0 and sp.ratio is None and not sp.spiking and sp.onset is None
    empty = c.with_cost(frame([{"ts": NOW}]).clear(), Prices())
    assert c.cost_windows(empty, NOW) == []
    assert c.cost_spike(empty, NOW).baseline_usd_per_hour == 0.0


def test_llm_usage_per_prompt_version():
    rng = np.random.default_rng(4)
    n = 60
    pv = rng.choice(["p1", "p2"], n)
    df = pl.DataFrame({"ts": [NOW - timedelta(minutes=1)] * n, "model": "chat", "prompt_version": pv,
                       "input_tokens": rng.integers(10, 500, n), "output_tokens": rng.integers(10, 900, n),
                       "refused": rng.random(n) < 0.2, "guardrail_blocked": rng.random(n) < 0.1,
                       "factuality": rng.random(n)})
    usage = {u.prompt_version: u for u in c.llm_usage(df)}
    for v in ("p1", "p2"):
        sub = df.filter(pl.col("prompt_version") == v)
        assert usage[v].requests == sub.height
        assert usage[v].input_tokens_mean == pytest.approx(sub.get_column("input_tokens").to_numpy().mean())
        assert usage[v].output_tokens_mean == pytest.approx(sub.get_column("output_tokens").to_numpy().mean())
        assert usage[v].refusal_rate == pytest.approx(sub.get_column("refused").to_numpy().mean())
        assert usage[v].guardrail_blocks == sub.get_column("guardrail_blocked").to_numpy().sum()
        assert usage[v].factuality_mean == pytest.approx(sub.get_column("factuality").to_numpy().mean())
    # a classic model has none of the LLM columns
    [u] = c.llm_usage(df.select("ts", "model"))
    assert u.requests == n and u.refusal_rate is None and u.guardrail_blocks == 0


def test_todays_cost_is_the_same_sum_in_every_run():
    """The Overview's cost today (`overview_window.sql`) was a parallel sum of doubles, added in thread order: two
    runs over one store printed 20.73959000000005 and 20.73959000000014. Summed as decimals it is one number, within
    1e-6 of the exact sum (math.fsum) of the same 2.5M values, and the number `cost` prints (both to 1e-9 USD)."""
    import math
    from datetime import datetime

    import duckdb

    from console.sql import load_query

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("CREATE TABLE predictions AS SELECT TIMESTAMP '2026-11-30 00:00:00' + i * INTERVAL 30 MILLISECOND AS ts,"
                " 'm' AS model, 'production' AS environment, 'champion' AS variant,"
                " (hash(i) % 10000) / 1e6 * 1.37 AS cost_usd,"
                " 10.0::DOUBLE AS latency_ms, false AS is_error FROM range(2500000) t(i)")
    now = datetime(2026, 11, 30, 20)
    runs = {con.execute(load_query("overview_window"), {"now": now}).fetchall()[0][3] for _ in range(6)}
    assert len(runs) == 1
    values = [v for (v,) in con.execute("SELECT cost_usd FROM predictions WHERE ts <= $now", {"now": now}).fetchall()]
    overview = runs.pop()
    assert abs(overview - math.fsum(values)) < 1e-6
    # and `cost` (analytics.cost.usd_sum, over the same rows in another order) prints the same number
    from console.analytics.cost import usd_sum

    assert pl.DataFrame({"cost": values[::-1]}).select(usd_sum()).item() == overview


def test_cost_sums_do_not_depend_on_row_order():
    """Rows reach the cost functions in scan order, which changes between runs; `cost eta` printed
    5.905796941665303 in one run and 5.9057969416653116 in the next over one store. Every sum over the same rows
    in another order is the same double, and within 1e-12 (relative) of math.fsum."""
    rng = np.random.default_rng(3)
    n = 200_000
    now = datetime(2026, 7, 9, 12)
    ts = [now - timedelta(seconds=int(s)) for s in rng.integers(0, 6 * 86400, n)]
    usd = np.round(rng.lognormal(-6, 2, n), 9)
    base = pl.DataFrame({"ts": ts, "model": rng.choice(["a", "b"], n), "version": rng.choice(["1", "2"], n),
                         c.COST: usd})

    def sums(frame):
        return (c.cost_windows(frame, now), c.window_spend(frame, now - timedelta(days=3), now),
                c.cost_per_1k(frame).rows(), c.budget_status(frame, now, 100.0, model="a", pace=c.PACE))

    first = sums(base)
    for seed in range(4):
        assert sums(base.sample(fraction=1.0, shuffle=True, seed=seed)) == first
    week = {w.model: w.week_usd for w in first[0]}
    for m in ("a", "b"):
        exact = math.fsum(base.filter(pl.col("model") == m)[c.COST].to_list())
        assert math.isclose(week[m], exact, rel_tol=1e-12)


def test_compute_is_shared_over_an_hours_requests_so_adjacent_windows_add_up_at_one_time():
    """The README's cost model (QA pass 4 asked whether a window ending mid-hour should be prorated): an hour's
    replica cost is split over that hour's requests, so windows read at one time add up to their union, checked
    against a hand computation; the open hour is charged its whole replica hour over the requests so far, so a
    window inside it is provisional (the same half hour costs less once the hour has closed and filled)."""
    prices = Prices(replica_hour_usd=0.4, replicas=2)  # $0.80 an hour of compute
    h = datetime(2026, 3, 16, 9, 0)
    minutes = [5, 10, 20, 25, 31, 40, 45, 50, 55]  # 4 requests in the first half hour, 5 in the second
    rows = frame([{"ts": h + timedelta(minutes=m)} for m in minutes])
    at_ten = c.with_cost(rows, prices)
    first = c.window_spend(at_ten, h, h + timedelta(minutes=30)).usd
    second = c.window_spend(at_ten, h + timedelta(minutes=30), h + timedelta(hours=1)).usd
    whole = c.window_spend(at_ten, h, h + timedelta(hours=1)).usd
    assert first == pytest.approx(0.8 * 4 / 9) and second == pytest.approx(0.8 * 5 / 9)
    assert first + second == pytest.approx(whole) and whole == pytest.approx(0.8)
    at_half_past = c.with_cost(rows.filter(pl.col("ts") <= h + timedelta(minutes=30)), prices)  # read at 09:30
    assert c.window_spend(at_half_past, h, h + timedelta(minutes=30)).usd == pytest.approx(0.8)  # provisional


def test_the_budget_rules_evidence_keeps_cents_below_100_dollars():
    """A $1 budget's evidence read "projected $3 of $1 ($0 spent ...)" with $0.28 spent (thirtieth session's LLM
    probe): cents below $100, whole dollars above."""
    from console.analytics.cost import BudgetStatus, budget_note

    small = BudgetStatus("m", 1.0, 0.28485, 0.28, 0.3, 2.9661, 2.97)
    assert budget_note(small, 1.0) == "projected $2.97 of $1.00 ($0.28 spent, then the last 24 h's pace)"
    big = BudgetStatus("m", 5000.0, 1234.56, 0.25, 0.3, 4321.9, 0.86)
    assert budget_note(big, 5000.0) == "projected $4,322 of $5,000 ($1,235 spent, then the last 24 h's pace)"


def test_text_output_keeps_a_dollar_amounts_cents():
    """`cost` as text said `usd=221` and `spent_usd=221` for $221.04 and 140.6 for $140.64 (four significant digits,
    thirtieth session's LLM probe): dollars keep their cents; a fraction of a cent keeps its digits."""
    from console.cli_monitor import render_text

    out = render_text({"window_spend": {"usd": 221.04, "requests": 10080, "per_1k": 21.93},
                       "budget": {"spent_usd": 140.64, "share_used": 0.70321},
                       "per_1k": [{"version": "1", "cost_usd": 12345.678, "cost_per_1k": 0.0031}]})
    assert "usd=221.04, requests=10080, per_1k=21.93" in out
    assert "spent_usd=140.64, share_used=0.7032" in out
    assert "12345.68" in out and "0.0031" in out
