"""A source in S3 that fails and comes back, through one running console: a missing bucket, a server that
stops answering, a server that is down, a wrong key. Each failure is one line naming the path (never a
secret); the console keeps what it has (the rows it read, counts of the objects it knows) and the next
refresh tries again. Against moto on 127.0.0.1, behind a relay that can go silent or refuse (`Switch`)."""

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

from console.config import Config, LogSource, S3Storage
from console.service import Service
from s3_server import Switch, s3_auth_server, s3_server  # noqa: F401  (session fixtures)

END = datetime(2026, 11, 30)
SECRET = "moto-accepts-any-secret"


def _table(n: int, start: datetime, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "ts": pa.array([start + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 3600, n))],
                       pa.timestamp("us")),
        "model": rng.choice(["a", "b"], n), "version": np.full(n, "1"),
        "request_id": [f"{seed}-{i}" for i in range(n)], "latency_ms": rng.gamma(2, 20, n)})


def _put(client, bucket: str, key: str, table: pa.Table, tmp: Path) -> None:
    pq.write_table(table, tmp / "up.parquet")
    client.put_object(Bucket=bucket, Key=key, Body=(tmp / "up.parquet").read_bytes())


def _storage(endpoint: str, key_id: str, secret: str) -> S3Storage:
    return S3Storage(endpoint_url=endpoint, region="us-east-1", access_key_id=key_id, secret_access_key=secret)


def _note(stats, path: str) -> str:
    """The one note naming `path`."""
    mine = [n for n in stats.notes if path in n]
    assert len(mine) == 1, stats.notes
    assert "\n" not in mine[0] and SECRET not in mine[0] and "Traceback" not in mine[0]
    return mine[0]


