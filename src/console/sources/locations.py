"""One way for the store to reach log files wherever they are: a local folder or glob, or `s3://`.

The store asks three things of a location, the same for every backend:
- which files are there now (`list_files`), with an identity for each (size, mtime, and on S3 the ETag:
  objects are immutable, so key + ETag is the identity and a new ETag under the same key is a replaced
  object), skipping time partitions wholly outside the window it needs;
- some bytes of one file (`open_range`), for the JSONL tailer's byte cursors, refusing to mix the bytes
  of two versions of an object;
- a pyarrow dataset over Parquet files (`arrow_dataset`) that DuckDB scans in place, pushing its
  projection and filters (partition columns included) into the scan.
Nothing is downloaded at run time: S3 goes through botocore (listing, ranges) and pyarrow's S3 file
system (Parquet scans), both shipped as packages. Errors are `StorageError`: one line, naming the path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from console.sources import footers, partitions, s3
from console.sources.s3 import ObjectReplaced, StorageError

__all__ = [
    "FileInfo", "Location", "ObjectReplaced", "StorageError", "arrow_dataset", "list_files", "open_range",
    "parse_location", "stat", "storage_error",
]

S3_SCHEMES = ("s3://", "s3a://", "s3n://")
MLFLOW_SCHEME = "mlflow://"  # a tracking server's traces: polled (`trace_poll`), not tailed


@dataclass(frozen=True)
class Location:
    """Where a source's files are. `root` holds no glob; `pattern` (relative to it) may; None = everything.

    For S3, `root` is the key prefix inside `bucket` ("" for the whole bucket); locally an absolute path.
    """

    raw: str
    scheme: str  # "file" | "s3"
    bucket: str | None
    root: str
    pattern: str | None

    def url(self, rel: str = "") -> str:
        """The path a file `rel` below the root is named by, in messages and in `FileInfo.path`."""
        if self.scheme == "s3":
            key = "/".join(p for p in (self.root.rstrip("/"), rel) if p)
            return f"s3://{self.bucket}/{key}"
        return os.path.join(self.root, rel) if rel else self.root


@dataclass(frozen=True)
class FileInfo:
    path: str  # s3://bucket/key or an absolute local path
    size: int
    mtime_ns: int
    etag: str | None  # S3 only: with the key, the object's identity


def parse_location(path: str) -> Location:
    raw = str(path)
    if raw.startswith(S3_SCHEMES):
        rest = raw.split("://", 1)[1]
        bucket, _, key = rest.partition("/")
        if not bucket:
            raise StorageError(f"{raw}: no bucket in the S3 path (expected s3://bucket/prefix/...)")
        segments = key.split("/")
        cut = next((i for i, seg in enumerate(segments) if partitions.GLOB_CHARS.search(seg)), None)
        if cut is None:
            return Location(raw, "s3", bucket, key, None)
        return Location(raw, "s3", bucket, "/".join(segments[:cut]), "/".join(segments[cut:]))
    local = raw[len("file://"):] if raw.startswith("file://") else raw
    local = os.path.abspath(os.path.expanduser(local))
    segments = local.split(os.sep)
    cut = next((i for i, seg in enumerate(segments) if partitions.GLOB_CHARS.search(seg)), None)
    if cut is None:
        return Location(raw, "file", None, local, None)
    return Location(raw, "file", None, os.sep.join(segments[:cut]) or os.sep, "/".join(segments[cut:]))


def _one_file(path: str) -> Location:
    """A file or object named by its path or URL, as written: a listed S3 key may hold `[`, `*` or `?`
    (`logs[eu]/p.jsonl`), and `parse_location` would take it for a glob."""
    loc = parse_location(path)
    if loc.pattern is None:
        return loc
    if loc.scheme == "s3":
        return Location(loc.raw, "s3", loc.bucket, loc.raw.split("://", 1)[1].partition("/")[2], None)
    return Location(loc.raw, "file", None, os.sep.join([loc.root.rstrip(os.sep), *loc.pattern.split("/")]), None)


def _location(loc: Location | str) -> Location:
    return loc if isinstance(loc, Location) else parse_location(loc)


def _utc_naive(t: datetime | None) -> datetime | None:
    if t is None or t.tzinfo is None:
        return t
    return t.astimezone(timezone.utc).replace(tzinfo=None)


# Backends: what a listing needs from a store of files. `scan` is one folder (files, sub-folder names);
# `walk` is everything below a folder in as few calls as the store allows.
class _Local:
    def __init__(self, loc: Location):
        self.loc = loc

    def single(self) -> FileInfo | None:
        try:
            st = os.stat(self.loc.root)
        except FileNotFoundError:
            raise StorageError(f"{self.loc.raw}: no such file or folder") from None
        except OSError as exc:
            raise StorageError(f"{self.loc.raw}: {exc.strerror or exc}") from None
        if os.path.isdir(self.loc.root):
            return None
        return FileInfo(self.loc.root, st.st_size, st.st_mtime_ns, None)

    def scan(self, rel_parts: list[str]) -> tuple[list[tuple[str, FileInfo]], list[str]]:
        folder = os.path.join(self.loc.root, *rel_parts)
        files, dirs = [], []
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            if not rel_parts:
                raise StorageError(f"{self.loc.raw}: no such folder") from None
            return [], []  # removed while listing
        except OSError as exc:
            raise StorageError(f"{folder}: {exc.strerror or exc}") from None
        for e in entries:
            try:
                if e.is_dir():
                    dirs.append(e.name)
                elif e.is_file():
                    st = e.stat()
                    rel = "/".join([*rel_parts, e.name])
                    files.append((rel, FileInfo(e.path, st.st_size, st.st_mtime_ns, None)))
            except OSError:
                continue  # gone between the listing and the stat: the next listing will tell
        return files, dirs

    def walk(self, rel_parts: list[str]) -> list[tuple[str, FileInfo]]:
        out, stack = [], [rel_parts]
        while stack:
            parts = stack.pop()
            files, dirs = self.scan(parts)
            out.extend(files)
            stack.extend([*parts, d] for d in dirs)
        return out


class _S3:
    def __init__(self, loc: Location, storage: dict | None):
        self.loc = loc
        self.settings = s3.settings(storage)
        self.client = s3.client(self.settings, loc.raw)
        self.base = loc.root.rstrip("/")

    def _key(self, rel_parts: list[str]) -> str:
        return "/".join(p for p in (self.base, *rel_parts) if p)

    def single(self) -> FileInfo | None:
        if not self.loc.root or self.loc.root.endswith("/"):
            return None
        try:
            head = self.client.head_object(Bucket=self.loc.bucket, Key=self.loc.root)
        except Exception as exc:
            if s3.error_code(exc) in ("404", "403", "NoSuchKey", "NotFound", "AccessDenied", "Forbidden"):
                # A prefix, not an object; or a HEAD without a body to say why it failed:
                # the listing that follows names the cause (no bucket, bad key) precisely.
                return None
            raise s3.error(self.loc.raw, exc, self.settings) from None
        return _s3_info(self.loc.bucket, self.loc.root, head["ContentLength"], head["LastModified"], head.get("ETag"))

    def _list(self, rel_parts: list[str], delimiter: str | None):
        prefix = self._key(rel_parts)
        prefix = prefix + "/" if prefix else ""
        kwargs = {"Bucket": self.loc.bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        files, dirs = [], []
        try:
            while True:
                page = self.client.list_objects_v2(**kwargs)
                for obj in page.get("Contents", ()):
                    key = obj["Key"]
                    if key.endswith("/"):
                        continue  # a folder marker
                    rel = "/".join([*rel_parts, key[len(prefix):]])
                    files.append((rel, _s3_info(self.loc.bucket, key, obj["Size"], obj["LastModified"],
                                                obj.get("ETag"))))
                for cp in page.get("CommonPrefixes", ()):
                    dirs.append(cp["Prefix"][len(prefix):].rstrip("/"))
                if not page.get("IsTruncated"):
                    break
                kwargs["ContinuationToken"] = page["NextContinuationToken"]
        except Exception as exc:
            raise s3.error(self.loc.url("/".join(rel_parts)) if rel_parts else self.loc.raw, exc,
                           self.settings) from None
        return files, dirs

    def scan(self, rel_parts):
        return self._list(rel_parts, "/")

    def walk(self, rel_parts):
        return self._list(rel_parts, None)[0]


def _s3_info(bucket: str, key: str, size: int, modified: datetime, etag: str | None) -> FileInfo:
    mtime_ns = int(modified.timestamp() * 1_000_000) * 1000 if modified else 0
    return FileInfo(f"s3://{bucket}/{key}", int(size), mtime_ns, etag.strip('"') if etag else None)


def _backend(loc: Location, storage: dict | None):
    return _S3(loc, storage) if loc.scheme == "s3" else _Local(loc)


def list_files(loc: Location | str, storage: dict | None = None, since: datetime | None = None,
               until: datetime | None = None) -> list[FileInfo]:
    """Files of the location, sorted by path, leaving out time partitions wholly outside [since, until].

    Folders are listed one level at a time only while that can still skip something; a folder wholly
    inside the window (or any folder when there is no window) is listed in one flat call.
    Hidden files and those starting with `_` (`_SUCCESS`, `_delta_log`) are left out of folder listings.
    A path whose glob characters are part of a name (`logs[eu]/p.jsonl`, an S3 key `p[1].jsonl`) is read as written
    when the listing holds it; only when it does not is it a glob (no request more: the glob lists that prefix).
    """
    loc = _location(loc)
    since, until = _utc_naive(since), _utc_naive(until)
    backend = _backend(loc, storage)
    glob = partitions.Glob(loc.pattern)
    if loc.pattern is None:
        one = backend.single()
        if one is not None:
            return [one]
    found: dict[str, FileInfo] = {}
    literal: dict[str, FileInfo] = {}  # what the pattern names as written (`logs[eu]/p.jsonl`): read alone if any
    as_written = [p for p in (loc.pattern or "").split("/") if p]
    whole = partitions.Glob(None)  # (a folder named as written: its files not hidden)

    def keep(rel: str, info: FileInfo) -> None:
        dirs = rel.split("/")[:-1]
        if partitions.outside(partitions.time_range(dirs), since, until):
            return
        parts = rel.split("/")
        if as_written and parts[:len(as_written)] == as_written and (
                len(parts) == len(as_written) or whole.match("/".join(parts[len(as_written):]))):
            literal[info.path] = info
        if glob.match(rel):
            found[info.path] = info

    def visit(parts: list[str]) -> None:
        rng = partitions.time_range(parts)
        if partitions.outside(rng, since, until):
            return
        if partitions.inside(rng, since, until):
            for rel, info in backend.walk(parts):
                keep(rel, info)
            return
        files, dirs = backend.scan(parts)
        for rel, info in files:
            keep(rel, info)
        for d in dirs:
            below = [*parts, d]
            if glob.may_contain(below) or (as_written and below[:len(as_written)] == as_written[:len(below)]):
                visit(below)

    visit([])
    exact = {k: v for k, v in literal.items() if v.path == loc.url(loc.pattern or "")}
    chosen = exact or literal or found  # an object named as written, else a folder so named, else the glob's
    return [chosen[k] for k in sorted(chosen)]


def stat(path: str, storage: dict | None = None) -> FileInfo:
    """One file's identity now (size, mtime, ETag)."""
    loc = parse_location(path)
    if loc.pattern is not None:
        raise StorageError(f"{path}: a single file is needed here, not a glob")
    backend = _backend(loc, storage)
    one = backend.single()
    if one is None:
        if loc.scheme == "s3":
            backend.scan([])  # a HEAD says only 403/404: a listing names a missing bucket or a bad key
            raise StorageError(f"{path}: no such object")
        raise StorageError(f"{path}: is a folder")
    return one


