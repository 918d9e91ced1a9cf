"""SageMaker Model Monitor ground truth whose label is JSON.

AWS's record ("Ingest Ground Truth labels and merge them with predictions", SageMaker developer guide):
`{"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "aaaa-bbbb-cccc"},
"eventVersion": "0"}`, the eventId holding the capture's inferenceId when the caller set one, else its eventId;
uploaded as JSON Lines under `prefix/yyyy/mm/dd/hh`. The guide shows CSV data (the label alone).

Was: a JSON label `{"label": 1}` was kept as the text '{"label":1}' (never equal to a prediction: accuracy 0
for it). Every value below is written by hand from the records here.
"""

from __future__ import annotations

import json

from console.sources.readers import sagemaker_ground_truth as gt

TRUTH = "groundtruth/fraud-ep/2026/11/30/12/labels-0001.jsonl"


def _truth(event: str, data: str, encoding: str) -> dict:
    return {"groundTruthData": {"data": data, "encoding": encoding}, "eventMetadata": {"eventId": event},
            "eventVersion": "0"}


def _parse(records: list[dict], **options):
    body = "".join(json.dumps(r) + "\n" for r in records).encode()
    return gt.parse(body, source=TRUTH, first_line=1, options=options)


def test_a_json_label_is_its_value():
    out = _parse([_truth("a", '{"label": 1}', "JSON"), _truth("b", '{"label": "fraud"}', "JSON"),
                  _truth("c", "0", "JSON"), _truth("d", '{"label": 1, "reviewer": "ann"}', "JSON")])
    rows = {r["request_id"]: (r["label"], r["label_num"]) for r in out.labels.to_pylist()}
    assert rows == {"a": ("1", 1.0), "b": ("fraud", None), "c": ("0", 0.0)}
    assert [(r.loc, r.reason) for r in out.rejected] == [
        (4, "JSON label object with keys 'label', 'reviewer': set options.label_key to the one holding the label")]
    named = _parse([_truth("d", '{"is_fraud": 0, "reviewer": "ann"}', "JSON"), _truth("e", '{"reviewer": "bo"}', "JSON")],
                   label_key="is_fraud")
    assert [(r["request_id"], r["label"], r["label_num"]) for r in named.labels.to_pylist()] == [("d", "0", 0.0)]
    assert [r.reason for r in named.rejected] == ["JSON label has no 'is_fraud' (options.label_key); it has 'reviewer'"]
