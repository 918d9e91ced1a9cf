"""Merging a live log's small segments, a few at a time, in a background thread or when asked (`compact`).

A refresh never merges: it hands the merges due to this (store/merge.py writes each merged file). Kept apart
from the Warehouse class because it is its own concern, with its own locks and thread: what it needs of the
store (its folder, manifest, writer lock, views) it reaches through the Warehouse it is mixed into.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import threading
import time
import uuid
import weakref
from pathlib import Path

from console.private_files import sync_folder
from console.store import tiers
from console.store.manifest import KINDS, Manifest
from console.store.on_first_use import filelock, merge, pa
from console.store.place import FLUSH_ROWS, MERGE_LOCK_WAIT_S, RETIRE_S, SMALL_ROWS, TIER_ROWS


_MERGERS: weakref.WeakSet = weakref.WeakSet()  # stores that started a background merge in this process


@atexit.register
def _stop_merges() -> None:
    """At exit, before daemon threads are cut off wherever they are, a merge in flight stops at its next step
    and its half-written file is removed (the store is as it was before it)."""
    for w in list(_MERGERS):
        w._stop_merging(timeout=5.0)


class Compaction:
    """The Warehouse's merging of small segments (mixed into it: `self` is the Warehouse)."""

    def compact(self, limit: int | None = None) -> int:
        """Runs the merges that are due now, one bounded merge at a time (at most `limit`), here and now;
        returns how many were committed. A refresh never merges: it hands merging to a background thread
        (`merge_in_background`), or leaves it to a caller of this (a scheduler's idle moment, a script, a
        test). It waits for this process's background merge, not for another process's: if another process
        is merging this store, this returns at once."""
        done = 0
        while limit is None or done < limit:
            got = self._merge_once(wait_s=60.0)
            if not got:
                break
            done += got
        return done

    @property
    def merging(self) -> bool:
        """Whether a background merge is running."""
        return self._merger is not None and self._merger.is_alive()

    def _merge_soon(self) -> None:
        """Starts the background merge thread when a merge is due and none runs."""
        if self.merging or self._stop.is_set() or not self._merge_batch(self.manifest):
            return
        self._merger = threading.Thread(target=self._merge_loop, name="store-merge", daemon=True)
        _MERGERS.add(self)
        self._merger.start()

    def _merge_loop(self) -> None:
        """The background merge: at the lowest CPU priority (Linux: per thread), so a refresh or a query that
        wants the core gets it; one bounded merge after another while any is due. A merge that fails changes
        nothing (the store is as before it) and is tried again after a later refresh."""
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):
            pass
        try:
            while not self._stop.is_set() and self._merge_once(wait_s=0.0):
                pass
        except Exception as exc:  # noqa: BLE001 - a merge that fails costs nothing but the merge
            self.merge_error = f"{type(exc).__name__}: {exc}"

    def _merge_batch(self, m: Manifest) -> tuple[str, list[str]] | None:
        for kind in KINDS:
            names = m.segments.get(kind, [])
            if len(names) < self.merge_fanin:
                continue
            batch = tiers.pick(names, {n: self._segment_rows(n) for n in names}, fanin=self.merge_fanin,
                               tier_rows=TIER_ROWS, small_rows=SMALL_ROWS, max_rows=FLUSH_ROWS)
            if batch:
                return kind, batch
        return None

    def _merge_once(self, wait_s: float) -> int | None:
        """One merge: the next batch of the committed manifest is read (segments are immutable: no lock is
        needed to read them), written to a new file, and committed under the writer lock if every part is
        still named there, in a manifest that keeps the cursors as they are on disk; a batch another
        process merged meanwhile is dropped. The parts are deleted only RETIRE_S later, since another
        process may be reading them. Returns 1 (committed), 0 (dropped), or None (nothing due, or another
        process is merging)."""
        if not (self._merge_mutex.acquire(timeout=wait_s) if wait_s > 0 else self._merge_mutex.acquire(False)):
            return None
        try:
            try:
                self._merge_lock.acquire(timeout=0)
            except filelock.Timeout:
                return None
            try:
                return self._merge_locked()
            finally:
                self._merge_lock.release()
        finally:
            self._merge_mutex.release()

    def _merge_locked(self) -> int | None:
        started = time.perf_counter()
        picked = self._merge_batch(self._load_manifest())
        if picked is None:
            return None
        kind, batch = picked
        self._sweep_tmp()
        name = f"{kind}/{uuid.uuid4().hex}.parquet"
        tmp = self.dir / f"{name}.tmp"
        try:
            try:
                got = merge.merge([self.dir / n for n in batch], tmp, stop=self._stop.is_set)
            except FileNotFoundError:  # dropped meanwhile (the sources changed): nothing to merge
                return None
            if got is None:
                return None
            committed = self._merge_commit(kind, batch, name, tmp, *got)
        finally:
            tmp.unlink(missing_ok=True)
        if committed and self.on_merge is not None:
            self.on_merge(kind, batch, got[1], time.perf_counter() - started)
        return int(committed)

    def _merge_commit(self, kind: str, batch: list[str], name: str, tmp: Path, schema: pa.Schema, rows: int) -> bool:
        deadline = time.monotonic() + MERGE_LOCK_WAIT_S
        while True:
            with self._write:
                try:
                    self._lock.acquire(timeout=0.05)
                except filelock.Timeout:
                    pass
                else:
                    try:
                        m = self._load_manifest()
                        if not set(batch) <= set(m.segments.get(kind, [])):
                            return False  # merged or dropped by another process meanwhile
                        os.replace(tmp, self.dir / name)
                        sync_folder(tmp.parent)  # named on the disk before the manifest names it
                        try:
                            # the merged segment takes its oldest part's place, so segments stay in about
                            # the order their rows were logged
                            segments = [name if n == batch[0] else n for n in m.segments[kind] if n == batch[0]
                                        or n not in set(batch)]
                            now = self.wall()
                            new = dataclasses.replace(m, generation=m.generation + 1,
                                                      segments={**m.segments, kind: segments},
                                                      retired=m.retired + [[n, now] for n in batch])
                            self._expire(new)
                            self._save_manifest(new)
                        except BaseException:
                            (self.dir / name).unlink(missing_ok=True)
                            raise
                        self._schema(str(self.dir / name), schema.empty_table())
                        self._parquet_meta[("segment", name)] = rows
                        self.manifest = new
                    finally:
                        self._lock.release()
                    self._build_views(new, self._parquet_files()[0])
                    return True
            if time.monotonic() > deadline or self._stop.is_set():
                return False
            time.sleep(0.5)

    def _expire(self, m: Manifest) -> bool:
        """Deletes the merged-away segments no reader needs any more, and forgets them in `m`. One stamped later
        than now was stamped by a clock since set back: its wait starts again now (else it waited for the clock
        to pass the stamp again, a whole copy of its rows kept on disk meanwhile)."""
        now = self.wall()
        ahead = any(when > now for _, when in m.retired)
        m.retired = [[name, min(when, now)] for name, when in m.retired]
        due = [r for r in m.retired if now - r[1] >= RETIRE_S]
        for name, _ in due:
            (self.dir / name).unlink(missing_ok=True)
        m.retired = [r for r in m.retired if now - r[1] < RETIRE_S]
        return bool(due or ahead)

    def _sweep_tmp(self) -> None:
        """Removes the half-written files of merges or refreshes that died (a crash, a kill) long ago."""
        cutoff = time.time() - RETIRE_S
        for kind in KINDS:
            for p in (self.dir / kind).glob("*.tmp"):
                try:
                    if p.stat().st_mtime < cutoff:
                        p.unlink()
                except OSError:
                    pass

    def _segment_rows(self, name: str) -> int:
        key = ("segment", name)
        if key not in self._parquet_meta:
            self._parquet_meta[key] = int(self._meta("parquet_rows", str(self.dir / name))[0][1] or 0)
        return int(self._parquet_meta[key])

    def _stop_merging(self, timeout: float | None = None) -> None:
        """A merge in flight stops at its next step (its half-written file is removed) and is waited for."""
        self._stop.set()
        merger = self._merger
        if merger is not None and merger is not threading.current_thread():
            merger.join(timeout)
