"""An operator's third pass (issues 8 and 9): the gaps the second pass left open, each with an independent
oracle (hand counts with Polars over the rows the test wrote, numpy).

- `quality MODEL --window 2026-07` gave July's summary but a per-version table and a chart of the 7 days before
  the window's end (`by_version: []` on a log that ended on the 20th unless `--since` was given); `cost`'s cost
  per 1,000 requests by version, LLM usage and tokens likewise. Every part of the answer now covers the window
  (said in "range"), on the raw path and from the rollups, and the TUI's Quality screen shows that same result.
- A CSV cell `NaN` (`nan`, `-nan`) in a numeric column was kept as missing (pyarrow's default null spellings),
  while JSONL's NaN and CSV's inf were malformed values: now all three are, with one reason; an empty cell
  stays missing.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_operator_pass2 import _between, _cli, _hand_cost, _workspace  # noqa: E402

US = timedelta(microseconds=1)
WINDOWS = ((("--window", "2026-07"), datetime(2026, 7, 1) - US, datetime(2026, 8, 1) - US, "1d"),
           (("--window", "2026-W27"), datetime(2026, 6, 29) - US, datetime(2026, 7, 6) - US, "6h"),
           (("--from", "2026-06-15T06:20Z", "--to", "2026-07-02T18:40Z"), datetime(2026, 6, 15, 6, 20) - US,
            datetime(2026, 7, 2, 18, 40) - US, "12h"))


def _accuracy(frame: pl.DataFrame) -> float | None:
    return float((frame["prediction"] == frame["label"]).mean()) if frame.height else None


@pytest.mark.parametrize("min_rows", [10_000_000, 100], ids=["raw", "rollups"])
def test_quality_by_version_and_chart_cover_the_window(tmp_path, min_rows):
    cfg, rows, labels = _workspace(tmp_path, min_rows=min_rows)
    clf = rows.filter(pl.col("model") == "clf")
    for args, lo, hi, every in WINDOWS:
        res = _cli(cfg, "quality", "clf", *args, "--format", "json")
        assert res.returncode == 0, res.stderr
        out = json.loads(res.stdout)
        assert out["source"] == ("raw rows" if min_rows > 100 else "rollups")
        window = _between(clf, lo, hi)
        # labels known by the window's end (a label is logged 2 h after its prediction), on both paths: a rollup
        # hour counting a label logged later is read raw (`store_rollups.labels_after`)
        kept = pl.col("label_ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ") <= hi
        joined = window.join(labels.rename({"ts": "label_ts"}), on="request_id", how="left").with_columns(
            pl.when(kept).then(pl.col("label")).alias("label"))
        got = {r["version"]: r for r in out["by_version"]}
        want = {v[0]: g for v, g in joined.group_by("version")}
        assert got.keys() == want.keys() and len(want) > 0, (args, got.keys(), want.keys())
        for v, g in want.items():
            lab = g.filter(pl.col("label").is_not_null())
            assert (got[v]["n"], got[v]["n_labelled"]) == (g.height, lab.height), (args, v, got[v])
            assert np.isclose(got[v]["accuracy"], _accuracy(lab), rtol=1e-12), (args, v)
        bucketed = joined.with_columns(pl.col("ts").dt.truncate(every).alias("bucket"))
        want_series = {b[0].isoformat() + "Z": g for b, g in bucketed.group_by("bucket")}
        got_series = {r["bucket"]: r for r in out["series"]}
        assert got_series.keys() == want_series.keys(), (args, sorted(got_series)[:3], sorted(want_series)[:3])
        for b, g in want_series.items():
            lab = g.filter(pl.col("label").is_not_null())
            assert got_series[b]["n"] == g.height and got_series[b]["n_labelled"] == lab.height, (args, b)
            if lab.height:
                assert np.isclose(got_series[b]["accuracy"], _accuracy(lab), rtol=1e-12), (args, b)
        # (lo, hi] as its first and last instants, as `from` and `to` say it (test_report_range_ends.py)
        assert out["range"] == [(lo + US).isoformat() + "Z", hi.isoformat() + "Z"] and out["every"] == every, \
            (out["range"], out["every"])


@pytest.mark.parametrize("min_rows", [10_000_000, 100], ids=["raw", "rollups"])
def test_cost_per_1k_llm_usage_and_tokens_cover_the_window(tmp_path, min_rows):
    cfg, rows, _ = _workspace(tmp_path, min_rows=min_rows)
    costed = _hand_cost(rows)
    for args, lo, hi, _every in WINDOWS:
        res = _cli(cfg, "cost", "chat", *args, "--format", "json")
        assert res.returncode == 0, res.stderr
        out = json.loads(res.stdout)
        assert out["source"] == ("raw rows" if min_rows > 100 else "rollups")
        window = _between(costed, lo, hi)
        want = {v[0]: g for v, g in window.group_by("version")}
        got = {r["version"]: r for r in out["per_1k"]}
        assert got.keys() == want.keys() and len(want) > 0, (args, got.keys(), want.keys())
        for v, g in want.items():
            assert got[v]["requests"] == g.height, (args, v, got[v])
            assert np.isclose(got[v]["cost_usd"], float(g["cost"].sum()), rtol=1e-9), (args, v)
            assert np.isclose(got[v]["cost_per_1k"], float(g["cost"].sum()) / g.height * 1000, rtol=1e-9)
        [llm] = out["llm"]
        assert llm["requests"] == window.height, (args, llm)
        assert np.isclose(llm["input_tokens_mean"], float(window["input_tokens"].mean()), rtol=1e-12)
        assert np.isclose(llm["output_tokens_mean"], float(window["output_tokens"].mean()), rtol=1e-12)
        assert out["tokens"] == {"input_tokens": int(window["input_tokens"].sum()),
                                 "output_tokens": int(window["output_tokens"].sum())}, (args, out["tokens"])
        assert "window_per_1k" not in out  # per_1k is the window's: one table, not two
        assert out["range"] == [(lo + US).isoformat() + "Z", hi.isoformat() + "Z"]


async def test_the_quality_screen_shows_the_windows_table_and_chart(tmp_path):
    """TUI, at the newest row: the Quality screen's per-version table and chart follow its window key (24h,
    then 7d), as `quality --window` does (the same `Service.quality` result). Oracle: hand counts."""
    from ui_fixtures import until

    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from console.ui.widgets import FilterTable, TimeChart

    cfg, rows, labels = _workspace(tmp_path)
    clf = rows.filter(pl.col("model") == "clf")
    newest = rows["ts"].max()
    app = ConsoleApp(parse_file(cfg), service=Service(parse_file(cfg)), poll=False, view={"at": "latest"})
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None and app.at == newest, "the view at the newest row")
        app.open_screen("quality", model="clf")
        for key, span, every in (("2", timedelta(hours=24), "1h"), ("7", timedelta(days=7), "6h")):
            await pilot.press(key)
            screen = app.screen
            table = screen.query_one("#by-version", FilterTable)
            window = _between(clf, newest - span, newest)
            want = {v[0]: g.height for v, g in window.group_by("version")}
            await until(pilot, lambda: {k.split("|")[0]: int(table.cells(k)[1].plain.replace(",", "")) for k in table.row_keys}
                        == want, f"the {key} table")
            chart = screen.query_one("#primary", TimeChart)
            assert f"per {every}, last {'24h' if key == '2' else '7d'}" in chart.title, chart.title


def test_a_csv_nan_is_a_malformed_value_like_jsonls_and_an_empty_cell_is_missing(tmp_path):
    """`latency_ms` = NaN / nan / -nan in a CSV was kept as missing (pyarrow reads those as null), where JSONL's
    NaN and CSV's inf are set aside as malformed, counted with the reason. Both the native reader (a range of more
    than `SLOW_LINES` lines) and the line-by-line one (a short file). Oracle: hand counts of the lines written."""
    (tmp_path / "logs").mkdir()
    head = "ts,model,version,request_id,latency_ms,status"
    bad = {"NaN", "nan", "-nan", "inf"}
    long_cells = ["12.5"] * 300
    for i, cell in ((10, "NaN"), (50, "nan"), (90, "-nan"), (130, "inf"), (170, ""), (210, "NaN")):
        long_cells[i] = cell
    short_cells = ["7.0", "NaN", "", "-nan", "3.5"]
    for name, cells in (("long.csv", long_cells), ("short.csv", short_cells)):
        lines = [head] + [f"2026-07-02T{i % 24:02d}:{i % 60:02d}:00Z,m,1,{name}-{i},{c},ok" for i, c in enumerate(cells)]
        (tmp_path / "logs" / name).write_text("\n".join(lines) + "\n")
    (tmp_path / "logs" / "a.jsonl").write_text(
        '{"ts":"2026-07-02T05:00:00Z","model":"m","version":"1","request_id":"j1","latency_ms":NaN,"status":"ok"}\n'
        '{"ts":"2026-07-02T05:01:00Z","model":"m","version":"1","request_id":"j2","latency_ms":3.0,"status":"ok"}\n')
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "logs/*.csv"\n[[logs]]\nkind = "predictions"\n'
                   'path = "logs/*.jsonl"\n[store]\npath = "store"\n[audit]\npath = "audit.jsonl"\n')
    res = _cli(cfg, "snapshot", "--at", "latest", "--format", "json")
    assert res.returncode == 0, res.stderr
    counts = json.loads(res.stdout)["counts"]
    cells = long_cells + short_cells
    n_bad = sum(c in bad for c in cells) + 1  # and the JSONL NaN
    assert counts["predictions"] == len(cells) - n_bad + 2 and counts["malformed"] == n_bad, counts

    from console.config import parse_file
    from console.service import Service

    svc = Service(parse_file(cfg))
    reasons = {Path(r["source"]).name: (r["reason"], r["n"], r["first_location"]) for r in svc.malformed_summary()}
    assert reasons == {"long.csv": ("latency_ms is not finite", 5, "12"),
                       "short.csv": ("latency_ms is not finite", 2, "3"),
                       "a.jsonl": ("latency_ms is not finite", 1, "1")}, reasons


def test_rollup_of_an_old_log_stops_at_its_newest_row(tmp_path):
    """`rollup` on a log whose newest row is months old built every empty range up to today (Spark: 20 of 27
    week ranges held no row, ~40 s each): the build now runs from the oldest row's hour to the newest's, whatever
    the engine (the range is decided before the builder), and a second run builds nothing. Oracle: the rows
    written and their first and last hours (one range a day on the local engine)."""
    cfg, rows, _ = _workspace(tmp_path)
    first, last = rows["ts"].min().replace(minute=0, second=0, microsecond=0), rows["ts"].max()
    stop = last.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    res = _cli(cfg, "rollup", "--path", str(tmp_path / "ru"), "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    days = -(-(stop - first) // timedelta(days=1))
    assert (out["ranges_built"], out["rows"]) == (days, rows.height), out
    state = json.loads((tmp_path / "ru" / "_state.json").read_text())
    assert datetime.fromisoformat(state["built_until"]) == stop, state
    again = json.loads(_cli(cfg, "rollup", "--path", str(tmp_path / "ru"), "--format", "json").stdout)
    assert (again["ranges_built"], again["rows"]) == (0, 0), again
