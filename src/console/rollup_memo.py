"""What a process derived from closed rollups, kept in the rollup folder for the next process.

A Drift screen's first month with its trend scores 121 six-hour buckets x 25 features from ~720 hour rows: 13-20 s
on a loaded 2-core box, paid again by every new process (each CLI command, a TUI started again), although the
closed hours have not changed. Three things are kept, beside the rollups in `.memo/<model>/`:

- the reference's sketches (`RollupDrift.reference`: KLL at `REF_K` per numeric feature, exact counts per
  categorical one), keyed by the reference file's identity and the spec, with an id of the sketch (KLL compaction
  is randomised, so each sketching is another sample within the bound);
- the trend's scored closed buckets, keyed as `RollupDrift._series` keys them in a process: the rollup files that
  win the bucket's hours, the reference sketch's id, the drift share and the features with their tests. A bucket
  whose hours were rebuilt has another key and is scored again; buckets of the open hour are never kept;
- a rule's drift window's closed hours unioned (`RollupRules._blocks`), keyed the same way: each cron `check` at a
  new `--at` scores the windows ending at it again, and their closed hours, the same all hour, were read and
  unioned again by every process.

Both are plain data (NumPy arrays without pickling, JSON), written to a temporary name and renamed; a file that
cannot be read or written is ignored (the work is done again, as before).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import uuid
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np

from console.analytics import drift as dr
from console.analytics import sketches as sk
from console.private_files import replace_private

MEMO = ".memo"
TREND_KEPT = 512  # scored buckets kept per model, environment and bucket width (a 6 h month is 121, ~8 KB each)


def folder(path: Path, model_dir: str) -> Path:
    return Path(path) / MEMO / model_dir


# ------------------------------------------------------------------------------------ reference sketches


def reference_key(reference: str | os.PathLike | None, spec, ref_k: int | str, columns: list[str]) -> str | None:
    """A digest naming the reference file's version and how it is sketched; None without a local file."""
    try:
        st = os.stat(reference)
    except (OSError, TypeError):
        return None
    text = json.dumps([str(reference), st.st_size, st.st_mtime_ns, repr(spec), ref_k, columns])
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def load_reference(where: Path, key: str):
    """(numeric Dists, counts, sketch id) kept for `key`; None when absent or unreadable."""
    try:
        with np.load(where / f"ref-{key}.npz", allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            numeric = {f: sk.Dist(z[f"v{i}"], z[f"c{i}"], int(n), float(eps))
                       for i, (f, n, eps) in enumerate(meta["numeric"])}
        return numeric, meta["counts"], meta["id"]
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):  # (a torn file: sketched again)
        return None


def save_reference(where: Path, key: str, numeric: dict, counts: dict) -> str:
    """Keeps the sketches; returns their id (a new one per sketching)."""
    sid = uuid.uuid4().hex[:16]
    meta = {"id": sid, "numeric": [[f, d.n, d.eps] for f, d in numeric.items()], "counts": counts}
    arrays = {}
    for i, d in enumerate(numeric.values()):
        arrays[f"v{i}"], arrays[f"c{i}"] = d.values, d.cum
    try:
        where.mkdir(parents=True, exist_ok=True)
        tmp = where / f".ref-{key}.{os.getpid()}.tmp.npz"
        np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(tmp, where / f"ref-{key}.npz")
    except OSError:
        pass
    return sid


# ------------------------------------------------------------------------------------------ closed blocks

BLOCKS_KEPT = 4  # per model, the newest by time written (~1.3 MB each at 20 numeric features): a rule pass at a
# new `--at` makes about two a model each hour (its latest drift window's closed hours, its first window's), so an
# hour's and the one before it (a fleet of 50 models keeps ~260 MB, not 800)


def load_block(where: Path, key: str) -> tuple[int, dict, dict, dict] | None:
    """(rows, numeric Dists, sums, counts) of a drift window's closed hours unioned (`rollup_drift.Current`), kept
    for `key` (`save_block`); None when absent or unreadable."""
    try:
        with np.load(where / f"block-{key}.npz", allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            numeric = {f: sk.Dist(z[f"v{i}"], z[f"c{i}"], int(n), float(eps))
                       for i, (f, n, eps) in enumerate(meta["numeric"])}
        return int(meta["rows"]), numeric, meta["sums"], meta["counts"]
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):  # (a torn file: made again)
        return None


def save_block(where: Path, key: str, rows: int, numeric: dict, sums: dict, counts: dict) -> None:
    """Keeps a block's union exactly (the Dists' arrays as they are, the sums and counts as JSON, whose floats
    read back bit for bit), then lets go of all but the `BLOCKS_KEPT` newest."""
    meta = {"rows": rows, "numeric": [[f, d.n, d.eps] for f, d in numeric.items()], "sums": sums, "counts": counts}
    arrays = {}
    for i, d in enumerate(numeric.values()):
        arrays[f"v{i}"], arrays[f"c{i}"] = d.values, d.cum
    try:
        where.mkdir(parents=True, exist_ok=True)
        tmp = where / f".block-{key}.{uuid.uuid4().hex}.tmp.npz"  # (two threads of one process may write it)
        np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(tmp, where / f"block-{key}.npz")
        kept = sorted(where.glob("block-*.npz"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in kept[BLOCKS_KEPT:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


# ------------------------------------------------------------------------------------------ trend buckets


def trend_file(where: Path, environment: str | None, every: str) -> Path:
    return where / f"trend-{hashlib.sha1(repr((environment, every)).encode()).hexdigest()[:12]}.json"


def bucket_key(key: tuple) -> str:
    return json.dumps(key, default=_plain)


def load_trend(path: Path) -> dict[str, tuple[bool, dr.WindowDrift]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {k: (bool(present), _window(w)) for k, (present, w) in raw.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def save_trend(path: Path, buckets: dict[str, tuple[bool, dr.WindowDrift]]) -> None:
    """Writes the buckets, the `TREND_KEPT` last added of them."""
    while len(buckets) > TREND_KEPT:
        buckets.pop(next(iter(buckets)))
    data = {k: [present, _plain_window(w)] for k, (present, w) in buckets.items()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_private(path, json.dumps(data, default=_plain, separators=(",", ":")))
    except OSError:
        pass


def _fields(obj) -> dict:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def _plain_window(w: dr.WindowDrift) -> dict:
    """`dataclasses.asdict` without its deep copies (1.8 s for a month's 121 buckets of 25 columns)."""
    d = _fields(w.drift)
    d["columns"] = [_fields(c) for c in w.drift.columns]
    return {"start": w.start, "end": w.end, "n_rows": w.n_rows, "drift": d}


def _window(w: dict) -> dr.WindowDrift:
    d = w["drift"]
    columns = tuple(dr.ColumnDrift(**c) for c in d.pop("columns"))
    return dr.WindowDrift(datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"]), int(w["n_rows"]),
                          dr.DatasetDrift(columns=columns, **d))


def _plain(o):
    if isinstance(o, datetime):
        return o.isoformat()
    if isinstance(o, (np.integer, np.floating, np.bool_)):
        return o.item()
    if isinstance(o, (tuple, set)):
        return list(o)
    raise TypeError(type(o).__name__)
