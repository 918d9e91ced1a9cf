"""Hourly rollups: per model, version, environment, variant, hour (and segment value), the mergeable
summary of its predictions, so a window of months is read as a merge of a few hundred rows.

One row holds: rows, errors, a status histogram, KLL sketches of latency and score, a KLL sketch
plus exact sum / sum of squares per numeric feature, exact counts (top N + other) per categorical
feature, token and cost sums, and for labelled rows what quality needs merged: a confusion table
of the prediction and score histograms by true class (classifiers: any threshold on a bucket edge,
and ROC AUC to the bucket's resolution), or error sums and an error sketch (regression).

Files: `<path>/<model, percent-quoted>/<start>_<end>_<generation>.parquet` (a long model name: a prefix and a
hash, `rollup_paths.folder_name`), one per build of an hour range, written to a temporary name and renamed. A
later generation covering an hour supersedes every earlier file's rows for that hour (how late labels recompute
an hour without rewriting a day). `_state.json` says up to which hour rollups are built and which label times were seen.
The Spark job (`console.spark.rollup_job`) writes the same schema.

Daily compaction (why: a month is 720 hours x a few groups x ~25 sketches, and Python merges
sketches one call at a time, 7 s for 30 days; a day row cuts that by 24). Once a UTC day is closed,
meaning every hour of it is covered by an hour file, `built_until` is past its end, and the
late-label pass of the catch-up has run, `compact_days` writes
`<path>/<model>/daily/<YYYYMMDD>_<generation>_<sources>.parquet`: one row per key (model, version,
environment, variant, segment, segment_value) merged from that day's hour rows, in the hour
schema with `hour` = the day's start, plus `day_hours`, a 24-bit mask of the hours that had rows
(so a merge still counts hours exactly). A separate folder rather than rows in the hour files,
so the hour files stay as they were written and a reader that wants hours (a per-hour series)
never meets a day row. A day file is valid while the hour files a reader sees are the ones it was
merged from: `<sources>` is a digest of the generation that wins each of the day's 24 hours. A late
label that rebuilds an hour writes a newer hour file, which invalidates the day at once with nothing
to delete, and the next catch-up compacts it again. Why a digest rather than "newer than every hour
file": builders sharing a folder (`rollup_remote`) each compact from their own view, and a day one of
them merged without another's newer hour would be newer than that hour and hide it. (Day files named
`<YYYYMMDD>_<generation>.parquet`, from before the digest, keep the generation rule.) Category counts
in a day row are the exact merge of the hour rows' (not cut to top N again), so a window read
through days and hours has exactly the counts of the all-hours merge; sketches are KLL merges of
merges, within the same rank-error bound. `read` (and `read_table(days=True)`) use a valid day for
every whole day inside the window and hour rows at the edges; `read_table` gives hour rows by default,
since its callers group them by hour.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from console.private_files import rename_durably
from console.rollup_paths import model_dir, model_of, name_folder
from console.analytics import quality as qu
from console.analytics import sketches as sk

KEYS = ("model", "version", "environment", "variant", "segment", "segment_value", "hour", "on_hour")
# `on_hour`: the row summarises the hour's rows stamped on its first instant (`ts == hour`, a batch job's rows, or a
# second-resolution log's hh:00:00) apart from the rest of the hour. A read of whole hours [h, h + 1h) merges both,
# as before; the rules' windows are (lo, hi] on the hour, so they read an hour's rest with the next hour's first
# instant (`rollup_rules`) and hold exactly the raw path's rows. A rollup written before the split is rebuilt where
# it is read (`ADDED`). Most hours of a sub-second log have no such row.
ON_HOUR = "on_hour"
BUCKETS = qu.BUCKETS  # score buckets of width 0.05 for the classifier histograms
STATUS_TOP = 20
OK_STATUS = "ok"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
DAILY = "daily"  # the folder of day rows inside a model's folder
DAY_MASK = "day_hours"  # on day rows: bit h set when hour h of the day had rows
# The codec of every rollup file (hour and day files): Snappy, not zstd. A read decodes each column chunk it asks
# for (a rule pass reads ~100 of them: a week of the rate columns, the latest window's 48 sketch columns), and
# pyarrow's zstd costs a fixed ~40 us a chunk: a day file's 48 drift columns read in 5.0 ms with zstd, 1.8 ms with
# Snappy (1.2 ms uncompressed), an 8-row file of a live hour in 2.8 / 1.0 ms. The sketches hardly compress, so
# the files are ~16% larger (a day of one model: 1.66 -> 1.93 MB). Files written before keep their codec.
COMPRESSION = "snappy"
STATE = "_state.json"
# Every writer of a rollup folder holds this one lock while it writes (`build_lock`): the console's catch-up
# and the `rollup` command both write hour and day files and `_state.json` into the same folder.
LOCK = ".build.lock"

# Columns every rollup has, in order; feature columns follow (num__/sum__/sq__ per numeric feature,
# cat__ per categorical one).
BASE_SCHEMA = pa.schema([
    ("model", pa.string()), ("version", pa.string()), ("environment", pa.string()), ("variant", pa.string()),
    ("segment", pa.string()), ("segment_value", pa.string()), ("hour", pa.timestamp("us")),
    ("rows", pa.int64()), ("errors", pa.int64()), ("status", pa.string()),
    ("latency_kll", pa.binary()), ("latency_sum", pa.float64()),
    ("score_kll", pa.binary()), ("score_sum", pa.float64()),
    ("input_tokens", pa.int64()), ("output_tokens", pa.int64()), ("cost_usd", pa.float64()),
    ("labelled", pa.int64()),
    ("cls_tp", pa.int64()), ("cls_fp", pa.int64()), ("cls_fn", pa.int64()), ("cls_tn", pa.int64()),
    ("cls_pos_hist", pa.list_(pa.field("element", pa.int64()))),
    ("cls_neg_hist", pa.list_(pa.field("element", pa.int64()))),
    ("reg_n", pa.int64()), ("reg_abs_sum", pa.float64()), ("reg_sq_sum", pa.float64()),
    ("reg_ape_sum", pa.float64()), ("reg_ape_n", pa.int64()), ("reg_err_kll", pa.binary()),
    # added for cost and quality from rollups (`ADDED`): see `analytics.cost.usage_aggs`, `quality.count_aggs`
    ("cost_n", pa.int64()), ("uncosted_input", pa.float64()), ("uncosted_cached", pa.float64()),
    ("uncosted_output", pa.float64()), ("cls_correct", pa.int64()),
    # added for prediction and label drift from rollups (`TARGETS`): see `target_columns`
    *((f"{t}_{part}", typ) for t in ("pred", "label") for part, typ in (
        ("kll", pa.binary()), ("sum", pa.float64()), ("sq", pa.float64()), ("counts", pa.string()),
        ("text", pa.string()))),
    # added so a past `--at T` counts only the labels known at T (`LABEL_TS`, `labels_after`), and the format's mark
    ("label_ts", pa.timestamp("us")),
    # added so the rules' (lo, hi] windows read an hour's first instant apart (`ON_HOUR`); false on most rows
    ("on_hour", pa.bool_()),
])
# The newest arrival time (the label log's `ts`) of the labels a row counts; null when it counts none. A view at a
# past time T reads an hour's label counts from its rollup only when they are what was known at T (`labels_after`).
LABEL_TS = "label_ts"
# Columns added after rollup files were first written: an hour whose file lacks one is rebuilt before cost or
# quality (or drift) read it (`RollupDrift._stale_hours`), as an hour built without a feature is. `LABEL_TS` is
# also the rollup format's mark: every hour written before it (by any builder) is rebuilt once where it is read,
# which re-keys the hours the `rollup` command wrote before it conformed its rows as the store does (c5f6766: a log
# without environment or variant columns gave hours keyed null, which every production read skipped, and a 404
# counted as an error); their row counts match the store's, so nothing else rebuilt them.
ADDED_SUMS = ("cost_n", "uncosted_input", "uncosted_cached", "uncosted_output", "cls_correct")
ADDED = (*ADDED_SUMS, LABEL_TS, ON_HOUR)
INT_SUMS = ("rows", "errors", "input_tokens", "output_tokens", "labelled", "cls_tp", "cls_fp", "cls_fn", "cls_tn",
            "reg_n", "reg_ape_n", "cost_n", "cls_correct")
# Prediction drift and label drift (`monitoring._target_drift`) compare a column of the window with the same column
# of the history's first days, numeric when any value is a number, else as text. Per target (prediction, label:
# the labelled rows only): a KLL sketch and exact sum / sum of squares of the finite numbers, their exact counts by
# value (`category_text`, top N + other: a few-valued number is tested on counts), and the text counts of the rows
# that are no number (prediction) or of every labelled row (label: its text test reads all of them). Not in `ADDED`:
# an hour built without them is read raw for these two scores, not rebuilt (a rebuild of a month costs minutes).
TARGETS = {"pred": ("prediction_num", "prediction"), "label": ("label_num", "label")}
COUNT_COLUMNS = frozenset({"status", *(f"{t}_{p}" for t in TARGETS for p in ("counts", "text"))})
FLOAT_SUMS = ("cost_usd", "reg_abs_sum", "reg_sq_sum", "reg_ape_sum", "uncosted_input", "uncosted_cached",
              "uncosted_output")


def target_columns() -> list[str]:
    """The rollup columns prediction and label drift read (see `TARGETS`)."""
    return [f"{t}_{p}" for t in TARGETS for p in ("kll", "sum", "sq", "counts", "text")]


@dataclass(frozen=True)
class ModelSpec:
    """What to summarise for one model; `rollup_spec.spec` decides it (from the reference's drift kinds,
    else the log's column types) for every builder. `by_value` are categorical features that are numbers
    counted by value (a 0/1 flag): their keys are the text of the finite float value (`category_text`)."""

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    task: str = "classification"  # classification | regression | llm
    positive_label: str = "1"
    by_value: tuple[str, ...] = ()

    @classmethod
    def of(cls, spec: ModelSpec | Mapping[str, Any] | None) -> ModelSpec:
        if isinstance(spec, ModelSpec):
            return spec
        spec = dict(spec or {})
        return cls(numeric=tuple(spec.get("numeric", ())), categorical=tuple(spec.get("categorical", ())),
                   segments=tuple(spec.get("segments", ())), task=str(spec.get("task", "classification")),
                   positive_label=str(spec.get("positive_label", "1")), by_value=tuple(spec.get("by_value", ())))


def _category(col: pl.Expr, by_value: bool) -> pl.Expr:
    """A value as its category key: text, or for a number counted by value the text of its finite float
    value, so 1, 1.0 and true are one key ("1.0"), -0.0 is "0.0", and NaN or text that is no number is
    not counted (as the exact engine drops them)."""
    if not by_value:
        return col.cast(pl.String)
    x = col.cast(pl.Float64, strict=False)
    return pl.when(x == 0).then(pl.lit(0.0)).when(x.is_finite()).then(x).cast(pl.String)


def category_text(values: pl.Series, by_value: bool) -> pl.Series:
    """`values` as category keys (see `_category`); the Spark job re-keys its counts with this too."""
    return values.to_frame().select(_category(pl.col(values.name), by_value)).to_series()


def typed(df: pl.DataFrame, spec: ModelSpec) -> pl.DataFrame:
    """A model's feature columns as its rollups summarise them, whoever builds: numeric ones as floats
    (text that is no number is null), categorical ones as their category keys."""
    cols = [pl.col(f).cast(pl.Float64, strict=False) for f in spec.numeric if f in df.columns]
    cols += [_category(pl.col(f), f in spec.by_value).alias(f) for f in spec.categorical if f in df.columns]
    return df.with_columns(cols) if cols else df


def schema_for(spec: ModelSpec | Mapping[str, Any]) -> pa.Schema:
    spec = ModelSpec.of(spec)
    fields = list(BASE_SCHEMA)
    for f in spec.numeric:
        fields += [pa.field(f"num__{f}", pa.binary()), pa.field(f"sum__{f}", pa.float64()),
                   pa.field(f"sq__{f}", pa.float64())]
    fields += [pa.field(f"cat__{f}", pa.string()) for f in spec.categorical]
    return pa.schema(fields)


def empty_table(spec: ModelSpec | Mapping[str, Any]) -> pa.Table:
    return schema_for(spec).empty_table()


# --------------------------------------------------------------------------------- files and reading


_model_dir = model_dir  # (rollup_paths: where a model's rollup files are, without importing this module)


def _stamp(t: datetime) -> str:
    return t.strftime("%Y%m%dT%H")


_NAME = re.compile(r"^(\d{8}T\d{2})_(\d{8}T\d{2})_(\d+)\.parquet$")


def write(tables: Mapping[str, pa.Table], path: str | os.PathLike, start: datetime, end: datetime) -> list[Path]:
    """One file per model for the hours [start, end); it supersedes earlier files' rows for them.

    Every model in `tables` gets a file even when empty, so an hour rebuilt with no rows hides
    whatever an earlier build said about it.
    """
    written = []
    # Past every generation already here: a box whose clock runs behind still supersedes what it has seen
    # (another builder's files pulled into a mirror).
    gen = max([time.time_ns(), *(f.generation + 1 for m in tables for f in files(path, m)[-1:])])
    for model, table in tables.items():
        d = _model_dir(path, model)
        d.mkdir(parents=True, exist_ok=True)
        name_folder(d, model)
        target = d / f"{_stamp(start)}_{_stamp(end)}_{gen}.parquet"
        tmp = d / f".{target.name}.tmp"
        meta = {b"rollup.start": start.isoformat().encode(), b"rollup.end": end.isoformat().encode()}
        pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), **meta}), tmp,
                       compression=COMPRESSION)
        rename_durably(tmp, target)
        written.append(target)
    return written


@dataclass(frozen=True)
class RollupFile:
    path: Path
    start: datetime
    end: datetime
    generation: int


_WHOLE: dict[tuple[str, int], bool] = {}  # (file, size) -> whether it ends as a Parquet file does


def _whole(p: Path) -> bool:
    """Whether a rollup (hour or day) file ends with Parquet's closing magic: a file cut short (a crash or power loss before its
    blocks reached the disk left it empty) counts as absent, so its hours are built again, instead of failing
    every read that reaches it (ArrowInvalid, exit 4). Once per name and size: a file never changes under its name."""
    try:
        size = p.stat().st_size
    except OSError:
        return False
    key = (str(p), size)
    if key not in _WHOLE:
        try:
            with open(p, "rb") as fh:
                fh.seek(max(size - 4, 0))
                _WHOLE[key] = size >= 12 and fh.read(4) == b"PAR1"
        except OSError:
            return False
    return _WHOLE[key]


def files(path: str | os.PathLike, model: str) -> list[RollupFile]:
    d = _model_dir(path, model)
    if not d.is_dir():
        return []
    out = []
    for p in d.iterdir():
        m = _NAME.match(p.name)
        if m and _whole(p):
            out.append(RollupFile(p, datetime.strptime(m.group(1), "%Y%m%dT%H"),
                                  datetime.strptime(m.group(2), "%Y%m%dT%H"), int(m.group(3))))
    return sorted(out, key=lambda f: f.generation)


def models(path: str | os.PathLike) -> list[str]:
    p = Path(path)
    if not p.is_dir():
        return []
    named = (model_of(d) for d in p.iterdir() if d.is_dir() and not d.name.startswith("."))
    return sorted(m for m in named if m is not None)


def _read_hours(path: str | os.PathLike, model: str, start: datetime, end: datetime,
                listed: list[RollupFile] | None = None, columns: list[str] | None = None) -> pa.Table | None:
    """The current hour rows of `model` for hours in [start, end): for each hour, the rows of the
    newest file covering it. None when no rollup covers any of these hours."""
    covering = [f for f in (files(path, model) if listed is None else listed) if f.start < end and f.end > start]
    if not covering:
        return None
    frames = []
    for i, f in enumerate(covering):  # ascending generation
        newer = [n for n in covering[i + 1:] if n.start < f.end and n.end > f.start]  # only those that overlap it
        try:  # one file's footer (opened once: its names from it too) and columns, no dataset discovery
            pf = pq.ParquetFile(f.path)
            t = pl.from_arrow(pf.read(columns=_present(f.path, columns, pf.schema_arrow.names)))
        except FileNotFoundError:  # pruned by a newer build meanwhile: its hours are in the newer file
            continue
        t = t.filter((pl.col("hour") >= start) & (pl.col("hour") < end))
        if not t.height:
            continue
        # Drop the hours a newer file covers.
        keep = pl.lit(True)
        for n in newer:
            keep = keep & ~((pl.col("hour") >= n.start) & (pl.col("hour") < n.end))
        t = t.filter(keep)
        if t.height:
            frames.append(t)
    if not frames:
        empty = pq.read_schema(covering[-1].path).empty_table()
        return empty.select(_present(covering[-1].path, columns)) if columns is not None else empty
    return pl.concat(frames, how="diagonal_relaxed").sort("hour").to_arrow()


def _present(path: str | os.PathLike, columns: list[str] | None, names: Iterable[str] | None = None
             ) -> list[str] | None:
    """The asked columns a rollup file holds (files written before a column existed lack it); None: all.
    `names`: the file's column names when its footer is open already (else read once per process)."""
    if columns is None:
        return None
    names = _names(str(path)) if names is None else frozenset(names)
    return [c for c in dict.fromkeys(["hour", *columns]) if c in names]


