"""A Databricks chat or completions row's answer is its prediction: the team's graded answers (labels keyed by
`client_request_id`) score it. Without it every such label read "0 labelled rows with a prediction"."""

from __future__ import annotations

import json

import polars as pl
import pytest

from console.analytics.quality import quality_table
from console.sources.readers import databricks_inference


def _row(key: str, minute: int, request: dict, response: dict) -> dict:
    return {"request_date": "2026-12-05", "databricks_request_id": f"db-{key}", "client_request_id": key,
            "request_time": f"2026-12-05T07:{minute:02d}:00.000Z", "status_code": 200, "sampling_fraction": 1.0,
            "execution_duration_ms": 812, "request": json.dumps(request), "response": json.dumps(response),
            "served_entity_id": "ent-1", "logging_error_codes": [], "requester": "app@example.com"}


def _chat(text) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1796454000, "model": "llama-3.3-70b",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 25, "completion_tokens": 2, "total_tokens": 27}}


def test_chat_answers_are_predictions_and_score_against_labels():
    ask = {"messages": [{"role": "user", "content": "Classify: charged twice"}], "max_tokens": 20}
    lines = [_row("a", 0, ask, _chat("billing\n")), _row("b", 1, ask, _chat("refund")),
             _row("c", 2, ask, _chat([{"type": "reasoning", "summary": []}, {"type": "text", "text": "billing"}])),
             _row("d", 3, {"prompt": "Classify: late parcel"}, {"object": "text_completion", "choices": [
                 {"index": 0, "text": " shipping", "finish_reason": "stop"}], "usage": {"prompt_tokens": 6}}),
             *({"client_request_id": k, "label": "billing" if k != "d" else "shipping"} for k in "abcd")]
    out = databricks_inference.parse("\n".join(json.dumps(x) for x in lines).encode(), source="t.jsonl",
                                     first_line=1, options={"served_entities": {"ent-1": {"model": "router"}}})
    assert not out.rejected
    preds = pl.from_arrow(out.predictions).sort("request_id")
    assert preds["prediction"].to_list() == ["billing", "refund", "billing", "shipping"]
    joined = preds.join(pl.from_arrow(out.labels).select("request_id", "label", "label_num"), on="request_id") \
        .with_columns(pl.lit(None, pl.Float64).alias("score"))  # as the store conforms a log without one
    (q,) = quality_table(joined, "classification").to_dicts()
    assert q["accuracy"] == pytest.approx(3 / 4)  # by hand: b answered refund to a billing question


def test_chat_cached_tokens_and_refusals():
    """An OpenAI-compatible chat response through Databricks (an external model, a Foundation Model API) carries
    its cache hits (`usage.prompt_tokens_details.cached_tokens`) and a declined answer (`message.refusal`), as the
    OpenAI reader reads them: before, the hits were priced as full input and the refusal read as an answer."""
    ask = {"messages": [{"role": "user", "content": "Classify: charged twice"}]}
    cached = _chat("billing")
    cached["usage"] = {"prompt_tokens": 2000, "completion_tokens": 2, "total_tokens": 2002,
                       "prompt_tokens_details": {"cached_tokens": 1536}}
    declined = _chat(None)
    declined["choices"][0]["message"]["refusal"] = "I can't help with that."
    lines = [_row("a", 0, ask, cached), _row("b", 1, ask, declined), _row("c", 2, ask, _chat("refund"))]
    out = databricks_inference.parse("\n".join(json.dumps(x) for x in lines).encode(), source="t.jsonl",
                                     first_line=1, options={})
    assert not out.rejected
    preds = pl.from_arrow(out.predictions).sort("request_id")
    assert preds["cached_tokens"].to_list() == [1536, None, None]
    assert preds["refused"].to_list() == [False, True, False]
    assert preds["prediction"].to_list() == ["billing", None, "refund"]
