"""Data drift per feature and per dataset, with Evidently 0.7's defaults, over time windows.

The reference is prepared once (`Reference`): per column its kind, chosen test, sorted finite
values and category counts, so each refresh only sorts/counts the current window.

Default test (Evidently's `_get_default_stattest`), decided from the *reference* alone:

    reference rows <= 1000: numeric with > 5 distinct values -> "ks"       (drift if p <= 0.05)
                            otherwise, > 2 distinct values   -> "chisquare" (drift if p < 0.05)
                            otherwise                        -> "z"         (drift if p < 0.05)
    reference rows  > 1000: numeric with > 5 distinct values -> "wasserstein" (score >= 0.1)
                            otherwise                        -> "jensenshannon" (score >= 0.1)

Evidently counts distinct values over reference+current; counting the reference only keeps one
test per column across all windows, so a column's scores over time stay comparable.
"psi" (score >= 0.1) is available as an override. Comparison directions are Evidently's: KS
drifts at p <= threshold, chi-square and z at p < threshold, distances at score >= threshold;
the dataset drifts when the share of drifted columns >= the share threshold (0.5).

Missing data, all documented answers rather than errors: nulls, NaN and +-inf are dropped per
column (n_ref/n_cur count what is left); a column with no values left in the current data is
"no data", one absent from the current frame "missing", one empty in the reference
"no reference" -- none of these is drifted or counted in the drifted share. A window with no
evaluated column is "no data" and not drifted. Constant columns: the Wasserstein norm is
max(std, 0.001) as in Evidently. Categories unseen in the reference are counted as their own bin
(chi-square and JS handle them; PSI uses Evidently's small-value fill) and listed in stats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from console.analytics import drift_stats as st
from console.config import DRIFT_TEST_ALIASES
from console.analytics.windows import MIN_DRIFT_ROWS, JsonResult, bucket_expr, parse_window

NUMERIC, CATEGORICAL, BINARY = "numeric", "categorical", "binary"
SMALL_REFERENCE = 1000  # Evidently: up to this many reference rows, use hypothesis tests
NUMERIC_BIN_MIN_UNIQUE = 20  # Evidently bins numeric columns by Sturges above this many values
WASSERSTEIN_MIN_NORM = 0.001  # Evidently's floor on the reference std
OK, DRIFT, NO_DATA, MISSING, NO_REFERENCE = "ok", "drift", "no data", "missing", "no reference"
BORDERLINE = "borderline"  # a score from sketches whose error bound straddles the threshold
FEW_ROWS = "few rows"  # scored on fewer rows than a verdict needs: shown, never counted as drift
EXACT, SKETCH = "exact", "sketch"  # how a score was computed: raw rows, or merged hourly rollups


@dataclass(frozen=True)
class StatTest:
    name: str
    label: str
    is_pvalue: bool
    op: str  # how score compares with threshold to mean "drifted"
    default_threshold: float
    numeric_only: bool = False

    def drifted(self, score: float, threshold: float) -> bool:
        if math.isnan(score):
            return False
        return {"<=": score <= threshold, "<": score < threshold, ">=": score >= threshold}[self.op]

    def direction(self, threshold: float) -> str:
        return f"{'p' if self.is_pvalue else 'score'} {self.op} {threshold:g}"


TESTS: dict[str, StatTest] = {
    t.name: t
    for t in (
        StatTest("ks", "K-S p-value", True, "<=", 0.05, numeric_only=True),
        StatTest("wasserstein", "Wasserstein distance (normed)", False, ">=", 0.1, numeric_only=True),
        StatTest("psi", "PSI", False, ">=", 0.1),
        StatTest("jensenshannon", "Jensen-Shannon distance", False, ">=", 0.1),
        StatTest("chisquare", "chi-square p-value", True, "<", 0.05),
        StatTest("z", "Z-test p-value", True, "<", 0.05),
    )
}
_ALIASES = DRIFT_TEST_ALIASES  # one list of names, which the config checks too


def resolve_test(name: str) -> StatTest:
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in TESTS:
        raise ValueError(f"unknown drift test {name!r}; expected one of {', '.join(TESTS)}")
    return TESTS[key]


def default_test(numeric: bool, n_rows: int, n_unique: int) -> str:
    """Evidently 0.7's choice of test for a column (see module docstring)."""
    if n_rows <= SMALL_REFERENCE:
        if numeric and n_unique > 5:
            return "ks"
        return "chisquare" if n_unique > 2 else "z"
    return "wasserstein" if numeric and n_unique > 5 else "jensenshannon"


