"""Dataset drift over many overlapping windows of one history (the drift rules' evaluations), folding
the history in as it streams past: no frame of the whole history, no sort by time.

Why: a drift rule scores a 24 h window every 12 h over a week, so every row is in two windows. Holding the
week's features as one frame, sorting it by time and slicing it per window cost two copies of every
feature (`check` peaked at 4 GB at 10M rows). Here each row is folded, in whatever order rows arrive, into
the block between the two window edges it falls in: a numeric feature keeps its finite values, any other
its value counts. A window is the union of its blocks, and its verdict is `dataset_drift` of the window's
rows exactly: the same values reach the same tests, since a sorted sample and a count do not depend on the
order the rows came in.

A text feature the store holds as strings would be retyped by the full read (`Monitor._typed`: numbers or
booleans when every value of the history parses), which one batch cannot decide; `retyped` says when that
happened, and the caller then scores the windows from the full read instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np
import polars as pl

from console.analytics import drift as dr

Window = tuple[datetime, datetime]


class WindowDrift:
    """Blocks between consecutive window edges; `add` folds rows in, `seal` scores the windows that are
    complete and lets go of the blocks no window still needs, `results` scores the rest."""

    def __init__(self, ref: dr.Reference, windows: Sequence[Window], share: float, ts: str = "ts"):
        self.ref, self.windows, self.share, self.ts = ref, list(windows), share, ts
        self.scored: dict[Window, dr.DatasetDrift] = {}
        edges = sorted({t for w in self.windows for t in w})
        self._index = {t: i for i, t in enumerate(edges)}
        self.edges = np.array([np.datetime64(t, "us") for t in edges], dtype="datetime64[us]")
        n = max(len(self.edges) - 1, 0)
        self.rows = np.zeros(n, dtype=np.int64)
        self.values: dict[str, list[list[np.ndarray]]] = {}
        self.counts: dict[str, list[Counter]] = {}
        self.dropped: dict[str, np.ndarray] = {}
        self.present: set[str] = set()
        self.retyped = False
        self._text_kinds: dict[str, tuple[bool, bool, bool]] = {}  # text column -> (any value, all numbers, all booleans)
        self._users = [0] * n  # windows not yet scored that need each block
        for lo, hi in self.windows:
            for b in range(self._index[lo], self._index[hi]):
                self._users[b] += 1
        for name in ref:
            col = ref[name]
            if col.numeric:
                self.values[name] = [[] for _ in range(n)]
            else:
                self.counts[name] = [Counter() for _ in range(n)]
            self.dropped[name] = np.zeros(n, dtype=np.int64)

    def add(self, batch: pl.DataFrame) -> None:
        """Folds a batch of rows (`ts` and the features, drift-ready) into their blocks."""
        if batch.height == 0 or len(self.edges) < 2:
            return
        self._note_text(batch)
        times = batch.get_column(self.ts).cast(pl.Datetime("us")).to_numpy()
        block = np.searchsorted(self.edges, times, side="left") - 1  # lo < ts <= hi
        inside = (block >= 0) & (block < len(self.edges) - 1) & ~np.isnat(times)
        if not inside.all():
            batch, block = batch.filter(pl.Series(inside)), block[inside]
        if batch.height == 0:
            return
        self.present.update(c for c in self.ref if c in batch.columns)
        order = np.argsort(block, kind="stable")
        block = block[order]
        starts = np.flatnonzero(np.concatenate(([True], block[1:] != block[:-1])))
        ends = np.append(starts[1:], block.size)
        batch = batch[pl.Series(order)] if not (order[1:] >= order[:-1]).all() else batch
        for lo, hi in zip(starts, ends):
            b = int(block[lo])
            part = batch.slice(int(lo), int(hi - lo))
            self.rows[b] += part.height
            for name in self.ref:
                if name in part.columns:
                    self._fold(name, b, part.get_column(name))

    def _fold(self, name: str, b: int, s: pl.Series) -> None:
        col = self.ref[name]
        if col.numeric:
            if not s.dtype.is_numeric():
                s = s.cast(pl.Float64, strict=False)
            arr = s.cast(pl.Float64).to_numpy()
            finite = np.isfinite(arr)
            if not finite.all():
                arr = arr[finite]
            self.values[name][b].append(arr)
            self.dropped[name][b] += s.len() - arr.size
            return
        if s.dtype != pl.Null and not dr._same_family(col, s):
            s = s.cast(pl.String, strict=False)
        self.counts[name][b].update(dr._value_counts(s))
        self.dropped[name][b] += s.null_count()

    def _note_text(self, batch: pl.DataFrame) -> None:
        """Whether each text feature could still be all numbers or all booleans (then the full read retypes
        it, see the module's docstring)."""
        for name in self.ref:
            if name not in batch.columns or batch.schema[name] != pl.Utf8 or _text(self.ref[name]):
                continue  # a reference's text feature stays text (`Monitor.text_features`)
            seen, number, boolean = self._text_kinds.get(name, (False, True, True))
            if seen and not number and not boolean:
                continue  # already known to stay text
            s = batch.get_column(name).drop_nulls()
            if s.len():
                seen = True
                number = number and s.cast(pl.Float64, strict=False).null_count() == 0
                boolean = boolean and bool(s.str.to_lowercase().is_in(["true", "false"]).all())
            self._text_kinds[name] = (seen, number, boolean)
        self.retyped = any(seen and (number or boolean) for seen, number, boolean in self._text_kinds.values())

    def seal(self, until: datetime) -> None:
        """Every row up to `until` has been added: score the windows ending by then, and free each block
        no other window needs (a history read in time-ordered chunks is held a chunk at a time)."""
        for lo, hi in self.windows:
            if hi <= until and (lo, hi) not in self.scored:
                self._score(lo, hi)

    def results(self) -> dict[Window, dr.DatasetDrift]:
        """Each window's dataset drift, exactly as `dataset_drift` of its rows gives it."""
        for lo, hi in self.windows:
            if (lo, hi) not in self.scored:
                self._score(lo, hi)
        return {w: self.scored[w] for w in self.windows}

    def _score(self, lo: datetime, hi: datetime) -> None:
        a, b = self._index[lo], self._index[hi]
        self.scored[(lo, hi)] = dr.summarize(tuple(self._column(name, a, b) for name in self.ref), self.share)
        for block in range(a, b):
            self._users[block] -= 1
            if not self._users[block]:
                for values in self.values.values():
                    values[block] = []
                for counts in self.counts.values():
                    counts[block] = Counter()

    def _column(self, name: str, a: int, b: int) -> dr.ColumnDrift:
        col = self.ref[name]
        if not self.rows[a:b].sum():
            return dr._result(col, 0, dr.NO_DATA)
        if name not in self.present:
            return dr._result(col, 0, dr.MISSING)
        dropped = int(self.dropped[name][a:b].sum())
        if col.numeric:
            parts = [v for block in self.values[name][a:b] for v in block]
            values = np.sort(np.concatenate(parts)) if parts else np.zeros(0)
            cur = dr._Current(n=int(values.size), dropped=dropped, sorted_values=values)
        else:
            counts: Counter = Counter()
            for block in self.counts[name][a:b]:
                counts.update(block)
            counts = {k: v for k, v in counts.items() if v}
            cur = dr._Current(n=int(sum(counts.values())), dropped=dropped, counts=counts)
        return dr.prepared_drift(col, cur)


def window_drifts(ref: dr.Reference, batches: Iterable[pl.DataFrame], windows: Sequence[Window],
                  share: float) -> dict[Window, dr.DatasetDrift]:
    """Every window's dataset drift from the rows of a full read (the store's types final: `retyped` is a
    question for a fold of narrow batches, `WindowDrift`). It returned None for a text column of digits, as
    `retyped` says of one: a model whose only drift feature was its `prediction` (a reference of predictions and
    labels, a text field the store never retypes) made every `check` fail with a TypeError."""
    folded = WindowDrift(ref, windows, share)
    for batch in batches:
        folded.add(batch)
    return folded.results()


def _text(col) -> bool:
    """A reference column of text values: the full read keeps it as logged, never retypes it."""
    return bool(col.categories) and isinstance(col.categories[0], str)
