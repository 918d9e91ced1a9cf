"""Issue 13, one test (or a few) per numbered fault, against the real MLflow server and real HTTP,
UDP and TCP servers on 127.0.0.1: who acts is the real uid, environments match exactly, the audit
trail cannot be healed or extended, hostile text arrives inert, secrets never leave, faults report the
true state, and every command exits by the one table."""

from __future__ import annotations

import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from werkzeug import Response

from conftest import SRC, free_port, mlflow_client, seed_model, unique
from console import cli, exit_codes
from console.actions import audit, catalog
from console.actions.audit import AuditLog, AuditTampered
from console.actions.locks import LEASE_TAG
from console.config import load
from console.safe_text import printable
from test_cli_actions import run

REAL = pwd.getpwuid(os.getuid()).pw_name
UNSAFE = [chr(c) for c in (*range(0x00, 0x09), *range(0x0b, 0x20), 0x7f, *range(0x80, 0xa0))] + \
    ["\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"]


def aliases(uri, name):
    return {k: str(v) for k, v in mlflow_client(uri).get_registered_model(name).aliases.items()}


def write_cfg(tmp: Path, uri: str, body: str = "", environments: str | None = None, audit_extra: str = "") -> str:
    tmp.mkdir(parents=True, exist_ok=True)
    envs = environments if environments is not None else \
        "[environments.production]\nproduction = true\n[environments.staging]\n"
    path = tmp / "mlops-console.toml"
    path.write_text(f'[registry]\ntracking_uri = "{uri}"\n[audit]\npath = "{tmp}/audit.jsonl"\n{audit_extra}'
                    f'[[logs]]\nkind = "deployments"\npath = "{tmp}/deploy/*.jsonl"\n{envs}{body}\n')
    return str(path)


def records(cfg_path: str) -> list[dict]:
    return audit.read(Path(cfg_path).parent / "audit.jsonl")


def unsafe_in(text: str) -> list[str]:
    return [c for c in UNSAFE if c in text]


# ---------------------------------------------------------------------------------------- 1. identity


def test_1_roles_and_the_audit_actor_are_the_real_uid_not_env_vars(mlflow_server, tmp_path, capsys, monkeypatch):
    from console.ui.screens.action_flow import decide

    name = unique("who")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    only_alice = write_cfg(tmp_path / "alice", mlflow_server, '[roles.ops]\nusers = ["alice"]\n')
    promote = catalog.get("promote")
    for var in ("USER", "LOGNAME", "SUDO_USER"):
        for other in ("USER", "LOGNAME", "SUDO_USER"):
            monkeypatch.delenv(other, raising=False)
        monkeypatch.setenv(var, "alice")
        capsys.readouterr()
        assert run(["--config", only_alice, "promote", name, "2", "--reason", "r", "--yes"]) == exit_codes.REFUSED
        assert f"user {REAL} has no role" in capsys.readouterr().err
        assert not decide(promote, load(only_alice), "production").allowed  # the TUI hides the key
        rec = records(only_alice)[-1]
        assert (rec["phase"], rec["actor"], rec["os_user"], rec["uid"]) == ("refused", REAL, REAL, os.getuid())
        assert rec["sudo_user" if var == "SUDO_USER" else "claimed_user"] == "alice"
    assert aliases(mlflow_server, name) == {"champion": "1"}

    # the real account in a role passes, whatever sudo said; the audit trail keeps both names
    monkeypatch.setenv("SUDO_USER", "alice")
    real_ok = write_cfg(tmp_path / "real", mlflow_server, f'[roles.ops]\nusers = ["{REAL}"]\n')
    assert decide(promote, load(real_ok), "production").allowed
    assert run(["--config", real_ok, "promote", name, "2", "--reason", "r", "--yes"]) == exit_codes.OK
    intent, outcome = records(real_ok)
    assert intent["actor"] == outcome["actor"] == REAL and intent["sudo_user"] == "alice"
    assert aliases(mlflow_server, name) == {"champion": "2"}


# ---------------------------------------------------------------------------------------- 2. environments


def test_2_misspelled_environments_exit_2_naming_the_known_ones_without_calling_the_hook(
        mlflow_server, tmp_path, capsys, httpserver, monkeypatch):
    from console.service import Service
    from console.ui.screens.action_flow import decide, prepare

    monkeypatch.setenv("HOOK_TOKEN", "tok-123456")
    httpserver.expect_request("/deploy").respond_with_json({"ok": True})
    name = unique("envs")
    seed_model(mlflow_server, name, 3, aliases={"champion": "1", "canary": "2"})
    cfg = write_cfg(tmp_path, mlflow_server,
                    f'[webhooks.deploy]\nurl = "{httpserver.url_for("/deploy")}"\n'
                    'headers = { Authorization = "Bearer ${HOOK_TOKEN}" }\n',
                    environments="[environments.production]\nproduction = true\nread_only = true\n"
                                 "[environments.staging]\n")
    for env in ("Production", "PRODUCTION", "prod", "production ", "staging\x1b[2J"):
        for argv in (["promote", name, "3", "--reason", "r"], ["rollback", name], ["canary", name, "abort"],
                     ["shadow", name, "stop"]):
            capsys.readouterr()
            assert run(["--config", cfg, *argv, "--env", env, "--yes"]) == exit_codes.USAGE, (env, argv)
            err = capsys.readouterr().err
            assert "unknown environment" in err and "known: production, staging" in err
            assert unsafe_in(err) == []
    assert httpserver.log == []
    assert aliases(mlflow_server, name) == {"champion": "1", "canary": "2"}
    assert not any(r.get("phase") == "intent" for r in records(cfg))
    # exact match still applies the real environment's rules
    assert run(["--config", cfg, "promote", name, "3", "--reason", "r", "--yes"]) == exit_codes.REFUSED
    assert "read-only" in capsys.readouterr().err

    # a log row whose environment is PRODUCTION: no key, and no dialog from the palette either
    config = load(cfg)
    assert not decide(catalog.get("promote"), config, "PRODUCTION").allowed
    svc = Service(config)
    try:
        prepared = prepare(svc, name, "PRODUCTION", "promote", "3")
    finally:
        svc.close()
    assert not prepared.allowed and prepared.request is None and "unknown environment" in prepared.reason


# ---------------------------------------------------------------------------------------- 3. audit


