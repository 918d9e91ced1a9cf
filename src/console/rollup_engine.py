"""Catching rollups up from log sources, with the local engine (pyarrow + DataSketches in this
process) or Spark (`console.spark.rollup_job`); both return the same tables to `store_rollups`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pyarrow as pa

from console import rollup_changes as rc
from console import rollup_sources as src
from console import rollup_spec
from console import store_rollups as ro
from console import rollup_summarise as rs

LABEL_LOOKBACK = timedelta(days=30)  # labels land at most this long after their prediction


def local_builder(preds: Sequence, labels: pa.Table | Sequence | None, specs: Mapping[str, ro.ModelSpec],
                  models: Iterable[str] = (), horizon: datetime | None = None) -> ro.Builder:
    """Builds [start, end) by streaming record batches of the sources through `build_rollups`. `labels` is a
    table, or label sources read per chunk (`chunk_labels`), so a build holds one chunk's labels at a time."""
    def build(start: datetime, end: datetime) -> dict[str, pa.Table]:
        tables = rs.build_rollups(src.scan(preds, start, end), chunk_labels(preds, labels, start, end, horizon),
                                  specs)
        for m in set(models) | set(specs):  # an hour with no rows still supersedes what was there
            tables.setdefault(m, ro.empty_table(specs.get(m) or ro.ModelSpec()))
        return tables

    return build


def chunk_labels(preds: Sequence, labels: pa.Table | Sequence | None, start: datetime,
                 end: datetime, horizon: datetime | None = None) -> pa.Table | pl.DataFrame | None:
    """The labels a chunk [start, end) joins: every label of its request ids, whenever logged, as the raw path joins
    them (`queries/model_labels.sql`). A label's `ts` may be hours before its prediction's (a label writer's clock
    behind the server's, a batch stamping its own time): the window from an hour before the chunk, here and in the
    Spark job, counted such a label only when its prediction was not near the chunk's start, so a day's chunk and a
    Spark week's counted different labels of one hour. From label sources, only the chunk's request ids are kept
    (read a batch at a time), so memory follows the chunk, not the history; the label log is read whole per chunk.
    None dated past `horizon` (the store's clock-skew horizon: it sets them aside)."""
    if labels is None:
        return None
    if isinstance(labels, pa.Table):
        if "ts" not in labels.column_names:
            return labels
        ts = pl.col("ts")
        return pl.from_arrow(labels).filter(ts.is_not_null() if horizon is None else ts <= horizon)
    ids = [t.column("request_id") for t in src.scan(preds, start, end, columns=["request_id", "ts", "model"])
           if "request_id" in t.column_names]
    if not ids:
        return None
    wanted = pa.chunked_array([c.cast(pa.string()) for c in ids]).unique()
    return src.read_labels(labels, None, _past(horizon), wanted)


def _past(horizon: datetime | None) -> datetime | None:
    """The first instant past the clock-skew horizon: the end of the labels the store keeps."""
    return None if horizon is None else horizon + timedelta(microseconds=1)


def late_label_hours(preds: Sequence, labels: pa.Table | Sequence | None, lookback: timedelta = LABEL_LOOKBACK,
                     horizon: datetime | None = None) -> Callable[[datetime, datetime], list[datetime]]:
    """Prediction hours before `before` whose requests got a label logged after `after` (labels: a table, or
    label sources, of which only those logged after `after` are read)."""
    def hours(after: datetime, before: datetime) -> list[datetime]:
        if labels is None:
            return []
        if isinstance(labels, pa.Table):
            if "ts" not in labels.column_names:
                return []
            new = pl.from_arrow(labels).filter(pl.col("ts") > after)
            new = new if horizon is None else new.filter(pl.col("ts") <= horizon)
        else:
            got = src.read_labels(labels, after + timedelta(microseconds=1), _past(horizon))
            if got is None or "ts" not in got.column_names:
                return []
            new = pl.from_arrow(got)
        if not new.height:
            return []
        ids = new.get_column("request_id").unique()
        since = new.get_column("ts").min() - lookback
        found: set[datetime] = set()
        for t in src.scan(preds, since, before, columns=["request_id", "ts", "model"]):
            df = pl.from_arrow(t).filter(pl.col("request_id").is_in(ids.implode()))
            found.update(df.get_column("ts").dt.truncate("1h").unique().to_list())
        return sorted(found)

    return hours


def catch_up(prediction_paths: Sequence, label_paths: Sequence, path, now: datetime,
             models: Mapping[str, Any] | None = None, since: datetime | None = None, until: datetime | None = None,
             engine: str = "local", master: str = "local[2]", chunk: timedelta | None = None,
             progress: Callable[[str], None] | None = None, storage: Mapping[str, Any] | None = None,
             compact: bool = True, horizon: datetime | None = None) -> ro.CatchUp:
    """Builds what closed since the last build. The sources are config `LogSource`s (any location and
    format `rollup_sources` reads), `rollup_sources.Source`s or plain local paths; `storage` is the
    `[storage.s3]` table for `s3://` ones. Closed days are compacted afterwards (`compact`). Rows dated past
    `horizon` (the store's clock-skew horizon) do not move the build's end: one row dated 2999 built an empty
    day file for every day from the log's last to today."""
    from console import rollup_text

    rollup_text.forget()  # each bad row counted once over the build's scans
    with rollup_text.parsed_once():  # and each text file parsed once, its typed pieces read back by later scans
        out = _catch_up(prediction_paths, label_paths, path, now, models, since, until, engine, master, chunk,
                        progress, storage, compact, horizon)
    out.set_aside = rollup_text.set_aside()  # every text file was read whole by the build's scans
    return out