@functools.lru_cache(maxsize=4096)
def _names(path: str) -> frozenset[str]:
    """A rollup file's column names: a file never changes under its name (a rebuild writes a new one)."""
    return frozenset(pq.read_schema(path).names)


def read_table(path: str | os.PathLike, model: str, start: datetime, end: datetime,
               days: bool = False, columns: list[str] | None = None) -> pa.Table | None:
    """The current rollup rows of `model` for [start, end), one row per key and hour. With `days=True`
    (for a merge of the whole window, as `read` does), a valid day row (`day_hours` not null, `hour` =
    the day's start) stands for each compacted whole day inside the window, hour rows for the rest;
    hours stay the default because callers group these rows by hour (series, per-hour checks).
    `columns` reads only those (and `hour`). None when no rollup covers any hour."""
    listed = files(path, model)
    whole = valid_days(path, model, start, end, listed) if days else {}
    if not whole:
        return _read_hours(path, model, start, end, listed, columns)
    frames, gaps, t = [], [], start
    for day in sorted(whole):
        if t < day:
            gaps.append((t, day))
        t = day + DAY
    if t < end:
        gaps.append((t, end))
    for day, f in sorted(whole.items()):
        try:
            pf = pq.ParquetFile(f.path)  # no dataset discovery per file
            frames.append(pl.from_arrow(pf.read(
                columns=None if columns is None else _present(f.path, [*columns, "day_hours"], pf.schema_arrow.names))))
        except FileNotFoundError:  # replaced by a newer compaction meanwhile: read its hours
            gaps.append((day, day + DAY))
    for a, b in gaps:
        t = _read_hours(path, model, a, b, listed, columns)
        if t is not None and t.num_rows:
            frames.append(pl.from_arrow(t))
    return pl.concat(frames, how="diagonal_relaxed").sort("hour").to_arrow()


