"""SageMaker Model Monitor ground truth: the JSON Lines a team uploads for model-quality jobs.

`{"groundTruthData": {"data", "encoding"}, "eventMetadata": {"eventId"}, "eventVersion"}`. Per AWS's
merge rules the `eventId` here holds the capture's `inferenceId` when the caller set one, else the capture's
`eventId`, which is exactly the capture reader's `request_id`, so labels join on it (LABEL_KEY
`request_id` <- `eventMetadata.eventId`). The record carries no time; the files are foldered by when the label
was collected (`yyyy/mm/dd/hh/`), so that hour is the label's ts when the path has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from console.sources.contract import Parsed
from console.sources.readers._common import (
    BadRecord, cleaned, decode_payload, hour_from_path, json_lines, label_row, parsed, reason, reject,
)

FORMAT = "sagemaker-ground-truth"
LINE_BASED = True
LABEL_KEY = "request_id"
# The [logs.options] this reader reads; any other is named in a note (a typo costs only itself).
OPTIONS = frozenset()


@cleaned
def parse(body: bytes, *, source: str, first_line: int, options: Mapping[str, Any],
          carry: object = None) -> Parsed:
    rejected: list = []
    labels: list[dict] = []
    collected = hour_from_path(source)
    for loc, obj, raw in json_lines(body, first_line, rejected):
        try:
            data, meta = obj.get("groundTruthData"), obj.get("eventMetadata")
            if not isinstance(data, dict) or not isinstance(meta, dict):
                raise BadRecord("not a ground-truth record: no groundTruthData / eventMetadata")
            key = meta.get("eventId")
            if not isinstance(key, str) or not key:
                raise BadRecord("eventMetadata.eventId missing")
            value = decode_payload(data.get("data"), data.get("encoding"), data.get("observedContentType"))
            if isinstance(value, list) and value and isinstance(value[0], list):  # CSV rows
                cells = [c for row in value for c in row]
                if len(cells) != 1:
                    raise BadRecord(f"{len(cells)} CSV values where one label is expected")
                value = cells[0]
            if value is None or value == "" or value == []:
                raise BadRecord("empty label")
            labels.append(label_row(loc, key, value, collected))
        except Exception as exc:  # noqa: BLE001 - a bad record costs only itself
            reject(rejected, loc, reason(exc), raw)
    return parsed([], labels, rejected, source)
