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
    ("[console]\nrefresh_seconds = inf\n", "console.refresh_seconds", "<= 86400"),  # the TUI never refreshed
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


# --------------------------------------------------------------------------- the typed schema (issue 11)

@pytest.mark.parametrize("text, key, expected", [
    ("[[alerts]]\nmetric = 'accuracy'\nthreshold = 1\n", "alerts[0].metric", "expected one of p95_ms"),
    ("[[alerts]]\nmetric = 'feature_drfit'\nthreshold = 1\n", "alerts[0].metric", "got 'feature_drfit'"),
    ("[[alerts]]\nmetric = 'p95_ms'\nthreshold = 1\nseverity = 'high'\n", "alerts[0].severity",
     "expected one of info, warning, critical"),
    ("[[alerts]]\nmetric = 'p95_ms'\nthreshold = 1\nwindow = '1 hour'\n", "alerts[0].window", "expected a window"),
    ("[[alerts]]\nmetric = 'p95_ms'\nthreshold = 1\nwindwo = '1h'\n", "alerts[0].windwo", "unknown key"),
    ("[models.m]\nfeatures = ['a']\n[models.m.drift.a]\ntest = 'kss'\n", "models.m.drift.a.test",
     "expected one of ks, wasserstein, psi, jensenshannon, chisquare, z"),
    ("[models.m]\nfeatures = ['a']\n[models.m.drift.b]\nignore = true\n", "models.m.drift.b",
     "'b' is not a feature of m; expected one of a"),
    ("[models.m]\n[models.m.drift.b]\nignore = true\n", "models.m.drift.b", "no features and no reference"),
    ("[models.m]\nfeatures = ['a']\n[models.m.drift.a]\nignore = 'yes'\n", "models.m.drift.a.ignore",
     "expected true or false"),
    ("[models.m.slo]\nshort_window = 'soon'\n", "models.m.slo.short_window", "expected a window"),
    ("[models.m.prices]\nreplicas = 1.5\n", "models.m.prices.replicas", "expected a whole number >= 0"),
    ("[environments.prod]\nproduction = 'y'\n", "environments.prod.production", "expected true or false"),
    ("[ingest]\npartial_line_grace = 'later'\n", "ingest.partial_line_grace", "expected a window"),
    ("[storage.s3]\nregion = 3\n", "storage.s3.region", "expected a string"),
    ("[store]\npath = 1\n", "store.path", "expected a string"),
    ("logs = 3\n", "logs", "expected an array of tables ([[logs]])"),
])
def test_typed_schema_names_the_key(tmp_path, text, key, expected):
    with pytest.raises(ConfigError) as err:
        parse_file(write(tmp_path, text))
    assert err.value.key == key
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def _reference(tmp_path: Path) -> None:
    import polars as pl
    pl.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "label": [0, 1]}).write_parquet(tmp_path / "ref.parquet")
    (tmp_path / "ref.csv").write_text("a,b,label\n1,x,0\n")


@pytest.mark.parametrize("text, key, expected", [
    ("[models.m]\nreference = 'nope.parquet'\n", "models.m.reference", "no such file"),
    ("[models.m]\nreference = 'ref.parquet'\nfeatures = ['a', 'c']\n", "models.m.features",
     "c not in the reference ref.parquet"),
    ("[models.m]\nreference = 'ref.csv'\nfeatures = ['a', 'zz']\n", "models.m.features", "zz not in the reference"),
    ("[models.m]\nreference = 'ref.parquet'\n[models.m.drift.label]\nignore = true\n", "models.m.drift.label",
     "'label' is not a feature of m; expected one of a, b"),
])
def test_files_the_config_names_are_checked_on_load(tmp_path, text, key, expected):
    _reference(tmp_path)
    path = write(tmp_path, text)
    parse_file(path)  # the schema alone is fine
    with pytest.raises(ConfigError) as err:
        load(path)
    assert err.value.key == key and expected in str(err.value)


