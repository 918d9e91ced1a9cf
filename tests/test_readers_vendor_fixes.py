"""Vendor records from the formats tester's findings (session 27): failures the vendors log in their own shapes,
export shapes the readers did not know, and records the readers set aside with a wrong reason. Each test names
its finding."""

from __future__ import annotations

import json

from console.sources.readers import kserve_cloudevents as kce


def _lines(*records: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def _kserve(kind: str, rid: str, t: str, data: dict) -> dict:
    return {"specversion": "1.0", "id": rid, "type": f"org.kubeflow.serving.inference.{kind}",
            "source": "http://localhost:9081/", "time": t, "datacontenttype": "application/json",
            "inferenceservicename": "sklearn-iris", "namespace": "default", "component": "predictor",
            "endpoint": "default", "data": data}


def _seldon(kind: str, rid: str, t: str, body: dict, model: str = "classifier") -> dict:
    return {"headers": {"Ce-Id": f"{rid}-{kind}-{model}", "Ce-Requestid": rid, "Ce-Modelid": model,
                        "Ce-Type": f"io.seldon.serving.inference.{kind}", "Ce-Time": t,
                        "Ce-Inferenceservicename": "income", "Ce-Endpoint": "default"},
            "body": json.dumps(body)}


def test_kserve_and_seldon_error_bodies_are_error_rows():
    """Finding 1: KServe's `{"error": ...}` (V1/V2, Open Inference Protocol) and Seldon's `status: FAILURE` were read
    as successes with no prediction, and a failed batch was set aside as a count mismatch."""
    body = _lines(
        _kserve("request", "x1", "2026-12-01T11:00:00Z", {"instances": [[1, 2, 3, 4]]}),
        _kserve("response", "x1", "2026-12-01T11:00:00.005Z", {"error": "Model with name sklearn-iris is not ready."}),
        _kserve("request", "x2", "2026-12-01T11:00:01Z",
                {"inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6, 7, 8]}]}),
        _kserve("response", "x2", "2026-12-01T11:00:01.005Z", {"error": "Unexpected shape for input 'input-0'"}),
        _seldon("request", "puid-9", "2026-12-01T11:00:02Z", {"data": {"ndarray": [[1, 2]]}}),
        _seldon("response", "puid-9", "2026-12-01T11:00:02.1Z",
                {"status": {"code": -1, "info": "Unknown data type returned as payload",
                            "reason": "MICROSERVICE_BAD_DATA", "status": "FAILURE"}}))
    out = kce.parse(body, source="errors.jsonl", first_line=1, options={})
    assert not out.rejected
    rows = {r["request_id"]: r for r in out.predictions.to_pylist()}
    assert sorted(rows) == ["puid-9", "x1", "x2#0", "x2#1"]
    assert {r["status"] for r in rows.values()} == {"error"}
    assert rows["x1"]["error"] == "Model with name sklearn-iris is not ready."
    assert rows["x2#1"]["error"] == "Unexpected shape for input 'input-0'" and rows["x2#1"]["latency_ms"] == 5.0
    assert rows["puid-9"]["error"] == "MICROSERVICE_BAD_DATA: Unknown data type returned as payload"
    assert all(r.get("prediction") is None for r in rows.values())
    assert rows["x1"]["model"] == "sklearn-iris" and rows["x1"]["version"] == "default"


def _batch_line(i: int, status: int, body: dict) -> dict:
    return {"id": f"batch_req_{i}", "custom_id": f"q-{i}",
            "response": {"status_code": status, "request_id": f"req_{i}", "body": body}, "error": None}


def _chat(i: int, model: str = "gpt-4o-mini-2024-07-18") -> dict:
    return _batch_line(i, 200, {"id": f"chatcmpl-{i}", "object": "chat.completion", "created": 1796112000 + i,
                                "model": model, "choices": [{"index": 0, "message": {"role": "assistant", "content": "yes"},
                                                             "finish_reason": "stop"}],
                                "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}})


_FAILED_400 = _batch_line(4, 400, {"error": {"message": "Invalid 'messages': empty array",
                                             "type": "invalid_request_error", "param": "messages", "code": "empty_array"}})
_FAILED_500 = _batch_line(7, 500, {"error": {"message": "The server had an error", "type": "server_error",
                                             "param": None, "code": None}})
_EXPIRED = {"id": "batch_req_8", "custom_id": "q-8", "response": None,
            "error": {"code": "batch_expired",
                      "message": "This request could not be executed before the completion window expired."}}
_BATCH_TIME = {"batch_time": "2026-12-01T07:59:00Z"}


def test_openai_batch_failures_in_the_output_file_count_under_the_batch_model():
    """Finding 2: a failed line names no model (OpenAI's error bodies carry none), so without `options.model` it
    was set aside as "missing model" and the model's error rate read 0. A batch runs one model, so a failure takes
    the model and snapshot its batch's answered lines name (in this file, carried across its chunks)."""
    from console.sources.readers import openai_batch

    first = openai_batch.parse(_lines(_FAILED_400, _chat(1), _chat(2)), source="output.jsonl", first_line=1,
                               options=_BATCH_TIME)
    assert not first.rejected
    rows = {r["request_id"]: r for r in first.predictions.to_pylist()}
    assert (rows["q-4"]["model"], rows["q-4"]["version"], rows["q-4"]["status"]) == (
        "gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18", "400")
    assert rows["q-4"]["error"] == "Invalid 'messages': empty array"
    second = openai_batch.parse(_lines(_FAILED_500), source="output.jsonl", first_line=4, options=_BATCH_TIME,
                                carry=first.carry)
    (row,) = second.predictions.to_pylist()
    assert (row["model"], row["version"], row["status"]) == ("gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18", "500")


def test_openai_batch_failures_take_only_their_own_files_snapshot():
    """The store hands a source's carry to its next file (a rotated log's pending state): another batch file's
    snapshot was charged with this file's failures (the formats re-probe's finding A). Each file is its own batch."""
    from console.sources.readers import openai_batch

    first = openai_batch.parse(_lines(_chat(1), _chat(2)), source="batch-a.jsonl", first_line=1, options=_BATCH_TIME)
    other = openai_batch.parse(_lines(_FAILED_500), source="batch-b.jsonl", first_line=1, options=_BATCH_TIME,
                               carry=first.carry)
    assert other.predictions is None and [r.loc for r in other.rejected] == [1], other
    assert "options.model" in other.rejected[0].reason


def test_openai_batch_failure_with_no_model_anywhere_says_options_model_is_needed():
    """Finding 2: an error-file line (`response: null`) names no model and its file has no answered line: without
    `options.model` it is set aside saying so; with it, it counts under the configured model, and the snapshot
    is the batch's when its output file named one, else `options.version`, else "unknown" with a note."""
    from console.sources.readers import openai_batch

    alone = openai_batch.parse(_lines(_EXPIRED), source="errors.jsonl", first_line=1, options=_BATCH_TIME)
    assert alone.predictions is None
    (rej,) = alone.rejected
    assert "options.model" in rej.reason and "names no model" in rej.reason
    mixed = openai_batch.parse(_lines(_chat(1), _chat(2, "gpt-4.1-2025-04-14"), _FAILED_400), source="o.jsonl",
                               first_line=1, options=_BATCH_TIME)
    assert [r.loc for r in mixed.rejected] == [3] and "options.model" in mixed.rejected[0].reason
    routed = openai_batch.parse(_lines(_EXPIRED), source="errors.jsonl", first_line=1,
                                options={**_BATCH_TIME, "model": "router"})
    (row,) = routed.predictions.to_pylist()
    assert (row["model"], row["version"], row["status"]) == ("router", "unknown", "batch_expired")
    assert any("1 failed line" in n and "options.version" in n for n in routed.notes)
    pinned = openai_batch.parse(_lines(_EXPIRED), source="errors.jsonl", first_line=1,
                                options={**_BATCH_TIME, "model": "router", "version": "2024-07-18"})
    assert pinned.predictions.to_pylist()[0]["version"] == "2024-07-18" and not pinned.notes


def _attr(key: str, value) -> dict:
    typed = {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}
    return {"key": key, "value": typed}


def _span_line(span_id: str, start_s: int, attrs: dict, status: dict | None = None,
               scope: str = "opentelemetry.instrumentation.openai") -> dict:
    span = {"traceId": "cb8efff798038103d269b633813fc60c", "spanId": span_id, "name": "chat gpt-4o", "kind": 3,
            "startTimeUnixNano": str(start_s * 10**9), "endTimeUnixNano": str(start_s * 10**9 + 500_000_000),
            "attributes": [_attr(k, v) for k, v in attrs.items()], "status": status or {}}
    return {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "nover-bot")]},
                               "scopeSpans": [{"scope": {"name": scope, "version": "0.1"}, "spans": [span]}]}]}


