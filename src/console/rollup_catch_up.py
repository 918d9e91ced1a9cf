"""Bringing the hourly rollups up to date with the store (`RollupCatchUp`, a mixin of `rollup_drift.RollupDrift`):
which hours are stale (their counts, files or labels moved since they were built), read in pieces that bound
memory, the next piece read while one is sketched, built under the rollup folder's lock, and what was verified
kept for the next process (`VERIFIED`). Every reader of the rollups (drift, health, quality, cost, the rules)
catches up first, so what it reads is the store's rows summarised."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import filelock
import polars as pl
import pyarrow.parquet as pq

from console import rollup_changes as rc
from console import rollup_remote
from console import rollup_summarise as rs
from console import store_rollups as ro
from console.private_files import replace_private
from console.rollup_paths import FULL, FolderFull

VERIFIED = ".verified"  # in the rollup folder: what catch-ups verified, kept for the next process (`_keep_record`)
LOCK_WAIT_S = 30.0  # how long a catch-up waits for another process's before building the same hours itself
BUILD_CHUNK = timedelta(days=1)  # hours built per read of raw rows at most
# Raw values (rows x columns read) held per read of a build: a read holds about 50 bytes a value while it is typed,
# cut and sketched (a 30M-row week's model-day, 1.4M rows of 40 columns, took 2.9 GB), so pieces are cut by the
# store's hourly counts, and an hour with more is read in slices streamed through one `build_rollups`: memory
# follows this, not the traffic or the number of features (125,000 rows of 40 columns).
BUILD_CELLS = 5_000_000
# A build of more values than this in all reads the next piece's raw rows while it sketches this one's (`_read_ahead`):
# a cold 10M-row week 25.4 -> 20.1 s, 858 -> 877 MB. A smaller one gains little (a 1M-row week: 0.6 s) and holds
# one read more at its peak (475 -> 518-537 MB), over the 500 MB a million rows may take.
READ_AHEAD_CELLS = 20 * BUILD_CELLS
US = timedelta(microseconds=1)  # the store's queries take (since, until]; rollup hours are [start, end)


floor_hour = ro.floor_hour  # (the drift and rule readers import it from here)


def _pieces(stale: dict[datetime, int], empty: Iterable[datetime] = ()) -> list[tuple[datetime, datetime, int]]:
    """Stale hours (with the values their rows hold in the store) as (start, end, values) pieces to build per read:
    runs of consecutive hours cut at BUILD_CHUNK of hours and BUILD_CELLS values (an hour with more is alone). A run
    goes on over `empty` hours (no row stored or rolled up: built again, each is built the same) to the next stale
    one: a quiet model's hours with rows are a few apart, and a cold build of 60 days of 40 rows a day was ~240
    pieces, each a read, a file and a listing of the files before it, not 60."""
    empty = set(empty)
    out: list[tuple[datetime, datetime, int]] = []
    for hour in sorted(stale):
        n = stale[hour]
        if out and hour + ro.HOUR - out[-1][0] <= BUILD_CHUNK and out[-1][2] + n <= BUILD_CELLS and (
                out[-1][1] == hour or all(h in empty for h in _hours(out[-1][1], hour))):
            out[-1] = (out[-1][0], hour + ro.HOUR, out[-1][2] + n)
        else:
            out.append((hour, hour + ro.HOUR, n))
    return out


def _fits(group: list, piece: tuple) -> bool:
    """Whether a piece (ask, spec, start, end, values) joins the read of `group`'s pieces (of other models): at most
    BUILD_CELLS values in all, and at most BUILD_CHUNK of hours, summed (a rule pass: the hour that closed, of each
    model) or spanned (a cold build: the models' pieces of one day, whose row groups a shared read decodes once,
    not once per model; summed, a day of two models was 48 h and every model-day had a read of its own: 21 reads
    for a week of 3 models at 1M rows, 14 now, 2.2-2.8 -> 2.1-2.3 s CPU)."""
    if sum(g[4] for g in group) + piece[4] > BUILD_CELLS:
        return False
    hours = sum((g[3] - g[2] for g in group), piece[3] - piece[2])
    span = max(piece[3], *(g[3] for g in group)) - min(piece[2], *(g[2] for g in group))
    return min(hours, span) <= BUILD_CHUNK


def _read_ahead(read, items: list, ahead: bool = True) -> Iterator[tuple[Any, Any]]:
    """(item, read(item)) for each item in order, the next item's read running in a thread while the caller works on
    this one's. A build's raw reads (DuckDB, which lets go of the GIL) and its sketching (KLL updates, which hold it)
    then overlap: a cold 10M-row build spent 6.7 s reading and 12 s sketching, one after the other. One read ahead at
    most: memory holds two reads' rows, not more. An error is raised where that item's read is taken. Not `ahead`:
    each read in turn."""
    if len(items) < 2 or not ahead:
        for item in items:
            yield item, read(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="rollup-read") as pool:
        pending = pool.submit(read, items[0])
        for k, item in enumerate(items):
            got = pending.result()
            if k + 1 < len(items):
                pending = pool.submit(read, items[k + 1])
            yield item, got


def _slices(start: datetime, end: datetime, cells: int) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into equal spans of about BUILD_CELLS values each (one span when it holds no more)."""
    k = max(1, -(-cells // BUILD_CELLS))
    cuts = [start + (end - start) * j / k for j in range(k)] + [end]
    return list(zip(cuts, cuts[1:]))


def _hours(a: datetime, b: datetime) -> list[datetime]:
    return list(ro._hours(a, b))


def _holds(spec: ro.ModelSpec) -> set[str]:
    """The columns an hour's rollup file must hold for this spec, else it is rebuilt (`_stale_hours`)."""
    return {f"num__{f}" for f in spec.numeric} | {f"cat__{f}" for f in spec.categorical} | set(ro.ADDED)


def _to_check(seen: tuple | None, content: rc.Content, start: datetime, end: datetime) -> list[datetime]:
    """The hours of [start, end) to count again: all of them unless `seen` (content, from, to) was verified;
    else those outside what it covered, and those inside that a changed file's time range touches. Labels
    change the hours of the predictions they join, which their own times do not say: a changed label file
    makes every hour one to count (`Content.changed` gives None)."""
    hours = _hours(start, end)
    if seen is None:
        return hours
    changed = seen[0].changed(content) if seen[0] != content else []
    if changed is None:
        return hours
    spans = [(floor_hour(lo), hi) for lo, hi in changed]
    return [h for h in hours if not seen[1] <= h < seen[2] or any(lo <= h <= hi for lo, hi in spans)]


def _newest(df: pl.DataFrame, by: str) -> dict[datetime, datetime | None]:
    """Per value of `by` (an hour), the newest `ro.LABEL_TS` of `df`'s rows, as naive UTC (None: no time known)."""
    col = pl.col(ro.LABEL_TS)
    if getattr(df.schema[ro.LABEL_TS], "time_zone", None):
        col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return dict(df.group_by(by).agg(col.cast(pl.Datetime("us")).max()).iter_rows())


def _same_sum(a: float, b: float) -> bool:
    """Two sums of the same float32 values, added in another order."""
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def _rewritten(seen: tuple | None, content: rc.Content, start: datetime, end: datetime) -> frozenset:
    """The hours of [start, end) that a prediction file rewritten in place since `seen` was verified covers
    (`Content.rewritten`): rebuilt, not counted, since a corrected file of as many rows leaves every count equal
    and the hour would keep the sketches of the rows it replaced. A file added or removed moves its hours'
    counts, which `_to_check` and `_stale_hours` compare."""
    if seen is None or seen[0] == content:
        return frozenset()
    spans = seen[0].rewritten(content)
    hours = _hours(start, end)
    if spans is None:
        return frozenset(hours)
    return frozenset(h for h in hours if any(floor_hour(lo) <= h <= hi for lo, hi in spans))


class RollupCatchUp:
    """`RollupDrift`'s catch-up: its `_verified` ranges, `_versions` and `built` / `checked` lists."""

    # ------------------------------------------------------------------ catch-up

    def _stale_hours(self, model: str, spec: ro.ModelSpec, start: datetime, end: datetime,
                     labels: bool = False, rewritten: frozenset = frozenset(),
                     empty: set[datetime] | None = None) -> dict[datetime, int]:
        """Hours in [start, end), with the store's row count, whose rollup rows differ in count from the store's, or were built without
        one of the model's features (or a column of `ro.ADDED`); with `labels`, also those whose count of
        labelled rows differs (a label that landed after the hour was built: quality reads it) or whose labels'
        numbers add up to another sum (labels corrected in place, as many of them: `rollup_summarise.label_sums`), or whose
        newest label's arrival (`ro.LABEL_TS`, which every builder keeps) is another (a later row of the labels log
        correcting a label: text labels add nothing to the sum, and a 0 -> 1 with a 1 -> 0 in one hour leaves count
        and sum equal); and the `rewritten` hours, whose file was rewritten in place (`_rewritten`), whatever their
        counts. `empty` gets the hours of the range with no row in the store or the rollups (`_pieces` bridges them)."""
        hour = pl.col("ts").dt.truncate("1h").alias("h")
        params = {"model": model, "since": start - US, "until": end - US, "environment": None}
        lab = None
        if labels and self.mon.wh.counts()[1]:  # a store with no label at all (from metadata) joins nothing
            lab = rs._labels_frame(self.mon.wh.frame("model_labels", params))
        stored_labels: dict[datetime, int] = {}
        stored_sums: dict[datetime, float] = {}
        stored_arrived: dict[datetime, datetime | None] = {}
        if lab is not None:  # the labelled count per hour joins the rows' request ids
            ts = self.mon.typed_rows(model, start - US, end - US, None, columns=["ts", "request_id"])
            stored = dict(ts.group_by(hour).len().iter_rows())
            have = ts.join(lab.select("request_id", "label", "label_num", ro.LABEL_TS), on="request_id", how="left")
            have = have.filter(pl.col("label").is_not_null()).with_columns(hour)
            stored_labels = dict(have.group_by("h").len().iter_rows())
            stored_sums = rs.label_sums(have, "h")
            stored_arrived = _newest(have, "h")
        else:
            stored = self.mon.wh.hour_counts(params)
        table = ro.read_table(self.path, model, start, end,
                              columns=["segment", "rows", "labelled", *(["label_sum", ro.LABEL_TS] if labels else [])])
        rolled: dict[datetime, int] = {}
        rolled_labels: dict[datetime, int] = {}
        rolled_sums: dict[datetime, float] = {}  # of the hours built with label sums (`ro.TARGETS`)
        rolled_arrived: dict[datetime, datetime | None] = {}  # of the hours built with `ro.LABEL_TS`
        if table is not None and table.num_rows:
            df = pl.from_arrow(table).filter(pl.col("segment").is_null())
            rolled = dict(df.group_by("hour").agg(pl.col("rows").sum()).iter_rows())
            rolled_labels = dict(df.group_by("hour").agg(pl.col("labelled").sum()).iter_rows())
            if ro.LABEL_TS in df.columns:  # an hour written before it is `thin` (`ro.ADDED`): rebuilt anyway
                rolled_arrived = _newest(df.filter(pl.col("labelled") > 0), "hour")
            if "label_sum" in df.columns:
                rolled_sums = {h: v for h, v, has in df.group_by("hour").agg(
                    pl.col("label_sum").sum(), pl.col("label_sum").is_not_null().any().alias("has")).iter_rows() if has}
        wanted = _holds(spec)
        covering = [f for f in ro.files(self.path, model) if f.start < end and f.end > start]  # oldest first
        thin: set[datetime] = set()
        for h in _hours(start, end):
            newest = next((f for f in reversed(covering) if f.start <= h < f.end), None)
            if newest is not None and not wanted <= self._names(newest.path):
                thin.add(h)
        stale = {h: stored.get(h, 0) for h in _hours(start, end) if stored.get(h, 0) != rolled.get(h, 0) or h in thin
                 or h in rewritten or (labels and stored_labels.get(h, 0) != rolled_labels.get(h, 0))
                 or (h in rolled_sums and not _same_sum(stored_sums.get(h, 0.0), rolled_sums[h]))
                 or (labels and h in rolled_labels and stored_arrived.get(h) != rolled_arrived.get(h))}
        if empty is not None:  # no row in the store nor in the rollups: built again, it is built the same (none)
            empty.update(h for h in _hours(start, end) if h not in stale and not stored.get(h) and not rolled.get(h))
        return stale

    def _names(self, path: Path) -> set[str]:
        names = self._schemas.get(path)
        if names is None:
            names = self._schemas[path] = set(pq.read_schema(path).names)
        return names

    def _read(self, pieces: list[tuple[str, ro.ModelSpec, datetime, datetime, int]],
              has_labels: bool) -> tuple[dict, dict]:
        """The raw rows of the pieces (by model) and their labels (by model, when the store holds any). One read for
        all (`Monitor.typed_rows_of`: each model's part typed as a read of that model alone): after new rows the hour
        that closed is stale for every model of a pass, and a read per model decoded the same row group once per
        model. A lone piece of more than BUILD_CELLS values (one busy hour) is read in time slices of about
        BUILD_CELLS as `build_rollups` streams through them (later, in the thread that consumes them)."""
        reads = {model: (self._build_columns(model, spec, has_labels), [(start - US, end - US)])
                 for model, spec, start, end, _ in pieces}
        if len(pieces) == 1:
            ((model, (cols, _)),) = reads.items()
            _, _, start, end, n = pieces[0]
            # build_rollups types them
            slices = _slices(start, end, n)
            read = lambda a, b: self.mon.typed_rows(model, a - US, b - US, None, columns=cols)  # noqa: E731
            rows = {model: [read(*slices[0])] if len(slices) == 1 else (read(a, b) for a, b in slices)}
        else:
            rows = self.mon.typed_rows_of(reads, None)
        labels = {}
        if has_labels:  # a store with no label at all (from metadata) joins nothing
            for model, _, start, end, _ in pieces:
                frame = self.mon.wh.frame("model_labels", {"model": model, "since": start - US, "until": end - US,
                                                           "environment": None})
                labels[model] = frame if frame.height else None
        return rows, labels

    def _write(self, pieces: list[tuple[str, ro.ModelSpec, datetime, datetime, int]], rows: dict,
               labels: dict) -> None:
        """Each piece's hours summarised from its rows (`_read`) and written."""
        for model, spec, start, end, _ in pieces:
            tables = rs.build_rollups(rows.pop(model), labels.get(model), {model: spec})
            tables.setdefault(model, ro.empty_table(spec))  # an hour with no rows supersedes what was there
            ro.write({model: tables[model]}, self.path, start, end)
            self.built.append((model, start, end))

    def _build_columns(self, model: str, spec: ro.ModelSpec, labelled: bool = True) -> list[str]:
        """The raw columns a build of `model` reads: the contract, the spec's features and segments, and the cached
        tokens its cost prices (as the raw cost path reads them). `_read` reads them and `catch_up_all` sizes its
        pieces by their count, so the two cannot disagree on a piece's width. Without labels in the store
        (`labelled` False) `request_id`, which only joins them, is not read: a distinct string a row, 8% of a read."""
        from console.monitoring import CONTRACT_COLUMNS

        priced = [c for c in self.mon.attributes(model) if c == "cached_tokens"]
        contract = [c for c in CONTRACT_COLUMNS if labelled or c != "request_id"]
        return list(dict.fromkeys([*contract, "error", *spec.numeric, *spec.categorical, *spec.segments, *priced]))

    def _pull(self, refreshes: int) -> None:
        """Rollups kept in S3 or on a read-only mount (built by Spark or a side box) are pulled into the mirror once per store
        refresh; what this process builds for hours they lack stays in the mirror. A failure is a note: the
        mirror's rollups and raw rows still give the scores."""
        if self.remote is None or self._pulled_at == refreshes:
            return
        self._pulled_at = refreshes
        try:
            rollup_remote.pull(self.remote, self.path, rollup_remote.storage_of(self.mon.cfg), prune=False)
            self.note = ""
        except Exception as exc:  # noqa: BLE001 - sources.s3's one-line error naming the path
            self.note = f"rollups in {self.remote} not read: {exc}"

    def catch_up(self, model: str, start: datetime, end: datetime,
                 labels: bool = False) -> list[tuple[datetime, datetime]]:
        """Brings the rollups of the hours [start, end) up to date with the store (with `labels`, also with
        the labels that landed since an hour was built); the ranges it built (`catch_up_all` of one model)."""
        return self.catch_up_all([(model, start, end, labels)])[0]

    def catch_up_all(self, asks: list[tuple[str, datetime, datetime, bool]]) -> list[list[tuple[datetime, datetime]]]:
        """`catch_up` of several (model, start, end, labels), one per model: the ranges each built. The stale hours
        of all of them are built from shared reads (`_read`, then `_write`: a rule pass's models have the same hour
        that closed).

        What was verified is keyed by the store's content (`rollup_changes`), so after a refresh only the hours
        whose files changed are counted again, and a refresh that brought nothing costs no count at all."""
        refreshes = self.mon.wh.refreshes
        out: list[list[tuple[datetime, datetime]]] = [[] for _ in asks]
        todo = []
        for i, (model, start, end, labels) in enumerate(asks):
            key = (model, "labels") if labels else model
            # rollups pulled from S3 may change with each pull, so each refresh's pull is checked as before
            extra = (("pull", refreshes),) if self.remote is not None else ()
            content = self._versions.content(self.mon.wh, ("predictions", "labels") if labels else ("predictions",),
                                             extra)
            seen = self._verified.get(key)
            moved: list[datetime] = []  # hours whose rollup file changed since a kept record verified them
            if seen is None and self.remote is None:
                seen, moved = self._kept_record(model, key, start, end)
            if seen is not None and not moved and seen[0] == content and seen[1] <= start and end <= seen[2]:
                self._verified[key] = seen
                continue
            check = sorted(set(_to_check(seen, content, start, end)) | set(moved))
            todo.append((i, model, key, content, seen, check, _rewritten(seen, content, start, end)))
        if not todo:
            return out
        self.path.mkdir(parents=True, exist_ok=True)
        self._pull(refreshes)
        lock = ro.build_lock(self.path)  # the `rollup` command's too
        try:
            lock.acquire(timeout=LOCK_WAIT_S)
        except filelock.Timeout:
            lock = None  # another process is stuck building: build the same hours too (the newest file wins)
        try:
            pieces = []  # (index of the ask, spec, start, end, values): at most BUILD_CHUNK and BUILD_CELLS each
            labelled = None  # whether the store holds any label: asked once, when some hour is to be built
            for i, model, _, _, _, check, rewritten in todo:
                spec, labels = self.spec(model), asks[i][3]
                ranges = ro.hour_ranges(check)
                self.checked += [(model, a, b) for a, b in ranges]
                empty: set[datetime] = set()
                stale = {h: n for a, b in ranges
                         for h, n in self._stale_hours(model, spec, a, b, labels, rewritten, empty).items()}
                if stale and labelled is None:
                    labelled = bool(self.mon.wh.counts()[1])
                width = len(self._build_columns(model, spec, bool(labelled)))
                pieces += [(i, spec, a, b, n) for a, b, n in _pieces({h: n * width for h, n in stale.items()}, empty)]
            # pieces of distinct models read together while they fit one read (`_fits`: bounds memory)
            groups: list[list] = []
            group: list = []
            for piece in sorted(pieces, key=lambda p: (p[2], p[0])) + [None]:
                if group and (piece is None or any(asks[g[0]][0] == asks[piece[0]][0] for g in group)
                              or not _fits(group, piece)):
                    groups.append(group)
                    group = []
                if piece is not None:
                    group.append(piece)
            has_labels = bool(groups) and (bool(self.mon.wh.counts()[1]) if labelled is None else labelled)
            builds = [[(asks[i][0], spec, t, e, n) for i, spec, t, e, n in g] for g in groups]
            ahead = sum(p[4] for p in pieces) > READ_AHEAD_CELLS
            for group, (build, read) in zip(groups, _read_ahead(lambda b: self._read(b, has_labels), builds, ahead)):
                self._write(build, *read)
                for i, _, t, e, _ in group:
                    out[i].append((t, e))
            # The whole days now known current are merged into day rows once (`store_rollups.compact_range`),
            # so a month is read as ~30 rows per key, not ~720, here as after the `rollup` command.
            for i, model, *_ in todo:
                ro.compact_range(self.path, model, asks[i][1], asks[i][2])
        except OSError as exc:  # the folder took its probe and then filled: the reads go raw (`Monitor`)
            if exc.errno in FULL:
                raise FolderFull(self.path, os.strerror(exc.errno)) from exc
            raise
        finally:
            if lock is not None:
                lock.release()
        for i, model, key, content, seen, _, _ in todo:
            start, end = asks[i][1], asks[i][2]
            if seen is not None and start <= seen[2] and seen[1] <= end and not [
                    h for h in _to_check(seen, content, seen[1], seen[2]) if not start <= h < end]:
                # one stretch known good for this content: the old one's hours outside this ask were verified for
                # the old content, so they join only when no change since touches them (a `snapshot` after a late
                # file in an older day marked that day verified unread, and a 30-day read then missed its rows)
                start, end = min(start, seen[1]), max(end, seen[2])
            self._verified[key] = (content, start, end)
            if self.remote is None:
                self._keep_record(model, key, content, start, end)
        return out

    # What a catch-up verified is kept in the rollup folder too (`VERIFIED`), so a new process (each CLI command,
    # a TUI started again) does not count the whole window against the store before its first read (0.5-1 s for
    # a month at 10M-100M rows, plus a footer read per log file): the record names the store's files with their
    # footers' time ranges (`rollup_changes.encode`), the hours verified and the rollup file that won each of them.
    # A file added, removed or rewritten since is counted for its hours as within a process (`_to_check`), an hour
    # whose rollup file is another now (a rebuild by another process) is counted again.

    def _record_path(self, key) -> Path:
        model, labels = (key[0], True) if isinstance(key, tuple) else (key, False)
        return self.path / VERIFIED / (ro._model_dir(self.path, model).name + (".labels" if labels else "") + ".json")

    def _kept_record(self, model: str, key, start: datetime, end: datetime) -> tuple[tuple | None, list[datetime]]:
        """(content, from, to) of the kept record and the hours of [start, end) inside it whose winning rollup file
        changed since; (None, []) without a readable record."""
        try:
            rec = json.loads(self._record_path(key).read_text(encoding="utf-8"))
            content = rc.decode(rec["content"])
            a, b = datetime.fromisoformat(rec["from"]), datetime.fromisoformat(rec["to"])
            then = {datetime.fromisoformat(h): w for h, w in rec["winners"]}
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None, []
        if rec.get("wanted") != self._wanted(model, key):  # the configuration changed what an hour must hold
            return None, []
        rc.prime(self._versions, content)
        lo, hi = max(a, start), min(b, end)
        now = self._winning(model, lo, hi) if hi > lo else {}
        moved = [h for h in _hours(lo, hi) if now.get(h) != then.get(h)]
        return (content, a, b), moved

    def _wanted(self, model: str, key) -> list[str]:
        """What a record's verification depended on besides the store: the spec the hours were checked for (a
        feature added to the configuration makes every hour thin) and the columns they had to hold."""
        spec = self.spec(model)
        return [repr(spec), *sorted(_holds(spec)), *(["labels"] if isinstance(key, tuple) else [])]

    def _winning(self, model: str, start: datetime, end: datetime) -> dict[datetime, str]:
        """The rollup file that wins each hour of [start, end), as its generation, size and mtime (a file is never
        rewritten under its name by the console, but a copy or a restore may be)."""
        listed = {f.generation: f for f in ro.files(self.path, model)}
        out, stats = {}, {}
        for h, gen in ro._winners(list(listed.values()), start, end).items():
            if gen not in stats:
                try:
                    st = listed[gen].path.stat()
                    stats[gen] = f"{gen}:{st.st_size}:{st.st_mtime_ns}"
                except OSError:
                    stats[gen] = None
            out[h] = stats[gen]
        return out

    def _keep_record(self, model: str, key, content: rc.Content, start: datetime, end: datetime) -> None:
        parts = rc.encode(content)
        if parts is None:
            return
        winners = self._winning(model, start, end)
        rec = {"content": parts, "from": start.isoformat(), "to": end.isoformat(), "wanted": self._wanted(model, key),
               "winners": [[h.isoformat(), w] for h, w in sorted(winners.items())]}
        path = self._record_path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_private(path, json.dumps(rec, separators=(",", ":")))
        except OSError:  # a read-only folder: the next process counts again
            pass