def test_a_missing_reference_exits_2_with_one_line(tmp_path):
    path = write(tmp_path, "[models.m]\nreference = 'nope.parquet'\n")
    proc = subprocess.run([sys.executable, "-m", "console", "--config", str(path), "check"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC})
    assert proc.returncode == 2 and proc.stdout == ""
    assert "models.m.reference" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_data_path_keys_and_their_defaults(tmp_path, monkeypatch):
    _reference(tmp_path)
    cfg = parse_file(write(tmp_path, "[[logs]]\nkind = 'predictions'\npath = 's3://bucket/logs/*.parquet'\n"))
    assert cfg.store_path is None and cfg.rollups_path is None
    assert cfg.ingest.partial_line_grace == "30s" and cfg.ingest.partial_line_grace_s == 30
    assert cfg.ingest.future_tolerance_s == 300
    assert cfg.logs[0].path == "s3://bucket/logs/*.parquet" and cfg.logs[0].options == {}
    assert cfg.s3.endpoint_url is None

    monkeypatch.delenv("NOT_SET_KEY", raising=False)
    cfg = parse_file(write(tmp_path, """
[store]
path = "store"
[rollups]
path = "rollups"
[ingest]
partial_line_grace = "2m"
future_tolerance = "1h"
[storage.s3]
endpoint_url = "http://127.0.0.1:5000"
region = "eu-west-1"
access_key_id = "${NOT_SET_KEY}"
[[logs]]
kind = "predictions"
path = "capture/"
format = "sagemaker-capture"
[logs.options]
endpoint = "fraud"
variant_map = { AllTraffic = "production" }
"""))
    assert cfg.store_path == tmp_path / "store" and cfg.rollups_path == tmp_path / "rollups"
    assert cfg.ingest.partial_line_grace_s == 120 and cfg.ingest.future_tolerance_s == 3600
    assert cfg.logs[0].format == "sagemaker-capture"
    assert cfg.logs[0].options == {"endpoint": "fraud", "variant_map": {"AllTraffic": "production"}}
    assert cfg.s3.endpoint_url == "http://127.0.0.1:5000" and cfg.s3.region == "eu-west-1"
    secret = cfg.s3.access_key_id
    assert isinstance(secret, Secret) and "NOT_SET" not in repr(cfg)
    with pytest.raises(ConfigError) as err:  # unset: an error only where the value is used
        secret.reveal()
    assert err.value.key == "storage.s3.access_key_id" and "NOT_SET_KEY is not set" in str(err.value)
    monkeypatch.setenv("NOT_SET_KEY", "AKIA-test")
    assert secret.reveal() == "AKIA-test"


def test_log_formats_can_be_registered(tmp_path):
    import console.config as config
    path = write(tmp_path, "[[logs]]\nkind = 'predictions'\npath = 'x'\nformat = 'my-format'\n")
    with pytest.raises(ConfigError, match="logs\\[0\\].format"):
        parse_file(path)
    before = config.LOG_FORMATS
    try:
        config.register_log_format("my-format")
        assert parse_file(path).logs[0].format == "my-format"
    finally:
        config.LOG_FORMATS = before


def test_drift_test_names_are_the_drift_engine_names():
    from console.analytics import drift
    from console.config import DRIFT_TEST_ALIASES, DRIFT_TESTS
    assert set(DRIFT_TESTS) == set(drift.TESTS)
    for alias, name in DRIFT_TEST_ALIASES.items():
        assert drift.resolve_test(alias).name == name


def test_demo_config_passes_the_schema(tmp_path):
    from console.demo.workspace import config_text
    cfg = parse_file(write(tmp_path, config_text()))
    assert cfg.alerts and all(r.metric for r in cfg.alerts)


def test_an_unset_webhook_secret_fails_where_it_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE_NOT_SET_VAR", raising=False)
    cfg = parse_file(write(tmp_path, "[webhooks.deploy]\nurl = 'http://x'\n"
                                     "headers = { Authorization = '${NOPE_NOT_SET_VAR}' }\n"))
    with pytest.raises(ConfigError) as err:
        cfg.webhooks["deploy"].headers["Authorization"].reveal()
    assert err.value.key == "webhooks.deploy.headers.Authorization" and "NOPE_NOT_SET_VAR is not set" in str(err.value)


def test_an_unset_variable_in_a_log_path_names_itself(tmp_path, monkeypatch):
    """CLI probe, finding 11: `path = "${LABELS_DIR}/labels.csv"` with the variable unset was used literally, and
    the labels source went missing with one note; as every other `${VAR}`, it is a configuration error."""
    from console.config import ConfigError, parse

    monkeypatch.delenv("LABELS_DIR_UNSET", raising=False)
    with pytest.raises(ConfigError) as got:
        parse({"logs": [{"kind": "labels", "path": "${LABELS_DIR_UNSET}/labels.csv"}]}, root=tmp_path)
    assert "logs[0].path" in str(got.value) and "LABELS_DIR_UNSET is not set" in str(got.value)
    monkeypatch.setenv("LABELS_DIR_UNSET", str(tmp_path / "l"))
    cfg = parse({"logs": [{"kind": "labels", "path": "${LABELS_DIR_UNSET}/labels.csv"}]}, root=tmp_path)
    assert cfg.logs[0].path == str(tmp_path / "l" / "labels.csv")


