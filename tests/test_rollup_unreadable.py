"""A file that is not Parquet among a rollup's sources (a cut upload, a stray file) costs only itself: the `rollup`
command builds the other files' rows, names the file, and exits 2 (a source it could not read), in a local folder and
in S3 (moto on 127.0.0.1)."""

from __future__ import annotations

import json
from datetime import timedelta

import pyarrow.parquet as pq

from console.cli import main
from s3_server import s3_server  # noqa: F401  (session fixture)
from test_s3_failures import END, _put, _table

GARBAGE = b"PAR1" + b"\x00garbage" * 100 + b"PAR1"


def _rollup(tmp_path, capsys, logs: str) -> tuple[int, dict, str]:
    (tmp_path / "c.toml").write_text(logs, encoding="utf-8")
    rc = main(["rollup", "--config", str(tmp_path / "c.toml"), "--path", str(tmp_path / "r"),
               "--since", (END - timedelta(days=2)).isoformat(), "--until", END.isoformat(), "--format", "json"])
    out = capsys.readouterr()
    return rc, json.loads(out.out), out.err


def test_a_local_file_that_is_not_parquet_is_named_and_the_rest_rolled_up(tmp_path, capsys):
    day = tmp_path / "logs" / "date=2026-11-29"
    day.mkdir(parents=True)
    pq.write_table(_table(120, END - timedelta(hours=2), 6), day / "a.parquet")
    (day / "corrupt.parquet").write_bytes(GARBAGE)
    rc, summary, err = _rollup(tmp_path, capsys, f'[[logs]]\nkind = "predictions"\npath = "{tmp_path}/logs/"\n'
                                                 'format = "parquet"\n')
    assert rc == 2 and summary["rows"] == 120
    assert summary["skipped_sources"] == [f"{day / 'corrupt.parquet'}: unreadable Parquet file: "
                                          + summary["skipped_sources"][0].split(": unreadable Parquet file: ")[1]]
    assert "Traceback" not in err and str(day / "corrupt.parquet") in err


def test_an_s3_object_that_is_not_parquet_is_named_and_the_rest_rolled_up(s3_server, tmp_path, capsys):  # noqa: F811
    client = s3_server.client()
    client.create_bucket(Bucket="cut-rollup")
    _put(client, "cut-rollup", "logs/date=2026-11-29/a.parquet", _table(120, END - timedelta(hours=2), 6), tmp_path)
    client.put_object(Bucket="cut-rollup", Key="logs/date=2026-11-29/corrupt.parquet", Body=GARBAGE)
    rc, summary, err = _rollup(tmp_path, capsys, f'{s3_server.toml}\n[[logs]]\nkind = "predictions"\n'
                                                 'path = "s3://cut-rollup/logs/"\nformat = "parquet"\n')
    assert rc == 2 and summary["rows"] == 120
    (line,) = summary["skipped_sources"]
    assert line.startswith("s3://cut-rollup/logs/date=2026-11-29/corrupt.parquet: unreadable Parquet file: ")
    assert s3_server.secret_access_key not in err + json.dumps(summary)
