"""The MLflow adapter against a real server, a local sqlite registry and an unreachable one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import SRC, free_port, mlflow_client, seed_model, unique
from console.sources.registry import (ModelInfo, Registry, RegistryError, RegistryNotFound,
                                      RegistryUnavailable)


def test_import_does_not_load_mlflow():
    code = "import sys, console.sources.registry as r; r.Registry('http://x'); print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "False", out.stderr


def test_models_versions_aliases_and_lineage(mlflow_server):
    name = unique("reg")
    seed_model(mlflow_server, name, 3, aliases={"champion": "2", "canary": "3"})
    reg = Registry(mlflow_server)

    info = reg.get_model(name)
    assert isinstance(info, ModelInfo)
    assert info.aliases == {"champion": "2", "canary": "3"}
    assert info.latest_version == "3" and not info.is_prompt
    assert name in [m.name for m in reg.list_models()]

    versions = reg.versions(name)
    assert [v.version for v in versions] == ["3", "2", "1"]
    assert versions[1].aliases == ("champion",) and versions[0].aliases == ("canary",)
    assert versions[0].run_id and versions[0].status == "READY"

    lineage = reg.lineage(name, "2")
    assert lineage.metrics == {"auc": pytest.approx(0.81)}
    assert lineage.params == {"learning_rate": "0.05"}
    assert lineage.git_commit == "abc1234"
    assert lineage.datasets == [("train", "d1", "training")]
    assert reg.alias_version(name, "champion") == "2"
    assert reg.alias_version(name, "shadow") is None


def test_writes_are_seen_by_another_client(mlflow_server):
    name = unique("regw")
    seed_model(mlflow_server, name, 2)
    reg = Registry(mlflow_server)
    reg.set_alias(name, "staging-champion", "1")
    reg.set_model_tag(name, "team", "fraud")
    other = mlflow_client(mlflow_server).get_registered_model(name)
    assert other.aliases == {"staging-champion": "1"} and other.tags["team"] == "fraud"
    reg.delete_alias(name, "staging-champion")
    reg.delete_alias(name, "staging-champion")  # already gone: not an error
    reg.delete_model_tag(name, "team")
    other = mlflow_client(mlflow_server).get_registered_model(name)
    assert other.aliases == {} and "team" not in other.tags


def test_prompts_are_listed_and_flagged(mlflow_server):
    import mlflow
    from mlflow.tracking import MlflowClient

    name = unique("prompt")
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    client.register_prompt(name=name, template="Answer {{question}} briefly.")
    reg = Registry(mlflow_server)
    listed = {m.name: m for m in reg.list_models()}
    assert listed[name].is_prompt
    assert name not in {m.name for m in reg.list_models(include_prompts=False)}
    info = reg.get_model(name)
    assert info.is_prompt and info.latest_version == "1"
    assert [v.version for v in reg.versions(name)] == ["1"]
    reg.set_alias(name, "champion", "1")
    assert reg.alias_version(name, "champion") == "1"
    assert mlflow.__version__.startswith("3.")


def test_not_found_is_a_registry_error(mlflow_server):
    reg = Registry(mlflow_server)
    with pytest.raises(RegistryNotFound):
        reg.get_model(unique("missing"))
    with pytest.raises(RegistryError):
        reg.lineage(unique("missing"), "1")


def test_unreachable_server_is_unavailable():
    reg = Registry(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RegistryUnavailable, match="unreachable"):
        reg.ping()
    with pytest.raises(RegistryUnavailable):
        reg.list_models()


def test_bad_uri_is_unavailable():
    with pytest.raises(RegistryUnavailable, match="unsupported"):
        Registry("nosuchscheme://x").list_models()
    with pytest.raises(RegistryUnavailable):
        Registry("")


def test_local_sqlite_registry(sqlite_uri):
    name = unique("local")
    seed_model(sqlite_uri, name, 2, aliases={"champion": "1"})
    reg = Registry(sqlite_uri)
    reg.ping()
    assert reg.get_model(name).aliases == {"champion": "1"}
    assert [v.version for v in reg.versions(name)] == ["2", "1"]


def test_registry_shared_by_threads(mlflow_server):
    from concurrent.futures import ThreadPoolExecutor

    name = unique("thr")
    seed_model(mlflow_server, name, 1, aliases={"champion": "1"})
    reg = Registry(mlflow_server)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: reg.get_model(name).aliases, range(8)))
    assert all(r == {"champion": "1"} for r in results)


def test_a_hung_registry_is_asked_once_per_cooldown():
    """qa5: a hung registry cost 3 s per call and `snapshot` made 4 calls. Once a call finds it unavailable, the
    calls after it fail at once, saying so, until the cool-down ends; then one call asks again."""
    from test_security import HungServer

    now = [0.0]
    hung = HungServer()
    try:
        reg = Registry(hung.uri, cooldown_s=15.0, clock=lambda: now[0])
        calls = (reg.list_models, lambda: reg.get_model("a"), lambda: reg.aliases("b"),
                 lambda: reg.lineage("c", "1"), lambda: reg.set_alias("d", "champion", "2"))
        messages = []
        for call in calls:
            with pytest.raises(RegistryUnavailable) as info:
                call()
            messages.append(str(info.value))
        assert len(hung.conns) == 1  # one attempt, not five
        assert "unreachable" in messages[0] and all("not asked again for 15 s" in m for m in messages[1:])
        now[0] = 16.0  # the cool-down is over: the next call asks again, once
        for call in calls[:2]:
            with pytest.raises(RegistryUnavailable):
                call()
        assert len(hung.conns) == 2
    finally:
        hung.close()


def test_mlflows_own_error_logs_never_reach_the_terminal(tmp_path, capfd):
    """A failed registry write had MLflow log an ERROR with two tracebacks (80 lines, the lease's token among the
    SQL parameters) before the console's one line; in the TUI it would write over the screen."""
    import logging

    Registry(f"sqlite:///{tmp_path}/mlflow.db").ping()
    capfd.readouterr()
    try:
        raise RuntimeError("attempt to write a readonly database")
    except RuntimeError:
        logging.getLogger("mlflow.store.db.utils").exception("SQLAlchemy database error")
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("status,body", [(500, "json"), (503, "json"), (503, "html"), (502, "html")])
def test_a_registry_answering_server_errors_is_not_called_unreachable(status, body):
    """A tracking server that answers (a proxy's 503 page, a 500 while its database is down) is up but failing: it
    was said to be "unreachable", which sends an on-call engineer to check the network instead of the server. The
    message says it answered, with its status or, from an MLflow that keeps only the server's JSON error (3.18), that
    error."""
    import http.server
    import threading

    class Failing(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            text = (b'{"error_code": "INTERNAL_ERROR", "message": "database is locked"}' if body == "json" else
                    b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>")
            self.send_response(status)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        reg = Registry(f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(RegistryUnavailable) as err:
            reg.list_models()
        said = str(err.value)
        assert "unreachable" not in said and "answers" in said and "127.0.0.1" in said, said
        if body == "json":
            assert f"HTTP {status}" in said or "INTERNAL_ERROR: database is locked" in said, said
        else:
            assert f"HTTP {status} (a server error)" in said, said
        with pytest.raises(RegistryUnavailable):  # the breaker is open: the next call is not sent
            reg.list_models()
    finally:
        server.shutdown()
        server.server_close()
