"""An operator's fifth pass: defects a QA pass found by running the installed command, each checked against
what the test wrote (hand counts, the values it typed).

- `snapshot --window/--from/--to` printed numbers over fixed spans (24 h of requests, 1 h of p95 and errors,
  6 h of drift before the window's end) without saying so; `--window 2026-07` printed zeros with no note. The
  spans stay fixed (the Overview is a glance at a moment), but every number's span is named (JSON `spans`, the
  text's headers, the TUI's DRIFT 6h), a window other than 24 h says what the numbers cover and where that
  window's numbers are, and empty spans say so, naming the newest row.
- The stale message read "no rows for 15m (allowed 15m)": rounded to the minute, both sides printed the same.
- An unknown version on `promote` or `rollback --to` exited 1 (refused) where the README's table says 2
  (usage: unknown environment, model or version); tested in test_cli_actions.test_exit_codes.
- Incident ids held the raw model name, control characters included, and ids are printed and copied.
- `rollup`: --since after --until exited 0 with "0 ranges"; one row dated 2999 made it build every day from
  the log's last to today (137 ranges for two days of rows); an unreachable `spark://` master cost ~70 s of
  Java stack traces, then one line with a literal "\\n".
- Time options: errors that did not name the option ("Invalid week: 53", "day is out of range for month"),
  `check`'s errors prefixed "TimeOptionError:", `--from` without `--to` starting a fraction of a second after
  the time given (the live end moved on and carried the start), `--at ""` taken as now.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
FIRST = datetime(2026, 7, 18)


def _workspace(tmp: Path, hours: int = 48, models=("clf",), registry: bool = False) -> Path:
    """A row every 10 minutes per model from FIRST for `hours`, one in five an error, latency 10 ms * i % 50."""
    lines = []
    for model in models:
        for i in range(hours * 6):
            ts = FIRST + timedelta(minutes=10 * i, seconds=1)
            lines.append(json.dumps({"ts": ts.isoformat() + "Z", "model": model, "request_id": f"{model}-{i}",
                                     "version": "2", "latency_ms": 10.0 * (i % 50),
                                     "status": "error" if i % 5 == 0 else "ok", "prediction": "1",
                                     "score": 0.5, "features": {"x": (i % 7) / 7}}))
    (tmp / "pred.jsonl").write_text("\n".join(lines) + "\n")
    cfg = tmp / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "pred*.jsonl"\n[store]\npath = "store"\n'
                   '[audit]\npath = "audit.jsonl"\n'
                   + (f'[registry]\ntracking_uri = "sqlite:///{tmp}/mlflow.db"\n' if registry else ''))
    return cfg


def _cli(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), *args],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("command", [("health", "clf"), ("check",)])
@pytest.mark.parametrize("option,value,reason", [
    ("--window", "2025-W53", "no ISO week 53 in 2025"),  # 2025 has 52 ISO weeks (2026 has 53)
    ("--window", "2026-02-30", "day is out of range for month"),
    ("--at", "2026-02-30T00:00Z", "day is out of range for month"),
    ("--from", "2026-02-30", "day is out of range for month"),
    ("--since", "2026-13-01", "month must be in 1..12"),
    ("--at", "", "--at is empty"),
    ("--window", "", "--window is empty"),
    # argparse took "-1d" for an option ("expected one argument"), and an epoch number for a basic ISO date
    ("--window", "-1d", "expected a window such as"),
    ("--since", "-2h", "expected an ISO time"),
    ("--at", "1720000000000", "a number, not an ISO time (as epoch milliseconds: 2024-07-03T09:46:40Z)"),
    ("--to", "1720000000", "a number, not an ISO time (as epoch seconds: 2024-07-03T09:46:40Z)"),
    ("--window", "99999999d", "reaches back before 1970"),  # was "a time option is out of range (date value ...)"
])
def test_a_bad_time_option_is_named_with_its_value(tmp_path, command, option, value, reason):
    cfg = _workspace(tmp_path, hours=2)
    extra = {"--from": ("--to", "2026-07-19"), "--to": ("--from", "2026-07-18")}.get(option, ())
    res = _cli(cfg, *command, option, value, *extra)
    assert res.returncode == 2, (res.returncode, res.stderr)
    [line] = res.stderr.strip().splitlines()
    assert reason in line and line.startswith(f"mlops-console: {option}"), line
    if value:
        assert repr(value) in line, line
    assert "TimeOptionError" not in line and "could not evaluate" not in line, line
    # said before any log is read: a cold store's whole ingest (tens of seconds at 10M rows) came first
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").rglob("*.parquet"))


def test_to_and_at_together_are_refused_not_one_ignored(tmp_path):
    """`--from T --to U --at V` read T to U and dropped --at without a word (probe B, twenty-ninth session), where a
    calendar period with --at is refused: both name the view's end, so both are refused alike."""
    cfg = _workspace(tmp_path, hours=2)
    res = _cli(cfg, "health", "clf", "--from", "2026-07-18T00:00Z", "--to", "2026-07-19T00:00Z",
               "--at", "2026-07-18T12:00Z")
    assert res.returncode == 2, (res.returncode, res.stderr)
    [line] = res.stderr.strip().splitlines()
    assert "--to or --at, not both" in line, line


