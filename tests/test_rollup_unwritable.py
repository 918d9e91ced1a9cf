"""A rollup folder that cannot be written (a read-only mount, a full disk, a file in its way) costs the speed of
long windows, not the answers. Security probe (thirty-first session), finding 6: `health`, `quality` and `cost`
over 7 days failed with the OSError (exit 4, "a remote system failed"), `check` could not evaluate the model, and
`rollup` failed the same way. Now the reads take the raw rows (the numbers of a store without rollups), say so on
stderr, and `rollup` says which folder cannot be written, exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
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


@pytest.fixture
def read_only(tmp_path):
    """Makes a folder read-only as a shared mount from a side box is: a read-only bind mount as root (root writes
    through a mode), else mode 0555. Undone after the test."""
    import os
    import stat
    import subprocess

    made: list = []

    def make(folder):
        if os.geteuid() == 0:
            view = folder.with_name(folder.name + "-ro")
            view.mkdir()
            for args in (["mount", "--bind", str(folder), str(view)], ["mount", "-o", "remount,ro,bind", str(view)]):
                if subprocess.run(args, capture_output=True).returncode:
                    subprocess.run(["umount", str(view)], capture_output=True)
                    pytest.skip("a read-only bind mount needs root with mount rights")
            made.append(("mount", view))
            return view
        for p in [folder, *folder.rglob("*")]:
            if p.is_dir():
                p.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
                made.append(("mode", p))
        return folder

    yield make
    for kind, p in reversed(made):
        if kind == "mount":
            subprocess.run(["umount", str(p)], capture_output=True)
        else:
            p.chmod(0o755)


def test_rollups_a_side_box_built_in_a_read_only_folder_are_read(tmp_path, capsys, read_only):
    """`[rollups] path` on a read-only mount that a side box (`rollup` elsewhere, or Spark) fills: the console
    reads the rollups there (kept in its own writable mirror, with the hours it builds itself), not the raw rows
    of every long window as if there were none."""
    built = _workspace(tmp_path, "shared", 10)
    assert main(["--config", built, "rollup"]) == exit_codes.OK
    capsys.readouterr()
    ro_folder = read_only(tmp_path / "shared")
    cfg = tmp_path / "reader.toml"
    cfg.write_text((tmp_path / "c-10.toml").read_text().replace('path = "shared"', f'path = "{ro_folder}"')
                   .replace('path = "store-10"', 'path = "store-reader"'))
    raw = _workspace(tmp_path, "rollups", 10**9)
    answers = []
    for config in (str(cfg), raw):
        code = main(["--config", config, "--at", "latest", "health", "m", "--window", "7d", "--format", "json"])
        out, err = capsys.readouterr()
        assert code == exit_codes.OK, err
        answers.append((json.loads(out), err))
    (got, said), (want, _) = answers
    assert "cannot be written" not in said, said
    assert "from hourly rollups" in got.get("note", ""), got.get("note")
    assert "from hourly rollups" not in want.get("note", "")
    for g, w in zip(got["table"], want["table"], strict=True):
        for key in ("version", "requests", "errors", "error_rate", "p50_ms", "p95_ms"):
            assert g[key] == w[key], key
    assert not any((tmp_path / "shared").rglob(".*tmp*")), "nothing written into the read-only folder"


def test_a_full_disk_under_the_rollup_folder_reads_raw_rows_too(tmp_path, capsys):
    """A real full disk (an 8 KiB tmpfs): its folder exists and takes a probe, so only the first rollup file written
    finds it full. `health` and `cost` over 7 days exited 4 with "OSError: [Errno 28] ...", `check` could not evaluate
    the model and `rollup` exited 4: now as for a folder that cannot be made."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        full = _workspace(tmp_path, f"{disk}/rollups", 10)
        raw = _workspace(tmp_path, "rollups", 10**9)
        for command in (["health", "m", "--window", "7d"], ["cost", "m", "--window", "7d"]):
            answers = []
            for cfg in (full, raw):
                code = main(["--config", cfg, "--at", "latest", *command, "--format", "json"])
                out, err = capsys.readouterr()
                assert code == exit_codes.OK, err
                answers.append((json.loads(out), err))
            (got, said), (want, _) = answers
            assert "rollup folder" in said and "No space left on device" in said and "raw rows" in said, said
            assert got == want
        checks = []
        for cfg in (full, raw):
            code = main(["--config", cfg, "--at", "latest", "check", "--format", "json"])
            out, err = capsys.readouterr()
            checks.append((code, json.loads(out)["incidents"], err))
        (code, incidents, said), (want_code, want, _) = checks
        assert code == want_code and incidents == want and "could not evaluate" not in said, said
        assert main(["--config", full, "rollup"]) == exit_codes.USAGE
        err = capsys.readouterr().err
        assert f"{disk}/rollups cannot be written (No space left on device)" in err and "Error" not in err, err
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def _limited(limit: int):
    """For `preexec_fn`: the child may write no file past `limit` bytes (`ulimit -f`). Python ignores SIGXFSZ, so
    a write past it fails with EFBIG instead of killing the process."""
    import resource

    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_file_size_limit_is_no_internal_error(tmp_path):
    """`ulimit -f` (a limit the disk's free space does not show): the store wrote a backlog as one segment, and every
    command exited 4 with "OSError: [Errno 27] Error writing bytes to file" (fourth store probe, carried item 1). Now
    the segment is written in pieces that fit, and the answers are those of a run without the limit."""
    import os
    import sys

    from conftest import SRC

    limit = 96 << 10
    rows = [{"ts": f"{T0 + timedelta(seconds=20 * i):%Y-%m-%dT%H:%M:%S}Z", "model": "m", "version": "1",
             "request_id": f"r{i:06d}-{(i * 7919) % 100003:05d}", "latency_ms": 10 + (i * 37) % 211,
             "prediction": str(i % 2), "status": "error" if i % 9 == 0 else "ok", "amount": (i * 2654435761) % 10**6 / 7}
            for i in range(30000)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    answers = []
    for name, preexec in (("limited", _limited(limit)), ("free", None)):
        cfg = tmp_path / f"{name}.toml"
        cfg.write_text(f'[store]\npath = "store-{name}"\n[rollups]\nmin_rows = 10\n[[logs]]\nkind = "predictions"\n'
                       'path = "p.jsonl"\n[models.m]\ntask = "classification"\n')
        env = {**os.environ, "PYTHONPATH": SRC}
        done = subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), "--at", "latest", "health", "m",
                               "--window", "7d", "--format", "json"], capture_output=True, text=True, env=env,
                              preexec_fn=preexec, timeout=600)
        assert done.returncode == exit_codes.OK, done.stderr
        assert "Error" not in done.stderr, done.stderr
        answers.append(json.loads(done.stdout))
    got, want = answers
    assert got == want
    assert sum(v["requests"] for v in got["table"]) == len(rows)  # every row, counted once
    store = tmp_path / "store-limited"
    assert len(list(store.rglob("predictions/*.parquet"))) > 1  # it did not fit whole
    assert all(p.stat().st_size <= limit for p in store.rglob("*") if p.is_file())
