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


# ------------------------------------------------------------------ a vendor reader's state across a log rotation

from pathlib import Path  # noqa: E402

from console.config import Config, LogSource  # noqa: E402
from console.service import Service  # noqa: E402

FIX = Path(__file__).parent / "fixtures" / "formats"
WALL = datetime(2026, 11, 30, 12)


def _rows(tmp_path: Path, fmt: str, options: dict, steps) -> list[tuple]:
    """The store's predictions after `steps` (each a function of the log folder, followed by a refresh) over
    `logs/events.jsonl*`."""
    logs = tmp_path / "logs"
    logs.mkdir()
    cfg = Config(source=None, root=tmp_path, store_path=tmp_path / "store",
                 logs=(LogSource("predictions", str(logs / "events.jsonl*"), fmt, options=options),))
    svc = Service(cfg, clock=lambda: WALL)
    try:
        for step in steps:
            step(logs)
            svc.refresh()
        with svc.warehouse.cursor() as cur:
            return cur.execute("SELECT request_id, latency_ms, input_tokens FROM predictions ORDER BY request_id"
                               ).fetchall()
    finally:
        svc.close()


def _kserve_pair() -> tuple[bytes, bytes]:
    lines = (FIX / "kserve" / "events.jsonl").read_bytes().splitlines(keepends=True)
    return lines[0], lines[1]  # k-1's request, then its response 42 ms later (two instances)


def test_a_kserve_pair_split_by_a_rename_rotation_is_kept(tmp_path):
    """The request in the file rotated away, its response in the new file: the waiting request is the log's, not
    the old file's, so they pair (the response was set aside as unpaired, the request waited forever)."""
    request, response = _kserve_pair()
    got = _rows(tmp_path, "kserve-cloudevents", {"variant_versions": {"default": "1"}}, [
        lambda d: (d / "events.jsonl").write_bytes(request),
        lambda d: ((d / "events.jsonl").rename(d / "events.jsonl.1"), (d / "events.jsonl").write_bytes(response))])
    assert got == [("k-1#0", 42.0, None), ("k-1#1", 42.0, None)]


def test_a_kserve_pair_across_two_files_found_at_once_is_kept(tmp_path):
    """A console started after the rotation reads the new file (the response) before the old one (the request)."""
    request, response = _kserve_pair()

    def both(d: Path) -> None:
        (d / "events.jsonl.1").write_bytes(request)
        (d / "events.jsonl").write_bytes(response)

    got = _rows(tmp_path, "kserve-cloudevents", {"variant_versions": {"default": "1"}}, [both])
    assert got == [("k-1#0", 42.0, None), ("k-1#1", 42.0, None)]


def test_an_otlp_wrapper_exported_after_a_rotation_is_not_counted_again(tmp_path):
    """A model call in the file rotated away, the wrapper span above it (which repeats its usage) in the new file:
    40 input tokens once, not twice."""
    lines = (FIX / "otlp" / "split_trace.jsonl").read_bytes().splitlines(keepends=True)
    got = _rows(tmp_path, "otlp", {}, [
        lambda d: (d / "events.jsonl").write_bytes(lines[0]),
        lambda d: ((d / "events.jsonl").rename(d / "events.jsonl.1"), (d / "events.jsonl").write_bytes(b"".join(lines[1:])))])
    assert [(r[0], r[2]) for r in got] == [("1111111111111111", 40), ("4444444444444444", 5)]


def test_a_lower_case_z_is_utc():
    """RFC 3339 allows `z`; every vendor reader set such a time aside as unreadable."""
    from console.sources.readers._common import parse_time

    assert parse_time("2026-12-04T10:00:00.5z") == datetime(2026, 12, 4, 10, 0, 0, 500000)
    assert parse_time("2026-12-04t10:00:00z") == datetime(2026, 12, 4, 10)


def _json_capture(data_in: dict | str, content_type: str = "application/json") -> bytes:
    rec = {"captureData": {"endpointInput": {"observedContentType": content_type, "mode": "INPUT",
                                             "data": data_in if isinstance(data_in, str) else json.dumps(data_in),
                                             "encoding": "JSON"},
                           "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                              "data": json.dumps({"predictions": [{"score": 0.7}]}),
                                              "encoding": "JSON"}},
           "eventMetadata": {"eventId": "x-1", "inferenceTime": "2026-12-04T10:00:00Z"}, "eventVersion": "0"}
    return (json.dumps(rec) + "\n").encode()


def test_the_sagemaker_built_in_algorithms_request_rows_are_features_by_position():
    """AWS's common inference format (`instances: [{"features": [...]}]`, the dense `data.features.values`): the
    values were one text column `features`, and drift found no data for any feature."""
    for body in ({"instances": [{"features": [120.5, 33, 1]}]}, {"features": [120.5, 33, 1]},
                 {"data": {"features": {"values": [120.5, 33, 1]}}}):
        out = sagemaker_capture.parse(_json_capture(body), source=SOURCE, first_line=1,
                                      options={"features": ["amount", "age", "flag"], "threshold": 0.5})
        assert not out.rejected, body
        (row,) = out.predictions.to_pylist()
        assert (row["amount"], row["age"], row["flag"], row["score"]) == (120.5, 33, 1, 0.7), body
        assert "features" not in row


def test_a_kserve_event_with_an_empty_endpoint_is_the_default_variant():
    """KServe's predictor without a canary logs `endpoint: ""`; every such event was set aside as `missing version`."""
    def event(kind: str, t: str, data: dict) -> str:
        return json.dumps({"specversion": "1.0", "id": "e-1", "type": f"org.kubeflow.serving.inference.{kind}",
                           "time": t, "inferenceservicename": "iris", "endpoint": "", "data": data})

    body = (event("request", "2026-12-04T10:00:00Z", {"instances": [[1, 2, 3, 4]]}) + "\n"
            + event("response", "2026-12-04T10:00:00.010Z", {"predictions": [2]}) + "\n").encode()
    out = kce.parse(body, source="events.jsonl", first_line=1, options={})
    assert not out.rejected
    (row,) = out.predictions.to_pylist()
    assert (row["variant"], row["version"], row["prediction"]) == ("default", "default", "2")
    named = kce.parse(body, source="events.jsonl", first_line=1, options={"variant_versions": {"default": "3"}})
    assert named.predictions["version"].to_pylist() == ["3"]


def test_sampled_captures_say_their_counts_are_of_the_captured_rows():
    """`sampling_percentage` carried a weight nothing scaled by, silently: 630 requests shown for 3,150 served."""
    out = sagemaker_capture.parse(_capture("1,2,DE", "0.8"), source=SOURCE, first_line=1,
                                  options={**FEATURES, "sampling_percentage": 20})
    assert out.predictions["sampling_weight"].to_pylist() == [5.0]
    assert any("each captured row stands for 5 requests" in n for n in out.notes)
    plain = sagemaker_capture.parse(_capture("1,2,DE", "0.8"), source=SOURCE, first_line=1, options=FEATURES)
    assert not any("sampled" in n for n in plain.notes)
    row = {**_dbx_row(1, 200, json.dumps({"predictions": [0.3]})), "sampling_fraction": 0.25}
    dbx_out = dbx.parse((json.dumps(row) + "\n").encode(), source="p", first_line=1, options={})
    assert any("stands for 4 requests" in n for n in dbx_out.notes)
