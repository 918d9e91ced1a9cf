"""An operator's fourth pass (issues 8 and 9): gaps found by running the installed command on hand-written
workspaces, each checked against what the test wrote (hand counts).

- `check --at T` with T before the first row printed "0 firing" and exited 0 (`nothing_to_evaluate: false`),
  with no rule listed even under `--all`: a cron gate pointed at the wrong time read it as "all clear". The
  README's table says exit 1 when there is nothing to evaluate, and says so.
- Hours built by `mlops-console rollup` (and its Spark job, which reads through the same `rollup_sources`)
  from a log without `environment`/`variant` columns were keyed environment null, variant null, where the
  store (and the console's own rollups) say "production"/"champion": every read of the production view
  skipped them. `health fraud --window 3d` counted 167 requests of 12,781 (the raw edge hours only), and
  `drift` scored 167 rows, 0.763 against the exact 0.350, while saying "each within its bound of the exact
  score". The rollups' error flag was also its own rule (any status but ok/2xx), not the store's (error,
  failed, fail, timeout, a code >= 500, or an error text): a `404` or `warning` row was an error in one and not
  the other.
- A model too quiet for a drift verdict in its 7-day history (30 rows a day) had its drift incident firing (the
  rule reaches back up to 90 days for 500 rows, README "Evidence") while the Overview's DRIFT cell on the same
  row said "few rows": the cell stopped at the history. It now reaches back as the rule does.
- `health --window 3d` from the rollups over a Delta or Iceberg source crashed (exit 4, "TypeError: 'NoneType'
  object is not iterable"): the raw edge hours asked which store parts touch them, and a lake table's parts
  (not tracked per file) were iterated as a list after being marked as covering every hour.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_operator_pass2 import START, _cli, _workspace  # noqa: E402


def test_check_before_the_first_row_has_nothing_to_evaluate(tmp_path):
    cfg, rows, _ = _workspace(tmp_path)
    assert rows["ts"].min() > START.replace(tzinfo=None)  # the log starts on 2026-06-10
    for args in (("--at", "2026-05-01"), ("--at", "2026-06-01T12:00Z", "--since", "2026-05-20")):
        res = _cli(cfg, "check", *args, "--format", "json")
        assert res.returncode == 1, (args, res.returncode, res.stderr)
        out = json.loads(res.stdout)
        assert out["nothing_to_evaluate"] is True and out["firing"] == 0, (args, out)
        assert "nothing to evaluate" in res.stderr, res.stderr
    # inside the log the same gate evaluates: something to evaluate, whatever fires
    res = _cli(cfg, "check", "--at", "2026-07-01", "--format", "json")
    assert res.returncode in (0, 1) and json.loads(res.stdout)["nothing_to_evaluate"] is False, res.stderr


STATUSES = ["ok", "ok", "ok", "error", "timeout", "404", "warning", "503", "200"]


def _plain_fleet(tmp: Path) -> tuple[Path, pl.DataFrame]:
    """Hive Parquet with no environment, variant or is_error column (the store's defaults apply), statuses on
    both sides of the store's error rule, and an error text on some ok rows."""
    rng = np.random.default_rng(7)
    start, n = datetime(2026, 7, 17), 9000
    ts = pl.Series(np.sort(rng.integers(0, 3 * 86400 * 10**6 + 12 * 3600 * 10**6, n))).cast(pl.Duration("us")) + start
    df = pl.DataFrame({"ts": ts, "model": "fraud", "request_id": [f"r{i}" for i in range(n)],
                       "version": rng.choice(["1", "2"], n), "latency_ms": rng.gamma(4, 20, n).round(2),
                       "status": rng.choice(STATUSES, n),
                       "error": [("boom" if rng.random() < 0.05 else None) for _ in range(n)],
                       "x": rng.normal(0, 1, n).round(4)})
    for day, part in df.group_by(pl.col("ts").dt.strftime("%Y-%m-%d")):
        folder = tmp / "logs" / f"date={day[0]}"
        folder.mkdir(parents=True)
        part.with_columns(pl.col("ts").dt.replace_time_zone("UTC")).write_parquet(folder / "part-0.parquet")
    pl.DataFrame({"x": rng.normal(0, 1, 3000).round(4)}).write_parquet(tmp / "ref.parquet")
    cfg = tmp / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n'
                   '[models.fraud]\ntask = "classification"\nreference = "ref.parquet"\nfeatures = ["x"]\n'
                   '[store]\npath = "store"\n[audit]\npath = "audit.jsonl"\n'
                   '[rollups]\npath = "rollups"\nmin_rows = 100\n')
    return cfg, df