def test_from_without_to_starts_exactly_where_asked(tmp_path):
    cfg = _workspace(tmp_path)
    res = _cli(cfg, "health", "clf", "--from", "2026-07-18T12:00Z", "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    # --from is the first instant in the window, and `range` says it as `from` does (test_report_range_ends.py:
    # it held the exclusive start, 11:59:59.999999, an instant whose row is not counted)
    assert data["range"][0] == data["from"] == "2026-07-18T12:00:00Z", data
    # the requests counted are those after 12:00 (rows at hh:m1:01; 48 h of them from 00:00:01 on the 18th)
    assert sum(r["requests"] for r in data["table"]) == 48 * 6 - 12 * 6, data["table"]


@pytest.mark.parametrize("after,said", [
    (timedelta(minutes=100, seconds=30), "no rows for 1h 40m 30s (allowed 1h 40m 00s)"),
    (timedelta(minutes=100, microseconds=400_000), "no rows for just over 1h 40m 00s (allowed 1h 40m 00s)"),
    (timedelta(minutes=101, seconds=30), "no rows for 1h 41m (allowed 1h 40m)"),
])
def test_the_stale_message_reads_true(tmp_path, after, said):
    """Rows every 10 minutes: the gap allowed is 10 times the usual gap, 100 minutes (README, stale source).
    In whole minutes a silence of 1h 40m 30s read "no rows for 1h 40m (allowed 1h 40m)"."""
    cfg = _workspace(tmp_path, hours=4)
    last = FIRST + timedelta(minutes=10 * (4 * 6 - 1), seconds=1)
    at = (last + after).isoformat() + "Z"
    res = _cli(cfg, "check", "--at", at, "--format", "json")
    assert res.returncode == 1, res.stderr
    [stale] = [i for i in json.loads(res.stdout)["incidents"] if i["kind"] == "stale_minutes"]
    assert stale["detail"].startswith(said + ";"), stale["detail"]


def test_incident_ids_hold_no_control_character_and_stay_unique(tmp_path):
    """Two models whose names differ only by a control character against its escaped spelling: their ids
    differ, hold no control or bidi character, and `ack` takes each back as printed."""
    evil, lookalike = "bad\x1b]0;x\x07\u202e", "bad%1B]0;x%07%u202E"
    cfg = _workspace(tmp_path, hours=2, models=("clf", evil, lookalike), registry=True)  # `ack` audits through it
    at = (FIRST + timedelta(hours=6)).isoformat() + "Z"
    res = _cli(cfg, "check", "--at", at, "--format", "json")
    assert res.returncode == 1, res.stderr
    ids = {i["model"]: i["id"] for i in json.loads(res.stdout)["incidents"] if i["kind"] == "stale_minutes"}
    silence = f"{FIRST + timedelta(minutes=10 * (2 * 6 - 1)):%Y%m%dT%H%M}"  # the newest row: the silence's start
    assert ids == {"clf": f"clf:stale:{silence}", evil: f"bad%1B]0;x%07%u202E:stale:{silence}",
                   lookalike: f"bad%251B]0;x%2507%25u202E:stale:{silence}"}, ids
    text = _cli(cfg, "check", "--at", at)
    assert f"id: bad%1B]0;x%07%u202E:stale:{silence}" in text.stdout and "\x1b" not in text.stdout, text.stdout
    for model, incident in ids.items():
        res = _cli(cfg, "ack", incident, "--reason", "known", "--at", at)
        assert res.returncode == 0, (model, res.stderr)
    res = _cli(cfg, "check", "--at", at, "--format", "json")
    assert res.returncode == 0 and json.loads(res.stdout)["acknowledged"] == 3, res.stdout


def _rollup_workspace(tmp: Path) -> Path:
    cfg = _workspace(tmp)
    with (tmp / "pred.jsonl").open("a") as f:  # one row from a broken clock
        f.write(json.dumps({"ts": "2999-01-01T00:00:00Z", "model": "clf", "request_id": "skew", "version": "2",
                            "latency_ms": 1.0, "status": "ok", "prediction": "1", "score": 0.5,
                            "features": {"x": 0.5}}) + "\n")
    cfg.write_text(cfg.read_text() + '[rollups]\npath = "rollups"\n')
    return cfg


def test_rollup_stops_at_the_clock_skew_horizon_and_refuses_an_empty_range(tmp_path):
    cfg = _rollup_workspace(tmp_path)
    bad = _cli(cfg, "rollup", "--since", "2026-07-19", "--until", "2026-07-18")
    assert bad.returncode == 2 and "must be before --until" in bad.stderr, (bad.returncode, bad.stderr)
    assert not (tmp_path / "rollups" / "_state.json").exists()
    res = _cli(cfg, "rollup", "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    # two days of rows (the 18th and the 19th), one range each; the row dated 2999 is past the horizon
    assert out["ranges_built"] == 2 and out["rows"] == 48 * 6, out
    state = json.loads((tmp_path / "rollups" / "_state.json").read_text())
    assert state["built_until"] == "2026-07-20T00:00:00", state


def test_rollup_counts_and_names_the_rows_it_leaves_past_its_end(tmp_path):
    """`rollup` left rows past its end unsaid: the row dated 2999 (clock skew), the rows at or after --until, the
    open hour. Its summary now counts them by why, from the build's end, in JSON and text; hand counts."""
    cfg = _rollup_workspace(tmp_path)
    ts = [FIRST + timedelta(minutes=10 * i, seconds=1) for i in range(48 * 6)]
    res = _cli(cfg, "rollup", "--since", "2026-07-18", "--until", "2026-07-19T06:30Z", "--format", "json",
               "--no-ready")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    until = datetime(2026, 7, 19, 6)  # --until's hour is not whole: the build ends at its start
    assert out["rows"] == sum(t < until for t in ts)
    assert out["rows_left"] == {"until": sum(t >= until for t in ts), "clock_skew": 1}, out
    assert out["rows_left_from"] == "2026-07-19T06:00:00Z"
    res = _cli(cfg, "rollup", "--no-ready")
    assert res.returncode == 0, res.stderr
    [line] = res.stdout.splitlines()
    assert line.endswith("; 1 row(s) left from 2026-07-20T00:00Z: 1 dated past the clock-skew horizon "
                         "([ingest] future_tolerance; set aside as the store does)"), line


def test_the_rows_of_the_open_hour_are_counted_as_left(tmp_path):
    """At a clock inside the log (12:30 on its second day, horizon 5 min later): the rows from 12:00 to the
    horizon are the open hour's, those after it and the one dated 2999 are clock skew (hand counts)."""
    from console import rollup_engine
    from console.config import parse_file

    cfg = parse_file(_rollup_workspace(tmp_path))
    now = datetime(2026, 7, 19, 12, 30)
    horizon = now + timedelta(minutes=5)
    out = rollup_engine.catch_up([s for s in cfg.logs if s.kind == "predictions"], [], tmp_path / "r", now=now,
                                 models=cfg.models, since=FIRST, horizon=horizon)
    ts = [FIRST + timedelta(minutes=10 * i, seconds=1) for i in range(48 * 6)]
    hour = datetime(2026, 7, 19, 12)
    assert out.rows == sum(t < hour for t in ts) and out.left_from == hour
    assert out.left == {"open_hour": sum(hour <= t <= horizon for t in ts),
                        "clock_skew": sum(t > horizon for t in ts) + 1}, out.left


def test_rollup_with_an_unreachable_spark_master_says_so_in_one_line(tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = _rollup_workspace(tmp_path)
    res = _cli(cfg, "rollup", "--engine", "spark", "--master", f"spark://127.0.0.1:{port}")
    assert res.returncode == 4, (res.returncode, res.stderr)
    [line] = res.stderr.strip().splitlines()
    assert line.startswith(f"mlops-console: rollup: Spark master spark://127.0.0.1:{port} unreachable"), line
    assert "waited up to 5 s" in line and "\\n" not in line and "java" not in line.lower(), line


class _NotSpark:
    """A plain TCP listener on 127.0.0.1 that accepts every connection, then per `mode`: holds it silent, closes
    it at once, or answers as a web server would (another service on the port a master was expected on)."""

    def __init__(self, mode: str):
        import socket
        import threading

        self.mode, self.server = mode, socket.create_server(("127.0.0.1", 0))
        self.port, self.held = self.server.getsockname()[1], []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            if self.mode == "close":
                conn.close()
            elif self.mode == "http":
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                conn.close()
            elif self.mode == "h2":  # an HTTP/2 server's first frame: its SETTINGS (empty), on stream 0
                conn.recv(1024)
                conn.sendall(bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
                self.held.append(conn)
            else:
                self.held.append(conn)

    def close(self) -> None:
        self.server.close()
        for conn in self.held:
            conn.close()


@pytest.mark.parametrize("mode", ["silent", "close", "http"])
def test_rollup_against_a_port_that_is_not_a_spark_master_says_so_in_one_line(tmp_path, mode):
    """A `spark://` master whose port accepts TCP but is no Spark master cost Spark's 60-70 s of registration
    retries and Java stack traces on the terminal (the TCP check passed). The console now asks the port one
    Spark RPC request (Spark's own transport framing) first: no Spark answer within 5 s is one line naming the
    master and what the port did, exit 4, and no JVM is started (its log file is never opened)."""
    listener = _NotSpark(mode)
    log = tmp_path / "jvm.log"
    try:
        cfg = _rollup_workspace(tmp_path)
        env = {**os.environ, "PYTHONPATH": SRC, "MLOPS_CONSOLE_SPARK_LOG": str(log)}
        res = subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), "rollup", "--engine", "spark",
                              "--master", f"spark://127.0.0.1:{listener.port}"],
                             capture_output=True, text=True, env=env, timeout=300)
    finally:
        listener.close()
    assert res.returncode == 4, (res.returncode, res.stderr)
    [line] = res.stderr.strip().splitlines()
    assert line.startswith(f"mlops-console: rollup: Spark master spark://127.0.0.1:{listener.port} is not a Spark "
                           f"master (127.0.0.1:{listener.port} "), line
    said = {"silent": "gave no Spark answer", "close": "closed it without a Spark answer",
            "http": "answered, but not as Spark does"}[mode]
    assert said in line and "waited up to 5 s" in line and "java" not in line.lower(), line
    assert not log.exists() and not res.stdout


def test_a_spark_rollup_keeps_the_jvm_output_off_the_terminal(tmp_path):
    """`rollup --engine spark` on local[1]: the JVM's own lines (spark-submit's, log4j's) go to the log file it
    names on stderr; stderr holds only the console's lines. Its Python workers run the console's own interpreter,
    not the `python3` on PATH (from a virtualenv that one lacks pyarrow: "No module named 'pyarrow'")."""
    log = tmp_path / "jvm.log"
    cfg = _rollup_workspace(tmp_path)
    elsewhere = tmp_path / "path-bin"  # a PATH whose python3 is not the console's
    elsewhere.mkdir()
    for name in ("python3", "python"):
        (elsewhere / name).write_text("#!/bin/sh\necho 'not the console interpreter' >&2\nexit 3\n")
        (elsewhere / name).chmod(0o755)
    env = {**os.environ, "PYTHONPATH": SRC, "MLOPS_CONSOLE_SPARK_LOG": str(log), "SPARK_LOCAL_IP": "127.0.0.1",
           "PATH": f"{elsewhere}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYSPARK_PYTHON", None)
    res = subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), "rollup", "--engine", "spark",
                          "--master", "local[1]", "--no-ready", "--format", "json"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["rows"] == 48 * 6
    assert f"Spark on local[1]: the JVM's output is in {log}" in res.stderr
    console_lines = ("Spark on ", "built ", "compacted ")
    assert all(line.startswith(console_lines) for line in res.stderr.splitlines()), res.stderr
    assert log.stat().st_size > 0 and "mlops-console: Spark session started by pid" in log.read_text()


