"""The drift rules over the hourly rollups (`DriftRules`, a mixin of `rollup_rules.RollupRules`): each window's
hours merged into one summary and scored as the Drift screen scores (`RollupDrift._score`), served rows only; a
feature whose sketch verdict is borderline, or whose test needs raw values, scored exactly on a projected raw read
of that feature in that window; so is a score an incident compares with another when their bounds overlap
(`exact_drift`). A model with fewer rows in its history than a verdict needs reaches back for them
(`sparse_drifts`). Windows of closed hours keep their scores beside the rollups (`rule_memo`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from console import rollup_memo, rollup_spec, rule_memo
from console import store_rollups as ro
from console.analytics import drift as dr
from console.analytics import health as he
from console.analytics import sketches as sk
from console.rollup_drift import Current
from console.rollup_parts import DRIFT, ENV, HOUR, Window, _part_hour, _span, _with_on_hour


class DriftRules:
    """`RollupRules`' drift windows and their scores."""

    def drift_windows(self, span: timedelta, step: timedelta, min_rows: int) -> list[Window]:
        """The drift rules' windows, grown until they hold `min_rows` served rows: a shadow's mirrored copies are
        the same requests again, not evidence (`Context.sparse_drifts` and the raw path count the same). The hour a
        window grows into last is cut at the row (`_cut`), so it holds the raw path's last `min_rows` rows: grown
        by whole hours, a quiet model's window held 500-525 rows, scored another sample and could move an onset."""
        return self.windows(span, min_rows, step=step, by=lambda w: w.served, cut=DRIFT)

    def sparse_drifts(self, ref, span: timedelta, step: timedelta, min_rows: int) -> tuple[list, dict] | None:
        """(windows, their dataset drifts) of a model with fewer than `min_rows` rows in the whole history, whose
        windows reach back before `since` for the rows a verdict needs, up to `SPARSE_REACH`: the raw path's rule
        and reading (`incident_rules.Context.sparse_drifts`: a quiet model's rows, a few thousand over 90 days), so
        a `[rollups] min_rows` below `min_rows` does not leave it "insufficient" for ever. None when the history
        holds enough rows (its latest window, grown back to `since` when short, holds them)."""
        latest = self._latest(span, min_rows, lambda w: w.served)
        if latest.served >= min_rows or latest.lo > self.since:
            return None
        key = (span, step, min_rows)
        if key not in self._sparse:  # read and scored once for every drift rule of the model
            from console.incident_rules import Context

            ctx = Context(self.model, self.mc, None, self.since, self.now, None)
            ctx.grid_since = self.grid_since  # a look-back's keeps the history's grid
            ctx.horizon = self.grid_until  # (its step: no label is read here)
            self._sparse[key] = ctx.sparse_drifts(self.mon, ref, span, step)
        return self._sparse[key]

    def drift_scores(self, windows: list[Window]) -> dict[datetime, dr.DatasetDrift]:
        """Each window's dataset drift from its hours' sketches; borderline features (and tests the sketches
        cannot run) scored exactly on that window's raw rows of those features. A window of closed hours scored
        by an earlier pass is taken from the memo (`rule_memo`), not read or scored again."""
        mon = self.mon
        ref = mon.reference(self.model)
        spec = self.drift.spec(self.model)
        fp = self._drift_fingerprint(ref, spec)
        out, todo = {}, []
        for w in windows:
            k = self.window_key("drift", w, fp)
            kept = self.memo.get(k)
            if kept is not None:
                out[(w.lo, w.hi)] = rule_memo.dataset(kept)
            else:
                todo.append((w, k))
        if todo:
            scored = self._drift_scores([w for w, _ in todo], ref, spec)
            for w, k in todo:
                self.memo.put(k, rule_memo.dataset_of(scored[(w.lo, w.hi)]))
            out.update(scored)
        return out

    def _drift_fingerprint(self, ref, spec) -> list:
        """What a drift window's scores depend on besides its hours: the reference file (by path, size and
        modification time), each column's test and threshold, what the rollups keep, the dataset share."""
        if self._drift_fp is None:
            path = self.mc.reference
            try:
                st = Path(path).stat() if path else None
                stamp = [str(path), st.st_size, st.st_mtime_ns] if st else [str(path)]
            except OSError:
                stamp = [str(path)]
            cols = [[c.name, c.kind, c.test.name, c.threshold, c.n] for c in ref.columns.values()]
            self._drift_fp = [stamp, cols, sorted(spec.numeric), sorted(spec.categorical), sorted(spec.by_value),
                              self.mon.cfg.drift_share, "union",  # scored from unioned sketches (kept before: merged)
                              "served"]  # of served rows (kept before: a shadow's rows too)
        return self._drift_fp

    def _drift_scores(self, windows: list[Window], ref, spec) -> dict[datetime, dr.DatasetDrift]:
        mon = self.mon
        refsk = self.drift.reference(self.model)
        feats = list(ref.columns)
        numeric = [f for f in feats if f in spec.numeric]
        categorical = [f for f in feats if f in spec.categorical]
        hours = sorted({p.a for w in windows for p in w.parts if not p.raw})  # the parts' hours (`Part`)
        wanted = ["segment", "environment", "variant", "rows", *[f"{k}__{f}" for f in numeric for k in ("num", "sum")],
                  *[f"cat__{f}" for f in categorical], ro.ON_HOUR]
        # Hours in the same windows form one block, merged once (windows overlap: a 24 h window every 12 h).
        # Each window's hours listed once (a test of every hour against every window's parts was quadratic: 2.8 s
        # of a `check` over two months of a quiet model, whose windows grow back days of hours each).
        member: dict[datetime, list[int]] = {}
        for i, w in enumerate(windows):
            for h in dict.fromkeys(p.a for p in w.parts if not p.raw):
                member.setdefault(h, []).append(i)
        blocks: dict[tuple, list[datetime]] = {}
        for h in hours:
            blocks.setdefault(tuple(member[h]), []).append(h)
        # each block's sketches and a window's blocks and raw pieces are unioned (`Current`), not KLL-merged: the
        # same hours give the same scores on every pass, so a verdict or an onset does not move between passes
        # (a closed window cut at the row is kept whole by `rule_memo`: its blocks would push out the latest's)
        raw = {i for i, w in enumerate(windows) if any(p.raw and not p.cut for p in w.parts)}
        merged = self._blocks(blocks, wanted, {b for b in blocks if raw & set(b)})
        mine: dict[int, list[Current]] = {}  # each window's blocks, in `merged`'s order
        for key, block in merged.items():
            for i in key:
                mine.setdefault(i, []).append(block)
        scored = []
        for i, w in enumerate(windows):
            cur = Current.merged(mine.get(i, []) + [p.cur for p in w.parts if p.raw and p.cur is not None])
            results = [self.drift._score(ref[f], refsk, cur, spec) for f in feats]
            scored.append((w, results, [f for f, r in zip(feats, results) if r is None or r.status == dr.BORDERLINE]))
        exact = self._exact_columns([(w, redo) for w, _, redo in scored if redo], ref)
        out = {}
        for w, results, redo in scored:
            if redo:
                done = exact[id(w)]
                results = [done.get(f, r) for f, r in zip(feats, results)]
            out[(w.lo, w.hi)] = dr.summarize(tuple(results), mon.cfg.drift_share)
        return out

    def _blocks(self, blocks: dict[tuple, list[datetime]], wanted: list[str], keep: set[tuple]
                ) -> dict[tuple, Current]:
        """Each block's closed hours unioned (`Current.of_table` of their rollup rows), in `blocks`' order. Those of
        `keep` (the blocks of windows with raw pieces: the latest, the history's first) are kept in the rollup
        folder (`rollup_memo.save_block`) under the hours and the generation of the file that wins each (as
        `window_key` names a closed hour: a rebuilt hour is another file, so another key) and the columns; only
        the blocks not kept are read. A window ending at a new `--at` is scored again (its raw edges moved), but
        its closed hours are the same all hour: a cron `check` every minute read and unioned them again each time
        (0.1-0.15 s a model on the 1M fleet). A window of closed hours alone has its evaluation kept
        (`rule_memo`), so its blocks are not."""
        where = rollup_memo.folder(self.drift.path, ro._model_dir(self.drift.path, self.model).name)
        # a part is hour h's rest and hour h + 1h's first instant (`Part`): named by both hours' files
        keys = {b: rule_memo.key("block", self.model, ENV, "served", sk.ITEMS, wanted,
                                 [(h, self.gens.get(h, 0), self.gens.get(h + HOUR, 0)) for h in blocks[b]])
                for b in keep}
        out: dict[tuple, Current] = {}
        for b, k in keys.items():
            kept = rollup_memo.load_block(where, k)
            if kept is not None:
                out[b] = Current(*kept)
        todo = sorted(h for b, hs in blocks.items() if b not in out for h in hs)
        # only the hours scored now, each with the next hour's first instant (not the open hour's: read raw)
        tables = [ro.read_table(self.drift.path, self.model, a, min(b + HOUR, self.h1), columns=wanted)
                  for a, b in ro.hour_ranges(todo)]
        tables = [_with_on_hour(pl.from_arrow(t)) for t in tables if t is not None and t.num_rows]
        df = pl.DataFrame()
        if tables:
            df = pl.concat(tables, how="diagonal_relaxed").filter(pl.col("segment").is_null() &
                                                                  (pl.col("environment") == ENV) & he.served_expr())
            df = df.with_columns(_part_hour()).drop("hour").rename({"part": "hour"})  # each row as its part's
        for b, hs in blocks.items():
            if b not in out:
                out[b] = Current.of_table(df.filter(pl.col("hour").is_in(hs)) if df.height else None, None)
                if b in keys:
                    rollup_memo.save_block(where, keys[b], out[b].rows, out[b].numeric, out[b].sums, out[b].counts)
        return {b: out[b] for b in blocks}

    def _exact_columns(self, wanted: list[tuple[Window, list[str]]], ref) -> dict[int, dict[str, dr.ColumnDrift]]:
        """Each window's columns (by `id` of the window) scored exactly on its raw rows of them, as the raw path
        scores them; the windows read at once (`raw_windows`).

        A window is read with the columns asked of it, not every drift feature: the latest window (ending at
        `--at`, so scored afresh at each new `--at`) asks for its few borderline ones, and at 10M rows a day of all
        25 features was most of a `snapshot`'s time and memory. A window asked again for columns it was not read
        with (an incident's onset, `exact_drift`) reads only those (`_add_columns`); each column is scored once."""
        out: dict[int, dict[str, dr.ColumnDrift]] = {}
        unread: dict[tuple, tuple[Window, list[str]]] = {}
        for w, cols in wanted:
            span = _span(w)
            todo = [f for f in cols if (span, f, id(ref)) not in self._exact]
            have = self._exact_rows.get(span)
            missing = [f for f in todo if have is None or f not in have.columns]
            if missing:
                unread[span] = (w, list(dict.fromkeys([*unread.get(span, (w, []))[1], *missing])))
        fresh = [(w, ["variant", *cols]) for span, (w, cols) in unread.items() if span not in self._exact_rows]
        more = [(w, ["variant", *cols]) for span, (w, cols) in unread.items() if span in self._exact_rows]
        if fresh:
            raw = self.raw_windows(fresh)
            self._exact_rows.update({_span(w): raw[id(w)] for w, _ in fresh})
        if more:
            self._add_columns(more)
        for w, cols in wanted:
            span = _span(w)
            todo = [f for f in cols if (span, f, id(ref)) not in self._exact]
            if todo:  # as the rollup hours count them
                rows = rollup_spec.drift_ready(he.served(self._exact_rows[span]).select(todo))
                self._exact.update({(span, f, id(ref)): dr.column_drift(ref, rows, f) for f in todo})
            out[id(w)] = {f: self._exact[(span, f, id(ref))] for f in cols}
        return out

    def _add_columns(self, more: list[tuple[Window, list[str]]]) -> None:
        """Columns added to windows read before (`_exact_rows`): only those columns are read, and put beside the
        kept ones when the new read's `ts` and `variant` are the kept read's, row for row (the same rows in the same
        order, or at worst rows of one time and one variant swapped: each column's served values, all a score
        reads, are then the same); else the window is read again whole."""
        raw = self.raw_windows(more)
        again = []
        for w, cols in more:
            span, add = _span(w), raw[id(w)]
            have = self._exact_rows[span]
            new = [c for c in cols if c not in have.columns]
            if add.height == have.height and all(add.get_column(c).equals(have.get_column(c)) for c in ("ts", "variant")):
                self._exact_rows[span] = have.hstack(add.select(new))
            else:
                again.append((w, list(dict.fromkeys([*have.columns, *new]))))
        if again:
            whole = self.raw_windows(again)
            self._exact_rows.update({_span(w): whole[id(w)] for w, _ in again})

    def exact_drift(self, windows: list[Window]):
        """Columns of the drift windows scored exactly, for an incident: `(end, columns) -> {column: ColumnDrift}`
        of the window ending at `end` (`incident_onsets.shown_reports`). The verdicts are settled already (a borderline one
        was re-scored), but the incident also compares scores: which drifted feature moved most (its `feature`,
        `first_drifted`) and, for its onset, whether that feature had moved at least half as far in the evaluations
        before the first breach (`RuleEvaluator._drift_began`). Sketch scores differ between two builds of the same
        rollups (KLL compacts with random bits), so a comparison their bounds cannot settle is made on these: the
        onset and so the incident's id moved 12 h between two cold builds. Asked only for such columns, read a
        window and its columns at a time, and kept with the windows' evaluations (`rule_memo`)."""
        by_end = {w.hi: w for w in windows}
        ref = self.mon.reference(self.model)
        fp = self._drift_fingerprint(ref, self.drift.spec(self.model))

        def exact(end: datetime, columns: list[str]) -> dict[str, dr.ColumnDrift]:
            w = by_end.get(end)
            if w is None or not columns:
                return {}
            out, todo = {}, []
            for f in columns:
                k = self.window_key("exact", w, fp, f)
                kept = self.memo.get(k)
                if kept is not None:
                    out[f] = rule_memo.column(kept)
                else:
                    todo.append((f, k))
            if todo:
                done = self._exact_columns([(w, [f for f, _ in todo])], ref)[id(w)]
                for f, k in todo:
                    self.memo.put(k, rule_memo.column_of(done[f]))
                    out[f] = done[f]
            return out

        return exact
