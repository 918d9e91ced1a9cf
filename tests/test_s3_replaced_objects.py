"""An S3 object written again under its key, against a real moto server on 127.0.0.1.

S3 has no append: a writer that adds rows to `logs/2026/11/30/part.jsonl` uploads the whole object again (a new
ETag). Before, the store named it in a note ("its new content is not read again") and its new rows were lost. Now a
version that starts with what was read adds only its new rows; a different object is read whole and said, as a
local file replaced is; the same lines under a new ETag (a multipart upload of the same bytes) add nothing. A
Parquet object replaced is read as it now is (its rows read in place). Counts are hand counts of the rows written,
through `snapshot --format json` and `health`.
"""

from __future__ import annotations

import gzip
import io
import json
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from console.cli import main
from s3_server import s3_server  # noqa: F401  (session fixture)

AT = datetime(2026, 11, 30, 12)


def _rows(ids: range, prefix: str = "r") -> list[dict]:
    return [{"ts": (AT - timedelta(minutes=i + 1)).isoformat() + "Z", "model": "m", "version": "1",
             "request_id": f"{prefix}{i}", "latency_ms": 5.0 + i} for i in ids]


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _csv(rows: list[dict]) -> bytes:
    head = ",".join(rows[0])
    return (head + "\n" + "".join(",".join(str(v) for v in r.values()) + "\n" for r in rows)).encode()


def _config(tmp_path, s3_server, path: str, fmt: str):  # noqa: F811
    cfg = tmp_path / "console.toml"
    cfg.write_text(f'{s3_server.toml}\n[[logs]]\nkind = "predictions"\npath = "{path}"\nformat = "{fmt}"\n\n'
                   '[models.m]\ntask = "regression"\n', encoding="utf-8")
    return cfg