# ------------------------------------------------------------------------------------------ merging


@dataclass
class Summary:
    """The merge of rollup rows: what a window's screens need, from sketches and sums."""

    rows: int = 0
    errors: int = 0
    hours: int = 0
    status: dict[str, int] = field(default_factory=dict)
    latency: sk.Sketch | None = None
    score: sk.Sketch | None = None
    sums: dict[str, float] = field(default_factory=dict)  # latency, score, cost_usd, tokens, reg_*
    labelled: int = 0
    confusion: dict[str, int] = field(default_factory=dict)  # tp fp fn tn
    pos_hist: np.ndarray | None = None
    neg_hist: np.ndarray | None = None
    reg_err: sk.Sketch | None = None
    numeric: dict[str, sk.Sketch] = field(default_factory=dict)
    moments: dict[str, tuple[int, float, float]] = field(default_factory=dict)  # n, sum, sum of squares
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def mean_std(self, feature: str) -> tuple[float, float]:
        n, s, q = self.moments.get(feature, (0, 0.0, 0.0))
        if not n:
            return math.nan, math.nan
        mean = s / n
        return mean, math.sqrt(max(q / n - mean * mean, 0.0))

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.rows if self.rows else None


def merge_table(table: pa.Table | None, where: Mapping[str, Any] | None = None,
                segment: tuple[str, str] | None = None) -> Summary:
    """One Summary from rollup rows: the whole-group rows (segment null), or one segment value's.

    `where` filters on key columns (e.g. {"environment": "production"}).
    """
    out = Summary()
    if table is None or not table.num_rows:
        return out
    df = pl.from_arrow(table)
    if segment is None:
        df = df.filter(pl.col("segment").is_null())
    else:
        df = df.filter((pl.col("segment") == segment[0]) & (pl.col("segment_value") == segment[1]))
    for col, value in (where or {}).items():
        df = df.filter(pl.col(col).is_null() if value is None else pl.col(col) == value)
    if not df.height:
        return out
    out.rows = int(df["rows"].sum())
    out.errors = int(df["errors"].sum())
    out.hours = _hours_with_rows(df)
    out.status = sk.merge_counts(df["status"].to_list())
    out.latency = sk.merge(df["latency_kll"].to_list())
    out.score = sk.merge(df["score_kll"].to_list())
    for c in ("latency_sum", "score_sum", "cost_usd", "input_tokens", "output_tokens", "reg_n", "reg_abs_sum",
              "reg_sq_sum", "reg_ape_sum", "reg_ape_n", *ADDED_SUMS):
        if c in df.columns:  # a file written before `ADDED` lacks those
            out.sums[c] = df[c].sum()
    out.labelled = int(df["labelled"].sum())
    out.confusion = {c: int(df[f"cls_{c}"].sum()) for c in ("tp", "fp", "fn", "tn")}
    for name in ("pos", "neg"):
        hists = [h for h in df[f"cls_{name}_hist"].to_list() if h is not None]
        setattr(out, f"{name}_hist", np.sum(np.array(hists, dtype=np.int64), axis=0) if hists else None)
    out.reg_err = sk.merge(df["reg_err_kll"].to_list())
    for c in df.columns:
        if c.startswith("num__"):
            f = c[5:]
            s = sk.merge(df[c].to_list())
            if s is not None:
                out.numeric[f] = s
                out.moments[f] = (int(s.n), float(df[f"sum__{f}"].sum()), float(df[f"sq__{f}"].sum()))
        elif c.startswith("cat__"):
            out.counts[c[5:]] = sk.merge_counts(df[c].to_list())
    return out


