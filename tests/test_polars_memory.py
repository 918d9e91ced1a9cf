"""A console process has Polars give freed memory back to the system at once (a lower peak on a cold ingest and
rollup build, measured in benchmarks/README.md), unless the operator configured Polars' allocator."""

import os
import subprocess
import sys

CODE = """
import console.cli
try:
    console.cli.main(["--version"])
except SystemExit:
    pass
import os, time
import numpy as np
import polars as pl

def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmRSS"))

base = rss_mb()
frame = pl.DataFrame({"x": np.arange(20_000_000, dtype=np.float64)}).with_columns(y=pl.col("x") * 2)
frame = frame.sort("y", descending=True)  # ~0.6 GB of Polars' buffers made and freed
peak = rss_mb()
del frame
time.sleep(0.5)
print(os.environ.get("_RJEM_MALLOC_CONF"), peak - base, rss_mb() - base)
"""


def _effective(conf: str) -> dict[str, str]:
    """jemalloc's settings from a conf string, a later one winning (Polars puts its defaults in front on import)."""
    return dict(item.split(":", 1) for item in conf.split(",") if item)


def _run(**env: str) -> tuple[dict, int, int]:
    clean = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    out = subprocess.run([sys.executable, "-c", CODE], env={**clean, **env}, capture_output=True, text=True,
                         check=True).stdout
    conf, grew, kept = out.strip().splitlines()[-1].rsplit(" ", 2)
    return _effective(conf), int(grew), int(kept)


def test_a_console_process_gives_freed_polars_memory_back():
    from console.cli import POLARS_MALLOC_CONF

    conf, grew, kept = _run()
    assert conf == {**conf, **_effective(POLARS_MALLOC_CONF)}
    assert grew > 400 and kept < 100, (grew, kept)


def test_an_operators_own_allocator_setting_is_kept():
    conf, grew, kept = _run(_RJEM_MALLOC_CONF="dirty_decay_ms:-1,muzzy_decay_ms:-1")
    assert conf["dirty_decay_ms"] == conf["muzzy_decay_ms"] == "-1"
    assert grew > 400 and kept > 300, (grew, kept)  # Polars kept its pages, as this operator asked
