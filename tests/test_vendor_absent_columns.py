"""A vendor log's refresh whose records all lack an optional field (OTLP spans without cache reads, an OpenAI Batch
file of Embeddings lines, which judge no refusal) keeps that field's type in the store. The readers typed such an
all-empty column as text, so the refresh after one holding `cached_tokens` 1024 or `refused` false said "field
'cached_tokens' holds values of more than one type; kept, as text" and the store read the counts as text from then on.
Found by the vendor-formats probe: one OTLP source and one Batch source, each growing between refreshes."""

from __future__ import annotations

import json
from pathlib import Path

from console.config import Config, LogSource
from console.warehouse import Warehouse

T0 = 1796454060  # 2026-12-05T07:01:00Z


def _span_line(span_id: str, attrs: dict) -> dict:
    span = {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": span_id, "name": "chat", "kind": 3,
            "startTimeUnixNano": str(T0 * 10**9), "endTimeUnixNano": str(T0 * 10**9 + 900_000_000),
            "attributes": [{"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
                           for k, v in attrs.items()], "status": {}}
    return {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "assistant"}}]},
                               "scopeSpans": [{"scope": {"name": "openai"}, "spans": [span]}]}]}


def _batch_line(key: str, body: dict) -> dict:
    return {"id": f"batch_{key}", "custom_id": key, "error": None,
            "response": {"status_code": 200, "request_id": key, "body": {"created": T0, **body}}}


CHAT = {"object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok", "refusal": None}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 10, "prompt_tokens_details": {"cached_tokens": 512}}}
EMBEDDING = {"object": "list", "model": "gpt-4o-mini-2024-07-18", "data": [{"object": "embedding", "embedding": [0.1]}],
             "usage": {"prompt_tokens": 8, "total_tokens": 8}}


def _append(path: Path, line: dict) -> None:
    with path.open("a") as fh:
        fh.write(json.dumps(line) + "\n")


def test_a_refresh_without_an_optional_field_keeps_its_type(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    spans, batch = logs / "spans.jsonl", logs / "batch.jsonl"
    cfg = Config(source=None, root=tmp_path, logs=(
        LogSource("predictions", str(spans), "otlp", options={"version": "1"}),
        LogSource("predictions", str(batch), "openai-batch", options={"model": "batcher"})))
    _append(spans, _span_line("b7ad6b7169203331", {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 1200,
                                                   "gen_ai.usage.cache_read.input_tokens": 1024,
                                                   "gen_ai.usage.output_tokens": 50}))
    _append(batch, _batch_line("a", CHAT))
    w = Warehouse(cfg, tmp_path / "store")
    try:
        notes = list(w.refresh().notes)
        # the next spans carry no cache reads (an OpenInference LLM span), the next Batch line is an Embedding
        _append(spans, _span_line("c7ad6b7169203332", {"openinference.span.kind": "LLM", "llm.token_count.prompt": 300,
                                                       "llm.token_count.completion": 20}))
        _append(batch, _batch_line("b", EMBEDDING))
        notes += w.refresh().notes
        with w.cursor() as cur:
            rows = cur.execute("SELECT request_id, cached_tokens, typeof(cached_tokens), refused, typeof(refused) "
                               "FROM predictions ORDER BY request_id").fetchall()
    finally:
        w.close()
    assert [n for n in notes if "more than one type" in n] == []
    # by hand: 1024 cached of the first span, 512 of the chat line, none said by the others; only the chat judged
    assert rows == [("a", 512, "BIGINT", False, "BOOLEAN"), ("b", None, "BIGINT", None, "BOOLEAN"),
                    ("b7ad6b7169203331", 1024, "BIGINT", None, "BOOLEAN"),
                    ("c7ad6b7169203332", None, "BIGINT", None, "BOOLEAN")]
