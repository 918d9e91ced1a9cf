"""Mergeable summaries (Apache DataSketches KLL, exact category counts) and drift measured on them.

A window of months is the merge of its hourly summaries, so the drift of a long window never reads
raw rows; what that costs is accuracy, and every score here says how much:

* KS from two KLL sketches: the sketches' CDFs are step functions, so the largest gap sits at one of
  their retained items and is found exactly on them. Each sketch's rank error is at most its
  `normalized_rank_error` (DataSketches' 99% bound for a single rank), so the statistic is within
  the sum of the two (0 for an exact reference or a sketch still in exact mode). The p-value is the
  one `ks_2samp` gives for the sketch statistic and sizes (`drift_stats.ks_pvalue`); `p_range`
  holds the p-values at statistic +- bound, and the verdict is "borderline" when the threshold
  falls inside it.
* Normed Wasserstein on the sketches' quantile functions (the weighted retained items), divided by
  the reference's standard deviation (Evidently's norm, floored at 0.001). KLL bounds ranks, not
  values, so a worst-case value bound spans the tails and says nothing; the bound given is an
  estimate: how far each quantile function moves, on average over ranks, when its ranks shift by
  one standard deviation of the rank error (eps / 2.576) either way, summed over both sketches. On
  normal and log-normal data of 1e5-1e6 rows with k=200 the observed error stays 2-3x inside it. To it
  is added what float32 values and float64 sums can move the score (`_rounding`, `_arithmetic`): a
  strict bound, the whole bound when both sides are exact (eps 0).
* PSI, Jensen-Shannon and chi-square on category counts are exact (counts merge exactly), with
  Evidently's / scipy's definitions from `drift_stats`; their bound is 0 unless a category was
  folded into "other": then no bound is known (NaN) and the verdict says "borderline" when it matters.

Values are taken as float32 (what the KLL floats sketch holds; Spark's `kll_sketch_agg_float`
writes the same binary format); nulls, NaN and infinities are dropped, as the exact engine does.
"""

from __future__ import annotations

import functools
import json
import math
import struct
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from datasketches import kll_floats_sketch

from console.analytics import drift_stats as st

if TYPE_CHECKING:  # pyarrow only where Arrow data comes in (`group_sketches`): the overview and health merge sketches
    # and values read back as Polars/numpy, and a process that never imported pyarrow holds no Arrow column
    import pyarrow as pa

K = 200  # DataSketches' and Spark's default: about 1.3% single-rank error at 99% confidence
# Items a drift summary keeps when combining sketches or raw values (`Dist.union(..., limit)`, `Dist.thin`): a
# deterministic thinning whose rank error is at most 1 / ITEMS (0.024%), against a sketch's 1.3%.
ITEMS = 4096
TOP_N = 100  # categories kept exactly per column and group; the rest are counted as OTHER
OTHER = "\x00other"  # a key no logged value can take (control characters are rejected upstream)
Z99 = 2.5758  # DataSketches states eps at 99% confidence: eps / Z99 is one standard deviation
DRIFTED, OK, BORDERLINE = "drifted", "ok", "borderline"
WASSERSTEIN_MIN_NORM = 0.001

Sketch = kll_floats_sketch


# ------------------------------------------------------------------------------------------ sketches


CLIP = float(np.finfo(np.float32).max)  # the largest value a sketch holds: larger ones are clipped to it


def clipped(value: float | None) -> bool:
    """Whether a value read from a sketch sits at the clip (`finite_float32`): the values there were at least
    that large, by how much the sketch cannot say (a latency of 1e308 reads 3.4e38). Its reader takes the raw
    rows instead, where the value is exact."""
    return value is not None and math.isfinite(value) and abs(value) >= CLIP


def finite_float32(values: Any) -> np.ndarray:
    """Finite values of an Arrow/Polars/numpy column as float32 (nulls, NaN and +-inf removed)."""
    pa = sys.modules.get("pyarrow")  # an Arrow column comes only from a process that imported pyarrow
    if pa is not None and isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = pl.Series(values)
    if isinstance(values, pl.Series):
        values = values.cast(pl.Float64, strict=False).drop_nulls().to_numpy()
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    # Values beyond float32's range would become inf: clip them to its largest finite value (`clipped`).
    return np.clip(arr, -CLIP, CLIP).astype(np.float32)


