"""Vendor records as the vendors really write them, found by the twenty-fifth session's probe of the readers:
a Databricks request failed with a 4xx and no message, SageMaker CSV payloads with a quoted comma and a batch
answered on one CSV line, a KServe binary-mode dump whose headers are lists (Go's `http.Header` as JSON), and an
OTLP line with one span lacking its `spanId`. Each was undercounted or set aside whole before."""

from __future__ import annotations

import json
from datetime import datetime

from console.sources.readers import databricks_inference as dbx
from console.sources.readers import kserve_cloudevents as kce
from console.sources.readers import otlp, sagemaker_capture


def _dbx_row(i: int, status: int, response) -> dict:
    row = {"databricks_request_id": f"d-{i}", "client_request_id": f"c-{i}", "date": "2026-12-04",
           "timestamp_ms": 1764842400000 + i, "status_code": status, "sampling_fraction": 1.0,
           "execution_time_ms": 12, "request": json.dumps({"dataframe_records": [{"x": 1.0}]}),
           "request_metadata": {"model_name": "churn", "model_version": "1", "endpoint_name": "churn"}}
    if response is not ...:
        row["response"] = response
    return row


def test_a_databricks_request_failed_without_a_message_is_an_error():
    """100 rows, every 10th a 429 with no response, a null one, an empty one, or a body without `message`: the
    reader decided `ok` from the status but took the error text from the body alone, so those rows counted as
    successes (error rate 0 where it is 0.10)."""
    bodies = [..., None, "", json.dumps({"detail": "slow down"})]
    rows = [_dbx_row(i, 429, bodies[(i // 10) % 4]) if i % 10 == 0 else
            _dbx_row(i, 200, json.dumps({"predictions": [0.3]})) for i in range(100)]
    body = "".join(json.dumps(r) + "\n" for r in rows).encode()
    out = dbx.parse(body, source="payload.jsonl", first_line=1, options={"threshold": 0.5})
    got = out.predictions.to_pylist()
    assert len(got) == 100 and not out.rejected
    errors = [r for r in got if r["error"]]
    assert len(errors) == 10 and {r["error"] for r in errors} == {"HTTP 429"}
    assert {r["status"] for r in errors} == {"429"}
    fine = _dbx_row(0, 503, json.dumps({"message": "model crashed"}))  # a message, when there is one, is kept
    (row,) = dbx.parse((json.dumps(fine) + "\n").encode(), source="p", first_line=1, options={}).predictions.to_pylist()
    assert row["error"] == "model crashed"


def _capture(data_in: str, data_out: str) -> bytes:
    rec = {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": data_in,
                                             "encoding": "CSV"},
                           "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "data": data_out,
                                              "encoding": "CSV"}},
           "eventMetadata": {"eventId": "x-1", "inferenceTime": "2026-12-04T10:00:00Z"}, "eventVersion": "0"}
    return (json.dumps(rec) + "\n").encode()


SOURCE = "capture/fraud-ep/AllTraffic/2026/12/04/10/a.jsonl"
FEATURES = {"features": ["amount", "age", "city"], "threshold": 0.5}


def test_a_sagemaker_csv_cell_may_hold_a_quoted_comma():
    out = sagemaker_capture.parse(_capture('120.5,33,"Berlin, DE"', "0.8"), source=SOURCE, first_line=1,
                                  options=FEATURES)
    assert not out.rejected
    (row,) = out.predictions.to_pylist()
    assert (row["amount"], row["age"], row["city"], row["score"]) == (120.5, 33, "Berlin, DE", 0.8)
    bad = sagemaker_capture.parse(_capture('1,"a"b,3', "0.8"), source=SOURCE, first_line=1, options=FEATURES)
    assert bad.predictions is None and "CSV payload unreadable" in bad.rejected[0].reason


def test_a_sagemaker_batch_answered_on_one_csv_line_gets_a_value_per_row():
    out = sagemaker_capture.parse(_capture("1,2,DE\n4,5,FR", "0.1,0.9"), source=SOURCE, first_line=1,
                                  options=FEATURES)
    assert not out.rejected
    rows = {r["request_id"]: r for r in out.predictions.to_pylist()}
    assert {k: (r["city"], r["score"], r["prediction"]) for k, r in rows.items()} == \
        {"x-1#0": ("DE", 0.1, "0"), "x-1#1": ("FR", 0.9, "1")}
    # one row answered with two values stays that row's two class scores
    (one,) = sagemaker_capture.parse(_capture("1,2,DE", "0.1,0.9"), source=SOURCE, first_line=1,
                                     options=FEATURES).predictions.to_pylist()
    assert one["request_id"] == "x-1" and one["prediction"] == "1"


def test_a_kserve_dump_with_headers_as_lists_is_paired():
    def event(kind: str, t: str, body: dict) -> str:
        return json.dumps({"headers": {"Ce-Id": ["abc"], "Ce-Type": [f"org.kubeflow.serving.inference.{kind}"],
                                       "Ce-Time": [t], "Ce-Inferenceservicename": ["iris"], "Ce-Endpoint": ["default"]},
                           "body": json.dumps(body)})

    body = (event("request", "2026-12-04T10:00:00.1234567Z", {"instances": [[1, 2, 3, 4]]}) + "\n"
            + event("response", "2026-12-04T10:00:00.2234567Z", {"predictions": [1]}) + "\n").encode()
    out = kce.parse(body, source="events.jsonl", first_line=1, options={"variant_versions": {"default": "1"}})
    assert not out.rejected
    (row,) = out.predictions.to_pylist()
    assert (row["model"], row["version"], row["prediction"]) == ("iris", "1", "1")
    assert row["latency_ms"] == 100.0 and row["ts"] == datetime(2026, 12, 4, 10, 0, 0, 123456)


def test_an_otlp_span_without_its_id_costs_only_itself():
    attrs = [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
             {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "120"}}]
    spans = [{"traceId": "a" * 32, "spanId": "b" * 16, "name": "chat", "startTimeUnixNano": "1764842400000000000",
              "endTimeUnixNano": "1764842400500000000", "attributes": attrs},
             {"traceId": "a" * 32, "name": "db query", "startTimeUnixNano": "1764842400000000000",
              "endTimeUnixNano": "1764842400500000000"}]
    line = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "bot"}},
        {"key": "service.version", "value": {"stringValue": "1"}}]}, "scopeSpans": [{"spans": spans}]}]}
    out = otlp.parse((json.dumps(line) + "\n").encode(), source="t.jsonl", first_line=1, options={})
    (row,) = out.predictions.to_pylist()
    assert (row["model"], row["version"], row["input_tokens"], row["latency_ms"]) == ("bot", "1", 120, 500.0)
    assert [r.reason for r in out.rejected] == ["a span without spanId"]
