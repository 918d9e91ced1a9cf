"""What an hourly rollup keeps per model, decided once for every builder: the `rollup` command (local
engine and Spark) and the console catching its rollups up from its store.

Why one rule: the console reads hours whoever built them, and checks that an hour holds the columns it
wants (`RollupDrift._stale_hours`); two rules made it rebuild every hour the command wrote for a model with
a 0/1 flag feature (the command sketched it by its integer type, the console counted it by value), and
made drift over long windows score differently depending on who built the hour.

An LLM's hours are also cut by `prompt_version` (as a segment: rows per value next to the whole group's),
since cost per 1,000 requests is reported per version and prompt version.

The rule: with a reference, the drift features in the reference (`drift_reference`, the one the exact
engine tests against) with the exact engine's kinds: numeric ones are KLL-sketched, text ones counted,
and a few-valued numeric one whose test compares counts by value (`counted`) is counted by value
(`ModelSpec.by_value`; keys as `store_rollups.category_text` writes them). Without a reference, the
configured features (all feature columns when none are) split by the log column's Arrow type. Either way
the spec depends on the configuration and the reference (or the log schema) only, so it is the same on
every call and in every process.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from console.analytics import drift as dr
from console.csv_header import delimiter_of
from console.sources.contract import FIELDS, PROVENANCE_FIELDS

NOT_FEATURES = ("label", "target", "y", "ts", "request_id")  # reference columns that are never features
CONTRACT_COLUMNS = set(FIELDS["predictions"]) | set(PROVENANCE_FIELDS) | {  # names only: no pyarrow import
    "status", "latency_s", "features", "label", "label_num", "date", "dt", "day", "hour"}
SKETCH_TESTS = {"ks", "wasserstein"}  # numeric tests computed on KLL sketches
PROMPT = "prompt_version"  # an LLM's rollups are also cut by it (a segment), for cost per prompt version

if TYPE_CHECKING:  # the spec's builders import these when called: the readers of drift_ready and
    # drift_reference (the overview, health, `check` from kept answers) need neither pyarrow nor the rollup writer
    import pyarrow as pa

    from console import store_rollups as ro


# ------------------------------------------------------------------------------ the model's reference


def read_reference(path: str | Path | None) -> pl.DataFrame | None:
    """A reference file (Parquet or CSV); None when none is configured or the file is missing."""
    if path is None or not Path(path).is_file():
        return None
    if str(path).endswith((".parquet", ".pq")):
        return pl.read_parquet(path)
    from console.store.parse import decimal_commas

    with open(path, encoding="utf-8-sig") as fh:  # split, and its decimal commas read, as a CSV log's
        sep = delimiter_of(fh.readline().rstrip("\r\n"))
    frame = pl.read_csv(path, separator=sep)
    return frame if sep == "," else pl.from_arrow(decimal_commas([frame.to_arrow()], sep)[0])


def features(mc: Any, frame: pl.DataFrame | None) -> list[str]:
    """The configured features, else the reference's columns other than labels and keys."""
    configured = getattr(mc, "features", ()) or ()
    if configured:
        return list(configured)
    return [c for c in frame.columns if c not in NOT_FEATURES] if frame is not None else []


def drift_features(mc: Any, names: list[str]) -> list[str]:
    """The features drift is tested on: `ignore = true` drops seasonal ones such as hour of day."""
    cols = getattr(mc, "drift_columns", None) or {}
    return [f for f in names if not cols.get(f, {}).get("ignore")]


def drift_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Booleans become 0/1 so the drift engine treats them as binary columns."""
    return frame.with_columns([pl.col(c).cast(pl.Int8) for c, t in frame.schema.items() if t == pl.Boolean])


def drift_reference(mc: Any, frame: pl.DataFrame | None, memo: Path | None = None) -> dr.Reference | None:
    """The prepared reference of a model (its drift features that the file holds, with their configured
    test and threshold): what the exact engine tests against and the rollups are shaped by. `memo`: a folder
    where its numeric columns' sorted values are kept for the next process (`_sorted_key`)."""
    if frame is None:
        return None
    feats = [f for f in drift_features(mc, features(mc, frame)) if f in frame.columns]
    overrides = {k: {o: v for o, v in d.items() if o != "ignore"}
                 for k, d in (getattr(mc, "drift_columns", None) or {}).items() if k in feats}
    if not feats:
        return None
    ready = drift_ready(frame.select(feats))
    numeric = [(c, str(t)) for c, t in ready.schema.items() if t.is_numeric()]
    key = _sorted_key(getattr(mc, "reference", None), numeric) if memo is not None and numeric else None
    kept = _load_sorted(memo / f"sorted-{key}.npz", [c for c, _ in numeric]) if key else None
    ref = dr.Reference(ready, feats, overrides, presorted=kept)
    if key and kept is None:
        _save_sorted(memo, key, {c: ref[c] for c, _ in numeric})
    return ref


