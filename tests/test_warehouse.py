"""The warehouse reads only what was appended, sets bad rows aside with their reason, and keeps the rest."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from console.config import Config, LogSource
from console.warehouse import Warehouse


def row(i: int, **extra) -> dict:
    base = {"ts": f"2026-11-25T06:{i // 60:02d}:{i % 60:02d}Z", "model": "m", "version": "1",
            "request_id": f"r{i}", "latency_ms": 10 + i, "features": {"x": i / 2}, "channel": "web"}
    base.update(extra)
    return base


def jsonl(path: Path, rows: list, mode: str = "w") -> None:
    with open(path, mode) as fh:
        for r in rows:
            fh.write((r if isinstance(r, str) else json.dumps(r)) + "\n")


def wh(*sources: LogSource, **kwargs) -> Warehouse:
    return Warehouse(Config(source=None, root=Path("."), logs=tuple(sources)), **kwargs)


def counts(w: Warehouse) -> dict:
    return dict(zip(("predictions", "labels", "deployments", "malformed", "last"), w.one("counts")))


def test_malformed_rows_are_set_aside_and_good_rows_kept(tmp_path):
    p = tmp_path / "p.jsonl"
    jsonl(p, [row(0), "{not json", row(1, latency_ms="fast"), row(2, request_id=None) | {"request_id": None},
              json.dumps([1, 2]), row(3, ts="yesterday"), row(4, status=503), row(5)])
    w = wh(LogSource("predictions", str(p)))
    stats = w.refresh()
    assert stats.rows == {"predictions": 3} and stats.malformed == 5
    reasons = {r["reason"]: r["n"] for r in w.frame("malformed_summary").to_dicts()}
    assert reasons == {"invalid JSON": 1, "latency_ms is not a number": 1, "missing request_id": 1,
                       "not a JSON object": 1, "ts is not a timestamp": 1}
    kept = w.cursor().execute("SELECT request_id, is_error, x FROM predictions ORDER BY ts").fetchall()
    assert kept == [("r0", False, 0.0), ("r4", True, 2.0), ("r5", False, 2.5)]
    located = {r[0]: r[1] for r in w.cursor().execute("SELECT reason, location FROM malformed").fetchall()}
    assert located["invalid JSON"] == "2" and located["missing request_id"] == "4"


def test_refresh_reads_only_what_was_appended(tmp_path):
    p = tmp_path / "p.jsonl"
    jsonl(p, [row(i) for i in range(100)])
    w = wh(LogSource("predictions", str(p)))
    assert w.refresh().rows == {"predictions": 100}
    assert w.refresh().rows == {}
    jsonl(p, [row(i) for i in range(100, 130)], mode="a")
    assert w.refresh().rows == {"predictions": 30}
    assert counts(w)["predictions"] == 130
    [cur] = [c for files in w.manifest.cursors.values() for c in files.values()]
    assert cur["offset"] == p.stat().st_size and cur["line_no"] == 130


def test_a_partial_last_line_waits_for_its_writer_then_is_set_aside(tmp_path):
    p = tmp_path / "p.jsonl"
    jsonl(p, [row(0)])
    with open(p, "a") as fh:
        fh.write(json.dumps(row(1))[:20])
    clock = {"t": 1000.0}
    w = wh(LogSource("predictions", str(p)), wall=lambda: clock["t"], grace_s=30.0)
    assert w.refresh().rows == {"predictions": 1}
    assert counts(w)["malformed"] == 0  # the writer may still finish the line
    with open(p, "a") as fh:  # it does
        fh.write(json.dumps(row(1))[20:] + "\n")
    assert w.refresh().rows == {"predictions": 1}
    with open(p, "a") as fh:
        fh.write('{"ts": "2026-11-25T07:00:00Z", "mod')
    w.refresh()
    clock["t"] += 20
    assert w.refresh().malformed == 0  # a writer pausing mid-line within the grace loses nothing
    clock["t"] += 11
    stats = w.refresh()  # unchanged for longer than the grace: truncated for good
    assert stats.malformed == 1
    assert w.rows("malformed_summary")[0][1] == "truncated last line (no newline)"
    assert counts(w)["predictions"] == 2
    # the writer comes back after the grace and ends the line, then goes on (thirtieth session's data-path probe:
    # the line's rest was set aside again as "invalid JSON", one row counted malformed twice)
    jsonl(p, ['el": "m"}', row(2), row(3)], mode="a")
    stats = w.refresh()
    assert stats.rows == {"predictions": 2} and stats.malformed == 0
    assert counts(w)["predictions"] == 4 and counts(w)["malformed"] == 1
    # a line cut by a writer that died, then a whole row written on by the next one: the row is kept
    with open(p, "a") as fh:
        fh.write('{"ts": "2026-11-25T07:01:00Z", "mod')
    w.refresh()
    clock["t"] += 31
    assert w.refresh().malformed == 1
    jsonl(p, [row(4), row(5)], mode="a")
    stats = w.refresh()
    assert stats.rows == {"predictions": 2} and stats.malformed == 0
    assert counts(w)["malformed"] == 2


def test_a_field_only_a_row_set_aside_holds_is_no_new_field(tmp_path):
    """Thirtieth session's data-path probe: a row set aside (no model) said "new field 'bogus'" of the store."""
    p = tmp_path / "p.jsonl"
    jsonl(p, [row(i) for i in range(5)])
    w = wh(LogSource("predictions", str(p)))
    w.refresh()
    jsonl(p, [{"ts": "2026-11-25T07:00:00Z", "bogus": 1}, row(5), row(6)], mode="a")
    stats = w.refresh()
    assert stats.malformed == 1 and stats.rows == {"predictions": 2}
    assert [n for n in stats.notes if "new field" in n] == []
    jsonl(p, [row(7, bogus=2)], mode="a")  # a kept row holds it now
    assert [n for n in w.refresh().notes if "new field" in n] == ["predictions: new field 'bogus'"]