def test_a_config_saved_with_a_bom_reads_and_a_drift_share_is_a_share(tmp_path):
    """CLI probe, finding 16: a UTF-8 BOM (Windows editors) was 'not valid TOML ... line 1, column 1'; a
    `thresholds.drift_share = 5` was accepted, a rule that could never fire."""
    from console.config import ConfigError, parse, parse_file

    path = tmp_path / "mlops-console.toml"
    path.write_text("\ufeff[workspace]\nname = \"bom\"\n", encoding="utf-8")
    assert parse_file(path).workspace == "bom"
    with pytest.raises(ConfigError) as got:
        parse({"thresholds": {"drift_share": 5}}, root=tmp_path)
    assert "drift_share" in str(got.value)


def test_a_folder_given_as_the_config_is_said_to_be_one(tmp_path):
    """CLI probe, finding 16: a folder given as --config was 'no such file: PATH' (it exists)."""
    from console.config import ConfigError, find_config_file

    with pytest.raises(ConfigError) as got:
        find_config_file(tmp_path)
    assert "a folder, not a file" in str(got.value)


def test_a_number_out_of_its_bounds_says_the_bounds(tmp_path):
    """Probe H (twenty-ninth session): `drift_share = 5.0` said "expected a number, got a number (5.0)"."""
    p = tmp_path / "c.toml"
    p.write_text("[thresholds]\ndrift_share = 5.0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        parse_file(p)
    assert "thresholds.drift_share" in str(err.value) and "> 0.0 and <= 1.0" in str(err.value), str(err.value)


@pytest.mark.parametrize("table,key,said", [
    ("url = ''", "webhooks.deploy.url", "is empty"),
    ("command = []", "webhooks.deploy", "names no hook"),
    ("timeout_s = 5", "webhooks.deploy", "names no hook"),
    ("url = 'http://127.0.0.1/x'\ncommand = ['true']", "webhooks.deploy", "both a url and a command"),
])
def test_a_hook_table_that_names_no_hook_is_a_config_error(tmp_path, table, key, said):
    """Security probe (thirty-first session), finding 4: `[webhooks.deploy]` with `url = ""`, `command = []` or
    only a timeout read as "no deploy hook configured", and `promote --yes` moved production's champion without
    calling the deploy system, exit 0; with both a url and a command only the URL was called."""
    with pytest.raises(ConfigError) as err:
        parse_file(write(tmp_path, f"[webhooks.deploy]\n{table}\n"))
    assert err.value.key == key and said in err.value.message, str(err.value)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_an_alert_threshold_that_is_not_finite_is_a_config_error(tmp_path, value):
    """Security probe (thirty-first session), finding 5: `threshold = nan` was accepted and the rule vanished
    (never listed, even by `check --all`); every other number in the file refuses nan."""
    with pytest.raises(ConfigError) as err:
        parse_file(write(tmp_path, f"[[alerts]]\nmetric = 'p95_ms'\nthreshold = {value}\n"))
    assert err.value.key.endswith("threshold") and "finite" in err.value.message, str(err.value)


@pytest.mark.parametrize("sink", ["ftp://u:pw@h/", "syslg", "file:///var/log/a"])
def test_an_audit_sink_of_another_scheme_is_a_config_error(tmp_path, sink):
    """Security probe (thirty-first session), finding 9: `sink = "ftp://u:pw@h/"` was accepted and every action
    warned twice that the sink did not take the record. The message names the scheme, never the credentials."""
    with pytest.raises(ConfigError) as err:
        parse_file(write(tmp_path, f"[audit]\nsink = '{sink}'\n"))
    assert err.value.key == "audit.sink" and "syslog" in err.value.message and "pw" not in str(err.value)


def test_an_audit_sink_from_the_environment_is_taken(tmp_path):
    assert parse_file(write(tmp_path, "[audit]\nsink = '${AUDIT_SINK_URL}'\n")).audit_sink is not None
    assert parse_file(write(tmp_path, "[audit]\nsink = 'syslog://127.0.0.1:514'\n")).audit_sink == "syslog://127.0.0.1:514"
