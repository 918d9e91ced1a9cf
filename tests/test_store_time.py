"""Any time window, and one store for every process: a log whose newest row is months old is read as of
its own time (`--at latest`, a calendar month, `check --at T`), with numbers checked against scipy and
hand counts; three processes on one store at once all succeed and report the same counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

SRC = str(Path(__file__).resolve().parents[1] / "src")
JUNE, JULY = datetime(2026, 6, 1), datetime(2026, 7, 1)


@pytest.fixture(scope="module")
def old_log(tmp_path_factory):
    """Predictions from June 1 to July 31 2026 (a month-old log today), x drifting in July; Parquet by day
    for June, JSONL for July; a reference of 800 rows (so drift uses KS)."""
    root = tmp_path_factory.mktemp("old-log")
    rng = np.random.default_rng(3)
    rows = []
    for day in range(61):
        start = JUNE + timedelta(days=day)
        n = 40
        ts = [start + timedelta(minutes=int(m)) for m in np.sort(rng.integers(0, 1440, n))]
        shift = 1.0 if start >= JULY else 0.0
        for i, t in enumerate(ts):
            rows.append({"ts": t, "model": "m", "version": "2" if start >= JULY else "1",
                         "request_id": f"d{day}-{i}", "latency_ms": float(rng.gamma(2, 20)),
                         "status": 500 if rng.random() < 0.01 else 200, "x": float(rng.normal(shift, 1)),
                         "prediction": "1"})
    june = [r for r in rows if r["ts"] < JULY]
    july = [r for r in rows if r["ts"] >= JULY]
    for day in sorted({r["ts"].date() for r in june}):
        part = root / "logs" / f"date={day}"
        part.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist([r for r in june if r["ts"].date() == day]), part / "part-0.parquet")
    with open(root / "july.jsonl", "w") as fh:
        for r in july:
            fh.write(json.dumps(r | {"ts": r["ts"].isoformat() + "Z"}) + "\n")
    ref = rng.normal(0, 1, 800)
    pq.write_table(pa.table({"x": ref}), root / "reference.parquet")
    (root / "mlops-console.toml").write_text(
        '[[logs]]\nkind = "predictions"\npath = "logs"\nformat = "parquet"\n'
        '[[logs]]\nkind = "predictions"\npath = "july.jsonl"\n'
        '[models.m]\ntask = "classification"\nreference = "reference.parquet"\nfeatures = ["x"]\n'
        '[models.m.drift.x]\ntest = "ks"\n'
        '[[alerts]]\nname = "m errors"\nmetric = "error_rate"\nop = ">"\nthreshold = 0.5\nwindow = "1h"\n')
    return root, rows, ref


def console(root: Path, *args: str, env: dict | None = None, config: str = "mlops-console.toml") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "console", "--config", str(root / config), *args],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC, **(env or {})},
                          timeout=600)


def test_snapshot_at_latest_shows_the_old_log(old_log):
    root, rows, _ = old_log
    proc = console(root, "snapshot", "--format", "json", "--at", "latest")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    newest = max(r["ts"] for r in rows)
    assert data["now"] == newest.isoformat() + "Z" or data["now"].startswith(newest.isoformat()[:19])
    [m] = [r for r in data["models"] if r["name"] == "m"]
    assert m["requests"] == sum(1 for r in rows if newest - timedelta(hours=24) < r["ts"] <= newest)
    assert data["counts"]["predictions"] == len(rows)
    # the wall clock is months later: the live view says the window is empty, it is not silently zero
    live = json.loads(console(root, "snapshot", "--format", "json").stdout)
    assert [r["requests"] for r in live["models"] if r["name"] == "m"] == [0]


def test_drift_over_a_past_calendar_month_equals_scipy(old_log):
    """A month of a log this size (fewer rows than `[rollups] min_rows`) is read raw and equals scipy, as does
    --exact; with the rollups asked for (`min_rows = 0`, as for a large fleet), it is within the bound of scipy."""
    root, rows, ref = old_log
    large = (root / "mlops-console.toml").read_text() + "[rollups]\nmin_rows = 0\n"
    (root / "as-large.toml").write_text(large)
    for month, start, end in (("2026-06", JUNE, JULY), ("2026-07", JULY, datetime(2026, 8, 1))):
        cur = [r["x"] for r in rows if start <= r["ts"] < end]
        exact = stats.ks_2samp(ref, cur)
        for flags in (["--exact"], []):
            proc = console(root, "drift", "m", "--window", month, "--format", "json", *flags)
            assert proc.returncode == 0, proc.stderr
            [x] = [f for f in json.loads(proc.stdout)["features"] if f["column"] == "x"]
            assert x["n_cur"] == len(cur)
            assert x["test"] == "ks" and x["method"] == "exact"
            assert x["score"] == pytest.approx(exact.pvalue, rel=1e-9, abs=1e-12)
            assert x["drifted"] == (month == "2026-07")
        proc = console(root, "drift", "m", "--window", month, "--format", "json", config="as-large.toml")
        assert proc.returncode == 0, proc.stderr
        [x] = [f for f in json.loads(proc.stdout)["features"] if f["column"] == "x"]
        assert x["n_cur"] == len(cur) and x["method"] == "sketch"
        assert abs(x["stats"]["statistic"] - exact.statistic) <= x["bound"] + 1e-12  # bound 0: every value held
        assert x["status"] == ("drift" if month == "2026-07" else "ok")


def test_from_to_and_a_bad_time_option(old_log):
    root, rows, _ = old_log
    proc = console(root, "health", "m", "--from", "2026-06-10T00:00Z", "--to", "2026-06-11T00:00Z", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["window"] == "24h" and data["at"] == "2026-06-10T23:59:59.999999Z"
    bad = console(root, "health", "m", "--at", "yesterday-ish")
    assert bad.returncode == 2 and "expected an ISO time" in bad.stderr and "Traceback" not in bad.stderr


def test_check_at_a_past_time_evaluates_as_of_then(old_log, tmp_path):
    root, rows, _ = old_log
    # a rule that fires exactly where a burst of errors sits: errors all of one hour on June 15
    cfg = (root / "mlops-console.toml").read_text()
    burst = tmp_path / "burst.jsonl"
    with open(burst, "w") as fh:
        for i in range(150):
            fh.write(json.dumps({"ts": f"2026-06-15T10:{i % 60:02d}:{i % 50:02d}Z", "model": "m", "version": "1",
                                 "request_id": f"b{i}", "status": 503, "x": 0.0}) + "\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "mlops-console.toml").write_text(cfg.replace('path = "logs"', f'path = "{root / "logs"}"')
                                           .replace('path = "july.jsonl"', f'path = "{burst}"')
                                           .replace('reference = "reference.parquet"',
                                                    f'reference = "{root / "reference.parquet"}"'))
    during = console(ws, "check", "--format", "json", "--at", "2026-06-15T11:00Z")
    after = console(ws, "check", "--format", "json", "--at", "2026-06-25T11:00Z")
    assert during.returncode == 1, during.stderr
    assert any(i["rule"] == "m errors" for i in json.loads(during.stdout)["incidents"])
    assert not any(i["rule"] == "m errors" and i["firing"] for i in json.loads(after.stdout)["incidents"])


def test_three_processes_on_one_store_at_once(old_log, tmp_path):
    root, rows, _ = old_log
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    config = str(root / "mlops-console.toml")
    tui = ("import asyncio, json\n"
           "from console.config import parse_file\nfrom console.ui.app import ConsoleApp\n"
           f"cfg = parse_file({config!r})\n"
           "async def main():\n"
           "    app = ConsoleApp(cfg, poll=False)\n"
           "    async with app.run_test(size=(100, 30)) as pilot:\n"
           # its refreshed snapshot: the first look shows what the store held at launch (the Parquet days, read in
           # place, before any process had parsed July's JSONL), by design
           "        while app.snapshot is None or app.snapshot.refreshed is None:\n"
           "            await pilot.pause(0.05)\n"
           "        return app.snapshot.counts['predictions']\n"
           "print(json.dumps({'predictions': asyncio.run(main())}))\n")
    base = {**os.environ, "PYTHONPATH": SRC, **env}
    procs = [subprocess.Popen([sys.executable, "-c", tui], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=base)]
    for args in (("check", "--format", "json", "--at", "latest"), ("snapshot", "--format", "json", "--at", "latest")):
        procs.append(subprocess.Popen([sys.executable, "-m", "console", "--config", config, *args],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=base))
    outs = [p.communicate(timeout=600) for p in procs]
    # check exits 1: July's x moved by one standard deviation, and at 40 rows a day its drift windows reach back
    # before the 7-day history for the 500 rows a verdict needs, so the drift rule fires
    assert [p.returncode for p in procs] == [0, 1, 0], [o[1][-500:] for o in outs]
    assert any(i["kind"] == "drift_share" and i["firing"] for i in json.loads(outs[1][0])["incidents"])
    tui_count = json.loads(outs[0][0].strip().splitlines()[-1])["predictions"]
    snap_count = json.loads(outs[2][0])["counts"]["predictions"]
    assert tui_count == snap_count == len(rows)
    stores = list((tmp_path / "cache" / "mlops-console").iterdir())
    assert len(stores) == 1  # one store, shared


def _span_of(text: str) -> timedelta:
    """"14d 6h 12m 3s" -> its timedelta (the test's own reading of the units)."""
    unit = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return timedelta(seconds=sum(int(p[:-1]) * unit[p[-1]] for p in text.split()))


def test_from_without_to_reports_its_window_in_units_and_both_ends(old_log):
    """`--from T` alone ends at the view's end (`--at`, else the wall clock): its length was printed as a count
    of seconds ("window 1209600s"). Every read command now says it as other windows are said, with both ends,
    in text and JSON alike (`window_fields`)."""
    root, rows, _ = old_log
    start, end = "2026-06-10T00:00:17Z", datetime(2026, 6, 24, 6, 12)
    want = end - datetime(2026, 6, 10, 0, 0, 17)  # 14 days, 6 h, 11 min, 43 s: no unit divides it
    for args in (("health", "m"), ("quality", "m"), ("cost", "m"), ("fairness", "m"), ("drift", "m")):
        proc = console(root, *args, "--from", start, "--at", end.isoformat(), "--format", "json")
        assert proc.returncode in (0, 2), (args, proc.stderr)
        data = json.loads(proc.stdout)
        assert data["window"] == "14d 6h 11m 43s" and _span_of(data["window"]) == want, (args, data["window"])
        assert (data["from"], data["to"]) == (start, end.isoformat() + "Z"), args
    text = console(root, "drift", "m", "--from", start, "--at", end.isoformat()).stdout
    assert f"window 14d 6h 11m 43s ({start} to {end.isoformat()}Z)" in text, text
    snap = console(root, "snapshot", "--from", start, "--at", end.isoformat())
    assert f"asks for the window 14d 6h 11m 43s ({start} to {end.isoformat()}Z)" in snap.stdout, snap.stdout
    # at the wall clock: whatever the seconds, the length is in units and its ends are printed
    live = json.loads(console(root, "health", "m", "--from", start, "--format", "json").stdout)
    # to the nearest second, as `format_span` says any length (truncating failed whenever the run's clock stood
    # past half a second)
    live_span = datetime.fromisoformat(live["to"].removesuffix("Z")) - datetime(2026, 6, 10, 0, 0, 17)
    assert _span_of(live["window"]) == timedelta(seconds=round(live_span.total_seconds())) and live["from"] == start
    assert not live["window"].endswith("s") or " " in live["window"] or _span_of(live["window"]) < timedelta(minutes=1)


@pytest.mark.parametrize("period, first, last", [
    ("2026-07", "2026-07-01T00:00:00Z", "2026-07-31T23:59:59.999999Z"),
    ("2026-W27", "2026-06-29T00:00:00Z", "2026-07-05T23:59:59.999999Z"),  # ISO week 27 of 2026: Mon 29 June
    ("2026-07-04", "2026-07-04T00:00:00Z", "2026-07-04T23:59:59.999999Z")])
def test_a_calendar_window_reads_from_its_first_instant(old_log, period, first, last):
    """A calendar period's window is (start - 1 us, end - 1 us]; every command describes it from the period's
    first instant, not from the last microsecond of the day before (`window_fields`), in JSON and text, and
    the snapshot's fixed spans ending there (24 h: the period's last day) likewise."""
    root, _, _ = old_log
    for cmd in (["health", "m"], ["drift", "m"], ["quality", "m"], ["cost", "m"], ["fairness", "m"]):
        data = json.loads(console(root, *cmd, "--window", period, "--format", "json").stdout)
        assert (data["from"], data["to"]) == (first, last), cmd
    assert f"({first} to {last})" in console(root, "drift", "m", "--window", period).stdout
    spans = json.loads(console(root, "snapshot", "--window", period, "--format", "json").stdout)["spans"]
    assert spans["requests"]["from"] == last[:10] + "T00:00:00Z"  # the 24 h before the period's last instant
    assert not any(s["from"].endswith("59:59.999999Z") for s in spans.values() if "from" in s)


def test_a_window_counts_the_rows_between_the_ends_it_prints(old_log):
    """`--window 1d --at T` and `--from T-1d --at T` printed the same "from" and counted different rows: the span's
    start is exclusive and was printed as given. Whatever way a window is asked for, the rows counted are those
    from its printed "from" to its printed "to", both included (a hand count over the log), here with a row
    exactly at the boundary."""
    root, rows, _ = old_log
    edge = next(r["ts"] for r in rows if r["ts"].minute == 0 and r["ts"].day > 2)  # a row on a whole hour
    at = edge + timedelta(days=1)
    for args in (("--window", "1d", "--at", at.isoformat() + "Z"),
                 ("--from", edge.isoformat() + "Z", "--at", at.isoformat() + "Z"),
                 ("--window", edge.date().isoformat())):
        data = json.loads(console(root, "health", "m", *args, "--format", "json").stdout)
        lo, hi = (datetime.fromisoformat(data[k].removesuffix("Z")) for k in ("from", "to"))
        want = sum(lo <= r["ts"] <= hi for r in rows)
        assert sum(r["requests"] for r in data["table"]) == want, (args, data["from"], data["to"])
    assert data["from"] == edge.date().isoformat() + "T00:00:00Z"