def kll(values: Any = None, k: int = K) -> Sketch:
    sk = kll_floats_sketch(k)
    if values is not None:
        arr = finite_float32(values)
        if arr.size:
            sk.update(arr)
    return sk


def serialize(sk: Sketch | None) -> bytes | None:
    return None if sk is None or sk.is_empty() else bytes(sk.serialize())


def deserialize(blob: bytes | Sketch | None) -> Sketch | None:
    if blob is None or isinstance(blob, kll_floats_sketch):
        return blob
    if len(blob) == 0:
        return None
    return kll_floats_sketch.deserialize(bytes(blob))


def merge(sketches: Iterable[bytes | Sketch | None], k: int = K) -> Sketch | None:
    """One sketch of everything the given ones saw (None when none saw a value).

    A KLL merge compacts with random bits (DataSketches takes no seed), so merging the same sketches twice gives
    slightly different sketches. Use it where the result is written once and read identically ever after (the
    day rows of `store_rollups.compact_range`); what is combined at read time for a score goes through
    `Dist.union`, which is deterministic."""
    out = None
    for s in sketches:
        s = deserialize(s)
        if s is None or s.is_empty():
            continue
        if out is None:
            out = kll_floats_sketch(max(k, s.k))
        out.merge(s)
    return out


def _items(blob: bytes) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(items, weights, n, min k) of a serialized KLL floats sketch, read from its bytes: DataSketches' format is
    an 8-byte preamble (flags: 1 empty, 4 one item, which follows it), then n, min k, the number of levels, each
    level's start, min, max and the retained items level by level; an item of level h weighs 2^h. Reading the bytes
    costs ~20 us where iterating a sketch from Python costs ~0.7 ms (a month's trend parses ~60,000 hour sketches),
    and gives the weights the binding's iterator loses for a merged sketch (1 for every item, datasketches 5.2)."""
    if (blob[0], blob[1]) not in ((2, 1), (2, 2), (5, 1)):  # not the compact form C++ writes: let it rewrite it
        blob = bytes(kll_floats_sketch.deserialize(blob).serialize())
    flags, k = blob[3], struct.unpack_from("<H", blob, 4)[0]
    if flags & 1:
        return np.zeros(0, np.float32), np.zeros(0), 0, k
    if flags & 4:
        return np.frombuffer(blob, "<f4", 1, 8), np.ones(1), 1, k
    n, min_k, levels = struct.unpack_from("<QHB", blob, 8)
    starts = struct.unpack_from(f"<{levels}I", blob, 20)
    items = np.frombuffer(blob, "<f4", offset=20 + 4 * levels + 8)  # float32, as the sketch holds them
    if levels == 1:
        return items, np.ones(items.size), n, min_k
    sizes = [b - a for a, b in zip(starts, (*starts[1:], starts[0] + items.size))]
    return items, np.repeat(_POW2[:levels], sizes), n, min_k


_POW2 = 2.0 ** np.arange(64)


def _blob_items(blobs: list[bytes]) -> tuple[np.ndarray, np.ndarray, list[int], list[float]] | None:
    """`_weights` of many serialized sketches at once, read from their bytes joined into one buffer: (their items
    and weights one after another, each non-empty one's n and rank error). What `_items` reads, in the same order,
    without its ~4 us of Python per sketch (a week's window unions ~170 hour sketches per feature). Every field of
    the forms read here is 4-byte aligned (the sizes are multiples of 4), so the buffer is read as 32-bit words.
    None when a blob is in another form (`_items` then reads each)."""
    lens = np.fromiter(map(len, blobs), np.int64, len(blobs))
    if lens.min() < 8 or np.any(lens & 3):
        return None
    words = np.frombuffer(b"".join(blobs), "<u4")
    at = np.concatenate(([0], np.cumsum(lens[:-1]))) // 4  # each blob's first word
    head = words[at]
    pre, ver, flags = head & 0xFF, (head >> 8) & 0xFF, head >> 24
    full = (pre == 5) & (ver == 1) & (flags & 5 == 0)
    single = (pre == 2) & ((ver == 1) | (ver == 2)) & (flags & 5 == 4)
    if not np.all(full | single | ((pre == 2) & ((ver == 1) | (ver == 2)) & (flags & 1 == 1))):
        return None
    f_at = at[full]
    if np.any(lens[full] < 28):
        return None
    kl = words[f_at + 4]  # min k (16 bits), number of levels (8 bits)
    levels = ((kl >> 16) & 0xFF).astype(np.int64)
    first = f_at + 5 + levels + 2  # each full sketch's first item: after n, k, levels, their starts, min and max
    count = f_at + lens[full] // 4 - first
    if np.any(count < 0) or np.any(levels < 1):
        return None
    # each full sketch's levels' sizes from their starts (the last level ends at its last item)
    cum = np.cumsum(levels)
    lv_idx = np.arange(int(cum[-1]) if cum.size else 0) - np.repeat(cum - levels, levels)
    starts = words[np.repeat(f_at + 5, levels) + lv_idx].astype(np.int64)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[cum - 1] = starts[cum - levels] + count
    sizes = ends - starts
    if np.any(sizes < 0):
        return None
    start = np.zeros(len(blobs), np.int64)  # each blob's first item and number of items (a single one's follows
    num = np.zeros(len(blobs), np.int64)  # its 8-byte preamble)
    start[full], num[full] = first, count
    start[single], num[single] = at[single] + 2, 1
    total = int(num.sum())
    items = words[np.repeat(start - (np.cumsum(num) - num), num) + np.arange(total)].view("<f4")
    weights = np.ones(total)
    weights[np.repeat(full, num)] = np.repeat(_POW2[lv_idx], sizes)
    n = np.zeros(len(blobs), np.int64)
    n[full] = words[f_at + 2].astype(np.int64) | (words[f_at + 3].astype(np.int64) << 32)
    n[single] = 1
    k = np.zeros(len(blobs), np.int64)
    k[full] = kl & 0xFFFF
    keep = np.flatnonzero(n)
    ns = n[keep].tolist()
    errs = [_kll_error(kk) if nn > c else 0.0 for kk, nn, c in zip(k[keep].tolist(), ns, num[keep].tolist())]
    return items, weights, ns, errs


@functools.cache
def _kll_error(k: int) -> float:
    return float(kll_floats_sketch.get_normalized_rank_error(k, False))


def _weights(x: Any) -> tuple[np.ndarray, np.ndarray, int, float, Any]:
    """(items, weights, n, rank error, the Dist itself or None) of a Dist or a serialized sketch (`Dist.union`)."""
    if isinstance(x, Dist):
        return x.values, x.weights, x.n, x.eps, x
    blob = bytes(x.serialize()) if isinstance(x, kll_floats_sketch) else bytes(x)
    if not blob:
        return np.zeros(0), np.zeros(0), 0, 0.0, None
    items, weights, n, k = _items(blob)
    return items, weights, n, _kll_error(k) if n > items.size else 0.0, None


def rank_error(sk: Sketch | None) -> float:
    """The single-rank error at 99% confidence; 0 while the sketch still holds every value."""
    if sk is None or sk.is_empty() or not sk.is_estimation_mode():
        return 0.0
    return float(sk.normalized_rank_error(False))


# ------------------------------------------------------------------------------------ category counts


def value_counts(values: Any, top: int = TOP_N) -> dict[str, int]:
    """Exact counts per value (as text), the `top` most frequent kept and the rest under OTHER."""
    s = values if isinstance(values, pl.Series) else pl.Series(values)
    s = s.drop_nulls()
    if s.len() == 0:
        return {}
    if s.dtype != pl.String:
        s = s.cast(pl.String)
    vc = s.value_counts(name="n")
    return _top(dict(zip(vc.get_column(s.name).to_list(), vc.get_column("n").to_list())), top)


def _top(counts: Mapping[str, int], top: int | None) -> dict[str, int]:
    other = int(counts.get(OTHER, 0))
    items = sorted(((k, int(v)) for k, v in counts.items() if k != OTHER), key=lambda kv: (-kv[1], kv[0]))
    if top is not None and len(items) > top:
        other += sum(v for _, v in items[top:])
        items = items[:top]
    out = dict(items)
    if other:
        out[OTHER] = other
    return out


def merge_counts(counts: Iterable[Mapping[str, int] | str | None], top: int | None = None) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in counts:
        if isinstance(c, str):
            c = decode_counts(c)
        for key, v in (c or {}).items():
            total[key] = total.get(key, 0) + int(v)
    return _top(total, top)


def encode_counts(counts: Mapping[str, int] | None) -> str | None:
    """Counts as compact JSON (the rollup column); keys sorted so equal counts give equal text."""
    if not counts:
        return None
    return json.dumps({k: int(counts[k]) for k in sorted(counts)}, separators=(",", ":"), ensure_ascii=False)


def decode_counts(text: str | None) -> dict[str, int]:
    return {k: int(v) for k, v in json.loads(text).items()} if text else {}


# ------------------------------------------------------------------------------------- distributions


@dataclass(frozen=True, eq=False)
class Dist:
    """A weighted sorted sample: a sketch's retained items, or an exact column (weights of 1)."""

    values: np.ndarray  # ascending, distinct, float64
    cum: np.ndarray  # cumulative weight up to and including each value
    n: int
    eps: float  # the single-rank error (0 when exact)

    @classmethod
    def of(cls, x: Sketch | bytes | np.ndarray | Sequence[float] | pl.Series | None) -> Dist:
        if isinstance(x, Dist):  # prepared once by the caller (a reference scored against many windows)
            return x
        if x is None:
            return cls(np.zeros(0), np.zeros(0), 0, 0.0)
        if isinstance(x, (bytes, bytearray, memoryview, kll_floats_sketch)):
            blob = bytes(x.serialize()) if isinstance(x, kll_floats_sketch) else bytes(x)
            if not blob:
                return cls.of(None)
            items, weights, n, eps, _ = _weights(blob)
            return cls._weighted(items, weights, n, eps) if n else cls.of(None)
        arr = x.cast(pl.Float64, strict=False).drop_nulls().to_numpy() if isinstance(x, pl.Series) else x
        arr = np.asarray(arr, dtype=np.float64)
        arr = np.sort(arr[np.isfinite(arr)])
        return cls._weighted(arr, np.ones(arr.size), int(arr.size), 0.0)

    @classmethod
    def _weighted(cls, v: np.ndarray, w: np.ndarray, n: int, eps: float, runs: bool = False) -> Dist:
        """`runs`: v is a few ascending runs (Dists' values one after another), which a stable sort (timsort)
        merges ~10x faster than an argsort sorts them; float32 values (sketch items) are ordered by a radix sort of
        their bits (`_radix_order`, ~3x faster)."""
        # Ties are summed below, and the weights are integers (2^level, counts), so their order does not matter
        # (an argsort is 3x a stable sort's speed on unordered values), but for -0.0 and 0.0: which one their run
        # keeps is the argsort's choice, kept; a fast order that puts them otherwise is not used.
        fast = runs or v.dtype == np.float32
        order = np.argsort(v, kind="stable") if runs else _radix_order(v) if fast else np.argsort(v)
        sv = v[order]
        if fast and sv.size and (_both_zeros(sv) or np.isnan(sv[0]) or np.isnan(sv[-1])):
            order = np.argsort(v)
            sv = v[order]
        v, w = sv.astype(np.float64, copy=False), w[order]
        if v.size:
            last = np.flatnonzero(np.append(v[1:] != v[:-1], True))  # last index of each run of ties
            cum = np.cumsum(w)[last]
            v = v[last]
        else:
            cum = np.zeros(0)
        return cls(v, cum, n, eps)

    @classmethod
    def union(cls, parts: Iterable[Dist | bytes | None], limit: int | None = None) -> Dist:
        """The weighted items of several distributions as one, without a KLL merge: a merge compacts with
        random bits, so the same rollups would give a slightly different percentile or drift score on every
        read, while the union of their items is deterministic and at least as close. Its rank error is at most
        the parts' errors weighted by their sizes (each part's ranks are off by at most eps_i * n_i). With
        `limit`, the union is thinned to about that many items (`thin`: its error grows by at most 1 / limit),
        so a month of hours stays a few thousand items, as a merged sketch would. A part may be a serialized
        sketch (a rollup cell): its items join the others' unsorted, so the union sorts once."""
        parts = [p for p in parts if p is not None]
        if len(parts) > 1 and all(type(p) is bytes for p in parts):  # a rollup column's cells
            many = _blob_items(parts)
            if many is not None:
                items, weights, ns, errs = many
                n = sum(ns)
                if not n:
                    return cls.of(None)
                out = cls._weighted(items, weights, n, sum(e * m for e, m in zip(errs, ns)) / n)
                return out.thin(limit) if limit is not None else out
        got = [_weights(p) for p in parts]
        got = [g for g in got if g[2]]
        if not got:
            return cls.of(None)
        if len(got) == 1 and isinstance(got[0][4], Dist):
            out = got[0][4]
        else:
            n = sum(g[2] for g in got)
            # sketches' items stay float32 until sorted (faster), then float64 as every Dist holds them
            out = cls._weighted(np.concatenate([g[0] for g in got]), np.concatenate([g[1] for g in got]), n,
                                sum(g[3] * g[2] for g in got) / n, runs=all(g[4] is not None for g in got))
        return out.thin(limit) if limit is not None else out

    def thin(self, limit: int = ITEMS) -> Dist:
        """At most about `limit` items, deterministically: the first item whose cumulative weight reaches each
        j / limit of the total, with its cumulative weight. The CDF is exact at every item kept, and between two
        kept items the weight skipped is below total / limit, so the rank error grows by at most 1 / limit."""
        if self.values.size <= limit:
            return self
        targets = self.total * np.arange(1, limit + 1) / limit
        keep = np.minimum(np.searchsorted(self.cum, targets, side="left"), self.values.size - 1)
        keep = keep[np.append(True, keep[1:] != keep[:-1])]  # ascending: each index once
        return Dist(self.values[keep], self.cum[keep], self.n, self.eps + 1.0 / limit)

    @functools.cached_property
    def weights(self) -> np.ndarray:
        """Each value's own weight (kept: a rate window's latency is the union of its hours' Dists, and a quiet
        model's hourly windows share hundreds of hours each: 430,000 differences in a `check` over two months)."""
        return np.diff(self.cum, prepend=0.0)

    @property
    def total(self) -> float:
        return float(self.cum[-1]) if self.cum.size else 0.0

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Share of weight <= x."""
        idx = np.searchsorted(self.values, x, side="right")
        c = np.concatenate(([0.0], self.cum))
        return c[idx] / self.total

    @functools.cached_property
    def share(self) -> np.ndarray:
        """Cumulative share up to and including each value (a reference's is used against every window)."""
        return self.cum / self.total

    @functools.cached_property
    def rank_shift(self) -> float:
        """`_rank_shift` of this distribution, once: a reference's is the same against every trend bucket."""
        return _rank_shift(self)

    def quantiles(self, t: np.ndarray) -> np.ndarray:
        """Left-continuous quantile function: the smallest value whose cumulative share >= t."""
        share = self.share
        idx = np.searchsorted(share, np.clip(t, 0.0, 1.0), side="left")
        return self.values[np.minimum(idx, self.values.size - 1)]

    def linear_quantiles(self, t: np.ndarray) -> np.ndarray:
        """numpy's default quantile (linear interpolation between the values at ranks floor and ceil of
        (n - 1) * t) of an exact sample (`eps` 0, integer weights): what the raw path computes over rows."""
        h = (self.total - 1) * np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
        lo, hi = np.floor(h), np.ceil(h)
        last = self.values.size - 1
        at_lo = self.values[np.minimum(np.searchsorted(self.cum, lo, side="right"), last)]
        at_hi = self.values[np.minimum(np.searchsorted(self.cum, hi, side="right"), last)]
        return at_lo + (h - lo) * (at_hi - at_lo)

    def mean_std(self) -> tuple[float, float]:
        w = self.weights
        mean = float(np.dot(w, self.values) / self.total)
        var = float(np.dot(w, (self.values - mean) ** 2) / self.total)
        return mean, math.sqrt(max(var, 0.0))


def _radix_order(v: np.ndarray) -> np.ndarray:
    """A stable ascending order of float32 values: their bits made to sort as the values do, sorted by two stable
    passes over 16-bit halves (numpy's radix sort), low half first. -0.0 comes before 0.0, NaN at an end."""
    bits = v.view(np.uint32)
    key = np.where(bits >= np.uint32(0x80000000), ~bits, bits | np.uint32(0x80000000))
    low = np.argsort(key.astype(np.uint16), kind="stable")
    return low[np.argsort((key >> np.uint32(16)).astype(np.uint16)[low], kind="stable")]


def _both_zeros(v: np.ndarray) -> bool:
    """Whether ascending `v` holds both -0.0 and 0.0 (equal, so a sort may order them either way)."""
    a, b = np.searchsorted(v, 0.0, "left"), np.searchsorted(v, 0.0, "right")
    if b - a < 2:
        return False
    signs = np.signbit(v[a:b])
    return bool(signs.any() and not signs.all())


# ------------------------------------------------------------------------------------------ scores


@dataclass(frozen=True)
class SketchScore:
    test: str
    score: float  # p-value for ks / chisquare, distance otherwise
    bound: float  # +- on `score` for distances, on `statistic` for ks
    threshold: float
    verdict: str  # drifted | ok | borderline
    statistic: float | None = None  # KS D, chi-square statistic
    p_range: tuple[float, float] | None = None  # p-values at statistic + bound and statistic - bound
    n_ref: int = 0
    n_cur: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def verdict(op: str, lo: float, hi: float, threshold: float) -> str:
    """"drifted" / "ok" when the whole range [lo, hi] of the score is on one side of the threshold.

    `op` is how a score compares with the threshold to mean drift ("<=", "<" for p-values, ">=" for
    distances), as in `drift.TESTS`.
    """
    def drifts(x: float) -> bool:
        return {"<=": x <= threshold, "<": x < threshold, ">=": x >= threshold}[op]

    a, b = drifts(lo), drifts(hi)
    if a and b:
        return DRIFTED
    if not a and not b:
        return OK
    return BORDERLINE


def ks(ref: Any, cur: Any, threshold: float = 0.05) -> SketchScore:
    """Two-sample KS between sketches (or an exact reference array and a sketch)."""
    r, c = Dist.of(ref), Dist.of(cur)
    if not r.n or not c.n:
        return SketchScore("ks", math.nan, math.nan, threshold, OK, None, None, r.n, c.n, {"status": "no data"})
    points = np.union1d(r.values, c.values)
    d = float(np.max(np.abs(r.cdf(points) - c.cdf(points))))
    bound = r.eps + c.eps
    _, p = st.ks_pvalue(d, r.n, c.n)
    p_lo = st.ks_pvalue(min(d + bound, 1.0), r.n, c.n)[1]
    p_hi = st.ks_pvalue(max(d - bound, 0.0), r.n, c.n)[1]
    return SketchScore("ks", p, bound, threshold, verdict("<=", p_lo, p_hi, threshold), d, (p_lo, p_hi),
                       r.n, c.n)


def wasserstein(ref: Any, cur: Any, ref_std: float | None = None, threshold: float = 0.1) -> SketchScore:
    """Normed Wasserstein-1 on quantile functions; `ref_std` defaults to the reference sample's."""
    r, c = Dist.of(ref), Dist.of(cur)
    if not r.n or not c.n:
        return SketchScore("wasserstein", math.nan, math.nan, threshold, OK, None, None, r.n, c.n,
                           {"status": "no data"})
    if ref_std is None or not math.isfinite(ref_std):
        ref_std = r.mean_std()[1]
    norm = max(ref_std, WASSERSTEIN_MIN_NORM)
    raw = _w1(r, c)
    bound = (r.rank_shift + c.rank_shift + _rounding(r) + _rounding(c) + _arithmetic(r, c)) / norm
    score = raw / norm
    return SketchScore("wasserstein", score, bound, threshold,
                       verdict(">=", max(score - bound, 0.0), score + bound, threshold), None, None, r.n, c.n,
                       {"distance": raw, "norm": norm})


def _w1(a: Dist, b: Dist) -> float:
    """Integral over t of |Q_a(t) - Q_b(t)|, exactly, over the merged steps of both.

    The steps are the two ascending shares merged by a stable sort (timsort merges the two runs), and where
    each step's quantile sits in each (`quantiles`: how many of its shares lie below the step) is counted in the
    same pass: the union1d and two searchsorted calls this replaces gave the same steps and indices at ~3x the
    cost."""
    sa, sb = a.share, b.share
    both = np.concatenate((sa, sb))
    order = np.argsort(both, kind="stable")
    merged = both[order]
    first = np.flatnonzero(np.concatenate(([True], merged[1:] != merged[:-1])))  # each distinct step's first place
    from_a = order < sa.size
    below_a = (np.cumsum(from_a) - from_a)[first]  # a's shares before the step's first place: all below it
    below_b = first - below_a
    grid = merged[first]
    keep = grid > 0
    grid, below_a, below_b = grid[keep], below_a[keep], below_b[keep]
    width = np.diff(np.concatenate(([0.0], grid)))
    qa = a.values[np.minimum(below_a, a.values.size - 1)]
    qb = b.values[np.minimum(below_b, b.values.size - 1)]
    return float(np.dot(width, np.abs(qa - qb)))


F32_ROUNDOFF = 2.0 ** -24  # float32's unit roundoff: a value held as float32 is within this share of itself


def _rounding(d: Dist) -> float:
    """How far W1 may move because the values are held as float32 (a sketch's items, the thinned reference): each
    within F32_ROUNDOFF of itself, so the quantile function within that share of E|x| on average. An exact sketch
    (eps 0) stated a bound of 0.0 and missed scipy's score on the float64 values by ~1e-9."""
    if not d.values.size:
        return 0.0
    w = d.weights
    return float(np.dot(w, np.abs(d.values))) / d.total * F32_ROUNDOFF / (1.0 - F32_ROUNDOFF)


def _arithmetic(a: Dist, b: Dist) -> float:
    """The float64 sums' own rounding, this score's and an exact one's over the raw values (scipy's): at most about
    one unit roundoff of the largest value per term summed."""
    largest = max((float(np.max(np.abs(d.values))) for d in (a, b) if d.values.size), default=0.0)
    return (a.n + b.n + a.values.size + b.values.size) * 2.0 ** -52 * largest


def _rank_shift(d: Dist, points: int = 4096) -> float:
    """Mean over ranks of (Q(t + s) - Q(t - s)) / 2, s one standard deviation of the rank error."""
    if d.eps == 0.0:
        return 0.0
    s = d.eps / Z99
    t = (np.arange(points) + 0.5) / points
    return float(np.mean(d.quantiles(t + s) - d.quantiles(t - s))) / 2.0


def _aligned(ref: Mapping[str, int], cur: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    keys = sorted(set(ref) | set(cur))
    return (np.array([ref.get(k, 0) for k in keys], dtype=np.float64),
            np.array([cur.get(k, 0) for k in keys], dtype=np.float64), keys)


def _count_score(test: str, ref: Mapping[str, int] | str, cur: Mapping[str, int] | str,
                 threshold: float) -> SketchScore:
    ref = decode_counts(ref) if isinstance(ref, str) else dict(ref or {})
    cur = decode_counts(cur) if isinstance(cur, str) else dict(cur or {})
    r, c, keys = _aligned(ref, cur)
    n_ref, n_cur = int(r.sum()), int(c.sum())
    if not n_ref or not n_cur:
        return SketchScore(test, math.nan, math.nan, threshold, OK, None, None, n_ref, n_cur, {"status": "no data"})
    folded = OTHER in keys
    stats: dict[str, Any] = {"categories": len(keys) - folded, "folded_into_other": folded}
    if test == "chisquare":
        stat, p, dof = st.chi2_two_sample(r, c)
        stats["dof"] = dof
        v = verdict("<", p, p, threshold)
        if folded:  # counts under "other" hide how they split: the exact answer is not known
            v = BORDERLINE if v == DRIFTED else v
        return SketchScore(test, p, math.nan if folded else 0.0, threshold, v, stat, (p, p), n_ref, n_cur, stats)
    score = st.psi(r / n_ref, c / n_cur) if test == "psi" else st.jensenshannon(r, c)
    v = verdict(">=", score, score, threshold)
    if folded and v == DRIFTED:
        v = BORDERLINE
    # folded, no bound is known (NaN): the hours' "other" counts are not the window's, and the score was 0.64 on a
    # window whose exact distance was 0.34
    return SketchScore(test, score, math.nan if folded else 0.0, threshold, v, None, None, n_ref, n_cur, stats)


def psi(ref: Mapping[str, int] | str, cur: Mapping[str, int] | str, threshold: float = 0.1) -> SketchScore:
    return _count_score("psi", ref, cur, threshold)


def jensenshannon(ref: Mapping[str, int] | str, cur: Mapping[str, int] | str, threshold: float = 0.1) -> SketchScore:
    return _count_score("jensenshannon", ref, cur, threshold)


def chisquare(ref: Mapping[str, int] | str, cur: Mapping[str, int] | str, threshold: float = 0.05) -> SketchScore:
    return _count_score("chisquare", ref, cur, threshold)


# ------------------------------------------------------------------------------- per-group building


@dataclass
class GroupSketch:
    """The mergeable summary of one group's rows: row count, KLL per numeric column, counts per
    categorical column, and the exact sum / sum of squares of each numeric column (for means and
    the Wasserstein norm, which KLL does not keep)."""

    n: int = 0
    numeric: dict[str, Sketch] = field(default_factory=dict)
    sums: dict[str, tuple[float, float]] = field(default_factory=dict)  # column -> (sum, sum of squares)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def update(self, df: pl.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
               k: int = K, top: int = TOP_N) -> None:
        self.n += df.height
        for col in numeric:
            if col not in df.columns:
                continue
            arr = finite_float32(df.get_column(col))
            if not arr.size:
                continue
            sk = self.numeric.get(col)
            if sk is None:
                sk = self.numeric[col] = kll_floats_sketch(k)
            sk.update(arr)
            a64 = arr.astype(np.float64)
            s, q = self.sums.get(col, (0.0, 0.0))
            self.sums[col] = (s + float(a64.sum()), q + float(np.dot(a64, a64)))
        for col in categorical:
            if col not in df.columns:
                continue
            got = value_counts(df.get_column(col), top=None)
            if got:
                self.counts[col] = merge_counts([self.counts.get(col), got], top=None)
        # Trim only when a column's distinct values grow far past `top`, so trimming stays rare.
        for col, c in self.counts.items():
            if len(c) > 4 * top:
                self.counts[col] = _top(c, top)

    def finish(self, top: int = TOP_N) -> GroupSketch:
        self.counts = {c: _top(v, top) for c, v in self.counts.items()}
        return self


def group_sketches(data: pa.Table | pa.RecordBatch | pl.DataFrame | Iterable[pa.RecordBatch],
                   keys: Sequence[str], numeric: Sequence[str], categorical: Sequence[str],
                   k: int = K, top: int = TOP_N) -> dict[tuple, GroupSketch]:
    """Summaries per distinct value of `keys`, streaming record batches (memory: one batch plus
    the sketches)."""
    import pyarrow as pa

    out: dict[tuple, GroupSketch] = {}
    if isinstance(data, (pa.Table, pa.RecordBatch, pl.DataFrame)):
        data = [data]
    for batch in data:
        df = batch if isinstance(batch, pl.DataFrame) else pl.from_arrow(batch)
        if not df.height:
            continue
        parts = df.partition_by(list(keys), as_dict=True, maintain_order=False) if keys else {(): df}
        for key, part in parts.items():
            g = out.get(key)
            if g is None:
                g = out[key] = GroupSketch()
            g.update(part, numeric, categorical, k=k, top=top)
    return {key: g.finish(top) for key, g in out.items()}


def drift_table(ref: Any, cur: Any, tests: Mapping[str, tuple[str, float]] | None = None,
                numeric_test: str = "wasserstein", categorical_test: str = "jensenshannon") -> dict[str, SketchScore]:
    """Scores per feature between two merged summaries (anything with `numeric`, `counts` and
    `mean_std(feature)`, e.g. `store_rollups.Summary`). `tests` overrides a column's (test, threshold);
    defaults are Evidently's for large samples: normed Wasserstein >= 0.1, Jensen-Shannon >= 0.1."""
    tests = dict(tests or {})
    out: dict[str, SketchScore] = {}
    for f, r in ref.numeric.items():
        name, thr = tests.get(f, (numeric_test, math.nan))
        c = cur.numeric.get(f)
        if name == "ks":
            out[f] = ks(r, c, 0.05 if math.isnan(thr) else thr)
        else:
            out[f] = wasserstein(r, c, ref.mean_std(f)[1], 0.1 if math.isnan(thr) else thr)
    for f, r in ref.counts.items():
        name, thr = tests.get(f, (categorical_test, math.nan))
        fn = {"psi": psi, "jensenshannon": jensenshannon, "chisquare": chisquare}[name]
        default = 0.05 if name == "chisquare" else 0.1
        out[f] = fn(r, cur.counts.get(f, {}), default if math.isnan(thr) else thr)
    return out
