"""pyarrow without pandas: `pa.array`, `pa.scalar` and every compute call given a Python value ask pyarrow's
pandas shim whether the value is a pandas object, and the shim's first answer imports pandas: 0.2-0.8 s of a
process that never uses it (a cron `check` paid it in the ingest of new rows and again in the rules).

`keep_pandas_out` (once a process) lets the shim's first look find no pandas, so those questions are answered "no" without an
import. What really needs pandas (`Table.to_pandas`, `Table.from_pandas`) asks the shim to import it again,
and it does: pyarrow retries a failed import whenever a caller requires pandas. A process that has already
imported pandas (MLflow does) is left as it is."""

from __future__ import annotations

import sys

import pyarrow as pa

_done = False


class _NoPandas:
    """A finder that refuses pandas while the shim takes its first look."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is kept out of pyarrow's first look")
        return None


def keep_pandas_out() -> None:
    global _done
    if _done:
        return
    _done = True
    if "pandas" in sys.modules:
        return
    sys.meta_path.insert(0, _NoPandas)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(_NoPandas)
