"""A console process takes Arrow's buffers from the system allocator (a lower peak on a cold ingest, measured in
benchmarks/README.md), unless the operator chose a pool."""

import os
import subprocess
import sys

CODE = """
import console.cli
try:
    console.cli.main(["--version"])
except SystemExit:
    pass
import pyarrow as pa
pa.array(list(range(1000)))
print(pa.default_memory_pool().backend_name)
"""


def _pool(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    out = subprocess.run([sys.executable, "-c", CODE], env={**clean, **env}, capture_output=True, text=True,
                         check=True).stdout
    return out.strip().splitlines()[-1]


def test_a_console_process_uses_the_system_pool():
    assert _pool() == "system"


def test_an_operators_own_pool_is_kept():
    assert _pool(ARROW_DEFAULT_MEMORY_POOL="jemalloc") == "jemalloc"