# ---------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ColumnDrift(JsonResult):
    column: str
    kind: str
    test: str
    score: float  # p-value or distance (see `direction`); NaN when not evaluated
    threshold: float
    direction: str  # e.g. "p <= 0.05" or "score >= 0.1": the condition that means drift
    drifted: bool
    n_ref: int
    n_cur: int
    stats: dict[str, Any] = field(default_factory=dict)
    status: str = OK  # ok | drift | borderline | no data | missing | no reference
    method: str = EXACT  # exact (raw rows) | sketch (rollups: the score is within `bound` of the exact one)
    bound: float | None = None  # sketch only: +- on the score (on the KS statistic D for "ks", see stats)

    @property
    def evaluated(self) -> bool:
        return self.status in (OK, DRIFT, BORDERLINE)


@dataclass(frozen=True)
class DatasetDrift(JsonResult):
    columns: tuple[ColumnDrift, ...]
    share: float  # drifted / evaluated columns (0.0 when none was evaluated)
    threshold: float
    drifted: bool
    n_drifted: int = 0
    n_evaluated: int = 0
    status: str = OK  # ok | drift | borderline | no data
    n_borderline: int = 0  # evaluated columns whose sketch score is too close to its threshold to call

    def column(self, name: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class WindowDrift(JsonResult):
    start: datetime
    end: datetime
    n_rows: int
    drift: DatasetDrift


@dataclass(frozen=True)
class Histograms(JsonResult):
    """Reference vs current shares over shared bins, for the side-by-side view."""

    column: str
    kind: str
    labels: tuple[str, ...]  # bin ranges "[a, b)" or category values
    edges: tuple[float, ...]  # numeric bins only (len(labels)+1), else empty
    ref_counts: tuple[int, ...]
    cur_counts: tuple[int, ...]
    ref_share: tuple[float, ...]
    cur_share: tuple[float, ...]


# -------------------------------------------------------------------------------------- reference


@dataclass(frozen=True, eq=False)
class ColumnReference:
    """Everything about one reference column that drift tests reuse."""

    name: str
    kind: str
    numeric: bool
    integer: bool
    test: StatTest
    threshold: float
    n: int
    n_dropped: int
    n_unique: int
    sorted_values: np.ndarray | None  # numeric: float64, finite, ascending
    std: float
    mean: float
    categories: tuple  # distinct values (ascending when comparable)
    counts: np.ndarray  # count per category

    @property
    def binned_numeric(self) -> bool:
        """Evidently's get_binned_data: Sturges bins only above 20 distinct reference values."""
        return self.numeric and self.n_unique > NUMERIC_BIN_MIN_UNIQUE


class Reference:
    """A reference dataset prepared once: per column kind, test, sorted values, counts."""

    def __init__(self, df: pl.DataFrame | pl.LazyFrame, columns: Iterable[str] | None = None,
                 overrides: Mapping[str, Mapping[str, Any]] | None = None,
                 presorted: Mapping[str, tuple[np.ndarray, int]] | None = None):
        """A LazyFrame (e.g. `pl.scan_parquet(path)`) is read one column at a time, so the raw
        reference never sits in memory next to its sorted copy. `presorted`: a numeric column's finite values
        sorted and how many were dropped, as `_finite_sorted` gives them, kept from an earlier preparation of
        the same file (sorting them was most of a process's preparing)."""
        presorted = presorted or {}
        lazy = isinstance(df, pl.LazyFrame)
        if not lazy:
            df = _as_polars(df)
        available = df.collect_schema().names() if lazy else df.columns
        names = list(columns) if columns is not None else list(available)
        overrides = dict(overrides or {})
        absent = [c for c in names if c not in available]
        if absent:
            raise ValueError(f"reference has no column {', '.join(map(repr, absent))}")
        unknown = [c for c in overrides if c not in available]  # a typo, not an unselected column
        if unknown:
            raise ValueError(f"drift overrides name column(s) the reference lacks: {', '.join(map(repr, unknown))}")

        def column(name: str) -> pl.Series:
            return df.select(name).collect().to_series() if lazy else df.get_column(name)

        self.columns: dict[str, ColumnReference] = {
            name: _prepare(column(name), overrides.get(name) or {}, presorted.get(name)) for name in names
        }
        self.n_rows = df.select(pl.len()).collect().item() if lazy else df.height

    @classmethod
    def from_polars(cls, df: pl.DataFrame, columns: Iterable[str] | None = None,
                    overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Reference:
        return cls(df, columns, overrides)

    def __getitem__(self, name: str) -> ColumnReference:
        return self.columns[name]

    def __iter__(self):
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)


def _as_polars(df: Any) -> pl.DataFrame:
    if isinstance(df, pl.DataFrame):
        return df
    if isinstance(df, pl.Series):
        return df.to_frame()
    return pl.DataFrame(pl.from_arrow(df)) if hasattr(df, "schema") else pl.DataFrame(df)


def _finite_sorted(s: pl.Series) -> tuple[np.ndarray, int]:
    """Sorted float64 values with nulls, NaN and +-inf removed, and how many were removed."""
    arr = s.cast(pl.Float64).to_numpy()
    finite = np.isfinite(arr)
    if not finite.all():
        arr = arr[finite]
    return np.sort(arr), s.len() - arr.size


def _sorted_categories(keys: Iterable[Any]) -> list:
    keys = list(keys)
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=lambda k: (type(k).__name__, str(k)))