def _check(cfg: Path) -> subprocess.CompletedProcess:
    """`check --format json` at END in a fresh process, as cron runs it."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    return subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), "check", "--format", "json",
                           "--at", END.isoformat()], capture_output=True, text=True, env=env, timeout=120)


def _s3_config(cfg: Path, relay, s3_server, logs: str) -> Path:  # noqa: F811 - the fixtures, passed in
    cfg.write_text('[store]\npath = "store"\n[audit]\npath = "audit.jsonl"\n' + logs +
                   f'[storage.s3]\nendpoint_url = "{relay.endpoint}"\nregion = "us-east-1"\n'
                   f'access_key_id = "{s3_server.access_key_id}"\nsecret_access_key = "{SECRET}"\n')
    return cfg


@pytest.fixture
def relay(s3_server):  # noqa: F811
    switch = Switch(s3_server.endpoint)
    yield switch
    switch.close()


def test_a_server_that_stops_answering_or_goes_down_costs_one_note_per_refresh(s3_server, relay, tmp_path):  # noqa: F811
    client = s3_server.client()
    client.create_bucket(Bucket="flaky")
    _put(client, "flaky", "logs/date=2026-11-29/a.parquet", _table(200, END - timedelta(hours=2), 1), tmp_path)
    path = "s3://flaky/logs/"
    cfg = Config(source=None, root=tmp_path, store_path=str(tmp_path / "store"),
                 s3=_storage(relay.endpoint, s3_server.access_key_id, SECRET),
                 logs=(LogSource("predictions", path, "parquet"),))
    svc = Service(cfg, clock=lambda: END)
    try:
        assert not [n for n in svc.refresh().notes if path in n]
        assert svc.warehouse.counts()[0] == 200

        relay.set("silent")  # accepts, never answers: the short request timeout ends the refresh
        note = _note(svc.refresh(), path)
        assert note.startswith(f"{path}: no answer from {relay.endpoint}") and "network timeout" in note
        assert "showing what was read before" in note
        assert svc.warehouse.counts()[0] == 200 and svc.warehouse.models_seen() == ["a", "b"]

        relay.set("closed")
        note = _note(svc.refresh(), path)
        assert note.startswith(f"{path}: ") and relay.endpoint in note, note
        assert svc.warehouse.counts()[0] == 200

        # back: the next refresh reads what came meanwhile
        relay.set("forward")
        _put(client, "flaky", "logs/date=2026-11-29/b.parquet", _table(50, END - timedelta(hours=1), 2), tmp_path)
        assert not [n for n in svc.refresh().notes if path in n]
        assert svc.warehouse.counts()[0] == 250
    finally:
        svc.close()


def test_a_bucket_created_later_is_read_at_the_next_refresh(s3_server, tmp_path):  # noqa: F811
    path = "s3://later-bucket/logs/"
    cfg = Config(source=None, root=tmp_path, store_path=str(tmp_path / "store"),
                 s3=_storage(s3_server.endpoint, s3_server.access_key_id, SECRET),
                 logs=(LogSource("predictions", path, "parquet"),))
    svc = Service(cfg, clock=lambda: END)
    try:
        assert _note(svc.refresh(), path) == f"{path}: bucket does not exist"
        assert svc.warehouse.counts()[0] == 0
        client = s3_server.client()
        client.create_bucket(Bucket="later-bucket")
        _put(client, "later-bucket", "logs/date=2026-11-29/a.parquet", _table(30, END - timedelta(hours=1), 3),
             tmp_path)
        assert not [n for n in svc.refresh().notes if path in n]
        assert svc.warehouse.counts()[0] == 30
    finally:
        svc.close()


def test_an_object_that_is_not_parquet_costs_only_itself_and_is_named(s3_server, tmp_path):  # noqa: F811
    """A cut upload or a stray file under the prefix: the other objects are read, the note names the object (as a
    local folder's unreadable file is named), and the object is read again once it is replaced."""
    client = s3_server.client()
    client.create_bucket(Bucket="cut")
    _put(client, "cut", "logs/date=2026-11-29/a.parquet", _table(120, END - timedelta(hours=2), 6), tmp_path)
    bad = "logs/date=2026-11-29/corrupt.parquet"
    client.put_object(Bucket="cut", Key=bad, Body=b"PAR1" + b"\x00garbage" * 100 + b"PAR1")
    path = "s3://cut/logs/"
    cfg = Config(source=None, root=tmp_path, store_path=str(tmp_path / "store"),
                 s3=_storage(s3_server.endpoint, s3_server.access_key_id, SECRET),
                 logs=(LogSource("predictions", path, "parquet"),))
    svc = Service(cfg, clock=lambda: END)
    try:
        note = _note(svc.refresh(), f"s3://cut/{bad}")
        assert note.startswith(f"s3://cut/{bad}: unreadable Parquet file: "), note
        assert not svc.warehouse.source_notes()  # the prefix is not set aside
        assert svc.warehouse.counts()[0] == 120
        _note(svc.refresh(), f"s3://cut/{bad}")  # said on every refresh while it is there, as a local file is
        _put(client, "cut", bad, _table(30, END - timedelta(hours=1), 7), tmp_path)  # replaced: read
        assert not [n for n in svc.refresh().notes if "unreadable" in n]
        assert svc.warehouse.counts()[0] == 150
    finally:
        svc.close()


def test_the_cli_names_a_wrong_key_and_still_reports_the_local_log(s3_auth_server, tmp_path):  # noqa: F811
    """A wrong secret on a server that checks keys: `snapshot` says so on stderr in one line naming the path,
    prints the local log's rows on stdout, and neither stream holds the secret."""
    srv = s3_auth_server
    client = srv.client()
    client.create_bucket(Bucket="keyed")
    _put(client, "keyed", "logs.parquet", _table(40, END - timedelta(hours=1), 4), tmp_path)
    local = tmp_path / "local.parquet"
    pq.write_table(_table(25, END - timedelta(hours=1), 5), local)
    wrong = "wrong-secret-value-123"
    (tmp_path / "mlops-console.toml").write_text(
        '[workspace]\nname = "keys"\n[store]\npath = "store"\n'
        '[[logs]]\nkind = "predictions"\npath = "s3://keyed/logs.parquet"\nformat = "parquet"\n'
        f'[[logs]]\nkind = "predictions"\npath = "{local}"\nformat = "parquet"\n'
        f'[storage.s3]\nendpoint_url = "{srv.endpoint}"\nregion = "us-east-1"\n'
        f'access_key_id = "{srv.access_key_id}"\nsecret_access_key = "${{KEYED_SECRET}}"\n')
    env = {**os.environ, "KEYED_SECRET": wrong, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    out = subprocess.run([sys.executable, "-m", "console", "--config", str(tmp_path / "mlops-console.toml"),
                          "snapshot", "--format", "json", "--at", END.isoformat()],
                         capture_output=True, text=True, env=env, timeout=120)
    lines = [line for line in out.stderr.splitlines() if "s3://keyed/logs.parquet" in line]
    assert len(lines) == 1 and "secret key does not match" in lines[0], out.stderr
    assert wrong not in out.stderr + out.stdout and srv.secret_access_key not in out.stderr + out.stdout
    assert "Traceback" not in out.stderr
    assert json.loads(out.stdout)["counts"]["predictions"] == 25


def test_check_is_not_an_all_clear_when_the_rules_cannot_read_the_rows(s3_server, relay, tmp_path):  # noqa: F811
    """`check` with its S3 source down read the store's counts but no row: every model's evaluation failed, and
    it printed "0 firing" and exited 0, the gate's all clear (README: `check` exits 2 when it could not
    evaluate). It now names each model it could not evaluate on stderr, in JSON too, and exits 2."""
    client = s3_server.client()
    client.create_bucket(Bucket="gate")
    _put(client, "gate", "logs/date=2026-11-29/a.parquet", _table(300, END - timedelta(hours=1), 6), tmp_path)
    cfg = _s3_config(tmp_path / "mlops-console.toml", relay, s3_server,
                     '[[logs]]\nkind = "predictions"\npath = "s3://gate/logs/"\nformat = "parquet"\n')
    up = _check(cfg)
    assert up.returncode in (0, 1) and json.loads(up.stdout)["could_not_evaluate"] == [], up.stderr
    relay.set("closed")
    down = _check(cfg)
    assert down.returncode == 2, (down.returncode, down.stdout, down.stderr)
    assert json.loads(down.stdout)["could_not_evaluate"] == ["a", "b"]
    lines = [line for line in down.stderr.splitlines() if "could not evaluate" in line]
    assert len(lines) == 2 and "Traceback" not in down.stderr and SECRET not in down.stderr, down.stderr


def _workspace(tmp_path: Path, endpoint: str, key_id: str, bucket: str, local: Path) -> Path:
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[store]\npath = "store"\n[audit]\npath = "audit.jsonl"\n'
                   f'[[logs]]\nkind = "predictions"\npath = "s3://{bucket}/logs/"\nformat = "parquet"\n'
                   f'[[logs]]\nkind = "predictions"\npath = "{local}"\nformat = "parquet"\n'
                   f'[storage.s3]\nendpoint_url = "{endpoint}"\nregion = "us-east-1"\n'
                   f'access_key_id = "{key_id}"\nsecret_access_key = "{SECRET}"\n')
    return cfg


def test_snapshot_and_health_with_the_source_down_name_it_and_show_the_rest(s3_server, relay, tmp_path):  # noqa: F811
    """The store kept the objects it read: with the server down, a query that touched them failed inside DuckDB
    ("reading the stream registered as 'lake_0' failed ... GetObject") and `snapshot` and `health` exited 4 with
    a traceback's last line. Now the source is named in one line, the local log and the counts the store knows
    of the S3 objects are still shown, and the exit codes are those of a read that has what it needs."""
    client = s3_server.client()
    client.create_bucket(Bucket="gone")
    _put(client, "gone", "logs/date=2026-11-29/a.parquet", _table(120, END - timedelta(hours=1), 7), tmp_path)
    local = tmp_path / "local.parquet"
    pq.write_table(_table(25, END - timedelta(hours=1), 8).set_column(1, "model", pa.array(["c"] * 25)), local)
    cfg = _workspace(tmp_path, relay.endpoint, s3_server.access_key_id, "gone", local)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), *args, "--at", END.isoformat()],
                              capture_output=True, text=True, env=env, timeout=120)

    up = run("snapshot", "--format", "json")
    assert up.returncode == 0 and json.loads(up.stdout)["counts"]["predictions"] == 145, up.stderr
    relay.set("closed")
    for args in (("snapshot", "--format", "json"), ("health", "c", "--format", "json"),
                 ("health", "a", "--format", "json")):
        down = run(*args)
        assert down.returncode == 0, (args, down.returncode, down.stderr)
        assert "Traceback" not in down.stderr and SECRET not in down.stderr + down.stdout
        lines = [line for line in down.stderr.splitlines() if "s3://gone/logs/" in line]
        assert len(lines) == 1 and relay.endpoint in lines[0], (args, down.stderr)
        data = json.loads(down.stdout)
        if args[0] == "health":  # a report answered from what was read before says it is partial; c's rows are local
            assert ("s3://gone/logs/" in data.get("sources_down", "")) == (args[1] == "a"), (args, data)
    drift = run("drift", "a", "--format", "json")  # (no reference: no verdict, exit 2) its JSON says it too
    assert "s3://gone/logs/" in json.loads(drift.stdout)["sources_down"], drift.stderr
    snap = json.loads(run("snapshot", "--format", "json").stdout)
    assert snap["counts"]["predictions"] == 145  # the S3 objects' counts, as the store knows them
    assert any("s3://gone/logs/" in n for n in snap["log_notes"])
    assert {r["name"] for r in snap["models"]} >= {"a", "b", "c"}


