"""Whole answers of a monitoring pass kept for one exact state of the store: `check`'s incidents and
retraining recommendations, the Overview's DRIFT and cost cells, `drift`'s report and the `health`, `quality`,
`fairness` and `cost` reports. A later process (a cron `check`, a
`snapshot`) asking the same question of the same state answers from the file instead of evaluating every
rule again (seconds at fleet volumes, of which the answer is a pure function).

The key names everything the answer depends on, so a kept answer is never stale and nothing is invalidated by
hand: the question (what, `--at`, `--since`); the rows (the store's segments and each Parquet log read in
place, by inode, size and modification time, and each S3 object of a predictions lake, by URL, ETag, size and
modification time as the refresh listed it: `Warehouse.content_state`); the hourly rollups the rules read (each
model's rollup files by name, size and modification time); the configuration as parsed and each reference file
(by size and modification time); and the code (each module's size and modification time, and those of the
libraries that compute the numbers). Questions with no
fixed answer are not kept: a live view (its end moves with the clock), a lake table (Delta, Iceberg: its
files are not tracked), a Parquet log with rows dated past the clock-skew horizon (the wall clock decides which are kept), a
registry (the expected quality levels come from it), rollups in object storage (another machine adds hours). Acknowledgements are applied after, from the audit
trail, as for an answer just made.

A kept answer is one evaluation of that state, as it was made: the latency and drift sketches of the raw pieces
(the open hour, the windows' edges) are randomized (KLL), so evaluating the same state twice can give scores
that differ in their last digits; answering from the file gives the first one again.

The file is JSON beside the store, written whole to a temporary name and renamed, the newest LIMIT answers;
one that cannot be read or written only costs the evaluation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from console.private_files import replace_private
from console.rollup_paths import file_stamps, model_dir, source_of

VERSION = 1
LIMIT = 16  # answers kept (a few views of a few states: a cron's and an operator's)
NAME = "answers.memo.json"
LIBRARIES = ("duckdb", "polars", "pyarrow", "numpy", "scipy", "datasketches")


def _stamp(path: Path) -> list:
    try:
        st = path.stat()
    except OSError:
        return [str(path)]
    return [str(path), st.st_size, st.st_mtime_ns]


def _code_stamp() -> str:
    """The console's modules and queries by size and modification time, and the versions of the libraries that
    compute the numbers: another build answers afresh."""
    from importlib.util import find_spec

    import console
    from console.resources import queries_dir

    root = Path(console.__file__).parent
    items = []
    for folder, pattern in ((root, "*.py"), (queries_dir(), "*.sql")):
        for p in sorted(folder.rglob(pattern)):
            st = p.stat()
            items.append((str(p), st.st_size, st.st_mtime_ns))
    for lib in LIBRARIES:  # by the installed package's own files (reading their versions costs 0.1-0.2 s)
        spec = find_spec(lib)
        items.append(_stamp(Path(spec.origin)) if spec is not None and spec.origin else [lib])
    return hashlib.sha1(json.dumps(items).encode()).hexdigest()


class Answers:
    """The kept answers of one store (`key`, `get`, `put`)."""

    def __init__(self, cfg, warehouse, rollups: Path):
        self.cfg, self.wh, self.rollups = cfg, warehouse, rollups
        self.path = warehouse.dir / NAME
        self._static: str | None = None
        self.hits = 0

    def _fixed(self) -> str:
        """The part of every key that cannot change while this process runs: code and configuration."""
        if self._static is None:
            refs = [_stamp(Path(m.reference)) if m.reference else None
                    for _, m in sorted(self.cfg.models.items())]
            self._static = hashlib.sha1(json.dumps([VERSION, _code_stamp(), repr(self.cfg), refs],
                                                   default=str).encode()).hexdigest()
        return self._static

    def key(self, what: str, at: datetime | None, since: datetime | None, models: list[str], *params) -> str | None:
        """The key of a question about `models` as of `at`; None when its answer is not fixed (see above)."""
        if at is None or getattr(self.cfg, "tracking_uri", None) or source_of(self.cfg) is not None:
            return None
        state = self.wh.content_state()
        if state is None:
            return None
        rollups = [[m, file_stamps(model_dir(self.rollups, m))] for m in models]
        text = json.dumps([self._fixed(), what, at, since, models, state, rollups, params], default=str)
        return hashlib.sha1(text.encode()).hexdigest()

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data["answers"] if data.get("version") == VERSION else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def get(self, key: str | None) -> Any | None:
        if key is None:
            return None
        hit = self._load().get(key)
        if hit is not None:
            self.hits += 1
        return hit

    def put(self, key: str | None, value: Any) -> None:
        if key is None:
            return
        answers = {key: value, **{k: v for k, v in self._load().items() if k != key}}
        answers = dict(list(answers.items())[:LIMIT])
        try:
            replace_private(self.path, json.dumps({"version": VERSION, "answers": answers}, default=plain))
        except OSError:  # a store that cannot be written: evaluated again next time
            pass


def plain(value: Any) -> Any:
    """NumPy scalars and tuples inside drift stats, as JSON takes them."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"not kept: {type(value).__name__}")


# ---------------------------------------------------------------------------------- findings as JSON


def _dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _undt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def findings_of(found: list, recs: list) -> dict:
    out = []
    for f in found:
        row = {}
        for fd in fields(f):
            v = getattr(f, fd.name)
            if fd.name == "ack":
                continue  # applied after, from the audit trail
            if fd.name == "suspects":
                v = [[s.kind, _dt(s.ts), s.detail] for s in v]
            elif isinstance(v, datetime):
                v = _dt(v)
            elif isinstance(v, tuple):
                v = list(v)
            row[fd.name] = v
        out.append(row)
    return {"findings": out, "recommendations": [[r.model, r.reason, _dt(r.since), _dt(r.at)] for r in recs]}


def findings(kept: dict) -> tuple[list, list]:
    from console.analytics.findings import Finding, Recommendation, Suspect

    out = []
    for row in kept["findings"]:
        row = dict(row)
        for name in ("onset", "end", "detected"):
            row[name] = _undt(row.get(name))
        row["suspects"] = tuple(Suspect(k, _undt(ts), d) for k, ts, d in row.get("suspects", ()))
        row["first_drifted"] = tuple(row.get("first_drifted", ()))
        out.append(Finding(**row))
    recs = [Recommendation(m, reason, _undt(since), _undt(at)) for m, reason, since, at in kept["recommendations"]]
    return out, recs