def open_range(path: str, start: int, length: int, storage: dict | None = None,
               etag: str | None = None) -> bytes:
    """Up to `length` bytes of one file from byte `start` (fewer at its end, b"" past it).

    With `etag` (S3), the read is conditional (If-Match): if the object was replaced since it was
    listed, `ObjectReplaced` is raised instead of returning bytes of the new object at the old offset.
    """
    if start < 0 or length < 0:
        raise ValueError("start and length must be >= 0")
    if length == 0:
        return b""
    loc = _one_file(path)
    if loc.scheme != "s3":
        try:
            with open(loc.root, "rb") as f:
                f.seek(start)
                return f.read(length)
        except OSError as exc:
            raise StorageError(f"{path}: {exc.strerror or exc}") from None
    settings = s3.settings(storage)
    client = s3.client(settings, path)
    kwargs = {"Bucket": loc.bucket, "Key": loc.root, "Range": f"bytes={start}-{start + length - 1}"}
    if etag:
        kwargs["IfMatch"] = etag if etag.startswith('"') else f'"{etag}"'
    try:
        response = client.get_object(**kwargs)
        return response["Body"].read()
    except Exception as exc:
        if s3.error_code(exc) == "InvalidRange":
            return b""  # start at or past the end
        raise s3.error(path, exc, settings) from None