def test_a_server_gone_after_the_listing_costs_its_rows_not_the_query(s3_server, relay, tmp_path):  # noqa: F811
    """The listing succeeded, then the server went away before a query read the objects: the query answers
    from the other sources, the source is named in a note, and the next refresh reads it again."""
    client = s3_server.client()
    client.create_bucket(Bucket="racy")
    _put(client, "racy", "logs/date=2026-11-29/a.parquet", _table(60, END - timedelta(hours=1), 9), tmp_path)
    local = tmp_path / "local.parquet"
    pq.write_table(_table(25, END - timedelta(hours=1), 10), local)
    cfg = Config(source=None, root=tmp_path, store_path=str(tmp_path / "store"),
                 s3=_storage(relay.endpoint, s3_server.access_key_id, SECRET),
                 logs=(LogSource("predictions", "s3://racy/logs/", "parquet"),
                       LogSource("predictions", str(local), "parquet")))
    svc = Service(cfg, clock=lambda: END)
    try:
        svc.refresh()
        relay.set("closed")
        ids = {r["request_id"] for r in svc.warehouse.dicts("model_predictions", {
            "model": "a", "since": END - timedelta(days=1), "until": END, "environment": None})}
        assert ids == {i for i in pq.read_table(local).filter(
            pa.compute.equal(pq.read_table(local)["model"], "a"))["request_id"].to_pylist()}
        notes = svc.warehouse.source_notes()
        assert len(notes) == 1 and notes[0].startswith("s3://racy/logs/: ") and relay.endpoint in notes[0], notes
        relay.set("forward")
        svc.refresh()
        assert svc.warehouse.source_notes() == []
        assert len(svc.warehouse.dicts("model_predictions", {
            "model": "a", "since": END - timedelta(days=1), "until": END, "environment": None})) > len(ids)
    finally:
        svc.close()


