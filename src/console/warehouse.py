"""The store every process shares: typed Parquet segments, Parquet logs read in place, one manifest.

A row is parsed once, when it is first read, into typed columns and written to an immutable Parquet
segment; Parquet logs are never copied, but queried where they are. Any number of processes read
the store (each through its own in-memory DuckDB views over the files the manifest names); the one
holding the writer lock brings it up to date, and commits segments and read cursors together by
replacing the manifest. A store that cannot be written (read-only home, full disk) falls back to a
private temporary one, and says so.

A live log adds a small segment per refresh; they are merged a few at a time (store/merge.py), never by
a refresh: a refresh that leaves merges due starts a background thread for them, so a live refresh costs
what its new rows cost, whatever the backlog of small segments.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
import time
import weakref
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb

from console import process_temp
from console.config import Config
from console.sources import endpoints, field_names
from console.sources.contract import FIELDS, PROVENANCE_FIELDS
from console.sql import load_query
from console.store.compaction import Compaction
from console.store.counting import Counting
from console.store.facts import Facts
from console.store.footers import _DUCK_TYPES, Footers
from console.store.ingest import Ingest, Progress, RefreshStats, malformed_schema  # noqa: F401 - imported from here
from console.store.inplace import InPlace
from console.store.lakes import Lakes
from console.store.manifest import KINDS, Manifest
from console.store.on_first_use import filelock, pa, pl
# the store's place, sizes and delays, as other modules and tests import them from here
from console.store.place import (  # noqa: F401
    CHUNK_BYTES, COMPACT_AT, FIRST_STEP_ROWS, FLUSH_ROWS, MALFORMED_FIELDS, MERGE_LOCK_WAIT_S, RETIRE_S,
    SMALL_ROWS, STEP_ROWS, TIER_ROWS, cache_path, format_of, is_lake_dataset, is_lake_source, is_parquet_source,
    store_path)
from console.store.views import _VIEW_NAME, TS_CAST, Views, _sql_text  # noqa: F401 - _VIEW_NAME: tests import it


TMP_STORE_PREFIX = "mlops-console-store-"


def _seconds(text, default: float) -> float:
    if text is None:
        return default
    if isinstance(text, (int, float)):
        return float(text)
    from console.config import window_seconds

    return window_seconds(str(text))


def future_seconds(cfg) -> float:
    """How far past the wall clock a row may be dated before it is set aside as clock skew (`[ingest]
    future_tolerance`, default 5 minutes): the store's horizon, and where `rollup` stops building."""
    return _seconds(getattr(cfg, "future_tolerance", None), 300.0)


def _skeleton_fields(kind: str) -> dict[str, str]:
    """A kind's skeleton columns, with Arrow's names for their types."""
    return {**FIELDS[kind], **PROVENANCE_FIELDS} if kind != "malformed" else dict(MALFORMED_FIELDS)


def _relation(cur: duckdb.DuckDBPyConnection, sql: str, params: dict | None,
              columns: list[str] | None) -> duckdb.DuckDBPyRelation:
    """A named query's text on a cursor; `columns` projects it (the scan then reads only those columns)."""
    rel = cur.sql(sql, params=params or {})
    if columns is not None:
        have = set(rel.columns)
        rel = rel.select(*[duckdb.ColumnExpression(c) for c in dict.fromkeys(columns) if c in have])
    return rel


