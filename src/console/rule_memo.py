"""Evaluations of closed windows kept on disk beside a model's rollups, so a later pass evaluates only the
windows that touch raw rows (the open hour, the latest window's edge, the history's first partial hour).

A window made of closed rollup hours alone is a pure function of those hours and the rule's parameters. Its
evaluation is kept under a key of both: the rule's parameters (and, for drift, the reference file and its
tests) and the generation of the rollup file that wins each of its hours. Rollup files are never rewritten
in place: a rebuilt hour (rows that came late, a label that landed, a file built with another feature list)
is written under a new generation, so its key changes and the kept evaluation is simply not found again.
Nothing is invalidated by hand, and a kept entry is never stale; the catch-up before each pass
(`RollupDrift.catch_up`) is what keeps the hours themselves current with the store.

The file is JSON (never pickle: a rollup folder can be shared), written whole to a temporary name and
renamed; a file that cannot be read or written only costs the evaluations again. It holds the entries used
or made by the last pass first, then older ones, up to LIMIT entries.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from console.analytics import drift as dr
from console.answer_memo import plain as _plain
from console.private_files import replace_private

VERSION = 7  # bump when what an evaluation means changes: every older entry is then missed
LIMIT = 2_000  # entries kept per model (~150 bytes a rate window, ~5 KB a drift window of 25 features): a pass
# asks for a few hundred (a 1 h rule's week is 168 windows); closed windows end on a fixed grid (`evidence.grid`),
# so the next pass, an hour or a day later, asks again for all but the newest and the history's first
NAME = "_rules.memo.json"


def key(*parts: Any) -> str:
    """A short stable digest of the parts (datetimes as ISO text, floats by repr)."""
    text = json.dumps([VERSION, *parts], default=_text, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value)


class Memo:
    """One model's kept evaluations (`get`, `put`, then `save` once per pass)."""

    def __init__(self, path: Path):
        self.path = path
        self._old: dict[str, Any] | None = None
        self._used: dict[str, Any] = {}
        self.hits = 0
        self.misses = 0

    def _load(self) -> dict[str, Any]:
        if self._old is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._old = data["entries"] if data.get("version") == VERSION else {}
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                self._old = {}
        return self._old

    def get(self, k: str | None) -> Any | None:
        if k is None:
            return None
        hit = self._used.get(k)
        if hit is None:
            hit = self._load().get(k)
            if hit is not None:
                self._used[k] = hit
        if hit is None:
            self.misses += 1
        else:
            self.hits += 1
        return hit

    def put(self, k: str | None, value: Any) -> None:
        if k is not None:
            self._used[k] = value

    def save(self) -> None:
        """Writes the entries this pass used or made, then older ones up to LIMIT; unchanged: nothing."""
        old = self._load()
        if all(k in old for k in self._used):
            return
        entries = dict(self._used)
        for k, v in old.items():
            if len(entries) >= LIMIT:
                break
            entries.setdefault(k, v)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            replace_private(self.path, json.dumps({"version": VERSION, "entries": entries}, default=_plain))
            self._old = entries
        except OSError:  # a read-only rollup folder: the evaluations are made again next time
            pass


# ---------------------------------------------------------------------------------- evaluations as JSON


def evaluation_of(e) -> list:
    return [e.n, e.value, e.breach, e.low, e.high, e.note, e.settled]


def evaluation(lo: datetime, hi: datetime, kept: list):
    from console.analytics.evidence import Evaluation

    n, value, breach, low, high, note, settled = kept
    return Evaluation(lo, hi, n, value, breach, low, high, note, settled)


_COLUMN = [f.name for f in fields(dr.ColumnDrift)]
_DATASET = [f.name for f in fields(dr.DatasetDrift) if f.name != "columns"]


def column_of(c: dr.ColumnDrift) -> list:
    return [getattr(c, n) for n in _COLUMN]


def column(kept: list) -> dr.ColumnDrift:
    return dr.ColumnDrift(**dict(zip(_COLUMN, kept)))


def dataset_of(ds: dr.DatasetDrift) -> dict:
    return {"columns": [column_of(c) for c in ds.columns], **{n: getattr(ds, n) for n in _DATASET}}


def dataset(kept: dict) -> dr.DatasetDrift:
    return dr.DatasetDrift(columns=tuple(column(c) for c in kept["columns"]), **{n: kept[n] for n in _DATASET})

