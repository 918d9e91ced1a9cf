"""DuckDB in process over the log files: ingest what is new, answer named queries.

One writer (the refresh, under a lock) and many readers; each thread gets its own cursor, because
an unfinished DuckDB result blocks the connection it came from.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import duckdb
import polars as pl
import pyarrow as pa

from console.config import Config
from console.sources.logs import LogReader
from console.sql import load_query

_STAGE = {"predictions": ("stage_predictions", "keep_predictions"),
          "labels": ("stage_labels", "keep_labels"),
          "deployments": ("stage_deployments", "keep_deployments")}


@dataclass(frozen=True)
class RefreshStats:
    rows: dict[str, int] = field(default_factory=dict)  # new rows kept, by kind
    malformed: int = 0  # new rows set aside
    seconds: float = 0.0
    missing: tuple[str, ...] = ()  # configured paths with no file yet


class Warehouse:
    def __init__(self, cfg: Config, database: str = ":memory:"):
        self.cfg = cfg
        self._con = duckdb.connect(database)
        self._con.execute("SET TimeZone='UTC'")
        self._con.execute(load_query("schema"))
        self._reader = LogReader(cfg.logs)
        self._write = threading.Lock()
        self.refreshes = 0

    # ------------------------------------------------------------------ reading

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A fresh cursor for the caller to close: Textual's thread workers are short-lived threads, and
        a cursor kept per thread would leak one connection per poll."""
        cur = self._con.cursor()
        cur.execute("SET TimeZone='UTC'")
        return cur

    def arrow(self, name: str, params: dict | None = None) -> pa.Table:
        with self.cursor() as cur:
            return cur.sql(load_query(name), params=params or {}).to_arrow_table()

    def frame(self, name: str, params: dict | None = None) -> pl.DataFrame:
        return pl.from_arrow(self.arrow(name, params))

    def rows(self, name: str, params: dict | None = None) -> list[tuple]:
        with self.cursor() as cur:
            return cur.execute(load_query(name), params or {}).fetchall()

    def one(self, name: str, params: dict | None = None) -> tuple | None:
        rows = self.rows(name, params)
        return rows[0] if rows else None

    # ------------------------------------------------------------------ ingest

    def refresh(self) -> RefreshStats:
        """Reads only what was appended since the last refresh; bad rows are set aside with their reason."""
        started = time.perf_counter()
        with self._write:
            batches = self._reader.iter_new()
            con = self._con.cursor()
            kept: dict[str, int] = {}
            bad = 0
            try:
                con.execute("BEGIN")
                for batch in batches:
                    for loc, reason, raw in batch.rejected:
                        con.execute(load_query("reject_reader"),
                                    {"source": batch.source, "location": str(loc), "reason": reason, "raw": raw})
                    bad += len(batch.rejected)
                    if batch.table.num_rows == 0:
                        continue
                    stage, keep = _STAGE[batch.kind]
                    con.register("staging", batch.table)
                    con.execute(load_query(stage))
                    n_bad = con.execute(load_query("count_rejected")).fetchone()[0]
                    con.execute(load_query(keep))
                    con.execute(load_query("reject_rows"))
                    con.unregister("staging")
                    bad += n_bad
                    kept[batch.kind] = kept.get(batch.kind, 0) + batch.table.num_rows - n_bad
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            finally:
                con.close()
            self.refreshes += 1
        return RefreshStats(rows=kept, malformed=bad, seconds=time.perf_counter() - started,
                            missing=tuple(self._reader.missing))

    def close(self) -> None:
        self._con.close()
