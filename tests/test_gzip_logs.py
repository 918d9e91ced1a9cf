"""Gzip-compressed logs: logrotate's `compress` on the box, Firehose's GZIP objects in S3.

Before, a `.gz` file matched by a source's glob was one malformed row ("unknown log format None") and its rows were
never read, and rows appended just before a rotation were lost when the rotated file was compressed (and deleted)
before the next refresh read them. Now a compressed file is read as the lines it holds, known by its content's
fingerprint: the rotated file's cursor moves into its `.gz` and reads on from where it stood, and a compressed copy
beside a file still being read is not read twice. Counts are hand counts of the rows written.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
import zstandard

from console.cli import main
from console.config import Config, LogSource
from console.sources import compressed
from console.sources.files import Tailer, format_by_name
from console.store.parse import whole_json_row
from console.warehouse import Warehouse
from rollup_fleet import START, fleet
from s3_server import s3_server  # noqa: F401  (session fixture)


def rows(lo: int, hi: int, model: str = "m") -> str:
    return "".join(json.dumps({"ts": f"2026-11-20T{i // 60 % 24:02d}:{i % 60:02d}:00Z", "model": model,
                               "version": "1", "request_id": f"r{i}", "latency_ms": 10 + i % 7,
                               "prediction": "1", "x": i * 0.5}) + "\n" for i in range(lo, hi))


class Reader:
    """A tailer kept across scans as the store keeps it; counts every row it hands out, by id."""

    def __init__(self, pattern: str):
        self.pattern, self.state, self.seen, self.notes, self.bad = pattern, {}, Counter(), [], 0
        self.truncated = 0

    def scan(self) -> None:
        t = Tailer(self.state, grace_s=30.0, complete_tail=whole_json_row)
        for chunk in t.scan([self.pattern]):
            for line in chunk.body.split(b"\n"):
                if line.strip():
                    try:
                        self.seen[json.loads(line)["request_id"]] += 1
                    except (ValueError, KeyError, TypeError):  # garbled by damaged gzip data (found later)
                        self.bad += 1
            self.truncated += len(chunk.rejected)
        self.state, self.notes = t.state_after(), self.notes + t.notes

    def once(self, n: int) -> bool:
        return self.seen == Counter(f"r{i}" for i in range(n))


def _gzip(path: Path, keep: bool = False) -> Path:
    out = path.with_name(path.name + ".gz")
    out.write_bytes(gzip.compress(path.read_bytes()))
    if not keep:
        path.unlink()
    return out


# the compressors as logrotate runs them: gzip, and `compresscmd zstd` (whose CLI writes each frame's checksum),
# `bzip2`, `xz`
PACK = {".gz": lambda b: gzip.compress(b, compresslevel=1),
        ".zst": lambda b: zstandard.ZstdCompressor(level=1, write_checksum=True).compress(b),
        ".bz2": lambda b: bz2.compress(b, 1), ".xz": lambda b: lzma.compress(b, preset=1)}


@pytest.mark.parametrize("ext", PACK)
def test_rows_appended_before_a_rotation_are_read_from_the_compressed_file(tmp_path, ext):
    """logrotate with `compress` (no `delaycompress`): rename, new file, compress, delete, all between two refreshes."""
    log = tmp_path / "p.jsonl"
    log.write_text(rows(0, 50))
    r = Reader(str(log))
    r.scan()
    with open(log, "a") as fh:
        fh.write(rows(50, 80))  # written, never read before the rotation
    log.rename(tmp_path / "p.jsonl.1")
    log.write_text(rows(80, 90))
    (tmp_path / f"p.jsonl.1{ext}").write_bytes(PACK[ext]((tmp_path / "p.jsonl.1").read_bytes()))
    (tmp_path / "p.jsonl.1").unlink()
    r.scan()
    assert r.once(90) and r.bad == 0, sorted(set(f"r{i}" for i in range(90)) - set(r.seen))
    assert any("rotated to" in n and n.endswith(f"p.jsonl.1{ext}, reading its rest") for n in r.notes), r.notes
    r.scan()
    assert r.once(90)


def test_a_glob_matching_the_rotations_reads_each_row_once_through_delaycompress(tmp_path):
    """`p.jsonl*` matches the live file, its plain rotation and the compressed ones: gzip at work (half a file,
    the original still there), done, and the original deleted; a refresh at every stage."""
    log = tmp_path / "p.jsonl"
    r = Reader(str(tmp_path / "p.jsonl*"))
    log.write_text(rows(0, 40))
    r.scan()
    with open(log, "a") as fh:
        fh.write(rows(40, 60))
    log.rename(tmp_path / "p.jsonl.1")  # delaycompress: the first rotation stays plain
    log.write_text(rows(60, 70))
    r.scan()
    with open(log, "a") as fh:
        fh.write(rows(70, 80))
    (tmp_path / "p.jsonl.1").rename(tmp_path / "p.jsonl.2")
    log.rename(tmp_path / "p.jsonl.1")
    log.write_text(rows(80, 85))
    packed = gzip.compress((tmp_path / "p.jsonl.2").read_bytes())
    gz = tmp_path / "p.jsonl.2.gz"
    gz.write_bytes(packed[:len(packed) // 2])  # gzip half way: a copy of a file still being read
    r.scan()
    with open(gz, "ab") as fh:
        fh.write(packed[len(packed) // 2:])
    r.scan()
    (tmp_path / "p.jsonl.2").unlink()
    r.scan()
    r.scan()
    assert r.once(85), {k: n for k, n in r.seen.items() if n != 1}
    assert r.bad == 0  # (a compressed file is never handed out as its compressed bytes)


def test_a_kept_compressed_copy_is_not_read_twice_and_takes_over_when_the_original_goes(tmp_path):
    log = tmp_path / "old.jsonl"
    log.write_text(rows(0, 30))
    r = Reader(str(tmp_path / "*"))
    r.scan()
    with open(log, "a") as fh:
        fh.write(rows(30, 45))
    _gzip(log, keep=True)  # gzip -k
    r.scan()
    assert r.once(45)
    log.unlink()
    r.scan()
    assert r.once(45) and r.bad == 0


def test_new_compressed_files_are_read_whole_and_one_cut_short_keeps_every_line_before_the_cut(tmp_path):
    a = tmp_path / "a.jsonl.gz"
    a.write_bytes(gzip.compress(rows(0, 500).encode()) + gzip.compress(rows(500, 600).encode()))  # two members
    noisy = "".join(line[:-2] + f', "noise": "{os.urandom(48).hex()}"}}\n' for line in rows(600, 6000).splitlines(True))
    packed = gzip.compress(noisy.encode(), compresslevel=1)
    cut = tmp_path / "b.jsonl.gz"  # a copy that stopped (a full disk): its writer is long gone
    cut.write_bytes(packed[:len(packed) * 3 // 4])
    os.utime(cut, (1e9, 1e9))
    r = Reader(str(tmp_path / "*.gz"))
    r.scan()
    whole = noisy.encode()[:len(compressed.inflate(cut.read_bytes())[0])].count(b"\n")  # lines complete before the cut
    assert whole > 3000 and r.bad == 0 and r.once(600 + whole), (whole, len(r.seen))
    assert r.truncated == 1  # the line the cut went through, set aside once
    r.scan()
    assert r.once(600 + whole) and r.truncated == 1


@pytest.mark.parametrize("codec, ext", [("gzip", ".gz"), ("zstd", ".zst"), ("bzip2", ".bz2"), ("xz", ".xz")])
def test_damaged_compressed_data_is_named_and_costs_no_other_file(tmp_path, codec, ext):
    """gzip's checksum is at a member's end: lines decompressed before the damage is found were read as they came
    (garbled ones are set aside as malformed by the parser); the file is named, and every other file is read."""
    pack = PACK[ext]
    (tmp_path / f"a.jsonl{ext}").write_bytes(pack(rows(0, 300).encode()))
    noisy = "".join(line[:-2] + f', "noise": "{os.urandom(48).hex()}"}}\n' for line in rows(300, 5000).splitlines(True))
    damaged = bytearray(pack(noisy.encode()))
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / f"b.jsonl{ext}").write_bytes(bytes(damaged))
    (tmp_path / "c.jsonl").write_text(rows(5000, 5100))
    r = Reader(str(tmp_path / "*.*"))
    r.scan()
    assert all(r.seen[f"r{i}"] == 1 for i in (*range(300), *range(5000, 5100)))
    assert any(n.startswith(str(tmp_path / f"b.jsonl{ext}")) and f"corrupt {codec} data" in n for n in r.notes), \
        r.notes


def test_format_by_name_keeps_the_log_format_of_rotated_and_compressed_files():
    assert [format_by_name(p) for p in ("p.jsonl.1", "p.jsonl.2.gz", "p.jsonl-20261130.gz", "x/part-3.csv.gz",
                                        "y.ndjson.gz", "a.parquet", "logs/*", "p-1.jsonl", "data.gz")] == \
        ["jsonl", "jsonl", "jsonl", "csv", "jsonl", "parquet", None, "jsonl", None]


def test_the_store_and_the_cli_count_every_row_of_a_folder_of_plain_rotated_and_compressed_logs(tmp_path, capsys):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "p.jsonl").write_text(rows(0, 100))
    (logs / "p.jsonl.1").write_text(rows(100, 250))
    (logs / "p.jsonl.2.gz").write_bytes(gzip.compress(rows(250, 400).encode()))
    (logs / "p.jsonl.1.gz").write_bytes(gzip.compress((logs / "p.jsonl.1").read_bytes()))  # gzip at work: a copy
    frame = pl.DataFrame([json.loads(x) for x in rows(400, 520, model="n").splitlines()])
    (logs / "q.csv.gz").write_bytes(gzip.compress(frame.write_csv().encode()))
    cfg = Config(source=None, root=tmp_path, logs=(LogSource("predictions", str(logs / "p.jsonl*")),
                                                   LogSource("predictions", str(logs / "*.csv.gz"))))
    w = Warehouse(cfg, tmp_path / "store")
    seen: list = []
    w.on_progress = seen.append
    stats = w.refresh()
    # a compressed file's share read is not known (its lines' length is not): none is shown, not 100% from the start
    assert {p.size for p in seen if p.path.endswith(".gz")} == {0}
    assert all(p.size for p in seen if p.path.endswith("p.jsonl"))
    with w.cursor() as cur:
        got = dict(cur.execute("SELECT model, count(*) FROM predictions GROUP BY model").fetchall())
        dup = cur.execute("SELECT count(*) - count(DISTINCT request_id) FROM predictions").fetchone()[0]
        bad = cur.execute("SELECT count(*) FROM malformed").fetchone()[0]
    w.close()
    assert (got, dup, bad, stats.malformed) == ({"m": 400, "n": 120}, 0, 0, 0)

    toml = tmp_path / "console.toml"
    toml.write_text(f'[[logs]]\nkind = "predictions"\npath = "{logs}/p.jsonl*"\n'
                    f'[[logs]]\nkind = "predictions"\npath = "{logs}/*.csv.gz"\n'
                    '[models.m]\ntask = "classification"\n[models.n]\ntask = "classification"\n')
    assert main(["snapshot", "--config", str(toml), "--at", "latest", "--format", "json"]) == 0
    snap = json.loads(capsys.readouterr().out)
    assert (snap["malformed"], snap["counts"]["predictions"]) == (0, 520), snap
    assert {m["name"]: m["requests"] for m in snap["models"]} == {"m": 400, "n": 120}

    rc = main(["rollup", "--config", str(toml), "--path", str(tmp_path / "rollups"), "--until", "2026-11-21T00:00:00",
               "--no-ready", "--format", "json"])  # the rollup reads the same files through the same tailer
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert json.loads(out.out)["rows"] == 520


def test_gzip_objects_in_s3_are_read_by_the_store_and_the_rollup(s3_server, tmp_path, capsys):  # noqa: F811
    """Firehose's GZIP output: whole objects; a damaged one keeps the rows before the damage and says what was lost."""
    preds, _ = fleet(hours=4, per_hour=60, seed=5)
    text = preds.sort("ts").with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    client = s3_server.client()
    client.create_bucket(Bucket="firehose")
    half = text.height // 2
    for i, part in enumerate((text.slice(0, half), text.slice(half))):
        client.put_object(Bucket="firehose", Key=f"stream/2026/07/01/0{i}/part-{i}.jsonl.gz",
                          Body=gzip.compress(part.write_ndjson().encode()))
    cfg = tmp_path / "console.toml"
    cfg.write_text(f"""
{s3_server.toml}
[[logs]]
kind = "predictions"
path = "s3://firehose/stream/"
format = "jsonl"

[models.fraud]
task = "classification"

[models.eta]
task = "regression"
""", encoding="utf-8")
    end = (START.replace(hour=4)).isoformat()
    assert main(["snapshot", "--config", str(cfg), "--at", end, "--format", "json"]) == 0
    snap = json.loads(capsys.readouterr().out)
    hand = preds.group_by("model").len()
    assert {m["name"]: m["requests"] for m in snap["models"]} == dict(hand.iter_rows())
    assert (snap["malformed"], snap["counts"]["predictions"]) == (0, preds.height)

    rc = main(["rollup", "--config", str(cfg), "--path", str(tmp_path / "rollups"), "--until", end, "--no-ready",
               "--format", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert json.loads(out.out)["rows"] == preds.height

    damaged = bytearray(gzip.compress(text.head(200).write_ndjson().encode(), compresslevel=1))
    del damaged[len(damaged) * 2 // 3:]  # cut short
    client.put_object(Bucket="firehose", Key="stream/2026/07/01/03/part-9.jsonl.gz", Body=bytes(damaged))
    assert main(["snapshot", "--config", str(cfg), "--at", end, "--format", "json"]) == 0
    snap = json.loads(capsys.readouterr().out)
    more = snap["counts"]["predictions"] - preds.height
    assert 50 < more < 200, more  # the rows before the cut, each once
    assert snap["malformed"] >= 1  # the loss, with its reason (and a cut last line)


def test_a_pattern_of_no_one_format_reads_each_file_by_its_own_name(tmp_path, capsys):
    """`logs/*` over JSONL and CSV files (a plain one and a compressed one): before, the CSV files' rows were
    dropped without a word (read without their header); a file of no known format is set aside with the reason."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "p.jsonl").write_text(rows(0, 60))
    for name, lo, hi in (("q.csv", 60, 100), ("r.csv.gz", 100, 130)):
        frame = pl.DataFrame([json.loads(x) for x in rows(lo, hi, model="n").splitlines()]).write_csv().encode()
        (logs / name).write_bytes(gzip.compress(frame) if name.endswith(".gz") else frame)
    (logs / "notes.txt").write_text("not a log\n")
    toml = tmp_path / "console.toml"
    toml.write_text(f'[[logs]]\nkind = "predictions"\npath = "{logs}/*"\n'
                    '[models.m]\ntask = "classification"\n[models.n]\ntask = "classification"\n')
    assert main(["snapshot", "--config", str(toml), "--at", "latest", "--format", "json"]) == 0
    snap = json.loads(capsys.readouterr().out)
    assert {m["name"]: m["requests"] for m in snap["models"]} == {"m": 60, "n": 70}
    assert snap["malformed"] == 1
    assert "format not known from the file's name" in json.dumps(snap["malformed_by"])


def test_a_pattern_of_compressed_files_alone_reads_a_kept_copy_whose_original_it_does_not_match(tmp_path):
    """`*.gz` names only the compressed files: an original kept beside one (`gzip -k`) is not a source here, so the
    copy is read (the rollup reads it too); before, the tailer waited for an original it would never read."""
    original = tmp_path / "old.jsonl"
    original.write_text(rows(0, 40))
    _gzip(original, keep=True)
    r = Reader(str(tmp_path / "*.gz"))
    r.scan()
    assert r.once(40) and r.bad == 0
