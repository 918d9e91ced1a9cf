"""A configured path whose names hold glob characters (`/data/logs[eu]/p.jsonl`, a file `p[1].jsonl`, an S3 key
with brackets) is read as written when it exists; only a path that names nothing as written is a glob.

Before, such a path was always a glob: `logs[eu]` matched the folders `logse` and `logsu`, `p[1].jsonl` matched
`p1.jsonl`, and the operator's own file was never read (or another file was read in its place). Each test writes the
files the glob would match beside the one named, with other row counts, and checks the hand count of the named one
through `snapshot --format json` (and `health`, and the rollup, for a local JSONL log); a glob that names no file
as written still matches as before. Local and S3 (moto server on 127.0.0.1).
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console.actions import deploylog
from console.cli import main
from console.config import Config, LogSource
from s3_server import s3_server  # noqa: F401  (session fixture)

AT = datetime(2026, 11, 30, 12)


def _rows(n: int, prefix: str) -> list[dict]:
    return [{"ts": (AT - timedelta(minutes=i + 1)).isoformat() + "Z", "model": "m", "version": "1",
             "request_id": f"{prefix}{i}", "latency_ms": 5.0 + i} for i in range(n)]


def _jsonl(n: int, prefix: str) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in _rows(n, prefix)).encode()


def _parquet(n: int, prefix: str) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([{**r, "ts": datetime.fromisoformat(r["ts"][:-1])} for r in _rows(n, prefix)]),
                   out)
    return out.getvalue()


def _write(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)


def _config(tmp_path: Path, path: str, fmt: str, storage: str = "") -> Path:
    cfg = tmp_path / "console.toml"
    cfg.write_text(f'{storage}\n[[logs]]\nkind = "predictions"\npath = "{path}"\nformat = "{fmt}"\n\n'
                   '[models.m]\ntask = "regression"\n', encoding="utf-8")
    return cfg


def _snapshot(cfg: Path, capsys) -> dict:
    assert main(["snapshot", "--config", str(cfg), "--at", AT.isoformat() + "Z", "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _health_requests(cfg: Path, capsys) -> int:
    assert main(["health", "m", "--config", str(cfg), "--window", "24h", "--at", AT.isoformat() + "Z",
                 "--format", "json"]) == 0
    return sum(r["requests"] for r in json.loads(capsys.readouterr().out)["table"])


@pytest.mark.parametrize("named, beside", [
    ("logs[eu]/p.jsonl", ("logse/p.jsonl", "logsu/p.jsonl")),  # a folder's name holds brackets
    ("logs/p[1].jsonl", ("logs/p1.jsonl",)),  # a file's name
    ("logs/p*.jsonl", ("logs/pa.jsonl",)),  # a star in a name
])
def test_a_local_jsonl_path_that_exists_as_written_is_read_as_written(named, beside, tmp_path, capsys):
    _write(tmp_path / "data" / named, _jsonl(4, "named"))
    for i, other in enumerate(beside):
        _write(tmp_path / "data" / other, _jsonl(2 + i, f"other{i}"))
    cfg = _config(tmp_path, str(tmp_path / "data" / named), "jsonl")
    snap = _snapshot(cfg, capsys)
    assert (snap["counts"]["predictions"], snap["malformed"], snap["missing_logs"]) == (4, 0, []), snap["log_notes"]
    assert _health_requests(cfg, capsys) == 4
    rc = main(["rollup", "--config", str(cfg), "--path", str(tmp_path / "rollups"), "--until", AT.isoformat(),
               "--no-ready", "--format", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert json.loads(out.out)["rows"] == 4


def test_a_local_glob_naming_no_file_as_written_still_matches(tmp_path, capsys):
    _write(tmp_path / "logs" / "p1.jsonl", _jsonl(6, "a"))
    _write(tmp_path / "logs" / "p2.jsonl", _jsonl(1, "b"))
    _write(tmp_path / "logs" / "p3.jsonl", _jsonl(2, "c"))
    snap = _snapshot(_config(tmp_path, str(tmp_path / "logs" / "p[12].jsonl"), "jsonl"), capsys)
    assert (snap["counts"]["predictions"], snap["malformed"]) == (7, 0)


def test_a_local_parquet_file_and_folder_named_as_written(tmp_path, capsys):
    _write(tmp_path / "pq[eu]" / "p.parquet", _parquet(5, "named"))
    _write(tmp_path / "pqe" / "p.parquet", _parquet(2, "other"))
    assert _snapshot(_config(tmp_path, str(tmp_path / "pq[eu]" / "p.parquet"), "parquet"),
                     capsys)["counts"]["predictions"] == 5
    _write(tmp_path / "pq[eu]" / "q.parquet", _parquet(3, "q"))  # the folder as written: its Parquet files
    assert _snapshot(_config(tmp_path, str(tmp_path / "pq[eu]"), "parquet"), capsys)["counts"]["predictions"] == 8


def _bucket(s3_server, tmp_path: Path, stem: str) -> str:  # noqa: F811
    bucket = f"{stem}-{tmp_path.name[-8:].lower().replace('_', '-')}"
    s3_server.client().create_bucket(Bucket=bucket)
    return bucket


def test_an_s3_key_with_brackets_is_read_as_written(s3_server, tmp_path, capsys):  # noqa: F811
    bucket = _bucket(s3_server, tmp_path, "lit")
    put = s3_server.client().put_object
    put(Bucket=bucket, Key="logs[eu]/p[1].jsonl", Body=_jsonl(4, "named"))
    put(Bucket=bucket, Key="logse/p1.jsonl", Body=_jsonl(2, "other"))  # what the glob matches
    put(Bucket=bucket, Key="logs[eu]/p1.jsonl", Body=_jsonl(3, "beside"))
    cfg = _config(tmp_path, f"s3://{bucket}/logs[eu]/p[1].jsonl", "jsonl", s3_server.toml)
    snap = _snapshot(cfg, capsys)
    assert (snap["counts"]["predictions"], snap["malformed"], snap["missing_logs"]) == (4, 0, []), snap["log_notes"]
    assert _health_requests(cfg, capsys) == 4

    put(Bucket=bucket, Key="pq[eu]/p.parquet", Body=_parquet(5, "named"))
    put(Bucket=bucket, Key="pqe/p.parquet", Body=_parquet(2, "other"))
    (tmp_path / "pq").mkdir()
    cfg = _config(tmp_path / "pq", f"s3://{bucket}/pq[eu]/p.parquet", "parquet", s3_server.toml)
    snap = _snapshot(cfg, capsys)
    assert (snap["counts"]["predictions"], snap["missing_logs"]) == (5, []), snap["log_notes"]
    put(Bucket=bucket, Key="pq[eu]/q.parquet", Body=_parquet(3, "q"))  # the folder as written: its objects
    (tmp_path / "pqf").mkdir()
    snap = _snapshot(_config(tmp_path / "pqf", f"s3://{bucket}/pq[eu]/", "parquet", s3_server.toml), capsys)
    assert (snap["counts"]["predictions"], snap["missing_logs"]) == (8, []), snap["log_notes"]


def test_an_s3_glob_naming_no_key_as_written_still_matches(s3_server, tmp_path, capsys):  # noqa: F811
    bucket = _bucket(s3_server, tmp_path, "glob")
    put = s3_server.client().put_object
    put(Bucket=bucket, Key="other/p1.jsonl", Body=_jsonl(3, "a"))
    put(Bucket=bucket, Key="other/p2.jsonl", Body=_jsonl(1, "b"))
    put(Bucket=bucket, Key="other/p3.jsonl", Body=_jsonl(5, "c"))
    snap = _snapshot(_config(tmp_path, f"s3://{bucket}/other/p[12].jsonl", "jsonl", s3_server.toml), capsys)
    assert (snap["counts"]["predictions"], snap["malformed"]) == (4, 0)


def test_the_deployments_log_named_as_written_is_the_one_appended_to(tmp_path):
    """The console appends its own deployment events to the file the log reads: one named `deploy[eu].jsonl` as
    written, not a file of its own beside it that the path (read as written) never reads back."""
    named = tmp_path / "deploy[eu].jsonl"
    named.write_text("")
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("deployments", str(named)),))
    assert deploylog.target_path(cfg) == named
    named.unlink()  # named nowhere as written: a glob, as before (a name of the console's own that it matches)
    assert deploylog.target_path(cfg) == tmp_path / "deploye.jsonl"
