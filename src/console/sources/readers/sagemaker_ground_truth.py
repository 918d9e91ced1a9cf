"""SageMaker Model Monitor ground truth: the JSON Lines a team uploads for model-quality jobs.

`{"groundTruthData": {"data", "encoding"}, "eventMetadata": {"eventId"}, "eventVersion"}`. Per AWS's
merge rules the `eventId` here holds the capture's `inferenceId` when the caller set one, else the capture's
`eventId`, which is exactly the capture reader's `request_id`, so labels join on it (LABEL_KEY
`request_id` <- `eventMetadata.eventId`). The record carries no time; the files are foldered by when the label
was collected (`yyyy/mm/dd/hh/`), so that hour is the label's ts when the path has it.

`data` is the label: CSV text, or JSON (AWS documents CSV; a JSON label is its value: a scalar, a single-key
object's value such as `{"label": 1}`, or `options.label_key`'s). A record whose data holds N labels (N CSV lines, N
values on one line, a JSON list) labels the N rows of a multi-row capture, keyed `{eventId}#{i}` as the capture
reader keys them. Whether the capture has N rows is known only beside the predictions: each label row carries
`EVENT_ID` and `EVENT_ROWS`, and the store sets aside a record whose count differs from its capture's
(`store.label_events`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from console.sources.contract import EVENT_ID, EVENT_RAW, EVENT_ROWS, Parsed
from console.sources.readers._common import (
    RAW_CHARS, BadRecord, cleaned, decode_payload, hour_from_path, json_lines, label_row, parsed, reason, reject,
)

FORMAT = "sagemaker-ground-truth"
LINE_BASED = True
LABEL_KEY = "request_id"
# The [logs.options] this reader reads; any other is named in a note (a typo costs only itself).
OPTIONS = frozenset({"label_key"})


@cleaned
def parse(body: bytes, *, source: str, first_line: int, options: Mapping[str, Any],
          carry: object = None) -> Parsed:
    rejected: list = []
    labels: list[dict] = []
    collected = hour_from_path(source)
    key_name = options.get("label_key")
    for loc, obj, raw in json_lines(body, first_line, rejected):
        try:
            data, meta = obj.get("groundTruthData"), obj.get("eventMetadata")
            if not isinstance(data, dict) or not isinstance(meta, dict):
                raise BadRecord("not a ground-truth record: no groundTruthData / eventMetadata")
            key = meta.get("eventId")
            if not isinstance(key, str) or not key:
                raise BadRecord("eventMetadata.eventId missing")
            value = decode_payload(data.get("data"), data.get("encoding"), data.get("observedContentType"))
            values = _csv_labels(value) if _is_csv_rows(value) else _json_labels(value, key_name)
            if not values or any(v is None or v == "" for v in values):
                raise BadRecord("empty label")
            n = len(values)
            for i, v in enumerate(values):
                labels.append({**label_row(loc, key if n == 1 else f"{key}#{i}", v, collected),
                               EVENT_ID: key, EVENT_ROWS: n, EVENT_RAW: raw[:RAW_CHARS]})
        except Exception as exc:  # noqa: BLE001 - a bad record costs only itself
            reject(rejected, loc, reason(exc), raw)
    return parsed([], labels, rejected, source)


def _is_csv_rows(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(r, list) for r in value) and \
        all(isinstance(c, str) for r in value for c in r)


def _csv_labels(rows: list[list[str]]) -> list[Any]:
    """One label per line, or a single line's N values (a k-row batch answered on one line, as capture reads it)."""
    if all(len(r) == 1 for r in rows):
        return [r[0] for r in rows]
    if len(rows) == 1:
        return rows[0]
    raise BadRecord(f"CSV of {len(rows)} lines of several values: one label per row expected")


def _json_labels(value: Any, key_name: str | None) -> list[Any]:
    """A JSON label's values: a list is one label per row, each as one label is read."""
    value = _json_label(value, key_name)
    if isinstance(value, list):
        out = [_json_label(v, key_name) for v in value]
        if any(isinstance(v, (list, dict)) for v in out):
            raise BadRecord("a list of labels holding a list or object: one value per row expected")
        return out
    return [value]


def _json_label(value: Any, key_name: str | None) -> Any:
    """An object's label: `options.label_key`'s value, else its one key's; a scalar or list is itself."""
    if not isinstance(value, dict):
        return value
    if key_name is not None:
        if key_name not in value:
            raise BadRecord(f"JSON label has no {key_name!r} (options.label_key); it has "
                            + ", ".join(repr(k) for k in list(value)[:5]))
        return value[key_name]
    if len(value) != 1:
        raise BadRecord("JSON label object with keys " + ", ".join(repr(k) for k in list(value)[:5])
                        + ": set options.label_key to the one holding the label")
    return next(iter(value.values()))
