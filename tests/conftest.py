"""Shared fixtures: one real `mlflow server` for the session, and a helper to seed models."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

import demo_copy

SRC = str(Path(__file__).resolve().parents[1] / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Every store the suite (and the consoles it starts) creates lives in the session's temporary folder, and so
    does the default audit trail (`$XDG_STATE_HOME`): a workspace with no `[audit] path` wrote the user's own
    ~/.local/state/mlops-console/audit.jsonl, shared by every test and every run."""
    old = {k: os.environ.get(k) for k in ("XDG_CACHE_HOME", "XDG_STATE_HOME")}
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    demo_copy.ROOT = tmp_path_factory.mktemp("demo-builds")
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """A passing test's `tmp_path` is emptied once its fixtures are torn down: a copy of the demo workspace is 117 MB
    and about a hundred tests make one, and kept to the session's end they filled a CI machine's disk (every test
    from 87 % on errored at setup). The folder itself stays: pytest numbers a test's folder one past the highest
    there, so a removed `..0` was made again for the next case, whose sqlite registry then met MLflow's engine
    cached for that path ("no such table: registered_models") and whose store the one cached for that workspace."""
    try:
        return (yield)
    finally:
        path = (getattr(item, "funcargs", None) or {}).get("tmp_path")
        if isinstance(path, Path) and not item.stash.get(_FAILED, False):
            for child in list(path.iterdir()) if path.is_dir() else []:
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def _no_leaked_mlflow_env():
    """MLflow's fluent API sets MLFLOW_* variables (an experiment id, a tracking URI) in os.environ; one test's
    must not reach the next test's subprocesses (a demo build then asks a fresh registry for experiment 27)."""
    yield
    for k in [k for k in os.environ if k.startswith("MLFLOW_")]:
        if k not in _MLFLOW_ENV:
            del os.environ[k]
    os.environ.update(_MLFLOW_ENV)


_MLFLOW_ENV = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}  # as the suite found it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """URI of a real MLflow tracking server (sqlite backend) on 127.0.0.1, shared by the session."""
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root}/mlflow.db", "--default-artifact-root", str(root / "artifacts"),
         "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # a loaded 2-core box has taken 75 s
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield uri
    finally:
        _stop_group(proc)
        log.close()


def _stop_group(proc: subprocess.Popen) -> None:
    """The server spawns uvicorn and job-runner children: stop the whole group this fixture started."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            time.sleep(0.5)  # let the children see the signal too
        except subprocess.TimeoutExpired:
            continue
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return


def unique(prefix: str = "model") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def seed_model(uri: str, name: str, n: int = 3, metrics: list[dict] | None = None, aliases: dict | None = None,
               git_commit: str | None = "abc1234") -> list[str]:
    """Register `name` with `n` versions, each backed by a run with metrics/params/dataset; returns versions."""
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp_name = f"seed-{name}"
    exp = client.get_experiment_by_name(exp_name)
    location = None
    if uri.startswith("sqlite:///"):  # keep local artifacts out of the working tree
        location = (Path(uri[len("sqlite:///"):]).parent / "artifacts").as_uri()
    exp_id = exp.experiment_id if exp else client.create_experiment(exp_name, artifact_location=location)
    client.create_registered_model(name, description=f"{name} for tests")
    versions = []
    for i in range(n):
        run = client.create_run(exp_id)
        rid = run.info.run_id
        for key, value in (metrics[i] if metrics else {"auc": 0.80 + 0.01 * i}).items():
            client.log_metric(rid, key, value)
        client.log_param(rid, "learning_rate", str(0.1 / (i + 1)))
        if git_commit:
            client.set_tag(rid, "mlflow.source.git.commit", git_commit)
        client.log_inputs(rid, datasets=[DatasetInput(
            Dataset(name="train", digest=f"d{i}", source_type="local", source="/data/train.parquet"),
            tags=[InputTag("mlflow.data.context", "training")])])
        client.set_terminated(rid)
        mv = client.create_model_version(name, source=f"runs:/{rid}/model", run_id=rid)
        versions.append(str(mv.version))
    for alias, version in (aliases or {}).items():
        client.set_registered_model_alias(name, alias, str(version))
    return versions


def mlflow_client(uri: str):
    from mlflow.tracking import MlflowClient
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture(scope="session")
def sqlite_uri(tmp_path_factory):
    """A local sqlite registry, for tests that need no server."""
    path = tmp_path_factory.mktemp("sqlite") / "mlflow.db"
    return f"sqlite:///{path}"
