"""DuckDB in process over the log files: ingest what is new, answer named queries.

One writer (the refresh, under a lock) and many readers; each thread gets its own cursor, because
an unfinished DuckDB result blocks the connection it came from.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from console.config import Config
from console import __version__
from console.sources.logs import Cursor, LogReader
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


def cache_path(cfg: Config) -> Path | None:
    """Where the TUI keeps its warehouse between launches: keyed by the config file, its mtime, the console
    version and the typing SQL, so a rebuilt demo or a new release starts from a fresh file."""
    if cfg.source is None:
        return None
    src = Path(cfg.source).resolve()
    sql = "".join(load_query(n) for n in ("schema", "stage_predictions", "stage_labels", "stage_deployments"))
    key = hashlib.sha1(f"{src}|{src.stat().st_mtime_ns}|{__version__}|{sql}".encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlops-console"
    return base / f"warehouse-{key}.duckdb"


class Warehouse:
    def __init__(self, cfg: Config, database: str | Path = ":memory:"):
        self.cfg = cfg
        self.persistent = False
        self.note = ""
        if database != ":memory:":
            try:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
                self._con = duckdb.connect(str(database))
                self.persistent = True
            except (duckdb.Error, OSError) as exc:  # held by another console on this box, or unwritable
                self.note = f"warehouse cache not used ({type(exc).__name__}); reading the logs in memory"
                database = ":memory:"
        if not self.persistent:
            self._con = duckdb.connect(":memory:")
        self._con.execute("SET TimeZone='UTC'")
        self._con.execute(load_query("schema"))
        self._reader = LogReader(cfg.logs)
        if self.persistent:
            for path, offset, line_no, size, mtime_ns, header in self.rows("cursors_load"):
                self._reader.cursors[path] = Cursor(offset, line_no, size, mtime_ns, header)
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
                if self.persistent:  # resume here next launch; same transaction as the rows it covers
                    for path, c in self._reader.cursors.items():
                        con.execute(load_query("cursors_save"), {
                            "path": path, "offset": c.offset, "line_no": c.line_no, "size": c.size,
                            "mtime_ns": c.mtime_ns, "header": c.header})
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