def test_otlp_failed_call_shares_its_version_with_the_answered_ones():
    """Finding 5: without `service.version` the version fell back to `gen_ai.response.model`, which a failed call
    lacks (no response), so its error landed on a phantom version `gpt-4o` with a 100 % error rate. The fallback is
    now the requested model, present on every call; the served snapshot stays in `llm_model`."""
    from console.sources.readers import otlp

    ok = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
          "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5}
    failed = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "error.type": "timeout"}
    body = _lines(*[_span_line(f"22000000000000{i:02d}", 1796119600 + i, ok) for i in range(4)],
                  _span_line("2200000000000099", 1796119610, failed, {"code": 2, "message": "Request timed out."}))
    out = otlp.parse(body, source="nover.jsonl", first_line=1, options={})
    rows = out.predictions.to_pylist()
    assert len(rows) == 5 and not out.rejected
    assert {r["version"] for r in rows} == {"gpt-4o"}
    assert [r["status"] for r in rows].count("ERROR") == 1 and rows[-1]["error"] == "timeout"
    assert rows[0]["llm_model"] == "gpt-4o-2024-08-06"


def test_otlp_spans_in_the_older_genai_conventions_are_model_calls():
    """Finding 6: instrumentations before GenAI semconv 1.27 (OpenLLMetry among them) name no `gen_ai.operation.name`;
    they mark a model call with `gen_ai.system` + `llm.request.type` and count tokens as `gen_ai.usage.prompt_tokens`,
    so the whole file read as empty without a word. Agent, tool and workflow spans still do not count."""
    from console.sources.readers import otlp

    old = {"gen_ai.system": "openai", "llm.request.type": "chat", "gen_ai.request.model": "gpt-4o",
           "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.prompt_tokens": 50,
           "gen_ai.usage.completion_tokens": 9, "llm.usage.total_tokens": 59}
    no_type = {"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.prompt_tokens": 60,
               "gen_ai.usage.completion_tokens": 9}
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.system": "openai", "gen_ai.usage.input_tokens": 110}
    workflow = {"traceloop.span.kind": "workflow", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o"}
    tool = {"openinference.span.kind": "TOOL", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o"}
    body = _lines(_span_line("3300000000000001", 1796119600, old, scope="opentelemetry.instrumentation.openai.v2"),
                  _span_line("3300000000000002", 1796119601, no_type, {"code": 2}),
                  _span_line("3300000000000003", 1796119602, agent), _span_line("3300000000000004", 1796119603, workflow),
                  _span_line("3300000000000005", 1796119604, tool))
    out = otlp.parse(body, source="openllmetry.jsonl", first_line=1, options={})
    rows = out.predictions.to_pylist()
    assert [r["request_id"] for r in rows] == ["3300000000000001", "3300000000000002"]
    assert [(r["input_tokens"], r["output_tokens"]) for r in rows] == [(50, 9), (60, 9)]
    assert (rows[0]["operation"], rows[0]["provider"], rows[0]["version"]) == ("chat", "openai", "gpt-4o")
    assert rows[1]["status"] == "ERROR"


_MLFLOW_INFO = {"trace_id": "tr-c3d60e76c3dfe5ade61ebf3801fc246b",
                "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "1"}},
                "request_time": "2026-12-05T04:14:07.519Z", "state": "OK",
                "trace_metadata": {"mlflow.trace_schema.version": "3", "mlflow.traceInputs": "{\"q\": \"hello\"}",
                                   "mlflow.trace.tokenUsage": "{\"input_tokens\": 22, \"output_tokens\": 6, \"total_tokens\": 28}"},
                "tags": {"mlflow.traceName": "answer", "mlflow.trace.spansLocation": "TRACKING_STORE"},
                "request_preview": "{\"q\": \"hello\"}"}


def test_mlflow_full_trace_export_is_read_by_its_info():
    """Finding 7: `Trace.to_json()` writes `{info, data: {spans}}`; every such line was set aside as "no trace_id"."""
    from console.sources.readers import mlflow_traces

    full = {"info": {**_MLFLOW_INFO, "execution_duration_ms": 51},
            "data": {"spans": [{"name": "answer", "span_id": "abc", "trace_id": "xyz", "parent_span_id": None}]}}
    out = mlflow_traces.parse(_lines(full), source="real_full.jsonl", first_line=1, options={"version": "1"})
    assert not out.rejected
    (row,) = out.predictions.to_pylist()
    assert (row["request_id"], row["model"], row["latency_ms"]) == ("tr-c3d60e76c3dfe5ade61ebf3801fc246b", "answer", 51.0)
    assert (row["input_tokens"], row["output_tokens"], row["status"]) == (22, 6, "OK")


def test_mlflow_rest_shape_duration_string_is_seconds():
    """Finding 8: the REST API / proto JSON shape (`MessageToDict(trace.info.to_proto())`) gives `execution_duration`
    as a protobuf Duration string ("0.051s") and `request_time` as RFC 3339; the latency was dropped silently."""
    from datetime import datetime

    from console.sources.readers import mlflow_traces

    recs = [{**_MLFLOW_INFO, "execution_duration": "0.051s"},
            {**_MLFLOW_INFO, "trace_id": "tr-2", "request_time": "2026-12-05T04:14:08.123456789Z",
             "execution_duration": "2s"},
            {**_MLFLOW_INFO, "trace_id": "tr-3", "execution_duration": "soon"}]
    out = mlflow_traces.parse(_lines(*recs), source="rest_infos.jsonl", first_line=1, options={"version": "1"})
    rows = out.predictions.to_pylist()
    assert [r["latency_ms"] for r in rows] == [51.0, 2000.0]
    assert rows[1]["ts"] == datetime(2026, 12, 5, 4, 14, 8, 123456)
    assert [(r.loc, r.reason) for r in out.rejected] == [(3, "execution_duration 'soon' is not a duration")]


def test_seldon_batch_answered_with_a_flat_ndarray_is_one_output_per_example():
    """Finding 10: Seldon's SKLearn server answers a 3-row batch with `ndarray: [1, 0, 1]`; it was read as one row of
    three values and the batch set aside as "3 instances in the request but 1 predictions". A single example's
    flat class probabilities stay one output."""
    body = _lines(
        _seldon("request", "puid-1", "2026-12-02T10:00:00Z",
                {"data": {"names": ["age", "hours"], "ndarray": [[30, 40], [50, 20], [22, 60]]}}),
        _seldon("response", "puid-1", "2026-12-02T10:00:00.020Z",
                {"data": {"names": [], "ndarray": [1, 0, 1]}, "meta": {"puid": "puid-1"}}),
        _seldon("request", "puid-2", "2026-12-02T10:00:01Z", {"data": {"names": ["age", "hours"], "ndarray": [[41, 38]]}}),
        _seldon("response", "puid-2", "2026-12-02T10:00:01.020Z",
                {"data": {"names": ["t:0", "t:1"], "ndarray": [0.2, 0.8]}, "meta": {"puid": "puid-2"}}))
    out = kce.parse(body, source="events.jsonl", first_line=1, options={})
    assert not out.rejected
    rows = {r["request_id"]: r for r in out.predictions.to_pylist()}
    assert [(k, rows[k]["prediction"], rows[k]["age"]) for k in ("puid-1#0", "puid-1#1", "puid-1#2")] == [
        ("puid-1#0", "1", 30), ("puid-1#1", "0", 50), ("puid-1#2", "1", 22)]
    assert (rows["puid-2"]["prediction"], rows["puid-2"]["score"]) == ("1", 0.8)


def test_a_vendor_json_lines_file_keeps_a_whole_last_record_without_a_newline(tmp_path):
    """Finding 12: plain JSONL keeps a whole last row that has no newline once the grace is past; every vendor format
    (JSON Lines too) set it aside as "truncated last line (no newline)". A cut one is still set aside."""
    import os
    import time
    from pathlib import Path

    from console.config import Config, LogSource
    from console.warehouse import Warehouse

    whole, cut = tmp_path / "output.jsonl", tmp_path / "cut.jsonl"
    lines = [json.dumps(_chat(i)) for i in (1, 2)] + [json.dumps(_FAILED_500)]
    whole.write_text("\n".join(lines))  # written with "\n".join: no newline after the last record
    cut.write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])
    old = time.time() - 3600
    for p in (whole, cut):
        os.utime(p, (old, old))
    options = {"model": "router", "batch_time": "2026-12-01T07:59:00Z"}
    logs = tuple(LogSource("predictions", str(p), "openai-batch", options) for p in (whole, cut))
    w = Warehouse(Config(source=None, root=Path("."), logs=logs), tmp_path / "store", grace_s=30.0,
                  wall=lambda: time.time())
    stats = w.refresh()
    got = {r["reason"]: r["n"] for r in w.frame("malformed_summary").to_dicts()}
    assert stats.rows == {"predictions": 3 + 2} and stats.malformed == 1, (stats, got)
    assert got == {"truncated last line (no newline)": 1}