class Warehouse(Ingest, Counting, InPlace, Lakes, Views, Footers, Compaction):
    """The store for one configuration, as seen by this process."""

    def __init__(self, cfg: Config, database: str | Path | None = None, *, grace_s: float | None = None,
                 wall=time.time):
        """`database`: the store folder (default: `store_path(cfg)`); ":memory:" for a private temporary store.
        `grace_s` and `wall`: how long an unterminated last line waits for its writer, by which clock."""
        self.cfg = cfg
        self.note = ""
        self.refreshes = 0
        self._write = threading.Lock()
        self._tmp: str | None = None
        wanted = store_path(cfg) if database is None else (None if str(database) == ":memory:" else Path(database))
        self._con = duckdb.connect(":memory:")  # (first: a new store's skeleton files are written with it)
        self.dir = self._open_dir(wanted)
        self.persistent = self._tmp is None
        self._manifest_path = self.dir / "manifest.json"
        self.grace_s = grace_s if grace_s is not None else _seconds(getattr(cfg, "partial_line_grace", None), 30.0)
        self.wall = wall
        self.future_s = future_seconds(cfg)
        self._con.execute("SET TimeZone='UTC'")
        self._con.execute(load_query("skeletons"))
        self._con.execute(load_query("log_instant"))  # how the conform queries read a log's ts
        self._parquet_rows: dict[str, int] = {}
        self._lakes: dict[str, object] = {}  # lake_N -> the Arrow dataset every cursor registers
        self._lake_kinds: dict[str, str] = {}
        # lake_N -> its objects' footer facts by URL (`sources.footers`); absent for a lake read as a table
        self._lake_objects: dict[str, dict[str, dict]] = {}
        self._lake_files: dict[str, dict[str, tuple]] = {}  # Delta and Iceberg tables' data files (`lake_files`)
        self._lakes_listed = False  # every lake listed by this process's last refresh (not kept from before)
        self._tmp_swept = False  # the half-written segments of killed processes removed (`Ingest._refresh`)
        self._lake_paths: dict[str, str] = {}  # lake_N -> its configured path, to name it
        self._lake_formats: dict[str, str | None] = {}  # lake_N -> its configured format (a table's files' mark)
        # lake_N -> the one line saying why its objects cannot be read now: no view reads it until the next
        # refresh tries again (`_open_lakes`); what the store knows of its objects (their counts) still counts
        self._lakes_down: dict[str, str] = {}
        self._lakes_missing: list[str] = []  # S3 Parquet prefixes listing no object (`Lakes._open_lakes`)
        # a JSONL or CSV source in object storage (ingested, not read in place) that could not be listed by the last
        # refresh: its configured path -> the one line saying why (`unreadable_models`: its models' newest rows
        # may be missing)
        self._objects_down: dict[str, str] = {}
        # lakes whose filters Arrow cannot evaluate (`store.lakes._UNFILTERABLE`, `sources.lakes.mixed_strings`): registered as a scanner DuckDB filters itself
        self._unfiltered: set[str] = set()
        self._down_lock = threading.Lock()
        self._round = endpoints.Round()  # endpoints found unreachable since the last refresh began (`endpoints`)
        self.on_source_down = None  # called with that line when a read sets a lake aside (a script prints it)
        self._parquet_meta: dict[tuple, object] = {}  # facts of Parquet files by (file, version), read once
        self._mapped: dict[str, tuple] = {}  # Parquet log file -> its log's `[logs.fields]` (`_parquet_files`)
        self._lake_fields: dict[str, tuple] = {}  # lake name -> its table's `[logs.fields]` (`_open_lakes`)
        self._rows_read: dict[str, int] = {}  # row counts of the files `_parquet_files` found, from one query
        self._facts = Facts(self.dir)
        self._checked: set[tuple] = set()  # (file, version) checked by this process, future rows or not
        self._view_files: dict[str, tuple[list[str], list[str]]] = {}  # kind -> (segments, in-place logs) they read
        self._views: dict[str, str] = {}  # view (or macro) name -> its statement last run on this connection
        self._lazy: dict[str, str] = {}  # name -> statement not run yet: the store was opened with no view built
        self._order: list[str] = []  # the statements' names in the view file's order (a view after what it reads)
        self._segment_lists: dict[str, list[str]] = {}  # kind -> the files its stored_ view reads
        self._views_lock = threading.RLock()
        self._building = threading.local()  # this thread is running view statements (its cursor builds none)
        self._shapes: dict[str, tuple] = {}  # kind -> its segments' columns and types when its views were built
        self._reshaped: set[str] = set()  # views to build again: the columns of a view they read changed
        self._shape_memo: dict[str, tuple[tuple, dict]] = {}  # first file -> (files, their columns' types)
        self._cursors: weakref.WeakSet = weakref.WeakSet()  # open cursors, for interrupt()
        self._cursors_lock = threading.Lock()
        self.progress: Progress | None = None  # set while a refresh reads, None otherwise
        self.on_progress = None  # called with each Progress on the refreshing thread (benchmarks, tests)
        self.on_step = None  # called with the manifest of each step a refresh commits, on the refreshing thread
        self.steps = 0  # steps committed by this process's refreshes: a cold start's views grow with each
        self.first_step_rows, self.step_rows = FIRST_STEP_ROWS, STEP_ROWS
        self.chunk_bytes = CHUNK_BYTES
        self._ready = 0  # rows the refresh in flight has committed in steps
        self._changed_types: set[tuple[str, str]] = set()  # (kind, column) a segment being written mixed kinds in
        self._new_fields: set[tuple[str, str]] = set()  # (kind, column) first seen since the store had rows
        self._had_rows: set[str] = set()  # the kinds with segments when the refresh began (`_new_fields`)
        self._columns: dict[str, set[str]] = {}  # kind -> the columns its segments hold
        self._json_types: dict[tuple[str, str], dict] = {}  # (kind, path) -> the types that read its last piece
        self.merge_in_background = True  # a refresh that leaves merges due starts a thread for them
        self.merge_fanin = COMPACT_AT
        self.on_merge = None  # called with (kind, parts, rows, seconds) after each merge, on the merging thread
        self.merge_error = ""  # the last background merge's failure, if any
        self._merger: threading.Thread | None = None
        self._stop = threading.Event()  # closing: a merge in flight stops at its next step
        self._merge_mutex = threading.Lock()
        self.manifest = self._readable(self._load_manifest())
        # no Parquet log is scanned to open the store: a file not yet checked is read with its rules applied
        # row by row (exact, only slower) until the first refresh checks it, so a first look need not wait
        # for a scan of the whole history (seconds at 10M rows). No view is built either: a query builds the
        # ones it reads (the first look's two: 25 of 39 statements), the first refresh or a bare cursor all of them
        if any(is_lake_dataset(s) for s in cfg.logs):
            # objects in S3 this store has read before are opened from what it kept of them, without a request,
            # so a first look over them need not wait for the listing of the first refresh
            self._open_lakes(listed=False)
        self._build_views(self.manifest, self._parquet_files()[0], check=False, lazy=True)

    @functools.cached_property
    def _lock(self):
        """The writer lock: one process brings the store up to date at a time."""
        return filelock.FileLock(str(self.dir / "writer.lock"))

    @functools.cached_property
    def _merge_lock(self):
        """One merging process at a time."""
        return filelock.FileLock(str(self.dir / "merge.lock"))

    # ------------------------------------------------------------------ the folder

    def _open_dir(self, wanted: Path | None) -> Path:
        if wanted is not None:
            for old in wanted.parent.glob("warehouse-*.duckdb*"):  # the previous release's per-edit caches
                old.unlink(missing_ok=True)
            try:
                wanted.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.chmod(wanted, 0o700)
                for kind in KINDS:
                    (wanted / kind).mkdir(exist_ok=True, mode=0o700)
                probe = wanted / f".probe-{os.getpid()}"
                probe.write_bytes(b"")
                probe.unlink()
                self._skeletons(wanted)
                return wanted
            except (OSError, duckdb.Error) as exc:  # (DuckDB writes the skeletons: a full disk is its IOException)
                why = getattr(exc, "strerror", None) or type(exc).__name__
                self.note = (f"store {wanted} cannot be written ({why}); "
                             "working in a temporary store for this process")
        # named for this process: one killed outright (no finalizer runs) leaves it, and the next removes it
        self._tmp = process_temp.make(TMP_STORE_PREFIX)
        # removed when this store is closed, collected or the process exits: a script or test that never
        # calls close() must not leave its temporary store behind
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._tmp, True)
        tmp = Path(self._tmp)
        for kind in KINDS:
            (tmp / kind).mkdir()
        self._skeletons(tmp)
        return tmp

    def _load_manifest(self) -> Manifest:
        """The manifest as committed: the shared store's file, which other processes write too; a temporary
        store's is this process's alone and lives in memory (`_save_manifest`)."""
        if not self.persistent and getattr(self, "manifest", None) is not None:
            return self.manifest
        return Manifest.load(self._manifest_path)

    def _save_manifest(self, m: Manifest) -> None:
        """Commits `m`: written to the shared store (in one durable rename); a temporary store's is kept in memory,
        as no other process reads it. Under a file-size limit (`ulimit -f`, EFBIG) the shared store's manifest
        could not be written and the process moved to a temporary store, whose manifest on disk failed alike: every
        command exited 4 where a full disk is a note and the numbers."""
        if self.persistent:
            m.save(self._manifest_path)

    def _move_to_temporary(self, why: str) -> None:
        """Goes on in a private temporary store, empty, after the shared one refused a write mid-refresh: the
        refresh reads every log again into it. The shared store keeps what it had committed; what this process
        knew of the Parquet logs read in place (their footers, whether their rows pass) still holds."""
        wanted = self.dir
        for held in ("_lock", "_merge_lock"):  # the shared store's locks are not this store's
            self.__dict__.pop(held, None)
        self.dir = self._open_dir(None)
        self.persistent = False
        self.note = (f"store {wanted} cannot be written ({why}); "
                     "working in a temporary store for this process")
        self._manifest_path = self.dir / "manifest.json"
        self.manifest = Manifest()
        self._facts = Facts(self.dir)
        self._columns, self._shapes, self._json_types, self._parquet_rows = {}, {}, {}, {}
        self._reshaped = set()
        self._build_views(self.manifest, self._parquet_files()[0], check=False, lazy=True)

    def _skeletons(self, folder: Path) -> None:
        """An empty file of each kind's contract columns, and `skeleton-raw` (what an in-place view reads when there
        is no Parquet log), written once per store (by DuckDB: a new store imports no PyArrow for them)."""
        wanted = {f"skeleton-{kind}.parquet": _skeleton_fields(kind) for kind in KINDS}
        wanted["skeleton-raw.parquet"] = {"ts": "timestamp[us]"}
        missing = {name: fields for name, fields in wanted.items() if not (folder / name).exists()}
        if not missing:
            return
        con = self._con.cursor()
        try:
            for name, fields in missing.items():
                path = folder / name
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                columns = ", ".join(f'CAST(NULL AS {_DUCK_TYPES[t]}) AS "{n}"' for n, t in fields.items())
                con.execute(load_query("skeleton_file").format(columns=columns, path=_sql_text(str(tmp))))
                os.chmod(tmp, 0o600)
                os.replace(tmp, path)
        finally:
            con.close()

    # ------------------------------------------------------------------ reading

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A fresh cursor for the caller to close: Textual's thread workers are short-lived threads. Its query
        is not known here: every view not built yet is built first."""
        self._ensure_views(None)
        return self._cursor()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = self._con.cursor()
        cur.execute("SET TimeZone='UTC'")
        for name, dataset in self._lakes.items():
            if name not in self._lakes_down:
                cur.register(name, self._scannable(name, dataset))
        with self._cursors_lock:
            self._cursors.add(cur)
        return cur

    def interrupt(self) -> None:
        """Stops every query in flight on this store's connection (quitting: a worker mid-query lets go at
        once). Interrupting the base connection does not reach its cursors, so each open one is told."""
        with self._cursors_lock:
            open_ = list(self._cursors)
        for cur in [self._con, *open_]:
            try:
                cur.interrupt()
            except Exception:  # noqa: BLE001 - a cursor closed meanwhile has nothing to stop
                pass

    def _bound(self, name: str, within: list[tuple[datetime, datetime]] | None) -> str:
        """A named query ready to run: over only the files that may hold rows in `within` (`_narrowed`), else with
        the views it reads built."""
        sql = load_query(name)
        if within is not None:
            return self._narrowed(sql, within)
        self._ensure_views(sql)
        return sql

    def arrow(self, name: str, params: dict | None = None, columns: list[str] | None = None,
              within: list[tuple[datetime, datetime]] | None = None) -> pa.Table:
        """A named query's result; `columns` projects it (the scan then reads only those columns). `within`, the
        time ranges (a, b] the query keeps rows of, reads only the files that may hold such rows (`_narrowed`)."""
        def run() -> pa.Table:
            sql = self._bound(name, within)
            with self._cursor() as cur:
                return _relation(cur, sql, params, columns).to_arrow_table()
        return self._read(run)

    def batches(self, name: str, params: dict | None = None, columns: list[str] | None = None,
                rows: int = 100_000) -> Iterator[pa.RecordBatch]:
        """A named query's result as it streams, `rows` at a time, in no promised order: a reader that folds
        rows in as they come holds one batch, not the result. A lake that fails before the first batch is set
        aside as in `_read`; one that fails later ends the stream with its one-line error."""
        started = False
        while True:
            try:
                self._ensure_views(load_query(name))
                with self._cursor() as cur:
                    for batch in _relation(cur, load_query(name), params, columns).to_arrow_reader(rows):
                        started = True
                        yield batch
                return
            except duckdb.Error as exc:
                if not self._lake_failed(exc):
                    raise
                if started:
                    from console.sources import locations

                    name = re.search(r"registered as '(lake_\d+)'", str(exc)).group(1)
                    raise locations.StorageError(self._lakes_down[name]) from None

    def frame(self, name: str, params: dict | None = None, columns: list[str] | None = None,
              within: list[tuple[datetime, datetime]] | None = None) -> pl.DataFrame:
        return pl.from_arrow(self.arrow(name, params, columns, within))

    def malformed_by(self, lakes: bool = True) -> list[dict]:
        """Rows set aside by file and reason (`queries/malformed_summary.sql`); a file or object of a log under its
        own names has its reasons name the log's column, as a parsed log's are (`field_names.explain`)."""
        rows = self.frame("malformed_summary" if lakes else "malformed_summary_local").to_dicts()
        own = {**self._mapped, **self._mapped_lake_sources()}
        for row in rows:
            if own.get(row["source"]):
                row["reason"] = field_names.explain_reason(row["reason"], own[row["source"]])
        return rows

    def dicts(self, name: str, params: dict | None = None) -> list[dict]:
        """A named query's rows as dicts of Python values, as `arrow(...).to_pylist()` gives them, without PyArrow
        (the first look's reads: the TUI's helper process then never imports it)."""
        def run() -> list[dict]:
            self._ensure_views(load_query(name))
            with self._cursor() as cur:
                cur.execute(load_query(name), params or {})
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row)) for row in cur.fetchall()]
        return self._read(run)

    def rows(self, name: str, params: dict | None = None,
             within: list[tuple[datetime, datetime]] | None = None) -> list[tuple]:
        """A named query's rows; `within` as for `arrow`."""
        def run() -> list[tuple]:
            sql = self._bound(name, within)
            with self._cursor() as cur:
                return cur.execute(sql, params or {}).fetchall()
        return self._read(run)

    def _rows_here(self, name: str, params: dict) -> list[tuple]:
        """A query over `predictions` run over the predictions not in a lake (`predictions_here`)."""
        sql, n = re.subn(r"\bFROM predictions\b", "FROM predictions_here", load_query(name))
        if n != 1:
            raise ValueError(f"{name} does not read FROM predictions once")
        def run() -> list[tuple]:
            self._ensure_views(sql)
            with self._cursor() as cur:
                return cur.execute(sql, params).fetchall()
        return self._read(run)

    def one(self, name: str, params: dict | None = None,
            within: list[tuple[datetime, datetime]] | None = None) -> tuple | None:
        rows = self.rows(name, params, within)
        return rows[0] if rows else None

    def models(self) -> list[str]:
        """The models configured or seen in the logs, by name."""
        return sorted(set(self.models_seen()) | set(self.cfg.models))

    def has_rows(self, model: str, since: datetime, until: datetime, environment: str | None) -> bool:
        """Whether one model has a prediction in (since, until]: the scan stops at the first."""
        n = self.one("model_rows_upto", {"model": model, "since": since, "until": until,
                                         "environment": environment, "cap": 1}, within=[(since, until)])
        return bool(n) and n[0] > 0

    def first_seen(self, model: str, since: datetime, until: datetime, environment: str | None) -> datetime | None:
        """The oldest served prediction of one model in (since, until] (`model_first_seen`), None when there is none;
        only the files that may hold such rows are read."""
        rows = self.rows("model_first_seen", {"model": model, "since": since, "until": until,
                                              "environment": environment}, within=[(since, until)])
        return rows[0][0] if rows and rows[0][0] is not None else None

    def last_seen(self, model: str, until: datetime, environment: str | None = None) -> datetime | None:
        """The newest prediction of one model up to `until` (in `environment`, or in any when None): how long a
        source has been silent."""
        try:
            rows = self.rows("model_last_seen", {"model": model, "until": until, "environment": environment})
        except Exception:  # noqa: BLE001 - a store without the query: look at the history only
            return None
        return rows[0][0] if rows and rows[0][0] is not None else None

    def columns(self, kind: str = "predictions") -> list[str]:
        with self.cursor() as cur:
            return [r[0] for r in cur.execute(f"DESCRIBE {kind}").fetchall()]  # noqa: S608 - fixed names

    def close(self, wait_s: float = 5.0) -> None:
        """Closes the store. DuckDB refuses to close a connection a query is running on (a screen's fetch still
        in flight as the console leaves): the queries are interrupted and the close tried again until `wait_s`."""
        self._stop_merging()
        deadline = time.monotonic() + wait_s
        try:
            while True:
                try:
                    self._con.close()
                    break
                except duckdb.ResourceInUseException:
                    if time.monotonic() >= deadline:
                        raise
                    self.interrupt()
                    time.sleep(0.02)
        finally:
            if self._tmp:
                self._cleanup()
