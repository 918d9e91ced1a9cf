"""Rollups kept in S3 (`[rollups] path = "s3://bucket/prefix"`, or `rollup --path s3://...`), mirrored
to a local folder that `store_rollups` reads and writes as it always does.

Why a mirror rather than reading S3 in place: rollup files are small (kilobytes per model-hour) and
immutable (a new generation is a new name), so after a first pull a catch-up moves only the new
files, and every reader keeps the local code path (listing, generations, day files) unchanged. A side
box or Spark job builds and `push`es; the console `pull`s before reading.

Several builders may push to one folder at once (two side boxes, a Spark job and a console, a cron run
overlapping the last one), each from its own mirror, which lacks whatever the others pushed since its
pull. So a push only adds: it uploads the files that are new in its mirror and never overwrites an
object; it deletes nothing but the day files its own compaction replaced (those the mirror had at its
last sync, `.synced.json`, and holds a newer file of the same day for), and hour files never. Which
generation wins an hour is decided by readers from names alone, so whoever wrote the newest one, every
reader sees it; a day file is used only with the hour files it was merged from (`store_rollups`). The
one shared object, `_state.json`, is read, merged (the furthest time of each key) and written back
with a conditional write (If-Match on the ETag read, If-None-Match when there is none), again on a
refusal, so no builder's progress is lost to another's.

Order makes a reader safe: hour files go up first, then day files, then the state, so a state never
names hours whose files are not there yet. A pull skips an object deleted after its listing (a day file
another builder replaced). Access is the console's own S3 identity (`sources.s3`): the same keys,
endpoint and one-line errors.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

from console import store_rollups as ro
from console.sources import s3
from console.rollup_paths import NAME_FILE, is_remote, mirror_dir  # noqa: F401 - defined beside rollup_dir

_KEEP = (".parquet", ro.STATE, NAME_FILE)  # (a hashed model folder's name file: its model, for every mirror)
SYNCED = ".synced.json"  # in a mirror: the remote files (relative path -> size) at its last pull or push
STATE_ATTEMPTS = 10  # conditional writes of the state refused before giving up (each re-reads it)
_REFUSED = ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey")


def storage_of(cfg) -> dict:
    """The `[storage.s3]` settings of a configuration, as `sources.s3` takes them."""
    table = getattr(cfg, "s3", None)
    return {k: v for k, v in vars(table).items() if v is not None} if table is not None else {}


def _split(url: str) -> tuple[str, str]:
    bucket, _, prefix = url.split("://", 1)[1].partition("/")
    return bucket, prefix.strip("/")


def _listing(client, bucket: str, prefix: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/" if prefix else ""):
        for obj in page.get("Contents", []):
            rel = obj["Key"][len(prefix) + 1:] if prefix else obj["Key"]
            if rel.endswith(_KEEP) and not os.path.basename(rel).startswith("."):
                out[rel] = int(obj["Size"])
    return out


def _local(local: Path) -> dict[str, int]:
    if not local.is_dir():
        return {}
    return {p.relative_to(local).as_posix(): p.stat().st_size for p in local.rglob("*")
            if p.is_file() and p.name.endswith(_KEEP) and not p.name.startswith(".")}


def _day(rel: str) -> tuple[str, str] | None:
    """(model folder, day) of a day file's relative path (`<model>/daily/<YYYYMMDD>_...`), else None."""
    parts = rel.split("/")
    return (parts[0], parts[2][:8]) if len(parts) == 3 and parts[1] == ro.DAILY else None


def _order(rel: str) -> tuple[bool, bool, str]:
    return rel == ro.STATE, _day(rel) is not None, rel  # hours, then days, then the state


def _to_copy(source: dict[str, int], target: dict[str, int]) -> list[str]:
    """The files of `source` that `target` lacks or holds at another size, and the state always, last: a
    reader never sees a state naming hours whose files are not there yet."""
    return [rel for rel in sorted(source, key=_order) if target.get(rel) != source[rel] or rel == ro.STATE]


def _key(prefix: str, rel: str) -> str:
    return f"{prefix}/{rel}" if prefix else rel


def _synced(local: Path) -> dict[str, int]:
    try:
        return dict(json.loads((local / SYNCED).read_text(encoding="utf-8")))
    except (FileNotFoundError, ValueError, TypeError):
        return {}


def _remember(local: Path, listing: dict[str, int]) -> None:
    local.mkdir(parents=True, exist_ok=True)
    tmp = local / f"{SYNCED}.tmp"
    tmp.write_text(json.dumps(listing, sort_keys=True), encoding="utf-8")
    os.replace(tmp, local / SYNCED)