def _capture_line(event: str, inp: dict, out: dict) -> dict:
    return {"captureData": {"endpointInput": {"mode": "INPUT", **inp}, "endpointOutput": {"mode": "OUTPUT", **out}},
            "eventMetadata": {"eventId": event, "inferenceTime": "2026-12-01T12:00:00Z"}, "eventVersion": "0"}


def test_sagemaker_binary_input_keeps_the_prediction_without_features():
    """Finding 15: SageMaker BASE64-encodes a payload it cannot capture as text (an `application/x-npy` array); the
    record was set aside as "not valid BASE64 of UTF-8 text" (the BASE64 is valid) and its good output lost. The
    prediction is kept without features and a note says the input's type was not decoded."""
    import base64
    import io

    import numpy as np

    from console.sources.readers import sagemaker_capture

    buf = io.BytesIO()
    np.save(buf, np.array([[1.0, 2.0, 3.0]]))
    npy = base64.b64encode(buf.getvalue()).decode()
    body = _lines(
        _capture_line("n1", {"observedContentType": "application/x-npy", "data": npy, "encoding": "BASE64"},
                      {"observedContentType": "text/csv; charset=utf-8", "data": "0.3", "encoding": "CSV"}),
        _capture_line("n2", {"observedContentType": "text/csv", "data": "12,30,7", "encoding": "CSV"},
                      {"observedContentType": "text/csv; charset=utf-8", "data": "0.8", "encoding": "CSV"}),
        _capture_line("n3", {"observedContentType": "text/csv", "data": "12,30,7", "encoding": "CSV"},
                      {"observedContentType": "application/x-protobuf", "data": npy, "encoding": "BASE64"}))
    out = sagemaker_capture.parse(body, source="capture/fraud-ep/AllTraffic/2026/12/01/12/x.jsonl", first_line=1,
                                  options={"threshold": 0.5})
    rows = {r["request_id"]: r for r in out.predictions.to_pylist()}
    assert sorted(rows) == ["n1", "n2"]
    assert (rows["n1"]["score"], rows["n1"]["prediction"], rows["n1"]["ts"].hour) == (0.3, "0", 12)
    assert rows["n1"].get("f0") is None and rows["n2"]["f0"] == 12
    assert any("1 capture" in n and "application/x-npy" in n and "not decoded" in n for n in out.notes)
    assert [(r.loc, r.reason) for r in out.rejected] == [
        (3, "endpointOutput is BASE64 of binary content (application/x-protobuf), not text: no prediction to read")]


