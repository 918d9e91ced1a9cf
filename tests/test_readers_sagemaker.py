"""SageMaker data capture and Model Monitor ground truth, read from fixtures written in their exact shape."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from console.sources.readers import READERS, sagemaker_capture, sagemaker_ground_truth

FIX = Path(__file__).parent / "fixtures" / "formats" / "sagemaker"
CAPTURE = FIX / "capture/fraud-ep/AllTraffic/2026/11/30/10/capture-0001.jsonl"
TRUTH = FIX / "groundtruth/fraud-ep/2026/11/30/12/labels-0001.jsonl"
OPTIONS = {"features": ["amount", "age", "country"], "variant_versions": {"AllTraffic": "3"},
           "threshold": 0.5, "sampling_percentage": 20}


def _capture(options=OPTIONS):
    return sagemaker_capture.parse(CAPTURE.read_bytes(), source=str(CAPTURE), first_line=1, options=options)


def test_registry_names_both():
    assert READERS["sagemaker-capture"] is sagemaker_capture
    assert READERS["sagemaker-ground-truth"] is sagemaker_ground_truth


def test_capture_maps_each_encoding_and_batch():
    out = _capture()
    rows = {r["request_id"]: r for r in out.predictions.to_pylist()}
    # 6 good records, one a CSV batch of 2 rows: 7 predictions
    assert sorted(rows) == ["ev-0001", "ev-0003#0", "ev-0003#1", "ev-0004", "ev-0006", "order-42", "order-43"]
    assert {r["model"] for r in rows.values()} == {"fraud-ep"}  # from the endpoint folder
    assert {r["variant"] for r in rows.values()} == {"AllTraffic"}
    assert {r["version"] for r in rows.values()} == {"3"}
    assert {r["sampling_weight"] for r in rows.values()} == {5.0}
    r = rows["ev-0001"]  # CSV in and out
    assert (r["amount"], r["age"], r["country"], r["score"], r["prediction"]) == (120.5, 34, "US", 0.91, "1")
    assert r["ts"] == datetime(2026, 11, 30, 10, 0, 1)
    assert "latency_ms" not in r and r["loc"] == 1 and r["source"] == str(CAPTURE)
    assert (rows["order-42"]["score"], rows["order-42"]["prediction"]) == (0.12, "0")  # inferenceId wins
    assert rows["ev-0003#0"]["ts"] == datetime(2026, 11, 30, 10, 0, 3, 250000)
    assert (rows["ev-0003#1"]["amount"], rows["ev-0003#1"]["score"]) == (700.0, 0.77)
    assert (rows["ev-0004"]["country"], rows["ev-0004"]["score"], rows["ev-0004"]["prediction"]) == ("GB", 0.66, "1")
    assert (rows["order-43"]["amount"], rows["order-43"]["score"], rows["order-43"]["prediction"]) == (300.0, 0.49, "0")
    assert (rows["ev-0006"]["country"], rows["ev-0006"]["score"]) == ("IT", 0.55)
    schema = out.predictions.schema
    assert str(schema.field("amount").type) == "double" and str(schema.field("age").type) == "int64"
    assert str(schema.field("ts").type) == "timestamp[us]"


def test_capture_sets_each_bad_record_aside():
    out = _capture()
    reasons = {r.loc: r.reason for r in out.rejected}
    assert sorted(reasons) == [7, 8, 9, 10, 11, 12]
    assert reasons[7].startswith("not JSON")
    assert "no captureData / eventMetadata" in reasons[8]
    assert reasons[9].startswith("not UTF-8")
    assert "BASE64" in reasons[10]
    assert reasons[11] == "2 values where 3 features are configured"
    assert reasons[12] == "2 input rows but 1 outputs"
    assert all(len(r.raw) <= 300 for r in out.rejected) and out.rejected[0].raw.startswith('{"captureData"')


def test_capture_chunk_line_numbers_and_unnamed_features():
    body = CAPTURE.read_bytes().split(b"\n")
    chunk = b"\n".join(body[3:6]) + b"\n"  # lines 4..6
    out = sagemaker_capture.parse(chunk, source="x/ep/v1/2026/11/30/10/f.jsonl", first_line=4, options={})
    assert out.predictions["loc"].to_pylist() == [4, 5, 6]
    assert out.predictions["model"].to_pylist() == ["ep"] * 3
    assert "f0" in out.predictions.column_names  # BASE64 CSV row without configured names
    assert out.predictions["prediction"].to_pylist()[1] == "0.49"  # no threshold: the number is the prediction


def test_ground_truth_joins_late_on_inference_id_else_event_id():
    preds = _capture().predictions
    out = sagemaker_ground_truth.parse(TRUTH.read_bytes(), source=str(TRUTH), first_line=1, options={})
    labels = {r["request_id"]: r for r in out.labels.to_pylist()}
    # line 7's two labels for ev-0006 are keyed as a 2-row capture's rows; ev-0006 was captured as one row, which
    # only the store holding both can tell: it sets the record aside (tests/test_sagemaker_ground_truth_events.py)
    assert labels.keys() == {"ev-0001", "order-42", "ev-0004", "order-43", "ev-0003#1", "ev-0006#0", "ev-0006#1"}
    assert labels.keys() - {"ev-0006#0", "ev-0006#1"} <= set(preds["request_id"].to_pylist())
    assert [labels[k]["label"] for k in ("ev-0001", "order-42", "ev-0004", "order-43")] == ["1", "0", "1", "0"]
    assert labels["order-43"]["label_num"] == 0.0  # BASE64-encoded "0"
    # the label folder is two hours after the capture folder: the label arrived late, keyed all the same
    assert {r["ts"] for r in labels.values()} == {datetime(2026, 11, 30, 12)}
    reasons = {r.loc: r.reason for r in out.rejected}
    assert reasons == {6: "not a ground-truth record: no groundTruthData / eventMetadata"}


def test_probabilities_without_a_threshold_are_said():
    """Outputs that are a classifier's probabilities with no `threshold` set are taken as the predicted class
    ("0.91", "0.12"): a 0/1 label never matches, so accuracy read 0 without a word. A note says which option reads
    them as scores; with the threshold set there is none."""
    without = {k: v for k, v in OPTIONS.items() if k != "threshold"}
    out = _capture(without)
    preds = [r["prediction"] for r in out.predictions.to_pylist() if r["prediction"] is not None]
    fractions = [p for p in preds if 0 < float(p) < 1]
    assert fractions and len(fractions) * 2 >= len(preds)  # the fixture's outputs, counted by hand
    said = [n for n in out.notes if "threshold" in n]
    assert said == [f"{len(fractions)} of {len(preds)} outputs are numbers between 0 and 1 (such as "
                    f"{float(fractions[0]):g}) and no threshold is set: each is taken as the predicted class; if "
                    f"they are a classifier's probabilities, set options.threshold (such as 0.5) in this [[logs]] "
                    f"table to read them as scores"], out.notes
    assert not [n for n in _capture().notes if "threshold" in n]