def test_rotated_file_is_read_from_the_start(tmp_path):
    p = tmp_path / "p.jsonl"
    jsonl(p, [row(i) for i in range(50)])
    w = wh(LogSource("predictions", str(p)))
    w.refresh()
    jsonl(p, [row(i) for i in range(200, 205)])  # truncated and rewritten, smaller
    assert w.refresh().rows == {"predictions": 5}


def test_csv_labels_and_parquet_predictions(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("request_id,label,ts\nr0,1,2026-11-25T07:00:00Z\nr1,0\nr2,0,2026-11-25T07:00:00Z\n"
                      "r3,1,not-a-time\n")
    frame = pl.DataFrame([row(i) | {"features": None, "x": float(i)} for i in range(10)]).drop("features")
    frame.write_parquet(tmp_path / "p.parquet")
    w = wh(LogSource("labels", str(labels)), LogSource("predictions", str(tmp_path / "*.parquet")))
    stats = w.refresh()
    assert stats.rows == {"labels": 2, "predictions": 10} and stats.malformed == 2
    bad = dict(w.cursor().execute("SELECT location, reason FROM malformed ORDER BY location").fetchall())
    assert bad == {"3": "CSV row has 2 fields, expected 3", "5": "ts is not a timestamp"}
    with open(labels, "a") as fh:
        fh.write("r4,1,2026-11-25T08:00:00Z\n")
    assert w.refresh().rows == {"labels": 1}
    x = w.cursor().execute("SELECT sum(x) FROM predictions").fetchone()[0]
    assert x == sum(range(10))


def test_deployment_events_and_missing_sources(tmp_path):
    d = tmp_path / "deployments.jsonl"
    jsonl(d, [{"ts": "2026-11-25T05:00:00Z", "model": "m", "version": 3, "environment": "production",
               "strategy": "canary", "traffic_pct": 25, "action": "canary-step", "actor": "ci", "reason": "r"},
              {"ts": "2026-11-25T05:00:00Z", "model": "m", "version": 3, "traffic_pct": "lots"}])
    w = wh(LogSource("deployments", str(d)), LogSource("predictions", str(tmp_path / "none/*.jsonl")))
    stats = w.refresh()
    assert stats.rows == {"deployments": 1} and stats.malformed == 1
    assert stats.missing == (str(tmp_path / "none/*.jsonl"),)


def test_a_persisted_warehouse_resumes_where_it_stopped(tmp_path, monkeypatch):
    from console.config import parse_file
    from console.warehouse import cache_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    p = tmp_path / "p.jsonl"
    jsonl(p, [row(i) for i in range(40)] + ["{broken"])
    config = tmp_path / "mlops-console.toml"
    config.write_text('[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n')
    cfg = parse_file(config)
    db = cache_path(cfg)
    assert db is not None and db.parent == tmp_path / "cache" / "mlops-console"

    first = Warehouse(cfg, db)
    assert first.persistent and first.refresh().rows == {"predictions": 40}
    first.close()
    jsonl(p, [row(i) for i in range(40, 55)], mode="a")

    second = Warehouse(cfg, db)  # a relaunch: history is already there, only the appended rows are read
    assert counts(second)["predictions"] == 40 and counts(second)["malformed"] == 1
    stats = second.refresh()
    assert stats.rows == {"predictions": 15} and stats.malformed == 0
    assert counts(second)["predictions"] == 55

    # another console process on this box shares the same store: it sees every row, and reads nothing again
    import subprocess
    import sys

    probe = ("from console.config import parse_file; from console.warehouse import Warehouse, cache_path; "
             f"cfg = parse_file({str(config)!r}); w = Warehouse(cfg, cache_path(cfg)); "
             "print(w.persistent, w.refresh().rows, w.one('counts')[0])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")})
    assert out.stdout.split() == ["True", "{}", "55"]
    second.close()

    config.write_text(config.read_text() + "\n")  # an edited config keeps its store (no orphan caches)
    assert cache_path(parse_file(config)) == db


def test_closing_while_a_query_runs_stops_it_and_closes(tmp_path):
    """DuckDB refuses to close a connection a cursor is busy on (a screen's fetch in flight as the console
    leaves): the query is interrupted and the store closes, within seconds, not with an error."""
    import threading
    import time

    store = wh()
    started, failed = threading.Event(), []

    def long_query() -> None:
        try:
            with store.cursor() as cur:
                started.set()
                cur.execute("SELECT sum(i) FROM range(1000000000000) t(i)").fetchall()
        except Exception as exc:  # noqa: BLE001 - the interrupted query's error is what this thread expects
            failed.append(exc)

    worker = threading.Thread(target=long_query)
    worker.start()
    assert started.wait(10)
    time.sleep(0.2)  # the query is running
    store.close()  # raised ResourceInUseException before
    worker.join(10)
    assert not worker.is_alive() and failed