def test_a_failing_spark_job_is_one_line_naming_the_workers_error(tmp_path):
    """A job that fails in Spark's Python workers (here the operator's own PYSPARK_PYTHON, which the console keeps,
    cannot start) is one line on stderr with the worker's words and the JVM log, exit 4: not Py4J's message with
    the JVM's stack of a hundred lines folded into it."""
    log = tmp_path / "jvm.log"
    cfg = _rollup_workspace(tmp_path)
    broken = tmp_path / "python-broken"
    broken.write_text("#!/bin/sh\necho 'this python is broken' >&2\nexit 3\n")
    broken.chmod(0o755)
    env = {**os.environ, "PYTHONPATH": SRC, "MLOPS_CONSOLE_SPARK_LOG": str(log), "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": str(broken)}
    res = subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), "rollup", "--engine", "spark",
                          "--master", "local[1]", "--no-ready"], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 4, res.stderr
    failed = [line for line in res.stderr.splitlines() if not line.startswith(("Spark on ", "built "))]
    assert failed == [f"mlops-console: rollup: Spark job on local[1] failed: this python is broken; "
                      f"JVM output in {log}"], res.stderr


def test_the_line_a_spark_failure_is_said_in():
    """Py4J's and PySpark's messages as Spark 4 words them: the worker's own words, a traceback's last exception
    (not the JVM's stack after it), a JVM cause."""
    from console.spark.rollup_job import job_error

    worker = RuntimeError("An error occurred while calling o91.collectToPython.\n: org.apache.spark.SparkException: "
                          "Job aborted due to stage failure: ...\nError from python worker:\n  not this python\n"
                          "PYTHONPATH was:\n  /x.zip\norg.apache.spark.SparkException: EOFException\n\tat a.b(C.scala:55)")
    traceback = RuntimeError("An exception was thrown from the Python worker:\nTraceback (most recent call last):\n"
                             '  File "worker.py", line 4207, in invoke_udf\n    func = read_udfs(\n'
                             "ModuleNotFoundError: No module named 'pyarrow'\n\nJVM stacktrace:\n"
                             "org.apache.spark.SparkException: Job aborted\n\tat a.b(C.scala:1)")
    cause = RuntimeError("An error occurred while calling o1.save.\n: x\nCaused by: java.io.IOException: "
                         "No space left on device\n\tat a.b(C.java:2)")
    assert [job_error(e) for e in (worker, traceback, cause)] == [
        "not this python", "ModuleNotFoundError: No module named 'pyarrow'", "java.io.IOException: No space left on device"]


