"""What the store counts without reading rows: kept rows, newest times, models seen, and what it serves.

Counts come from file metadata (segment footers), the facts kept of each in-place Parquet log, and what
is known of each lake object (counted once per version, kept with its footer facts); rows are read only
when those fall short. Kept apart from the Warehouse class: the first look and the rollups ask these.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from console.store.facts import ts_text, ts_value
from console.store.footers import _later
from console.store.manifest import KINDS


class Counting:
    """The Warehouse's counts from what it knows of its files and objects (mixed into it: `self` is the Warehouse)."""

    def models_seen(self) -> list[str]:
        """Every model with a kept prediction: a predictions lake's from what is known of each object. Kept with
        the store's facts under the rows it was read from (`_by_content`): the query scans every file's model
        column (0.1-0.15 s a time at 10M rows)."""
        def read() -> list[str]:
            counted = self._lake_counted()
            if counted is None:
                out = [r[0] for r in self.rows("models_seen")]
            else:
                here = {r[0] for r in self._rows_here("models_seen", {})}
                out = sorted(here | {h[0] for e in counted for h in e["hours"] if h[3] and h[0] is not None})
            if self._lakes_down:
                out = sorted(set(out) | {m for m, _ in self._seen_before()})
            return out
        return list(self._by_content("models-seen", read))

    def _by_content(self, name: str, read):
        """`read()` kept with the store's facts under the rows it was read from (`content_state`), so a new
        process over the same rows (each CLI command asks several times) reads no row for it. The answer must be
        JSON (a list)."""
        state = self.content_state()
        key = hashlib.sha1(json.dumps(state, default=str).encode()).hexdigest() if state is not None else None
        kept = self._facts.remembered(name)
        if key is not None and isinstance(kept, list) and len(kept) == 2 and kept[0] == key:
            return kept[1]
        out = read()
        if key is not None:
            self._facts.remember(name, [key, out])
            self._facts.save()
        return out

    def seen_pairs(self) -> set[tuple[str, str]]:
        """Every (model, environment) with a kept prediction (`overview_seen`): a predictions lake's from what is
        known of each object, as `models_seen` (the query scanned every object of the lake: 8 s at 10M rows in
        S3, on every `snapshot`), and kept as it is (`_by_content`: 0.1 s a read at 10M rows of Parquet)."""
        def read() -> list[list]:
            counted = self._lake_counted()
            if counted is None:
                pairs = {(r[0], r[1]) for r in self.rows("overview_seen")}
            else:
                here = {(r[0], r[1]) for r in self._rows_here("overview_seen", {})}
                pairs = here | {(h[0], h[1]) for e in counted for h in e["hours"] if h[3] and h[0] is not None}
            return sorted(([m, env] for m, env in pairs), key=lambda p: (p[0] is not None, p[0] or "", p[1] or ""))

        pairs = {(m, env) for m, env in self._by_content("overview-seen", read)}
        if self._lakes_down:
            return pairs | self._seen_before()
        if self._lake_kinds and self._lakes_listed:  # every lake read now: what a later process falls back on
            self._facts.remember(self._seen_key(), sorted(([m, env] for m, env in pairs if m is not None),
                                                          key=lambda p: (p[0], p[1] or "")))
            self._facts.save()
        return pairs

    def _seen_key(self) -> str:
        from console.store.place import _sources_fingerprint

        return f"seen-pairs|{_sources_fingerprint(self.cfg)}"

    def _seen_before(self) -> set[tuple[str, str]]:
        """The (model, environment) pairs the store last saw with every lake readable, kept across processes: while
        a lake cannot be read (a Delta log damaged, a server down) its rows are out of every answer, and a console
        started then would list none of its models (the store keeps no count of a table's rows), a screen that
        reads as no traffic. Listed from this, they are marked source down (`unreadable_models`) until it reads
        again, when what the rows say replaces it (a model gone from the logs is then gone from the list)."""
        return {(m, env) for m, env in self._facts.remembered(self._seen_key()) or []}

    def hour_counts(self, params: dict) -> dict[datetime, int]:
        """Kept rows of one model per hour in (since, until] (`model_hour_counts`): a predictions lake's from what
        is known of each object, when the range is of whole hours (the rollups' catch-up asks for no other)."""
        counted = self._lake_counted()
        since, until = params["since"], params["until"]
        whole = all(t + timedelta(microseconds=1) == (t + timedelta(microseconds=1)).replace(minute=0, second=0,
                    microsecond=0) for t in (since, until))
        if counted is None or not whole:
            return dict(self.rows("model_hour_counts", params))
        out = dict(self._rows_here("model_hour_counts", params))
        lo, hi = since + timedelta(microseconds=1), until + timedelta(microseconds=1)
        env = params.get("environment")
        for e in counted:
            for model, environment, hour, kept, _ in e["hours"]:
                if model != params["model"] or hour is None or not kept or (env is not None and environment != env):
                    continue
                h = ts_value(hour)
                if lo <= h < hi:
                    out[h] = out.get(h, 0) + kept
        return out

    def model_rows_upto(self, params: dict) -> int:
        """`model_rows_upto`: a model's rows in (since, until], counted up to $cap; a predictions lake's whole hours
        inside the range from what is known of each object, and the rows read only when those fall short."""
        counted = self._lake_counted()
        if counted:
            since, until, env, hour = params["since"], params["until"], params.get("environment"), timedelta(hours=1)
            inside = 0
            for e in counted:
                for model, environment, h, kept, _ in e["hours"]:
                    if model == params["model"] and h is not None and (env is None or environment == env):
                        t = ts_value(h)
                        inside += kept if since < t and t + hour - timedelta(microseconds=1) <= until else 0
            if inside >= params["cap"]:
                return params["cap"]
        row = self.one("model_rows_upto", params, within=[(params["since"], params["until"])])
        return int(row[0]) if row else 0

    def _lake_counted(self) -> list[dict] | None:
        """The objects of the predictions lakes in S3, each counted (`lake_object_facts`) once per version and
        kept with its footer facts across processes. None (counts are then read from the rows) when a predictions
        lake is a table (Delta, Iceberg), or an object holds a row dated past the horizon (refused now, it may be
        kept later)."""
        if "predictions" not in self._lake_kinds.values():
            return []
        objects = self.lake_objects("predictions")
        if objects is None:
            return None
        horizon = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=self.future_s)
        out, counted = [], False
        down = any(self._lake_kinds.get(n) == "predictions" for n in self._lakes_down)
        for identity, e in objects:
            if "hours" not in e and down:
                continue  # not counted yet and not readable now: counted once its lake answers again
            if "hours" not in e:
                rows = self.rows("lake_object_facts", {"source": identity[1]})
                e["hours"] = [[m, env, ts_text(h), int(kept), int(refused)] for m, env, h, kept, refused, _, _ in rows]
                e["newest_kept"] = ts_text(max((r[5] for r in rows if r[5] is not None), default=None))
                e["newest"] = ts_text(max((r[6] for r in rows if r[6] is not None), default=None))
                counted = True
            out.append(e)
        if counted:
            self._facts.dirty = True  # the entries live in the kept footers (`_open_lakes`)
            self._facts.save()
        if any(e["newest"] and ts_value(e["newest"]) > horizon for e in out):
            return None
        return out

    def content_files(self, kind: str = "predictions") -> tuple[list[str], list[str], bool]:
        """What the views read a kind's rows from: its segments (never changed under their names), its Parquet
        logs read in place (known by inode, size and mtime), and whether a lake table adds rows too. A reader
        keys what it derived from the rows on these (the rollups' catch-up re-checks only the hours whose
        files changed), not on the refresh count, which moves even when a refresh brought nothing."""
        segments, inplace = self._view_files.get(kind, ([], []))
        return segments, inplace, any(k == kind for k in self._lake_kinds.values())

    def lake_objects(self, kind: str = "predictions") -> list[tuple[tuple, dict]] | None:
        """The objects the lakes of a kind are read from, each as (identity, footer facts): what `content_files`
        gives of files, for objects in S3 (URL, ETag, size, mtime). None when a lake of that kind is a table
        (Delta, Iceberg) whose files this does not track. A lake whose objects cannot be read now adds a part of
        its own, covering every hour (no span known): what was derived from the rows while it was left out is
        checked again once it is back (the rollups' catch-up compares each hour's counts then)."""
        names = [n for n, k in self._lake_kinds.items() if k == kind]
        if any(n not in self._lake_objects for n in names):
            return None
        return [((kind, url, *e["version"]), e) for n in names for url, e in self._lake_objects[n].items()] + \
            [(("down", kind, n), {}) for n in names if n in self._lakes_down]

    def lake_files(self, kind: str = "predictions") -> list[tuple[tuple, tuple]] | None:
        """When every lake of a kind is a Delta or Iceberg table: each of their data files as (identity, time
        range), the identity (kind, table#file, mark, 0, 0) with the format's mark (`lakes.FILE_MARKS`: a data file
        of either never changes under its name), the range its statistics give (`lakes.delta_file_spans`,
        `iceberg_file_spans`; every hour without them, and for labels, whose file says nothing of the hours of
        the predictions they join); a table that cannot be read now adds a part of its own covering every hour,
        as in `lake_objects`. None when another kind of lake is among them (S3 objects)."""
        names = [n for n, k in self._lake_kinds.items() if k == kind]
        if any(n not in self._lake_files for n in names):
            return None
        from console.sources.lakes import FILE_MARKS

        every = (None, None)
        return [((kind, f"{self._lake_paths.get(n, n)}#{f}", FILE_MARKS[self._lake_formats[n]], 0, 0),
                 span if kind == "predictions" else every) for n in names for f, span in self._lake_files[n].items()] \
            + [(("down", kind, n), every) for n in names if n in self._lakes_down]

    def content_state(self) -> list | None:
        """Every row this store serves, named: each kind's segments (never changed under their names) and each
        Parquet log read in place (inode, size, modification time). An answer derived from the rows can be kept
        under it (`answer_memo`). S3 Parquet objects of a predictions lake count by URL, ETag, size and mtime
        (`lake_objects`, as this process's last refresh listed them). None when the rows are not fixed by it: a
        temporary store, a lake not listed (a source down, or no refresh yet), a lake table (its files are not
        tracked here) or a lake of another kind, or an in-place log or object not
        checked yet or holding rows dated past the clock-skew horizon (the wall clock decides which of those are
        kept)."""
        if not self.persistent or set(self._lake_kinds.values()) - {"predictions"}:
            return None
        out: list = [sorted([k, sorted(v)] for k, v in self.manifest.segments.items())]
        if self._lake_kinds:
            # listed now (a source down keeps what was listed before: new objects may be missed), no table, no
            # object with a row past the horizon
            if not self._lakes_listed or self._lake_counted() is None:
                return None
            out.append(sorted(list(identity) for identity, _ in self.lake_objects("predictions")))
        for kind in KINDS:
            for path in self._view_files.get(kind, ([], []))[1]:
                known = self._known_facts(kind, path)
                if known is None or (ts_value(known.get("newest")) or datetime.min) \
                        > (ts_value(known.get("horizon")) or datetime.min):
                    return None
                out.append([kind, path, known["version"]])
        return out

    def _one(self, sql: str) -> tuple:
        """The one row of a query over the views (a lake's among them)."""
        with self.cursor() as cur:
            return cur.execute(sql).fetchone()

    def oldest(self, kind: str = "predictions") -> datetime | None:
        """A bound on the oldest kept row's time, from the ts spans of the store's segments and the Parquet logs
        read in place (their footers, kept across processes): no row is read. None when a file's span is unknown
        (a ts of text, no statistics) or a lake holds rows of `kind`: then no bound is claimed."""
        if any(k == kind for k in self._lake_kinds.values()):
            return None
        spans = [self.file_span(str(self.dir / n))[0] for n in self.manifest.segments.get(kind, [])]
        for path in self._parquet_files()[0].get(kind, []):
            lo = self.file_span(path)[0]
            if lo is None:  # a log's ts of text: its conform check's (no kept row: it bounds nothing)
                lo = ts_value(self._file_facts(kind, path, want="oldest_kept").get("oldest_kept")) or "empty"
            spans.append(lo)
        if None in spans:
            return None
        return min((_later(None, lo) for lo in spans if lo != "empty"), default=None)

    def newest(self, kind: str = "predictions", check: bool = True) -> datetime | None:
        """The newest kept row's time, from what the store already knows of each file (segment statistics
        and the in-place facts), not a scan of every row: `--at latest` costs milliseconds at any size.
        `check=False` scans no file: one not checked yet counts with the newest time its footer gives."""
        return self._newest(kind, self._parquet_files()[0].get(kind, []), check)

    def _newest(self, kind: str, files: list[str], check: bool = True) -> datetime | None:
        best: datetime | None = None
        for name in self.manifest.segments.get(kind, []):
            best = _later(best, self._segment_newest(name))
        for p in files:
            facts = self._file_facts(kind, p) if check else self._known_facts(kind, p)
            best = _later(best, ts_value(facts.get("newest_kept")) if facts is not None else self._footer_newest(p))
        if check:
            self._facts.save()  # the files checked now (`_file_facts` saves at most every 2 s)
        if any(k == kind for k in self._lake_kinds.values()):
            counted = self._lake_counted() if kind == "predictions" else None
            if counted is not None:
                for e in counted:
                    best = _later(best, ts_value(e["newest_kept"]))
                return best
            row = self._read(lambda: self._one(f"SELECT max(ts) FROM lake_{kind} WHERE _reject IS NULL"))  # noqa: S608
            best = _later(best, row[0] if row else None)
        return best

    def counts(self, check: bool = True) -> tuple[int, int, int, int, datetime | None]:
        """(predictions, labels, deployments, malformed, newest prediction), as the `counts` query gives them,
        from file metadata and the in-place facts: no row is read unless a lake is configured. `check=False`
        scans no Parquet log: the rows of one not checked yet all count as kept until it is."""
        out = {k: sum(self._segment_rows(n) for n in self.manifest.segments.get(k, [])) for k in KINDS}
        parquet = self._parquet_files()[0]
        for kind, files in parquet.items():
            for p in files:
                bad = self._rejects(kind, p) if check else (self._known_rejects(kind, p) or 0)
                out[kind] += int(self._parquet_check(p)) - bad
                out["malformed"] += bad
        counted = self._lake_counted() if self._lake_kinds else None
        if counted is not None:
            out["predictions"] += sum(h[3] for e in counted for h in e["hours"])
            out["malformed"] += sum(h[4] for e in counted for h in e["hours"])
        if self._lake_kinds:  # a lake that cannot be read (a data file its log names, gone) is set aside (`_read`)
            for kind in set(self._lake_kinds.values()) - ({"predictions"} if counted is not None else set()):
                kept, bad = self._read(lambda: self._one(  # noqa: B023 - run at once
                    f"SELECT count(*) FILTER (WHERE _reject IS NULL), "  # noqa: S608
                    f"count(*) FILTER (WHERE _reject IS NOT NULL) FROM lake_{kind}"))
                out[kind] += kept
                out["malformed"] += bad
        return (out["predictions"], out["labels"], out["deployments"], out["malformed"],
                self._newest("predictions", parquet.get("predictions", []), check))
