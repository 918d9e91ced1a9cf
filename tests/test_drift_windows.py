"""Drift over overlapping windows folded from batches equals `dataset_drift` of each window's rows."""

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from console.analytics import drift as dr
from console.analytics.drift_windows import WindowDrift, window_drifts
from console.analytics.evidence import slice_window

T0 = datetime(2026, 7, 1)


def _history(seed: int, n: int = 3000) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.02] = np.nan
    x[rng.random(n) < 0.01] = np.inf
    few = rng.integers(0, 3, size=n).astype(float)
    cat = rng.choice(["a", "b", "c", "new"], size=n, p=[0.4, 0.3, 0.2, 0.1]).tolist()
    cat = [None if i % 37 == 0 else c for i, c in enumerate(cat)]
    ts = [T0 + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 7 * 86400, size=n))]
    return pl.DataFrame({"ts": ts, "x": x, "few": few, "cat": cat, "flag": (rng.random(n) < 0.3).astype(np.int8),
                         "drifting": x + np.linspace(0, 3, n)})


def _reference(seed: int, n: int = 1500) -> dr.Reference:
    rng = np.random.default_rng(seed + 1000)
    frame = pl.DataFrame({"x": rng.normal(size=n), "few": rng.integers(0, 3, size=n).astype(float),
                          "cat": rng.choice(["a", "b", "c"], size=n).tolist(),
                          "flag": (rng.random(n) < 0.3).astype(np.int8), "drifting": rng.normal(size=n)})
    return dr.Reference(frame, frame.columns, {"few": {"test": "chisquare"}})


def _windows(span_h: int, step_h: int, grown: bool = False) -> list[tuple[datetime, datetime]]:
    end, out = T0 + timedelta(days=7), []
    hi = end
    while hi > T0 + timedelta(hours=step_h):
        out.append((max(hi - timedelta(hours=span_h), T0), hi))
        hi -= timedelta(hours=step_h)
    if grown:  # a window grown back for evidence, as `evidence.windows` does when rows are few
        out.append((T0 + timedelta(hours=5, seconds=17), T0 + timedelta(days=3)))
    return out[::-1]


def _expected(ref, frame, windows, share=0.5):
    return {w: dr.dataset_drift(ref, slice_window(frame, *w).drop("ts"), share) for w in windows}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), batch_rows=st.integers(1, 4000), shuffle=st.booleans(),
       span=st.sampled_from([(24, 12), (6, 3), (48, 24), (10, 4)]), grown=st.booleans())
def test_folded_windows_equal_dataset_drift_of_each_window(seed, batch_rows, shuffle, span, grown):
    frame, ref = _history(seed), _reference(seed)
    windows = _windows(*span, grown=grown)
    rows = frame.sample(fraction=1.0, shuffle=True, seed=seed) if shuffle else frame
    batches = [rows.slice(i, batch_rows) for i in range(0, rows.height, batch_rows)]
    got = window_drifts(ref, batches, windows, 0.5)
    want = _expected(ref, frame, windows)
    assert list(got) == list(want)
    for w in windows:  # repr: scores that are NaN (columns not evaluated) compare equal as text
        assert repr(got[w]) == repr(want[w]), w


def test_a_drifting_feature_is_found_in_the_late_windows_only():
    frame, ref = _history(7), _reference(7)
    windows = _windows(24, 12)
    got = window_drifts(ref, [frame], windows, 0.5)
    first, last = got[windows[0]].column("drifting"), got[windows[-1]].column("drifting")
    assert not first.drifted and last.drifted
    assert last.n_cur + last.stats["dropped"] == slice_window(frame, *windows[-1]).height  # every row counted once


def test_windows_without_rows_and_absent_columns_say_so():
    frame, ref = _history(3), _reference(3)
    windows = [(T0 - timedelta(days=2), T0 - timedelta(days=1)), (T0, T0 + timedelta(days=1))]
    got = window_drifts(ref, [frame.drop("cat")], windows, 0.5)
    empty, full = got[windows[0]], got[windows[1]]
    assert empty.status == dr.NO_DATA and all(c.status == dr.NO_DATA for c in empty.columns)
    assert full.column("cat").status == dr.MISSING
    assert repr(full) == repr(dr.dataset_drift(ref, slice_window(frame.drop("cat"), *windows[1]).drop("ts"), 0.5))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), cuts=st.lists(st.integers(1, 7 * 24 - 1), max_size=6, unique=True),
       grown=st.booleans())
def test_a_history_read_in_time_ordered_chunks_and_sealed_gives_the_same_verdicts(seed, cuts, grown):
    frame, ref = _history(seed), _reference(seed)
    windows = _windows(24, 12, grown=grown)
    bounds = [T0 - timedelta(seconds=1), *sorted(T0 + timedelta(hours=h) for h in cuts), T0 + timedelta(days=8)]
    folded = WindowDrift(ref, windows, 0.5)
    for lo, hi in zip(bounds, bounds[1:]):
        chunk = slice_window(frame, lo, hi)
        folded.add(chunk.sample(fraction=1.0, shuffle=True, seed=seed))
        folded.seal(hi)
        done = [w for w in windows if w[1] <= hi]
        assert set(done) <= set(folded.scored)
        held = sum(v.size for blocks in folded.values["x"] for v in blocks)  # only blocks a window still needs
        assert held == sum(np.isfinite(slice_window(frame, b[0], min(b[1], hi))["x"].to_numpy()).sum()
                           for b in zip(folded.edges.tolist(), folded.edges.tolist()[1:]) if b[0] < hi
                           if any(w[0] <= b[0] and b[1] <= w[1] and w not in folded.scored for w in windows))
    got, want = folded.results(), _expected(ref, frame, windows)
    assert [repr(got[w]) for w in windows] == [repr(want[w]) for w in windows]


@pytest.mark.parametrize("values", [["1", "2.5", None], ["true", "False", None]])
def test_text_a_full_read_would_retype_is_handed_back(values):
    """A fold of narrow batches says so (`retyped`: the caller scores a full read instead); `window_drifts`, given
    the full read, scores it as it is (it answered None too, and a caller holding the full read had no other).
    A reference that holds the feature as text keeps it text on the full read (`Monitor.text_features`): no retype."""
    ref = dr.Reference(pl.DataFrame({"v": [1, 2, 3] * 400}), ["v"])
    frame = pl.DataFrame({"ts": [T0 + timedelta(hours=i) for i in range(3)], "v": values})
    windows = [(T0 - timedelta(hours=1), T0 + timedelta(hours=3))]
    folded = WindowDrift(ref, windows, 0.5)
    folded.add(frame)
    assert folded.retyped
    got, want = window_drifts(ref, [frame], windows, 0.5), _expected(ref, frame, windows)
    assert [repr(got[w]) for w in windows] == [repr(want[w]) for w in windows]
    mixed = frame.with_columns(pl.Series("v", ["1", "x", None]))
    assert not WindowDrift(ref, windows, 0.5).retyped and window_drifts(ref, [mixed], windows, 0.5) is not None
    text = WindowDrift(dr.Reference(pl.DataFrame({"v": ["1", "2", "true"] * 400}), ["v"]), windows, 0.5)
    text.add(frame)
    assert not text.retyped
