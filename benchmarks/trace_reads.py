"""Every store read a console command makes: its query, time ranges, rows, columns and seconds, and the calls that
asked for it. Prints to stderr at exit; asserts nothing.

    PYTHONPATH=src python benchmarks/trace_reads.py --config CONFIG check --format json --at 2026-11-30T00:00:51Z

Runs `python -m console ARGS` in this process with `Warehouse.arrow` and `Warehouse.rows` wrapped (each returns what
it returned). A rule pass at a new `--at` made 22 reads at 1M rows (forty-sixth session, benchmarks/README.md).
"""

from __future__ import annotations

import atexit
import runpy
import sys
import time
import traceback

from console import warehouse as W

LOG: list[tuple] = []


def _caller() -> str:
    return "/".join(f.name for f in traceback.extract_stack(limit=12)[:-2][-7:])


def _arrow(self, name, params=None, columns=None, within=None, _wrapped=W.Warehouse.arrow):
    t = time.perf_counter()
    out = _wrapped(self, name, params, columns, within)
    LOG.append((time.perf_counter() - t, name, out.num_rows, len(columns or []), within, (params or {}).get("model"),
                _caller()))
    return out


def _rows(self, name, params=None, within=None, _wrapped=W.Warehouse.rows):
    t = time.perf_counter()
    out = _wrapped(self, name, params, within)
    LOG.append((time.perf_counter() - t, name, len(out), 0, within, (params or {}).get("model"), _caller()))
    return out


def _ranges(within) -> str:
    if not within:
        return "-"
    shown = ";".join(f"{a:%m-%d %H:%M:%S}..{b:%m-%d %H:%M:%S}" for a, b in within[:3])
    return shown + (f" +{len(within) - 3}" if len(within) > 3 else "")


def report() -> None:
    print(f"{len(LOG)} reads, {sum(r[0] for r in LOG):.3f} s", file=sys.stderr)
    for sec, name, rows, cols, within, model, caller in LOG:
        print(f"{sec:.3f} {name:28s} rows={rows:<8} cols={cols:<3} {model} {_ranges(within)} [{caller}]",
              file=sys.stderr)


if __name__ == "__main__":
    W.Warehouse.arrow, W.Warehouse.rows = _arrow, _rows
    atexit.register(report)
    sys.argv = ["console", *sys.argv[1:]]
    runpy.run_module("console", run_name="__main__")
