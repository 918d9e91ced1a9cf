"""Rollups kept in S3 (`[rollups] path = "s3://bucket/prefix"`, or `rollup --path s3://...`), mirrored
to a local folder that `store_rollups` reads and writes as it always does.

Why a mirror rather than reading S3 in place: rollup files are small (kilobytes per model-hour) and
immutable (a new generation is a new name), so after a first pull a catch-up moves only the new
files, and every reader keeps the local code path (listing, generations, day files) unchanged. A side
box or Spark job builds and `push`es; the console `pull`s before reading.

Order makes a reader safe: `push` uploads data files first and `_state.json` last, so a state never
names hours whose files are not there yet; stale day files are deleted after their replacement is up.
Access is the console's own S3 identity (`sources.s3`): the same keys, endpoint and one-line errors.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from console import store_rollups as ro
from console.sources import s3
from console.sources.locations import S3_SCHEMES

_KEEP = (".parquet", ro.STATE)


def is_remote(path) -> bool:
    return str(path).startswith(S3_SCHEMES)


def storage_of(cfg) -> dict:
    """The `[storage.s3]` settings of a configuration, as `sources.s3` takes them."""
    table = getattr(cfg, "s3", None)
    return {k: v for k, v in vars(table).items() if v is not None} if table is not None else {}


def mirror_dir(url: str, base: Path | None = None) -> Path:
    """Where a remote rollup folder is mirrored (under the XDG cache, keyed by its URL)."""
    root = base or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlops-console"
    return root / f"rollups-{hashlib.sha1(url.rstrip('/').encode()).hexdigest()[:16]}"


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


def _to_copy(source: dict[str, int], target: dict[str, int]) -> list[str]:
    """The files of `source` that `target` lacks or holds at another size, and the state always, last: a
    reader never sees a state naming hours whose files are not there yet."""
    return [rel for rel, size in sorted(source.items(), key=lambda kv: kv[0] == ro.STATE)
            if target.get(rel) != size or rel == ro.STATE]


def _key(prefix: str, rel: str) -> str:
    return f"{prefix}/{rel}" if prefix else rel


def pull(url: str, local: Path, storage: dict | None = None, prune: bool = True) -> int:
    """Makes `local` hold what `url` holds: new or changed files fetched, files gone remotely removed (not
    with `prune=False`: the console keeps the hours it built itself in the mirror). Returns how many files
    were fetched."""
    settings = s3.settings(storage)
    bucket, prefix = _split(url)
    try:
        client = s3.client(settings, url)
        remote = _listing(client, bucket, prefix)
        mine = _local(local)
        fetched = 0
        for rel in _to_copy(remote, mine):
            body = client.get_object(Bucket=bucket, Key=_key(prefix, rel))["Body"].read()
            target = local / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(body)
            os.replace(tmp, target)
            fetched += 1
        for rel in set(mine) - set(remote) if prune else ():
            (local / rel).unlink(missing_ok=True)
        return fetched
    except Exception as exc:
        raise s3.error(url, exc, settings) from None


def push(local: Path, url: str, storage: dict | None = None) -> int:
    """Uploads the files of `local` that `url` lacks (the state last), then deletes remote files that
    are gone locally (stale day files). Returns how many files were uploaded."""
    settings = s3.settings(storage)
    bucket, prefix = _split(url)
    try:
        client = s3.client(settings, url)
        remote = _listing(client, bucket, prefix)
        mine = _local(local)
        sent = 0
        for rel in _to_copy(mine, remote):
            client.put_object(Bucket=bucket, Key=_key(prefix, rel), Body=(local / rel).read_bytes())
            sent += 1
        for rel in set(remote) - set(mine):
            client.delete_object(Bucket=bucket, Key=_key(prefix, rel))
        return sent
    except Exception as exc:
        raise s3.error(url, exc, settings) from None