def _kept_then_down(s3_server, relay, tmp_path, bucket: str, seeds: tuple[int, int]) -> Config:
    """80 rows of models a and b in an S3 source and 25 of model c in a local file, read once into the store;
    then the S3 endpoint closes (the relay refuses), as the Overview tests find it."""
    client = s3_server.client()
    client.create_bucket(Bucket=bucket)
    _put(client, bucket, "logs/date=2026-11-29/a.parquet", _table(80, END - timedelta(hours=1), seeds[0]), tmp_path)
    local = tmp_path / "local.parquet"
    pq.write_table(_table(25, END - timedelta(hours=1), seeds[1]).set_column(1, "model", pa.array(["c"] * 25)),
                   local)
    cfg = Config(source=None, root=tmp_path, store_path=str(tmp_path / "store"),
                 s3=_storage(relay.endpoint, s3_server.access_key_id, SECRET),
                 logs=(LogSource("predictions", f"s3://{bucket}/logs/", "parquet"),
                       LogSource("predictions", str(local), "parquet")))
    first = Service(cfg, clock=lambda: END)
    first.snapshot()
    first.close()
    relay.set("closed")
    return cfg


async def test_the_overview_shows_a_source_down_as_a_note_and_the_rest(s3_server, relay, tmp_path):  # noqa: F811
    """The TUI with its S3 source down (the store kept its objects): the Overview's notes line names the path,
    the local log's model is listed with its rows, the counts include what the store knows of the objects,
    and no error is shown."""
    from console.ui.app import ConsoleApp
    from ui_fixtures import screen_text, wait_for_snapshot

    cfg = _kept_then_down(s3_server, relay, tmp_path, "tui", seeds=(11, 12))
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: END), poll=False)
    async with app.run_test(size=(200, 40)) as pilot:
        await wait_for_snapshot(app, pilot)
        await pilot.pause()
        text = screen_text(app)
        assert "s3://tui/logs/: cannot reach" in text, text
        assert app.last_error is None or not app.last_error, app.last_error
        assert app.snapshot.counts["predictions"] == 105
        assert {r.name for r in app.snapshot.rows} >= {"a", "b", "c"}
        assert next(r for r in app.snapshot.rows if r.name == "c").requests == 25


