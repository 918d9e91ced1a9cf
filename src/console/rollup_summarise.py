"""Raw rows summarised into rollup rows (`build_rollups`): per model, version, environment, variant, hour (and
segment value), the counts, sums, status and category counts and the DataSketches of latency, score and each
numeric feature, in the schema `store_rollups` writes and reads. The same accumulation serves the console's own
catch-up (`rollup_drift`), the `rollup` command (`rollup_engine`) and Spark's executors (`spark.rollup_job`), so
a rollup written by any of them is the same."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from console.analytics import cost as co
from console.analytics import quality as qu
from console.analytics import sketches as sk
from console.store_rollups import (BUCKETS, FLOAT_SUMS, INT_SUMS, KEYS, LABEL_TS, OK_STATUS, STATUS_TOP, TARGETS,
                                   ModelSpec, _category, schema_for, typed)

@dataclass
class _Acc:
    """One output row while it is being built."""

    sketch: sk.GroupSketch = field(default_factory=sk.GroupSketch)
    ints: dict[str, int] = field(default_factory=dict)
    floats: dict[str, float] = field(default_factory=dict)
    pos_hist: np.ndarray | None = None
    neg_hist: np.ndarray | None = None
    label_ts: datetime | None = None  # `LABEL_TS`

    def add(self, name: str, value: float | int) -> None:
        target = self.ints if isinstance(value, (int, np.integer)) else self.floats
        target[name] = target.get(name, 0) + value


def _labels_frame(labels: pa.Table | pl.DataFrame | None) -> pl.DataFrame | None:
    """The latest label per request id (as `quality.join_labels` takes it)."""
    if labels is None:
        return None
    lab = labels if isinstance(labels, pl.DataFrame) else pl.from_arrow(labels)
    if not lab.height:
        return None
    if "label_num" not in lab.columns:
        lab = lab.with_columns(text_number(pl.col("label")).alias("label_num"))
    lab = lab.with_columns(pl.col("label").cast(pl.String), pl.col("label_num").cast(pl.Float64))
    if "ts" in lab.columns:  # when it arrived: `LABEL_TS`
        lab = lab.with_columns(pl.col("ts").cast(pl.Datetime("us")).alias(LABEL_TS))
    else:
        lab = lab.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias(LABEL_TS))
    return qu.latest_labels(lab, LABEL_TS).select("request_id", "label", "label_num", LABEL_TS)


def _prepare(batch: pa.RecordBatch | pa.Table | pl.DataFrame, lab: pl.DataFrame | None) -> pl.DataFrame:
    df = batch if isinstance(batch, pl.DataFrame) else pl.from_arrow(batch)
    for c in ("version", "environment", "variant"):
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    df = df.with_columns(pl.col("ts").cast(pl.Datetime("us")).dt.truncate("1h").alias("hour"),
                         *[pl.col(c).cast(pl.String) for c in ("model", "version", "environment", "variant")])
    df = df.with_columns((pl.col("ts").cast(pl.Datetime("us")) == pl.col("hour")).alias("__on"))
    if "is_error" not in df.columns:
        df = df.with_columns(pl.lit(False).alias("is_error"))
    err_text = pl.col("error").cast(pl.String) if "error" in df.columns else pl.lit(None, dtype=pl.String)
    df = df.with_columns(
        pl.when(pl.col("is_error").fill_null(False)).then(err_text.fill_null("error")).otherwise(pl.lit(OK_STATUS))
        .alias("__status"))
    if lab is not None and "request_id" in df.columns:
        df = df.drop([c for c in ("label", "label_num", LABEL_TS) if c in df.columns]).join(lab, on="request_id",
                                                                                             how="left")
    return df


def _float_column(df: pl.DataFrame, col: str) -> tuple[np.ndarray, np.ndarray]:
    """A column as the float32 values a sketch holds (clipped to float32's range) and a finite mask."""
    arr = df.get_column(col).cast(pl.Float64, strict=False).fill_null(np.nan).to_numpy()
    finite = np.isfinite(arr)
    big = np.finfo(np.float32).max
    return np.clip(np.where(finite, arr, 0.0), -big, big).astype(np.float32), finite


def _sketch_slices(accs: list[_Acc], name: str, values: np.ndarray, finite: np.ndarray, starts: np.ndarray,
                   ends: np.ndarray, k: int, sums: bool = True) -> None:
    """Each group's finite values into its sketch; exact sum and sum of squares of the same values."""
    all_finite = bool(finite.all())
    for acc, a, b in zip(accs, starts, ends):
        v = values[a:b] if all_finite else values[a:b][finite[a:b]]
        if not v.size:
            continue
        s = acc.sketch.numeric.get(name)
        if s is None:
            s = acc.sketch.numeric[name] = sk.kll_floats_sketch(k)
        s.update(v)
    if sums:
        v64 = values.astype(np.float64)
        tot, sq = np.add.reduceat(v64, starts), np.add.reduceat(v64 * v64, starts)
        for acc, t, q in zip(accs, tot, sq):
            old = acc.sketch.sums.get(name, (0.0, 0.0))
            acc.sketch.sums[name] = (old[0] + float(t), old[1] + float(q))


def _count_into(accs: list[_Acc], df: pl.DataFrame, col: str, name: str) -> None:
    vc = df.select("__g", pl.col(col).cast(pl.String).alias("__v")).drop_nulls("__v").group_by("__g", "__v").len()
    for g, v, n in vc.iter_rows():
        c = accs[g].sketch.counts.setdefault(name, {})
        c[v] = c.get(v, 0) + n


def _targets_into(group: list[_Acc], df: pl.DataFrame, starts: np.ndarray, ends: np.ndarray, k: int) -> None:
    """Prediction and label per group, as prediction and label drift read them (`TARGETS`): the numbers as the
    exact test takes them, sketched and counted by value; the text of predictions that are no number, and of every
    label. A row's number is its `prediction_num` (`label_num`), else its text as a float, as the store types it
    (`queries/conform_predictions.sql`, `conform_labels.sql`): the `rollup` command reads the log files, where a
    classifier's `prediction_num` may be logged empty, and must summarise what the console's own build does."""
    for t, (num, text) in TARGETS.items():
        if text not in df.columns:
            continue
        x = target_number(t, df.columns)
        has = pl.col(text).is_not_null()
        cols = df.select(x.alias("__tn"), _category(x, True).alias("__tv"),
                         pl.when(has & (x.is_null() if t == "pred" else pl.lit(True)))
                         .then(pl.col(text).cast(pl.String)).alias("__tt"), pl.col("__g"))
        values, finite = _float_column(cols, "__tn")
        _sketch_slices(group, f"__{t}", values, finite, starts, ends, k)
        for col, part in (("__tv", "counts"), ("__tt", "text")):
            _count_top(group, cols, col, f"__{t}_{part}", 4 * sk.TOP_N)


NUMBER_SPACE = " \t\n\r\x0b\x0c"  # what the store's cast to a number (DuckDB's TRY_CAST) skips around it


def text_number(text: pl.Expr) -> pl.Expr:
    """Text as a float as the store casts it (`queries/conform_predictions.sql`): `" 1 "` is 1. Polars' cast alone
    gave null, so the local engine left it out of the prediction and label summaries where the store and the Spark
    job counted it."""
    return text.cast(pl.String).str.strip_chars(NUMBER_SPACE).cast(pl.Float64, strict=False)


def target_number(t: str, columns) -> pl.Expr:
    """A prediction's (`t` "pred") or label's number as the store types it: `prediction_num` (`label_num`), else
    its text as a float."""
    num, text = TARGETS[t]
    x = text_number(pl.col(text))
    if num in columns:
        x = pl.coalesce(pl.col(num).cast(pl.Float64, strict=False), x)
    return x


def label_sums(df: pl.DataFrame, by: str) -> dict:
    """Per value of `by` (an hour), the sum of the labels' numbers of `df`'s labelled rows as a build sums them
    into `label_sum` (float32, finite ones): the catch-up compares them with the rollups', so labels rewritten with
    corrected values (as many of them) are noticed, which their count alone does not say."""
    values, finite = _float_column(df.select(target_number("label", df.columns).alias("__x")), "__x")
    sums = pl.DataFrame({"__by": df.get_column(by), "__v": np.where(finite, values.astype(np.float64), 0.0)})
    return dict(sums.group_by("__by").agg(pl.col("__v").sum()).iter_rows())


def _count_top(accs: list[_Acc], df: pl.DataFrame, col: str, name: str, keep: int) -> None:
    """`_count_into`, with each group's values past its `keep` most frequent counted as other in Polars: a
    regression's predictions or an LLM's answers are nearly all distinct, and Python would walk every one."""
    vc = df.select("__g", pl.col(col).alias("__v")).drop_nulls("__v").group_by("__g", "__v").len()
    if not vc.height:
        return
    vc = vc.with_columns(pl.col("len").rank("ordinal", descending=True).over("__g").alias("__r"))
    for g, v, n in vc.filter(pl.col("__r") <= keep).select("__g", "__v", "len").iter_rows():
        c = accs[g].sketch.counts.setdefault(name, {})
        c[v] = c.get(v, 0) + n
    for g, n in vc.filter(pl.col("__r") > keep).group_by("__g").agg(pl.col("len").sum()).iter_rows():
        c = accs[g].sketch.counts.setdefault(name, {})
        c[sk.OTHER] = c.get(sk.OTHER, 0) + n


def _update_cut(accs: dict[tuple, _Acc], df: pl.DataFrame, model: str, seg: str | None, spec: ModelSpec,
                k: int, top: int) -> None:
    """One model's rows of one cut (the whole group, or a segment column's values in `__segv`) into
    the accumulators of their groups: rows sorted by group once, then every column is summarised
    per group from contiguous slices (sketches) or one grouped aggregation (counts and sums)."""
    if not df.height:  # a segment column logged but null in every row (an LLM without prompt versions)
        return
    keys = ["version", "environment", "variant", "__segv", "hour", "__on"]
    df = df.sort(keys, nulls_last=False)
    gid = df.select(pl.struct(keys).rle_id()).to_series()
    df = df.with_columns(gid.alias("__g"))
    g = gid.to_numpy()
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], g.size]
    heads = df.select(keys).gather(starts).iter_rows()
    group = [accs.setdefault((model, v, e, var, seg, sv, h, on), _Acc()) for v, e, var, sv, h, on in heads]
    # once each: a contract field configured as a feature too (`latency_ms`) is one sketch, not two into one
    num = [c for c in dict.fromkeys(("latency_ms", "score", *spec.numeric)) if c in df.columns]
    for col in num:
        values, finite = _float_column(df, col)
        _sketch_slices(group, col, values, finite, starts, ends, k)
    for col, name in (("__status", "__status"), *((c, c) for c in spec.categorical if c in df.columns)):
        _count_into(group, df, col, name)
    _targets_into(group, df, starts, ends, k)
    for acc in group:  # keep category tables small when a column has very many values
        for name, c in acc.sketch.counts.items():
            if len(c) > 4 * top:
                acc.sketch.counts[name] = sk._top(c, top)
    aggs = [pl.len().alias("rows"), pl.col("is_error").fill_null(False).sum().alias("errors")]
    aggs += [pl.col(c).cast(pl.Int64).fill_null(0).sum().alias(c) for c in ("input_tokens", "output_tokens")
             if c in df.columns]
    aggs += co.usage_aggs(df.columns)  # what a cost is computed from, as the raw path prices it
    labelled = "label" in df.columns
    if labelled:
        if "prediction_num" not in df.columns and "prediction" in df.columns:
            df = df.with_columns(text_number(pl.col("prediction")).alias("prediction_num"))
        if "label_num" not in df.columns:
            df = df.with_columns(text_number(pl.col("label")).alias("label_num"))
        # the quality counts, as `analytics.quality` counts them from rows
        scored = "prediction" if spec.task == "classification" else "prediction_num"
        if LABEL_TS in df.columns:
            aggs.append(pl.col(LABEL_TS).filter(pl.col("label").is_not_null()).max().alias(LABEL_TS))
        for e in qu.count_aggs(spec.task, spec.positive_label):
            name = e.meta.output_name()
            if name == "n_labelled":
                aggs.append(e.alias("labelled"))
            elif name != "n" and spec.task in ("classification", "regression") and scored in df.columns:
                aggs.append(e)
        if spec.task == "regression":
            err, _ = qu._reg_terms()
            df = df.with_columns(err.alias("__err"))
    per = df.group_by("__g").agg(aggs).sort("__g")
    for row in per.iter_rows(named=True):
        acc = group[row.pop("__g")]
        seen = row.pop(LABEL_TS, None)
        if seen is not None and (acc.label_ts is None or seen > acc.label_ts):
            acc.label_ts = seen
        acc.sketch.n += row["rows"]
        for name, v in row.items():
            if v is not None:
                acc.add(name, int(v) if isinstance(v, (bool, int)) else float(v))
    if labelled and spec.task == "classification" and "score" in df.columns:
        for gi, y, b, n in qu.score_hist(df, spec.positive_label, ("__g",)).iter_rows():
            acc = group[gi]
            if acc.pos_hist is None:
                acc.pos_hist = np.zeros(BUCKETS, dtype=np.int64)
                acc.neg_hist = np.zeros(BUCKETS, dtype=np.int64)
            (acc.pos_hist if y else acc.neg_hist)[b] += n
    if labelled and spec.task == "regression":
        values, finite = _float_column(df, "__err")
        _sketch_slices(group, "__err", values, finite, starts, ends, k, sums=False)


