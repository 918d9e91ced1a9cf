"""Odd input at the CLI surface: one clear line, the right exit code, valid JSON. Found by the thirty-fourth
session's CLI probe (a workspace from `demo --no-open`, an empty folder, odd configs and options)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from console.cli import main

ROW = ('{"ts": "2026-11-30T10:00:00Z", "model": "m", "version": "1", "request_id": "a", "latency_ms": 5}\n')


# root reads a mode-000 folder anyway (CAP_DAC_OVERRIDE): as root (CI), the command runs without those capabilities
DROP = (["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
        if os.geteuid() == 0 and shutil.which("setpriv") else [])


@pytest.fixture
def locked(tmp_path):
    """A log folder this process may not list (mode 000), holding a log; opened again after the test."""
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "a.jsonl").write_text(ROW, encoding="utf-8")
    (folder / "b.parquet").write_bytes(b"")
    folder.chmod(0)
    try:
        probe = subprocess.run([*DROP, sys.executable, "-c", f"import os; os.listdir({str(folder)!r})"],
                               capture_output=True)
        assert probe.returncode != 0, "folder permissions are not enforced for the command (root without setpriv)"
        yield folder
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("path,fmt", [("locked/*.jsonl", "jsonl"), ("locked/a.jsonl", "jsonl"),
                                      ("locked/*.parquet", "parquet")])
def test_a_log_folder_that_cannot_be_read_is_said_so_not_as_a_typo(locked, path, fmt):
    """`[[logs]] path` in a folder without read permission said "configured log matches no file" (the operator
    looks for a typo; the file is there): it names the folder and the reason, and the readable log is still read."""
    root = locked.parent
    (root / "ok.jsonl").write_text(ROW, encoding="utf-8")
    config = root / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n'
                      f'[[logs]]\nkind = "predictions"\npath = "{path}"\nformat = "{fmt}"\n'
                      '[[logs]]\nkind = "predictions"\npath = "ok.jsonl"\n', encoding="utf-8")
    proc = subprocess.run([*DROP, sys.executable, "-m", "console", "--config", str(config), "snapshot", "--format",
                           "json", "--at", "2026-11-30T12:00Z"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 0, proc.stderr
    out, err = proc.stdout, proc.stderr
    snap = json.loads(out)
    assert snap["missing_logs"] == [], snap["missing_logs"]
    assert "matches no file" not in err, err
    assert f"the folder {locked} cannot be read (Permission denied)" in err, err
    assert snap["counts"]["predictions"] == 1  # ok.jsonl, read beside it


def test_rollup_names_a_log_folder_it_cannot_read_and_builds_the_rest(locked):
    """The `rollup` command had not the fix above: a source in a folder it cannot list was built as no file, exit
    0 and nothing said. It is a skipped source now (exit 2, the folder named), the readable log still built."""
    root = locked.parent
    (root / "ok.jsonl").write_text(ROW, encoding="utf-8")
    config = root / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "locked/*.jsonl"\n'
                      '[[logs]]\nkind = "predictions"\npath = "ok.jsonl"\n', encoding="utf-8")
    proc = subprocess.run([*DROP, sys.executable, "-m", "console", "--config", str(config), "rollup", "--until",
                           "2026-12-01T00:00Z", "--no-ready", "--format", "json"], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    run = json.loads(proc.stdout)
    assert any(f"the folder {locked} cannot be read" in line for line in run["skipped_sources"]), run
    assert run["rows"] == 1 and run["files"] == 1, run  # ok.jsonl, built beside it


def test_a_path_that_names_no_file_is_still_a_missing_log(tmp_path, capsys):
    """The other side of the rule above: a typo in a readable folder is still "matches no file"."""
    (tmp_path / "ok.jsonl").write_text(ROW, encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "typo/*.jsonl"\n'
                      '[[logs]]\nkind = "labels"\npath = "ok.jsonl.typo"\n'
                      '[[logs]]\nkind = "predictions"\npath = "ok.jsonl"\n', encoding="utf-8")
    assert main(["--config", str(config), "snapshot", "--format", "json", "--at", "2026-11-30T12:00Z"]) == 0
    out, err = capsys.readouterr()
    assert sorted(json.loads(out)["missing_logs"]) == sorted([str(tmp_path / "typo/*.jsonl"),
                                                              str(tmp_path / "ok.jsonl.typo")])
    assert err.count("configured log matches no file") == 2 and "cannot be read" not in err, err


def test_a_range_after_the_clock_names_the_clock_not_a_stand_in(tmp_path, capsys):
    """`drift m --from 8999-06-01` said "--from must be before the end of the view (now: 8000-01-01T00:00:00Z)":
    the options' early check runs against a stand-in clock (year 8000), and its message named it."""
    from datetime import UTC, datetime

    (tmp_path / "p.jsonl").write_text(ROW, encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n', encoding="utf-8")
    for argv in (["drift", "m", "--from", "8999-06-01"], ["check", "--from", "8999-06-01T00:00Z"]):
        before = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        assert main(["--config", str(config), *argv, "--format", "json"]) == 2
        after = datetime.now(UTC).replace(tzinfo=None)
        out, err = capsys.readouterr()
        assert out == "" and len(err.strip().splitlines()) == 1, err
        assert "--from must be before the end of the view (now: " in err, err
        said = datetime.fromisoformat(err.split("(now: ", 1)[1].split(")", 1)[0].rstrip("Z"))
        assert before <= said <= after, err
        assert not (tmp_path / "store").exists()  # refused before the store was opened


@pytest.mark.parametrize("argv", [["promote", "m", "1", "--reason", "r", "--yes"],
                                  ["rollback", "m", "--reason", "r", "--yes"],
                                  ["canary", "m", "abort", "--reason", "r", "--yes"],
                                  ["retrain", "m", "--reason", "r", "--yes"]])
def test_an_action_with_no_registry_configured_is_a_usage_error(tmp_path, capsys, argv):
    """`promote m 1` in a workspace with no [registry] said "no registry configured: set [registry] tracking_uri
    or pass --registry" and exit 4, "a remote system failed" (which pages the registry's owners): the
    configuration is the operator's to fix, exit 2, as an unset ${VAR} in the hook URL is."""
    (tmp_path / "p.jsonl").write_text(ROW, encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[audit]\npath = "audit.jsonl"\n'
                      '[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n', encoding="utf-8")
    assert main(["--config", str(config), *argv, "--format", "json"]) == 2
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert (result["ok"], result["status"], result["exit_code"]) == (False, "usage", 2), result
    assert "no registry configured" in err and len(err.strip().splitlines()) == 1, err
    # a usage error, nothing attempted: no record (it was audited as "failed", as a registry down is)
    audit = tmp_path / "audit.jsonl"
    assert not audit.exists() or not audit.read_text().strip(), audit.read_text()