def test_check_with_a_source_never_read_is_not_an_all_clear_for_the_local_log(s3_server, tmp_path):  # noqa: F811
    """A bucket that does not exist (yet) beside a local log: `check` cannot know the rules over the bucket's
    rows, so it names the source and exits 2 rather than judging the local log alone as all clear."""
    local = tmp_path / "local.parquet"
    pq.write_table(_table(25, END - timedelta(hours=1), 13), local)
    cfg = _workspace(tmp_path, s3_server.endpoint, s3_server.access_key_id, "never-made", local)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    out = subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), "check", "--format", "json",
                          "--at", END.isoformat()], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert sorted(json.loads(out.stdout)["could_not_evaluate"]) == ["a", "b"]
    assert any("could not evaluate" in line and "s3://never-made/logs/: bucket does not exist" in line
               for line in out.stderr.splitlines()), out.stderr
    # a model only the bucket would hold: not a typo the operator is told of, but a source that could not be read
    out = subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), "health", "only-in-s3",
                          "--at", END.isoformat()], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2 and "no model named 'only-in-s3'" in out.stderr, out.stderr
    assert "a source could not be read, which may hold its rows: s3://never-made/logs/" in out.stderr, out.stderr
    assert SECRET not in out.stderr


def test_a_model_whose_source_is_down_is_not_shown_as_zero_traffic(s3_server, relay, tmp_path):  # noqa: F811
    """With its S3 source down, models a and b (rows only there) showed 0 requests in `snapshot`, the same as a
    model with no traffic; only a note explained. Each row now says its state: "source down" (its numbers are
    what the other sources hold, partial) or "ok", in JSON (`rows_state`, `source_down`) and in text (a ROWS
    column and a line naming them), and `check` exits 2, could not evaluate, for exactly those models."""
    client = s3_server.client()
    client.create_bucket(Bucket="part")
    _put(client, "part", "logs/date=2026-11-29/a.parquet", _table(90, END - timedelta(hours=1), 14), tmp_path)
    local = tmp_path / "local.parquet"
    pq.write_table(_table(25, END - timedelta(hours=1), 15).set_column(1, "model", pa.array(["c"] * 25)), local)
    cfg = _workspace(tmp_path, relay.endpoint, s3_server.access_key_id, "part", local)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), *args, "--at", END.isoformat()],
                              capture_output=True, text=True, env=env, timeout=120)

    up = json.loads(run("snapshot", "--format", "json").stdout)
    assert {r["name"]: r["rows_state"] for r in up["models"]} == {"a": "ok", "b": "ok", "c": "ok"}
    assert "ROWS" not in run("snapshot").stdout.splitlines()[2]
    relay.set("closed")
    down = json.loads(run("snapshot", "--format", "json").stdout)
    state = {r["name"]: (r["rows_state"], r["requests"], r["source_down"]) for r in down["models"]}
    assert state["c"] == ("ok", 25, "")
    for m in ("a", "b"):
        assert state[m][0] == "source down" and state[m][2].startswith("s3://part/logs/: ")
        assert relay.endpoint in state[m][2] and SECRET not in state[m][2]
    text = run("snapshot")
    lines = text.stdout.splitlines()
    head = lines[2].split()
    assert head[-1] == "ROWS", lines
    by_model = {line.split()[0]: line for line in lines[3:6]}
    assert by_model["a"].endswith("source down") and by_model["b"].endswith("source down")
    assert by_model["c"].rstrip().endswith("ok")
    # ALERTS: "?" where the rules could not be evaluated (not 0, which reads as none firing)
    assert [by_model[m].split()[-3] for m in ("a", "b")] + [by_model["c"].split()[-2]] == ["?", "?", "0"], lines
    assert any(line.startswith("source down: the numbers of a, b are only what the other sources hold")
               for line in lines), text.stdout
    check = run("check", "--format", "json")
    assert check.returncode == 2 and json.loads(check.stdout)["could_not_evaluate"] == ["a", "b"], check.stderr