def build_rollups(predictions: pa.Table | pl.DataFrame | Iterable[pa.RecordBatch],
                  labels: pa.Table | pl.DataFrame | None,
                  features: Mapping[str, ModelSpec | Mapping[str, Any]],
                  k: int = sk.K, top: int = sk.TOP_N) -> dict[str, pa.Table]:
    """Rollup rows per model from prediction rows (a table or a stream of record batches).

    `features[model]` lists its numeric and categorical features (and segments, task,
    positive_label); a model absent from it gets counts, latency, score and quality only.
    Memory: one record batch plus one accumulator per output row.
    """
    if isinstance(predictions, (pa.Table, pl.DataFrame)):
        predictions = [predictions]
    lab = _labels_frame(labels)
    specs = {m: ModelSpec.of(s) for m, s in features.items()}
    accs: dict[tuple, _Acc] = {}
    for batch in predictions:
        if batch.num_rows if not isinstance(batch, pl.DataFrame) else batch.height:
            df = _prepare(batch, lab)
        else:
            continue
        one = df.get_column("model")  # a read of one model (as the catch-up's) is not copied to split it
        parts = {(one[0],): df} if one.n_unique() == 1 else df.partition_by("model", as_dict=True)
        for (model,), mdf in parts.items():
            spec = specs.get(model) or ModelSpec()
            features = typed(mdf, spec)  # segment values stay the logged text, also of a feature used as segment
            _update_cut(accs, features.with_columns(pl.lit(None, dtype=pl.String).alias("__segv")), model, None,
                        spec, k, top)
            for seg in spec.segments:
                if seg in mdf.columns:
                    cut = features.with_columns(mdf.get_column(seg).cast(pl.String).alias("__segv")).filter(
                        pl.col("__segv").is_not_null())
                    _update_cut(accs, cut, model, seg, spec, k, top)
    return _tables(accs, specs, top)


