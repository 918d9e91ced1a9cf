"""A rollup folder that cannot be written (a read-only mount, a full disk, a file in its way) costs the speed of
long windows, not the answers. Security probe (thirty-first session), finding 6: `health`, `quality` and `cost`
over 7 days failed with the OSError (exit 4, "a remote system failed"), `check` could not evaluate the model, and
`rollup` failed the same way. Now the reads take the raw rows (the numbers of a store without rollups), say so on
stderr, and `rollup` says which folder cannot be written, exit 2."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from console import exit_codes
from console.cli import main

T0 = datetime(2026, 11, 20)


def _workspace(tmp_path, rollups: str, min_rows: int):
    rows = [{"ts": f"{T0 + timedelta(minutes=3 * i):%Y-%m-%dT%H:%M:%S}Z", "model": "m", "version": "1",
             "request_id": f"r{i}", "latency_ms": 10 + i % 7, "prediction": "1", "status": "error" if i % 9 == 0 else "ok"}
            for i in range(3000)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / f"c-{min_rows}.toml"
    cfg.write_text(f'[store]\npath = "store-{min_rows}"\n[rollups]\npath = "{rollups}"\nmin_rows = {min_rows}\n'
                   '[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n[models.m]\ntask = "classification"\n')
    return str(cfg)


def test_long_windows_read_raw_rows_when_the_rollup_folder_cannot_be_written(tmp_path, capsys):
    (tmp_path / "blocker").write_text("")  # a file where the folder should be: mkdir fails as on a read-only mount
    blocked = _workspace(tmp_path, "blocker/rollups", 10)
    raw = _workspace(tmp_path, "rollups", 10**9)
    for command in (["health", "m", "--window", "7d"], ["cost", "m", "--window", "7d"]):
        answers = []
        for cfg in (blocked, raw):
            code = main(["--config", cfg, "--at", "latest", *command, "--format", "json"])
            out, err = capsys.readouterr()
            assert code == exit_codes.OK, err
            answers.append((json.loads(out), err))
        (got, said), (want, _) = answers
        assert "rollup folder" in said and "cannot be written" in said and "raw rows" in said, said
        assert got == want
    checks = []
    for cfg in (blocked, raw):
        code = main(["--config", cfg, "--at", "latest", "check", "--format", "json"])
        out, err = capsys.readouterr()
        checks.append((code, json.loads(out)["incidents"], err))
    (code, incidents, said), (want_code, want, _) = checks
    assert code == want_code and incidents == want and "could not evaluate" not in said, said
    assert "cannot be written" in said
    assert main(["--config", blocked, "rollup"]) == exit_codes.USAGE
    err = capsys.readouterr().err
    assert "blocker/rollups cannot be written" in err and "Error" not in err, err
