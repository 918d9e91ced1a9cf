"""An operator's second pass (issues 8 and 9) on a hand-written workspace whose newest row is months old.

Each test is a gap the pass found, with an independent oracle: hand sums with Polars over the rows the test
wrote, and scipy where a score is involved.

- `cost MODEL --window W` printed today's, this week's and this month's spend as of the window's end, not the
  window's: `cost chat --window 2026-07` on a log ending 2026-07-20 showed empty today/week figures and no
  July total. The window's spend (and its cost per 1,000 requests by version, `per_1k`) is now in the output, equal to
  a hand sum of the cost formula (README: logged `cost_usd`, else token prices plus the replica hour split over
  that clock hour's requests), on the raw path and from the hourly rollups.
- `quality MODEL --window 2026-07` from the rollups crashed (exit 4, `ColumnNotFoundError: bucket`) when the
  7 days before the window's end held no rows: the chart's buckets were added only to non-empty frames (the
  chart and table now cover the window itself: test_operator_pass3).
- A window before the first row (or in a gap) said nothing: `health` printed an empty table, `drift` '0/0
  features'; only a window after the newest row named it. `snapshot` at the wall clock on an old log printed
  zeros with no word either.
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

SRC = str(Path(__file__).resolve().parents[1] / "src")
START = datetime(2026, 6, 10, tzinfo=timezone.utc)
END = datetime(2026, 7, 20, 12, tzinfo=timezone.utc)
PRICES = {"input_per_1m": 2.0, "output_per_1m": 8.0, "replica_hour_usd": 0.5, "replicas": 2}


def _workspace(tmp: Path, min_rows: int = 10_000_000) -> tuple[Path, pl.DataFrame, pl.DataFrame]:
    """chat (an LLM with prices, 30 % of rows with a logged cost) and clf (a classifier with labels), about
    one request every 10 minutes each, day-partitioned Parquet; `min_rows` decides raw path or rollups."""
    rng = np.random.default_rng(5)
    frames = []
    for model, n in (("chat", 5000), ("clf", 5000)):
        secs = np.sort(rng.uniform(START.timestamp(), END.timestamp(), n))
        ts = [datetime.fromtimestamp(float(s), timezone.utc).replace(tzinfo=None) for s in secs]
        frame = {"ts": ts, "model": [model] * n, "request_id": [f"{model}-{i}" for i in range(n)],
                 "version": ["3" if t < datetime(2026, 7, 5) else "4" for t in ts],
                 "latency_ms": rng.gamma(4.0, 20.0, n).round(2), "status": ["ok"] * n,
                 "x": rng.normal(0.0, 1.0, n).round(4),
                 "score": rng.random(n).round(4)}
        frame["prediction"] = ["1" if s > 0.5 else "0" for s in frame["score"]]
        if model == "chat":
            frame["input_tokens"] = rng.integers(100, 1000, n)
            frame["output_tokens"] = rng.integers(50, 400, n)
            frame["cost_usd"] = [float(c) if rng.random() < 0.3 else None for c in rng.random(n).round(5) / 100]
        frames.append(pl.DataFrame(frame))
    rows = pl.concat(frames, how="diagonal_relaxed").sort("ts")
    for day, part in rows.group_by(pl.col("ts").dt.strftime("%Y-%m-%d")):
        folder = tmp / "logs" / f"date={day[0]}"
        folder.mkdir(parents=True)
        part.with_columns(pl.col("ts").dt.replace_time_zone("UTC")).write_parquet(folder / "part-0.parquet")
    clf = rows.filter(pl.col("model") == "clf")
    labelled = clf.sample(fraction=0.6, seed=2)
    labels = labelled.select("request_id", pl.Series("label", (rng.random(labelled.height) < 0.4).astype(int)).cast(
        pl.String), (pl.col("ts") + timedelta(hours=2)).dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("ts"))
    labels.write_csv(tmp / "labels.csv")
    pl.DataFrame({"x": rng.normal(0.0, 1.0, 600).round(4)}).write_parquet(tmp / "ref.parquet")
    cfg = tmp / "mlops-console.toml"
    prices = "".join(f"{k} = {v}\n" for k, v in PRICES.items())
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "logs/**/*.parquet"\n'
                   '[[logs]]\nkind = "labels"\npath = "labels.csv"\n'
                   '[models.chat]\ntask = "llm"\nbudget_usd_month = 50\n[models.chat.prices]\n' + prices +
                   '[models.clf]\ntask = "classification"\nreference = "ref.parquet"\nfeatures = ["x"]\n'
                   'positive_label = "1"\n'
                   f'[store]\npath = "store"\n[audit]\npath = "audit.jsonl"\n[rollups]\nmin_rows = {min_rows}\n')
    return cfg, rows, labels


def _cli(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def _hand_cost(rows: pl.DataFrame) -> pl.DataFrame:
    """Every chat row with its cost, by the README's formula, written out again here."""
    chat = rows.filter(pl.col("model") == "chat")
    per_hour = chat.group_by(pl.col("ts").dt.truncate("1h").alias("hour")).agg(pl.len().alias("n_hour"))
    chat = chat.with_columns(pl.col("ts").dt.truncate("1h").alias("hour")).join(per_hour, on="hour")
    tokens = (pl.col("input_tokens") * PRICES["input_per_1m"] + pl.col("output_tokens") * PRICES["output_per_1m"]) / 1e6
    share = PRICES["replica_hour_usd"] * PRICES["replicas"] / pl.col("n_hour")
    return chat.with_columns(pl.when(pl.col("cost_usd").is_not_null()).then(pl.col("cost_usd"))
                             .otherwise(tokens + share).alias("cost"))