def read(path: str | os.PathLike, model: str, start: datetime, end: datetime,
         where: Mapping[str, Any] | None = None, segment: tuple[str, str] | None = None) -> Summary:
    """The merged rollup of `model` over the closed hours in [start, end)."""
    return merge_table(read_table(path, model, start, end, days=True), where, segment)


# ------------------------------------------------------------------------------- incremental builds


def floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def load_state(path: str | os.PathLike) -> dict[str, Any]:
    p = Path(path) / STATE
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def merge_state(*states: Mapping[str, Any]) -> dict[str, Any]:
    """One state from several builders' (a folder shared through `rollup_remote`): the furthest time of
    each key, so a builder that saw less never moves another's progress back. Non-time values: the last."""
    out: dict[str, Any] = {}
    for state in states:
        for key, value in state.items():
            try:
                if key in out and datetime.fromisoformat(str(out[key])) >= datetime.fromisoformat(str(value)):
                    continue
            except (TypeError, ValueError):
                pass
            out[key] = value
    return out


def build_lock(path: str | os.PathLike):
    """The rollup folder's writers' lock (a `filelock.FileLock`, not yet held). One for both writers: with a lock
    each (`.build.lock` and `.rollup.lock` before), a console catching up and a `rollup` run could write one folder
    at once, compacting the same day and writing the state through the same temporary name."""
    import filelock

    Path(path).mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(str(Path(path) / LOCK))


