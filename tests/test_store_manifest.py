"""The manifest's two slots: a commit overwrites the slot not holding the newest commit, a reader takes the newest
valid slot, so a torn or damaged slot falls back to the commit before it; an earlier version's manifest.json is
read, and replaced by the first commit."""

from __future__ import annotations

import json
import os
import threading

from console.store import manifest as mf
from console.store.manifest import LEGACY, NAME, Manifest


def commit(path, generation: int, **extra) -> Manifest:
    m = Manifest(generation=generation, cursors={"src": {"a.jsonl": {"offset": generation}}}, **extra)
    m.save(path)
    return m


def slots(path) -> list[tuple[int, int] | None]:
    """(sequence number, generation) in each slot, read independently of the module's reader."""
    data = path.read_bytes()
    size = len(data) // 2
    out = []
    for k in (0, 1):
        magic, seq, length, _ = mf._HEAD.unpack_from(data, k * size)
        body = data[k * size + mf._HEAD.size: k * size + mf._HEAD.size + length]
        out.append((seq, json.loads(body)["generation"]) if magic == mf._MAGIC and length else None)
    return out


def test_commits_alternate_slots_in_place(tmp_path):
    path = tmp_path / NAME
    commit(path, 1)
    inode = path.stat().st_ino
    assert slots(path) == [(1, 1), None]
    commit(path, 2)
    assert slots(path) == [(1, 1), (2, 2)]
    commit(path, 3)
    assert slots(path) == [(3, 3), (2, 2)]
    assert Manifest.load(path).generation == 3
    assert Manifest.load(path) == Manifest(generation=3, cursors={"src": {"a.jsonl": {"offset": 3}}})
    assert path.stat().st_ino == inode  # written in place: no new file, no rename
    assert (path.stat().st_mode & 0o777) == 0o600


def test_torn_slot_falls_back_and_is_overwritten_next(tmp_path):
    path = tmp_path / NAME
    for g in (1, 2):
        commit(path, g)
    size = path.stat().st_size // 2
    record = mf._record(3, json.dumps({**json.loads(Manifest(generation=3)._text())}).encode())
    with open(path, "r+b") as fh:  # a crash halfway through the commit of generation 3 into slot 0
        fh.seek(0)
        fh.write(record[: len(record) // 2])
    assert Manifest.load(path).generation == 2
    commit(path, 4)  # into the torn slot, not over generation 2
    assert slots(path)[1] == (2, 2)
    assert Manifest.load(path).generation == 4
    assert size == path.stat().st_size // 2


def test_damaged_newest_slot_falls_back(tmp_path):
    path = tmp_path / NAME
    for g in (1, 2):
        commit(path, g)
    size = path.stat().st_size // 2
    with open(path, "r+b") as fh:
        fh.seek(size + mf._HEAD.size + 5)  # a flipped bit in generation 2's JSON
        byte = fh.read(1)
        fh.seek(size + mf._HEAD.size + 5)
        fh.write(bytes([byte[0] ^ 1]))
    assert Manifest.load(path).generation == 1


def test_failed_flush_leaves_previous_commit(tmp_path, monkeypatch):
    path = tmp_path / NAME
    for g in (1, 2):
        commit(path, g)

    def unflushed(fd, offset, record):
        os.pwrite(fd, record, offset)
        raise OSError(5, "I/O error")

    monkeypatch.setattr(mf, "write_slot", unflushed)
    try:
        commit(path, 3)
    except OSError:
        pass
    else:
        raise AssertionError("the failed flush was not reported")
    assert Manifest.load(path).generation == 2  # the unflushed slot does not read as a commit


def test_earlier_versions_manifest_is_read_then_replaced(tmp_path):
    legacy = Manifest(generation=7, segments={"predictions": ["predictions/a.parquet"]},
                      cursors={"s": {"f": {"offset": 10}}}, sources="abc")
    (tmp_path / LEGACY).write_text(legacy._text(), encoding="utf-8")
    path = tmp_path / NAME
    m = Manifest.load(path)
    assert m == Manifest(**{**json.loads(legacy._text()), "segments": {
        "predictions": ["predictions/a.parquet"], "labels": [], "deployments": [], "malformed": []}})
    m.generation += 1
    m.save(path)
    assert not (tmp_path / LEGACY).exists()
    assert Manifest.load(path) == m


def test_a_manifest_outgrowing_its_slots_gets_a_larger_file(tmp_path):
    path = tmp_path / NAME
    commit(path, 1)
    small = path.stat().st_size
    many = {"predictions": [f"predictions/{i:032x}.parquet" for i in range(3000)], "labels": [],
            "deployments": [], "malformed": []}
    commit(path, 2, segments=many)
    assert path.stat().st_size > small
    assert Manifest.load(path).segments == many
    inode = path.stat().st_ino
    commit(path, 3, segments=many)
    assert path.stat().st_ino == inode and Manifest.load(path).generation == 3


def test_readers_during_commits_see_whole_commits_in_order(tmp_path):
    path = tmp_path / NAME
    commit(path, 0)
    seen: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def read():
        while not done.is_set():
            try:
                m = Manifest.load(path)
                assert m.cursors == {"src": {"a.jsonl": {"offset": m.generation}}}
                seen.append(m.generation)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for g in range(1, 300):
            commit(path, g, segments={"predictions": [f"p/{i}" for i in range(g % 50)]})
    finally:
        done.set()
        reader.join()
    assert not errors, errors
    assert seen == sorted(seen)