def test_snapshot_names_the_span_of_each_number_and_an_empty_one(tmp_path):
    cfg = _workspace(tmp_path)  # rows from 2026-07-18 00:00:01 to 2026-07-19 23:50:01, every 10 minutes
    res = _cli(cfg, "snapshot", "--window", "2026-07", "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["spans"]["requests"] == {"span": "24h", "from": "2026-07-31T00:00:00Z",
                                        "to": "2026-07-31T23:59:59.999999Z", "what": "requests (REQ 24H)"}
    assert out["spans"]["drift"]["span"] == "6h" and out["spans"]["p95_latency_ms"]["span"] == "1h"
    assert [m["requests"] for m in out["models"]] == [0]
    assert "--window 2026-07 asks for the window 31d (2026-07-01T00:00:00Z to 2026-07-31T23:59:59.999999Z)" \
        in out["window_note"] and "fixed spans" in out["window_note"]
    assert out["note"] == ("no rows in the 24h before 2026-07-31T23:59:59.999999Z; "
                           "the newest row is at 2026-07-19T23:50:01Z"), out["note"]
    text = _cli(cfg, "snapshot", "--window", "2026-07")
    assert "DRIFT 6H" in text.stdout and "P95 MS 1H" in text.stdout and "REQ 24H" in text.stdout, text.stdout
    assert "--window 2026-07 asks for the window 31d" in text.stdout and "the newest row is at 2026-07-19T23:50:01Z" in text.stdout

    # a 36 h range: the numbers are those of the spans ending at --to, counted here by hand
    res = _cli(cfg, "snapshot", "--from", "2026-07-18T00:00Z", "--to", "2026-07-19T12:00Z", "--format", "json")
    out = json.loads(res.stdout)
    assert out["spans"]["requests"]["from"] == "2026-07-18T12:00:00Z" and "note" not in out
    assert "--from 2026-07-18T00:00Z --to 2026-07-19T12:00Z asks for the window 36h (2026-07-18T00:00:00Z to " \
           "2026-07-19T11:59:59.999999Z)" in out["window_note"]  # [from, to), as a calendar period
    ts = [FIRST + timedelta(minutes=10 * i, seconds=1) for i in range(48 * 6)]
    end = datetime(2026, 7, 19, 12)
    day = [i for i, t in enumerate(ts) if end - timedelta(hours=24) < t <= end]
    hour = [i for i, t in enumerate(ts) if end - timedelta(hours=1) < t <= end]
    [clf] = out["models"]
    assert clf["requests"] == len(day) == 144 and clf["requests_1h"] == len(hour) == 6
    assert clf["p95_latency_ms"] == pytest.approx(np.quantile([10.0 * (i % 50) for i in hour], 0.95))
    assert clf["error_rate"] == pytest.approx(sum(i % 5 == 0 for i in hour) / len(hour))
    # the Overview's own 24 h: nothing to say
    res = _cli(cfg, "snapshot", "--at", "2026-07-19T12:00Z", "--format", "json")
    out = json.loads(res.stdout)
    assert "window_note" not in out and "note" not in out, out


