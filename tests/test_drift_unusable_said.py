"""A feature whose type changes between files (a Hive folder where one day logged `x` as numbers and the next as
text) is read, not fatal, and said: `drift`'s text names how many of the window's rows had no usable value for
the test, as its JSON counts them (`stats.dropped`); the test is over the rest. Counts against a hand count."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from console.cli import main

AT = "2026-11-30T00:00:00"


def _workspace(root):
    numbers = 0
    # 600 rows: a window's verdict needs 500 (MIN_DRIFT_ROWS)
    for day, xs in (("2026-11-28", pa.array([1.0, 2.0] * 180)), ("2026-11-29", pa.array(["7", "seven"] * 120))):
        folder = root / "logs" / f"date={day}"
        folder.mkdir(parents=True)
        start, n = datetime.fromisoformat(day), len(xs)
        pq.write_table(pa.table({"ts": [start + timedelta(minutes=i) for i in range(n)], "model": ["m"] * n,
                                 "version": ["1"] * n, "request_id": [f"{day}-{i}" for i in range(n)],
                                 "prediction": ["1"] * n, "latency_ms": [10.0] * n, "x": xs}),
                       folder / "part-0.parquet")
        numbers += sum(1 for v in xs.to_pylist() if isinstance(v, float) or str(v).isdigit())
    pq.write_table(pa.table({"x": [1.0, 2.0, 7.0] * 100}), root / "ref.parquet")
    cfg = root / "c.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n'
                   '[models.m]\nfeatures = ["x"]\nreference = "ref.parquet"\n', encoding="utf-8")
    return cfg, 360 + 240, numbers


def test_values_a_feature_could_not_use_are_counted_and_said(tmp_path, capsys):
    cfg, rows, numbers = _workspace(tmp_path)
    assert (rows, numbers) == (600, 480)  # day one's 360 numbers, day two's 120 "7"s; its 120 "seven"s are not numbers
    argv = ["--config", str(cfg), "drift", "m", "--at", AT, "--window", "3d"]
    assert main([*argv, "--format", "json"]) == 0
    (x,) = json.loads(capsys.readouterr().out)["features"]
    assert (x["n_cur"], x["stats"]["dropped"]) == (numbers, rows - numbers)
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert f"x: {rows - numbers} of {rows} rows in the window without a usable value (not logged, not a number, " \
           "or not finite); left out of its test" in text, text


async def test_the_drift_screens_say_it_too(tmp_path):
    """The Drift screen's head and the feature's distributions say what `drift` says: how many of the window's rows
    the test could not use (the N column counts only the rows it used)."""
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from console.ui.screens.drift import DistributionScreen, DriftScreen
    from console.ui.widgets import FilterTable
    from ui_fixtures import screen_text, until

    cfg, rows, numbers = _workspace(tmp_path)
    svc = Service(parse_file(cfg), clock=lambda: datetime.fromisoformat(AT))
    svc.refresh()
    app = ConsoleApp(parse_file(cfg), service=svc, poll=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await app.push_screen(DriftScreen("m", "production", window="7d"))
            drift = app.screen
            await until(pilot, lambda: "drift" in drift.loaded and drift.query_one("#features", FilterTable).row_keys,
                        "the drift table")
            (x,) = drift.report["features"]
            assert (x["n_cur"], x["stats"]["dropped"]) == (numbers, rows - numbers)
            said = f"UNUSABLE x {rows - numbers} rows without a usable value, left out of their tests"
            await until(pilot, lambda: said in screen_text(app), "the drift head's note")
            await app.push_screen(DistributionScreen("m", "production", feature="x", window="7d", column=x))
            await until(pilot, lambda: "without a usable value" in screen_text(app), "the distributions' head")
            assert f"current {numbers} (last 7d)  {rows - numbers} more without a usable value, left out" \
                in screen_text(app)
    finally:
        svc.close()


def test_a_type_that_changes_between_parquet_files_is_said(tmp_path, capsys):
    """The type change itself is said, naming a file of each kind (as a JSONL field of mixed types is), and numbers
    of different widths in different files are not a change."""
    cfg, _, _ = _workspace(tmp_path)
    day = tmp_path / "logs" / "date=2026-11-27"
    day.mkdir()
    pq.write_table(pa.table({"ts": [datetime(2026, 11, 27, 1)], "model": ["m"], "version": ["1"], "request_id": ["w"],
                             "prediction": ["1"], "latency_ms": pa.array([10], pa.int32()),
                             "x": pa.array([3], pa.int64())}), day / "part-0.parquet")
    assert main(["--config", str(cfg), "snapshot", "--at", AT, "--format", "json"]) == 0
    notes = json.loads(capsys.readouterr().out)["log_notes"]
    mixed = [n for n in notes if "more than one type" in n]
    assert mixed == [f"predictions: field 'x' holds values of more than one type across its Parquet files (numbers in "
                     f"2 files, e.g. {tmp_path / 'logs' / 'date=2026-11-27' / 'part-0.parquet'}; text in 1 file, e.g. "
                     f"{tmp_path / 'logs' / 'date=2026-11-29' / 'part-0.parquet'}); kept, as text if not all numbers"], notes


def test_a_field_new_in_a_later_parquet_file_is_said_once(tmp_path, capsys):
    """A feature first logged in a later day's file is said once, as a JSONL field new to the store is; the first
    read says none, and a later process does not say it again."""
    cfg, _, _ = _workspace(tmp_path)
    argv = ["--config", str(cfg), "snapshot", "--at", AT, "--format", "json"]

    def new_fields() -> list[str]:
        assert main(argv) == 0
        return [n for n in json.loads(capsys.readouterr().out)["log_notes"] if "new field" in n]

    assert new_fields() == []
    day = tmp_path / "logs" / "date=2026-11-27"
    day.mkdir()
    pq.write_table(pa.table({"ts": [datetime(2026, 11, 27, 1)], "model": ["m"], "version": ["1"], "request_id": ["w"],
                             "prediction": ["1"], "latency_ms": [10.0], "x": [3.0], "tenure": [12]}),
                   day / "part-0.parquet")
    assert new_fields() == [f"predictions: new field 'tenure' (in 1 Parquet file, e.g. {day / 'part-0.parquet'})"]
    assert new_fields() == []