def test_an_option_the_format_does_not_read_is_named_in_a_note():
    """Finding 13: `variant_version` (for `variant_versions`) and `threshhold` vanished without a word, and so did
    prices under a format that takes them from `[models.X.prices]`; only a wrong type was said."""
    from console.sources.readers import databricks_inference as dbx
    from console.sources.readers import sagemaker_capture

    body = _lines(_capture_line("e1", {"observedContentType": "text/csv", "data": "12,30,DE", "encoding": "CSV"},
                                {"observedContentType": "text/csv", "data": "0.8", "encoding": "CSV"}))
    out = sagemaker_capture.parse(body, source="capture/fraud-ep/AllTraffic/2026/12/01/12/x.jsonl", first_line=1,
                                  options={"variant_version": {"AllTraffic": "3"}, "threshhold": 0.5,
                                           "features": "amount,age,country", "threshold": 0.5})
    notes = "\n".join(out.notes)
    assert "option variant_version ignored: sagemaker-capture reads no such option (variant_versions?)" in notes
    assert "option threshhold ignored: sagemaker-capture reads no such option (threshold?)" in notes
    assert "option features ignored: expected a list of names, got str" in notes
    assert out.predictions.to_pylist()[0]["prediction"] == "1"  # the well-spelt threshold is still read
    row = {"databricks_request_id": "d-1", "client_request_id": "c-1", "date": "2026-12-04", "timestamp_ms": 1764842400000,
           "status_code": 200, "execution_time_ms": 12, "request": json.dumps({"dataframe_records": [{"x": 1.0}]}),
           "response": json.dumps({"predictions": [1]}),
           "request_metadata": {"model_name": "churn", "model_version": "1", "endpoint_name": "churn"}}
    out = dbx.parse(_lines(row), source="payload.jsonl", first_line=1, options={"input_per_1m": 2.5, "model": "churn"})
    assert any(n.startswith("option input_per_1m ignored: databricks-inference reads no such option") for n in out.notes)
    assert not any("model" in n for n in out.notes)


