"""Daily compaction: a window read through day rows and edge hours equals the all-hours merge (counts
exactly, sketch quantiles within their rank bound of the raw rows), and a late label that rebuilds an hour
invalidates its day until the next compaction."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from console import rollup_engine
from console import store_rollups as ro
from console.analytics import sketches as sk
from rollup_fleet import CATEGORICAL, NUMERIC, START, fleet, write_hive

FEATURES = tuple(NUMERIC + CATEGORICAL)
MODELS = {"fraud": SimpleNamespace(features=FEATURES, segments=("country",), task="classification",
                                   positive_label="1"),
          "eta": SimpleNamespace(features=FEATURES, segments=(), task="regression", positive_label="1")}
HOURS = 72
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def data():
    return fleet(hours=HOURS, per_hour=30, seed=21)


def _build(tmp, preds, labels, late_hour=None):
    logs = write_hive(preds, tmp)
    held = preds.filter(pl.col("ts").dt.truncate("1h") == late_hour) if late_hour else preds.clear()
    early = labels.filter(~pl.col("request_id").is_in(held["request_id"].implode()))
    early.write_parquet(tmp / "labels.parquet")
    out = tmp / "rollups"
    first = rollup_engine.catch_up([str(logs)], [str(tmp / "labels.parquet")], out,
                                   now=START + timedelta(hours=HOURS, minutes=5), models=MODELS)
    return logs, out, first, held


def _same(a: ro.Summary, b: ro.Summary) -> None:
    assert (a.rows, a.errors, a.hours, a.labelled) == (b.rows, b.errors, b.hours, b.labelled)
    assert a.status == b.status and a.counts == b.counts and a.confusion == b.confusion
    for name in ("pos_hist", "neg_hist"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None and y is None) or x.tolist() == y.tolist()
    assert a.sums.keys() == b.sums.keys()
    for k in a.sums:
        assert np.isclose(a.sums[k], b.sums[k], rtol=1e-12, atol=1e-9), k
    assert a.numeric.keys() == b.numeric.keys()
    for f in a.numeric:
        assert a.numeric[f].n == b.numeric[f].n
        assert a.moments[f][0] == b.moments[f][0] and np.isclose(a.moments[f][1], b.moments[f][1], rtol=1e-12)


def test_a_window_through_days_and_edge_hours_equals_the_all_hours_merge(tmp_path, data):
    preds, labels = data
    _, out, first, _ = _build(tmp_path, preds, labels)
    assert len(first.built) == 3  # a day per chunk
    assert {f.day for f in ro.day_files(out, "fraud")} == {START, START + DAY, START + 2 * DAY}
    start, end = START + timedelta(hours=5), START + timedelta(hours=HOURS)  # day 1 partial, days 2 and 3 whole
    assert set(ro.valid_days(out, "fraud", start, end)) == {START + DAY, START + 2 * DAY}
    mixed = ro.read_table(out, "fraud", start, end, days=True)
    hourly = ro.read_table(out, "fraud", start, end)  # hour rows, the default
    day_rows = pl.from_arrow(mixed).filter(pl.col(ro.DAY_MASK).is_not_null())
    assert day_rows.height and day_rows["hour"].unique().sort().to_list() == [START + DAY, START + 2 * DAY]
    assert mixed.num_rows < hourly.num_rows and ro.DAY_MASK not in hourly.column_names
    raw = preds.filter((pl.col("model") == "fraud") & (pl.col("ts") >= start) & (pl.col("ts") < end))
    for segment, rows in ((None, raw), (("country", "DE"), raw.filter(pl.col("country") == "DE"))):
        a, b = ro.merge_table(mixed, segment=segment), ro.merge_table(hourly, segment=segment)
        _same(a, b)
        assert a.rows == rows.height and a.hours == rows["ts"].dt.truncate("1h").n_unique()
        for f in ("amount", "speed"):
            values = np.sort(rows[f].cast(pl.Float32).cast(pl.Float64).to_numpy())
            bound = sk.rank_error(a.numeric[f]) + 1 / values.size
            for q in (0.05, 0.25, 0.5, 0.75, 0.95):
                v = a.numeric[f].get_quantile(q)
                lo = np.searchsorted(values, v, "left") / values.size
                hi = np.searchsorted(values, v, "right") / values.size
                assert lo - bound <= q <= hi + bound, (segment, f, q, lo, hi, bound)
    # A window that holds no whole day reads hours only, as before.
    assert ro.DAY_MASK not in ro.read_table(out, "fraud", start, START + DAY + timedelta(hours=3),
                                            days=True).column_names


def test_a_late_label_invalidates_its_day_until_it_is_compacted_again(tmp_path, data):
    preds, labels = data
    hour = START + DAY + timedelta(hours=6)
    logs, out, _, held = _build(tmp_path, preds, labels, late_hour=hour)
    assert START + DAY in ro.valid_days(out, "fraud", START, START + 3 * DAY)
    before = ro.read(out, "fraud", START, START + 3 * DAY)

    late = labels.filter(pl.col("request_id").is_in(held["request_id"].implode())).with_columns(
        pl.lit(START + timedelta(hours=HOURS + 1)).cast(pl.Datetime("us")).alias("ts"))
    early = pl.read_parquet(tmp_path / "labels.parquet")
    pl.concat([early, late]).write_parquet(tmp_path / "labels.parquet")
    second = rollup_engine.catch_up([str(logs)], [str(tmp_path / "labels.parquet")], out,
                                    now=START + timedelta(hours=HOURS + 2), models=MODELS, compact=False)
    assert second.rebuilt_hours == [hour]
    assert set(ro.valid_days(out, "fraud", START, START + 3 * DAY)) == {START, START + 2 * DAY}  # day 2 is stale
    gained = late.join(held.filter(pl.col("model") == "fraud"), on="request_id").height
    assert gained > 0
    now = ro.read(out, "fraud", START, START + 3 * DAY)
    _same(now, ro.merge_table(ro.read_table(out, "fraud", START, START + 3 * DAY, days=False)))
    assert now.labelled == before.labelled + gained and now.rows == before.rows

    written = ro.compact_days(out)
    assert {(p.parent.parent.name, p.name[:8]) for p in written} == {("fraud", "20260702"), ("eta", "20260702")}
    assert len([f for f in ro.day_files(out, "fraud") if f.day == START + DAY]) == 1  # the stale one is gone
    assert START + DAY in ro.valid_days(out, "fraud", START, START + 3 * DAY)
    _same(ro.read(out, "fraud", START, START + 3 * DAY), now)
    assert ro.compact_days(out) == []  # nothing left to do


def test_a_day_row_holds_the_exact_merge_of_its_hour_rows(tmp_path, data):
    """Each non-sketch column of a day row is its key's hour rows merged as a Series per key merges them: integer
    and float sums bit for bit (floats added in row order, as `Series.sum` adds them; a grouped sum adds in another
    order), counts and histograms exactly, the newest label time, the hour mask; each sketch saw every value."""
    preds, labels = data
    _, out, _, _ = _build(tmp_path, preds, labels)
    keys = [c for c in ro.KEYS if c != "hour"]
    for model in MODELS:
        hours = ro.read_table(out, model, START + DAY, START + 2 * DAY)
        day = pl.from_arrow(ro.merge_rows(hours, START + DAY))
        groups = list(pl.from_arrow(hours).group_by(keys, maintain_order=True))
        assert day.height == len(groups) > 1
        for (key, g), row in zip(groups, day.iter_rows(named=True)):
            assert tuple(row[k] for k in keys) == key and row["hour"] == START + DAY
            assert row[ro.DAY_MASK] == sum({1 << h.hour for h in g["hour"]})
            for c in g.columns:
                if c in ro.KEYS:
                    continue
                if c.endswith("_kll") or c.startswith("num__"):
                    seen = sum(sk.deserialize(b).n for b in g[c] if b is not None)
                    assert (row[c] is None and not seen) or sk.deserialize(row[c]).n == seen, c
                elif c in ro.COUNT_COLUMNS or c.startswith("cat__"):
                    assert sk.decode_counts(row[c]) == sk.merge_counts(g[c].to_list()), c
                elif g.schema[c] == pl.Float64:
                    assert row[c] == g[c].fill_null(0.0).sum(), c
                elif g.schema[c].is_integer():
                    assert row[c] == g[c].fill_null(0).sum(), c
                elif g.schema[c] == pl.Datetime("us"):
                    assert row[c] == g[c].max(), c
                else:  # the score histograms
                    hists = [h for h in g[c].to_list() if h is not None]
                    assert row[c] == (np.sum(hists, axis=0).tolist() if hists else None), c