def _between(df: pl.DataFrame, lo: datetime, hi: datetime) -> pl.DataFrame:
    """Rows with lo < ts <= hi (the console's windows are open at the start)."""
    return df.filter((pl.col("ts") > lo.replace(tzinfo=None)) & (pl.col("ts") <= hi.replace(tzinfo=None)))


def test_cost_reports_the_spend_of_the_window_it_names(tmp_path):
    costed = _hand_cost(_workspace(tmp_path)[1])
    cfg = tmp_path / "mlops-console.toml"
    us = timedelta(microseconds=1)
    newest = costed["ts"].max().replace(tzinfo=timezone.utc)
    cases = ((("--window", "2026-07"), datetime(2026, 7, 1, tzinfo=timezone.utc) - us,
              datetime(2026, 8, 1, tzinfo=timezone.utc) - us),
             (("--window", "2026-W27"), datetime(2026, 6, 29, tzinfo=timezone.utc) - us,
              datetime(2026, 7, 6, tzinfo=timezone.utc) - us),
             (("--from", "2026-06-15T06:00Z", "--to", "2026-07-02T18:00Z"),  # [from, to), as a calendar period
              datetime(2026, 6, 15, 6, tzinfo=timezone.utc) - us, datetime(2026, 7, 2, 18, tzinfo=timezone.utc) - us),
             (("--at", "latest", "--window", "30d"), newest - timedelta(days=30), newest))
    for args, lo, hi in cases:
        window = _between(costed, lo, hi)
        usd, n = float(window["cost"].sum()), window.height
        by_version = {r["version"]: r["cost"] for r in window.group_by("version").agg(pl.col("cost").sum()).to_dicts()}
        res = _cli(cfg, "cost", "chat", *args, "--format", "json")
        assert res.returncode == 0, res.stderr
        out = json.loads(res.stdout)
        spend = out["window_spend"]
        assert spend["requests"] == n, (args, spend, n)
        assert np.isclose(spend["usd"], usd, rtol=1e-9), (args, spend, usd)
        assert np.isclose(spend["per_1k"], usd / n * 1000, rtol=1e-9)
        got = {r["version"]: r["cost_usd"] for r in out["per_1k"]}
        assert got.keys() == by_version.keys() and all(np.isclose(got[v], by_version[v]) for v in got), (got, by_version)
        text = _cli(cfg, "cost", "chat", *args)
        assert text.returncode == 0, text.stderr
        line = next(ln for ln in text.stdout.splitlines() if ln.startswith("window_spend:"))
        said = f"{usd:.2f}" if usd >= 1 else f"{usd:.4g}"  # dollars keep their cents (usd=221 was $221.04)
        assert f"usd={said}" in line and f"requests={n}" in line, (line, usd, n)