def _catch_up(prediction_paths: Sequence, label_paths: Sequence, path, now: datetime, models, since, until,
              engine: str, master: str, chunk, progress, storage, compact: bool, horizon) -> ro.CatchUp:
    state = ro.load_state(path)
    # each text log's files as the store's tailer knows them, found from those the last build read (`_resolved`)
    preds = _resolved(src.sources(prediction_paths, dict(storage) if storage else None), _kept(state))
    opened = src.open_all(preds)
    if not opened:
        raise ValueError("no prediction files match the configured log paths")
    label_sources = _resolved(src.sources(label_paths, dict(storage) if storage else None),
                              _kept(state, ro.LABEL_SOURCES)) if label_paths else []
    schema = src.unified_schema([d.schema for d in opened])
    specs = rollup_spec.specs(models, schema)  # the console's rule: its reference's kinds, else the log's types
    # the build runs from the oldest row (first build) or where the last stopped, to the newest row's hour: an old
    # log's empty weeks up to today were built range by range (20 of 27 Spark ranges held no row, ~40 s each)
    asked_until = until
    start = since if since is not None else datetime.fromisoformat(state["built_until"]) \
        if state.get("built_until") else None
    lo, hi, hours = _row_span(opened, start, horizon)
    if start is None:
        since = ro.floor_hour(lo) if lo else ro.floor_hour(now)
    stop = ro.floor_hour(hi) + ro.HOUR if hi is not None else ro.floor_hour(start or since)
    until = stop if until is None else min(until, stop)
    if chunk is None:  # a Spark job costs seconds to schedule: give it a week at a time
        chunk = timedelta(days=7) if engine == "spark" else timedelta(days=1)
    if engine == "spark":
        from console.spark import rollup_job

        # the job takes one table of labels (shipped to the cluster): read whole, as before
        build = rollup_job.builder(preds, src.read_labels(label_sources, None, _past(horizon)) if label_sources
                                   else None, specs,
                                   master=master, on_start=(lambda: progress(
                                       f"Spark on {master}: the JVM's output is in {rollup_job.jvm_log()}"))
                                   if progress else None)
    else:
        build = local_builder(preds, label_sources or None, specs, models or (), horizon)
    # (a label dated 2999 was the newest seen: later labels of a file rewritten in place rebuilt nothing after it)
    latest = src.newest_label(label_sources, _past(horizon)) if label_sources else None
    kept, content = _sources_read(preds, state)
    labels_kept, labels_now = _sources_read(label_sources, state, ro.LABEL_SOURCES)
    late = _back_dated(late_label_hours(preds, label_sources or None, horizon=horizon), labels_kept, labels_now)
    gone = rc.gone(rc.decode_spans(state.get(ro.GONE)), kept, content)
    out = ro.catch_up(path, build, now=now, since=since, until=until, chunk=chunk,
                      late_label_hours=late, labels_seen=lambda: latest,
                      progress=progress, source_hours=lambda a, b: rc.changed_hours(kept, content, a, b),
                      sources=rc.encode(content), label_sources=rc.encode(labels_now) if label_sources else None,
                      next_rows=_next_rows(hours), keep={ro.GONE: rc.encode_spans(gone)})
    out.gone_hours = _gone_hours(out, gone)
    if compact:
        out.files += ro.compact_days(path, progress=progress)
    out.left_from = ro.floor_hour(min(now, until))  # the end `store_rollups.catch_up` built to
    out.left = rows_left(opened, out.left_from, now, horizon, asked_until)
    return out


def _gone_hours(out: ro.CatchUp, gone: list[tuple] | None) -> list[datetime]:
    """The hours this run built (new, or again for late labels or changed sources) from the files there are that a
    deleted text log file held rows of (`rollup_changes.gone`): they lack that file's rows, which the store keeps."""
    if gone == []:
        return []
    found: set[datetime] = set()
    for a, b in [*out.built, *ro.hour_ranges([*out.source_hours, *out.rebuilt_hours])]:
        found.update(rc.hours(gone, a, b))
    return sorted(found)