def _snapshot(cfg, capsys) -> dict:
    assert main(["snapshot", "--config", str(cfg), "--at", AT.isoformat() + "Z", "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _health_requests(cfg, capsys) -> int:
    assert main(["health", "m", "--config", str(cfg), "--window", "24h", "--at", AT.isoformat() + "Z",
                 "--format", "json"]) == 0
    return sum(r["requests"] for r in json.loads(capsys.readouterr().out)["table"])


def _bucket(s3_server, tmp_path, stem: str) -> str:  # noqa: F811
    bucket = f"{stem}-{tmp_path.name[-8:].lower().replace('_', '-')}"
    s3_server.client().create_bucket(Bucket=bucket)
    return bucket


def test_a_jsonl_object_uploaded_again_with_more_rows_adds_only_those(s3_server, tmp_path, capsys):  # noqa: F811
    bucket = _bucket(s3_server, tmp_path, "grown")
    put = s3_server.client().put_object
    key = "logs/2026/11/30/part.jsonl"
    put(Bucket=bucket, Key=key, Body=_jsonl(_rows(range(5))))
    cfg = _config(tmp_path, s3_server, f"s3://{bucket}/logs/**/*.jsonl", "jsonl")
    snap = _snapshot(cfg, capsys)
    assert (snap["counts"]["predictions"], snap["malformed"]) == (5, 0)

    put(Bucket=bucket, Key=key, Body=_jsonl(_rows(range(8))))  # the writer's 5 rows and 3 more, one upload
    snap = _snapshot(cfg, capsys)
    assert (snap["counts"]["predictions"], snap["malformed"]) == (8, 0), snap["log_notes"]
    assert not any("replaced" in n for n in snap["log_notes"]), snap["log_notes"]
    assert _health_requests(cfg, capsys) == 8

    # 2 more rows, one of them not JSON: it is set aside under its own line number in the object (line 10)
    put(Bucket=bucket, Key=key, Body=_jsonl(_rows(range(9))) + b"{not json\n")
    snap = _snapshot(cfg, capsys)
    assert (snap["counts"]["predictions"], snap["malformed"]) == (9, 1)
    assert [(g["source"], g["first_location"], g["n"]) for g in snap["malformed_by"]] == \
        [(f"s3://{bucket}/{key}", "10", 1)]

    # the same lines under a new ETag (a multipart upload of the same bytes): nothing new
    client = s3_server.client()
    body = _jsonl(_rows(range(9))) + b"{not json\n"
    up = client.create_multipart_upload(Bucket=bucket, Key=key)
    part = client.upload_part(Bucket=bucket, Key=key, UploadId=up["UploadId"], PartNumber=1, Body=body)
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up["UploadId"],
                                     MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
    assert "-" in client.head_object(Bucket=bucket, Key=key)["ETag"]  # a multipart ETag: not the one read
    snap = _snapshot(cfg, capsys)
    assert (snap["counts"]["predictions"], snap["malformed"]) == (9, 1)
    rc = main(["rollup", "--config", str(cfg), "--path", str(tmp_path / "rollups"), "--until", AT.isoformat(),
               "--no-ready", "--format", "json"])  # the rollup reads the object as it now is: the same rows
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert json.loads(out.out)["rows"] == 9


def test_a_jsonl_object_replaced_by_other_rows_is_read_whole_and_said(s3_server, tmp_path, capsys):  # noqa: F811
    bucket = _bucket(s3_server, tmp_path, "other")
    put = s3_server.client().put_object
    key = "logs/2026/11/30/part.jsonl"
    put(Bucket=bucket, Key=key, Body=_jsonl(_rows(range(5))))
    put(Bucket=bucket, Key="logs/2026/11/30/kept.jsonl", Body=_jsonl(_rows(range(2), "k")))
    cfg = _config(tmp_path, s3_server, f"s3://{bucket}/logs/**/*.jsonl", "jsonl")
    assert _snapshot(cfg, capsys)["counts"]["predictions"] == 7

    put(Bucket=bucket, Key=key, Body=_jsonl(_rows(range(4), "x")))  # 4 other rows under the key
    snap = _snapshot(cfg, capsys)
    assert (snap["counts"]["predictions"], snap["malformed"]) == (11, 0)  # 5 + 2 read before, the 4 new ones
    assert any(n.startswith(f"s3://{bucket}/{key}: replaced under its key") for n in snap["log_notes"]), \
        snap["log_notes"]
    assert _health_requests(cfg, capsys) == 11
    snap = _snapshot(cfg, capsys)  # read once: a later refresh adds nothing and says nothing
    assert snap["counts"]["predictions"] == 11 and not any("replaced" in n for n in snap["log_notes"])


def test_a_csv_object_uploaded_again_with_more_rows_adds_only_those(s3_server, tmp_path, capsys):  # noqa: F811
    bucket = _bucket(s3_server, tmp_path, "csv")
    put = s3_server.client().put_object
    key = "logs/part.csv"
    put(Bucket=bucket, Key=key, Body=_csv(_rows(range(3))))
    cfg = _config(tmp_path, s3_server, f"s3://{bucket}/logs/*.csv", "csv")
    assert _snapshot(cfg, capsys)["counts"]["predictions"] == 3
    put(Bucket=bucket, Key=key, Body=_csv(_rows(range(7))))
    snap = _snapshot(cfg, capsys)
    assert (snap["counts"]["predictions"], snap["malformed"]) == (7, 0), snap["log_notes"]
    assert _health_requests(cfg, capsys) == 7


def test_a_gzip_object_compressed_again_with_more_rows_adds_only_those(s3_server, tmp_path, capsys):  # noqa: F811
    """Compressed anew, its bytes differ from the first; the lines they hold start the same."""
    bucket = _bucket(s3_server, tmp_path, "gz")
    put = s3_server.client().put_object
    key = "logs/part.jsonl.gz"
    put(Bucket=bucket, Key=key, Body=gzip.compress(_jsonl(_rows(range(4))), compresslevel=1))
    cfg = _config(tmp_path, s3_server, f"s3://{bucket}/logs/*.jsonl.gz", "jsonl")
    assert _snapshot(cfg, capsys)["counts"]["predictions"] == 4
    put(Bucket=bucket, Key=key, Body=gzip.compress(_jsonl(_rows(range(6))), compresslevel=9))
    snap = _snapshot(cfg, capsys)
    assert (snap["counts"]["predictions"], snap["malformed"]) == (6, 0), snap["log_notes"]


def test_a_parquet_object_replaced_is_read_as_it_now_is(s3_server, tmp_path, capsys):  # noqa: F811
    bucket = _bucket(s3_server, tmp_path, "pq")
    put = s3_server.client().put_object

    def parquet(rows: list[dict]) -> bytes:
        table = pa.Table.from_pylist([{**r, "ts": datetime.fromisoformat(r["ts"][:-1])} for r in rows])
        out = io.BytesIO()
        pq.write_table(table, out)
        return out.getvalue()

    key = "logs/part.parquet"
    put(Bucket=bucket, Key=key, Body=parquet(_rows(range(5))))
    cfg = _config(tmp_path, s3_server, f"s3://{bucket}/logs/", "parquet")
    assert _snapshot(cfg, capsys)["counts"]["predictions"] == 5
    put(Bucket=bucket, Key=key, Body=parquet(_rows(range(8))))  # grown
    snap = _snapshot(cfg, capsys)
    assert snap["counts"]["predictions"] == 8 and _health_requests(cfg, capsys) == 8
    put(Bucket=bucket, Key=key, Body=parquet(_rows(range(3), "x")))  # other, fewer rows: they are the object now
    snap = _snapshot(cfg, capsys)
    assert snap["counts"]["predictions"] == 3 and _health_requests(cfg, capsys) == 3