def _trail(path: Path, n: int = 4) -> AuditLog:
    log = AuditLog(path)
    for i in range(n // 2):
        aid = log.intent("promote", "fraud", "production", **{"from": str(i), "to": str(i + 1)})
        log.outcome(aid, "promote", "fraud", "production", "done")
    return log


def _forge(prev: dict) -> str:
    rec = {"ts": "2026-01-01T00:00:00.000Z", "phase": "outcome", "action": "promote", "model": "fraud",
           "actor": "mallory", "prev_hash": prev["hash"]}
    rec["hash"] = audit.record_hash(rec)
    return audit.canonical(rec).decode()


def _tamper(path: Path, case: str) -> None:
    if case == "last newline cut":  # the next append would have joined its record to this line
        path.write_bytes(path.read_bytes()[:-1])
        return
    lines = path.read_text().splitlines()
    if case == "edit":
        rec = json.loads(lines[1])
        rec["actor"] = "someone-else"
        lines[1] = json.dumps(rec)
    elif case == "insert":
        lines.insert(2, _forge(json.loads(lines[1])))
    elif case == "delete":
        del lines[1]
    elif case == "swap":
        lines[1], lines[2] = lines[2], lines[1]
    elif case in ("cut", "cut then append"):
        lines = lines[:-2]
    elif case == "wipe then append":
        lines = []
    elif case == "sidecar deleted":
        (path.parent / (path.name + ".head")).unlink()
    elif case == "forged append":
        lines.append(_forge(json.loads(lines[-1])))
    path.write_text("".join(line + "\n" for line in lines))


@pytest.mark.parametrize("case", ["edit", "insert", "delete", "swap", "cut", "cut then append", "wipe then append",
                                  "sidecar deleted", "forged append", "last newline cut"])
def test_3_every_tampering_is_detected_and_never_healed_by_an_append(tmp_path, case):
    path = tmp_path / "audit.jsonl"
    log = _trail(path)
    assert audit.verify(path).ok
    _tamper(path, case)
    result = audit.verify(path)
    assert not result.ok, (case, result)
    before = path.read_bytes()
    for writer in (log, AuditLog(path)):  # the console that wrote it (long-running TUI) and a new process
        with pytest.raises(AuditTampered, match="audit verify"):
            writer.intent("rollback", "fraud", "production")
    assert path.read_bytes() == before  # nothing appended, nothing healed
    assert not audit.verify(path).ok


def test_3_an_append_interrupted_before_its_sidecar_update_is_not_tampering(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = _trail(path)
    last = audit.read(path)[-1]
    rec = {"ts": "2026-01-01T00:00:00.000Z", "phase": "intent", "action_id": "x", "prev_hash": last["hash"]}
    rec["hash"] = audit.record_hash(rec)
    log._write_head(4, last["hash"], pending=rec["hash"])  # the state just before the line is written
    with open(path, "ab") as f:
        f.write(audit.canonical(rec) + b"\n")  # ... and the crash hits before the sidecar is updated
    assert audit.verify(path).ok
    log.outcome("x", "promote", "fraud", "production", "failed")
    assert audit.verify(path).ok and audit.verify(path).count == 6


def test_3_cli_verify_exit_codes_and_every_refusal_is_audited(mlflow_server, tmp_path, capsys):
    name = unique("refusals")
    seed_model(mlflow_server, name, 3, aliases={"champion": "2"})
    cfg = write_cfg(tmp_path, mlflow_server, '[roles.ops]\nusers = ["nobody-here"]\nactions = ["retrain"]\n'
                                             f'[roles.me]\nusers = ["{REAL}"]\nactions = ["promote", "rollback"]\n')
    assert run(["--config", cfg, "--read-only", "promote", name, "3", "--reason", "r", "--yes"]) == 1
    assert run(["--config", cfg, "canary", name, "abort", "--yes"]) == 1  # role
    assert run(["--config", cfg, "promote", name, "1", "--reason", "r", "--yes"]) == 1  # gate: auc worse
    assert run(["--config", cfg, "promote", name, "3", "--reason", "r", "--yes"]) == 0
    # race losers: the same change just made by someone else, or a champion that moved since they looked
    assert run(["--config", cfg, "promote", name, "3", "--reason", "r", "--yes"]) == exit_codes.CONFLICT
    assert run(["--config", cfg, "promote", name, "3", "--from", "2", "--reason", "r", "--yes"]) == 3
    assert run(["--config", cfg, "rollback", name, "--from", "2", "--yes"]) == 3
    refused = [r for r in records(cfg) if r["phase"] == "refused"]
    assert [r["outcome"] for r in refused] == ["refused", "refused", "refused", "conflict", "conflict", "conflict"]
    assert "read-only" in refused[0]["message"] and "no role" in refused[1]["message"]
    assert "gates failed" in refused[2]["message"]

    capsys.readouterr()
    assert run(["--config", cfg, "audit", "verify"]) == 0
    path = tmp_path / "audit.jsonl"
    path.write_text("".join(line + "\n" for line in path.read_text().splitlines()[:-3]))
    assert run(["--config", cfg, "audit", "verify"]) == exit_codes.REFUSED
    assert "missing at the end" in capsys.readouterr().out
    # the next action refuses to extend the damaged trail: nothing moves
    assert run(["--config", cfg, "rollback", name, "--yes", "--reason", "r"]) == exit_codes.REFUSED
    err = capsys.readouterr().err
    assert "fails verification" in err and "audit verify" in err
    assert aliases(mlflow_server, name) == {"champion": "3"}


def test_3_records_are_shipped_to_a_second_sink_http_and_syslog(mlflow_server, tmp_path, httpserver):
    httpserver.expect_request("/audit", method="POST").respond_with_data("", status=204)
    name = unique("sink")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    cfg = write_cfg(tmp_path / "http", mlflow_server, audit_extra=f'sink = "{httpserver.url_for("/audit")}"\n')
    assert run(["--config", cfg, "promote", name, "2", "--reason", "r", "--yes"]) == 0
    shipped = [json.loads(req.get_data()) for req, _ in httpserver.log]
    local = records(cfg)
    assert [r["hash"] for r in shipped] == [r["hash"] for r in local] and len(local) == 2

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(10)
        port = udp.getsockname()[1]
        cfg2 = write_cfg(tmp_path / "syslog", mlflow_server, audit_extra=f'sink = "syslog://127.0.0.1:{port}"\n')
        assert run(["--config", cfg2, "--read-only", "rollback", name, "--yes"]) == 1
        datagram = udp.recv(65536)
    assert datagram.startswith(b"<37>mlops-console[")
    assert json.loads(datagram.split(b"]: ", 1)[1])["hash"] == records(cfg2)[-1]["hash"]


# ---------------------------------------------------------------------------------------- 4. hostile text

PASTE_ATTACK = "evil\x1b[201~;touch /tmp/x;\r\u202emodel"


def _hostile_workspace(root: Path) -> str:
    logs = root / "logs"
    logs.mkdir(parents=True)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with open(logs / "predictions.jsonl", "w", encoding="utf-8") as fh:
        for i in range(30):
            fh.write(json.dumps({"ts": (now - timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
                                 "model": PASTE_ATTACK, "version": "1\x1b]52;c;aGk=\x07", "request_id": f"r{i}",
                                 "environment": "production", "prediction": "1", "score": 0.5,
                                 "latency_ms": 10.0, "status": "ok"}) + "\n")
    path = root / "mlops-console.toml"
    path.write_text(f'[workspace]\nname = "ws\\u001b[2J\\u202e"\n[audit]\npath = "{root}/audit.jsonl"\n'
                    '[[logs]]\nkind = "predictions"\npath = "logs/predictions.jsonl"\n'
                    '[environments.production]\nproduction = true\n')
    return str(path)


def _cli(argv: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "console", *argv], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": SRC, **env}, encoding="utf-8")


def test_4_hostile_names_printed_by_the_cli_arrive_inert(tmp_path):
    cfg = _hostile_workspace(tmp_path)
    AuditLog(tmp_path / "audit.jsonl").intent("rollback", PASTE_ATTACK, "production", reason="\u202ereversed")
    for argv in (["snapshot"], ["drift", PASTE_ATTACK], ["audit"], ["audit", "incomplete"], ["audit", "verify"]):
        proc = _cli(["--config", cfg, *argv])
        # drift of a model without a reference could not evaluate: exit 2 (README's exit table), its note printed
        assert proc.returncode == (2 if argv[0] == "drift" else 0), (argv, proc.stderr)
        assert unsafe_in(proc.stdout) == [] and unsafe_in(proc.stderr) == [], argv
        assert "Traceback" not in proc.stderr
    assert "evil\\x1b[201~;touch /tmp/x;\\x0d\\u202emodel" in _cli(["--config", cfg, "snapshot"]).stdout
    for argv in (["snapshot", "--format", "json"], ["audit", "--format", "json"]):
        proc = _cli(["--config", cfg, *argv])
        assert proc.returncode == 0 and unsafe_in(proc.stdout) == []
        assert PASTE_ATTACK in proc.stdout.encode().decode("unicode_escape", errors="ignore") or \
            PASTE_ATTACK in json.dumps(json.loads(proc.stdout), ensure_ascii=False)


async def test_4_copy_puts_an_inert_name_on_the_clipboard(tmp_path):
    from console.config import parse_file
    from console.service import Service
    from console.ui.app import ConsoleApp
    from ui_fixtures import wait_for_snapshot

    cfg = parse_file(_hostile_workspace(tmp_path))
    app = ConsoleApp(cfg, service=Service(cfg), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_snapshot(app, pilot)
        for _ in range(200):
            if app.screen.selected_id():
                break
            await pilot.pause(0.02)
        assert app.screen.selected_id() == PASTE_ATTACK
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == printable(PASTE_ATTACK)
        assert unsafe_in(app.clipboard) == [] and "\\x1b[201~" in app.clipboard and "\\u202e" in app.clipboard
        assert unsafe_in(app.export_screenshot().replace("\n", "")) == []


def test_4_one_sanitizer_spells_out_control_and_bidi_characters():
    assert printable("a\x1b[2Jb\x07\r\u202e\u2066\x9b\x00") == "a\\x1b[2Jb\\x07\\x0d\\u202e\\u2066\\x9b\\x00"
    assert printable("line1\nline2\tend") == "line1\\nline2 end"
    assert printable("naïve café ✓") == "naïve café ✓"  # ordinary non-ASCII stays
    from console.ui.text import printable as ui_printable
    assert ui_printable is printable


# ---------------------------------------------------------------------------------------- 5. secrets, files


def test_5_credentials_in_the_registry_uri_never_name_the_workspace(mlflow_server, tmp_path):
    host = mlflow_server.split("://", 1)[1]
    secret_uri = f"http://bob:PLANTEDpw5@{host}"
    for argv, env in ((["--registry", secret_uri, "snapshot"], {}),
                      (["--registry", secret_uri, "snapshot", "--format", "json"], {}),
                      (["snapshot", "--format", "json"], {"MLFLOW_TRACKING_URI": secret_uri})):
        proc = _cli(argv, **env)
        assert proc.returncode == 0, proc.stderr
        assert "PLANTEDpw5" not in proc.stdout + proc.stderr
        if "json" in argv:
            assert json.loads(proc.stdout)["workspace"] == "127.0.0.1"
    svg = tmp_path / "shot.svg"
    proc = _cli(["--registry", secret_uri, "snapshot", "--format", "svg", "--output", str(svg)])
    assert proc.returncode == 0, proc.stderr
    assert "PLANTEDpw5" not in svg.read_text() + proc.stderr and "127.0.0.1" in svg.read_text()
    from console.config import _workspace_of
    assert _workspace_of("https://u:p@host.example/ws/prod?token=t") == "prod"


def test_5_a_status_url_elsewhere_never_gets_the_hooks_credentials(httpserver, monkeypatch):
    from console.actions import hooks
    from console.config import parse

    monkeypatch.setenv("RETRAIN_TOKEN", "PLANTEDstatus1")
    httpserver.expect_request("/jobs/7").respond_with_json({"state": "running"})
    cfg = parse({"webhooks": {"retrain": {"url": httpserver.url_for("/retrain"),
                                          "headers": {"Authorization": "Bearer ${RETRAIN_TOKEN}"}}}}, root=Path("/tmp"))
    hook = cfg.webhooks["retrain"]
    same = httpserver.url_for("/jobs/7")  # http://localhost:PORT/...
    other = same.replace("localhost", "127.0.0.1")  # the same server, another origin as far as a URL says
    assert hooks.follow(same, hook)["state"] == "running" and hooks.follow(other, hook)["state"] == "running"
    sent = [req.headers.get("Authorization") for req, _ in httpserver.log]
    assert sent == ["Bearer PLANTEDstatus1", None]


def test_5_files_the_console_creates_are_private(mlflow_server, tmp_path):
    from console.private_files import open_private, private_dir

    name = unique("modes")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    state = tmp_path / "fresh" / "state"
    cfg = write_cfg(tmp_path, mlflow_server)
    Path(cfg).write_text(Path(cfg).read_text().replace(f'path = "{tmp_path}/audit.jsonl"',
                                                       f'path = "{state}/audit.jsonl"'))
    old = os.umask(0o022)
    try:
        assert run(["--config", cfg, "promote", name, "2", "--reason", "r", "--yes"]) == 0
        mode = lambda p: os.stat(p).st_mode & 0o777  # noqa: E731
        for f in (state / "audit.jsonl", state / "audit.jsonl.head", state / "audit.jsonl.lock",
                  *(state / "locks").iterdir()):
            assert mode(f) == 0o600, f
        for d in (tmp_path / "fresh", state, state / "locks"):
            assert mode(d) == 0o700, d
        assert mode(private_dir(tmp_path / "a" / "b")) == 0o700
        with open_private(tmp_path / "a" / "b" / "cache.db", "w") as fh:
            fh.write("x")
        assert mode(tmp_path / "a" / "b" / "cache.db") == 0o600
    finally:
        os.umask(old)


def test_5_the_deployment_log_the_actions_append_to_is_private(mlflow_server, tmp_path):
    """The events name who acted and why: 0600 in a 0700 folder like the audit trail, whatever the umask; a
    log the console created earlier with looser bits is tightened on the next append."""
    from console.actions import deploylog

    name = unique("deploylog")
    seed_model(mlflow_server, name, 3, aliases={"champion": "1"})
    cfg = write_cfg(tmp_path, mlflow_server)
    mode = lambda p: os.stat(p).st_mode & 0o777  # noqa: E731
    old = os.umask(0o022)
    try:
        assert run(["--config", cfg, "promote", name, "2", "--reason", "r", "--yes"]) == 0
        log = tmp_path / "deploy" / "console-actions.jsonl"
        [event] = [json.loads(line) for line in log.read_text().splitlines()]
        assert (event["model"], event["version"]) == (name, "2")
        assert mode(log) == 0o600 and mode(str(log) + ".lock") == 0o600
        assert mode(tmp_path / "deploy") == 0o700
        loose = tmp_path / "older" / "console-actions.jsonl"
        loose.parent.mkdir()
        loose.write_text("")
        os.chmod(loose, 0o644)
        deploylog.append(loose, {"model": name})
        assert mode(loose) == 0o600 and json.loads(loose.read_text()) == {"model": name}
    finally:
        os.umask(old)


# ---------------------------------------------------------------------------------------- 6. faults


def test_6_a_hook_timeout_is_reported_as_unknown(mlflow_server, tmp_path, capsys, httpserver):
    def slow(request):
        time.sleep(1.5)
        return Response("{}", status=200, content_type="application/json")

    httpserver.expect_request("/deploy").respond_with_handler(slow)
    name = unique("hooktimeout")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    cfg = write_cfg(tmp_path, mlflow_server,
                    f'[webhooks.deploy]\nurl = "{httpserver.url_for("/deploy")}"\ntimeout_s = 0.3\nretries = 0\n')
    assert run(["--config", cfg, "promote", name, "2", "--reason", "r", "--yes"]) == exit_codes.UNKNOWN
    err = capsys.readouterr().err
    assert "unknown: the deploy system may have applied it; check it, then re-run or roll back" in err
    assert "nothing changed" not in err
    outcome = records(cfg)[-1]
    assert (outcome["phase"], outcome["outcome"]) == ("outcome", "unknown")
    assert audit.incomplete(Path(cfg).parent / "audit.jsonl") == []
    for _ in range(200):  # the server logs the request once its slow answer is done; the hook did receive it
        if httpserver.log:
            break
        time.sleep(0.05)
    assert len(httpserver.log) == 1


class HungServer:
    """Accepts TCP connections on 127.0.0.1 and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.conns: list[socket.socket] = []
        self.uri = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


def test_6_a_hung_registry_fails_snapshot_and_promote_within_5_s(tmp_path, capsys, monkeypatch):
    # imports (MLflow, DuckDB, Polars) take seconds on a loaded box: they are not the registry's cost
    import console.monitoring  # noqa: F401
    import console.service  # noqa: F401
    from console.sources.registry import Registry, RegistryUnavailable

    with pytest.raises(RegistryUnavailable):  # a refused connection: loads MLflow's request path, costs no wait
        Registry(f"http://127.0.0.1:{free_port()}").ping()

    hung = HungServer()
    try:
        cfg = write_cfg(tmp_path, hung.uri)
        monkeypatch.chdir(tmp_path / "..")  # no config file: the console on the registry alone (no log work)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
        monkeypatch.delenv("MLOPS_CONSOLE_CONFIG", raising=False)
        t0 = time.monotonic()
        assert cli.main(["--registry", hung.uri, "snapshot"]) == exit_codes.OK
        snapshot_s = time.monotonic() - t0
        assert "registry unreachable" in capsys.readouterr().err
        t0 = time.monotonic()
        assert run(["--config", cfg, "promote", "m", "2", "--reason", "r", "--yes"]) == exit_codes.REMOTE
        promote_s = time.monotonic() - t0
        assert "unreachable" in capsys.readouterr().err
    finally:
        hung.close()
    # the bound (a hung registry costs seconds, not tens): one 3 s timeout, no retry
    assert snapshot_s < 5 and promote_s < 5, (snapshot_s, promote_s)
    assert audit.incomplete(tmp_path / "audit.jsonl") == []


def _lease(pid: int) -> str:
    expires = (datetime.now(timezone.utc) + timedelta(seconds=100)).isoformat(timespec="seconds")
    return json.dumps({"owner": "crashed", "host": socket.gethostname(), "pid": pid, "token": "t0",
                       "expires": expires.replace("+00:00", "Z")})


def test_6_a_lease_whose_holder_died_on_this_box_is_taken_over_at_once(mlflow_server, tmp_path, capsys):
    name = unique("deadlease")
    seed_model(mlflow_server, name, 3, aliases={"champion": "1"})
    cfg = write_cfg(tmp_path, mlflow_server)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        mlflow_client(mlflow_server).set_registered_model_tag(name, LEASE_TAG, _lease(alive.pid))
        assert run(["--config", cfg, "promote", name, "2", "--reason", "r", "--yes"]) == exit_codes.CONFLICT
        assert "is being changed by crashed" in capsys.readouterr().err
    finally:
        alive.kill()
        alive.wait()
    # the same holder, now gone (its pid is free): the re-run goes ahead
    assert run(["--config", cfg, "promote", name, "2", "--reason", "r", "--yes"]) == exit_codes.OK
    assert aliases(mlflow_server, name) == {"champion": "2"}
    assert LEASE_TAG not in mlflow_client(mlflow_server).get_registered_model(name).tags


@pytest.mark.parametrize("url", ["http//deploy.example/x", "ht tp://x", "ftp://deploy.example/x", "/relative"])
def test_6_a_malformed_hook_url_is_refused_before_the_intent(mlflow_server, tmp_path, capsys, url):
    name = unique("badurl")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    cfg = write_cfg(tmp_path, mlflow_server, f'[webhooks.deploy]\nurl = "{url}"\n')
    assert run(["--config", cfg, "promote", name, "2", "--reason", "r", "--yes"]) == exit_codes.USAGE
    assert "webhooks.deploy.url" in capsys.readouterr().err
    assert [r["phase"] for r in records(cfg)] == ["refused"]
    assert audit.incomplete(Path(cfg).parent / "audit.jsonl") == []
    assert aliases(mlflow_server, name) == {"champion": "1"}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_6_an_interrupt_mid_action_still_writes_the_outcome(mlflow_server, tmp_path, httpserver, sig):
    """Ctrl-C, and the SIGTERM of `timeout` or a cancelled CI job (which left the intent with no outcome), and the
    SIGHUP of a closed SSH session: the outcome is written as unknown, exit 130. The real command, not a harness."""
    reached = threading.Event()

    def hold(request):
        reached.set()
        time.sleep(4)
        return Response("{}", status=200, content_type="application/json")

    httpserver.expect_request("/deploy").respond_with_handler(hold)
    name = unique("sigint")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    cfg = write_cfg(tmp_path, mlflow_server,
                    f'[webhooks.deploy]\nurl = "{httpserver.url_for("/deploy")}"\ntimeout_s = 30\nretries = 0\n')
    proc = subprocess.Popen([sys.executable, "-m", "console", "--config", cfg, "promote", name, "2", "--reason", "r",
                             "--yes"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": SRC})
    assert reached.wait(120)
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    assert code == exit_codes.INTERRUPTED, proc.communicate()
    phases = [(r["phase"], r.get("outcome")) for r in records(cfg)]
    assert phases == [("intent", None), ("outcome", "unknown")]
    assert audit.incomplete(Path(cfg).parent / "audit.jsonl") == []
    assert audit.verify(Path(cfg).parent / "audit.jsonl").ok


# ---------------------------------------------------------------------------------------- 7. exit codes


def test_7_an_unset_webhook_variable_blocks_only_the_commands_that_call_the_hook(mlflow_server, tmp_path, capsys,
                                                                                 monkeypatch):
    monkeypatch.delenv("NOT_SET_HOOK_TOKEN", raising=False)
    name = unique("lazy")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    cfg = write_cfg(tmp_path, mlflow_server, '[webhooks.deploy]\nurl = "http://127.0.0.1:9/deploy"\n'
                                             'headers = { Authorization = "Bearer ${NOT_SET_HOOK_TOKEN}" }\n')
    assert run(["--config", cfg, "audit", "verify"]) == exit_codes.OK
    assert cli.main(["--config", cfg, "snapshot"]) == exit_codes.OK
    capsys.readouterr()
    assert run(["--config", cfg, "promote", name, "2", "--reason", "r", "--yes"]) == exit_codes.USAGE
    # said whole: the key path's "headers.Authorization: " is not a header whose value is to be masked
    assert "Authorization: environment variable NOT_SET_HOOK_TOKEN is not set" in capsys.readouterr().err
    assert [r["phase"] for r in records(cfg)] == ["refused"]
    assert aliases(mlflow_server, name) == {"champion": "1"}


def test_7_check_errors_exit_2(capsys):
    """No input the suite could build makes `check` crash today, so the gate's wrapper is exercised with a
    handler that fails the way a crash would; the parser must route `check` through it."""
    from console import cli_monitor

    parser = cli.build_parser()
    args = parser.parse_args(["check"])
    assert args.func.__name__ == "cmd_check" and args.func is not cli_monitor.cmd_check

    def crashes(args, cfg):
        raise KeyError("no query named 'schema' (token=PLANTED1)")

    assert cli_monitor._errors_exit_2(crashes)(args, None) == exit_codes.USAGE
    err = capsys.readouterr().err
    assert "could not evaluate" in err and "PLANTED1" not in err


def test_7_the_readme_table_is_the_code_table():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    rows = [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert [int(r) for r in rows if r.isdigit()] == [code for code, _ in exit_codes.TABLE]


# ---------------------------------------------------------------------------------------- planted secrets


def test_planted_secrets_never_reach_any_output(mlflow_server, tmp_path, capsys, httpserver, monkeypatch):
    """The registry password and the hook token go everywhere the console goes; they come back nowhere."""
    pw, token = "PLANTEDpw77", "PLANTEDtok99"
    monkeypatch.setenv("HOOK_TOKEN", token)

    def echo(request):  # a hook that echoes what it was sent, credentials and all
        body = {"headers": dict(request.headers), "note": f"Authorization: Bearer {token}",
                "callback": f"http://deploy:{pw}@10.0.0.1/cb", "raw": request.headers.get("Authorization"),
                "big": "x" * 5000}
        status = 200 if b'"version": "2"' in request.get_data() else 400
        return Response(json.dumps(body), status=status, content_type="application/json")

    httpserver.expect_request("/deploy").respond_with_handler(echo)
    name = unique("planted")
    seed_model(mlflow_server, name, 3, aliases={"champion": "1"})
    host = mlflow_server.split("://", 1)[1]
    uri = f"http://bob:{pw}@{host}"
    cfg = write_cfg(tmp_path, uri, f'[webhooks.deploy]\nurl = "{httpserver.url_for("/deploy")}"\n'
                                   'headers = { Authorization = "Bearer ${HOOK_TOKEN}" }\nretries = 0\n')
    out = []
    for argv in (["promote", name, "2", "--reason", "r", "--yes", "--format", "json"],
                 ["promote", name, "3", "--reason", "r", "--yes"],  # the hook answers 400
                 ["rollback", name, "--yes", "--reason", "r"],  # 400 again
                 ["rollback", unique("ghost"), "--yes"],
                 ["audit"], ["audit", "--format", "json"], ["audit", "verify"], ["audit", "incomplete"]):
        run(["--config", cfg, *argv])
        captured = capsys.readouterr()
        out += [captured.out, captured.err]
    for argv in (["--config", cfg, "snapshot"], ["--config", cfg, "snapshot", "--format", "json"],
                 ["--registry", uri, "snapshot", "--format", "json"]):
        cli.main(argv)
        captured = capsys.readouterr()
        out += [captured.out, captured.err]
    # this test's calls only: a slow hook of an earlier test may still land on the shared server under load
    calls = [req for req, _ in httpserver.log if name.encode() in req.get_data()]
    assert len(calls) == 3 and aliases(mlflow_server, name) == {"champion": "2"}
    files = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".toml"]
    stored = audit.read(tmp_path / "audit.jsonl")
    response = next(r for r in stored if r["phase"] == "outcome")["hooks"]["deploy"]["response"]
    assert "***" in json.dumps(response) and len(json.dumps(response)) < 2100  # redacted and truncated
    everything = "\n".join(out + files)
    assert pw not in everything and token not in everything
    assert "bob:" not in everything


def test_a_secret_in_a_hook_urls_path_is_never_printed_or_stored(mlflow_server, tmp_path, capsys, httpserver,
                                                                 monkeypatch):
    """Slack-style hooks carry their secret in the URL's path (`/services/${SLACK_PATH}`): a URL refused as malformed
    printed and audited it resolved, and a hook answering 404 with the path it was asked for had it stored and
    printed (only the whole URL and header values were masked, not a `${VAR}`'s value alone)."""
    secret = "T0AAA/B0BBB/PLANTEDpath42"
    monkeypatch.setenv("SLACK_PATH", secret)
    name = unique("pathsecret")
    seed_model(mlflow_server, name, 2, aliases={"champion": "1"})
    cfg = write_cfg(tmp_path, mlflow_server, '[webhooks.deploy]\nurl = "hooks.example/services/${SLACK_PATH}"\n')
    assert run(["--config", cfg, "promote", name, "2", "--reason", "r", "--yes"]) == exit_codes.USAGE
    err = capsys.readouterr().err
    assert "services/${SLACK_PATH}" in err and secret not in err

    def echo(request):  # a hook that answers 404 naming the path it was asked for
        return Response(json.dumps({"error": "unknown hook", "path": request.path}), status=404,
                        content_type="application/json")

    httpserver.expect_request(f"/services/{secret}").respond_with_handler(echo)
    other = tmp_path / "again"
    other.mkdir()
    url = httpserver.url_for("/services/") + "${SLACK_PATH}"
    cfg = write_cfg(other, mlflow_server, f'[webhooks.deploy]\nurl = "{url}"\nretries = 0\n')
    assert run(["--config", cfg, "promote", name, "2", "--reason", "r", "--yes", "--format", "json"]) \
        == exit_codes.REMOTE
    captured = capsys.readouterr()
    assert "/services/***" in captured.out
    files = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".toml"]
    assert "PLANTEDpath42" not in "\n".join([captured.out, captured.err, *files])


def test_the_s3_keys_and_the_audit_sinks_token_are_secrets(mlflow_server, tmp_path, capsys, httpserver, monkeypatch):
    """A hook echoing the `[storage.s3]` keys had them printed and stored in the trail (and shipped by the sink);
    the sink's `${VAR}` was sent literally, so the off-box copy failed with a bare `OSError`."""
    ask, akid, token = "PLANTEDs3Secret/ab+cd", "AKIAPLANTED12345", "PLANTEDsinkTok"
    for var, value in (("ASK", ask), ("AKID", akid), ("SINK_TOKEN", token)):
        monkeypatch.setenv(var, value)
    httpserver.expect_request("/deploy").respond_with_json({"debug": f"connecting with {ask} as {akid}"})
    httpserver.expect_request("/audit", method="POST", query_string={"token": token}).respond_with_data("", status=204)
    httpserver.expect_request("/down", method="POST").respond_with_data("", status=503)
    name = unique("s3keys")
    seed_model(mlflow_server, name, 3, aliases={"champion": "1"})
    hook = f'[webhooks.deploy]\nurl = "{httpserver.url_for("/deploy")}"\nretries = 0\n' \
           '[storage.s3]\naccess_key_id = "${AKID}"\nsecret_access_key = "${ASK}"\n'
    cfg = write_cfg(tmp_path / "a", mlflow_server, hook,
                    audit_extra=f'sink = "{httpserver.url_for("/audit")}?token=${{SINK_TOKEN}}"\n')
    assert run(["--config", cfg, "promote", name, "2", "--reason", "r", "--yes"]) == 0
    first = capsys.readouterr()
    shipped = [req for req, _ in httpserver.log if req.path == "/audit"]
    assert len(shipped) == 2 and all(req.args.get("token") == token for req in shipped)
    down = write_cfg(tmp_path / "b", mlflow_server, hook,
                     audit_extra=f'sink = "{httpserver.url_for("/down")}?sig=${{SINK_TOKEN}}"\n')
    assert run(["--config", down, "promote", name, "3", "--reason", "r", "--yes"]) == 0
    second = capsys.readouterr()
    assert "did not take the record: HTTP 503" in second.err
    stored = audit.read(tmp_path / "a" / "audit.jsonl")
    assert "***" in json.dumps(next(r for r in stored if r["phase"] == "outcome")["hooks"]["deploy"]["response"])
    files = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".toml"]
    everything = "\n".join([first.out, first.err, second.out, second.err, *files])
    assert ask not in everything and akid not in everything and token not in everything


def test_an_action_stopped_by_an_unreachable_registry_is_audited(tmp_path, capsys):
    """TUI probe, finding 9: a rollback or promote that failed because the registry did not answer left no record;
    the README says a failure at any step is audited. Nothing moved: one record, outcome failed, no intent."""
    cfg = write_cfg(tmp_path, f"http://127.0.0.1:{free_port()}")
    assert run(["--config", cfg, "promote", "m", "2", "--reason", "r", "--yes"]) == exit_codes.REMOTE
    assert run(["--config", cfg, "retrain", "m", "--reason", "r", "--yes"]) in (exit_codes.REMOTE, exit_codes.USAGE)
    got = records(cfg)
    assert [(r["phase"], r["action"], r["outcome"]) for r in got][:1] == [("refused", "promote", "failed")], got
    assert "unreachable" in got[0]["message"] and audit.verify(Path(cfg).parent / "audit.jsonl").ok


def test_links_planted_in_a_shared_audit_folder_are_never_followed(tmp_path, monkeypatch):
    """Security probe, F3: in a shared audit folder, a link another user planted under the sidecar's fixed temporary
    name made the console truncate, overwrite and chmod the file it pointed at; a dangling link under the trail's
    name made it write the trail there. The temporary file is now this process's own, created new, and a link
    another user made is refused; nothing outside the folder is touched."""
    from console import private_files

    shared = tmp_path / "shared"
    shared.mkdir(mode=0o2775)
    victim = tmp_path / "victim.conf"
    victim.write_text("keep me\n")
    os.chmod(victim, 0o644)
    (shared / "audit.jsonl.head.tmp").symlink_to(victim)
    log = audit.AuditLog(shared / "audit.jsonl")
    log.append({"phase": "intent", "action": "promote", "model": "m", "environment": "production"})
    assert victim.read_text() == "keep me\n" and victim.stat().st_mode & 0o777 == 0o644
    assert audit.verify(shared / "audit.jsonl").ok

    elsewhere = tmp_path / "created_by_console.txt"
    other = tmp_path / "other"
    other.mkdir(mode=0o2775)
    (other / "audit.jsonl").symlink_to(elsewhere)  # dangling: where the trail would be written
    if os.geteuid() == 0:
        os.lchown(other / "audit.jsonl", 65534, 65534)  # another user's link
    else:
        monkeypatch.setattr(private_files.os, "getuid", lambda: os.geteuid() + 1)
    with pytest.raises(audit.AuditError, match="symbolic link another user made"):
        audit.AuditLog(other / "audit.jsonl").append({"phase": "intent", "action": "promote", "model": "m",
                                                      "environment": "production"})
    assert not elsewhere.exists()


def test_5_a_secret_echoed_back_percent_encoded_or_json_escaped_is_masked_whole():
    """A hook echoing its request path spells a `${VAR}` secret with spaces or quotes as the URL carried it
    (`%20`, `+`) or as JSON escapes it (`\\"`): each spelling is masked, not only the pieces between spaces."""
    from console.redact import MASK, redact_text

    secret = 'path|Secret "CCCC" <x>%'
    for echoed in ("got /echo/path%7CSecret%20%22CCCC%22%20%3Cx%3E%25", "q=path%7CSecret+%22CCCC%22+%3Cx%3E%25",
                   '{"path": "path|Secret \\"CCCC\\" <x>%"}', f"raw {secret}"):
        out = redact_text(echoed, [secret])
        assert MASK in out and "CCCC" not in out and "Secret" not in out, (echoed, out)


def test_5_a_hook_echoing_secrets_in_json_keys_is_masked(httpserver, monkeypatch):
    """Probe E (twenty-ninth session): a hook answering 404 with its request echoed in the object's keys
    (`{"/hooks/<token>/traffic": ..., "Bearer <token>": "Authorization"}`) had them stored and printed: keys are
    text too."""
    from console.actions import hooks
    from console.config import parse

    monkeypatch.setenv("HOOK_TOK", "PLANTEDkeyTok1")
    monkeypatch.setenv("DEPLOY_TOKEN", "PLANTEDkeyTok2")
    path = "/hooks/${HOOK_TOK}/traffic"
    httpserver.expect_request("/hooks/PLANTEDkeyTok1/traffic").respond_with_json(
        {"errors": {"/hooks/PLANTEDkeyTok1/traffic": "no route", "Bearer PLANTEDkeyTok2": "Authorization"}}, status=404)
    cfg = parse({"webhooks": {"deploy": {"url": httpserver.url_for("/") .rstrip("/") + path, "retries": 0,
                                         "headers": {"Authorization": "Bearer ${DEPLOY_TOKEN}"}}}}, root=Path("/tmp"))
    result = hooks.invoke(cfg, "deploy", {"model": "m"}, "k1", backoff_s=0)
    text = json.dumps(result.response)
    assert not result.ok and "no route" in text
    assert "PLANTEDkeyTok" not in text and "PLANTEDkeyTok" not in result.message, text


def test_5_a_command_hook_printing_the_environment_leaks_no_credential(monkeypatch):
    """Probe E: a failing retrain command running `env` (a script with `set -x`) printed the console's own S3 keys
    and MLflow password: a command inherits the environment, so its credentials are masked in what it prints, and
    `NAME_PASSWORD=`-style pairs are masked whatever the name's prefix."""
    from console.actions import hooks
    from console.config import parse

    planted = {"AWS_ACCESS_KEY_ID": "AKIAPLANTED0001", "AWS_SECRET_ACCESS_KEY": "PLANTEDaws/secret+2",
               "MLFLOW_TRACKING_PASSWORD": "PLANTEDmlflow3", "SOME_SERVICE_TOKEN": "PLANTEDsvc4"}
    for k, v in planted.items():
        monkeypatch.setenv(k, v)
    cfg = parse({"webhooks": {"retrain": {"command": ["sh", "-c", "cat >/dev/null; env | grep -E '^(AWS|MLFLOW|SOME)';"
                                                      " echo DB_PASSWORD=x9y8z7w6 >&2; exit 3"]}}}, root=Path("/tmp"))
    result = hooks.invoke(cfg, "retrain", {"model": "m"}, "k2")
    text = json.dumps(result.response) + result.message
    assert not result.ok and "AWS_SECRET_ACCESS_KEY=***" in text
    assert not [v for v in planted.values() if v in text] and "x9y8z7w6" not in text, text


def test_5_credentials_written_literally_in_the_config_are_masked_in_a_hooks_answer(httpserver):
    """Probe E: a credential header and a Slack-style URL path written as they are (no `${VAR}`) came back
    unmasked in a 403's text, where the same values from `${VAR}`s were masked."""
    from console.actions import hooks
    from console.config import parse

    httpserver.expect_request("/services/T0/B0/PLANTEDslackPath5").respond_with_data(
        "denied: credential Bearer PLANTEDbearer6 not valid; api key PLANTEDapikey7 unknown; "
        "path /services/T0/B0/PLANTEDslackPath5", status=403)
    cfg = parse({"webhooks": {"deploy": {"url": httpserver.url_for("/services/T0/B0/PLANTEDslackPath5"), "retries": 0,
                                         "headers": {"Authorization": "Bearer PLANTEDbearer6",
                                                     "X-Api-Key": "PLANTEDapikey7"}}}}, root=Path("/tmp"))
    result = hooks.invoke(cfg, "deploy", {"model": "m"}, "k3", backoff_s=0)
    text = json.dumps(result.response) + result.message
    assert not result.ok and "denied" in text and "PLANTED" not in text, text


def test_4_characters_that_draw_nothing_are_spelled_out():
    """Probe E: `fraud\\u2060-detector` and `fraud-detector\\u00ad` printed as two more `fraud-detector` rows (the
    word joiner, soft hyphen, tag characters and Hangul fillers were not escaped)."""
    for hidden in ("\u2060", "\u00ad", "\u034f", "\u180e", "\u2064", "\ufff9", "\U000e0041", "\u3164"):
        out = printable(f"fraud{hidden}-detector")
        assert out != "fraud-detector" and hidden not in out and "\\" in out, (hidden, out)
    assert printable("café 中文 🚀 naïve") == "café 中文 🚀 naïve"  # printable text untouched


def test_5_a_config_keys_path_in_a_message_is_not_taken_for_a_credential():
    """The `NAME_PASSWORD=` rule (above) is for environment variables' names: a config key's path in the console's
    own message (`storage.s3.secret_access_key: environment variable ... is not set`) keeps its words."""
    from console.redact import redact_text

    for said in ("storage.s3.secret_access_key: environment variable AWS_SECRET_ACCESS_KEY is not set",
                 "webhooks.deploy.headers.Authorization: environment variable X is not set"):
        assert redact_text(said) == said
    assert redact_text("DB_PASSWORD=hunter22 password=abc") == "DB_PASSWORD=*** password=***"


@pytest.mark.parametrize("where", ["path", "query"])
def test_a_secret_in_the_registry_uris_path_or_query_is_never_printed_or_stored(tmp_path, capsys, monkeypatch,
                                                                                  where):
    """Security probe (thirty-first session), finding 1: `tracking_uri = "http://host/${TOKEN}"` (or `?key=${TOKEN}`)
    printed the token in every registry error: `snapshot`'s stderr and JSON, `promote`'s error line, the audit
    record's message (only a URI's user:password was masked)."""
    token = "pathsecret777"
    monkeypatch.setenv("REG_TOKEN", token)
    uri = f"http://127.0.0.1:{free_port()}/" + ("${REG_TOKEN}/mlflow" if where == "path" else "mlflow?key=${REG_TOKEN}")
    cfg = write_cfg(tmp_path, uri)
    assert run(["--config", cfg, "promote", "m", "2", "--reason", "r", "--yes"]) == exit_codes.REMOTE
    promoted = capsys.readouterr()
    assert cli.main(["--config", cfg, "snapshot", "--format", "json"]) in (0, 1)
    snap = capsys.readouterr()
    stored = (tmp_path / "audit.jsonl").read_text()
    assert "unreachable" in promoted.err + promoted.out and "unreachable" in stored
    for text in (promoted.out, promoted.err, snap.out, snap.err, stored):
        assert token not in text


def test_credentials_in_a_log_path_are_masked_in_the_snapshot(tmp_path, capsys):
    """Security probe (thirty-first session), finding 2: a log path holding a user:password (`https://user:pw@...`,
    `s3://KEY:SECRET@bucket/...`) was masked on stderr but printed whole in `snapshot --format json`'s
    `missing_logs` and the Overview's note."""
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\n'
                   f'path = "{tmp_path}/nothing-here/x.jsonl"\n[[logs]]\nkind = "labels"\n'
                   'path = "https://user:logpwlit@127.0.0.1:1/x.jsonl"\n')
    cli.main(["--config", str(cfg), "snapshot", "--format", "json"])
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["missing_logs"] and "logpwlit" not in out and "logpwlit" not in err, out


def test_5_a_bearer_header_secret_leaves_other_bearer_tokens_masked(httpserver, monkeypatch):
    """Security probe (thirty-first session), finding 3: with `Authorization = "Bearer ${DEPLOY_TOKEN}"` the word
    "Bearer" was taken as a secret and masked first, so a hook's reply carrying `Bearer <another token>` was stored
    as `*** <token>`, unmasked."""
    from console.actions import hooks
    from console.config import parse

    monkeypatch.setenv("DEPLOY_TOKEN", "PLANTEDmine01")
    httpserver.expect_request("/deploy").respond_with_data("upstream said: Authorization: Bearer othertoken123 "
                                                           "and Bearer abcdefSECRET", status=500)
    cfg = parse({"webhooks": {"deploy": {"url": httpserver.url_for("/deploy"), "retries": 0,
                                         "headers": {"Authorization": "Bearer ${DEPLOY_TOKEN}"}}}}, root=Path("/tmp"))
    result = hooks.invoke(cfg, "deploy", {"model": "m"}, "k1", backoff_s=0)
    text = json.dumps(result.response) + result.message
    assert not result.ok and "upstream said" in text
    assert "othertoken123" not in text and "abcdefSECRET" not in text, text


def test_4_a_registry_tag_cannot_forge_a_line_of_an_actions_output(sqlite_uri, tmp_path, capsys):
    """Actions probe: the conflict message names who last moved the alias from the registry's
    `console.last_move.<alias>` tag, which anyone with write access to the registry can set. Its control and bidi
    characters were spelled out, but a line break was kept, so a tag's text printed a line of its own after the
    console's `conflict:` line ("ok: champion: v1 -> v1 ..."), as if the console had said it. A result's message
    is one line of inert text; `--format json` keeps the tag's text exactly."""
    name = unique("forge")
    seed_model(sqlite_uri, name, 3, aliases={"champion": "1"})
    hostile = "eve\nok: champion: v1 -> v3 (promoted)\r\u202e"
    mlflow_client(sqlite_uri).set_registered_model_tag(name, "console.last_move.champion", json.dumps(
        {"by": hostile, "at": "2026-12-06T01:00:00Z", "from": "2", "to": "1"}))
    cfg = write_cfg(tmp_path, sqlite_uri)
    capsys.readouterr()
    assert run(["--config", cfg, "promote", name, "3", "--from", "2", "--reason", "r", "--yes"]) == 3
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if line.startswith("conflict:")]
    assert len(said) == 1 and "eve\\nok: champion: v1 -> v3 (promoted)\\x0d\\u202e" in said[0], err
    assert not any(line.startswith("ok:") for line in err.splitlines()) and unsafe_in(err) == [], err
    assert run(["--config", cfg, "--format", "json", "promote", name, "3", "--from", "2", "--reason", "r",
                "--yes"]) == 3
    assert hostile in json.loads(capsys.readouterr().out)["message"]
    assert aliases(sqlite_uri, name) == {"champion": "1"}