def _feedback(fid: str, body: dict) -> dict:
    return {"headers": {"Ce-Id": fid, "Ce-Requestid": f"fbreq-{fid}", "Ce-Type": "io.seldon.serving.feedback",
                        "Ce-Time": "2026-12-02T10:00:00Z", "Ce-Inferenceservicename": "income"},
            "body": json.dumps(body)}


def test_seldon_feedback_for_a_batch_is_one_label_per_example():
    """Finding 11: feedback grading a 2-example batch (`truth` ndarray [[1], [0]]) became one label "[[1],[0]]" keyed
    `puid-2`, which joins no prediction (they are `puid-2#0`, `puid-2#1`). One example's truth stays one label."""
    body = _lines(
        _feedback("fb-1", {"request": {"data": {"names": ["age", "hours"], "ndarray": [[30, 40], [50, 20]]}},
                           "response": {"meta": {"puid": "puid-2"},
                                        "data": {"names": ["t:0", "t:1"], "ndarray": [[0.2, 0.8], [0.9, 0.1]]}},
                           "reward": 1, "truth": {"data": {"ndarray": [[1], [0]]}}}),
        _feedback("fb-2", {"response": {"meta": {"puid": "puid-9"}, "data": {"ndarray": [[0.3, 0.7]]}},
                           "reward": 0, "truth": {"data": {"ndarray": [[0]]}}}),
        _feedback("fb-3", {"request": {"data": {"ndarray": [[30, 40], [50, 20], [22, 60]]}},
                           "response": {"meta": {"puid": "puid-1"}, "data": {"ndarray": [1, 0, 1]}},
                           "truth": {"data": {"ndarray": [1, 1, 1]}}}),
        _feedback("fb-4", {"response": {"meta": {"puid": "puid-4"}, "data": {"ndarray": [[0.1, 0.9], [0.6, 0.4]]}},
                           "truth": {"data": {"ndarray": [[1], [0], [1]]}}}))
    out = kce.parse(body, source="feedback.jsonl", first_line=1, options={})
    assert [(r["request_id"], r["label"]) for r in out.labels.to_pylist()] == [
        ("puid-2#0", "1"), ("puid-2#1", "0"), ("puid-9", "0"), ("puid-1#0", "1"), ("puid-1#1", "1"), ("puid-1#2", "1")]
    assert [(r.loc, r.reason) for r in out.rejected] == [
        (4, "feedback truth has 3 rows but the graded response 2")]


