"""MLflow traces: polled from the tracking server the registry already uses, or read from exported JSON.

MLflow 3 trace info: `trace_id`, `client_request_id`, `request_time` (ms, or RFC 3339 text in `to_dict()` and
REST / proto JSON), `state` (OK / ERROR / IN_PROGRESS), `execution_duration` (`execution_duration_ms` in
`to_dict()` exports; a protobuf Duration string such as "0.051s" in REST / proto JSON),
`trace_metadata` (`mlflow.trace.tokenUsage` and `mlflow.trace.cost` as JSON strings, `mlflow.modelId`),
`tags`, `assessments`. MLflow 2's names are read too: `request_id`, `timestamp_ms`, `status`,
`execution_time_ms`, `request_metadata`. A line may be an info (`trace.info.to_dict()`, the REST shape) or a
full trace (`trace.to_json()`: `{info, data}`, read by its `info`).

model = `options.model`, else `options.models[modelId]`, else the tag `mlflow.traceName`; version =
`options.model_versions[modelId]`, else the LoggedModel id itself. Tokens from `mlflow.trace.tokenUsage`
(input / output; cache tokens are inside input), cost from `mlflow.trace.cost.total_cost`, else tokens x
`options.input_per_1m` / `output_per_1m`. The prompt versions linked to the trace (tag `mlflow.linkedPrompts`, a JSON
list of `{name, version}`) are `prompt_name` / `prompt_version` (several: `name/version` joined with `+`), so a prompt
change shows by prompt and is an incident's suspect. A trace without a LoggedModel id has no version unless
`options.version` gives one (the store then sets it aside as "missing version").

LABEL_KEY `request_id` <- `trace_id` (MLflow 2: `request_id`). Assessments become labels: expectations and
feedback, the named one only when `options.assessment` is set; overridden (`valid: false`) and failed
(`feedback.error`) assessments are skipped. A label can land long after its trace: `fetch` re-reads a
`label_lookback_ms` window, and `parse_records(..., predictions_since_ms=...)` emits predictions only for
traces newer than the cursor, labels for all it was given (the store keeps the newest label per key). A trace
still IN_PROGRESS is not emitted; `next_cursor(records, since_ms)` keeps the poll from passing it.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from collections.abc import Iterable, Mapping
from typing import Any

from console.redact import redact_text, redact_uri
from console.sources.contract import Parsed
from console.sources.readers._common import (
    PRICE_OPTIONS, RAW_CHARS, BadRecord, cleaned, count, json_lines, json_object, label_row, loads, number,
    parse_time, parsed, priced, reason, reject, text_of,
)

FORMAT = "mlflow-traces"
LINE_BASED = True  # exported JSON Lines; live traces (path = "mlflow://EXPERIMENT") through sources/trace_poll.py
LABEL_KEY = "request_id"
# The [logs.options] this reader reads; any other is named in a note (a typo costs only itself).
OPTIONS = PRICE_OPTIONS | {"model", "models", "version", "model_versions", "environment", "assessment",
                           "tracking_uri", "lookback"}
PAGE = 500
_EPOCH = datetime(1970, 1, 1)
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                 "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}


class TraceFetchError(Exception):
    """The tracking server could not be searched (unreachable, timeout, unknown experiment)."""


def fetch(tracking_uri: str, experiment_ids: list[str], since_ms: int, *, label_lookback_ms: int = 0,
          max_traces: int = 100_000) -> list[dict]:
    """Trace infos (with assessments, without spans) whose request time is after `since_ms - label_lookback_ms`,
    oldest first, as plain dicts. Fails within seconds, as the registry adapter does, when the server is down."""
    if tracking_uri.startswith(("http://", "https://")):
        for key, value in HTTP_DEFAULTS.items():
            os.environ.setdefault(key, value)
    try:
        from mlflow.tracking import MlflowClient
        client = MlflowClient(tracking_uri=tracking_uri)
        out: list[dict] = []
        token = None
        start = max(0, int(since_ms) - int(label_lookback_ms))
        while len(out) < max_traces:
            page = client.search_traces(locations=[str(e) for e in experiment_ids],
                                        filter_string=f"timestamp_ms > {start}", max_results=PAGE,
                                        order_by=["timestamp_ms ASC"], page_token=token, include_spans=False)
            out.extend(t.info.to_dict() for t in page)
            token = page.token
            if not token or not len(page):
                break
        return out
    except Exception as exc:  # the MLflow client raises many kinds; one line for the operator
        first = redact_text(str(exc).splitlines()[0])[:200] if str(exc) else type(exc).__name__
        raise TraceFetchError(f"cannot search traces at {redact_uri(tracking_uri)}: {first}") from None


def next_cursor(records: Iterable[dict], since_ms: int) -> int:
    """Where the next poll starts: after the newest finished trace, but never past one still in progress
    (its state, latency and tokens are not final; it is read again, and emitted, once it ends)."""
    done, running = [], []
    for rec in records:
        rec = _info(rec)
        try:
            ts = parse_time(rec.get("request_time", rec.get("timestamp_ms")))
        except BadRecord:
            continue
        if ts is None:
            continue
        ms = (ts - _EPOCH) // timedelta(milliseconds=1)
        (running if _in_progress(rec) else done).append(ms)
    cursor = max(done, default=since_ms)
    if running:
        cursor = min(cursor, min(running) - 1)
    return max(cursor, since_ms)


def _in_progress(rec: dict) -> bool:
    return str(rec.get("state", rec.get("status")) or "").upper().removeprefix("TRACE_STATUS_") == "IN_PROGRESS"


@cleaned
def parse(body: bytes, *, source: str, first_line: int, options: Mapping[str, Any],
          carry: object = None) -> Parsed:
    rejected: list = []
    return _map(json_lines(body, first_line, rejected), source, options, rejected, None)


@cleaned
def parse_records(records: Iterable[dict], *, source: str, options: Mapping[str, Any] | None = None,
                  predictions_since_ms: int | None = None) -> Parsed:
    """Traces to rows. With `predictions_since_ms` (the poll's cursor), predictions are the finished traces
    after it and up to `next_cursor`, so a trace finished after one still running waits for the same poll
    that reads the running one: each is emitted once."""
    rejected: list = []
    records = list(records)
    window = None
    if predictions_since_ms is not None:
        window = (int(predictions_since_ms), next_cursor(records, int(predictions_since_ms)))
    items = ((i + 1, r, None) for i, r in enumerate(records))
    return _map(items, source, options or {}, rejected, window)


def _map(items: Iterable[tuple[int, dict, str | None]], source: str, options: Mapping[str, Any], rejected: list,
         window: tuple[int, int] | None) -> Parsed:
    preds: list[dict] = []
    labels: list[dict] = []
    running = held = 0
    for loc, rec, raw in items:
        try:
            rec = _info(rec)
            row = _trace(loc, rec, options)
            ms = (row["ts"] - _EPOCH) // timedelta(milliseconds=1)
            if _in_progress(rec):
                running += 1
            elif window is None or window[0] < ms <= window[1]:
                preds.append(row)
            elif ms > window[1]:
                held += 1
            labels.extend(_assessments(loc, row["request_id"], rec.get("assessments"), options))
        except Exception as exc:  # noqa: BLE001 - a bad record costs only itself
            reject(rejected, loc, reason(exc), raw if raw is not None else json.dumps(rec, default=str)[:RAW_CHARS])
    notes = [f"{running} traces still in progress: read when they end"] if running else []
    if held:
        notes.append(f"{held} finished traces wait behind one in progress, to be read once")
    return parsed(preds, labels, rejected, source, notes=notes)


def _info(rec: dict) -> dict:
    """A full `Trace.to_json()` record (`{info, data: {spans}}`) is read by its `info`, the same fields as
    `trace.info.to_dict()`."""
    info = rec.get("info")
    return info if isinstance(info, dict) and "trace_id" not in rec and "request_id" not in rec else rec


def _duration_ms(value: Any) -> float | None:
    """Milliseconds from a number of ms (`to_dict()` exports, MLflow 2) or a protobuf Duration string, seconds with
    an `s` ("0.051s": the REST API's and proto JSON's `execution_duration`)."""
    if not isinstance(value, str):
        return number(value)
    text = value.strip()
    ms = number(text[:-1]) * 1000 if text.endswith("s") and number(text[:-1]) is not None else number(text)
    if ms is None:
        raise BadRecord(f"execution_duration {value!r} is not a duration")
    return ms


def _trace(loc: int, rec: dict, options: Mapping[str, Any]) -> dict:
    key = rec.get("trace_id") or rec.get("request_id")
    if not isinstance(key, str) or not key:
        raise BadRecord("no trace_id (MLflow 3) or request_id (MLflow 2)")
    ts = parse_time(rec.get("request_time", rec.get("timestamp_ms")))
    if ts is None:
        raise BadRecord("no request_time / timestamp_ms")
    meta = json_object(rec.get("trace_metadata", rec.get("request_metadata")))
    tags = json_object(rec.get("tags"))
    duration = next((rec[k] for k in ("execution_duration_ms", "execution_duration", "execution_time_ms")
                     if rec.get(k) is not None), None)
    usage = json_object(meta.get("mlflow.trace.tokenUsage"))
    cost = number(json_object(meta.get("mlflow.trace.cost")).get("total_cost"))
    in_tok, out_tok = count(usage.get("input_tokens"), "input_tokens"), count(usage.get("output_tokens"), "output_tokens")
    if cost is None:
        cost = priced(in_tok, out_tok, options)
    model_id = meta.get("mlflow.modelId")
    state = rec.get("state", rec.get("status"))
    return {
        "loc": loc, "request_id": key, "ts": ts, "latency_ms": _duration_ms(duration),
        "model": options.get("model") or (options.get("models") or {}).get(model_id) or tags.get("mlflow.traceName"),
        "version": options.get("version") or (options.get("model_versions") or {}).get(model_id) or model_id,
        "environment": options.get("environment"),
        "status": None if state is None else str(state).removeprefix("TRACE_STATUS_"),
        "input_tokens": in_tok, "output_tokens": out_tok, "cost_usd": cost,
        **_prompts(tags.get("mlflow.linkedPrompts")),
    }


def _prompts(value: Any) -> dict:
    """`prompt_name` / `prompt_version` from the linked-prompts tag; an unreadable tag costs only these fields."""
    try:
        items = loads(value) if isinstance(value, str) else value
    except ValueError:
        return {}
    linked = sorted((str(p["name"]), text_of(p.get("version"))) for p in items or []
                    if isinstance(p, dict) and p.get("name") and p.get("version") is not None) \
        if isinstance(items, list) else []
    if len(linked) == 1:
        return {"prompt_name": linked[0][0], "prompt_version": linked[0][1]}
    return {"prompt_name": "+".join(n for n, _ in linked), "prompt_version": "+".join(f"{n}/{v}" for n, v in linked)} \
        if linked else {}


def _assessments(loc: int, key: str, items: Any, options: Mapping[str, Any]) -> list[dict]:
    out = []
    wanted = options.get("assessment")
    for a in items or []:
        if not isinstance(a, dict) or a.get("valid") is False:
            continue
        name = a.get("assessment_name") or a.get("name")
        if wanted and name != wanted:
            continue
        body = a.get("expectation") or a.get("feedback")
        if not isinstance(body, dict) or body.get("error"):
            continue
        if "serialized_value" in body:
            try:
                value = loads((body["serialized_value"] or {}).get("value", "null"))
            except ValueError:
                continue
        else:
            value = body.get("value")
        if value is None:
            continue
        ts = parse_time(a.get("last_update_time") or a.get("create_time") or a.get("create_time_ms"))
        out.append(label_row(loc, key, value if not isinstance(value, (dict, list)) else text_of(value), ts))
    return out