def _back_dated(late: Callable[[datetime, datetime], list[datetime]], before: rc.Content | None,
                after: rc.Content) -> Callable[[datetime, datetime], list[datetime]]:
    """`late` reading labels from the earliest time held by the rows appended to a label log, or by a label file
    added, since the last build: a correction logged with a time before the newest label already seen (a
    back-dated fix, a relabelling job stamping the original times) was never read, as only labels logged after
    that newest one were. A label file rewritten in place is still read from the newest label seen: reading it
    whole would rebuild every labelled hour it covers on each run of a cron over a re-exported file."""
    if before is None:
        return late
    names = {key[:2] for key in before.parts}
    added = [span for key, span in after.parts.items() if key[:2] not in names and key not in after.grown]
    starts = [lo for lo, _ in [*added, *(before.appended(after) or ())] if isinstance(lo, datetime)]
    if not starts:
        return late
    back = min(starts) - timedelta(microseconds=1)
    return lambda after, until: late(min(after, back), until)


def _sources_read(preds: Sequence, state: Mapping[str, Any],
                  key: str = ro.SOURCES) -> tuple[rc.Content | None, rc.Content]:
    """What the last build read (its record in the state, None without one: a folder built before the record
    was kept, or from a source that could not be named) and what the sources hold now, before building: a file
    changed during the build is seen changed by the next run (built again rather than missed). The spans of the
    files the record names are not read again (`rollup_changes.prime`)."""
    versions = rc.Versions()
    kept = _kept(state, key)
    if kept is not None:
        rc.prime(versions, kept)
    return kept, versions.sources(preds, kept)


def _kept(state: Mapping[str, Any], key: str = ro.SOURCES) -> rc.Content | None:
    """The last build's record of the files it read (None without a readable one)."""
    try:
        return rc.decode(state[key]) if state.get(key) else None
    except (TypeError, ValueError, IndexError):
        return None


def _resolved(sources: Sequence[src.Source], kept: rc.Content | None) -> list[src.Source]:
    """Each local text log with its JSONL and CSV files resolved once for the whole build, by identity from the
    files `kept` read (`rollup_sources.text_files`): a file renamed by a rotation is read on under its new name,
    in the format it was read as, and kept as the same file (its built hours not rebuilt)."""
    return [s if s.is_lake or "://" in s.path else dataclasses.replace(
        s, files=tuple(src.text_files(s.path, s.format, rc.known(kept, s.path)))) for s in sources]


LEFT_REASONS = {  # why rows at or after the build's end were left, as the summary says it
    "open_hour": "in the open hour (built once it closes)",
    "until": "at or after --until",
    "clock_skew": "dated past the clock-skew horizon ([ingest] future_tolerance; set aside as the store does)",
}


def rows_left(preds: Sequence, end: datetime, now: datetime, horizon: datetime | None,
              until: datetime | None) -> dict[str, int]:
    """The rows at or after `end` (the build's end) by why they were left (`LEFT_REASONS`), the ts column read
    alone: past `horizon` is clock skew; else, when `--until` ended the build before the open hour, --until's;
    else the open hour. Said by `rollup`, so that rows it did not build are counted, not silently missing."""
    import pyarrow.compute as pc

    out = dict.fromkeys(LEFT_REASONS, 0)
    until_hour = ro.floor_hour(until) if until is not None else None
    by_until = until_hour is not None and until_hour < ro.floor_hour(now)
    for d in preds:
        if "ts" not in d.schema.names:
            continue
        for t in src.scan([d], end, None, columns=["ts", "model"]):  # (the scan conforms by model)
            ts = t.column("ts")
            skew = int(pc.sum(pc.greater(ts, pa.scalar(horizon, ts.type))).as_py() or 0) if horizon else 0
            out["clock_skew"] += skew
            out["until" if by_until else "open_hour"] += t.num_rows - skew
    return {k: v for k, v in out.items() if v}


def _row_span(preds: Sequence, start: datetime | None,
              horizon: datetime | None = None) -> tuple[datetime | None, datetime | None, list[datetime]]:
    """The oldest and newest timestamps at or after `start` (all rows when None) and not past `horizon`, and the
    hours holding them (sorted), the ts column read alone."""
    import pyarrow.compute as pc

    lo = hi = None
    hours: set[datetime] = set()
    for d in preds:
        if "ts" not in d.schema.names:
            continue
        for t in src.scan([d], start, horizon and horizon + timedelta(microseconds=1), columns=["ts", "model"]):
            a, b = (x.as_py() for x in pc.min_max(t.column("ts")).values())
            lo = a if lo is None or (a is not None and a < lo) else lo
            hi = b if hi is None or (b is not None and b > hi) else hi
            hours.update(h for h in pc.unique(pc.floor_temporal(t.column("ts"), unit="hour")).to_pylist()
                         if h is not None)
    return lo, hi, sorted(hours)


def _next_rows(hours: list[datetime]):
    """`store_rollups.catch_up`'s `next_rows`: the first hour at or after t holding rows (None: none). One row dated
    1970 (a device whose clock reset, `"ts": 0`) made a first build write an empty file a day from 1970 on: 20,000
    days, most of an hour, where the empty stretch before the log's rows is one range."""
    import bisect

    def first(t: datetime) -> datetime | None:
        i = bisect.bisect_left(hours, t)
        return hours[i] if i < len(hours) else None

    return first