def _tables(accs: dict[tuple, _Acc], specs: Mapping[str, ModelSpec], top: int) -> dict[str, pa.Table]:
    """Each model's accumulators as its rollup table, column by column (an append per row and column cost a
    third of this)."""
    by_model: dict[str, list[tuple[tuple, _Acc]]] = {}
    for key, acc in accs.items():
        by_model.setdefault(key[0], []).append((key, acc))
    out = {}
    for model, items in by_model.items():
        spec = specs.get(model) or ModelSpec()
        items.sort(key=lambda kv: (kv[0][6], tuple("" if v is None else v for v in kv[0][1:6]), kv[0][7]))
        rows = [acc for _, acc in items]
        counts = [{c: _cut(v, top) for c, v in acc.sketch.counts.items()} for acc in rows]  # `GroupSketch.finish`
        numeric = [acc.sketch.numeric for acc in rows]
        sums = [acc.sketch.sums for acc in rows]
        cols: dict[str, list] = {name: [key[i] for key, _ in items] for i, name in enumerate(KEYS)}
        cols.update({name: [int(acc.ints.get(name, 0)) for acc in rows] for name in INT_SUMS})
        cols.update({name: [float(acc.floats.get(name, 0.0)) for acc in rows] for name in FLOAT_SUMS})
        cols["status"] = [sk.encode_counts(_cut(c.get("__status", {}), STATUS_TOP)) for c in counts]
        for name, col in (("latency", "latency_ms"), ("score", "score")):
            cols[f"{name}_kll"] = [sk.serialize(n.get(col)) for n in numeric]
            cols[f"{name}_sum"] = [s.get(col, (0.0, 0.0))[0] for s in sums]
        cols["cls_pos_hist"] = [None if acc.pos_hist is None else acc.pos_hist.tolist() for acc in rows]
        cols["cls_neg_hist"] = [None if acc.neg_hist is None else acc.neg_hist.tolist() for acc in rows]
        cols["reg_err_kll"] = [sk.serialize(n.get("__err")) for n in numeric]
        cols[LABEL_TS] = [acc.label_ts for acc in rows]
        for t in TARGETS:
            cols[f"{t}_kll"] = [sk.serialize(n.get(f"__{t}")) for n in numeric]
            cols[f"{t}_sum"] = [s.get(f"__{t}", (0.0, 0.0))[0] for s in sums]
            cols[f"{t}_sq"] = [s.get(f"__{t}", (0.0, 0.0))[1] for s in sums]
            for part in ("counts", "text"):
                cols[f"{t}_{part}"] = [sk.encode_counts(c.get(f"__{t}_{part}")) for c in counts]
        for f in spec.numeric:
            cols[f"num__{f}"] = [sk.serialize(n.get(f)) for n in numeric]
            cols[f"sum__{f}"] = [s.get(f, (0.0, 0.0))[0] for s in sums]
            cols[f"sq__{f}"] = [s.get(f, (0.0, 0.0))[1] for s in sums]
        for f in spec.categorical:
            cols[f"cat__{f}"] = [sk.encode_counts(c.get(f)) for c in counts]
        out[model] = _arrow(cols, schema_for(spec))
    return out


def _cut(counts: dict[str, int], top: int) -> dict[str, int]:
    """`sketches._top` (the `top` most frequent kept, the rest as other), without its sort when nothing is cut."""
    return counts if len(counts) <= top and sk.OTHER not in counts else sk._top(counts, top)


# the Polars types of the rollup schema's Arrow types (Arrow's own empty table would import pandas too)
_POLARS = {pa.string(): pl.String, pa.binary(): pl.Binary, pa.float64(): pl.Float64, pa.int64(): pl.Int64,
           pa.int32(): pl.Int32, pa.timestamp("us"): pl.Datetime("us"), pa.bool_(): pl.Boolean,
           pa.list_(pa.field("element", pa.int64())): pl.List(pl.Int64)}


def _arrow(cols: dict[str, list], schema: pa.Schema) -> pa.Table:
    """Columns of Python values as a table of `schema`, built by Polars: PyArrow's conversion of Python lists
    imports pandas on first use (0.4-0.8 s, once per process), which a read summarising a raw edge hour would
    pay (`rollup_target`)."""
    frame = pl.DataFrame([pl.Series(n, cols[n], dtype=_POLARS[schema.field(n).type], strict=False)
                          for n in schema.names])
    return frame.to_arrow().cast(schema)
