"""The store's heavy imports, made when first used: opening the store and the first look's queries need neither
Polars, PyArrow nor the parsers, readers and mergers, only ingest and `frame` do. Every module of the store
reaches them through these handles, so each is imported once, at its first use, whichever module uses it."""

from __future__ import annotations


class _OnFirstUse:
    """A module imported when first used: opening the store and the first look's queries need neither Polars nor
    the parsers, readers and mergers (a third of what a first look imported), only ingest and `frame` do."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        module = self.__dict__.get("_module")
        if module is None:  # (import_module is thread-safe; asked again on every use it cost a refresh 1 ms)
            import importlib

            module = self.__dict__["_module"] = importlib.import_module(self._name)
        return getattr(module, attr)


pl = _OnFirstUse("polars")
# PyArrow (with NumPy, 0.2 s to import) is not needed to open the store or for the first look either: DuckDB reads
# the Parquet footers there and hands rows over as Python values
pa = _OnFirstUse("pyarrow")
pq = _OnFirstUse("pyarrow.parquet")
pc = _OnFirstUse("pyarrow.compute")
filelock = _OnFirstUse("filelock")  # (its import takes logging, secrets and more: no lock is taken to open the store)
trace_poll = _OnFirstUse("console.sources.trace_poll")
readers = _OnFirstUse("console.sources.readers")
parse = _OnFirstUse("console.store.parse")
merge = _OnFirstUse("console.store.merge")
conform_plain = _OnFirstUse("console.store.conform_plain")
# object storage and its footers (S3, a thread pool, logging: 20-30 ms of the first look's helper, which opens a
# store of local logs): imported by ingest, and by opening a store with a lake source
locations = _OnFirstUse("console.sources.locations")
