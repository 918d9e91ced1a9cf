"""Figures for the tailer (sources/files.py): full read, an unchanged rescan, and a refresh after appends.

    PYTHONPATH=src python3 benchmarks/bench_tailer.py [--rows 1000000] [--files 1000]

Prints CPU seconds, throughput and the bytes the process read (/proc/self/io rchar), so "an unchanged
scan costs only stats" shows as 0 bytes. The baseline is a plain `f.read()` + `bytes.count(b"\\n")`
of the same file: what a reader that does nothing else would cost.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from console.sources.files import Tailer


def rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return -1


def line(i: int) -> bytes:
    return (f'{{"ts": "2026-11-25T06:{i // 60 % 60:02d}:{i % 60:02d}Z", "model": "fraud", "version": "3", '
            f'"request_id": "r{i}", "latency_ms": {10 + i % 90}, "score": 0.{i % 997:03d}, '
            f'"features": {{"x1": {i % 13}, "x2": "web"}}}}\n').encode()


def timed(fn):
    """(result, CPU seconds, bytes read): CPU time, since a shared box's wall time says more about its load.
    The bytes exclude reading /proc/self/io itself."""
    r0 = rchar()
    itself = rchar() - r0
    r0, t0 = rchar(), time.process_time()
    out = fn()
    return out, time.process_time() - t0, rchar() - r0 - itself


def drain(tailer: Tailer, patterns: list[str]) -> tuple[int, int]:
    lines = size = 0
    for chunk in tailer.scan(patterns):
        lines += chunk.body.count(b"\n")
        size += len(chunk.body)
    return lines, size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.jsonl"
        with open(big, "wb") as fh:
            block = b"".join(line(i) for i in range(10_000))
            for _ in range(args.rows // 10_000):
                fh.write(block)
        mb = big.stat().st_size / 1e6
        old = time.time() - 3600
        os.utime(big, (old, old))

        def baseline():
            with open(big, "rb") as fh:
                return fh.read().count(b"\n")

        baseline()  # page cache warm for both
        n, t_base, _ = timed(baseline)
        tailer = Tailer({})
        (lines, _), t_full, read_full = timed(lambda: drain(tailer, [str(big)]))
        state = tailer.state_after()
        assert lines == n
        (lines2, _), t_same, read_same = timed(lambda: drain(Tailer(state), [str(big)]))
        with open(big, "ab") as fh:
            fh.write(b"".join(line(i) for i in range(10_000)))
        (lines3, _), t_app, read_app = timed(lambda: drain(Tailer(state), [str(big)]))

        many = Path(tmp) / "many"
        many.mkdir()
        for k in range(args.files):
            f = many / f"p{k}.jsonl"
            f.write_bytes(b"".join(line(i) for i in range(50)))
            os.utime(f, (old, old))
        t1 = Tailer({})
        drain(t1, [str(many / "*.jsonl")])
        (lines4, _), t_many, read_many = timed(lambda: drain(Tailer(t1.state_after()), [str(many / "*.jsonl")]))

    print(f"{'what':<46} {'cpu s':>8} {'rows/s':>12} {'MB/s':>8} {'bytes read':>12}")
    print(f"{'baseline: read() + count newlines, ' + format(n, ',') + ' rows':<46} {t_base:8.3f} {n / t_base:12,.0f} {mb / t_base:8.0f} {'':>12}")
    print(f"{'tailer: full read, ' + format(mb, '.0f') + ' MB':<46} {t_full:8.3f} {lines / t_full:12,.0f} {mb / t_full:8.0f} {read_full:12,}")
    print(f"{'tailer: unchanged rescan (1 file)':<46} {t_same:8.4f} {'':>12} {'':>8} {read_same:12,}")
    print(f"{'tailer: after 10,000 appended rows':<46} {t_app:8.4f} {lines3 / t_app:12,.0f} {'':>8} {read_app:12,}")
    print(f"{'tailer: unchanged rescan of ' + str(args.files) + ' files':<46} {t_many:8.4f} {'':>12} {'':>8} {read_many:12,}")
    assert lines2 == 0 and lines3 == 10_000 and lines4 == 0


if __name__ == "__main__":
    main()
