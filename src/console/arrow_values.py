"""pyarrow without pandas: `pa.array`, `pa.scalar` and every compute call given a Python value ask pyarrow's
pandas shim whether the value is a pandas object, and the shim's first answer imports pandas: 0.2-0.8 s of a
process that never uses it (a cron `check` paid it in the ingest of new rows and again in the rules).

`keep_pandas_out` (once a process) lets the shim's first look find no pandas, so those questions are answered "no" without an
import. What really needs pandas (`Table.to_pandas`, `Table.from_pandas`) asks the shim to import it again,
and it does: pyarrow retries a failed import whenever a caller requires pandas. A process that has already
imported pandas (MLflow does) is left as it is.

`watch` (called once, by `console/__init__`) runs it right after pyarrow is first imported, whoever imports it: a
console module (which one depends on the command: the ingest, the rollups, the sketches, a reader), DuckDB's or
Polars' Arrow exchange. One call at import time of pyarrow, rather than one in every console module that
imports it, so that a module that stops importing pyarrow at its top (a command that does not need it does not
pay its 0.1-0.2 s) cannot leave the look to a later, unguarded first use. Importing this module imports no pyarrow."""

from __future__ import annotations

import sys
import threading

_done = False
_looker: int | None = None  # the thread taking the first look: pandas is refused to it only


class _NoPandas:
    """A finder that refuses pandas to the thread taking the shim's first look (other threads import as usual)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if (name == "pandas" or name.startswith("pandas.")) and threading.get_ident() == _looker:
            raise ImportError("pandas is kept out of pyarrow's first look")
        return None


def keep_pandas_out() -> None:
    """The shim's first look, with pandas refused (pyarrow must be imported)."""
    global _done, _looker
    if _done:
        return
    _done = True
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    _looker = threading.get_ident()
    sys.meta_path.insert(0, _NoPandas)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(_NoPandas)
        _looker = None


class _Then:
    """pyarrow's own loader, then `keep_pandas_out` once pyarrow has run (the loader put back, the watch ended)."""

    def __init__(self, loader) -> None:
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__spec__.loader = module.__loader__ = self.loader
        try:
            sys.meta_path.remove(_FirstPyarrow)
        except ValueError:
            pass
        self.loader.exec_module(module)
        keep_pandas_out()


class _FirstPyarrow:
    """A finder in front of the others until pyarrow is first imported: it hands the path finder's spec of pyarrow
    with its loader wrapped (`_Then`). A lookup without an import (`importlib.util.find_spec`, as
    `answer_memo` stamps the libraries) gets the same spec and runs nothing; the watch goes on."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "pyarrow":
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _Then(spec.loader)
        return spec


def watch() -> None:
    """`keep_pandas_out` when pyarrow is first imported, or now if it already is."""
    if "pyarrow" in sys.modules:
        keep_pandas_out()
    elif _FirstPyarrow not in sys.meta_path and not _done:
        sys.meta_path.insert(0, _FirstPyarrow)