def test_cost_window_from_the_rollups_equals_the_hand_sum(tmp_path):
    costed = _hand_cost(_workspace(tmp_path, min_rows=100)[1])
    cfg = tmp_path / "mlops-console.toml"
    us = timedelta(microseconds=1)
    for args, lo, hi in ((("--window", "2026-07"), datetime(2026, 7, 1, tzinfo=timezone.utc) - us,
                          datetime(2026, 8, 1, tzinfo=timezone.utc) - us),
                         (("--from", "2026-06-15T06:20Z", "--to", "2026-07-02T18:40Z"),
                          datetime(2026, 6, 15, 6, 20, tzinfo=timezone.utc) - us,
                          datetime(2026, 7, 2, 18, 40, tzinfo=timezone.utc) - us)):
        window = _between(costed, lo, hi)
        res = _cli(cfg, "cost", "chat", *args, "--format", "json")
        assert res.returncode == 0, res.stderr
        out = json.loads(res.stdout)
        assert out["source"] == "rollups", out.get("source")
        assert out["window_spend"]["requests"] == window.height
        assert np.isclose(out["window_spend"]["usd"], float(window["cost"].sum()), rtol=1e-9), (args, out["window_spend"])


def test_quality_of_a_month_from_rollups_after_the_log_ended(tmp_path):
    """The 7 days before the window's end hold no row (the log ended on the 20th): the chart's buckets are
    empty, the window's accuracy is a hand count of labelled rows (labels known by the window's end)."""
    cfg, rows, labels = _workspace(tmp_path, min_rows=100)
    res = _cli(cfg, "quality", "clf", "--window", "2026-07", "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["source"] == "rollups"
    july = _between(rows.filter(pl.col("model") == "clf"), datetime(2026, 6, 30, 23, 59, 59, 999999),
                    datetime(2026, 7, 31, 23, 59, 59, 999999))
    joined = july.join(labels.select("request_id", "label"), on="request_id")
    assert out["now"]["n"] == july.height and out["now"]["n_labelled"] == joined.height
    accuracy = float((joined["prediction"] == joined["label"]).mean())
    assert np.isclose(out["now"]["metrics"]["accuracy"], accuracy, rtol=1e-12)
    # the chart and the per-version table cover the window too (test_operator_pass3 checks them in detail)
    assert sum(r["n"] for r in out["by_version"]) == sum(r["n"] for r in out["series"]) == july.height


def test_an_empty_window_before_the_first_row_says_so(tmp_path):
    cfg, rows, _ = _workspace(tmp_path)
    newest = {m: rows.filter(pl.col("model") == m)["ts"].max().isoformat()[:19] for m in ("chat", "clf")}
    for args in (("health", "clf"), ("quality", "clf"), ("fairness", "clf"), ("cost", "chat")):
        res = _cli(cfg, *args, "--window", "2026-05", "--format", "json")
        assert res.returncode == 0, res.stderr
        note = json.loads(res.stdout).get("note") or ""
        assert note.startswith(f"no rows in this window; the newest row is at {newest[args[1]]}"), (args, note)
    drift = _cli(cfg, "drift", "clf", "--window", "2026-05")
    assert drift.returncode == 2, drift.stderr
    assert f"clf: no rows in this window; the newest row is at {newest['clf']}" in drift.stdout, drift.stdout
    # a window that holds rows says nothing of the kind
    ok = _cli(cfg, "health", "clf", "--window", "2026-06", "--format", "json")
    assert "note" not in json.loads(ok.stdout) or "no rows" not in json.loads(ok.stdout)["note"]


def test_snapshot_of_an_old_log_names_its_newest_row(tmp_path):
    """At the wall clock (months after the log ended) the overview's 24 h hold nothing: it says so, in text and
    JSON, and names the newest row; `--at latest` shows the rows and no such note."""
    cfg, rows, _ = _workspace(tmp_path)
    newest = rows["ts"].max().isoformat()[:19]
    text = _cli(cfg, "snapshot")
    assert text.returncode == 0, text.stderr
    assert f"no rows in this window; the newest row is at {newest}" in text.stdout, text.stdout
    js = json.loads(_cli(cfg, "snapshot", "--format", "json").stdout)
    assert js["note"].startswith(f"no rows in this window; the newest row is at {newest}")
    latest = json.loads(_cli(cfg, "snapshot", "--at", "latest", "--format", "json").stdout)
    assert not latest.get("note")
    window = _between(rows, rows["ts"].max() - timedelta(hours=24), rows["ts"].max())
    counts = dict(window.group_by("model").len().iter_rows())
    assert {m["name"]: m["requests"] for m in latest["models"]} == counts


def test_a_bad_byte_in_a_csv_row_the_native_reader_refuses_prints_no_traceback(tmp_path):
    """A broken quote glues the following lines into one row, which holds a non-UTF-8 byte: pyarrow could not
    decode that row's text for the invalid-row handler and printed 'Exception ignored ... UnicodeDecodeError'
    with a traceback on stderr (the rows were counted right). Oracle: a hand count of the lines written."""
    (tmp_path / "logs").mkdir()
    lines = [b"\xef\xbb\xbfts,model,version,request_id,latency_ms,status"]
    for i in range(200):
        lines.append(f"2026-07-02T{i % 24:02d}:{i % 60:02d}:30Z,m2,1,c{i},{10 + i % 7}.5,ok".encode())
        if i == 20:
            lines.append(b'2026-07-02T03:00:00Z,m2,1,"broken,12.0,ok')
        if i == 40:
            lines.append(b"2026-07-02T03:00:00Z,m2,1,c-bad\xff,12.0,ok")
    (tmp_path / "logs" / "b.csv").write_bytes(b"\n".join(lines) + b"\n")
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "logs/*.csv"\n[store]\npath = "store"\n'
                   '[audit]\npath = "audit.jsonl"\n')
    res = _cli(cfg, "snapshot", "--at", "latest", "--format", "json")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr and "Exception ignored" not in res.stderr, res.stderr
    counts = json.loads(res.stdout)["counts"]
    assert counts["predictions"] == 200 and counts["malformed"] == 2, counts


