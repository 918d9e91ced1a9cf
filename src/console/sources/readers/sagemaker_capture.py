"""SageMaker data capture: the JSON Lines an endpoint writes under `{endpoint}/{variant}/yyyy/mm/dd/hh/`.

Each line is one invocation: `captureData.endpointInput` / `endpointOutput` as `{observedContentType, mode,
data, encoding}` (data always a string: CSV text, JSON text, or BASE64), and `eventMetadata {eventId,
inferenceId (only when the caller set one), inferenceTime}`. Capture has no latency, status or model
version: the model is the endpoint (or `options.model` / `options.models[endpoint]`), the variant comes
from the path (or `options.variant`) and its version from `options.variant_versions` (else the variant
name itself, so a new production variant reads as a new version).

LABEL_KEY `request_id` is `eventMetadata.inferenceId` when present, else `eventMetadata.eventId`: Model
Monitor merges ground truth the same way (the ground-truth file's `eventMetadata.eventId` holds whichever
of the two the capture used). A request with several CSV rows (or instances) becomes one prediction per
row, keyed `{id}#{i}` (i from 0); a single-row request keeps `{id}`. A CSV payload is read as RFC 4180 (a
quoted cell may hold a comma); a batch of k rows answered on one CSV line of k values gets one value per row.
An input SageMaker captured as BASE64 of binary content (`application/x-npy`, protobuf) is not decoded: the
prediction is kept without features and a note names the content type.

Sampling (`options.sampling_percentage`, the endpoint's InitialSamplingPercentage) is carried as a
`sampling_weight` column (100 / percentage) so volumes can be scaled and rates left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from console.sources.contract import Parsed
from console.sources.readers._common import (
    OUTPUT_OPTIONS, BadRecord, BinaryPayload, by_position, cleaned, csv_cell, decode_payload, features_of,
    instances, json_lines, map_output, number, outputs, parse_time, parsed, reason, reject, sampled_note,
)

FORMAT = "sagemaker-capture"
LINE_BASED = True
LABEL_KEY = "request_id"
# The [logs.options] this reader reads; any other is named in a note (a typo costs only itself).
OPTIONS = OUTPUT_OPTIONS | {"model", "models", "endpoint", "variant", "version", "variant_versions", "features",
                            "sampling_percentage", "environment"}
_PATH = re.compile(r"([^/]+)/([^/]+)/\d{4}/\d{2}/\d{2}/\d{2}/[^/]*$")


def endpoint_and_variant(source: str, options: Mapping[str, Any]) -> tuple[str | None, str | None]:
    m = _PATH.search(source.replace("\\", "/"))
    endpoint = options.get("endpoint") or (m.group(1) if m else None)
    variant = options.get("variant") or (m.group(2) if m else None)
    return endpoint, variant


@cleaned
def parse(body: bytes, *, source: str, first_line: int, options: Mapping[str, Any],
          carry: object = None) -> Parsed:
    rejected: list = []
    preds: list[dict] = []
    endpoint, variant = endpoint_and_variant(source, options)
    model = options.get("model") or (options.get("models") or {}).get(endpoint) or endpoint
    version = options.get("version") or (options.get("variant_versions") or {}).get(variant) or variant
    names = list(options["features"]) if options.get("features") else None
    pct = number(options.get("sampling_percentage"))
    sampling = 100.0 / pct if pct is not None and 0 < pct < 100 else None
    undecoded: dict[str, int] = {}  # binary input content type -> captures kept without features
    for loc, obj, raw in json_lines(body, first_line, rejected):
        try:
            preds.extend(_record(loc, obj, names, options, model, version, variant, sampling, undecoded))
        except Exception as exc:  # noqa: BLE001 - a bad record costs only itself
            reject(rejected, loc, reason(exc), raw)
    notes = [] if model else ["no model: set options.model or keep the {endpoint}/{variant}/yyyy/mm/dd/hh/ layout"]
    notes += [f"{n} capture(s) with input of type {ctype} not decoded (binary, BASE64-captured): kept without "
              "features" for ctype, n in undecoded.items()]
    if sampling and preds:
        notes.append(sampled_note(sampling))
    return parsed(preds, [], rejected, source, notes=notes)


def _record(loc: int, obj: dict, names: list[str] | None, options: Mapping[str, Any], model: str | None,
            version: str | None, variant: str | None, sampling: float | None, undecoded: dict[str, int]) -> list[dict]:
    capture = obj.get("captureData")
    meta = obj.get("eventMetadata")
    if not isinstance(capture, dict) or not isinstance(meta, dict):
        raise BadRecord("not a capture record: no captureData / eventMetadata")
    key = meta.get("inferenceId") or meta.get("eventId")
    if not isinstance(key, str) or not key:
        raise BadRecord("eventMetadata has neither inferenceId nor eventId")
    ts = parse_time(meta.get("inferenceTime"))
    if ts is None:
        raise BadRecord("eventMetadata.inferenceTime missing")
    inp, out = capture.get("endpointInput"), capture.get("endpointOutput")
    if not isinstance(inp, dict) and not isinstance(out, dict):
        raise BadRecord("captureData has neither endpointInput nor endpointOutput")
    binary = None
    try:
        rows = _inputs(inp, names) if isinstance(inp, dict) else []
    except BinaryPayload as exc:  # the prediction is still good: kept without features, the type counted
        rows, binary = [], exc
    try:
        results = _outputs(out, options) if isinstance(out, dict) else []
    except BinaryPayload as exc:
        raise BadRecord(f"endpointOutput is {exc}: no prediction to read") from None
    if binary is not None:
        if not results:
            raise BadRecord(f"endpointInput is {binary} and there is no output: nothing to read")
        undecoded[binary.content_type] = undecoded.get(binary.content_type, 0) + 1
    if len(rows) > 1 and len(results) == 1 and isinstance(results[0], list) and len(results[0]) == len(rows):
        # a batch answered on one CSV line, a value per input row (the built-in XGBoost's and linear learner's
        # text/csv responses): one line of k values for one row is that row's k class scores, as before
        results = results[0]
    n = max(len(rows), len(results))
    if rows and results and len(rows) != len(results):
        raise BadRecord(f"{len(rows)} input rows but {len(results)} outputs")
    base = {"ts": ts, "model": model, "version": version, "variant": variant,
            "environment": options.get("environment")}
    if sampling:
        base["sampling_weight"] = sampling
    out_rows = []
    for i in range(n):
        row = {"loc": loc, **base, "request_id": key if n == 1 else f"{key}#{i}"}
        if results:
            row.update(map_output(results[i], options))
        if rows:
            row.update(features_of(rows[i]))
        out_rows.append(row)
    return out_rows


def _payload(part: dict) -> Any:
    return decode_payload(part.get("data"), part.get("encoding"), part.get("observedContentType"))


def _inputs(part: dict, names: list[str] | None) -> list[dict]:
    data = _payload(part)
    if _is_csv(part):
        return [by_position([csv_cell(c) for c in r], names) for r in data]
    return instances(data, names)


def _is_csv(part: dict) -> bool:
    enc = str(part.get("encoding", "")).upper()
    return enc == "CSV" or (enc == "BASE64" and "csv" in str(part.get("observedContentType", "")).lower())


def _outputs(part: dict, options: Mapping[str, Any]) -> list[Any]:
    data = _payload(part)
    if _is_csv(part):
        return [csv_cell(r[0]) if len(r) == 1 else [csv_cell(c) for c in r] for r in data]
    return outputs(data, options)