def test_seldon_graph_units_are_paired_on_their_own_model_id():
    """Finding 16: a transformer and a classifier both log request `puid-77` (Seldon Core v1 tells them apart by
    `Ce-Modelid`); pairing on the request id alone crossed them (transformer request with classifier response) and
    set the classifier's request aside. Each unit now pairs with itself; `options.unit` counts one unit only, and
    without it a note says the request was counted once per unit."""
    body = _lines(
        _seldon("request", "puid-77", "2026-12-01T12:00:00.000Z", {"data": {"names": ["age", "hours"], "ndarray": [[30, 40]]}},
                "transformer"),
        _seldon("request", "puid-77", "2026-12-01T12:00:00.010Z",
                {"data": {"names": ["age_s", "hours_s"], "ndarray": [[0.3, 0.4]]}}, "classifier"),
        _seldon("response", "puid-77", "2026-12-01T12:00:00.050Z",
                {"data": {"names": ["t:0", "t:1"], "ndarray": [[0.2, 0.8]]}, "meta": {"puid": "puid-77"}}, "classifier"),
        _seldon("response", "puid-77", "2026-12-01T12:00:00.060Z",
                {"data": {"names": ["age_s", "hours_s"], "ndarray": [[0.3, 0.4]]}, "meta": {"puid": "puid-77"}},
                "transformer"))
    both = kce.parse(body, source="graph.jsonl", first_line=1, options={})
    assert not both.rejected and not (both.carry or {}).get("waiting")
    rows = sorted(both.predictions.to_pylist(), key=lambda r: r["loc"])
    assert [(r["loc"], r["latency_ms"]) for r in rows] == [(1, 60.0), (2, 40.0)]
    assert "age" in rows[0] and rows[1]["age_s"] == 0.3 and rows[1].get("age") is None
    assert any("puid-77" in n and "classifier, transformer" in n and "options.unit" in n for n in both.notes)
    one = kce.parse(body, source="graph.jsonl", first_line=1, options={"unit": "classifier"})
    (row,) = one.predictions.to_pylist()
    assert (row["request_id"], row["latency_ms"], row["prediction"], row["score"]) == ("puid-77", 40.0, "1", 0.8)
    assert not one.rejected and one.notes == ["2 events of other graph units than options.unit (classifier) not read"]