# Each process that scores drift exactly prepared every reference column again, its numeric ones sorted (60
# columns of 50,000 rows on the 1M fleet: ~0.15 s of CPU of each `check` at a new `--at`, most of the
# preparing). The sorted values are kept beside the store, keyed by the reference file's identity (path, size,
# modification time, inode) and its numeric columns with their types; a file written again is another key.

def _sorted_key(path: Any, numeric: list[tuple[str, str]]) -> str | None:
    import hashlib
    import json
    import os

    try:
        st = os.stat(path)
    except (OSError, TypeError):
        return None
    where = hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:12]
    state = json.dumps([1, st.st_size, st.st_mtime_ns, st.st_ino, numeric])
    return f"{where}-{hashlib.sha1(state.encode()).hexdigest()[:16]}"


def _load_sorted(path: Path, names: list[str]) -> dict | None:
    """{column: (sorted values, dropped)} kept at `path` for exactly `names`; None when absent or unreadable."""
    import json
    import zipfile

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if [n for n, _ in meta] != names:
                return None
            return {n: (z[f"v{i}"], int(dropped)) for i, (n, dropped) in enumerate(meta)}
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):  # (a torn file: sorted again)
        return None


def _save_sorted(memo: Path, key: str, columns: Mapping[str, dr.ColumnReference]) -> None:
    """Keeps the columns' sorted values (their arrays as they are) and lets go of the file's older versions."""
    import json
    import os
    import uuid

    import numpy as np

    meta = [[n, c.n_dropped] for n, c in columns.items()]
    try:
        memo.mkdir(parents=True, exist_ok=True)
        tmp = memo / f".sorted-{key}.{uuid.uuid4().hex}.tmp.npz"  # (two threads of one process may write it)
        arrays = {f"v{i}": c.sorted_values for i, c in enumerate(columns.values())}
        np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(tmp, memo / f"sorted-{key}.npz")
        for old in memo.glob(f"sorted-{key.split('-')[0]}-*.npz"):
            if old.name != f"sorted-{key}.npz":
                old.unlink(missing_ok=True)
    except OSError:
        pass


# ------------------------------------------------------------------------------------------ the spec


def counted(c: dr.ColumnReference) -> bool:
    """A few-valued numeric column whose test compares counts by value (chi-square, z, JS or PSI by value):
    its rollups keep exact counts, not a sketch."""
    return c.numeric and bool(c.categories) and c.test.name not in SKETCH_TESTS


def _is_numeric(t: pa.DataType) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def feature_columns(schema: pa.Schema) -> dict[str, pa.DataType]:
    """Feature columns of a prediction schema, with a `features` struct flattened."""
    import pyarrow as pa

    out = {f.name: f.type for f in schema if f.name not in CONTRACT_COLUMNS}
    if "features" in schema.names and pa.types.is_struct(schema.field("features").type):
        out.update({f.name: f.type for f in schema.field("features").type})
    return out


def spec(mc: Any, reference: dr.Reference | None, log_columns: Mapping[str, pa.DataType] | None = None
         ) -> ro.ModelSpec:
    """What the rollups keep for a model (see the module docstring); `log_columns` (`feature_columns` of
    the log schema) is read only when there is no reference."""
    from console import store_rollups as ro

    task = getattr(mc, "task", None) or "classification"
    segments = tuple(getattr(mc, "segments", ()) or ())
    if task == "llm" and PROMPT not in segments:  # cost per 1k requests is shown per prompt version
        segments += (PROMPT,)
    common = {"segments": segments,
              "task": "classification" if task == "llm" else task,  # as quality reads an LLM's labels
              "positive_label": str(getattr(mc, "positive_label", None) or "1")}
    if reference is not None:
        cols = list(reference.columns.values())
        return ro.ModelSpec(numeric=tuple(c.name for c in cols if c.numeric and not counted(c)),
                            categorical=tuple(c.name for c in cols if not c.numeric or counted(c)),
                            by_value=tuple(c.name for c in cols if counted(c)), **common)
    cols = dict(log_columns or {})
    wanted = [f for f in (getattr(mc, "features", ()) or cols) if f in cols]
    return ro.ModelSpec(numeric=tuple(f for f in wanted if _is_numeric(cols[f])),
                        categorical=tuple(f for f in wanted if not _is_numeric(cols[f])), **common)


def specs(models: Mapping[str, Any] | None, schema: pa.Schema) -> dict[str, ro.ModelSpec]:
    """The spec of each configured model for a builder outside the console (the `rollup` command): its
    reference read from the configured file, the log schema for models without one."""
    cols = feature_columns(schema)
    return {name: spec(mc, drift_reference(mc, read_reference(getattr(mc, "reference", None))), cols)
            for name, mc in (models or {}).items()}
