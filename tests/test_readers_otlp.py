"""OTLP/JSON traces (Collector file exporter): GenAI semconv, current and older names, and OpenInference."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from console.sources.readers import READERS, otlp

FIX = Path(__file__).parent / "fixtures" / "formats" / "otlp" / "traces.jsonl"
OPTIONS = {"feature_prefix": "app.", "input_per_1m": 2.5, "output_per_1m": 10.0}


@pytest.fixture(scope="module")
def out():
    return otlp.parse(FIX.read_bytes(), source=str(FIX), first_line=1, options=OPTIONS)


def test_registry():
    assert READERS["otlp"] is otlp


def test_only_model_calls_become_predictions(out):
    rows = {r["request_id"]: r for r in out.predictions.to_pylist()}
    # agent, tool and chain spans are not predictions; the OpenInference wrapper c1 repeats c2 and is skipped
    assert sorted(rows) == ["a1a1a1a1a1a1a1a1", "b1b1b1b1b1b1b1b1", "b3b3b3b3b3b3b3b3", "c2c2c2c2c2c2c2c2",
                            "d1d1d1d1d1d1d1d1", "f2f2f2f2f2f2f2f2"]
    assert out.notes == ["1 model-call spans skipped: they wrap a model call whose usage they repeat"]


def test_current_names_latency_cost_and_features(out):
    a = {r["request_id"]: r for r in out.predictions.to_pylist()}["a1a1a1a1a1a1a1a1"]
    assert (a["model"], a["version"], a["environment"]) == ("support-assistant", "4", "production")
    assert a["ts"] == datetime(2026, 11, 30, 9, 0, 0)
    assert a["latency_ms"] == 850.5
    assert (a["input_tokens"], a["output_tokens"]) == (120, 40)  # the 100 cache-read tokens are inside the 120
    assert a["cost_usd"] == pytest.approx((120 * 2.5 + 40 * 10.0) / 1e6)
    assert (a["status"], a["error"], a["finish_reason"]) == ("UNSET", None, "stop")
    assert (a["llm_model"], a["provider"], a["prompt_name"]) == ("gpt-4o-2024-08-06", "openai", "support-assistant-prompt")
    assert (a["channel"], a["conversation_turns"]) == ("chat", 2)
    assert "trace_id" not in a  # ids are not features


def test_agent_tokens_are_the_sum_of_its_model_calls(out):
    rows = out.predictions.to_pylist()
    agent = [r for r in rows if r["request_id"] in ("b1b1b1b1b1b1b1b1", "b3b3b3b3b3b3b3b3")]  # trace 6c9f...
    assert sorted((r["input_tokens"], r["output_tokens"]) for r in agent) == [(100, 30), (200, 60)]  # old + new names
    # the invoke_agent span says 300 / 90: the same total, counted once
    assert sum(r["input_tokens"] for r in agent) == 300 and sum(r["output_tokens"] for r in agent) == 90
    assert sorted(r["latency_ms"] for r in agent) == [700.0, 1250.25]
    assert {r["provider"] for r in agent} == {"openai"}  # gen_ai.system on one, gen_ai.provider.name on the other


def test_openinference_names(out):
    c = {r["request_id"]: r for r in out.predictions.to_pylist()}["c2c2c2c2c2c2c2c2"]
    assert (c["model"], c["version"], c["environment"]) == ("rag-bot", "v7", "staging")  # prompt template version
    assert (c["input_tokens"], c["output_tokens"], c["cost_usd"]) == (50, 20, 0.0009)  # llm.cost.total wins
    assert (c["llm_model"], c["provider"], c["operation"], c["latency_ms"]) == ("gpt-4o-mini", "openai", "llm", 640.0)


def test_error_span(out):
    d = {r["request_id"]: r for r in out.predictions.to_pylist()}["d1d1d1d1d1d1d1d1"]
    assert (d["status"], d["error"], d["latency_ms"]) == ("ERROR", "timeout", 30000.0)
    assert (d["input_tokens"], d["output_tokens"]) == (80, None)
    assert d["cost_usd"] == pytest.approx(80 * 2.5 / 1e6)


def test_evaluations_become_labels_on_the_span_they_grade(out):
    preds = set(out.predictions["request_id"].to_pylist())
    labels = {r["request_id"]: r for r in out.labels.to_pylist()}
    assert {k: (v["label"], v["label_num"]) for k, v in labels.items()} == {
        "b1b1b1b1b1b1b1b1": ("irrelevant", 0.4),  # span event, same line
        "a1a1a1a1a1a1a1a1": ("relevant", 0.9),  # a later evaluation span whose parent is the graded call
        "b3b3b3b3b3b3b3b3": ("correct", 1.0),  # Phoenix span annotation line
    }
    assert set(labels) <= preds
    assert labels["a1a1a1a1a1a1a1a1"]["ts"] == datetime(2026, 11, 30, 9, 10, 1, 200000)  # ten minutes late
    assert labels["b3b3b3b3b3b3b3b3"]["ts"] == datetime(2026, 11, 30, 12)


def test_bad_records_cost_only_themselves(out):
    assert [(r.loc, r.reason) for r in out.rejected] == [
        (7, out.rejected[0].reason), (8, "span f1f1f1f1f1f1f1f1: no startTimeUnixNano"),
        (9, "not a TracesData line (no resourceSpans)"),
        (10, "evaluation 'toxicity' without score.value or score.label")]
    assert out.rejected[0].reason.startswith("not JSON")
    f2 = {r["request_id"]: r for r in out.predictions.to_pylist()}["f2f2f2f2f2f2f2f2"]  # the bad span's sibling
    assert (f2["input_tokens"], f2["output_tokens"], f2["latency_ms"]) == (7, 3, 100.0)


def test_evaluation_option_keeps_one_name():
    out = otlp.parse(FIX.read_bytes(), source=str(FIX), first_line=1, options={"evaluation": "correctness"})
    assert out.labels["request_id"].to_pylist() == ["b3b3b3b3b3b3b3b3"]


SPLIT = FIX.parent / "split_trace.jsonl"


def test_a_wrapper_exported_in_a_later_batch_is_still_not_counted():
    lines = SPLIT.read_bytes().splitlines(keepends=True)
    first = otlp.parse(lines[0], source=str(SPLIT), first_line=1, options={})
    assert first.predictions["request_id"].to_pylist() == ["1111111111111111"]
    assert list(first.carry["pending"]) == ["2222222222222222"]  # its parent has not been seen yet
    json.dumps(first.carry)
    rest = otlp.parse(b"".join(lines[1:]), source=str(SPLIT), first_line=2, options={}, carry=first.carry)
    assert rest.predictions["request_id"].to_pylist() == ["4444444444444444"]  # the wrapper 2222... is skipped
    assert rest.notes == ["1 model-call spans skipped: they wrap a model call whose usage they repeat"]
    assert rest.carry is None
    tokens = first.predictions["input_tokens"].to_pylist() + rest.predictions["input_tokens"].to_pylist()
    assert tokens == [40, 5]  # 40 once, not 80


def test_the_wait_for_a_wrapper_is_bounded_by_span_time():
    lines = SPLIT.read_bytes().splitlines(keepends=True)
    first = otlp.parse(lines[0], source=str(SPLIT), first_line=1, options={"wrapper_window_s": 60})
    later = otlp.parse(lines[1], source=str(SPLIT), first_line=2, options={"wrapper_window_s": 60}, carry=first.carry)
    assert later.carry is None  # ten minutes on, the wait for 2222... is given up
    last = otlp.parse(lines[2], source=str(SPLIT), first_line=3, options={"wrapper_window_s": 60}, carry=later.carry)
    assert last.predictions["request_id"].to_pylist() == ["2222222222222222"]  # so it counts: the window is the limit
