"""Every configuration mistake gets one clear line naming the key, and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.config import ConfigError, Secret, load, parse_file

SRC = str(Path(__file__).resolve().parents[1] / "src")


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "mlops-console.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("text, key, expected", [
    ("[console]\nrefresh_seconds = 'fast'\n", "console.refresh_seconds", "expected a number"),
    ("[console]\nrefresh_seconds = 0\n", "console.refresh_seconds", ">= 0.2"),
    ("[console]\nread_only = 'yes'\n", "console.read_only", "expected true or false"),
    ("[[logs]]\nkind = 'metrics'\npath = 'x'\n", "logs[0].kind", "expected one of predictions, labels, deployments"),
    ("[[logs]]\nkind = 'predictions'\n", "logs[0].path", "expected a path"),
    ("[[logs]]\nkind = 'predictions'\npath = 'x'\nformat = 'xml'\n", "logs[0].format", "jsonl, csv, parquet"),
    ("[models.m]\ntask = 'ranking'\n", "models.m.task", "classification, regression, llm"),
    ("[models.m]\nfeatures = 'a,b'\n", "models.m.features", "a list of strings"),
    ("[models.m.prices]\ninput_per_1m = -1\n", "models.m.prices.input_per_1m", ">= 0.0"),
    ("[rollout]\ncanary_steps = [50, 10]\n", "rollout.canary_steps", "increasing"),
    ("[[alerts]]\nmetric = 'p95_ms'\nop = '=='\nthreshold = 1\n", "alerts[0].op", "expected one of"),
    ("[[alerts]]\nmetric = 'p95_ms'\n", "alerts[0].threshold", "expected a number"),
    ("[keys]\nquit = 3\n", "keys.quit", "expected a key name"),
    ("[consol]\nx = 1\n", "consol", "unknown key"),
    ("[console\n", "config", "not valid TOML"),
])
def test_each_mistake_names_its_key(tmp_path, text, key, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        parse_file(path)
    assert err.value.key == key
    assert expected in str(err.value)


def test_cli_prints_one_line_and_exits_2(tmp_path):
    path = write(tmp_path, "[console]\nrefresh_seconds = 'fast'\n")
    proc = subprocess.run([sys.executable, "-m", "console", "--config", str(path), "snapshot"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC})
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "console.refresh_seconds: expected a number" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "absent.toml")


def test_lookup_order(tmp_path, monkeypatch):
    explicit = write(tmp_path, "[workspace]\nname = 'explicit'\n")
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    env_file = write(env_dir, "[workspace]\nname = 'from-env'\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    write(cwd, "[workspace]\nname = 'local'\n")
    xdg = tmp_path / "xdg"
    (xdg / "mlops-console").mkdir(parents=True)
    (xdg / "mlops-console" / "config.toml").write_text("[workspace]\nname = 'xdg'\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.setenv("MLOPS_CONSOLE_CONFIG", str(env_file))
    assert load(explicit, cwd=cwd).workspace == "explicit"
    assert load(None, cwd=cwd).workspace == "from-env"
    monkeypatch.delenv("MLOPS_CONSOLE_CONFIG")
    assert load(None, cwd=cwd).workspace == "local"
    assert load(None, cwd=tmp_path / "env").workspace == "from-env"  # ./mlops-console.toml there
    empty = tmp_path / "empty"
    empty.mkdir()
    assert load(None, cwd=empty).workspace == "xdg"


def test_registry_alone_without_a_config_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    monkeypatch.delenv("MLOPS_CONSOLE_CONFIG", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = load(None, registry="sqlite:////tmp/x.db", cwd=tmp_path)
    assert cfg.tracking_uri == "sqlite:////tmp/x.db" and not cfg.has_logs
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert load(None, cwd=tmp_path).tracking_uri == "http://127.0.0.1:5999"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    with pytest.raises(ConfigError, match="no configuration found"):
        load(None, cwd=tmp_path)


def test_secrets_expand_but_never_print(tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_TOKEN", "s3cr3t-value")
    path = write(tmp_path, "[webhooks.deploy]\nurl = 'http://127.0.0.1/x'\n"
                           "headers = { Authorization = 'Bearer ${HOOK_TOKEN}' }\n")
    cfg = parse_file(path)
    header = cfg.webhooks["deploy"].headers["Authorization"]
    assert isinstance(header, Secret) and header.reveal() == "Bearer s3cr3t-value"
    assert "s3cr3t" not in repr(cfg) and "s3cr3t" not in str(header) and "s3cr3t" not in f"{header}"


def test_an_unset_variable_fails_where_it_is_used_naming_its_key(tmp_path):
    from console.config import reveal

    path = write(tmp_path, "[webhooks.deploy]\nurl = 'http://x'\nheaders = { Authorization = '${NOPE_NOT_SET_VAR}' }\n")
    header = parse_file(path).webhooks["deploy"].headers["Authorization"]  # loading does not need it
    with pytest.raises(ConfigError) as err:
        reveal(header)
    assert err.value.key == "webhooks.deploy.headers.Authorization" and "NOPE_NOT_SET_VAR is not set" in str(err.value)


def test_relative_paths_resolve_against_the_file(tmp_path):
    path = write(tmp_path, "[registry]\ntracking_uri = 'sqlite:///reg/mlflow.db'\n"
                           "[[logs]]\nkind = 'predictions'\npath = 'logs/*.jsonl'\n"
                           "[models.m]\nreference = 'ref.parquet'\n")
    cfg = parse_file(path)
    assert cfg.tracking_uri == f"sqlite:///{tmp_path}/reg/mlflow.db"
    assert cfg.logs[0].path == f"{tmp_path}/logs/*.jsonl"
    assert cfg.models["m"].reference == tmp_path / "ref.parquet"


def test_registry_override_and_read_only_flag(tmp_path):
    path = write(tmp_path, "[registry]\ntracking_uri = 'sqlite:///a.db'\n")
    cfg = load(path, registry="http://127.0.0.1:1", read_only=True)
    assert cfg.tracking_uri == "http://127.0.0.1:1" and cfg.read_only
