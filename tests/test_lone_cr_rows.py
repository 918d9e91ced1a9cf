"""A lone CR (classic Mac OS's line end) between JSON rows read as one malformed line, losing every row it joined:
it is a line end now, as LF and CRLF are, for the store's refresh (also of rows appended later, one ending in a CR)
and for the `rollup` command, which reads the file by the same tailer. Counted against a hand count of the rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from console import exit_codes
from console.cli import main

START = datetime(2026, 3, 10, 0, 0)
ENDS = [b"\r", b"\n", b"\r\n", b"\r", b"\r"]  # the line end after each row, in turn


def _rows(first: int, n: int) -> bytes:
    out = b""
    for i in range(first, first + n):
        row = {"ts": (START + timedelta(minutes=i)).isoformat() + "Z", "model": "m", "version": "1",
               "request_id": f"r{i}", "amount": float(i % 7), "latency_ms": 5}
        out += json.dumps(row).encode() + ENDS[i % len(ENDS)]
    return out


def _config(tmp_path):
    pq.write_table(pa.table({"amount": [float(i % 5) for i in range(100)]}), tmp_path / "ref.parquet")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[rollups]\nmin_rows = 1\n[[logs]]\nkind = "predictions"\n'
                      'path = "p.jsonl"\n[models.m]\nreference = "ref.parquet"\nfeatures = ["amount"]\n',
                      encoding="utf-8")
    return config


def _requests(config, capsys) -> int:
    code = main(["--config", str(config), "health", "m", "--from", "2026-03-10", "--to", "2026-03-11",
                 "--format", "json"])
    out, err = capsys.readouterr()
    assert code == exit_codes.OK, err
    return sum(r["requests"] for r in json.loads(out)["table"])


def test_rows_ended_by_a_lone_cr_are_each_read(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = _config(tmp_path)
    log = tmp_path / "p.jsonl"
    log.write_bytes(_rows(0, 24))  # its last row ends in a lone CR (23 % 5 == 3)
    assert log.read_bytes().count(b"\n") < 24  # (a reader splitting on LF alone sees fewer lines than rows)
    assert _requests(config, capsys) == 24
    with open(log, "ab") as fh:  # appended: the refresh goes on from its cursor, after that CR
        fh.write(_rows(24, 16))
    assert _requests(config, capsys) == 40


def test_the_rollup_reads_them_as_the_store_does(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = _config(tmp_path)
    (tmp_path / "p.jsonl").write_bytes(_rows(0, 300))
    assert main(["--config", str(config), "--at", "2026-03-10T06:00Z", "rollup", "--until", "2026-03-10T06:00Z",
                 "--format", "json"]) == exit_codes.OK
    capsys.readouterr()
    main(["--config", str(config), "--at", "2026-03-10T06:00Z", "drift", "m", "--window", "7d", "--format", "json"])
    note = json.loads(capsys.readouterr().out)["note"]
    # 300 rows a minute apart from 00:00 (the last at 04:59): all in the 7 days to 06:00, from the rollups' hours
    assert "300 rows in this window" in note and "scores from hourly rollups" in note, note
