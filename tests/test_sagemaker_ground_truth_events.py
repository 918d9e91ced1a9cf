"""SageMaker Model Monitor ground truth whose label is JSON, or holds the labels of a multi-row capture.

AWS's record ("Ingest Ground Truth labels and merge them with predictions", SageMaker developer guide):
`{"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "aaaa-bbbb-cccc"},
"eventVersion": "0"}`, the eventId holding the capture's inferenceId when the caller set one, else its eventId;
uploaded as JSON Lines under `prefix/yyyy/mm/dd/hh`. The capture record (data capture docs): `captureData.
endpointInput / endpointOutput {observedContentType, mode, data, encoding}` and `eventMetadata {eventId,
inferenceId, inferenceTime}`; a CSV request of N lines is N rows, read as N predictions `{eventId}#{i}`.

Was: a JSON label `{"label": 1}` was kept as the text '{"label":1}' (never equal to a prediction: accuracy 0
for it); a ground-truth record holding the N labels of an N-row capture (keyed by the bare eventId) joined
nothing, without a word, or was set aside as "N CSV values where one label is expected". Every count below is
counted by hand from the records written here; ROC AUC is checked against scikit-learn.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sklearn.metrics import roc_auc_score

from console.config import Config, LogSource
from console.sources.readers import sagemaker_ground_truth as gt
from console.warehouse import Warehouse

SRC = str(Path(__file__).resolve().parents[1] / "src")
CAPTURE = "capture/fraud-ep/AllTraffic/2026/11/30/10/capture-0001.jsonl"
TRUTH = "groundtruth/fraud-ep/2026/11/30/12/labels-0001.jsonl"
CAPTURE_OPTIONS = {"features": ["amount", "age"], "threshold": 0.5, "variant_versions": {"AllTraffic": "1"}}


def _capture(event: str, rows: list[str], outputs: list[str], inference: str | None = None) -> dict:
    meta = {"eventId": event, "inferenceTime": "2026-11-30T10:00:00Z", **({"inferenceId": inference} if inference else {})}
    return {"captureData": {
        "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "\n".join(rows), "encoding": "CSV"},
        "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT",
                           "data": "\n".join(outputs), "encoding": "CSV"}},
        "eventMetadata": meta, "eventVersion": "0"}


def _truth(event: str, data: str, encoding: str) -> dict:
    return {"groundTruthData": {"data": data, "encoding": encoding}, "eventMetadata": {"eventId": event},
            "eventVersion": "0"}


# 8 captures, 14 rows (the score is the output; threshold 0.5 makes the prediction)
CAPTURES = [_capture("ev-s1", ["120.5,34"], ["0.8"]), _capture("ev-s2", ["80,51"], ["0.3"]),
            _capture("ev-b3", ["10,20", "30,40", "50,60"], ["0.9", "0.2", "0.7"]),
            _capture("ev-b2", ["1,2", "3,4"], ["0.6", "0.1"]), _capture("ev-b4", ["5,6", "7,8"], ["0.4", "0.8"]),
            _capture("ev-s5", ["9,10"], ["0.55"]), _capture("ev-7", ["11,12"], ["0.2"], inference="inf-7"),
            _capture("ev-b5", ["1,1", "2,2", "3,3"], ["0.9", "0.9", "0.9"])]
# line by line: 1-2 JSON objects, 3 three CSV lines for 3 rows, 4 a JSON list for 2 rows, 5 one label for 2 rows,
# 6 two labels for 1 row, 7 a JSON scalar keyed by the inferenceId, 8 two labels for 3 rows
TRUTHS = [_truth("ev-s1", '{"label": 1}', "JSON"), _truth("ev-s2", '{"label": 1}', "JSON"),
          _truth("ev-b3", "1\n0\n0", "CSV"), _truth("ev-b2", "[1, 0]", "JSON"), _truth("ev-b4", "1", "CSV"),
          _truth("ev-s5", "1,0", "CSV"), _truth("inf-7", "0", "JSON"), _truth("ev-b5", "[1, 1]", "JSON")]
# (request_id, score, label) of the labels that join, by hand: 8 of them
JOINED = [("ev-s1", 0.8, 1), ("ev-s2", 0.3, 1), ("ev-b3#0", 0.9, 1), ("ev-b3#1", 0.2, 0), ("ev-b3#2", 0.7, 0),
          ("ev-b2#0", 0.6, 1), ("ev-b2#1", 0.1, 0), ("inf-7", 0.2, 0)]
ASIDE = {5: "1 label(s) for a capture of 2 row(s)", 6: "2 label(s) for a capture of 1 row(s)",
         8: "2 label(s) for a capture of 3 row(s)"}


def _write(root: Path, rel: str, records: list[dict]) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


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


def test_a_record_of_n_labels_is_keyed_as_the_capture_keys_n_rows():
    out = _parse(TRUTHS)
    keys = [r["request_id"] for r in out.labels.to_pylist()]
    assert keys == ["ev-s1", "ev-s2", "ev-b3#0", "ev-b3#1", "ev-b3#2", "ev-b2#0", "ev-b2#1", "ev-b4",
                    "ev-s5#0", "ev-s5#1", "inf-7", "ev-b5#0", "ev-b5#1"]
    assert out.labels.column("label_num").to_pylist() == [1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 1]
    assert not out.rejected  # whether a count matches its capture is the store's to say (it holds both)
    matrix = _parse([_truth("x", "1,0\n0,1", "CSV")])
    assert [r.reason for r in matrix.rejected] == ["CSV of 2 lines of several values: one label per row expected"]


def _workspace(root: Path, labels_first: bool = False) -> Path:
    _write(root, CAPTURE, CAPTURES)
    _write(root, TRUTH, TRUTHS)
    opts = 'features = ["amount", "age"]\nthreshold = 0.5\nvariant_versions = { AllTraffic = "1" }\n'
    preds = (f'[[logs]]\nkind = "predictions"\npath = "{root}/capture/**/*.jsonl"\nformat = "sagemaker-capture"\n'
             f"[logs.options]\n{opts}")
    labels = f'[[logs]]\nkind = "labels"\npath = "{root}/groundtruth/**/*.jsonl"\nformat = "sagemaker-ground-truth"\n'
    config = root / "mlops-console.toml"
    config.write_text("\n".join([labels, preds] if labels_first else [preds, labels]), encoding="utf-8")
    return config


def _cli(config: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": SRC, "XDG_CACHE_HOME": str(config.parent / "cache"),
           "XDG_STATE_HOME": str(config.parent / "state")}
    proc = subprocess.run([sys.executable, "-m", "console", "--config", str(config), *args, "--format", "json",
                           "--at", "2026-11-30T13:00Z", "--window", "7d"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def _hand_quality() -> dict:
    pred = [1 if s >= 0.5 else 0 for _, s, _ in JOINED]
    label = [y for _, _, y in JOINED]
    tp = sum(p == y == 1 for p, y in zip(pred, label))
    return {"n_labelled": len(JOINED), "accuracy": sum(p == y for p, y in zip(pred, label)) / len(JOINED),
            "precision": tp / sum(pred), "recall": tp / sum(label),
            "roc_auc": roc_auc_score(label, [s for _, s, _ in JOINED])}


def test_quality_and_snapshot_count_what_joins_and_name_what_does_not(tmp_path):
    config = _workspace(tmp_path)
    hand = _hand_quality()
    assert (hand["n_labelled"], hand["accuracy"]) == (8, 0.75)  # 6 of 8 right: ev-s2 and ev-b3#2 wrong
    quality = _cli(config, "quality", "fraud-ep")["now"]
    assert (quality["n"], quality["n_labelled"]) == (14, 8)
    for name in ("accuracy", "precision", "recall", "roc_auc"):
        assert abs(quality["metrics"][name] - hand[name]) < 1e-9, name
    snap = _cli(config, "snapshot")
    assert snap["counts"]["predictions"] == 14 and snap["counts"]["labels"] == 8
    assert snap["counts"]["malformed"] == len(ASIDE)
    aside = {int(m["first_location"]): m["reason"] for m in snap["malformed_by"]}
    assert aside == {loc: f"{why}: not joined (one label per captured row, in order)" for loc, why in ASIDE.items()}
    assert {m["source"] for m in snap["malformed_by"]} == {str(tmp_path / TRUTH)}


def test_labels_read_before_their_captures_or_a_refresh_later(tmp_path):
    """The labels' [[logs]] listed first, or the ground truth uploaded after the captures were read: the same joins."""
    first = _workspace(tmp_path / "a", labels_first=True)
    assert _cli(first, "quality", "fraud-ep")["now"]["n_labelled"] == 8
    root = tmp_path / "b"
    _write(root, CAPTURE, CAPTURES)
    cfg = Config(source=None, root=root, logs=(
        LogSource("predictions", str(root / "capture/**/*.jsonl"), "sagemaker-capture", options=CAPTURE_OPTIONS),
        LogSource("labels", str(root / "groundtruth/**/*.jsonl"), "sagemaker-ground-truth")))
    w = Warehouse(cfg, root / "store")
    try:
        w.refresh()
        _write(root, TRUTH, TRUTHS)
        w.refresh()
        with w.cursor() as cur:
            labels = dict(cur.execute("SELECT request_id, label_num FROM labels").fetchall())
            aside = sorted(int(r[0]) for r in cur.execute("SELECT location FROM malformed").fetchall())
    finally:
        w.close()
    assert labels == {rid: y for rid, _, y in JOINED}
    assert aside == sorted(ASIDE)