def test_an_iceberg_log_configured_as_the_readme_says_is_read(tmp_path):
    """`[[logs]] path = "ml.preds"`, `format = "iceberg"` with a sql catalog in `[logs.options]`: the table
    identifier was resolved as a file path against the config's folder ("<folder>/ml.preds: no such table in
    the catalog") and no prediction was read. Oracle: the rows written, counted per model."""
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog

    _, rows, _ = _workspace(tmp_path)
    catalog = SqlCatalog("ops", uri=f"sqlite:///{tmp_path}/catalog.db", warehouse=f"file://{tmp_path}/warehouse")
    catalog.create_namespace("ml")
    table = pa.Table.from_pandas(rows.select("ts", "model", "version", "request_id", "latency_ms", "status", "x")
                                 .with_columns(pl.col("ts").dt.replace_time_zone("UTC")).to_pandas(), preserve_index=False)
    catalog.create_table("ml.preds", schema=table.schema).append(table)
    cfg = tmp_path / "iceberg.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "ml.preds"\nformat = "iceberg"\n[logs.options]\n'
                   f'catalog = "ops"\ntype = "sql"\nuri = "sqlite:///{tmp_path}/catalog.db"\n'
                   f'warehouse = "file://{tmp_path}/warehouse"\n[store]\npath = "store-ice"\n[audit]\npath = "audit.jsonl"\n')
    res = _cli(cfg, "snapshot", "--at", "latest", "--format", "json")
    assert res.returncode == 0, res.stderr
    assert "no such table" not in res.stderr, res.stderr
    out = json.loads(res.stdout)
    assert out["counts"]["predictions"] == rows.height, (out["counts"], res.stderr)