def save_state(path: str | os.PathLike, state: Mapping[str, Any]) -> None:
    p = Path(path) / STATE
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{STATE}.tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True, default=str), encoding="utf-8")
    rename_durably(tmp, p)


Scan = Callable[[datetime, datetime], Iterator[pa.RecordBatch]]  # predictions with start <= ts < end
Labels = Callable[[datetime | None], pa.Table | None]  # labels logged after the time (all if None)
Builder = Callable[[datetime, datetime], dict[str, pa.Table]]  # rollup tables of [start, end)


@dataclass
class CatchUp:
    built: list[tuple[datetime, datetime]] = field(default_factory=list)
    rebuilt_hours: list[datetime] = field(default_factory=list)
    rows: int = 0
    files: list[Path] = field(default_factory=list)
    # rows at or after the build's end, by why they were left (`rollup_engine.rows_left`): the open hour (built
    # once it closes), past --until, past the clock-skew horizon (set aside as the store sets them aside)
    left: dict[str, int] = field(default_factory=dict)
    left_from: datetime | None = None  # the build's end: hours from it on were not built by this run
    # rows of JSONL and CSV logs set aside as the store sets them aside (`rollup_text`), by reason
    set_aside: dict[str, int] = field(default_factory=dict)
    # hours built before this run rebuilt because their sources changed since (`rollup_changes.changed_hours`),
    # each with why: "added" (files added: late rows, a backfilled model), "removed" (files deleted), "appended" (rows
    # appended to a text log), "rewritten" (a file rewritten in place, a table's data files replaced)
    source_hours: dict[datetime, str] = field(default_factory=dict)
    # hours this run built from the files there are that a deleted text log file held rows of (`rollup_changes.gone`):
    # the store keeps that file's rows, so the command then counts them against the store (`rollup_build.from_store`)
    gone_hours: list[datetime] = field(default_factory=list)
    store_hours: list[datetime] = field(default_factory=list)  # those of them then rebuilt from the store's rows