def storage_error(path: str, exc: BaseException, storage: dict | None = None) -> StorageError:
    """The one-line form of any failure met while reading `path` (e.g. raised by DuckDB mid-scan)."""
    settings = s3.settings(storage) if str(path).startswith(S3_SCHEMES) else None
    text = _INTERNAL.sub("", str(exc))  # the store's own view name says nothing to an operator
    return s3.error(str(path), type(exc)(text) if text != str(exc) and _rebuildable(exc) else exc, settings)


_INTERNAL = re.compile(r"(Invalid Input Error: )?reading the stream registered as 'lake_\d+' failed: ")


def _rebuildable(exc: BaseException) -> bool:
    try:
        type(exc)("")
    except Exception:  # noqa: BLE001 - an exception type that takes other arguments: said as it is
        return False
    return True


def _hive_base(dirs: list[str]) -> str:
    """The folder above the Hive `key=value` folders common to every file."""
    common = os.path.commonpath(dirs) if len(dirs) > 1 else dirs[0]
    while "=" in os.path.basename(common):
        common = os.path.dirname(common)
    return common


def arrow_dataset(source: Location | str | Iterable[str | FileInfo], storage: dict | None = None, *,
                  format: str = "parquet", partitioning: str | None = "hive", since: datetime | None = None,
                  until: datetime | None = None, schema=None, unify_schemas: bool = False,
                  source_column: str | None = None, known: dict | None = None, ts_column: str | None = "ts",
                  unreadable: dict[str, str] | None = None):
    """A pyarrow dataset over the files of a location (pruned by [since, until]) or over given files.

    Hive folders become partition columns (`date`, `hour`, ...: strings or integers as they look), so
    DuckDB's filter on them skips files. The schema is the first file's unless `schema` is given, or
    `unify_schemas` reads every footer (a column that appears in later files). `source_column` names a
    string column holding each row's file (its s3:// URL or local path), for provenance; like a partition
    column it costs nothing to read and a filter on it skips files. No file: an empty dataset with
    `schema` (or no columns).

    `known` (S3 Parquet): the footers already read, by object identity (`sources.footers`), updated in place. The
    dataset is then made from the listing without a request for a known object: its schema from the kept
    ones, and each object guaranteed to its time span, so a time filter skips the objects outside it unread.
    `ts_column`: the objects' own name for ts, whose statistics give the spans (None: no span is known).
    `unreadable` (with `unify_schemas`): a file that is not Parquet is left out of the dataset and named in it (url ->
    why), so it costs only itself; without it, it fails the dataset.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    from console.sources import arrow_schemas

    loc = _location(source) if isinstance(source, (str, Location)) else None
    if loc is not None:
        infos = list_files(loc, storage, since, until)
        where = loc.raw
    else:
        infos = list(source)
        where = str(getattr(infos[0], "path", infos[0])) if infos else "dataset"
    files = [f.path if isinstance(f, FileInfo) else str(f) for f in infos]
    if not files:
        if known is not None:  # nothing listed: nothing known is there any more (as `footers.facts` prunes)
            for held in ("objects", "unreadable", "schemas"):
                (known.get(held) or {}).clear()
        return ds.dataset(schema.empty_table() if schema is not None else pa.table({}))
    is_s3 = files[0].startswith(S3_SCHEMES)
    if any(f.startswith(S3_SCHEMES) != is_s3 for f in files):
        raise StorageError(f"{where}: local and s3:// files cannot be mixed in one dataset")
    settings = s3.settings(storage) if is_s3 else None
    fs = s3.filesystem(settings, where) if is_s3 else pafs.LocalFileSystem()
    paths = [f.split("://", 1)[1] for f in files] if is_s3 else [os.path.abspath(f) for f in files]
    single_file = loc is not None and loc.pattern is None and files == [loc.url()]
    if loc is not None and not single_file:
        base = "/".join(p for p in (loc.bucket, loc.root.rstrip("/")) if p) if is_s3 else loc.root
    else:
        base = _hive_base([os.path.dirname(p) for p in paths])
    part = ds.partitioning(flavor=partitioning) if partitioning else None
    footer = None
    if known is not None and is_s3 and format == "parquet" and all(isinstance(f, FileInfo) for f in infos):
        try:
            footer = footers.facts(infos, fs, known, ts_column)
        except Exception as exc:
            raise s3.error(where, exc, settings) from None
        kept = [k for k, f in enumerate(files) if f in footer]  # an object that is not Parquet is left out, alone
        if len(kept) < len(files):
            infos, files, paths = ([xs[k] for k in kept] for xs in (infos, files, paths))
            if not files:
                return ds.dataset(schema.empty_table() if schema is not None else pa.table({}))
    try:
        if footer is not None:
            factory = ds.FileSystemDatasetFactory(
                fs, paths, ds.ParquetFileFormat(),
                ds.FileSystemFactoryOptions(partition_base_dir=base, partitioning=part)
                if part is not None else ds.FileSystemFactoryOptions())
            if schema is None:  # the kept schemas, and the partition columns from the paths (no request)
                schema = arrow_schemas.unify([*footers.schemas(known, footer.values()), factory.inspect(fragments=0)])
            dataset = factory.finish(schema)
            return _guaranteed(dataset, {p: footer[u] for p, u in zip(paths, files)},
                               {p: i.size for p, i in zip(paths, infos)}, source_column, dict(zip(paths, files)),
                               ts_column)
        if unify_schemas and schema is None:
            while True:
                factory = ds.FileSystemDatasetFactory(
                    fs, paths, ds.ParquetFileFormat() if format == "parquet" else format,
                    ds.FileSystemFactoryOptions(partition_base_dir=base, partitioning=part)
                    if part is not None else ds.FileSystemFactoryOptions(),
                )
                try:
                    try:
                        schema = factory.inspect(promote_options="permissive", fragments=None)
                    except (pa.ArrowTypeError, pa.ArrowInvalid):  # a field's type differs between files: as text
                        schema = arrow_schemas.unify([f.physical_schema for f in factory.finish().get_fragments()]
                                                     + [factory.inspect(fragments=0)])
                    break
                except pa.ArrowInvalid as exc:
                    bad = _unopened(exc, paths)
                    if unreadable is None or bad is None:
                        raise
                    k = paths.index(bad)
                    unreadable[files[k]] = str(exc).split(": ", 1)[-1].splitlines()[0]
                    del paths[k], files[k]
                    if not paths:
                        return ds.dataset(pa.table({}))
            dataset = factory.finish(schema)
        else:
            dataset = ds.dataset(paths, schema=schema, format=format, filesystem=fs, partitioning=part,
                                 partition_base_dir=base if part is not None else None)
        return with_source(dataset, source_column, dict(zip(paths, files))) if source_column else dataset
    except Exception as exc:
        raise s3.error(where, exc, settings) from None


def _unopened(exc: Exception, paths: list[str]) -> str | None:
    """The file of `paths` Arrow names as not Parquet in `exc` ("Could not open Parquet input source '...'")."""
    found = re.search(r"Could not open Parquet input source '([^']+)'", str(exc))
    if found is None:
        return None
    name = found.group(1)
    return next((p for p in paths if p == name or p.lstrip("/") == name.lstrip("/")), None)


def _guaranteed(dataset, facts: dict[str, dict], sizes: dict[str, int], column: str | None, urls: dict[str, str],
                ts_column: str | None = "ts"):
    """The dataset with each object's time span as a guarantee (and its size: no HEAD before a read), and the
    source column when asked."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    ts_type = dataset.schema.field(ts_column).type if ts_column in dataset.schema.names else None
    fragments = []
    for f in dataset.get_fragments():
        expr = f.partition_expression
        bound = footers.guarantee(facts[f.path], ts_type, ts_column) if ts_type is not None else None
        if bound is not None:
            expr = expr & bound
        if column:
            expr = expr & (ds.field(column) == pa.scalar(urls.get(f.path, f.path)))
        fragments.append(dataset.format.make_fragment(f.path, dataset.filesystem, partition_expression=expr,
                                                      file_size=sizes.get(f.path)))
    schema = dataset.schema
    if column:
        if column in schema.names:
            schema = schema.remove(schema.get_field_index(column))
        schema = schema.append(pa.field(column, pa.string()))
    return ds.FileSystemDataset(fragments, schema, dataset.format, dataset.filesystem)


def with_source(dataset, column: str, urls: dict[str, str]):
    """The dataset with a virtual string column naming each fragment's file (as a partition value)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    fragments = [
        dataset.format.make_fragment(
            f.path, dataset.filesystem,
            partition_expression=f.partition_expression & (ds.field(column) == pa.scalar(urls.get(f.path, f.path))))
        for f in dataset.get_fragments()
    ]
    schema = dataset.schema
    if column in schema.names:
        schema = schema.remove(schema.get_field_index(column))
    return ds.FileSystemDataset(fragments, schema.append(pa.field(column, pa.string())), dataset.format,
                                dataset.filesystem)