def _store_error(df: pl.DataFrame) -> pl.Series:
    """queries/conform_predictions.sql's is_error, written out again: an error text, a failing status word or
    a status code of 500 and up."""
    status = pl.col("status").str.to_lowercase()
    return df.select(pl.col("error").is_not_null() | status.is_in(["error", "failed", "fail", "timeout"])
                     | (status.cast(pl.Float64, strict=False).fill_null(0) >= 500)).to_series()


def _three_days_match_a_hand_count(cfg, df: pl.DataFrame, drift: bool = True) -> None:
    """`health fraud --window 3d` at 2026-07-20T12:00Z, read from rollups, counts each version's requests and
    errors as a hand count of the rows does (and `drift` scores every row of the window)."""
    at = datetime(2026, 7, 20, 12)
    window = df.with_columns(_store_error(df).alias("err")).filter(
        (pl.col("ts") > at - timedelta(days=3)) & (pl.col("ts") <= at))
    res = _cli(cfg, "health", "fraud", "--at", "2026-07-20T12:00Z", "--window", "3d", "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert "rollups" in out["note"], out["note"]
    got = {r["version"]: (r["requests"], r["errors"]) for r in out["table"]}
    want = {v[0]: (g.height, int(g["err"].sum())) for v, g in window.group_by("version")}
    assert got == want, (got, want)
    if drift:
        res = _cli(cfg, "drift", "fraud", "--at", "2026-07-20T12:00Z", "--window", "3d", "--format", "json")
        assert res.returncode == 0, res.stderr
        assert [f["n_cur"] for f in json.loads(res.stdout)["features"]] == [window.height]


def test_hours_built_by_the_rollup_command_count_in_the_production_view(tmp_path):
    cfg, df = _plain_fleet(tmp_path)
    built = _cli(cfg, "rollup")
    assert built.returncode == 0, built.stderr
    _three_days_match_a_hand_count(cfg, df)


def test_the_overview_drift_cell_of_a_quiet_model_reaches_back_as_its_rule_does(tmp_path):
    rng = np.random.default_rng(3)
    end, days = datetime(2026, 7, 20, 12), 40
    n = 30 * days
    secs = np.sort(rng.uniform(0, days * 86400, n))
    ts = [end - timedelta(days=days) + timedelta(seconds=float(s)) for s in secs]
    x = np.where(np.array([t > end - timedelta(days=6) for t in ts]), rng.normal(3, 1, n), rng.normal(0, 1, n))
    df = pl.DataFrame({"ts": ts, "model": "quiet", "version": "1", "request_id": [f"q{i}" for i in range(n)],
                       "latency_ms": 10.0, "x": x.round(4)})
    df.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")).write_ndjson(tmp_path / "p.jsonl")
    ref = rng.normal(0, 1, 600).round(4)
    pl.DataFrame({"x": ref}).write_parquet(tmp_path / "ref.parquet")
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n[models.quiet]\ntask = "classification"\n'
                   'reference = "ref.parquet"\nfeatures = ["x"]\n[store]\npath = "store"\n[audit]\npath = "a.jsonl"\n')
    from scipy.stats import ks_2samp

    last = df.sort("ts").tail(500)["x"].to_numpy()  # the rule's evidence size (README: 500 rows for drift)
    assert ks_2samp(ref, last).pvalue <= 0.05  # drifted, by scipy
    assert df.filter(pl.col("ts") > end - timedelta(days=7)).height < 500  # too quiet within the history
    res = _cli(cfg, "snapshot", "--at", "latest", "--format", "json")
    assert res.returncode == 0, res.stderr
    row = json.loads(res.stdout)["models"][0]
    assert row["alerts"] >= 1 and row["drift"] == "DRIFT 1/1", row


@pytest.mark.parametrize("fmt", ["delta", "parquet"])
def test_health_from_rollups_over_a_delta_table(tmp_path, fmt):
    cfg, df = _plain_fleet(tmp_path)
    if fmt == "delta":
        import deltalake

        table = df.with_columns(pl.col("ts").dt.replace_time_zone("UTC"), pl.col("ts").dt.strftime("%Y-%m-%d").alias("date"))
        deltalake.write_deltalake(str(tmp_path / "delta"), table.to_arrow(), partition_by=["date"])
        cfg.write_text(cfg.read_text().replace('path = "logs"\nformat = "parquet"', 'path = "delta"\nformat = "delta"'))
    _three_days_match_a_hand_count(cfg, df, drift=False)
