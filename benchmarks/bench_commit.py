"""What a refresh's commit waits for on this filesystem, by way of committing: a 1.5 MB segment and a 3 KB
manifest written in several orders, each variant in turn, `--rounds` times, with a pause between writes.

    python benchmarks/bench_commit.py [--dir /tmp/bench-commit] [--rounds 200]

Variants (a segment written to a .tmp name first in all of them):
  old        segment fsync, rename; manifest to a new file, fsync, rename, folder fsync (three journal commits)
  kept       segment renamed, then fsynced (its name goes with it); manifest slot overwritten, fdatasync
  +kind-dir  as kept, and the segments' folder fsynced too
  sync-first segment fsynced, renamed, its folder fsynced; manifest slot, fdatasync
  slot-dsync as kept, the slot written through an O_DSYNC descriptor instead of fdatasync
Prints the median, p90 and minimum per variant and the load average; asserts nothing. Run it on the
filesystem the store lives on (the default is under /tmp).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
import uuid
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/bench-commit")
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    root = Path(args.dir)
    shutil.rmtree(root, ignore_errors=True)
    (root / "predictions").mkdir(parents=True)
    segment, manifest = os.urandom(1_500_000), os.urandom(3_000)

    def sync(path: Path, data_only: bool = False) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            (os.fdatasync if data_only else os.fsync)(fd)
        finally:
            os.close(fd)

    def write_segment(order: str, kind_dir: bool) -> None:
        path = root / "predictions" / f"{uuid.uuid4().hex}.parquet"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(segment)
        if order == "sync-first":
            sync(tmp)
            os.replace(tmp, path)
        else:
            os.replace(tmp, path)
            sync(path)
        if kind_dir:
            sync(path.parent)

    def manifest_by_rename() -> None:
        path, tmp = root / "manifest.json", root / ".manifest.json.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, manifest)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        sync(root)

    slots = root / "manifest.slots"
    slots.write_bytes(bytes(128 << 10))
    sync(slots)
    fd = os.open(slots, os.O_RDWR)
    dsync = os.open(slots, os.O_RDWR | os.O_DSYNC)
    turn = [0]

    def slot(through_dsync: bool = False) -> None:
        turn[0] ^= 1
        if through_dsync:
            os.pwrite(dsync, manifest, turn[0] * (64 << 10))
        else:
            os.pwrite(fd, manifest, turn[0] * (64 << 10))
            os.fdatasync(fd)

    variants = {
        "old": lambda: (write_segment("sync-first", False), manifest_by_rename()),
        "kept": lambda: (write_segment("rename-first", False), slot()),
        "+kind-dir": lambda: (write_segment("rename-first", True), slot()),
        "sync-first": lambda: (write_segment("sync-first", True), slot()),
        "slot-dsync": lambda: (write_segment("rename-first", False), slot(through_dsync=True)),
    }
    took: dict[str, list[float]] = {k: [] for k in variants}
    loads = [os.getloadavg()[0]]
    for r in range(args.rounds):
        for name, run in variants.items():
            t = time.perf_counter()
            run()
            took[name].append(time.perf_counter() - t)
            time.sleep(0.03)
        if r % 50 == 49:  # keep the folder small
            for p in (root / "predictions").iterdir():
                p.unlink()
            loads.append(os.getloadavg()[0])
    os.close(fd)
    os.close(dsync)
    shutil.rmtree(root, ignore_errors=True)
    print(f"{args.rounds} commits per variant, in turns; load average {min(loads):.1f}-{max(loads):.1f}")
    print("| variant | median | p90 | min |")
    print("|---|---|---|---|")
    for name, xs in took.items():
        xs.sort()
        print(f"| {name} | {statistics.median(xs) * 1000:.1f} ms | {xs[int(len(xs) * 0.9)] * 1000:.1f} ms | "
              f"{xs[0] * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
