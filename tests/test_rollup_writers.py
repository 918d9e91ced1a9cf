"""The rollup folder's two writers, the console's catch-up and the `rollup` command, hold one lock
(`store_rollups.build_lock`): run at once on one folder, each hour is counted once and as the rows hold it;
a `rollup` run meeting a console's catch-up under way waits for it, and says so if it has to give up."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import polars as pl

from console import store_rollups as ro
from rollup_fleet import START, fleet, write_hive

HOURS = 60
END = START + timedelta(hours=HOURS)
SRC = str(Path(__file__).parents[1] / "src")


def _workspace(tmp_path: Path) -> tuple[Path, pl.DataFrame]:
    preds, _ = fleet(hours=HOURS, per_hour=30, seed=4)
    logs = write_hive(preds, tmp_path)
    preds.filter(pl.col("model") == "fraud").head(300).write_parquet(tmp_path / "ref.parquet")
    config = tmp_path / "console.toml"
    config.write_text(f"""[store]
path = "{tmp_path / 'store'}"
[rollups]
path = "{tmp_path / 'rollups'}"
min_rows = 1
[[logs]]
kind = "predictions"
path = "{logs}"
format = "parquet"
[models.fraud]
task = "classification"
reference = "{tmp_path / 'ref.parquet'}"
features = ["amount", "age", "speed", "country", "channel"]
""", encoding="utf-8")
    return config, preds


def _hour_rows(folder: Path, model: str) -> dict:
    table = ro.read_table(folder, model, START, END, columns=["segment", "rows"])
    df = pl.from_arrow(table).filter(pl.col("segment").is_null())
    return {h: n for h, n in df.group_by("hour").agg(pl.col("rows").sum()).iter_rows() if n}


def test_a_console_catching_up_and_a_rollup_run_at_once_count_each_hour_once(tmp_path):
    config, preds = _workspace(tmp_path)
    env = {"PYTHONPATH": SRC, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "console", "--config", str(config)]
    rollup = subprocess.Popen([*run, "rollup", "--since", START.isoformat(), "--until", END.isoformat()], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    drift = subprocess.Popen([*run, "drift", "fraud", "--window", "48h", "--at", END.isoformat(), "--format", "json"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_r, err_r = rollup.communicate(timeout=600)
    out_d, err_d = drift.communicate(timeout=600)
    assert rollup.returncode == 0, err_r
    assert drift.returncode in (0, 1), err_d  # 1: drift found (the fleet's amount shifts)
    assert "from hourly rollups" in out_d
    for model in ("fraud", "eta"):
        rows = preds.filter(pl.col("model") == model)
        hand = dict(rows.group_by(pl.col("ts").dt.truncate("1h")).len().iter_rows())
        assert _hour_rows(tmp_path / "rollups", model) == hand
    assert not list((tmp_path / "rollups").glob(".rollup.lock"))  # one lock: the catch-up's


def test_a_rollup_run_waits_for_the_writer_under_way_and_gives_up_in_one_line(tmp_path, monkeypatch, capsys):
    import console.rollup_build
    from console.cli import main

    config, preds = _workspace(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(console.rollup_build, "LOCK_WAIT_S", 0.5)
    argv = ["rollup", "--config", str(config), "--since", START.isoformat(), "--until", END.isoformat()]
    with ro.build_lock(tmp_path / "rollups"):  # what a console's catch-up holds while it builds
        assert main(argv) == 3  # exit_codes.CONFLICT, nothing written
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"mlops-console: rollup: another writer of {tmp_path / 'rollups'} (a rollup run or a console "
                   "catching up) has held it for 0.5 s"]
    assert not list((tmp_path / "rollups").rglob("*.parquet"))
    assert main(argv) == 0
    assert _hour_rows(tmp_path / "rollups", "fraud") == dict(
        preds.filter(pl.col("model") == "fraud").group_by(pl.col("ts").dt.truncate("1h")).len().iter_rows())
