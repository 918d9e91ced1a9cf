"""A reference's numeric columns sorted once and kept beside the store (`rollup_spec.drift_reference`'s `memo`):
the next process prepares the same reference from the kept values, column for column as a fresh preparation (and
as NumPy sorts the file's finite values), and a reference file written again is prepared from its new values."""

from __future__ import annotations

import math
import os

import numpy as np
import polars as pl

from console import rollup_spec
from console.config import parse_file


def _write(root, seed: int):
    rng = np.random.default_rng(seed)
    n = 3000
    amount = rng.lognormal(3, 1, n)
    amount[::97] = np.nan
    amount[5] = np.inf
    pl.DataFrame({
        "amount": amount, "age": rng.integers(18, 90, n), "flag": rng.random(n) < 0.3,
        "score": pl.Series(rng.normal(0, 1, n)).set(pl.Series(np.arange(n) % 50 == 0), None),
        "country": rng.choice(["US", "DE", "FR"], n), "label": rng.choice(["0", "1"], n),
    }).write_parquet(root / "ref.parquet")


def _model(root):
    (root / "console.toml").write_text(
        '[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
        '[models.m]\nfeatures = ["amount", "age", "flag", "score", "country"]\nreference = "ref.parquet"\n'
        '[models.m.drift.score]\ntest = "ks"\n', encoding="utf-8")
    return parse_file(root / "console.toml").models["m"]


def _same(a, b) -> None:
    assert list(a.columns) == list(b.columns)
    for name in a.columns:
        x, y = a[name], b[name]
        for f in ("name", "kind", "numeric", "integer", "threshold", "n", "n_dropped", "n_unique", "categories"):
            assert getattr(x, f) == getattr(y, f), (name, f)
        assert x.test.name == y.test.name
        for f in ("std", "mean"):
            assert getattr(x, f) == getattr(y, f) or math.isnan(getattr(x, f)) and math.isnan(getattr(y, f))
        assert np.array_equal(x.counts, y.counts)
        if x.sorted_values is None:
            assert y.sorted_values is None
        else:
            assert x.sorted_values.dtype == y.sorted_values.dtype and np.array_equal(x.sorted_values, y.sorted_values)


def test_a_kept_reference_prepares_as_a_fresh_one_and_a_rewritten_file_is_read_again(tmp_path):
    _write(tmp_path, 1)
    mc = _model(tmp_path)
    memo = tmp_path / "memo"
    frame = rollup_spec.read_reference(mc.reference)
    fresh = rollup_spec.drift_reference(mc, frame)
    first = rollup_spec.drift_reference(mc, frame, memo)
    kept = list(memo.glob("sorted-*.npz"))
    assert len(kept) == 1
    again = rollup_spec.drift_reference(mc, frame, memo)
    _same(fresh, first)
    _same(fresh, again)
    raw = pl.read_parquet(tmp_path / "ref.parquet")
    for name in ("amount", "age", "flag", "score"):  # NumPy's sort of the file's finite values, and what it dropped
        v = raw[name].cast(pl.Float64).to_numpy()
        assert np.array_equal(again[name].sorted_values, np.sort(v[np.isfinite(v)]))
        assert again[name].n_dropped == int((~np.isfinite(v)).sum())
    assert again["score"].test.name == "ks" and again["country"].sorted_values is None

    before = os.stat(mc.reference)
    _write(tmp_path, 2)  # the file written again: another size or time, another key
    os.utime(mc.reference, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    frame = rollup_spec.read_reference(mc.reference)
    newer = rollup_spec.drift_reference(mc, frame, memo)
    _same(rollup_spec.drift_reference(mc, frame), newer)
    v = frame["amount"].to_numpy()
    assert np.array_equal(newer["amount"].sorted_values, np.sort(v[np.isfinite(v)]))
    assert [p.name for p in memo.glob("sorted-*.npz")] != [p.name for p in kept]
    assert len(list(memo.glob("sorted-*.npz"))) == 1  # the older version let go


def test_a_torn_kept_file_is_made_again_not_raised(tmp_path):
    """A kept file cut short (a disk that filled, a copy interrupted) or not a zip at all is read as absent (its
    values made again), never raised: np.load says BadZipFile or EOFError, which are neither OSError nor
    ValueError."""
    from console import rollup_memo

    _write(tmp_path, 3)
    mc = _model(tmp_path)
    memo = tmp_path / "memo"
    frame = rollup_spec.read_reference(mc.reference)
    rollup_spec.drift_reference(mc, frame, memo)
    (kept,) = memo.glob("sorted-*.npz")
    for torn in (b"", b"PK\x03\x04torn", kept.read_bytes()[:1000]):
        kept.write_bytes(torn)
        _same(rollup_spec.drift_reference(mc, frame), rollup_spec.drift_reference(mc, frame, memo))
        assert kept.stat().st_size > 1000  # written again whole
        kept.write_bytes(torn)
        (memo / "block-k.npz").write_bytes(torn)
        (memo / "ref-k.npz").write_bytes(torn)
        assert rollup_memo.load_block(memo, "k") is None
        assert rollup_memo.load_reference(memo, "k") is None
