"""zstd-compressed logs: logrotate with `compresscmd zstd` / `compressext .zst`, Vector's and Fluent Bit's S3 sinks.

Before, a `.zst` file matched by a glob was one malformed row ("format not known from the file's name") and its
rows were never read, so rows appended just before a rotation were lost once the rotated file was compressed. Now zstd is read as gzip is
(`sources/compressed.py`: the codec by each member's magic bytes): offsets and fingerprints on the content, a
rotated file's cursor followed into its `.zst`, frames concatenated, a cut-short stream kept up to the cut.
Counts are hand counts of the rows written. The rotation and damage cases are `tests/test_gzip_logs.py`'s, for both.
"""

from __future__ import annotations

import json
import os

import pytest
import zstandard

from console.cli import main
from console.sources import compressed
from console.sources.files import format_by_name
from console.store.parse import whole_object
from test_gzip_logs import Reader, rows


def zst(data: bytes, level: int = 3) -> bytes:
    return zstandard.ZstdCompressor(level=level).compress(data)


def test_frames_are_one_stream_a_kept_copy_waits_and_a_cut_one_keeps_its_lines(tmp_path):
    (tmp_path / "a.jsonl.zst").write_bytes(zst(rows(0, 500).encode()) + zst(rows(500, 600).encode()))
    live = tmp_path / "b.jsonl"
    live.write_text(rows(600, 700))
    (tmp_path / "b.jsonl.zst").write_bytes(zst(live.read_bytes()))  # zstd -k: a copy of a file being read
    noisy = "".join(line[:-2] + f', "noise": "{os.urandom(48).hex()}"}}\n' for line in rows(700, 6000).splitlines(True))
    packed = zst(noisy.encode(), level=1)
    cut = tmp_path / "c.jsonl.zst"  # a compression that stopped (a full disk): its writer long gone
    cut.write_bytes(packed[:len(packed) * 3 // 4])
    os.utime(cut, (1e9, 1e9))
    r = Reader(str(tmp_path / "*"))
    r.scan()
    whole = noisy.encode()[:len(compressed.inflate(cut.read_bytes())[0])].count(b"\n")
    assert whole > 2000 and r.bad == 0 and r.once(700 + whole), (whole, len(r.seen))
    live.unlink()
    r.scan()
    assert r.once(700 + whole) and r.bad == 0


def test_names_and_objects():
    assert [format_by_name(p) for p in ("p.jsonl.1.zst", "p.jsonl-20261130.zst", "x/part-3.csv.zstd")] == \
        ["jsonl", "jsonl", "csv"]
    body = zst(rows(0, 10).encode())
    assert whole_object(body, csv=False)[0] == rows(0, 10).encode()  # an S3 object by its magic bytes
    got, _, _, lost = whole_object(body[:len(body) // 2], csv=False)
    assert [r.reason for r in lost] == ["zstd data cut short: the rest of the object is lost"]
    assert rows(0, 10).encode().startswith(got.rstrip(b"\n").rsplit(b"\n", 1)[0])


@pytest.mark.parametrize("first, second", [(".zst", ".gz"), (".bz2", ".xz")])
def test_the_store_the_cli_and_the_rollup_count_a_folder_of_compressed_rotations(tmp_path, capsys, first, second):
    """A live file and two compressed rotations: zstd and gzip, or bzip2 and xz (logrotate's `compresscmd bzip2` or
    `xz`: before, such a file was one malformed row, "format not known", and its rows were never read)."""
    import bz2
    import gzip
    import lzma

    pack = {".zst": zst, ".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "p.jsonl").write_text(rows(0, 100))
    (logs / f"p.jsonl.1{first}").write_bytes(pack[first](rows(100, 250).encode()))
    (logs / f"p.jsonl.2{second}").write_bytes(pack[second](rows(250, 400).encode()))
    toml = tmp_path / "console.toml"
    toml.write_text(f'[[logs]]\nkind = "predictions"\npath = "{logs}/p.jsonl*"\n[models.m]\ntask = "classification"\n')
    assert main(["snapshot", "--config", str(toml), "--at", "latest", "--format", "json"]) == 0
    snap = json.loads(capsys.readouterr().out)
    assert (snap["malformed"], snap["counts"]["predictions"]) == (0, 400), snap
    rc = main(["rollup", "--config", str(toml), "--path", str(tmp_path / "rollups"), "--until", "2026-11-21T00:00:00",
               "--no-ready", "--format", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert json.loads(out.out)["rows"] == 400


def test_an_object_of_a_bzip2_and_an_xz_member_is_one_stream():
    """Each member's codec is known by its magic (the standard library's decompressors), as S3 objects are read."""
    import bz2
    import lzma

    body = bz2.compress(rows(0, 10).encode()) + lzma.compress(rows(10, 20).encode())  # two members, two codecs
    assert whole_object(body, csv=False)[0] == rows(0, 20).encode()