@pytest.mark.parametrize("mode", ["silent", "close", "http", "h2"])
def test_an_sc_master_is_asked_for_http2_not_only_a_tcp_connection(mode):
    """An `sc://` (Spark Connect) master passed on a TCP connection alone: another service on the port (a web
    server, one that says nothing, one that hangs up) got as far as the Spark session. It is now asked HTTP/2's
    preface, which a gRPC server (Spark Connect's) answers with a SETTINGS frame: anything else is refused
    in one line naming what the port did; a peer that answers as HTTP/2 passes."""
    from console.spark.rollup_job import SparkUnavailable, reach

    listener = _NotSpark(mode)
    master = f"sc://127.0.0.1:{listener.port}"
    try:
        if mode == "h2":
            reach(master, wait_s=5)
            return
        with pytest.raises(SparkUnavailable) as err:
            reach(master, wait_s=2)
    finally:
        listener.close()
    said = {"silent": "gave no HTTP/2 answer", "close": "closed it without an HTTP/2 answer",
            "http": "answered, but not as an HTTP/2 (gRPC) server does"}[mode]
    line = str(err.value)
    assert line.startswith(f"Spark master {master} is not a Spark Connect (gRPC) server (127.0.0.1:{listener.port} ")
    assert said in line and "\n" not in line, line