async def test_the_overview_marks_the_rows_of_a_source_down_at_80x24(s3_server, relay, tmp_path):  # noqa: F811
    """At 80x24 the Overview keeps MODEL, ENV, CHAMP, LIVE, ALRT and DRIFT: the rows of models whose source is
    down say "src down" in DRIFT and "?" in ALRT (not "-", which reads as nothing firing); the local model's
    row is as before, and the notes line names the source."""
    from console.ui.app import ConsoleApp
    from ui_fixtures import screen_text, wait_for_snapshot

    cfg = _kept_then_down(s3_server, relay, tmp_path, "tui80", seeds=(16, 17))
    app = ConsoleApp(cfg, service=Service(cfg, clock=lambda: END), poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        await pilot.pause()
        text = screen_text(app)
        rows = {line.split()[0]: line for line in text.splitlines()
                if line.split() and line.split()[0] in ("a", "b", "c")}
        assert set(rows) == {"a", "b", "c"}, text
        for m in ("a", "b"):
            assert "src down" in rows[m] and " ? " in rows[m], rows[m]
        assert "src down" not in rows["c"] and " ? " not in rows["c"], rows["c"]
        assert "s3://tui80/logs/: cannot reach" in text, text
        assert "no predictions in this window" not in text


def test_a_delta_table_that_breaks_mid_session_keeps_its_models_listed_as_source_down(tmp_path):
    """A Delta table read by a running console whose log then cannot be read: its models left the Overview
    ("models 0", "Firing incidents (0)", the notes line "no predictions in this window (none read yet)"), a
    screen that reads as no traffic (qa6, TUI). The models this process saw stay listed, marked source down;
    once the log reads again they are back with their numbers."""
    from deltalake import write_deltalake

    n = 90
    table = _table(n, END - timedelta(hours=1), 21)
    write_deltalake(str(tmp_path / "preds"), table)
    commit = tmp_path / "preds" / "_delta_log" / "00000000000000000000.json"
    good = commit.read_bytes()
    cfg = Config(source=None, root=tmp_path, store_path=str(tmp_path / "store"),
                 logs=(LogSource("predictions", str(tmp_path / "preds"), "delta"),))
    svc = Service(cfg, clock=lambda: END)
    try:
        up = {r.name: r for r in svc.snapshot().rows}
        assert {m: r.requests for m, r in up.items()} == {m: int(sum(table["model"].to_numpy() == m))
                                                          for m in ("a", "b")}
        commit.write_text('{"add": {garbage\n')
        down = svc.snapshot()
        assert {r.name for r in down.rows} == {"a", "b"}, down.rows
        assert all(r.source_down and str(tmp_path / "preds") in r.source_down for r in down.rows)
        assert [r.rows_state for r in down.rows] == ["source down", "source down"]
        commit.write_bytes(good)
        back = {r.name: r for r in svc.snapshot().rows}
        assert {m: (r.requests, r.source_down) for m, r in back.items()} == {m: (r.requests, "") for m, r in up.items()}
    finally:
        svc.close()


def test_sources_on_one_silent_endpoint_cost_one_wait_per_refresh(s3_server, relay, tmp_path):  # noqa: F811
    """Two Parquet prefixes, a JSONL prefix, a Delta table and an Iceberg table in buckets of one S3 endpoint
    that takes connections and never answers: each source waited its own 5 s timeout, one after the other (12-13
    s of `snapshot` for two sources). Now the first read that finds the endpoint hung is the only one that
    waits: the silent server is sent one connection per refresh, and every source is named down with the same
    reason. The next refresh asks again (one connection more), and reads everything once the server is back."""
    from deltalake import write_deltalake
    from pyiceberg.catalog.sql import SqlCatalog

    from console.sources import s3

    client = s3_server.client()
    for bucket in ("one", "two", "lines", "lake", "ice"):
        client.create_bucket(Bucket=bucket)
    _put(client, "one", "logs/date=2026-11-29/a.parquet", _table(40, END - timedelta(hours=2), 31), tmp_path)
    _put(client, "two", "logs/date=2026-11-29/a.parquet", _table(30, END - timedelta(hours=2), 32), tmp_path)
    client.put_object(Bucket="lines", Key="logs/a.jsonl", Body=b"".join(
        json.dumps({"ts": (END - timedelta(minutes=30 + i)).isoformat(), "model": "j", "version": "1",
                    "request_id": f"j-{i}", "latency_ms": 10.0 + i}).encode() + b"\n" for i in range(20)))
    write_deltalake("s3://lake/preds", _table(50, END - timedelta(hours=2), 33).set_column(
        1, "model", pa.array(["d"] * 50)), storage_options=s3_server.delta_writer_options())
    # (written with pyarrow's default retries and a long timeout, as in test_locations_lakes: only reads are tested)
    writer = s3.fileio_properties(s3.settings(s3_server.storage))
    del writer["s3.retry-strategy-impl"]
    writer["s3.request-timeout"] = "60"
    catalog = SqlCatalog("ops", uri=f"sqlite:///{tmp_path}/catalog.db", warehouse="s3://ice/wh", **writer)
    catalog.create_namespace("serving")
    ice = _table(60, END - timedelta(hours=2), 34).set_column(1, "model", pa.array(["i"] * 60))
    catalog.create_table("serving.preds", schema=ice.schema).append(ice)
    paths = ("s3://one/logs/", "s3://two/logs/", "s3://lines/logs/", "s3://lake/preds", "iceberg ops.serving.preds")
    cfg = Config(source=None, root=tmp_path, store_path=str(tmp_path / "store"),
                 s3=_storage(relay.endpoint, s3_server.access_key_id, SECRET),
                 logs=(LogSource("predictions", paths[0], "parquet"), LogSource("predictions", paths[1], "parquet"),
                       LogSource("predictions", paths[2], "jsonl"), LogSource("predictions", paths[3], "delta"),
                       LogSource("predictions", "serving.preds", "iceberg", options={
                           "catalog": "ops", "type": "sql", "uri": f"sqlite:///{tmp_path}/catalog.db",
                           "warehouse": "s3://ice/wh"})))
    svc = Service(cfg, clock=lambda: END)
    try:
        assert not [n for n in svc.refresh().notes if any(p in n for p in paths)]
        assert svc.warehouse.counts()[0] == 200

        relay.set("silent")
        stats = svc.refresh()
        assert len(relay._held) == 1  # one connection taken by the silent server: one wait, not five
        for path in paths:
            note = _note(stats, path)
            assert f"no answer from {relay.endpoint} within 5 s" in note, note

        _note(svc.refresh(), paths[0])
        assert len(relay._held) == 2  # the next refresh asks again, once

        relay.set("forward")
        _put(client, "two", "logs/date=2026-11-29/b.parquet", _table(10, END - timedelta(hours=1), 35), tmp_path)
        assert not [n for n in svc.refresh().notes if any(p in n for p in paths)]
        assert svc.warehouse.counts()[0] == 210
    finally:
        svc.close()


def test_a_fresh_console_over_a_damaged_delta_log_lists_the_models_read_before_as_source_down(tmp_path):
    """A Delta table read by one console, then its log damaged, then a new console (a new `snapshot`, the TUI
    started again) over the same store: it listed no model at all (the store kept nothing of a table's
    models), a screen that reads as no traffic while only a note said why. The models the store read from the
    table before are listed, marked source down, as a running console keeps them (the test above); once the
    log reads again they are back with their numbers, and a model no longer in the table is not kept."""
    from deltalake import write_deltalake

    table = _table(90, END - timedelta(hours=1), 22)
    write_deltalake(str(tmp_path / "preds"), table)
    commit = tmp_path / "preds" / "_delta_log" / "00000000000000000000.json"
    good = commit.read_bytes()
    cfg = Config(source=None, root=tmp_path, store_path=str(tmp_path / "store"),
                 logs=(LogSource("predictions", str(tmp_path / "preds"), "delta"),))

    def snapshot():
        svc = Service(cfg, clock=lambda: END)
        try:
            return svc.snapshot()
        finally:
            svc.close()

    up = {r.name: r.requests for r in snapshot().rows}
    assert up == {m: int(sum(table["model"].to_numpy() == m)) for m in ("a", "b")}
    commit.write_text('{"add": {garbage\n')
    down = snapshot()
    assert {r.name for r in down.rows} == {"a", "b"}, down.rows
    assert all(r.source_down.startswith(str(tmp_path / "preds")) for r in down.rows), down.rows
    assert [r.rows_state for r in down.rows] == ["source down", "source down"]
    assert any(str(tmp_path / "preds") in n for n in down.log_notes)
    commit.write_bytes(good)
    assert {r.name: (r.requests, r.source_down) for r in snapshot().rows} == {m: (n, "") for m, n in up.items()}
    only_a = table.filter(pa.compute.equal(table["model"], "a"))
    write_deltalake(str(tmp_path / "preds"), only_a, mode="overwrite")
    assert {r.name: r.requests for r in snapshot().rows} == {"a": only_a.num_rows}
    (tmp_path / "preds" / "_delta_log" / "00000000000000000001.json").write_text('{"add": {garbage\n')
    assert {(r.name, r.rows_state) for r in snapshot().rows} == {("a", "source down")}


def test_a_registry_model_is_marked_source_down_when_the_store_cannot_tell_what_the_table_holds(sqlite_uri,
                                                                                                 tmp_path):
    """A Delta table whose log is damaged before any console read it: the store cannot tell which models it holds,
    so every model it knows may have rows there. A model known only from the registry (its champion alias) was
    listed with nothing to say its numbers were partial, while the note named the table; it is now marked source
    down too, and is among the models whose rows cannot all be read (`unreadable`, what `check` reports)."""
    from deltalake import write_deltalake

    from conftest import seed_model, unique

    name = unique("reg")
    seed_model(sqlite_uri, name, 1, aliases={"champion": "1"})
    write_deltalake(str(tmp_path / "preds"), _table(30, END - timedelta(hours=1), 23))
    (tmp_path / "preds" / "_delta_log" / "00000000000000000000.json").write_text('{"add": {garbage\n')
    cfg = Config(source=None, root=tmp_path, store_path=str(tmp_path / "store"), tracking_uri=sqlite_uri,
                 logs=(LogSource("predictions", str(tmp_path / "preds"), "delta"),))
    svc = Service(cfg, clock=lambda: END)
    try:
        rows = {r.name: r for r in svc.snapshot().rows}
        assert rows[name].rows_state == "source down" and str(tmp_path / "preds") in rows[name].source_down
        assert name in svc.unreadable()[0]
    finally:
        svc.close()


def test_a_server_gone_silent_after_the_listing_costs_one_wait_for_all_its_sources(s3_server, relay, tmp_path):  # noqa: F811
    """Two S3 sources listed by the refresh, then their endpoint stops answering before a query reads them: the
    query found the first source's objects hung (one wait), set it aside, and was asked again only to wait on
    the second's. Now the second is set aside with the first, the same reason naming its own path, and the query
    answers from the local log after one wait. (One DuckDB thread, so the query reads one source at a time.)"""
    client = s3_server.client()
    local = tmp_path / "local.parquet"
    pq.write_table(_table(25, END - timedelta(hours=1), 41), local)
    paths = ("s3://hush-a/logs/", "s3://hush-b/logs/")
    for seed, path in enumerate(paths):
        client.create_bucket(Bucket=path.split("/")[2])
        _put(client, path.split("/")[2], "logs/date=2026-11-29/a.parquet", _table(60, END - timedelta(hours=1),
                                                                                   42 + seed), tmp_path)
    cfg = Config(source=None, root=tmp_path, store_path=str(tmp_path / "store"),
                 s3=_storage(relay.endpoint, s3_server.access_key_id, SECRET),
                 logs=(*(LogSource("predictions", p, "parquet") for p in paths),
                       LogSource("predictions", str(local), "parquet")))
    svc = Service(cfg, clock=lambda: END)
    try:
        svc.refresh()
        svc.warehouse._con.execute("SET threads = 1")
        relay.set("silent")
        ids = {r["request_id"] for r in svc.warehouse.dicts("model_predictions", {
            "model": "a", "since": END - timedelta(days=1), "until": END, "environment": None})}
        assert ids == {i for i, m in zip(pq.read_table(local)["request_id"].to_pylist(),
                                         pq.read_table(local)["model"].to_pylist()) if m == "a"}
        assert len(relay._held) == 1  # one wait, not one per source
        notes = svc.warehouse.source_notes()
        assert sorted(n.split(": ", 1)[0] for n in notes) == sorted(paths), notes
        assert all(f"no answer from {relay.endpoint}" in n for n in notes), notes
        relay.set("forward")
        svc.refresh()
        assert svc.warehouse.source_notes() == []
    finally:
        svc.close()


def test_check_over_a_jsonl_source_in_s3_that_cannot_be_listed_is_not_an_all_clear(s3_server, relay, tmp_path):  # noqa: F811
    """A JSONL log in S3 is read into the store; with its server down, `check` printed a note and exited 0 on the
    rows it had read before (the newest may be missing), where a Parquet source down exits 2. Now its models (those
    the store read from it, not the local log's) are named as not evaluated, and `check` exits 2."""
    client = s3_server.client()
    client.create_bucket(Bucket="lines-down")
    rows = _table(300, END - timedelta(hours=1), 7).to_pylist()
    body = "".join(json.dumps({**r, "ts": r["ts"].isoformat() + "Z"}, default=str) + "\n" for r in rows
                   if r["model"] == "a")
    client.put_object(Bucket="lines-down", Key="logs/p.jsonl", Body=body.encode())
    local = tmp_path / "local.jsonl"
    local.write_text("".join(json.dumps({**r, "ts": r["ts"].isoformat() + "Z"}, default=str) + "\n" for r in rows
                             if r["model"] == "b"))
    cfg = _s3_config(tmp_path / "mlops-console.toml", relay, s3_server,
                     '[[logs]]\nkind = "predictions"\npath = "s3://lines-down/logs/*.jsonl"\nformat = "jsonl"\n'
                     f'[[logs]]\nkind = "predictions"\npath = "{local}"\n')
    up = _check(cfg)
    assert up.returncode in (0, 1) and json.loads(up.stdout)["could_not_evaluate"] == [], up.stderr
    assert sorted(json.loads(up.stdout)["models"]) == ["a", "b"]
    relay.set("closed")
    down = _check(cfg)
    assert down.returncode == 2, (down.returncode, down.stdout, down.stderr)
    assert json.loads(down.stdout)["could_not_evaluate"] == ["a"]
    assert "s3://lines-down/logs/" in down.stderr and SECRET not in down.stderr and "Traceback" not in down.stderr
