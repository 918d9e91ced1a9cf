"""MLflow traces as a live source: `[[logs]] format = "mlflow-traces"` with `path = "mlflow://EXPERIMENT"`.

The store polls the tracking server on each refresh instead of tailing a file. MLflow writes a trace when its
root span ends, so traces reach the server out of order of their request time (a long call started before a
short one lands after it); a cursor on request time alone would skip the late one. So each poll re-reads the
last `lookback` (default 15m) before the newest request time seen, and the cursor state remembers which
traces in that window were already stored, and which of their assessments: a trace is stored once, when it
has ended, and an assessment once, however many polls re-read it. A trace that reaches the server more than
`lookback` after it started, or an assessment logged on a trace older than that, is not read: raise
`lookback` to catch late human feedback (each poll then re-reads that much).

The state is plain JSON and is committed in the store's manifest with the rows it covers, like a file cursor.
An unreachable server, or an experiment that does not exist, is a note and leaves the state as it was.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from console.redact import redact_text, redact_uri
from console.sources.contract import Parsed
from console.sources.locations import MLFLOW_SCHEME
from console.sources.readers import mlflow_traces as mt
from console.sources.readers._common import BadRecord, parse_time

SCHEME = MLFLOW_SCHEME
DEFAULT_LOOKBACK_S = 15 * 60
_EPOCH = datetime(1970, 1, 1)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def is_polled(format_: str | None, path: str) -> bool:
    """A source the store polls (a tracking server's experiment) rather than tails."""
    return format_ == mt.FORMAT and path.startswith(SCHEME)


@dataclass
class Poll:
    parsed: Parsed | None  # what is new: traces that ended, assessments not stored yet; None: nothing read
    state: dict  # the cursor to commit with those rows
    notes: list[str] = field(default_factory=list)  # why nothing was read


def lookback_seconds(value: Any) -> float | None:
    """`lookback` as seconds: a number, or text like 90s / 15m / 6h / 2d; None when unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if value >= 0 else None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(value or ""))
    return float(m.group(1)) * _UNITS[m.group(2) or "s"] if m else None


def poll(path: str, options: Mapping[str, Any], state: Mapping | None, tracking_uri: Callable[[], str]) -> Poll:
    """One poll of the experiment `path` names (mlflow://NAME, or an id) on `options.tracking_uri`, else on
    `tracking_uri()` (the registry's; asked only then, since revealing it may fail on an unset variable)."""
    state = dict(state or {})
    uri = options.get("tracking_uri")
    secrets: tuple[str, ...] = ()
    if uri and "${" in str(uri):  # a `${VAR}` was sent as written (Basic auth `bob:${TRPW}`): expanded as every
        from console.config import ConfigError, Secret  # secret of the config is, and masked in what is said

        secret = Secret.lazy(str(uri), "logs.options.tracking_uri")
        try:
            uri, secrets = secret.reveal(), secret.parts()
        except ConfigError as exc:
            return Poll(None, state, [f"{path}: {exc}"])
    if not uri:
        try:
            uri = tracking_uri()
        except Exception as exc:  # noqa: BLE001 - e.g. ${VAR} unset: one line, the other sources still read
            return Poll(None, state, [f"{path}: {exc}"])
    uri = str(uri or "")
    experiment = path[len(SCHEME):]
    if not uri:
        return Poll(None, state, [f"{path}: no tracking server: set [registry] tracking_uri or "
                                  "[logs.options] tracking_uri"])
    notes: list[str] = []
    lookback = lookback_seconds(options.get("lookback", DEFAULT_LOOKBACK_S))
    if lookback is None:
        notes.append(f"option lookback ignored: expected a duration like 15m, got {options.get('lookback')!r}")
        lookback = DEFAULT_LOOKBACK_S
    lookback_ms = int(lookback * 1000)
    newest = int(state.get("newest_ms") or 0)
    try:
        exp_id = state.get("experiment_id") if state.get("experiment") == experiment else None
        exp_id = exp_id or _experiment_id(uri, experiment)
        records = mt.fetch(uri, [exp_id], newest, label_lookback_ms=lookback_ms)
    except mt.TraceFetchError as exc:
        return Poll(None, state, [f"{path}: {redact_text(str(exc), secrets)}"])
    parsed = mt.parse_records(records, source=path, options=options)
    started = {}  # trace id -> request time (ms)
    for rec in records:
        ms = _request_ms(rec)
        key = rec.get("trace_id") or rec.get("request_id")
        if ms is not None and key:
            started[str(key)] = ms
            newest = max(newest, ms)
    # seen: trace id -> [request ms, 1 once its prediction is stored, digests of its stored assessments]
    seen: dict[str, list] = {k: [v[0], v[1], list(v[2])] for k, v in (state.get("seen") or {}).items()}
    predictions = _new_predictions(parsed.predictions, seen, started)
    labels = _new_labels(parsed.labels, seen, started)
    bad = {d: ms for d, ms in state.get("bad") or []}  # digest of a record set aside -> its request time
    rejected = []
    for r in parsed.rejected:  # loc is the record's place in this poll's list
        rec = records[r.loc - 1] if 0 < r.loc <= len(records) else {}
        digest = hashlib.blake2b(repr(sorted(rec.items())).encode(), digest_size=8).hexdigest()
        if digest not in bad:
            bad[digest] = _request_ms(rec) or newest
            rejected.append(r)
    horizon = newest - lookback_ms  # the next poll re-reads only what started after this: forget the rest
    seen = {k: v for k, v in seen.items() if v[0] > horizon}
    out = Parsed(predictions=predictions, labels=labels, rejected=rejected, notes=notes + parsed.notes)
    return Poll(out, {"experiment": experiment, "experiment_id": str(exp_id), "newest_ms": newest, "seen": seen,
                      "bad": [[d, ms] for d, ms in bad.items() if ms > horizon]})


def _experiment_id(uri: str, experiment: str) -> str:
    """The experiment's id from its name; a bare number that names no experiment is taken as an id."""
    if uri.startswith(("http://", "https://")):
        for key, value in mt.HTTP_DEFAULTS.items():
            os.environ.setdefault(key, value)
    try:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        found = client.get_experiment_by_name(experiment)
        if found is None and experiment.isdigit():
            found = client.get_experiment(experiment)
    except Exception as exc:  # the MLflow client raises many kinds; one line for the operator
        first = redact_text(str(exc).splitlines()[0])[:200] if str(exc) else type(exc).__name__
        raise mt.TraceFetchError(f"cannot look up experiment {experiment!r} at {redact_uri(uri)}: {first}") from None
    if found is None:
        raise mt.TraceFetchError(f"no experiment {experiment!r} at {redact_uri(uri)}")
    return str(found.experiment_id)


def _request_ms(rec: dict) -> int | None:
    try:
        ts = parse_time(rec.get("request_time", rec.get("timestamp_ms")))
    except BadRecord:
        return None
    return None if ts is None else (ts - _EPOCH) // timedelta(milliseconds=1)


def _entry(seen: dict[str, list], key: str, started: dict[str, int]) -> list:
    if key not in seen:
        seen[key] = [started.get(key, 0), 0, []]
    return seen[key]


def _new_predictions(table: pa.Table | None, seen: dict[str, list], started: dict[str, int]) -> pa.Table | None:
    """Finished traces not stored yet (parse_records never gives one still in progress); marks them stored."""
    if table is None or not table.num_rows:
        return None
    keep = []
    for key in table.column("request_id").to_pylist():
        entry = _entry(seen, key, started)
        keep.append(not entry[1])
        entry[1] = 1
    mask = pa.array(keep)
    return table.filter(mask) if pc.any(mask).as_py() else None


def _new_labels(table: pa.Table | None, seen: dict[str, list], started: dict[str, int]) -> pa.Table | None:
    """Assessments not stored yet, known by a digest of (trace, value, time) kept with their trace's entry."""
    if table is None or not table.num_rows:
        return None
    keep = []
    rows = table.select([c for c in ("request_id", "label", "label_num", "ts") if c in table.column_names])
    for row in rows.to_pylist():
        digest = hashlib.blake2b(repr(sorted(row.items())).encode(), digest_size=8).hexdigest()
        entry = _entry(seen, row["request_id"], started)
        keep.append(digest not in entry[2])
        if keep[-1]:
            entry[2].append(digest)
    mask = pa.array(keep)
    return table.filter(mask) if pc.any(mask).as_py() else None
