"""OpenAI Batch lines say when the model declined (Chat's `message.refusal`, a Responses `refusal` part): they are
the refusal rate's, as a `refused` field of the log contract is."""

from __future__ import annotations

import json

import polars as pl
import pytest

from console.analytics.cost import llm_usage_table
from console.sources.readers import openai_batch

T0 = 1796454060  # 2026-12-05T07:01:00Z


def _chat(key: str, content: str | None, refusal: str | None) -> dict:
    return {"id": f"batch_{key}", "custom_id": key, "error": None, "response": {"status_code": 200, "request_id": key, "body": {
        "object": "chat.completion", "created": T0, "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": refusal},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}}}}


def _responses(key: str, part: dict) -> dict:
    return {"id": f"batch_{key}", "custom_id": key, "error": None, "response": {"status_code": 200, "request_id": key, "body": {
        "object": "response", "created_at": T0 + 5, "model": "gpt-4o-2024-08-06", "status": "completed",
        "output": [{"type": "message", "role": "assistant", "content": [part]}],
        "usage": {"input_tokens": 50, "output_tokens": 10, "total_tokens": 60}}}}


def test_refusals_are_counted():
    lines = [_chat("a", '{"category": "billing"}', None), _chat("b", None, "I'm sorry, I can't help with that."),
             _chat("c", '{"category": "refund"}', None),
             _responses("d", {"type": "refusal", "refusal": "I can't assist with that request."}),
             _responses("e", {"type": "output_text", "text": "shipping", "annotations": []})]
    body = "\n".join(json.dumps(x) for x in lines).encode()
    out = openai_batch.parse(body, source="batch_out.jsonl", first_line=1, options={"model": "router"})
    rows = pl.from_arrow(out.predictions).sort("request_id")
    assert rows["refused"].to_list() == [False, True, False, True, False]
    (usage,) = llm_usage_table(rows).to_dicts()
    assert usage["requests"] == 5 and usage["refusal_rate"] == pytest.approx(2 / 5)  # by hand: b and d of 5
