"""KServe V2 (Open Inference Protocol) responses with two output tensors: a classifier's label and probability.

The protocol's inference response (kserve.github.io, "Open Inference Protocol (V2 Inference Protocol)"):
`{"model_name", "model_version", "id", "outputs": [{"name", "shape", "datatype", "data"}, ...]}`, every output
the model has unless the request asked for some. An sklearn/ONNX classifier served this way answers with a
label tensor (`INT64 [N]`) and a probability tensor (`FP32 [N, 2]`), in whatever order the model lists them.
Only the first tensor was read: with the probability tensor first, each example's [p0, p1] was taken as the
prediction (argmax) and the label tensor dropped. Expected values are counted by hand from the events below.
"""

from __future__ import annotations

import json

from console.sources.readers import kserve_cloudevents as kce

_ATTRS = {"specversion": "1.0", "source": "http://localhost:8080/", "inferenceservicename": "fraud-onnx",
          "namespace": "ml", "component": "predictor", "endpoint": "default", "datacontenttype": "application/json"}
_REQUEST = {"inputs": [{"name": "input-0", "shape": [3, 2], "datatype": "FP32",
                        "data": [[10.0, 1.0], [250.0, 0.0], [80.0, 1.0]]}]}
# the label the model chose is not always the argmax of its probabilities at 0.5 (a tuned cut-off of 0.3):
# row 0 is labelled 1 at p1 = 0.40, so the label tensor and the probability tensor disagree there on purpose
_LABEL = {"name": "label", "shape": [3], "datatype": "INT64", "data": [1, 1, 0]}
_PROBA = {"name": "probability", "shape": [3, 2], "datatype": "FP32",
          "data": [[0.60, 0.40], [0.10, 0.90], [0.80, 0.20]]}


def _events(outputs: list[dict]) -> bytes:
    req = {**_ATTRS, "id": "v2-1", "type": "org.kubeflow.serving.inference.request",
           "time": "2026-11-30T10:00:00Z", "data": _REQUEST}
    resp = {**_ATTRS, "id": "v2-1", "type": "org.kubeflow.serving.inference.response",
            "time": "2026-11-30T10:00:00.020Z",
            "data": {"model_name": "fraud-onnx", "model_version": "4", "id": "v2-1", "outputs": outputs}}
    return b"".join(json.dumps(e).encode() + b"\n" for e in (req, resp))


def _rows(outputs: list[dict], **options) -> list[tuple]:
    out = kce.parse(_events(outputs), source="events.jsonl", first_line=1, options=options)
    assert not out.rejected, out.rejected
    rows = sorted(out.predictions.to_pylist(), key=lambda r: r["request_id"])
    return [(r["request_id"], r["prediction"], r["score"]) for r in rows]


# by hand: the label tensor's values, and p1 (the positive class "1") of each probability row
EXPECTED = [("v2-1#0", "1", 0.40), ("v2-1#1", "1", 0.90), ("v2-1#2", "0", 0.20)]


def _close(got, want):
    return [(i, p) for i, p, _ in got] == [(i, p) for i, p, _ in want] and \
        all(abs(g[2] - w[2]) < 1e-6 for g, w in zip(got, want))


def test_label_and_probability_in_either_order():
    assert _close(_rows([_LABEL, _PROBA]), EXPECTED)
    assert _close(_rows([_PROBA, _LABEL]), EXPECTED)  # was: argmax of [p0, p1] as the label, "0" for row 0


def test_onnx_names_and_tensors_named_in_the_config():
    """skl2onnx names them `output_label` / `output_probability`; names with no hint are given in the config."""
    onnx = [{**_PROBA, "name": "output_probability"}, {**_LABEL, "name": "output_label"}]
    assert _close(_rows(onnx), EXPECTED)
    plain = [{**_PROBA, "name": "out_b"}, {**_LABEL, "name": "out_a"}]
    assert _close(_rows(plain, label_tensor="out_a", score_tensor="out_b"), EXPECTED)
    # a response with the probability tensor only, named as the score: read against the threshold (0.3: row 0's
    # 0.40 is a "1"), where the one tensor was the prediction, argmax "0" for row 0
    got = _rows([{**_PROBA, "name": "out_b"}], score_tensor="out_b", threshold=0.3)
    assert [p for _, p, _ in got] == ["1", "1", "0"]


def test_a_tensor_the_config_names_but_the_response_lacks_is_a_reason():
    out = kce.parse(_events([_LABEL, _PROBA]), source="events.jsonl", first_line=1,
                    options={"score_tensor": "proba"})
    assert out.predictions is None
    assert [r.reason for r in out.rejected] == ["no output tensor 'proba' (options.score_tensor); the response "
                                                "has 'label', 'probability'"]


def test_a_tensor_sent_as_binary_data_leaves_the_other_read():
    """A tensor whose data went in the binary extension (no `data` list in the JSON) cannot be read; the
    probability tensor beside it still is: its argmax the prediction, p1 the score (it was a set-aside record)."""
    binary = {"name": "label", "shape": [3], "datatype": "INT64", "parameters": {"binary_data_size": 24}}
    assert _close(_rows([binary, _PROBA]), [("v2-1#0", "0", 0.40), ("v2-1#1", "1", 0.90), ("v2-1#2", "0", 0.20)])
