"""Lakes: object storage and lakehouse sources read in place, as Arrow datasets each cursor registers.

A lake that cannot be reached (a server down, a key refused) is set aside until the next refresh, named in
one line, and the queries answer from the rest. Kept apart from the Warehouse class: opening lakes and
setting them aside is its own concern; what is counted of their objects is `store/counting.py`'s.
"""

from __future__ import annotations

import re

import duckdb

from console.store import mapped_parquet
from console.store.place import is_lake_dataset


# Arrow evaluates a pushed filter on a file's own column types, before casting them to the dataset's: a Delta table
# whose rows delta-rs rewrote (an update, a merge) has files with string_view columns beside files with string ones,
# and `model = 'x'` has no kernel for one of them ("no kernel matching input types (string, string_view)")
_UNFILTERABLE = re.compile(r"no kernel matching input types \((?:large_)?string(?:_view)?, (?:large_)?string(?:_view)?\)")


def table_key(fmt: str, path: str) -> str:
    """How a Delta or Iceberg table stands among the Parquet files a field note names (`inplace._field_notes`)."""
    return f"the {fmt.capitalize()} table {path}"


TABLE_KEYS = tuple(table_key(fmt, "") for fmt in ("delta", "iceberg"))  # what `table_key` starts with


class Lakes:
    """The Warehouse's lakes: opened, read, and set aside when they fail (mixed into it: `self` is the Warehouse)."""

    def _read(self, run):
        """`run()`, the query of a reader; when it fails because a lake's objects cannot be read (the server went
        away after the listing, or a listing kept from before names objects no longer reachable), that lake is
        set aside until the next refresh (`source_notes` says why, in one line naming its path) and the query
        answers from the rest: the other sources, and what the store knows of the lake's objects."""
        for _ in range(len(self._lakes)):
            try:
                return run()
            except duckdb.Error as exc:
                if not self._lake_failed(exc):
                    raise
        return run()

    def _lake_failed(self, exc: Exception) -> bool:
        """Whether `exc` is a read of a lake's objects that failed; that lake is then set aside (see `_read`), or,
        when only Arrow's filter failed on it (`_UNFILTERABLE`), read from then on without filters pushed to Arrow."""
        found = re.search(r"registered as '(lake_\d+)'", str(exc))
        name = found.group(1) if found else None
        if name is None or name not in self._lakes:
            return False
        if _UNFILTERABLE.search(str(exc)) and name not in self._unfiltered:
            self._unfiltered.add(name)
            return True
        with self._down_lock:  # another worker's query may have found it first: its views are rebuilt by then
            if name not in self._lakes_down:
                self._lake_down(name, exc)
        return True

    def _lake_down(self, name: str, exc: Exception) -> None:
        """`name` set aside; with it every other lake on an endpoint found unreachable since the last refresh began
        (its round, `endpoints`): the query asked again would otherwise wait on the same hung server once per lake."""
        from console.sources import endpoints, locations

        with endpoints.one_round(self._round):
            down = {name: str(locations.storage_error(self._lake_paths.get(name, name), exc, self._storage()))}
        for other in self._lakes:
            url = self._lake_endpoint(other) if other not in self._lakes_down and other != name else None
            reason = self._round.reason(url) if url else None
            if reason is not None:
                down[other] = f"{self._lake_paths.get(other, other)}: {reason}"
        for lake, why in down.items():
            self._lakes_down[lake] = f"{why}; its rows are left out (counts of the objects read before still " \
                                     "shown), tried again at the next refresh"
        self._lakes_listed = False  # what the store serves is not fixed by the listing now (`content_state`)
        self._build_views(self.manifest, self._parquet_files()[0], check=False, lazy=True)
        if self.on_source_down is not None:
            for lake in down:
                self.on_source_down(self._lakes_down[lake])

    def _scannable(self, name: str, dataset):
        """What a cursor registers for a lake: its dataset (DuckDB pushes its filters into Arrow's scan, pruning files
        and row groups), or for a lake whose filters Arrow cannot evaluate, a scanner of it, which DuckDB reads whole
        and filters itself (slower, but every row is read)."""
        if name not in self._unfiltered:
            return dataset
        import pyarrow.dataset as ds

        return ds.Scanner.from_dataset(dataset)

    def _lake_endpoint(self, name: str) -> str | None:
        """The S3 endpoint a lake's dataset reads its objects from; None for local files or rows held in memory."""
        fs = getattr(self._lakes.get(name), "filesystem", None)
        if type(getattr(fs, "base_fs", fs)).__name__ != "S3FileSystem":
            return None
        from console.sources import s3

        return s3.endpoint_url(s3.settings(self._storage()))

    def _lake_columns(self) -> dict[str, dict[str, dict[str, str]]]:
        """kind -> object URL -> field -> what it holds (`inplace.arrow_kind`), for the S3 Parquet objects listed,
        from the footers kept of them (no request), and for each Delta or Iceberg table opened, from its schema
        (`table_key` -> its fields: a field its schema gained, merged by a writer, is new as one a later Parquet
        file brings is); what `_field_notes` says of files on disk, it says of these."""
        from console.sources import footers
        from console.sources.field_names import as_contract
        from console.store.inplace import arrow_kind
        from console.store.views import arrow_members, as_features

        out: dict[str, dict[str, dict[str, str]]] = {}
        for name, fmt in self._lake_formats.items():
            if fmt not in ("delta", "iceberg") or name not in self._lakes or name in self._lakes_down:
                continue
            schema = self._lake_schema(name)
            fields = as_features({f.name: f.type for f in schema if f.name not in ("source", "loc")},
                                 [(f.name, f.type) for f in arrow_members(schema)])
            out.setdefault(self._lake_kinds[name], {})[table_key(fmt, self._lake_paths[name])] = {
                n: arrow_kind(t) for n, t in fields.items()}
        for name, objects in self._lake_objects.items():
            kept = self._facts.remembered(self._footers_key(name)) or {}
            schemas, parsed = kept.get("schemas") or {}, {}
            for url in sorted(objects):
                digest = objects[url].get("schema")
                if digest not in schemas:
                    continue
                if digest not in parsed:  # a features struct's fields are features, as its view reads them
                    (schema,) = footers.schemas(kept, [objects[url]])
                    schema = as_contract(schema.empty_table(), self._lake_fields.get(name, ())).schema
                    fields = as_features({f.name: f.type for f in schema},
                                         [(f.name, f.type) for f in arrow_members(schema)])
                    parsed[digest] = {n: arrow_kind(t) for n, t in fields.items()}
                out.setdefault(self._lake_kinds[name], {})[url] = parsed[digest]
        return out

    def _footers_key(self, name: str) -> str:
        """Where an S3 Parquet lake's object footers are kept: their spans are read from its own ts column, so a
        log mapping ts elsewhere keeps its own."""
        column = mapped_parquet.ts_column(self._lake_fields.get(name, ()))
        return f"lake-footers|{self._lake_paths.get(name)}" + ("" if column == "ts" else f"|{column}")

    def _lake_schema(self, name: str):
        """A lake's schema as the views read it: under the contract's names where the table maps its own."""
        schema, fields = self._lakes[name].schema, self._lake_fields.get(name, ())
        if not fields:
            return schema
        from console.sources.field_names import as_contract

        return as_contract(schema.empty_table(), fields).schema

    def _mapped_lake_sources(self) -> dict[str, tuple]:
        """The `source` of each row of a lake read under its own names (an S3 object's URL, a Delta or Iceberg data
        file, an Iceberg table read into memory: its configured path) -> its mapping: what a set-aside reason is explained by."""
        from console.sources import lakes

        out: dict[str, tuple] = {}
        for name, fields in self._lake_fields.items():
            if not fields:
                continue
            out.update(dict.fromkeys(self._lake_objects.get(name, ()), fields))
            fmt, path = self._lake_formats.get(name), self._lake_paths.get(name)
            for key in self._lake_files.get(name, ()):
                out[lakes.delta_file(path, key) if fmt == "delta" else key.split("#deletes=")[0]] = fields
            if fmt == "iceberg":  # read into memory (deletes, several schemas): its rows name the table
                out[path] = fields
        return out

    def source_notes(self) -> list[str]:
        """One line per lake whose objects cannot be read now (a server down, a key refused), naming its path, and
        per JSONL or CSV source in object storage that could not be listed."""
        return list(self._lakes_down.values()) + list(self._objects_down.values())

    def unreadable_models(self) -> dict[str, str] | None:
        """model -> why its rows cannot all be read now, for the models the store knows to have rows in a lake
        that cannot be read (from what it counted of the lake's objects); None when such a lake holds objects
        not counted yet (any model may be there), {} when every lake answers."""
        out: dict[str, str] = {}
        for name, note in self._lakes_down.items():
            known = self._lake_objects.get(name)
            if not known or any("hours" not in e for e in known.values()):
                return None
            for e in known.values():
                for model, *_ in e["hours"]:
                    if model is not None:
                        out.setdefault(model, note)
        for path, note in self._objects_down.items():  # the models the store read from it before
            prefix = re.split(r"[*?\[{]", path, maxsplit=1)[0]
            try:
                found = self._rows_here("models_of_source", {"prefix": prefix})
            except duckdb.Error:
                return None
            for (model,) in found:
                out.setdefault(model, note)
            if not found:  # nothing read from it yet: any model may be there
                return None
        return out

    def _storage(self) -> dict:
        s3 = getattr(self.cfg, "s3", None)
        return {k: v for k, v in vars(s3).items() if v is not None} if s3 is not None else {}

    def _open_lakes(self, listed: bool = True) -> list[str]:
        """An Arrow dataset per object-storage or lakehouse source; one that cannot be reached is named in a
        note, and the others (and every local log) are still read; the next refresh tries again. Until then a
        source this process has listed before keeps that listing: what is known of its objects still counts, and
        windows read from the rollups are still served."""
        from console.sources import footers, lakes, locations

        notes: list[str] = []
        failed = False
        self._lakes_missing: list[str] = []  # S3 Parquet prefixes that list no object (as `missing`, the local logs')
        down: dict[str, str] = {}  # a refresh tries every lake again; a first look keeps what it knew
        datasets: dict[str, object] = {}
        kinds: dict[str, str] = {}
        objects: dict[str, dict[str, dict]] = {}
        files: dict[str, dict[str, tuple]] = {}  # a Delta or Iceberg table's data files and their spans (`lake_files`)
        storage = {k: v for k, v in vars(getattr(self.cfg, "s3", None) or object()).items() if v is not None} \
            if getattr(self.cfg, "s3", None) is not None else {}
        for i, src in enumerate(s for s in self.cfg.logs if is_lake_dataset(s)):
            name = f"lake_{i}"
            self._lake_paths[name] = src.path
            self._lake_formats[name] = src.format
            self._lake_fields[name] = tuple(getattr(src, "fields", ()))  # a table under its own names
            ts = mapped_parquet.time_column(self._lake_fields[name])
            try:
                own_ts = mapped_parquet.ts_column(self._lake_fields[name])  # what an object's span is read by
                if not listed:  # `listed=False`: only S3 Parquet objects already known, as the store kept them
                    key = self._footers_key(name)
                    kept = self._facts.remembered(key) or {}
                    if src.format not in (None, "parquet") or not kept.get("objects"):
                        continue
                    known = {"objects": dict(kept["objects"]), "schemas": dict(kept.get("schemas") or {})}
                    infos = [locations.FileInfo(url, e["version"][1], e["version"][2], e["version"][0])
                             for url, e in sorted(known["objects"].items())]
                    datasets[name] = locations.arrow_dataset(infos, storage, unify_schemas=True,
                                                             source_column="source", known=known, ts_column=own_ts)
                    objects[name] = known["objects"]
                elif src.format == "delta":
                    files[name] = {}
                    datasets[name] = lakes.delta_dataset(src.path, storage, spans=files[name], time_column=ts,
                                                         source_column="source")
                    if name not in self._unfiltered:
                        key = f"lake-strings|{src.path}"  # each data file's string kinds, kept across processes
                        known = dict(self._facts.remembered(key) or {})
                        if lakes.mixed_strings(datasets[name], known):
                            self._unfiltered.add(name)
                        self._facts.remember(key, known)
                elif src.format == "iceberg":
                    files[name] = {}
                    datasets[name] = lakes.iceberg_dataset(src.path, dict(getattr(src, "options", None) or {}),
                                                           storage, spans=files[name], time_column=ts,
                                                           source_column="source")
                elif src.format in (None, "parquet"):
                    # footers kept by object identity across processes (`footers`): a refresh lists, and reads
                    # only the footers of objects it has not seen
                    key = self._footers_key(name)
                    kept = self._facts.remembered(key) or {}
                    known = {"objects": dict(kept.get("objects") or {}), "schemas": dict(kept.get("schemas") or {})}
                    datasets[name] = locations.arrow_dataset(src.path, storage, unify_schemas=True,
                                                             source_column="source", known=known, ts_column=own_ts)
                    self._facts.remember(key, known)
                    # an object read before and no longer listed (the listing is the whole prefix): its rows leave
                    # the counts and the screens, said once, by the process that finds it gone, as a Parquet file
                    # deleted from a folder is (`_parquet_deleted`); one now unreadable is said as that instead
                    listed_now = set(known["objects"]) | set(known.get("unreadable") or {})
                    notes += [f"{url}: deleted" for url in sorted(set(kept.get("objects") or {}) - listed_now)]
                    notes += [f"{url}: unreadable Parquet file: {why}" for url, why in footers.unreadable(known).items()]
                    if not datasets[name].schema.names:
                        # no Parquet object under the prefix (none yet, all deleted, or none readable): a dataset of
                        # no column, which DuckDB refuses to register, and every command failed on it. Read as an
                        # empty folder is: no rows, and the path said as matching no file when nothing is there
                        del datasets[name]
                        if not listed_now:
                            self._lakes_missing.append(src.path)
                        continue
                    objects[name] = known["objects"]
                else:
                    notes.append(f"{src.path}: only Parquet, Delta and Iceberg are read from object storage so far")
                    continue
                kinds[name] = src.kind
            except Exception as exc:  # noqa: BLE001 - a lake that cannot be opened costs only itself
                why = str(locations.storage_error(src.path, exc, storage))  # one line, naming the path, no secret
                if name in self._lakes:  # what the last refresh listed stays (rollups, counts of known objects)
                    datasets[name], kinds[name] = self._lakes[name], self._lake_kinds[name]
                    if name in self._lake_objects:
                        objects[name] = self._lake_objects[name]
                    if name in self._lake_files:
                        files[name] = self._lake_files[name]
                    why += "; showing what was read before, tried again at the next refresh"
                # its objects are at the server that did not answer: no query waits on them (a timeout each)
                # or fails on them; the counts the store knows of them still count, and a rule over its rows
                # is not known (`check`)
                down[name] = why
                notes.append(why)
                failed = True
        self._facts.save()
        self._lakes, self._lake_kinds, self._lake_objects, self._lake_files = datasets, kinds, objects, files
        self._lakes_down = down if listed else {n: w for n, w in self._lakes_down.items() if n in datasets}
        self._lakes_listed = listed and not failed
        return notes
