"""Databricks Model Serving inference tables: the legacy payload table and the AI Gateway table.

Read as Delta/Parquet (`parse_table`) or as exported JSON Lines (`parse`), one request per row; a batch
request is unpacked to one prediction per example, as Databricks' own unpacking notebook does, from any of
the four request shapes (`dataframe_records`, `dataframe_split`, `instances`, `inputs`). Chat/completions
requests (`messages`, `prompt`) are one prediction each, with tokens from the response's `usage` (its cached
share, `prompt_tokens_details.cached_tokens`, as `cached_tokens`), the first choice's text (`message.content`, a
completion's `text`) as the prediction, so the team's graded answers score them, and `message.refusal` as `refused`.

Payload table: `databricks_request_id`, `client_request_id`, `date`, `timestamp_ms`, `status_code`,
`sampling_fraction`, `execution_time_ms`, `request`, `response`, `request_metadata` (map: `model_name`,
`model_version`, `endpoint_name`). AI Gateway table: `request_date`, `databricks_request_id`,
`client_request_id`, `request_time`, `status_code`, `sampling_fraction`, `execution_duration_ms`, `request`,
`response`, `served_entity_id` (mapped through `options.served_entities = {id = {model, version}}`; unmapped, the
entity id is both model and version, since it changes when the endpoint config does),
`logging_error_codes`, `requester` (not read: an identity).

LABEL_KEY `request_id` <- `client_request_id` (else `databricks_request_id`); a batch's examples are
`{id}#{i}`. Labels are the team's own table of `client_request_id` + `label` (+ optional `timestamp_ms` /
`ts`), read by this same reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from console.sources.contract import Parsed
from console.sources.readers._common import (
    OUTPUT_OPTIONS, BadRecord, cleaned, count, features_of, instances, integer, json_lines, json_object, label_row,
    loads, map_output, number, outputs, parse_time, parsed, reason, reject, sampled_note, text_of, weight,
)

FORMAT = "databricks-inference"
LINE_BASED = True  # JSON exports; Delta/Parquet tables go through parse_table
LABEL_KEY = "request_id"
# The [logs.options] this reader reads; any other is named in a note (a typo costs only itself).
OPTIONS = OUTPUT_OPTIONS | {"model", "version", "environment", "features", "served_entities"}
_LLM_KEYS = ("messages", "prompt")


@cleaned
def parse(body: bytes, *, source: str, first_line: int, options: Mapping[str, Any],
          carry: object = None) -> Parsed:
    rejected: list = []
    records = ((loc, obj, raw) for loc, obj, raw in json_lines(body, first_line, rejected))
    return _map(records, source, options, rejected)


@cleaned
def parse_table(table: pa.Table, *, source: str, first_row: int, options: Mapping[str, Any]) -> Parsed:
    rejected: list = []
    return _map(_rows_of(table, first_row), source, options, rejected)


def _rows_of(table: pa.Table, first_row: int) -> Iterable[tuple[int, dict, None]]:
    """Rows as dicts one record batch at a time, so a large Delta file is never all Python objects at once."""
    loc = first_row
    for batch in table.to_batches(max_chunksize=10_000):
        for row in batch.to_pylist():
            yield loc, row, None
            loc += 1


def _map(records: Iterable[tuple[int, dict, str | None]], source: str, options: Mapping[str, Any],
         rejected: list) -> Parsed:
    preds: list[dict] = []
    labels: list[dict] = []
    for loc, rec, raw in records:
        try:
            if "request" not in rec and "label" in rec:
                labels.append(_label(loc, rec))
            else:
                preds.extend(_request(loc, rec, options))
        except Exception as exc:  # noqa: BLE001 - a bad record costs only itself
            reject(rejected, loc, reason(exc), raw if raw is not None else text_of(_printable(rec)))
    weights = {p.get("sampling_weight") for p in preds} - {None}
    notes = [sampled_note(max(weights))] if weights else []
    return parsed(preds, labels, rejected, source, notes=notes)


def _printable(rec: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in rec.items()}


def _label(loc: int, rec: dict) -> dict:
    key = rec.get("client_request_id") or rec.get("request_id")
    if not key:
        raise BadRecord("label row without client_request_id")
    if rec.get("label") is None:
        raise BadRecord("label row with an empty label")
    ts = parse_time(rec.get("timestamp_ms") if rec.get("timestamp_ms") is not None else rec.get("ts"))
    return label_row(loc, str(key), rec["label"], ts)


def _json(value: Any, what: str) -> Any:
    if value is None or isinstance(value, (dict, list)):
        return value
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    try:
        return loads(value)
    except ValueError:
        raise BadRecord(f"{what} is not JSON") from None


def _request(loc: int, rec: dict, options: Mapping[str, Any]) -> list[dict]:
    gateway = "request_time" in rec or "served_entity_id" in rec
    ts = parse_time(rec.get("request_time") if gateway else rec.get("timestamp_ms"))
    if ts is None:
        raise BadRecord("no request time (timestamp_ms / request_time)")
    key = rec.get("client_request_id") or rec.get("databricks_request_id")
    if not key:
        raise BadRecord("no databricks_request_id")
    status = rec.get("status_code")
    ok = integer(status) == 200 if status is not None else True
    if gateway:
        entity = (options.get("served_entities") or {}).get(rec.get("served_entity_id"))
        entity = entity if isinstance(entity, dict) else {"model": entity} if entity else {}
        model = options.get("model") or entity.get("model") or rec.get("served_entity_id")
        version = entity.get("version") or rec.get("served_entity_id")
        latency = number(rec.get("execution_duration_ms"))
    else:
        meta = json_object(rec.get("request_metadata"), pairs=True)
        model = options.get("model") or meta.get("model_name") or meta.get("endpoint_name")
        version = meta.get("model_version")
        latency = number(rec.get("execution_time_ms"))
    version = options.get("version") or version
    base = {"loc": loc, "ts": ts, "model": model, "version": None if version is None else str(version),
            "environment": options.get("environment"), "latency_ms": latency,
            "status": None if status is None else str(status)}
    w = weight(rec.get("sampling_fraction"))
    if w:
        base["sampling_weight"] = w
    request = _json(rec.get("request"), "request")
    try:
        response = _json(rec.get("response"), "response")
    except BadRecord:
        if ok:
            raise
        response = rec.get("response")
    if not ok:  # a failed request is an error even when its response says nothing (a 429 with no body)
        message = (response.get("message") or response.get("error_code")) if isinstance(response, dict) else response
        base["error"] = (text_of(message) if message not in (None, "") else "") or f"HTTP {status}"
    if isinstance(request, dict) and any(k in request for k in _LLM_KEYS):
        row = {**base, "request_id": str(key)}
        if ok and isinstance(response, dict):
            row.update(_chat(response))
        return [row]
    names = list(options["features"]) if options.get("features") else None
    examples = instances(request, names) if request is not None else [{}]
    results = outputs(response, options) if ok and response is not None else []
    if results and len(results) != len(examples):
        raise BadRecord(f"{len(examples)} examples in the request but {len(results)} predictions")
    n = len(examples)
    rows = []
    for i, example in enumerate(examples):
        row = {**base, "request_id": str(key) if n == 1 else f"{key}#{i}", **features_of(example)}
        if results:
            row.update(map_output(results[i], options))
        rows.append(row)
    return rows


def _chat(response: dict) -> dict:
    usage = response.get("usage") if isinstance(response.get("usage"), dict) else {}
    out: dict[str, Any] = {"input_tokens": count(usage.get("prompt_tokens", usage.get("input_tokens")), "input_tokens"),
                           "output_tokens": count(usage.get("completion_tokens", usage.get("output_tokens")),
                                                  "output_tokens")}
    # OpenAI-compatible usage (Foundation Model APIs, external models): the cache hits inside the prompt tokens,
    # priced at the model's `cached_per_1m` as the OpenAI and OTLP readers' are
    details = usage.get("prompt_tokens_details", usage.get("input_tokens_details"))
    if isinstance(details, dict) and details.get("cached_tokens") is not None:
        out["cached_tokens"] = count(details.get("cached_tokens"), "cached_tokens")
    choices = response.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        out["finish_reason"] = choices[0].get("finish_reason")
        msg = choices[0].get("message")
        if isinstance(msg, dict):  # the model declined (`message.refusal`), as in the OpenAI reader
            out["refused"] = bool(msg.get("refusal"))
        content = msg.get("content") if isinstance(msg, dict) else choices[0].get("text")
        if isinstance(content, list):  # content parts (a reasoning model's): their text
            content = "".join(p.get("text") or "" for p in content if isinstance(p, dict) and p.get("type") == "text")
        out["prediction"] = content.strip() or None if isinstance(content, str) else None
    if response.get("model"):
        out["llm_model"] = response["model"]
    return out
