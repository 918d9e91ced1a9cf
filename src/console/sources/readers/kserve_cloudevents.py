"""KServe and Seldon payload-logger CloudEvents: a request event and a response event per inference.

Events come one per line in any of the shapes a logger sink writes: structured-mode CloudEvents JSON
(`specversion`, `id`, `type`, `time`, extension attributes, `data` / `data_base64`), an HTTP dump of a
binary-mode event (`{"headers": {"ce-id", "ce-type", ...}, "body": "..."}`), or the KServe blob-storage
logger's records (JSON `{Id, ReqType, Bytes (base64), InferenceService, Endpoint, Component, Namespace}`,
or its CSV/Parquet columns `id, reqType, bytes, inferenceService, endpoint, ...` through `parse_table`).

Types: `org.kubeflow.serving.inference.request|response` (KServe), `io.seldon.serving.inference.request|
response` and `io.seldon.serving.feedback` (Seldon, which carries labels). The pair shares `ce-id` (KServe) or
`ce-requestid` (Seldon), and `ce-modelid` when set (the units of one Seldon graph share the request id;
`options.unit` reads one unit's events only, and without it a note says a request was counted once per unit).
model = `options.model` / `options.models[name]` / `ce-inferenceservicename`;
variant = `ce-endpoint` (default / canary; Seldon's predictor; "default" when empty); version = `options.variant_versions[variant]`,
else a V2 response's `model_version`, else the variant name. Bodies: V1 (`instances` / `predictions`), V2 Open Inference
Protocol (`inputs` / `outputs` tensors) or Seldon's (`data: {names, ndarray | tensor}`); a failed inference's
`{"error": ...}` or Seldon `status: FAILURE` body is an error row per example. ts = the request's
`ce-time`; latency = response time minus request time. A line holding a JSON array is its records (the blob
logger's batch object, a CloudEvents batch).

Blob-storage records carry no time: the store passes `written` (`WRITE_TIME`), when the piece's file or object
was last written (its mtime, its S3 LastModified), and they are dated by it, said in a note. Their latency is the
difference of the two write times only where it measures the inference: each event the one record of its object
(the logger's default batch of one, written as it happened) and both times finer than a second (a file's mtime on
most filesystems; S3's LastModified is whole seconds); else none, rather than a 0 or a guess.

An unpaired event is returned in `carry` and offered again with the next chunk; once the newest event
seen is more than `options.pair_timeout_s` (default 300) past it, it is rejected with its reason; so is the
oldest once more than `options.max_waiting` (default 10,000) wait (events without a time never age out).
The carry is the source's, not one file's (`SOURCE_CARRY`): a logger sink run as several replicas writes each
event to any replica's file, so the store offers every file of a `[[logs]]` entry the same carry, parses with
`age=False` and ages what waits with `settle` once it has read them all (a file read later in the same
refresh may hold the pair).

LABEL_KEY `request_id` <- the pair id (`ce-id` / `ce-requestid`), `{id}#{i}` for the i-th instance of a
batch. Seldon feedback labels are keyed by the graded response's `meta.puid` (else the event's request id), a
batch's truth one label per example (`{puid}#{i}`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from console.sources.contract import Parsed, Rejected
from console.sources.readers._common import (
    OUTPUT_OPTIONS, RAW_CHARS, BadRecord, b64_text, by_position, clean_options, cleaned, features_of, instances,
    json_lines, label_row, loads, map_output, option_number, outputs, parse_time, parsed, reason, reject, text_of,
)

FORMAT = "kserve-cloudevents"
LINE_BASED = True
LABEL_KEY = "request_id"
# one carry for all the files of a source, aged by `settle` once they are all read (a pair's events may be in two)
SOURCE_CARRY = True
# a line holding a JSON array is its records (the blob logger's batch object): a whole one ends a file whole
JSON_ARRAYS = True
# time-less blob records are dated by when their file or object was written: the store passes `written` (epoch ns)
WRITE_TIME = True
DATED_NOTE = "kserve blob-storage records carry no time: dated by their objects' write times"
# The [logs.options] this reader reads; any other is named in a note (a typo costs only itself).
OPTIONS = OUTPUT_OPTIONS | {"model", "models", "version", "variant_versions", "environment", "features",
                            "pair_timeout_s", "max_waiting", "unit"}
_BLOB = {"Id": "id", "ReqType": "type", "InferenceService": "inferenceservicename", "Endpoint": "endpoint",
         "Component": "component", "Namespace": "namespace", "ContentType": "datacontenttype",
         "reqType": "type", "inferenceService": "inferenceservicename", "contentType": "datacontenttype"}
_EPOCH = datetime(1970, 1, 1)


@cleaned
def parse(body: bytes, *, source: str, first_line: int, options: Mapping[str, Any],
          carry: object = None, age: bool = True, written: int | None = None) -> Parsed:
    """`age=False` pairs only: what waits is aged by `settle` (the store's way, once a source's files are read).
    `written`: when the piece's file or object was last written (epoch ns), to date blob records by."""
    rejected: list[Rejected] = []
    events = []
    when = None if written is None else _EPOCH + timedelta(microseconds=written // 1000)
    records = 0
    for loc, obj, raw in json_lines(body, first_line, rejected, arrays=True):
        records += 1
        try:
            events.append(_event(loc, obj, raw, when))
        except Exception as exc:  # noqa: BLE001 - a bad record costs only itself
            reject(rejected, loc, reason(exc), raw)
    dated = [ev for ev in events if ev.get("written")]
    if dated:
        # a write time is the event's own only for the one record of an object, read from its start
        exact = written % 1_000_000_000 != 0 and first_line == 1 and records == 1 and not rejected
        for ev in dated:
            ev["exact"] = exact
    out = _pair(events, source, options, carry, rejected, age)
    if dated:
        out.notes.insert(0, DATED_NOTE)
    return out


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


def _event(loc: int, obj: dict, raw: str, written: datetime | None = None) -> dict:
    """A normalised event: lower-case attributes without the `ce-` prefix, and the decoded body. A blob record (no
    time of its own) is dated `written`, marked so."""
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
            if kind != "response":
                raise BadRecord(f"{kind} body is not JSON") from None
            # a proxy's or the server's plain-text answer ("upstream connect error ..."): the request failed; set
            # aside, its request aged out as unpaired and the failure was never counted
            data = {"error": data.strip()[:RAW_CHARS] or "(empty response body)"}
    ts = parse_time(attrs.get("time"))
    keep = ("inferenceservicename", "endpoint", "predictor", "namespace", "modelid")
    ev = {"loc": loc, "kind": kind, "key": str(key), "t": ts.isoformat() if ts else None, "data": data,
          "attrs": {k: str(attrs[k]) for k in keep if attrs.get(k) is not None}, "raw": raw[:RAW_CHARS]}
    if ts is None and written is not None and ("ReqType" in obj or "reqType" in obj):
        ev["t"], ev["written"] = written.isoformat(), True
    return ev


# ------------------------------------------------------------------ pairing


def _pair(events: Iterable[dict], source: str, options: Mapping[str, Any], carry: object,
          rejected: list[Rejected], age: bool = True) -> Parsed:
    state = carry if isinstance(carry, dict) else {}
    waiting: dict[str, dict] = dict(state.get("waiting") or {})
    newest = state.get("newest")
    preds: list[dict] = []
    files: list[str] = []  # each prediction's request's file: a pair may span two files of the source
    labels: list[dict] = []
    unit, other_units = options.get("unit"), 0
    units: dict[str, set[str]] = {}  # request id -> the graph units whose pairs were read for it
    for ev in events:
        ev["file"] = source
        if ev["t"] and (newest is None or ev["t"] > newest):
            newest = ev["t"]
        try:
            if ev["kind"] == "feedback":
                labels.extend(_feedback(ev))
                continue
            modelid = ev["attrs"].get("modelid")
            if unit and modelid and modelid != unit:
                other_units += 1
                continue
            # the units of one Seldon graph share the request id and are told apart by their model id
            pair = f"{ev['key']}@{modelid}" if modelid else ev["key"]
            slot = f"{ev['kind']}:{pair}"
            other = waiting.pop(f"{'response' if ev['kind'] == 'request' else 'request'}:{pair}", None)
            if other is None:
                if slot in waiting:
                    first = waiting[slot]
                    where = "" if first.get("file", source) == source else f" of {first['file']}"
                    raise BadRecord(f"second {ev['kind']} with id {ev['key']} "
                                    f"(the first is at line {first['loc']}{where})")
                waiting[slot] = ev
                continue
            req, resp = (ev, other) if ev["kind"] == "request" else (other, ev)
            rows = _rows(req, resp, options)
            preds.extend(rows)
            files.extend([req.get("file", source)] * len(rows))
            units.setdefault(ev["key"], set()).add(modelid or "")
        except Exception as exc:  # noqa: BLE001 - a bad record costs only itself
            reject(rejected, ev["loc"], reason(exc), ev["raw"])
    notes = []
    if age:
        for ev, why in _aged(waiting, newest, options, timed=True):
            reject(rejected, ev["loc"], why, ev["raw"])
        notes = [f"{len(waiting)} events wait for their pair"] if waiting else []
    notes += _unit_notes(units, unit, other_units)
    new_carry = {"waiting": waiting, "newest": newest} if waiting or newest else None
    out = parsed(preds, labels, rejected, source, carry=new_carry, notes=notes)
    if any(f != source for f in files):  # a row is the request's line: named by the request's file
        at = out.predictions.schema.get_field_index("source")
        out.predictions = out.predictions.set_column(at, "source", pa.array(files, pa.string()))
    return out


def settle(carry: object, *, options: Mapping[str, Any], final: bool = True
           ) -> tuple[object, dict[str, list[Rejected]], list[str]]:
    """A source's waiting events aged once the store has read all its files (`final`): those more than
    `pair_timeout_s` older than the newest event of any of them, then the oldest beyond `max_waiting`. Between
    pieces (not `final`) only the cap applies: it bounds what a backlog holds, while a file still to be read may
    hold the pair of an old event. Returns (the carry, the events set aside by the file each was read from, notes)."""
    state = carry if isinstance(carry, dict) else {}
    waiting: dict[str, dict] = dict(state.get("waiting") or {})
    newest = state.get("newest")
    aside: dict[str, list[Rejected]] = {}
    for ev, why in _aged(waiting, newest, clean_options(options, OPTIONS, FORMAT)[0], timed=final):
        reject(aside.setdefault(ev.get("file") or "", []), ev["loc"], why, ev["raw"])
    notes = [f"{len(waiting)} events wait for their pair"] if final and waiting else []
    return ({"waiting": waiting, "newest": newest} if waiting or newest else None), aside, notes


def _aged(waiting: dict[str, dict], newest: str | None, options: Mapping[str, Any],
          timed: bool) -> list[tuple[dict, str]]:
    """The events that stop waiting (removed from `waiting`), with why: past the timeout (`timed`), or over the cap."""
    out = []
    timeout = option_number(options, "pair_timeout_s", 300)
    if timed and newest is not None:
        limit = datetime.fromisoformat(newest)
        for slot, ev in list(waiting.items()):
            if ev["t"] and (limit - datetime.fromisoformat(ev["t"])).total_seconds() > timeout:
                del waiting[slot]
                missing = "response" if ev["kind"] == "request" else "request"
                out.append((ev, f"unpaired {ev['kind']} {ev['key']}: no {missing} within {timeout:g} s"))
    cap = int(option_number(options, "max_waiting", 10_000))
    # events with no time (blob records read without `written`) never age out; the oldest give way
    while len(waiting) > cap:
        slot, ev = next(iter(waiting.items()))
        del waiting[slot]
        out.append((ev, f"unpaired {ev['kind']} {ev['key']}: more than {cap} events waiting"))
    return out


def merged(carries: Iterable[object]) -> object:
    """One carry of several (a store written before the carry was the source's kept one per file)."""
    waiting: dict[str, dict] = {}
    newest = None
    for c in carries:
        if isinstance(c, dict):
            waiting.update(c.get("waiting") or {})
            if c.get("newest") and (newest is None or c["newest"] > newest):
                newest = c["newest"]
    return {"waiting": waiting, "newest": newest} if waiting or newest else None


def _unit_notes(units: dict[str, set[str]], unit: str | None, other_units: int) -> list[str]:
    """What a Seldon graph with several logging units costs: events of units not chosen, or requests counted once
    per unit (each unit's pair is a prediction of the same request id)."""
    if other_units:
        return [f"{other_units} events of other graph units than options.unit ({unit}) not read"]
    shared = {k: v for k, v in units.items() if len(v) > 1}
    if not shared:
        return []
    key, names = next(iter(shared.items()))
    return [f"{len(shared)} requests (such as {key}) were logged by several graph units ({', '.join(sorted(names))}): "
            "each unit's pair is counted as a prediction; set options.unit to the model id of the unit to count"]


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
    failure = _failure(resp["data"])
    examples = _examples(req["data"], names, failure)
    results = [None] * len(examples) if failure else _per_example(_seldon_out(resp["data"]), len(examples)) \
        or outputs(resp["data"], options)
    if len(results) != len(examples):
        raise BadRecord(f"{len(examples)} instances in the request but {len(results)} predictions in the response")
    t_req, t_resp = parse_time(req["t"]), parse_time(resp["t"])
    latency = (t_resp - t_req).total_seconds() * 1000 if t_req and t_resp else None
    measured = req.get("exact") and resp.get("exact") and (latency or 0) > 0
    if (req.get("written") or resp.get("written")) and not measured:
        latency = None  # write times that do not measure this inference (see the module): none, not a 0
    base = {"loc": req["loc"], "ts": t_req or t_resp, "environment": options.get("environment"),
            "model": options.get("model") or (options.get("models") or {}).get(name) or name,
            "version": None if version is None else str(version), "variant": variant, "latency_ms": latency}
    if failure:
        base.update(status="error", error=failure)
    n = len(examples)
    return [{**base, "request_id": req["key"] if n == 1 else f"{req['key']}#{i}", **map_output(results[i], options),
             **features_of(examples[i])} for i in range(n)]


def _failure(body: Any) -> str | None:
    """The message of a failed inference: KServe's and the Open Inference Protocol's `{"error": "..."}`, or Seldon's
    `{"status": {"status": "FAILURE", "reason", "info"}}`; None for a response that carries predictions."""
    if not isinstance(body, dict):
        return None
    if "error" in body and not any(k in body for k in ("predictions", "outputs", "data")):
        return text_of(body["error"]) if body["error"] not in (None, "") else "(error with no message)"
    status = body.get("status")
    if isinstance(status, dict) and str(status.get("status", "")).upper() == "FAILURE":
        said = [text_of(status[k]) for k in ("reason", "info") if status.get(k) not in (None, "")]
        return ": ".join(said) or f"Seldon FAILURE (code {status.get('code')})"
    return None


def _examples(body: Any, names: list[str] | None, failure: str | None) -> list[dict]:
    """The request's examples; a failed request whose body cannot be read (the reason it failed) is one example
    without features, so the failure still counts."""
    try:
        return _seldon(body, names) or instances(body, names)
    except BadRecord:
        if failure is None:
            raise
        return [{}]


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


def _per_example(rows: list | None, n: int) -> list | None:
    """A Seldon batch of n rows answered with a flat `ndarray` of n scalars (SKLearn `predict`) is one output per
    example; `_seldon_rows` reads any flat array as one row, which is right for one example's class probabilities."""
    if rows and n > 1 and len(rows) == 1 and isinstance(rows[0], list) and len(rows[0]) == n \
            and not any(isinstance(v, (list, dict)) for v in rows[0]):
        return rows[0]
    return rows


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


def _feedback(ev: dict) -> list[dict]:
    """Seldon feedback as labels: one per example of the graded batch, keyed `{puid}#{i}` as its predictions are."""
    body = ev["data"] if isinstance(ev["data"], dict) else {}
    truth = body.get("truth")
    if truth is None:
        raise BadRecord("feedback without truth")
    response = body.get("response") if isinstance(body.get("response"), dict) else {}
    key = str((response.get("meta") or {}).get("puid") or ev["key"])
    value = _seldon_out(truth) if isinstance(truth, dict) else truth
    graded = _graded(body)
    # a 1-D `ndarray` truth holds one label per example (a one-hot row of one example is 2-D: [[0, 0, 1]]); split
    # also when the feedback carries no request to count its rows by (it became one label "[1,0,1]" joining nothing)
    raw = truth.get("data", {}).get("ndarray") if isinstance(truth, dict) and isinstance(truth.get("data"), dict) \
        else None
    flat = isinstance(raw, list) and len(raw) > 1 and not any(isinstance(v, (list, dict)) for v in raw)
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list) and len(value[0]) > 1 \
            and (graded == len(value[0]) or graded is None and flat) \
            and not any(isinstance(v, (list, dict)) for v in value[0]):
        value = value[0]  # a flat ndarray of n labels for a request of n rows
    elif not (isinstance(value, list) and len(value) > 1):
        value = value[0] if isinstance(value, list) and len(value) == 1 else value
        return [label_row(ev["loc"], key, value, parse_time(ev["t"]))]
    if graded is not None and graded != len(value):
        raise BadRecord(f"feedback truth has {len(value)} rows but the graded response {graded}")
    return [label_row(ev["loc"], f"{key}#{i}", v, parse_time(ev["t"])) for i, v in enumerate(value)]


def _graded(body: dict) -> int | None:
    """How many examples the feedback grades: its request's rows, else its response's (when it has several)."""
    for part in ("request", "response"):
        try:
            rows = _seldon_out(body.get(part))
        except BadRecord:
            continue
        if rows and (part == "request" or len(rows) > 1):
            return len(rows)
    return None
