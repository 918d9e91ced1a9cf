"""No input makes a reader raise: every value of every fixture record swapped for a wrong type, one at a time.

A record the reader cannot map is set aside with a reason; the chunk, and every other record in it, survives.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.sources.readers import READERS

FIX = Path(__file__).parent / "fixtures" / "formats"
FILES = {
    "sagemaker-capture": "sagemaker/capture/fraud-ep/AllTraffic/2026/11/30/10/capture-0001.jsonl",
    "sagemaker-ground-truth": "sagemaker/groundtruth/fraud-ep/2026/11/30/12/labels-0001.jsonl",
    "databricks-inference": "databricks/payload.jsonl",
    "otlp": "otlp/traces.jsonl",
    "openai-batch": "openai/batch_output.jsonl",
    "kserve-cloudevents": "kserve/events.jsonl",
    "mlflow-traces": "mlflow/traces_export.jsonl",
}
WRONG = [None, "x", -1, 2**70, 1.5, True, [], {}, [[1, "a"]], {"k": [None]}]
OPTIONS = {"threshold": 0.5, "feature_prefix": "app.", "input_per_1m": 1.0, "features": ["a", "b", "c", "d"]}


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            yield from _paths(v, prefix + (i,))


def _replace(obj, path, value):
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, dict):
        return {k: (_replace(v, rest, value) if k == head else v) for k, v in obj.items()}
    return [(_replace(v, rest, value) if i == head else v) for i, v in enumerate(obj)]


def _variants(line: bytes):
    try:
        obj = json.loads(line)
    except ValueError:
        return
    for path in _paths(obj):
        for value in WRONG:
            yield json.dumps(_replace(obj, path, value)).encode()
        # JSON kept inside strings (request/response bodies, data fields) gets mangled too
        leaf = obj
        for p in path:
            leaf = leaf[p]
        if isinstance(leaf, str) and leaf[:1] in "{[":
            yield json.dumps(_replace(obj, path, leaf[: len(leaf) // 2])).encode()


@pytest.mark.parametrize("fmt", sorted(FILES))
def test_no_value_of_the_wrong_type_raises(fmt):
    reader = READERS[fmt]
    lines = (FIX / FILES[fmt]).read_bytes().splitlines()
    bodies = [v for line in lines for v in _variants(line)]
    assert len(bodies) > 200
    body = b"\n".join(bodies) + b"\n"
    out = reader.parse(body, source="x/ep/AllTraffic/2026/11/30/10/f.jsonl", first_line=1, options=OPTIONS)
    assert all(r.reason for r in out.rejected)
    # one chunk at a time as well, so a record that breaks table building cannot hide behind the others
    for i, single in enumerate(bodies[::7]):
        reader.parse(single + b"\n", source="x", first_line=i + 1, options=OPTIONS)


BAD_OPTIONS = {"threshold": "high", "features": 5, "input_per_1m": "cheap", "output_per_1m": [], "pair_timeout_s": "soon",
               "sampling_percentage": "most", "wrapper_window_s": None, "variant_versions": "v1", "models": 3,
               "served_entities": [], "classes": 7, "feature_prefix": 1, "evaluation": 2, "assessment": {}}


@pytest.mark.parametrize("fmt", sorted(FILES))
def test_options_of_the_wrong_type_do_not_raise(fmt):
    body = (FIX / FILES[fmt]).read_bytes()
    out = READERS[fmt].parse(body, source="x/ep/AllTraffic/2026/11/30/10/f.jsonl", first_line=1, options=BAD_OPTIONS)
    good = READERS[fmt].parse(body, source="x/ep/AllTraffic/2026/11/30/10/f.jsonl", first_line=1, options={})
    kept = lambda p: (p.predictions.num_rows if p.predictions is not None else 0) + (p.labels.num_rows if p.labels is not None else 0)
    assert kept(out) == kept(good)  # a wrong option is ignored, not a reason to drop records


def test_a_dropped_option_is_said():
    out = READERS["sagemaker-capture"].parse(b"", source="f", first_line=1, options={"threshold": "high", "model": "m"})
    assert out.notes == ["option threshold ignored: expected a number, got str"]
