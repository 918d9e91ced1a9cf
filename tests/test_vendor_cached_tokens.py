"""Vendor logs' cached input tokens are priced at the model's `cached_per_1m` (and, unset, at its input price).

OpenAI bills a prompt's cache hits at a discount; its usage says how many of the prompt tokens they were
(`prompt_tokens_details.cached_tokens`, Responses' `input_tokens_details`), as OTLP GenAI spans do
(`gen_ai.usage.cache_read.input_tokens`). Read as full-price input, a cache-heavy app's cost was overstated."""

from __future__ import annotations

import json

import polars as pl
import pytest

from console.analytics.cost import COST, with_cost
from console.config import parse_file
from console.sources.readers import openai_batch, otlp

T0 = 1796454060  # 2026-12-05T07:01:00Z


def _chat(key: str, prompt: int, completion: int, cached: int) -> dict:
    return {"id": f"batch_{key}", "custom_id": key, "error": None, "response": {"status_code": 200, "request_id": key, "body": {
        "object": "chat.completion", "created": T0, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok", "refusal": None}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                  "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0}}}}}


def _responses(key: str) -> dict:
    return {"id": f"batch_{key}", "custom_id": key, "error": None, "response": {"status_code": 200, "request_id": key, "body": {
        "object": "response", "created_at": T0 + 60, "model": "gpt-4o-mini-2024-07-18", "status": "completed",
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "ok"}]}],
        "usage": {"input_tokens": 3000, "input_tokens_details": {"cached_tokens": 2048},
                  "output_tokens": 100, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 3100}}}}


def _prices(tmp_path, cached_line: str):
    path = tmp_path / "console.toml"
    path.write_text("[models.assistant]\ntask = \"llm\"\n[models.assistant.prices]\ninput_per_1m = 2.5\n"
                    f"output_per_1m = 10.0\n{cached_line}")
    return {"assistant": parse_file(path).models["assistant"].prices}


def _openai_rows() -> pl.DataFrame:
    lines = [_chat("a", 1000, 200, 800), _chat("b", 2000, 100, 0), _responses("c")]
    body = "\n".join(json.dumps(x) for x in lines).encode()
    out = openai_batch.parse(body, source="batch_out.jsonl", first_line=1, options={"model": "assistant"})
    assert not out.rejected
    return pl.from_arrow(out.predictions).sort("request_id")


def _otlp_line() -> dict:
    """One OTLP GenAI chat span: 1200 input tokens, 1024 of them cache reads, 50 output tokens."""
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1200,
             "gen_ai.usage.cache_read.input_tokens": 1024, "gen_ai.usage.output_tokens": 50}
    span = {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "chat gpt-4o",
            "kind": 3, "startTimeUnixNano": str(T0 * 10**9), "endTimeUnixNano": str(T0 * 10**9 + 900_000_000),
            "attributes": [{"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
                           for k, v in attrs.items()], "status": {}}
    return {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "assistant"}}]},
                               "scopeSpans": [{"scope": {"name": "openai"}, "spans": [span]}]}]}


def test_openai_cached_tokens_at_the_cached_price(tmp_path):
    costed = with_cost(_openai_rows(), _prices(tmp_path, "cached_per_1m = 1.25\n"))
    # by hand: (uncached input x 2.5 + cached x 1.25 + output x 10) / 1e6
    expected = [(200 * 2.5 + 800 * 1.25 + 200 * 10) / 1e6, (2000 * 2.5 + 100 * 10) / 1e6,
                (952 * 2.5 + 2048 * 1.25 + 100 * 10) / 1e6]
    assert costed[COST].to_list() == pytest.approx(expected)
    assert costed["cached_tokens"].to_list() == [800, 0, 2048]


def test_unset_cached_price_is_the_input_price(tmp_path):
    costed = with_cost(_openai_rows(), _prices(tmp_path, ""))
    expected = [(1000 * 2.5 + 200 * 10) / 1e6, (2000 * 2.5 + 100 * 10) / 1e6, (3000 * 2.5 + 100 * 10) / 1e6]
    assert costed[COST].to_list() == pytest.approx(expected)  # a cache hit is not free


def test_otlp_cache_read_tokens(tmp_path):
    line = _otlp_line()
    out = otlp.parse(json.dumps(line).encode(), source="traces.jsonl", first_line=1, options={})
    costed = with_cost(pl.from_arrow(out.predictions), _prices(tmp_path, "cached_per_1m = 1.25\n"))
    assert costed[COST].to_list() == pytest.approx([(176 * 2.5 + 1024 * 1.25 + 50 * 10) / 1e6])


def test_reader_option_prices_price_cached_tokens():
    """`[logs.options] input_per_1m` / `output_per_1m` price a vendor log's rows in the reader; its cache hits are
    priced at `options.cached_per_1m`, else at the input price (as the model's prices do), never as free or as
    the uncached input twice."""
    lines = [_chat("a", 1000, 200, 800), _chat("b", 2000, 100, 0)]
    body = "\n".join(json.dumps(x) for x in lines).encode()
    opts = {"model": "assistant", "input_per_1m": 2.5, "output_per_1m": 10.0}
    for extra, expected in (({"cached_per_1m": 1.25}, [(200 * 2.5 + 800 * 1.25 + 200 * 10) / 1e6,
                                                       (2000 * 2.5 + 100 * 10) / 1e6]),
                            ({}, [(1000 * 2.5 + 200 * 10) / 1e6, (2000 * 2.5 + 100 * 10) / 1e6])):
        out = openai_batch.parse(body, source="batch_out.jsonl", first_line=1, options={**opts, **extra})
        assert not out.rejected
        got = pl.from_arrow(out.predictions).sort("request_id")["cost_usd"].to_list()
        assert got == pytest.approx(expected)
    line = _otlp_line()
    out = otlp.parse(json.dumps(line).encode(), source="traces.jsonl", first_line=1,
                     options={"input_per_1m": 2.5, "output_per_1m": 10.0, "cached_per_1m": 1.25})
    assert pl.from_arrow(out.predictions)["cost_usd"].to_list() == pytest.approx([(176 * 2.5 + 1024 * 1.25 + 50 * 10) / 1e6])
