"""KServe and Seldon payload-logger CloudEvents: pairing across chunks, latency, timeouts, feedback labels."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from console.sources.readers import READERS, kserve_cloudevents as kce

FIX = Path(__file__).parent / "fixtures" / "formats" / "kserve"
OPTIONS = {"variant_versions": {"default": "1", "canary": "2"},
           "features": ["sepal_length", "sepal_width", "petal_length", "petal_width"]}
LINES = (FIX / "events.jsonl").read_bytes().splitlines(keepends=True)
CHUNK_A, CHUNK_B = b"".join(LINES[:15]), b"".join(LINES[15:])


@pytest.fixture(scope="module")
def first():
    return kce.parse(CHUNK_A, source="events.jsonl", first_line=1, options=OPTIONS)


def test_registry():
    assert READERS["kserve-cloudevents"] is kce


def test_pairs_request_and_response_in_any_order(first):
    rows = {r["request_id"]: r for r in first.predictions.to_pylist()}
    assert sorted(rows) == ["k-1#0", "k-1#1", "k-2", "k-3", "s-1"]
    k10, k11 = rows["k-1#0"], rows["k-1#1"]
    assert (k10["prediction"], k11["prediction"], k10["latency_ms"]) == ("1", "2", 42.0)
    assert (k10["sepal_length"], k11["petal_width"]) == (6.8, 1.6)
    assert (k10["model"], k10["variant"], k10["version"], k10["ts"]) == ("sklearn-iris", "default", "1", datetime(2026, 11, 30, 10))
    k2 = rows["k-2"]  # binary-mode dump request, V2 tensors; data_base64 response
    assert (k2["variant"], k2["version"], k2["prediction"], k2["latency_ms"]) == ("canary", "2", "0", 15.0)
    assert (k2["sepal_length"], k2["petal_width"]) == (5.1, 0.2)
    k3 = rows["k-3"]  # the response was logged before the request
    assert (k3["latency_ms"], k3["loc"], k3["prediction"]) == (100.0, 6, "2")
    s1 = rows["s-1"]  # Seldon: paired on ce-requestid, its own names, probabilities -> argmax
    assert (s1["model"], s1["prediction"], s1["score"], s1["latency_ms"]) == ("iris-seldon", "2", 0.7, 30.0)
    assert (s1["sl"], s1["pw"]) == (6.3, 2.5)


def test_bad_and_timed_out_events_are_set_aside(first):
    reasons = {r.loc: r.reason for r in first.rejected}
    assert sorted(reasons) == [10, 11, 12, 15]
    assert reasons[10] == "unpaired request k-5: no response within 300 s"  # 09:50 against newest 10:00:04
    assert reasons[11].startswith("not JSON")
    assert reasons[12] == "unknown event type 'org.kubeflow.serving.inference.outlier'"
    # a plain-text response ("oops") is a failed inference, waiting for its request (not "not JSON")
    assert "response:k-10" in first.carry["waiting"]
    assert reasons[15] == "1 instances in the request but 2 predictions in the response"


def test_unpaired_request_is_carried_to_the_next_chunk(first):
    assert list(first.carry["waiting"]) == ["request:k-4", "response:k-10"]
    json.dumps(first.carry)  # the store commits it as JSON
    second = kce.parse(CHUNK_B, source="events.jsonl", first_line=16, options=OPTIONS, carry=first.carry)
    (k4,) = second.predictions.to_pylist()
    assert (k4["request_id"], k4["latency_ms"], k4["loc"], k4["prediction"]) == ("k-4", 250.0, 9, "0")
    # k-7 waits; the feedback at 10:30 is the newest event, so k-7 (10:00:05) is past the 300 s timeout
    assert [(r.loc, r.reason) for r in second.rejected] == [(13, "unpaired response k-10: no request within 300 s"),
                                                           (18, "unpaired request k-7: no response within 300 s")]
    assert second.carry["waiting"] == {}


def test_seldon_feedback_is_a_late_label_for_the_graded_response(first):
    second = kce.parse(CHUNK_B, source="events.jsonl", first_line=16, options=OPTIONS, carry=first.carry)
    (label,) = second.labels.to_pylist()
    assert (label["request_id"], label["label"], label["label_num"]) == ("s-1", "2", 2.0)
    assert label["ts"] == datetime(2026, 11, 30, 10, 30)
    assert label["request_id"] in set(first.predictions["request_id"].to_pylist())


def test_a_longer_timeout_keeps_waiting():
    out = kce.parse(CHUNK_A, source="events.jsonl", first_line=1, options={**OPTIONS, "pair_timeout_s": 3600})
    assert sorted(out.carry["waiting"]) == ["request:k-4", "request:k-5", "response:k-10"]
    assert 10 not in {r.loc for r in out.rejected}


def test_blob_storage_records_json_and_table():
    path = FIX / "blob_records.jsonl"
    out = kce.parse(path.read_bytes(), source=str(path), first_line=1, options={"threshold": 0.5})
    (row,) = out.predictions.to_pylist()
    assert (row["request_id"], row["model"], row["variant"], row["score"], row["prediction"]) == ("b-1", "xgb", "default", 0.83, "1")
    assert row["ts"] is None and row["latency_ms"] is None  # the blob logger records no time
    # the CSV / Parquet marshaller's columns
    records = [json.loads(line) for line in path.read_text().splitlines()]
    table = pa.Table.from_pylist([{"url": r["Url"], "bytes": r["Bytes"], "contentType": r["ContentType"],
                                   "reqType": r["ReqType"], "id": r["Id"], "inferenceService": r["InferenceService"],
                                   "namespace": r["Namespace"], "component": r["Component"], "endpoint": r["Endpoint"]}
                                  for r in records])
    out = kce.parse_table(table, source="logs/part-0.parquet", first_row=1, options={"threshold": 0.5})
    assert out.predictions.to_pylist()[0]["score"] == 0.83 and not out.rejected
    assert json.loads(base64.b64decode(records[0]["Bytes"]))["instances"] == [[6.7, 3.1, 4.4, 1.4]]


def test_events_without_time_wait_up_to_a_count():
    path = FIX / "blob_records.jsonl"
    request = path.read_bytes().splitlines(keepends=True)[0]
    body = b"".join(request.replace(b'"Id": "b-1"', f'"Id": "b-{i}"'.encode()) for i in range(5))
    out = kce.parse(body, source=str(path), first_line=1, options={"max_waiting": 3})
    assert [(r.loc, r.reason) for r in out.rejected] == [
        (1, "unpaired request b-0: more than 3 events waiting"), (2, "unpaired request b-1: more than 3 events waiting")]
    assert sorted(out.carry["waiting"]) == ["request:b-2", "request:b-3", "request:b-4"]