def test_two_class_probabilities_score_the_positive_class():
    """A binary model answering [P(0), P(1)]: its score is P(1), the contract's score, so ROC AUC reads the right
    way round; it was the larger probability ([0.9, 0.1] scored 0.9 with prediction "0": AUC 0.0 where a hand
    count gives 1.0). A multiclass answer with no positive class named keeps the largest."""
    from console.sources.readers._common import map_output

    assert map_output([0.9, 0.1], {}) == {"prediction": "0", "prediction_num": 0.0, "score": 0.1}
    assert map_output([0.2, 0.8], {}) == {"prediction": "1", "prediction_num": 1.0, "score": 0.8}
    assert map_output({"probabilities": [0.9, 0.1]}, {})["score"] == 0.1
    assert map_output([0.9, 0.1], {"classes": ["fraud", "ok"], "positive_label": "fraud"})["score"] == 0.9
    assert map_output([0.1, 0.2, 0.7], {})["score"] == 0.7
    assert map_output([0.1, 0.2, 0.7], {"positive_label": "1"})["score"] == 0.2


def test_a_note_several_files_say_sums_their_counts():
    """`SOURCE (2 files): 2 failed line(s) ...` when each of two files said 2: the total is 4 (formats re-probe D)."""
    from console.store.ingest import _counted, _reader_notes

    said: dict = {}
    for path, note in (("a.jsonl", "2 failed line(s) name no model"), ("b.jsonl", "2 failed line(s) name no model"),
                       ("b.jsonl", "1 failed line(s) name no model"), ("a.jsonl", "sampled at 10 %")):
        template, count = _counted(note)
        files = said.setdefault(("logs/*.jsonl", template), {})
        files[path] = None if count is None else (files.get(path) or 0) + count
    assert _reader_notes(said) == ["logs/*.jsonl (2 files): 5 failed line(s) name no model",
                                   "a.jsonl: sampled at 10 %"]


