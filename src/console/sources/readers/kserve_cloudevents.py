"""KServe and Seldon payload-logger CloudEvents: a request event and a response event per inference.

Events come one per line in any of the shapes a logger sink writes: structured-mode CloudEvents JSON
(`specversion`, `id`, `type`, `time`, extension attributes, `data` / `data_base64`), an HTTP dump of a
binary-mode event (`{"headers": {"ce-id", "ce-type", ...}, "body": "..."}`), or the KServe blob-storage
logger's records (JSON `{Id, ReqType, Bytes (base64), InferenceService, Endpoint, Component, Namespace}`,
or its CSV/Parquet columns `id, reqType, bytes, inferenceService, endpoint, ...` through `parse_table`).

Types: `org.kubeflow.serving.inference.request|response` (KServe), `io.seldon.serving.inference.request|
response` and `io.seldon.serving.feedback` (Seldon, which carries labels). The pair shares `ce-id` (KServe) or
`ce-requestid` (Seldon). model = `options.model` / `options.models[name]` / `ce-inferenceservicename`;
variant = `ce-endpoint` (default / canary; Seldon's predictor; "default" when empty); version = `options.variant_versions[variant]`,
else a V2 response's `model_version`, else the variant name. Bodies: V1 (`instances` / `predictions`), V2 Open Inference
Protocol (`inputs` / `outputs` tensors) or Seldon's (`data: {names, ndarray | tensor}`). ts = the request's
`ce-time`; latency = response time minus request time. Blob-storage records carry no time, so they give no
ts or latency (the store must date them, e.g. by file time).

An unpaired event is returned in `carry` and offered again with the next chunk; once the newest event
seen is more than `options.pair_timeout_s` (default 300) past it, it is rejected with its reason; so is the
oldest once more than `options.max_waiting` (default 10,000) wait (events without a time never age out).

LABEL_KEY `request_id` <- the pair id (`ce-id` / `ce-requestid`), `{id}#{i}` for the i-th instance of a
batch. Seldon feedback labels are keyed by the graded response's `meta.puid` (else the event's request id).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa

from console.sources.contract import Parsed, Rejected
from console.sources.readers._common import (
    RAW_CHARS, BadRecord, b64_text, by_position, cleaned, features_of, instances, json_lines, label_row, loads,
    map_output, option_number, outputs, parse_time, parsed, reason, reject,
)

FORMAT = "kserve-cloudevents"
LINE_BASED = True
LABEL_KEY = "request_id"
_BLOB = {"Id": "id", "ReqType": "type", "InferenceService": "inferenceservicename", "Endpoint": "endpoint",
         "Component": "component", "Namespace": "namespace", "ContentType": "datacontenttype",
         "reqType": "type", "inferenceService": "inferenceservicename", "contentType": "datacontenttype"}


@cleaned
def parse(body: bytes, *, source: str, first_line: int, options: Mapping[str, Any],
          carry: object = None) -> Parsed:
    rejected: list[Rejected] = []
    events = []
    for loc, obj, raw in json_lines(body, first_line, rejected):
        try:
            events.append(_event(loc, obj, raw))
        except Exception as exc:  # noqa: BLE001 - a bad record costs only itself
            reject(rejected, loc, reason(exc), raw)
    return _pair(events, source, options, carry, rejected)


@cleaned
def parse_table(table: pa.Table, *, source: str, first_row: int, options: Mapping[str, Any],
                carry: object = None) -> Parsed:
    rejected: list[Rejected] = []
    events = []
    loc = first_row
    for batch in table.to_batches(max_chunksize=10_000):
        for row in batch.to_pylist():
            raw = json.dumps(row, default=str)[:RAW_CHARS]
            try:
                events.append(_event(loc, row, raw))
            except Exception as exc:  # noqa: BLE001 - a bad record costs only itself
                reject(rejected, loc, reason(exc), raw)
            loc += 1
    return _pair(events, source, options, carry, rejected)


# ------------------------------------------------------------------ one event


def _event(loc: int, obj: dict, raw: str) -> dict:
    """A normalised event: lower-case attributes without the `ce-` prefix, and the decoded body."""
    if isinstance(obj.get("headers"), dict):
        # a Go sink that JSON-encodes `r.Header` writes each header as a list of its values: the first is the one
        attrs = {k.lower().removeprefix("ce-"): (v[0] if v else None) if isinstance(v, list) else v
                 for k, v in obj["headers"].items()}
        data = obj.get("body", obj.get("data"))
    elif "ReqType" in obj or "reqType" in obj:
        attrs = {_BLOB.get(k, k.lower()): v for k, v in obj.items() if k not in ("Bytes", "bytes")}
        blob = obj.get("Bytes", obj.get("bytes"))
        data = b64_text(blob) if isinstance(blob, str) and blob else None
    elif "specversion" in obj or "type" in obj:
        attrs = {k.lower(): v for k, v in obj.items() if k not in ("data", "data_base64")}
        data = b64_text(obj["data_base64"]) if isinstance(obj.get("data_base64"), str) else obj.get("data")
    else:
        raise BadRecord("not a CloudEvent (no type / ce-type)")
    kind = str(attrs.get("type") or "")
    if kind.endswith("inference.request"):
        kind = "request"
    elif kind.endswith("inference.response"):
        kind = "response"
    elif kind.endswith(".feedback"):
        kind = "feedback"
    else:
        raise BadRecord(f"unknown event type {attrs.get('type')!r}")
    key = attrs.get("requestid") or attrs.get("id")
    if not key:
        raise BadRecord(f"{kind} event without an id (ce-id / ce-requestid)")
    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf-8", "replace")
    if isinstance(data, str):
        try:
            data = loads(data)
        except ValueError:
            raise BadRecord(f"{kind} body is not JSON") from None
    ts = parse_time(attrs.get("time"))
    keep = ("inferenceservicename", "endpoint", "predictor", "namespace", "modelid")
    return {"loc": loc, "kind": kind, "key": str(key), "t": ts.isoformat() if ts else None, "data": data,
            "attrs": {k: str(attrs[k]) for k in keep if attrs.get(k) is not None}, "raw": raw[:RAW_CHARS]}


# ------------------------------------------------------------------ pairing


def _pair(events: Iterable[dict], source: str, options: Mapping[str, Any], carry: object,
          rejected: list[Rejected]) -> Parsed:
    state = carry if isinstance(carry, dict) else {}
    waiting: dict[str, dict] = dict(state.get("waiting") or {})
    newest = state.get("newest")
    preds: list[dict] = []
    labels: list[dict] = []
    for ev in events:
        if ev["t"] and (newest is None or ev["t"] > newest):
            newest = ev["t"]
        try:
            if ev["kind"] == "feedback":
                labels.append(_feedback(ev))
                continue
            slot = f"{ev['kind']}:{ev['key']}"
            other = waiting.pop(f"{'response' if ev['kind'] == 'request' else 'request'}:{ev['key']}", None)
            if other is None:
                if slot in waiting:
                    raise BadRecord(f"second {ev['kind']} with id {ev['key']} (the first is at line {waiting[slot]['loc']})")
                waiting[slot] = ev
                continue
            req, resp = (ev, other) if ev["kind"] == "request" else (other, ev)
            preds.extend(_rows(req, resp, options))
        except Exception as exc:  # noqa: BLE001 - a bad record costs only itself
            reject(rejected, ev["loc"], reason(exc), ev["raw"])
    timeout = option_number(options, "pair_timeout_s", 300)
    if newest is not None:
        limit = datetime.fromisoformat(newest)
        for slot, ev in list(waiting.items()):
            if ev["t"] and (limit - datetime.fromisoformat(ev["t"])).total_seconds() > timeout:
                del waiting[slot]
                missing = "response" if ev["kind"] == "request" else "request"
                reject(rejected, ev["loc"], f"unpaired {ev['kind']} {ev['key']}: no {missing} within {timeout:g} s",
                       ev["raw"])
    cap = int(option_number(options, "max_waiting", 10_000))
    while len(waiting) > cap:  # events with no time never age out; the oldest give way
        slot, ev = next(iter(waiting.items()))
        del waiting[slot]
        reject(rejected, ev["loc"], f"unpaired {ev['kind']} {ev['key']}: more than {cap} events waiting", ev["raw"])
    notes = [f"{len(waiting)} events wait for their pair"] if waiting else []
    new_carry = {"waiting": waiting, "newest": newest} if waiting or newest else None
    return parsed(preds, labels, rejected, source, carry=new_carry, notes=notes)


def _rows(req: dict, resp: dict, options: Mapping[str, Any]) -> list[dict]:
    attrs = {**resp["attrs"], **req["attrs"]}
    name = attrs.get("inferenceservicename")
    # an empty `endpoint` is KServe's predictor without a canary (its event-display shows `endpoint:`): the
    # traffic KServe itself calls "default"
    variant = attrs.get("endpoint") or attrs.get("predictor") or "default"
    body = resp["data"] if isinstance(resp["data"], dict) else {}
    version = options.get("version") or (options.get("variant_versions") or {}).get(variant) \
        or body.get("model_version") or variant
    names = list(options["features"]) if options.get("features") else None
    examples = _seldon(req["data"], names) or instances(req["data"], names)
    results = _seldon_out(resp["data"]) or outputs(resp["data"])
    if len(results) != len(examples):
        raise BadRecord(f"{len(examples)} instances in the request but {len(results)} predictions in the response")
    t_req, t_resp = parse_time(req["t"]), parse_time(resp["t"])
    latency = (t_resp - t_req).total_seconds() * 1000 if t_req and t_resp else None
    base = {"loc": req["loc"], "ts": t_req or t_resp, "environment": options.get("environment"),
            "model": options.get("model") or (options.get("models") or {}).get(name) or name,
            "version": None if version is None else str(version), "variant": variant, "latency_ms": latency}
    n = len(examples)
    return [{**base, "request_id": req["key"] if n == 1 else f"{req['key']}#{i}", **map_output(results[i], options),
             **features_of(examples[i])} for i in range(n)]


def _seldon(body: Any, names: list[str] | None) -> list[dict] | None:
    """Seldon's protocol: `{"data": {"names": [...], "ndarray": [[...]] | "tensor": {shape, values}}}`."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return None
    rows = _seldon_rows(data)
    cols = data.get("names") or names
    return [by_position(r if isinstance(r, list) else [r], cols) for r in rows]


def _seldon_out(body: Any) -> list[Any] | None:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return None
    return _seldon_rows(data)


def _seldon_rows(data: dict) -> list:
    if isinstance(data.get("ndarray"), list):
        arr = data["ndarray"]
        return arr if arr and isinstance(arr[0], list) else [arr]
    tensor = data.get("tensor")
    if isinstance(tensor, dict) and isinstance(tensor.get("values"), list):
        shape, values = tensor.get("shape") or [1, len(tensor["values"])], tensor["values"]
        k = len(values) // int(shape[0]) if shape and int(shape[0]) else len(values)
        return [values[i:i + k] for i in range(0, len(values), k)] if k else []
    raise BadRecord("Seldon data without ndarray or tensor")


def _feedback(ev: dict) -> dict:
    body = ev["data"] if isinstance(ev["data"], dict) else {}
    truth = body.get("truth")
    if truth is None:
        raise BadRecord("feedback without truth")
    response = body.get("response") if isinstance(body.get("response"), dict) else {}
    key = (response.get("meta") or {}).get("puid") or ev["key"]
    value = _seldon_out(truth) if isinstance(truth, dict) else truth
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return label_row(ev["loc"], str(key), value, parse_time(ev["t"]))