def pull(url: str, local: Path, storage: dict | None = None, prune: bool = True) -> int:
    """Makes `local` hold what `url` holds: new or changed files fetched, files gone remotely removed (not
    with `prune=False`: the console keeps the hours it built itself in the mirror). Returns how many files
    were fetched. `url` may be a local folder (a read-only mount a side box fills): its files are copied."""
    if not is_remote(url):
        source = Path(url)

        def read_file(rel: str) -> bytes | None:
            try:
                return (source / rel).read_bytes()
            except FileNotFoundError:
                return None

        return _mirror(_local(source), local, read_file, prune)
    settings = s3.settings(storage)
    bucket, prefix = _split(url)
    try:
        client = s3.client(settings, url)

        def read_object(rel: str) -> bytes | None:
            try:
                return client.get_object(Bucket=bucket, Key=_key(prefix, rel))["Body"].read()
            except Exception as exc:
                if s3.error_code(exc) != "NoSuchKey":
                    raise
                return None

        return _mirror(_listing(client, bucket, prefix), local, read_object, prune)
    except Exception as exc:
        raise s3.error(url, exc, settings) from None


def _mirror(theirs: dict[str, int], local: Path, read, prune: bool) -> int:
    """Copies the files of `theirs` (relative path -> size) that `local` lacks, in `_to_copy`'s order, each
    written whole before it is named; `read(rel)` None: deleted since the listing (a day file another builder
    replaced), skipped. Then removes what is gone (with `prune`) and remembers the listing."""
    mine = _local(local)
    fetched = 0
    for rel in _to_copy(theirs, mine):
        body = read(rel)
        if body is None:
            del theirs[rel]
            continue
        target = local / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(body)
        os.replace(tmp, target)
        fetched += 1
    for rel in set(mine) - set(theirs) if prune else ():
        (local / rel).unlink(missing_ok=True)
    _remember(local, theirs)
    return fetched


def push(local: Path, url: str, storage: dict | None = None) -> int:
    """Uploads the files new in `local` (not in the bucket, and not there at the last sync either: a file
    gone since was removed by another builder), deletes the day files this mirror replaced, and merges
    its state into the bucket's (see the module docstring). Returns how many objects were written."""
    settings = s3.settings(storage)
    bucket, prefix = _split(url)
    try:
        client = s3.client(settings, url)
        remote = _listing(client, bucket, prefix)
        mine = _local(local)
        known = _synced(local)  # none (a folder never pulled): every local file is new here
        new = [rel for rel in sorted(mine, key=_order) if rel != ro.STATE and rel not in remote and rel not in known]
        for rel in new:
            client.put_object(Bucket=bucket, Key=_key(prefix, rel), Body=(local / rel).read_bytes())
        days_here = {_day(rel) for rel in mine} - {None}
        replaced = sorted(rel for rel in known if rel in remote and rel not in mine and _day(rel) in days_here)
        for rel in replaced:
            client.delete_object(Bucket=bucket, Key=_key(prefix, rel))
        wrote = len(new)
        if ro.STATE in mine:
            merged, changed = _merge_state(client, bucket, _key(prefix, ro.STATE), ro.load_state(local))
            ro.save_state(local, merged)
            wrote += changed
        listing = {rel: size for rel, size in remote.items() if rel not in replaced}
        listing.update({rel: mine[rel] for rel in new})
        if ro.STATE in mine:
            listing[ro.STATE] = (local / ro.STATE).stat().st_size
        _remember(local, listing)
        return wrote
    except Exception as exc:
        raise s3.error(url, exc, settings) from None


def _merge_state(client, bucket: str, key: str, mine: dict) -> tuple[dict, bool]:
    """The bucket's state with `mine` merged in, written only over the version read (If-Match its ETag,
    If-None-Match when there was none): a builder that wrote meanwhile makes the write fail, and it is
    read and merged again. A store that does not implement conditional writes gets a plain write of the
    merge (last writer wins, as before). Returns the merged state and whether it was written."""
    for attempt in range(STATE_ATTEMPTS):
        try:
            got = client.get_object(Bucket=bucket, Key=key)
            try:
                theirs = dict(json.loads(got["Body"].read()))
            except (ValueError, TypeError):
                theirs = {}
            condition = {"IfMatch": got["ETag"]}
        except Exception as exc:
            if s3.error_code(exc) != "NoSuchKey":
                raise
            theirs, condition = {}, {"IfNoneMatch": "*"}
        merged = ro.merge_state(theirs, mine)
        if merged == theirs and "IfMatch" in condition:
            return merged, False
        body = json.dumps(merged, indent=1, sort_keys=True, default=str).encode()
        try:
            client.put_object(Bucket=bucket, Key=key, Body=body, **condition)
            return merged, True
        except Exception as exc:
            code = s3.error_code(exc)
            if code == "NotImplemented":
                client.put_object(Bucket=bucket, Key=key, Body=body)
                return merged, True
            if code not in _REFUSED:
                raise
        time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))  # another builder is writing it: let it finish
    raise s3.StorageError(f"{ro.STATE} changed under {STATE_ATTEMPTS} conditional writes")
