"""A line-based log in S3 whose prefix lists no object (a typo in the path, an endpoint not capturing yet) against an
empty local folder (the differential probe of session 38): both are a configured log that matches no file, said on
stderr and in `snapshot`'s `missing_logs` (a typo in a labels path leaves Quality empty with no other sign). The S3
one was said nowhere. Its first object is read at the next refresh."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from console.config import Config, LogSource
from console.service import Service
from s3_server import empty_location, s3_server  # noqa: F401  (session fixture)

AT = datetime(2026, 11, 30, 12)


def _lines(n: int) -> bytes:
    return "".join(json.dumps({"ts": (AT - timedelta(minutes=i + 1)).isoformat() + "Z", "model": "m", "version": "1",
                               "request_id": f"r{i}", "latency_ms": 5.0}) + "\n" for i in range(n)).encode()


@pytest.mark.parametrize("where", ["local", "s3"])
def test_a_text_log_prefix_with_no_object_matches_no_file(where, s3_server, tmp_path):  # noqa: F811
    path, storage, bucket = empty_location(where, s3_server, tmp_path, "no-lines", "capture", "**/*.jsonl")
    cfg = Config(source=None, root=tmp_path, s3=storage, logs=(LogSource("predictions", path, "jsonl"),))
    svc = Service(cfg, clock=lambda: AT)
    try:
        stats = svc.refresh()
        assert stats.missing == (path,), stats
        assert svc.snapshot().missing_logs == (path,)
        if where == "s3":
            s3_server.client().put_object(Bucket=bucket, Key="capture/2026/11/30/11/a.jsonl", Body=_lines(7))
        else:
            (tmp_path / "capture" / "2026" / "11" / "30" / "11").mkdir(parents=True)
            (tmp_path / "capture" / "2026" / "11" / "30" / "11" / "a.jsonl").write_bytes(_lines(7))
        stats = svc.refresh()
        assert stats.missing == () and svc.warehouse.one("counts")[0] == 7, stats
    finally:
        svc.close()
