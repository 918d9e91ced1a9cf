"""What each Parquet object's footer says (its schema, row count and time span), kept by the object's identity.

An object in S3 is immutable under its ETag, so its footer needs reading once, not on every refresh: a
dataset over a month of objects was opened by reading every footer again (one request per object, seconds on
each refresh and each CLI command), and every query with a time filter opened every object to learn from its
row groups' statistics that it held no row of the window. With the footers known, a dataset is made from the
listing alone: its schema is the union of the kept schemas, and each object carries its time span as a
guarantee, so a scan of the open hour skips, without a request, every object whose rows are all older.

`known` is a plain dict the caller keeps across processes (the store's facts file): "objects" (url -> facts,
each for one version of the object: ETag, size, mtime, so a replaced object is read again) and "schemas" (each
distinct schema once, by its digest: a prefix of thousands of objects has one or a few), and "unreadable" (url -> the
version and why, for an object that is not Parquet: it alone is left out, as an unreadable local file is).
"""

from __future__ import annotations

import base64
import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

READERS = 8  # footers read at once (each is one or two ranged GETs: latency, not bandwidth, bounds them)


def version(info) -> list:
    return [info.etag, info.size, info.mtime_ns]


def _naive(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo is not None else t


_EPOCH = datetime(1970, 1, 1)
_PER_US = {"us": 1, "ns": 1000}


def stat_bounds(st, ts_type) -> tuple[datetime, datetime] | None:
    """(min, max) of one row group's ts statistics as naive UTC datetimes, or None when they say nothing.

    Read from the raw integers, not `Statistics.min`: pyarrow turns a nanosecond value that is not a whole
    microsecond into a datetime only when pandas happens to be imported, and raises otherwise (a Parquet log
    written by pandas from float seconds crashed every command). The bounds stay guarantees: the minimum is
    floored and the maximum ceiled to the microsecond."""
    if st is None or not st.has_min_max:
        return None
    unit = getattr(ts_type, "unit", None)
    if unit in _PER_US and isinstance(st.min_raw, int) and isinstance(st.max_raw, int):
        per = _PER_US[unit]
        return (_EPOCH + timedelta(microseconds=st.min_raw // per),
                _EPOCH + timedelta(microseconds=-(-st.max_raw // per)))
    lo, hi = st.min, st.max  # ms, s or an INT96 column: pyarrow converts these exactly
    if not isinstance(lo, datetime) or not isinstance(hi, datetime):
        return None
    return _naive(lo), _naive(hi)


def leaf(meta, column: str | None) -> int:
    """The index of `column`'s statistics in a Parquet footer's row groups, or -1: they are per leaf column, so a
    struct written before it (a features object) moves it past the struct's members."""
    if column is None:
        return -1
    return next((i for i in range(meta.num_columns) if meta.schema.column(i).path == column), -1)


def read(path: str, fs, column: str | None = "ts") -> dict:
    """One object's footer facts: its Arrow schema (serialized), rows, and (first, last) ts from the row groups'
    statistics of `column` (the log's own name for ts), or None for the span when ts is not a timestamp with
    statistics (it may hold any hour)."""
    import pyarrow.parquet as pq

    with fs.open_input_file(path) as fh:
        meta = pq.ParquetFile(fh).metadata
    schema = meta.schema.to_arrow_schema()
    idx = leaf(meta, column) if column in schema.names else -1
    lo = hi = None
    span_known = idx >= 0
    for g in range(meta.num_row_groups) if span_known else ():
        group = meta.row_group(g)
        if group.num_rows == 0:
            continue
        st = group.column(idx).statistics
        # a null ts is outside any span: an object holding one gets no guarantee (its rows are refused, and
        # the count of refused rows must still find them)
        bounds = stat_bounds(st, schema.field(column).type) if st is not None and st.null_count == 0 else None
        if bounds is None:
            span_known = False
            break
        a, b = bounds
        lo, hi = a if lo is None else min(lo, a), b if hi is None else max(hi, b)
    span = [lo.isoformat(), hi.isoformat()] if span_known and lo is not None else \
        ["empty", "empty"] if span_known else None
    return {"schema_bytes": base64.b64encode(schema.serialize().to_pybytes()).decode("ascii"),
            "rows": meta.num_rows, "span": span}


def facts(infos: list, fs, known: dict, column: str | None = "ts") -> dict[str, dict]:
    """url -> footer facts for each listed object, reading (in parallel) only those `known` lacks for their
    version; `known` is updated in place and pruned to the objects listed. `column`: the log's ts column (`read`);
    the caller keeps another `known` for another one."""
    objects, schemas = known.setdefault("objects", {}), known.setdefault("schemas", {})
    bad = known.setdefault("unreadable", {})
    missing = [i for i in infos if (objects.get(i.path) or {}).get("version") != version(i)
               and (bad.get(i.path) or {}).get("version") != version(i)]
    if missing:
        import pyarrow as pa

        def one(info):
            try:
                return info, read(info.path.split("://", 1)[1], fs, column)
            except pa.ArrowInvalid as exc:  # not Parquet (a bad footer, a cut upload): this object alone is left out
                return info, str(exc).splitlines()[0] if str(exc) else type(exc).__name__

        with ThreadPoolExecutor(min(READERS, len(missing))) as pool:
            for info, got in pool.map(one, missing):
                if isinstance(got, str):
                    objects.pop(info.path, None)
                    bad[info.path] = {"version": version(info), "why": got}
                    continue
                bad.pop(info.path, None)
                raw = got.pop("schema_bytes")
                digest = hashlib.sha1(raw.encode("ascii")).hexdigest()[:16]
                schemas[digest] = raw
                objects[info.path] = {"version": version(info), "schema": digest, **got}
    listed = {i.path for i in infos}
    for held in (objects, bad):
        for url in [u for u in held if u not in listed]:
            del held[url]
    used = {e["schema"] for e in objects.values()}
    for digest in [d for d in schemas if d not in used]:
        del schemas[digest]
    return {i.path: objects[i.path] for i in infos if i.path in objects}


def unreadable(known: dict) -> dict[str, str]:
    """url -> why, for the listed objects whose footer could not be read as Parquet (left out of the dataset; read
    again only when the object changes)."""
    return {url: e["why"] for url, e in sorted((known.get("unreadable") or {}).items())}


def schemas(known: dict, entries) -> list:
    """The distinct Arrow schemas of these objects' entries."""
    import pyarrow as pa

    return [pa.ipc.read_schema(pa.py_buffer(base64.b64decode(known["schemas"][d])))
            for d in dict.fromkeys(e["schema"] for e in entries)]


def span(entry: dict) -> tuple | None:
    """(first, last) ts; ("empty", "empty") for an object without rows; None when unknown (any hour)."""
    got = entry.get("span")
    if got is None:
        return None
    if got[0] == "empty":
        return ("empty", "empty")
    return datetime.fromisoformat(got[0]), datetime.fromisoformat(got[1])


def guarantee(entry: dict, ts_type, column: str = "ts"):
    """A dataset expression true of every row of the object (its ts span, on the log's ts column), or None."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    got = span(entry)
    if got is None or got[0] == "empty" or ts_type is None or not pa.types.is_timestamp(ts_type) or ts_type.tz:
        return None
    lo, hi = (pa.scalar(t, ts_type) for t in got)
    return (ds.field(column) >= lo) & (ds.field(column) <= hi)