def test_long_window_health_percentiles_said_exact_are_numpys(tmp_path):
    """`health --window 2026-07` from the rollups said "percentiles exact (every hour held its values)" and
    rank_error 0, but took the lower value at the rank (p99 of a day 197.2 where numpy and the raw path say
    191.7): the README's latency quantiles are numpy's linear interpolation. Oracle: numpy.percentile over the
    window's rows and over each day's (float32 items: rtol 1e-6)."""
    cfg, rows, _ = _workspace(tmp_path, min_rows=100)
    res = _cli(cfg, "health", "clf", "--window", "2026-07", "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert "from hourly rollups" in out["note"] and out["rank_error"] == 0, out["note"]
    clf = _between(rows.filter(pl.col("model") == "clf"), datetime(2026, 6, 30, 23, 59, 59, 999999),
                   datetime(2026, 7, 31, 23, 59, 59, 999999))
    for row in out["table"]:
        lat = clf.filter(pl.col("version") == row["version"])["latency_ms"].to_numpy()
        assert row["requests"] == lat.size
        assert np.allclose([row["p50_ms"], row["p95_ms"], row["p99_ms"]], np.percentile(lat, [50, 95, 99]),
                           rtol=1e-6), (row, np.percentile(lat, [50, 95, 99]))
    for bucket in out["series"]:
        day = datetime.fromisoformat(bucket["bucket"].removesuffix("Z"))
        lat = clf.filter((pl.col("ts") >= day) & (pl.col("ts") < day + timedelta(days=1)))["latency_ms"].to_numpy()
        assert bucket["requests"] == lat.size
        assert np.allclose([bucket["p50_ms"], bucket["p95_ms"], bucket["p99_ms"]],
                           np.percentile(lat, [50, 95, 99]), rtol=1e-6), (bucket, np.percentile(lat, [50, 95, 99]))


async def test_the_overview_stepped_back_from_the_newest_row_does_not_say_its_window_is_empty(tmp_path):
    """TUI: `@ latest`, then `[` one window back: the Overview's 24 h hold rows (REQ24H > 0) but the status line
    said "no predictions in this window; newest row ... (after the view)", because the note looked only at
    whether the newest row was inside the window. A window before the first row still says it."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ui_fixtures import screen_text, until

    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp

    cfg, rows, _ = _workspace(tmp_path)
    newest = rows["ts"].max()
    app = ConsoleApp(parse_file(cfg), service=Service(parse_file(cfg)), poll=False, view={"at": "latest"})
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None and app.at == newest, "the view at the newest row")
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: app.at is not None and app.at < newest and app.snapshot.now == app.at, "1 window back")
        assert sum(r.requests for r in app.snapshot.rows) == _between(rows, app.at - timedelta(hours=24), app.at).height > 0
        assert "no predictions in this window" not in screen_text(app)
        await pilot.press("at")
        await until(pilot, lambda: app.screen.__class__.__name__ == "TimeJump", "the time prompt")
        await pilot.press(*"2026-05-01 08:00", "enter")
        await until(pilot, lambda: app.at == datetime(2026, 5, 1, 8) and app.snapshot.now == app.at, "the jump")
        assert f"no predictions in this window  newest row {newest:%Y-%m-%d %H:%M}Z" in screen_text(app)
