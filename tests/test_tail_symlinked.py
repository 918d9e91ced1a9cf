"""A log named by a symlink into another folder, as Kubernetes names a container's (`/var/log/containers/x.log` ->
`/var/log/pods/<pod>/<container>/0.log`); the kubelet rotates the target in its own folder (`0.log.<time>`, later
gzipped) and the symlink goes on naming the new `0.log`; or a `current.jsonl` symlink re-pointed to a file in another
folder.

The rows written to the old file after the last refresh were lost: the tailer looked for it in the symlink's folder
only, and the note asked to rotate into the same folder, which the kubelet does. Counts are hand counts of the rows
written, read back from the store after each refresh, in one process and in a new one each time.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from console.config import Config, LogSource
from console.warehouse import Warehouse


def rows(lo: int, hi: int) -> str:
    return "".join(json.dumps({"ts": "2026-11-20T10:00:00Z", "model": "m", "version": "1", "request_id": f"r{i}",
                               "prediction": "1"}) + "\n" for i in range(lo, hi))


def write(path: Path, text: str) -> None:
    with open(path, "a") as fh:
        fh.write(text)


class Store:
    """The store over `pattern`, opened again for every refresh when `relaunch` (a fresh command each time)."""

    def __init__(self, tmp: Path, pattern: Path, relaunch: bool):
        self.cfg = Config(source=None, root=Path("."), logs=(LogSource("predictions", str(pattern), "jsonl"),))
        self.dir, self.relaunch, self.w = tmp / "store", relaunch, None

    def refresh(self) -> tuple[dict[str, int], tuple[str, ...]]:
        if self.w is None or self.relaunch:
            if self.w is not None:
                self.w.close()
            self.w = Warehouse(self.cfg, self.dir)
        notes = self.w.refresh().notes
        with self.w.cursor() as cur:
            counts = dict(cur.execute("SELECT request_id, count(*) FROM predictions GROUP BY 1").fetchall())
        return counts, notes

    def close(self) -> None:
        self.w.close()


def once(lo: int, hi: int) -> dict[str, int]:
    return {f"r{i}": 1 for i in range(lo, hi)}


@pytest.mark.parametrize("relaunch", [False, True])
def test_a_symlinked_log_rotated_in_its_target_folder_is_read_to_its_end(tmp_path, relaunch):
    links, pod = tmp_path / "containers", tmp_path / "pods" / "ns_pod_uid" / "app"
    links.mkdir()
    pod.mkdir(parents=True)
    os.symlink(pod / "0.log", links / "app.jsonl")
    store = Store(tmp_path, links / "*.jsonl", relaunch)
    write(pod / "0.log", rows(0, 10))
    assert store.refresh()[0] == once(0, 10)

    write(pod / "0.log", rows(10, 15))  # after the last refresh, before the rotation
    os.rename(pod / "0.log", pod / "0.log.20261120-100000")
    write(pod / "0.log", rows(15, 20))
    counts, notes = store.refresh()
    assert counts == once(0, 20)
    assert notes == (f"{links / 'app.jsonl'}: rotated to {pod / '0.log.20261120-100000'}, reading its rest",)

    # rotated again and the older file gzipped, all between two refreshes
    write(pod / "0.log", rows(20, 24))
    os.rename(pod / "0.log", pod / "0.log.20261120-110000")
    write(pod / "0.log", rows(24, 30))
    (pod / "0.log.20261120-110000.gz").write_bytes(gzip.compress((pod / "0.log.20261120-110000").read_bytes()))
    os.unlink(pod / "0.log.20261120-110000")
    counts, notes = store.refresh()
    assert counts == once(0, 30)
    assert not any("lost" in n for n in notes), notes
    store.close()


@pytest.mark.parametrize("relaunch", [False, True])
def test_a_symlink_re_pointed_to_a_file_in_another_folder_has_the_old_file_read_to_its_end(tmp_path, relaunch):
    """`current.jsonl -> releases/v1/app.log`, then re-pointed to `releases/v2/app.log`: v1's rows written after the
    last refresh are read too (the link's own folder holds neither file)."""
    links, v1, v2 = tmp_path / "links", tmp_path / "releases" / "v1", tmp_path / "releases" / "v2"
    for d in (links, v1, v2):
        d.mkdir(parents=True)
    os.symlink(v1 / "app.log", links / "current.jsonl")
    store = Store(tmp_path, links / "*.jsonl", relaunch)
    write(v1 / "app.log", rows(0, 10))
    assert store.refresh()[0] == once(0, 10)

    write(v1 / "app.log", rows(10, 15))
    write(v2 / "app.log", rows(15, 20))
    os.unlink(links / "current.jsonl")
    os.symlink(v2 / "app.log", links / "current.jsonl")
    counts, notes = store.refresh()
    assert counts == once(0, 20)
    assert notes == (f"{links / 'current.jsonl'}: rotated to {v1 / 'app.log'}, reading its rest",)
    write(v1 / "app.log", rows(20, 22))  # its writer not moved on yet
    assert store.refresh()[0] == once(0, 22)
    store.close()