def test_kserve_failures_with_a_text_or_empty_error_body_count_as_errors():
    """A plain-text response (a proxy's "upstream connect error") was set aside as not JSON, and its request aged
    out as unpaired; `{"error": ""}` read as a success. Both are errors (formats re-probe F)."""
    import json as js

    from console.sources.readers import kserve_cloudevents as kce

    def event(kind: str, key: str, t: str, data) -> dict:
        return {"specversion": "1.0", "type": f"org.kubeflow.serving.inference.{kind}", "id": key,
                "source": "http://localhost:9081/", "time": t, "inferenceservicename": "iris",
                "data": data}

    lines = [event("request", "pd", "2026-12-01T10:00:00Z", {"instances": [[1.0, 2.0]]}),
             event("response", "pd", "2026-12-01T10:00:01Z", "upstream connect error or disconnect/reset"),
             event("request", "b", "2026-12-01T10:00:02Z", {"instances": [[1.0, 2.0]]}),
             event("response", "b", "2026-12-01T10:00:03Z", {"error": ""})]
    out = kce.parse("".join(js.dumps(x) + "\n" for x in lines).encode(), source="ev.jsonl", first_line=1,
                    options={})
    rows = {r["request_id"]: r for r in out.predictions.to_pylist()}
    assert not out.rejected, out.rejected
    assert rows["pd"]["status"] == "error" and rows["pd"]["error"].startswith("upstream connect error")
    assert rows["b"]["status"] == "error" and rows["b"]["error"] == "(error with no message)"


def test_a_latin_1_csv_capture_is_text_not_binary():
    """A `text/csv` input BASE64-captured from Latin-1 bytes (`Zürich`) is text in another encoding: its features
    are read, not dropped as "binary" (formats re-probe E)."""
    import base64

    from console.sources.readers._common import decode_payload

    data = base64.b64encode("12,30,Zürich".encode("latin-1")).decode()
    assert decode_payload(data, "BASE64", "text/csv") == [["12", "30", "Zürich"]]


def test_seldon_feedback_with_a_flat_truth_and_no_request_is_one_label_per_example():
    """A Feedback carrying only the graded response (a flat ndarray of 3 answers) and a flat truth [1, 0, 1]: three
    labels puid#0..2, as the predictions are keyed; it was one label "[1,0,1]" joining nothing (re-probe C)."""
    import json as js

    from console.sources.readers import kserve_cloudevents as kce

    fb = {"specversion": "1.0", "type": "io.seldon.serving.feedback", "id": "f-1", "source": "seldon",
          "time": "2026-12-02T10:00:00Z",
          "data": {"response": {"meta": {"puid": "puid-1"}, "data": {"names": [], "ndarray": [1, 0, 1]}},
                   "truth": {"data": {"ndarray": [1, 0, 1]}}}}
    out = kce.parse((js.dumps(fb) + "\n").encode(), source="fb.jsonl", first_line=1, options={})
    labels = {r["request_id"]: r["label"] for r in out.labels.to_pylist()}
    assert labels == {"puid-1#0": "1", "puid-1#1": "0", "puid-1#2": "1"}, (labels, out.rejected)


def test_a_pretty_printed_document_is_one_reject_saying_so():
    """One OTLP TracesData written with indent=2 gave 181 rejects with reasons about columns; it is one, naming the
    document's lines and what the format reads (formats finding 14)."""
    import json as js

    from console.sources.readers import otlp

    doc = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [{"name": "chat"}]}]}]}
    body = (js.dumps(doc, indent=2) + "\n").encode()
    out = otlp.parse(body, source="pretty.json", first_line=1, options={})
    assert len(out.rejected) == 1, out.rejected
    last = len(body.splitlines())
    assert "pretty-printed" in out.rejected[0].reason and f"lines 1-{last}" in out.rejected[0].reason