def _value_counts(s: pl.Series) -> dict[Any, int]:
    """Counts per non-null value."""
    s = s.drop_nulls()
    if s.len() == 0:
        return {}
    vc = s.value_counts()
    return dict(zip(vc.get_column(s.name).to_list(), vc.get_column("count").to_list()))


def _distinct_counts(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if sorted_values.size == 0:
        return sorted_values, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    counts = np.diff(np.append(starts, sorted_values.size))
    return sorted_values[starts], counts


def _prepare(s: pl.Series, override: Mapping[str, Any],
             presorted: tuple[np.ndarray, int] | None = None) -> ColumnReference:
    numeric = s.dtype.is_numeric()
    if numeric:
        values, dropped = presorted if presorted is not None else _finite_sorted(s)
        n_unique = int(np.count_nonzero(values[1:] != values[:-1])) + 1 if values.size else 0
        # Category tables are only kept for few-valued numeric columns (chi-square, z, JS by value).
        categories, counts = (), np.zeros(0, dtype=np.int64)
        if n_unique <= NUMERIC_BIN_MIN_UNIQUE:
            uniq, counts = _distinct_counts(values)
            categories = tuple(uniq.tolist())
        std = float(np.std(values)) if values.size else math.nan
        mean = float(np.mean(values)) if values.size else math.nan
    else:
        counted = _value_counts(s)
        keys = _sorted_categories(counted)
        categories = tuple(keys)
        counts = np.array([counted[k] for k in keys], dtype=np.int64)
        values, dropped, n_unique = None, s.null_count(), len(keys)
        std = mean = math.nan
    n = s.len() - dropped
    kind = BINARY if n_unique == 2 else (NUMERIC if numeric else CATEGORICAL)
    unknown = set(override) - {"test", "threshold"}
    if unknown:
        raise ValueError(f"drift.{s.name}: unknown key(s) {', '.join(sorted(unknown))}; expected test, threshold")
    test = resolve_test(override["test"]) if override.get("test") else TESTS[default_test(numeric, n, n_unique)]
    if test.numeric_only and not numeric:
        raise ValueError(f"drift.{s.name}: test {test.name!r} needs a numeric column, got {s.dtype}")
    threshold = float(override["threshold"]) if override.get("threshold") is not None else test.default_threshold
    if not math.isfinite(threshold) or threshold < 0:
        raise ValueError(f"drift.{s.name}.threshold: expected a non-negative number, got {threshold!r}")
    return ColumnReference(
        name=s.name, kind=kind, numeric=numeric, integer=s.dtype.is_integer(), test=test,
        threshold=threshold, n=n, n_dropped=int(dropped), n_unique=n_unique, sorted_values=values,
        std=std, mean=mean, categories=categories, counts=counts,
    )


# -------------------------------------------------------------------------------- per-column drift


@dataclass
class _Current:
    """The current sample of one column, prepared as its reference column needs it."""

    n: int
    dropped: int
    sorted_values: np.ndarray | None = None
    counts: dict[Any, int] | None = None


def _prepare_current(ref: ColumnReference, s: pl.Series) -> _Current:
    if ref.numeric:
        if not s.dtype.is_numeric():
            s = s.cast(pl.Float64, strict=False)
        values, dropped = _finite_sorted(s)
        return _Current(n=int(values.size), dropped=int(dropped), sorted_values=values)
    if s.dtype != pl.Null and not _same_family(ref, s):
        s = s.cast(pl.String, strict=False)
    counted = _value_counts(s)
    return _Current(n=int(sum(counted.values())), dropped=int(s.null_count()), counts=counted)


def _same_family(ref: ColumnReference, s: pl.Series) -> bool:
    if not ref.categories:
        return True
    sample = ref.categories[0]
    if isinstance(sample, bool):
        return s.dtype == pl.Boolean
    if isinstance(sample, str):
        return s.dtype in (pl.String, pl.Categorical) or isinstance(s.dtype, pl.Enum)
    return True


def _category_table(ref: ColumnReference, cur: _Current) -> tuple[list, np.ndarray, np.ndarray]:
    """Counts of both samples over the union of categories (reference order, new ones after)."""
    if ref.numeric:
        if ref.categories:  # few distinct values: counted once when the reference was prepared
            ref_cats, ref_counts = np.asarray(ref.categories, dtype=np.float64), ref.counts
        else:
            ref_cats, ref_counts = _distinct_counts(ref.sorted_values)
        cur_cats, cur_counts = _distinct_counts(cur.sorted_values)
        keys = np.union1d(ref_cats, cur_cats)
        r = np.zeros(keys.size, dtype=np.int64)
        c = np.zeros(keys.size, dtype=np.int64)
        r[np.searchsorted(keys, ref_cats)] = ref_counts
        c[np.searchsorted(keys, cur_cats)] = cur_counts
        return keys.tolist(), r, c
    ref_index = {k: i for i, k in enumerate(ref.categories)}
    new = _sorted_categories(k for k in cur.counts if k not in ref_index)
    keys = list(ref.categories) + new
    r = np.concatenate((ref.counts, np.zeros(len(new), dtype=np.int64)))
    c = np.array([cur.counts.get(k, 0) for k in keys], dtype=np.int64)
    return keys, r, c


def _binned_counts(ref: ColumnReference, cur: _Current) -> tuple[list, np.ndarray | None, np.ndarray, np.ndarray]:
    """(labels, edges, ref counts, cur counts) as Evidently's get_binned_data bins them."""
    if ref.binned_numeric:
        a, b = ref.sorted_values, cur.sorted_values
        lo, hi = min(a[0], b[0]), max(a[-1], b[-1])
        edges = st.sturges_edges(float(lo), float(hi), a.size + b.size, integer=ref.integer)
        return [], edges, st.histogram_sorted(a, edges), st.histogram_sorted(b, edges)
    keys, r, c = _category_table(ref, cur)
    return keys, None, r, c


def _score(ref: ColumnReference, cur: _Current) -> tuple[float, dict[str, Any]]:
    name = ref.test.name
    if name == "ks":
        d, p = st.ks_sorted(ref.sorted_values, cur.sorted_values)
        return p, {"statistic": d, "p_value": p}
    if name == "wasserstein":
        raw = st.wasserstein_sorted(ref.sorted_values, cur.sorted_values)
        norm = max(ref.std, WASSERSTEIN_MIN_NORM)
        return raw / norm, {"distance": raw, "ref_std": ref.std, "norm": norm}
    if name in ("psi", "jensenshannon"):
        keys, edges, r, c = _binned_counts(ref, cur)
        rs, cs = r / ref.n, c / cur.n
        score = st.psi(rs, cs) if name == "psi" else st.jensenshannon(rs, cs)
        return score, {"bins": int(r.size), "binning": "sturges" if edges is not None else "values"}
    keys, r, c = _category_table(ref, cur)
    if name == "chisquare":
        stat, p, dof = st.chi2_two_sample(r, c)
        return p, {"statistic": stat, "dof": dof, "p_value": p}
    # z: Evidently maps the smallest category to 0 and everything else to 1
    if len(keys) <= 1:
        return 1.0, {"z": 0.0}
    z, p = st.z_two_proportions(int(ref.n - r[0]), ref.n, int(cur.n - c[0]), cur.n)
    return p, {"z": z, "p_value": p}


def _result(ref: ColumnReference, n_cur: int, status: str, score: float = math.nan,
            stats: dict[str, Any] | None = None) -> ColumnDrift:
    drifted = status == OK and ref.test.drifted(score, ref.threshold)
    return ColumnDrift(
        column=ref.name, kind=ref.kind, test=ref.test.name, score=float(score), threshold=ref.threshold,
        direction=ref.test.direction(ref.threshold), drifted=drifted, n_ref=ref.n, n_cur=n_cur,
        stats=stats or {}, status=DRIFT if drifted else status,
    )


def column_drift(ref: Reference | ColumnReference, current: pl.DataFrame | pl.Series,
                 column: str | None = None) -> ColumnDrift:
    """Drift of one column of `current` against its prepared reference."""
    col_ref = ref if isinstance(ref, ColumnReference) else ref[column]
    name = col_ref.name
    if isinstance(current, pl.Series):
        series = current
    elif current.height == 0:
        return _result(col_ref, 0, NO_DATA)
    elif name in current.columns:
        series = current.get_column(name)
    else:
        return _result(col_ref, 0, MISSING)
    if col_ref.n == 0:
        return _result(col_ref, 0, NO_REFERENCE)
    return prepared_drift(col_ref, _prepare_current(col_ref, series))


def prepared_drift(col_ref: ColumnReference, cur: _Current) -> ColumnDrift:
    """Drift of one column from its current sample already prepared (`column_drift`'s test, for a sample
    gathered in parts: `drift_windows`)."""
    if col_ref.n == 0:
        return _result(col_ref, 0, NO_REFERENCE)
    if cur.n == 0:
        return _result(col_ref, 0, NO_DATA, stats={"dropped": cur.dropped})
    score, stats = _score(col_ref, cur)
    stats["dropped"] = cur.dropped
    if col_ref.numeric:
        stats["mean_ref"], stats["mean_cur"] = col_ref.mean, float(np.mean(cur.sorted_values))
    else:
        new = [k for k in cur.counts if k not in set(col_ref.categories)]
        if new:
            stats["new_categories"] = [str(k) for k in _sorted_categories(new)[:10]]
            stats["n_new_categories"] = len(new)
    return _result(col_ref, cur.n, OK, score, stats)


def dataset_drift(ref: Reference, current: pl.DataFrame, share: float = 0.5,
                  columns: Iterable[str] | None = None) -> DatasetDrift:
    """Per-column verdicts and whether the share of drifted columns reaches `share`."""
    current = _as_polars(current)
    names = list(columns) if columns is not None else list(ref)
    results = tuple(column_drift(ref, current, name) for name in names)
    return summarize(results, share)


def summarize(results: tuple[ColumnDrift, ...], share: float = 0.5) -> DatasetDrift:
    evaluated = [r for r in results if r.evaluated]
    n_drifted = sum(r.drifted for r in evaluated)
    if not evaluated:
        return DatasetDrift(results, 0.0, share, False, 0, 0, NO_DATA)
    frac = n_drifted / len(evaluated)
    drifted = frac >= share
    borderline = sum(r.status == BORDERLINE for r in evaluated)
    # not drifted on the columns known to drift, but would be if the borderline ones did: the verdict is open
    status = DRIFT if drifted else BORDERLINE if (n_drifted + borderline) / len(evaluated) >= share else OK
    return DatasetDrift(results, frac, share, drifted, n_drifted, len(evaluated), status, borderline)


def too_few_rows(ds: DatasetDrift) -> DatasetDrift:
    """The same scores with no verdict: on a few dozen rows normed Wasserstein and Jensen-Shannon read sampling
    noise as drift (an undrifted model was 'dataset drift: YES 3/3' on 12 rows while the Overview, scoring its last
    MIN_DRIFT_ROWS rows as the rules do, said ok)."""
    cols = tuple(column_too_few_rows(c) for c in ds.columns)
    return replace(ds, columns=cols, share=0.0, drifted=False, n_drifted=0, status=FEW_ROWS, n_borderline=0)


def column_too_few_rows(c: ColumnDrift | None) -> ColumnDrift | None:
    """One column's score with no verdict (`too_few_rows`): a window's prediction and label drift too (the
    prediction said `ok` under features saying `few rows`)."""
    return replace(c, drifted=False, status=FEW_ROWS) if c is not None and c.evaluated else c


def thin_window(rows: int, ds: DatasetDrift | None, prediction: ColumnDrift | None, label: ColumnDrift | None):
    """(ds, prediction, label, note) of a window that held `rows` served rows: under MIN_DRIFT_ROWS, the same scores
    with no verdict and a note saying why, whichever path scored them (the rollups' said `ok`, exit 0, on 85 rows
    where the raw path said `few rows`, exit 2). (Nothing changes on an empty window: it has no scores.)"""
    if not 0 < rows < MIN_DRIFT_ROWS:
        return ds, prediction, label, ""
    note = ""
    if ds is not None and ds.n_evaluated:
        ds = too_few_rows(ds)
        note = (f"{rows} rows in this window; a drift verdict needs {MIN_DRIFT_ROWS} (the scores are shown, none "
                f"counted as drift): a longer window holds more, and the Overview's DRIFT cell scores the last "
                f"{MIN_DRIFT_ROWS} rows")
    return ds, column_too_few_rows(prediction), column_too_few_rows(label), note


def single_column_drift(reference: pl.DataFrame | pl.Series, current: pl.DataFrame | pl.Series,
                        column: str | None = None, test: str | None = None,
                        threshold: float | None = None) -> ColumnDrift:
    """Prediction drift or label drift: one column, its own reference, optional test/threshold."""
    reference = _as_polars(reference)
    column = column or reference.columns[0]
    override = {k: v for k, v in (("test", test), ("threshold", threshold)) if v is not None}
    ref = Reference(reference, [column], {column: override})
    cur = current.to_frame() if isinstance(current, pl.Series) else _as_polars(current)
    if isinstance(current, pl.Series) and current.name != column:
        cur = cur.rename({current.name: column})
    return column_drift(ref, cur, column)


def histograms(ref: Reference, current: pl.DataFrame, column: str) -> Histograms:
    """Two histograms of one feature on shared bins: Sturges edges on reference+current for
    numeric columns with > 20 distinct reference values, categories (union) otherwise."""
    col_ref = ref[column]
    if col_ref.n == 0:
        raise ValueError(f"reference column {column!r} has no values")
    current = _as_polars(current)
    if column in current.columns:
        cur = _prepare_current(col_ref, current.get_column(column))
    else:
        cur = _Current(n=0, dropped=0, sorted_values=np.zeros(0), counts={})
    if col_ref.binned_numeric:
        a = col_ref.sorted_values
        b = cur.sorted_values if cur.n else a[:0]
        lo = min(a[0], b[0]) if b.size else a[0]
        hi = max(a[-1], b[-1]) if b.size else a[-1]
        edges = st.sturges_edges(float(lo), float(hi), a.size + b.size, integer=col_ref.integer)
        r, c = st.histogram_sorted(a, edges), st.histogram_sorted(b, edges)
        labels = [f"[{edges[i]:.4g}, {edges[i + 1]:.4g}{']' if i == len(edges) - 2 else ')'}"
                  for i in range(len(edges) - 1)]
    else:
        if cur.n == 0:
            cur = _Current(n=0, dropped=0, sorted_values=np.zeros(0), counts={})
        keys, r, c = _category_table(col_ref, cur)
        edges, labels = None, [str(k) for k in keys]
    return Histograms(
        column=column, kind=col_ref.kind, labels=tuple(labels),
        edges=tuple(float(e) for e in edges) if edges is not None else (),
        ref_counts=tuple(int(x) for x in r), cur_counts=tuple(int(x) for x in c),
        ref_share=tuple(float(x) / col_ref.n for x in r),
        cur_share=tuple(float(x) / cur.n if cur.n else 0.0 for x in c),
    )


# -------------------------------------------------------------------------------------- over time


def _buckets(df: pl.DataFrame, ts_col: str, every: str) -> dict[datetime, pl.DataFrame]:
    if ts_col not in df.columns:
        raise ValueError(f"current data has no timestamp column {ts_col!r}")
    if df.height == 0:
        return {}
    if not df.schema[ts_col].is_temporal():
        raise ValueError(f"{ts_col}: expected a datetime column, got {df.schema[ts_col]}")
    keyed = df.with_columns(bucket_expr(every, ts_col).alias("__window"))
    parts = keyed.partition_by("__window", as_dict=True, include_key=False)
    return {key[0]: part for key, part in parts.items() if key[0] is not None}


def _window_range(starts: Iterable[datetime], every: str) -> list[datetime]:
    """Every window start from the first to the last seen, so empty windows show as "no data"."""
    starts = sorted(starts)
    if not starts:
        return []
    step = parse_window(every)
    out, t = [], starts[0]
    while t <= starts[-1]:
        out.append(t)
        t = t + step
    return out


def _window(ref: Reference, start: datetime, every: str, part: pl.DataFrame | None,
            share: float) -> WindowDrift:
    part = part if part is not None else pl.DataFrame()
    return WindowDrift(start, start + parse_window(every), part.height, dataset_drift(ref, part, share))


def drift_over_time(ref: Reference, current: pl.DataFrame, ts_col: str = "ts", every: str = "1h",
                    share: float = 0.5) -> list[WindowDrift]:
    """Dataset drift per window start (epoch-aligned), empty windows in between as "no data"."""
    parts = _buckets(_as_polars(current), ts_col, every)
    return [_window(ref, s, every, parts.get(s), share) for s in _window_range(parts, every)]


def onset(windows: Iterable[WindowDrift], column: str | None = None) -> datetime | None:
    """Start of the first window that drifted (the dataset, or one column)."""
    for w in windows:
        hit = w.drift.drifted if column is None else any(
            c.column == column and c.drifted for c in w.drift.columns)
        if hit:
            return w.start
    return None


class IncrementalDrift:
    """Windowed drift for live refresh: new rows only recompute the windows they fall in.

    Rows are kept per window (only the reference columns and the timestamp); a refresh costs
    the size of the touched windows, not of the history. `max_windows` bounds memory.
    """

    def __init__(self, ref: Reference, ts_col: str = "ts", every: str = "1h", share: float = 0.5,
                 max_windows: int | None = None):
        self.ref, self.ts_col, self.every, self.share = ref, ts_col, every, share
        self.max_windows = max_windows
        self._rows: dict[datetime, list[pl.DataFrame]] = {}
        self._results: dict[datetime, WindowDrift] = {}
        self._dirty: set[datetime] = set()
        self.recomputed: tuple[datetime, ...] = ()  # windows recomputed by the last refresh

    def update(self, new_rows: pl.DataFrame) -> set[datetime]:
        """Add rows; returns the window starts they touched."""
        new_rows = _as_polars(new_rows)
        keep = [c for c in new_rows.columns if c == self.ts_col or c in self.ref.columns]
        touched = set()
        for start, part in _buckets(new_rows.select(keep), self.ts_col, self.every).items():
            self._rows.setdefault(start, []).append(part)
            touched.add(start)
        self._dirty |= touched
        if self.max_windows is not None and len(self._rows) > self.max_windows:
            for old in sorted(self._rows)[: len(self._rows) - self.max_windows]:
                self._rows.pop(old)
                self._results.pop(old, None)
                self._dirty.discard(old)
        return touched

    def results(self) -> list[WindowDrift]:
        """All windows (gaps as "no data"), recomputing only those that received rows."""
        done = []
        for start in sorted(self._dirty):
            parts = self._rows[start]
            frame = parts[0] if len(parts) == 1 else pl.concat(parts, how="diagonal_relaxed")
            self._rows[start] = [frame]
            self._results[start] = _window(self.ref, start, self.every, frame, self.share)
            done.append(start)
        self._dirty.clear()
        self.recomputed = tuple(done)
        return [self._results.get(s) or _window(self.ref, s, self.every, None, self.share)
                for s in _window_range(self._results, self.every)]