def hour_ranges(hours: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Contiguous [start, end) ranges covering the given hours."""
    out: list[list[datetime]] = []
    for h in sorted(set(hours)):
        if out and out[-1][1] == h:
            out[-1][1] = h + HOUR
        else:
            out.append([h, h + HOUR])
    return [(a, b) for a, b in out]


def catch_up(path: str | os.PathLike, build: Builder, now: datetime, since: datetime | None = None,
             until: datetime | None = None, chunk: timedelta = timedelta(days=1),
             late_label_hours: Callable[[datetime, datetime], Iterable[datetime]] | None = None,
             labels_seen: Callable[[], datetime | None] | None = None,
             progress: Callable[[str], None] | None = None,
             source_hours: Callable[[datetime, datetime], Mapping[datetime, str]] | None = None,
             sources: list | None = None, label_sources: list | None = None,
             next_rows: Callable[[datetime], datetime | None] | None = None,
             keep: Mapping[str, Any] | None = None) -> CatchUp:
    """Builds the hours that closed since the last build (or [since, until)), in chunks, then
    rebuilds the hours whose predictions got labels since the last build, and those whose sources changed.

    `build(start, end)` returns rollup tables for [start, end) (local engine or Spark);
    `late_label_hours(after, before)` lists prediction hours before `before` that gained labels
    logged after `after`; `labels_seen()` is the newest label time now visible; `source_hours(start, end)` the
    hours of [start, end), built before, whose sources changed since, with why; `sources` is what the build read
    (`rollup_changes.encode`), kept in the state for the next run's `source_hours` once this one has built;
    `label_sources` the same of the label files, kept once the late labels' hours are rebuilt; `next_rows(t)` the
    first hour at or after t that holds rows (None: none), so a stretch without rows is built as one range, not a
    chunk at a time; `keep` more of the state, written with the record of what was read.
    """
    import pyarrow.compute as pc  # here only: the readers of rollups (health, cost, the overview) need none of it

    state = load_state(path)
    latest = labels_seen() if labels_seen else None  # before building: a label logged meanwhile is seen next time
    closed = floor_hour(min(now, until) if until else now)
    built_until = datetime.fromisoformat(state["built_until"]) if state.get("built_until") else None
    start = floor_hour(since) if since else built_until
    if start is not None and built_until is not None and start > built_until:
        # `--since` after where the last build ended: the hours between are built too (a day between an
        # `--until` and a later `--since` stayed unbuilt for good, and no later run saw anything to do)
        start = built_until
    if start is None:
        raise ValueError("no rollup yet: give --since for the first build")
    out = CatchUp()
    t = start
    while t < closed:
        end = min(t + chunk, closed)
        if next_rows is not None:  # no row before `first`: [t, first) is one empty range, built (and checked) at once
            first = next_rows(t)
            end = max(end, closed if first is None else min(floor_hour(first), closed))
        tables = build(t, end)
        out.files += write(tables, path, t, end)
        out.rows += sum(int(pc.sum(pc.filter(tab["rows"], pc.is_null(tab["segment"]))).as_py() or 0)
                        for tab in tables.values() if tab.num_rows)
        out.built.append((t, end))
        # kept after each chunk, so a run that dies (killed, out of memory, a source gone) resumes where it
        # stopped: the state was written only at the end, and a killed build of a month started again from its first day
        state = {**state, "built_until": max(end, built_until or end).isoformat()}
        if sources is not None and SOURCES not in state:
            # a first build keeps what it reads from with its first chunk: a run killed midway left built hours
            # and no record, and the files changed before the resume were never rebuilt (a record already kept
            # stays until the end: the hours it says changed are rebuilt below, after the new ones)
            state[SOURCES] = sources
        save_state(path, state)
        if progress:
            progress(f"built {t:%Y-%m-%d %H}:00 .. {end:%Y-%m-%d %H}:00")
        t = end
    # Late labels: hours built before this run whose predictions got labels since the last one.
    seen = datetime.fromisoformat(state["labels_seen"]) if state.get("labels_seen") else None
    fresh = {a for a, b in out.built for a in _hours(a, b)}
    dirty: list[datetime] = []
    if late_label_hours is not None and seen is not None and built_until is not None:
        dirty = sorted(h for h in late_label_hours(seen, min(built_until, start)) if h not in fresh)
        out.rebuilt_hours = dirty
    if source_hours is not None and built_until is not None:
        first = built_from(path)
        if first is not None and first < built_until:
            out.source_hours = {h: why for h, why in source_hours(first, built_until).items() if h not in fresh}
    # each hour once, late labels or sources, rebuilt from what the sources hold now, a chunk at a time as built
    # (a Delta table compacted replaces every file: a year rebuilt in one range held a year's rollups at once)
    for a, b in (r for lo, hi in hour_ranges([*dirty, *out.source_hours]) for r in _chunks(lo, hi, chunk)):
        out.files += write(_emptied(build(a, b), path, a, b), path, a, b)
        if progress:
            why = sorted({"late labels" for h in dirty if a <= h < b}
                         | {f"sources {out.source_hours[h]}" for h in out.source_hours if a <= h < b})
            progress(f"rebuilt {a:%Y-%m-%d %H}:00 .. {b:%Y-%m-%d %H}:00 ({', '.join(why)})")
    new_state = dict(state)
    if out.built:
        new_state["built_until"] = max(closed, built_until or closed).isoformat()
    if latest is not None:
        new_state["labels_seen"] = max(latest, seen or latest).isoformat()
    if sources is not None:  # else the record stays: the next run rebuilds from it at worst hours not changed
        new_state[SOURCES] = sources
    if label_sources is not None:
        new_state[LABEL_SOURCES] = label_sources
    new_state.update(keep or {})
    save_state(path, new_state)
    return out


SOURCES = "sources"  # in the state: the parts the last build read (`rollup_changes.encode`)
LABEL_SOURCES = "label_sources"  # and the label files' parts (`rollup_engine._back_dated`)
GONE = "gone_text"  # and the time ranges of the text log files deleted since a build read them (`rollup_changes.gone`)


def _emptied(tables: dict[str, pa.Table], path: str | os.PathLike, start: datetime,
             end: datetime) -> dict[str, pa.Table]:
    """A rebuild's tables, with an empty one for each model built before over [start, end) that has no rows there
    now (its only file deleted): without it, that model's old rows stayed in its rollups."""
    out = dict(tables)
    for model in models(path):
        if model in out:
            continue
        held = [f for f in files(path, model) if f.start < end and f.end > start]
        if held:
            out[model] = pq.read_schema(held[-1].path).empty_table()
    return out


def built_from(path: str | os.PathLike) -> datetime | None:
    """The first hour any model's rollups cover (their files' names say it)."""
    starts = [f.start for m in models(path) for f in files(path, m)]
    return min(starts) if starts else None


def _chunks(a: datetime, b: datetime, chunk: timedelta) -> Iterator[tuple[datetime, datetime]]:
    while a < b:
        yield a, min(a + chunk, b)
        a += chunk


def _hours(a: datetime, b: datetime) -> Iterator[datetime]:
    while a < b:
        yield a
        a += HOUR


# ------------------------------------------------------------------------------- daily compaction


@dataclass(frozen=True)
class DayFile:
    path: Path
    day: datetime
    generation: int
    sources: str | None = None  # digest of the hour generations it was merged from (None: an older name)


_DAY_NAME = re.compile(r"^(\d{8})_(\d+)(?:_([0-9a-f]{16}))?\.parquet$")


def day_files(path: str | os.PathLike, model: str) -> list[DayFile]:
    d = _model_dir(path, model) / DAILY
    if not d.is_dir():
        return []
    out = []
    for p in d.iterdir():
        m = _DAY_NAME.match(p.name)
        if m and _whole(p):  # (one cut short: the day is read from its hours, and compacted again)
            out.append(DayFile(p, datetime.strptime(m.group(1), "%Y%m%d"), int(m.group(2)), m.group(3)))
    return sorted(out, key=lambda f: (f.day, f.generation))


def _winners(listed: list[RollupFile], start: datetime, end: datetime) -> dict[datetime, int]:
    """The generation of the newest file covering each hour of [start, end) (hours no file covers absent)."""
    out: dict[datetime, int] = {}
    for f in listed:  # ascending generation: later ones overwrite
        if f.start < end and f.end > start:
            for h in _hours(max(f.start, start), min(f.end, end)):
                out[h] = f.generation
    return out


def _sources(day: datetime, winners: Mapping[datetime, int]) -> str:
    """The digest naming which hour files a day row was merged from (see the module docstring)."""
    gens = ",".join(str(winners.get(h, 0)) for h in _hours(day, day + DAY))
    return hashlib.sha1(gens.encode()).hexdigest()[:16]


def _covered(day: datetime, listed: list[RollupFile]) -> bool:
    """Every hour of the day is inside some hour file's range."""
    t = day
    for f in sorted((f for f in listed if f.start < day + DAY and f.end > day), key=lambda f: f.start):
        if f.start > t:
            return False
        t = max(t, f.end)
    return t >= day + DAY


def valid_days(path: str | os.PathLike, model: str, start: datetime, end: datetime,
               listed: list[RollupFile] | None = None) -> dict[datetime, DayFile]:
    """The compacted days wholly inside [start, end), each with its newest day file merged from the hour
    files that win its hours now (a rebuilt hour, or one another builder wrote, invalidates its day)."""
    listed = files(path, model) if listed is None else listed
    candidates = [f for f in day_files(path, model) if start <= f.day and f.day + DAY <= end]
    if not candidates:
        return {}
    winners = _winners(listed, start, end)
    digests = {day: _sources(day, winners) for day in {f.day for f in candidates if f.sources is not None}}
    out: dict[datetime, DayFile] = {}
    for f in candidates:  # by day, then generation: the last valid one wins
        hours = [winners[h] for h in _hours(f.day, f.day + DAY) if h in winners]
        if not hours:
            continue
        if f.sources is None:  # named before the digest: valid while newer than its hours
            ok = f.generation > max(hours)
        else:
            ok = f.sources == digests[f.day]
        if ok:
            out[f.day] = f
    return out



def merge_rows(table: pa.Table, day: datetime, k: int = sk.K) -> pa.Table:
    """One day row per key from hour rows of that day (the rollup schema plus `day_hours`).

    Sketches are KLL-merged here (compaction draws random bits): a day row is written once and read identically
    ever after, unlike a merge at read time (reads union sketches: `sketches.Dist.union`). One grouped
    aggregation gathers each key's values (a Series operation per key and column cost ~20 us, 1-2 s a cold week);
    only sketches, counts and histograms are merged in Python."""
    schema = pa.schema([pa.field(f.name, _plain_type(f.type)) for f in table.schema])
    if DAY_MASK in schema.names:
        raise ValueError("merge_rows takes hour rows")
    group = [c for c in KEYS if c != "hour" and c in schema.names]  # (hours written before `ON_HOUR` lack it)
    ints = [n for n in schema.names if n not in KEYS and pa.types.is_integer(schema.field(n).type)]
    times = [n for n in schema.names if n not in KEYS and pa.types.is_timestamp(schema.field(n).type)]
    floats = [n for n in schema.names if pa.types.is_floating(schema.field(n).type)]
    rest = [n for n in schema.names if n not in KEYS and n not in (*ints, *times, *floats)]
    agg = pl.from_arrow(table).group_by(group, maintain_order=True).agg(
        pl.col("hour").dt.hour().alias(DAY_MASK), *(pl.col(n).fill_null(0).sum() for n in ints),
        *(pl.col(n).max() for n in times), *(pl.col(n) for n in (*floats, *rest)))
    cols: dict[str, list] = {c: agg.get_column(c).to_list() for c in (*group, *ints, *times)}
    cols["hour"] = [day] * agg.height
    cols[DAY_MASK] = [functools.reduce(lambda m, h: m | 1 << h, hours, 0)
                      for hours in agg.get_column(DAY_MASK).to_list()]
    for name in floats:  # added in row order, as Series.sum adds fewer than 128 values (a key has <= 24 hour rows)
        cols[name] = [_sum_in_order(v) for v in agg.get_column(name).to_list()]
    for name in rest:
        values = agg.get_column(name).to_list()
        if name.endswith("_kll") or name.startswith("num__"):
            cols[name] = [sk.serialize(sk.merge(v, k)) for v in values]
        elif name in COUNT_COLUMNS or name.startswith("cat__"):
            cols[name] = [sk.encode_counts(sk.merge_counts(v)) for v in values]
        else:  # the classifier histograms (lists)
            cols[name] = [_hist_sum(v) for v in values]
    return pa.table({n: cols[n] for n in [*schema.names, DAY_MASK]},
                    schema=schema.append(pa.field(DAY_MASK, pa.int32())))


def _sum_in_order(values: list) -> float:
    """The sum of a float column's values (nulls as 0), added in row order: what Polars' `Series.sum` gives for
    fewer than 128 values, which a grouped `sum` does not (it adds in another order, so its last bit differs)."""
    total = 0.0
    for v in values:
        if v is not None:
            total += v
    return total


def _hist_sum(hists: list) -> list | None:
    hists = [h for h in hists if h is not None]
    return np.sum(np.array(hists, dtype=np.int64), axis=0).tolist() if hists else None


def _plain_type(t: pa.DataType) -> pa.DataType:
    """The type a rollup file stores (polars hands back views and large types)."""
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_large_list(t) or pa.types.is_list_view(t) or pa.types.is_list(t):
        return pa.list_(pa.field("element", pa.int64()))
    return t


def compact_days(path: str | os.PathLike, models_: Iterable[str] | None = None,
                 progress: Callable[[str], None] | None = None) -> list[Path]:
    """Writes a day file for every closed day (all hours covered and built before `built_until`)
    that has none valid; removes the day files it makes stale. Returns the files written."""
    state = load_state(path)
    if not state.get("built_until"):
        return []
    closed = datetime.fromisoformat(state["built_until"])
    written = []
    for model in models_ if models_ is not None else models(path):
        listed = files(path, model)
        if listed:
            written += compact_range(path, model, min(f.start for f in listed), closed, listed, progress)
    return written


def compact_range(path: str | os.PathLike, model: str, start: datetime, end: datetime,
                  listed: list[RollupFile] | None = None, progress: Callable[[str], None] | None = None) -> list[Path]:
    """Writes a day file for every UTC day wholly inside [start, end) that every hour file covers and that has
    none valid. The caller vouches that those hours are current (the `rollup` command: built before
    `built_until`; the console's catch-up: hour counts checked against the store)."""
    listed = files(path, model) if listed is None else listed
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    day = day if day == start else day + DAY
    if not listed or day + DAY > end:
        return []
    valid = valid_days(path, model, day, end, listed)
    written = []
    for day in _days_with_rows(listed, day, end):
        if day not in valid and _covered(day, listed):
            hours = _read_hours(path, model, day, day + DAY, listed)
            table = merge_rows(hours, day) if hours is not None else None
            if table is not None:
                sources = _sources(day, _winners(listed, day, day + DAY))
                written.append(_write_day(path, model, day, table, sources))
                if progress:
                    progress(f"compacted {model} {day:%Y-%m-%d}")
    return written


def _days_with_rows(listed: list[RollupFile], start: datetime, end: datetime) -> list[datetime]:
    """The UTC days from `start` (a day's start) wholly before `end` that a file holding rows reaches: a day only
    empty files cover has nothing to compact (an empty range of 56 years, from a row dated 1970, was read and
    written a day at a time)."""
    days: set[datetime] = set()
    for f in listed:
        try:
            if not pq.read_metadata(f.path).num_rows:
                continue
        except FileNotFoundError:  # pruned by a newer build meanwhile
            continue
        d = max(start, f.start.replace(hour=0, minute=0, second=0, microsecond=0))
        while d < f.end and d + DAY <= end:
            days.add(d)
            d += DAY
    return sorted(days)


def _write_day(path: str | os.PathLike, model: str, day: datetime, table: pa.Table, sources: str) -> Path:
    d = _model_dir(path, model) / DAILY
    d.mkdir(parents=True, exist_ok=True)
    target = d / f"{day:%Y%m%d}_{time.time_ns()}_{sources}.parquet"
    tmp = d / f".{target.name}.tmp"
    pq.write_table(table.replace_schema_metadata({b"rollup.day": day.isoformat().encode()}), tmp,
                   compression=COMPRESSION)
    rename_durably(tmp, target)  # on the disk before the files it replaces go
    for old in day_files(path, model):  # the older files of this day are stale now
        if old.day == day and old.path != target:
            old.path.unlink(missing_ok=True)
    return target


def _hours_with_rows(df: pl.DataFrame) -> int:
    """Distinct hours with rows among hour rows and day rows (a day row's `day_hours` mask)."""
    if DAY_MASK not in df.columns:
        return df["hour"].n_unique()
    seen = set(df.filter(pl.col(DAY_MASK).is_null())["hour"].to_list())
    for day, mask in df.filter(pl.col(DAY_MASK).is_not_null()).select("hour", DAY_MASK).iter_rows():
        seen.update(day + timedelta(hours=h) for h in range(24) if mask >> h & 1)
    return len(seen)


def built_at(generation: int) -> datetime:
    """When a rollup file was written: its generation is the builder's clock in nanoseconds (`write`)."""
    return datetime(1970, 1, 1) + timedelta(microseconds=generation // 1000)


def labels_after(rows: pl.DataFrame, at: datetime, generations: Mapping[datetime, int]) -> set[datetime]:
    """The hours among rollup rows (`hour`, `labelled`, `LABEL_TS` when the file has it) whose label counts are not
    the ones known at `at`: a row counting a label that arrived after `at`, or a row counting labels whose time is
    unknown (written before `LABEL_TS`) in a file written after `at` (`generations`: hour -> generation that wins
    it; an hour missing from it counts as written after). A view at `at` reads these hours' label numbers raw,
    with the labels logged up to `at`, as the raw path joins them (`quality.join_labels(now=at)`); at a live `now`
    no hour is one."""
    if not rows.height or "labelled" not in rows.columns:
        return set()
    df = rows.filter(pl.col("labelled") > 0)
    if LABEL_TS not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias(LABEL_TS))
    out = set(df.filter(pl.col(LABEL_TS) > at)["hour"].to_list())
    for h in df.filter(pl.col(LABEL_TS).is_null())["hour"].unique().to_list():
        gen = generations.get(h)
        if gen is None or built_at(gen) > at:
            out.add(h)
    return out
