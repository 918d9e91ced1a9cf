"""The native libraries' first import, made by one thread while any other that needs them waits.

The console's threads (the event loop importing the monitoring screens, the refresh, monitor and registry workers)
each reach Polars, PyArrow, NumPy or DuckDB first by their own path; MLflow's import brings Polars and PyArrow too.
Two threads importing Polars for the first time at once ended the console in CI: a Rust panic in one, then
"No module named 'polars._utils.cache'" in the other (the module exists: the failed import had removed the half-made
package). Python's per-module import locks do not cover a package whose extension initialises once per process and
whose submodules import each other. So every path that may be the first to need them calls `ensure()` before:
the app's service (every worker reaches the store through it) and the loading of the screens (the event loop).
"""

from __future__ import annotations

import threading

NATIVE = ("numpy", "pyarrow", "duckdb", "polars")  # in this order: each later one may import the earlier ones

_lock = threading.Lock()
_done = threading.Event()


def ensure() -> None:
    """Imports NATIVE once; a caller arriving while another thread imports them waits for it to end."""
    if _done.is_set():
        return
    with _lock:
        if _done.is_set():
            return
        import importlib

        for name in NATIVE:
            importlib.import_module(name)
        _done.set()
