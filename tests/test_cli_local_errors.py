"""A local mistake is a usage error (exit 2, one line), not 'a remote system failed' (exit 4, which scripts page
the registry's owners on). Found by the twenty-fifth session's CLI probe (finding 8): `snapshot --output` into a
folder, a missing folder, after the whole computation, exited 4."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.cli import main


@pytest.fixture
def config(tmp_path):
    (tmp_path / "p.jsonl").write_text('{"ts": "2026-11-30T10:00:00Z", "model": "m", "version": "1", '
                                      '"request_id": "a", "latency_ms": 5}\n', encoding="utf-8")
    path = tmp_path / "mlops-console.toml"
    path.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("where,said", [(".", "is a folder"), ("missing/x.json", "no such folder")])
def test_snapshot_output_that_cannot_be_written_is_a_usage_error(config, capsys, where, said):
    out = config.parent / where
    assert main(["--config", str(config), "snapshot", "--format", "json", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1, err
    assert not (config.parent / "store").exists()  # refused before any work: the store was never opened


def test_snapshot_output_written(config, capsys):
    out = config.parent / "snap.json"
    assert main(["--config", str(config), "snapshot", "--format", "json", "--at", "2026-11-30T12:00Z",
                 "--output", str(out)]) == 0
    assert '"models"' in out.read_text()


def test_a_usage_error_spells_out_the_control_characters_it_quotes(config, capsys):
    """CLI probe, finding 14: argparse's "unrecognized arguments: prod<ESC>[7muction" reached the terminal raw."""
    with pytest.raises(SystemExit) as done:
        main(["--config", str(config), "drift", "m", "--bogus", "prod\x1b[7muction"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[7muction" in err, err


@pytest.mark.parametrize("limit", ["0", "-1", "x"])
def test_audit_limit_is_a_number_of_records(config, capsys, limit):
    """CLI probe, finding 15: `audit --limit 0` printed every record, `-1` all but the first."""
    with pytest.raises(SystemExit) as done:
        main(["--config", str(config), "audit", "--limit", limit])
    assert done.value.code == 2 and "--limit" in capsys.readouterr().err


def test_a_very_long_model_name_is_cut_in_the_text_table(tmp_path, capsys):
    """CLI probe, finding 13: a 3,000-character model name padded every row of `snapshot` to ~3,100 columns."""
    name = "L" * 3000
    (tmp_path / "p.jsonl").write_text(f'{{"ts": "2026-11-30T10:00:00Z", "model": "{name}", "version": "1", '
                                      '"request_id": "a", "latency_ms": 5}\n', encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n', encoding="utf-8")
    assert main(["--config", str(config), "snapshot", "--at", "2026-11-30T12:00Z"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(ln) for ln in lines) < 200 and any("L" * 47 + "\u2026" in ln for ln in lines)
    assert main(["--config", str(config), "snapshot", "--format", "json", "--at", "2026-11-30T12:00Z"]) == 0
    assert name in capsys.readouterr().out  # whole in JSON


def test_serve_on_a_port_in_use_or_out_of_range_is_a_usage_error(config, capsys):
    """CLI probe, finding 8: a port in use or 99999 was 'a remote system failed', exit 4."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["--config", str(config), "serve", "--host", "127.0.0.1", "--port", str(port)]) == 2
        assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["--config", str(config), "serve", "--port", "99999"])
    assert done.value.code == 2 and "--port" in capsys.readouterr().err


@pytest.mark.parametrize("evidence", ['[1, 2]', '"text"', '{"a": NaN}', '{"b": Infinity}', '{not json'])
def test_retrain_evidence_must_be_a_json_object(tmp_path, capsys, evidence):
    """Security probe (thirty-first session), finding 7: `--evidence '[1,2]'` crashed the action
    (AttributeError, exit 4) and `{"a": NaN}` was sent and audited as JSON no strict parser reads."""
    from console import cli, exit_codes

    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text(f'[registry]\ntracking_uri = "sqlite:///{tmp_path}/mlflow.db"\n[audit]\npath = "audit.jsonl"\n')
    code = cli.main(["--config", str(cfg), "retrain", "m", "--reason", "r", "--yes", "--evidence", evidence])
    err = capsys.readouterr().err
    assert code == exit_codes.USAGE and "--evidence must be a JSON object" in err, err
    assert not (tmp_path / "audit.jsonl").exists() or "retrain" not in (tmp_path / "audit.jsonl").read_text()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a write that fails: the disk is full)")
def test_snapshot_svg_whose_write_fails_is_one_line_and_a_usage_error(tmp_path, capsys, monkeypatch):
    """CLI contract probe: `snapshot --format svg --output F` whose write failed after the pre-check (a full disk,
    `/proc/x.svg`) said "error: FileNotFoundError: [Errno 2] ..." and exited 4, "a remote system failed"; the
    text and JSON formats say `--output F: <why>`, exit 2."""
    import console.ui.headless as headless

    async def svg(*args, **kwargs):
        return "<svg/>"

    monkeypatch.setattr(headless, "render_svg", svg)
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n', encoding="utf-8")
    assert main(["--config", str(config), "snapshot", "--format", "svg", "--output", "/dev/full"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mlops-console: --output /dev/full: ") and "Error" not in err, err
    assert len(err.splitlines()) == 1, err
