"""A CSV record with one field past the record limit (8 MiB: a long LLM answer on one line) costs only its own
row. `csv.reader` raised on it, and the refresh failed whole: every command exited 4 for every model of every
log, on every run, until the line was removed by hand."""

from __future__ import annotations

import json
from datetime import datetime

from console.config import parse_file
from console.service import Service
from console.sources.csv_records import MAX_RECORD_BYTES


def test_an_oversized_csv_field_is_set_aside_and_every_other_row_kept(tmp_path):
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"ts": f"2026-12-04T10:0{i}:00Z", "model": "m1",
                                                          "version": "1", "request_id": f"b{i}", "latency_ms": 1.0})
                                              + "\n" for i in range(3)))
    with open(tmp_path / "c.csv", "w", encoding="utf-8") as fh:
        fh.write("ts,model,version,request_id,latency_ms,prompt\n2026-12-04T10:00:00Z,m2,1,c0,1.0,hi\n")
        fh.write('2026-12-04T10:02:00Z,m2,1,c2,1.0,"' + "y" * (MAX_RECORD_BYTES + (1 << 20)) + '"\n')
        fh.write("2026-12-04T10:03:00Z,m2,1,c3,1.0,ok\n")
    (tmp_path / "c.toml").write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "a.jsonl"\n'
                                     '[[logs]]\nkind = "predictions"\npath = "c.csv"\n', encoding="utf-8")
    svc = Service(parse_file(tmp_path / "c.toml"), clock=lambda: datetime(2026, 12, 4, 11))
    try:
        svc.refresh()
        snap = svc.snapshot(refresh=False)
        why = svc.malformed_summary(lakes=False)
    finally:
        svc.close()
    assert snap.counts["predictions"] == 5 and snap.malformed == 1, snap.counts
    assert len(why) == 1 and "field larger than field limit" in json.dumps(why), why
