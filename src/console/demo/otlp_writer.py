"""The demo's LLM assistant logs as OpenTelemetry spans, so the tour shows the console reading a real shape.

Each request is an agent trace as GenAI instrumentations write it: an `invoke_agent` span that repeats the
usage totals (which the reader must not count twice) and a `chat` child span with the model call's usage,
latency and status. Demo fields the semantic conventions do not name ride as `app.*` attributes; read the
file with `format = "otlp"` and `[logs.options] feature_prefix = "app."`. A shadow call mirrors a request
under the same request_id but is its own trace, as a mirrored call to another model is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

BATCH = 50  # spans per TracesData line, as the Collector's file exporter batches them
_EPOCH = datetime(1970, 1, 1)
_CONTRACT = {"ts", "model", "version", "environment", "request_id", "latency_ms", "status", "is_error", "error",
             "input_tokens", "output_tokens", "cost_usd", "label", "llm_model", "provider", "prompt"}


def _ns(ts: Any) -> int:
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if ts.tzinfo is not None:
        ts = ts.astimezone(timezone.utc).replace(tzinfo=None)
    return (ts - _EPOCH) // timedelta(microseconds=1) * 1000


def _id(text: str, size: int) -> str:
    return hashlib.blake2b(text.encode(), digest_size=size).hexdigest()


def _value(v: Any) -> dict:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [_value(x) for x in v]}}
    return {"stringValue": str(v)}


def _attrs(d: dict) -> list[dict]:
    return [{"key": k, "value": _value(v)} for k, v in d.items() if v is not None]


def _is_error(row: dict) -> bool:
    if row.get("is_error") is not None:
        return bool(row["is_error"])
    return str(row.get("status") or "").lower() in {"error", "failed", "5xx"} or bool(row.get("error"))


def _spans(row: dict, prompt: str | None = None) -> list[dict]:
    rid = str(row["request_id"])
    call_key = f"{rid}|{row.get('variant') or ''}"
    trace, root, chat = _id(call_key, 16), _id("agent:" + call_key, 8), _id("chat:" + call_key, 8)
    start = _ns(row["ts"])
    end = start + int(round(float(row.get("latency_ms") or 0) * 1e6))
    error = _is_error(row)
    usage = {"gen_ai.usage.input_tokens": row.get("input_tokens"), "gen_ai.usage.output_tokens": row.get("output_tokens")}
    app = {f"app.{k}": v for k, v in row.items() if k not in _CONTRACT and v is not None}
    app["app.request_id"] = rid
    model = row.get("llm_model", "gpt-4o-mini")
    call = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": row.get("provider", "openai"),
            "gen_ai.request.model": model, "gen_ai.response.model": model, "gen_ai.prompt.name": row.get("prompt", prompt),
            **usage,
            "gen_ai.response.finish_reasons": None if error else ["stop"],
            "llm.cost.total": row.get("cost_usd"), "error.type": row.get("error") if error else None, **app}
    status = {"code": 2, "message": str(row.get("error") or "error")} if error else {"code": 1}
    chat_span = {"traceId": trace, "spanId": chat, "parentSpanId": root, "name": f"chat {model}", "kind": 3,
                 "startTimeUnixNano": str(start), "endTimeUnixNano": str(end), "attributes": _attrs(call),
                 "status": status}
    if row.get("label") is not None:
        chat_span["events"] = [{"timeUnixNano": str(end), "name": "gen_ai.evaluation.result", "attributes": _attrs(
            {"gen_ai.evaluation.name": "label", "gen_ai.evaluation.score.label": str(row["label"])})}]
    agent = {"traceId": trace, "spanId": root, "parentSpanId": "", "name": f"invoke_agent {row.get('model')}",
             "kind": 2, "startTimeUnixNano": str(start - 2_000_000), "endTimeUnixNano": str(end + 3_000_000),
             "attributes": _attrs({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": row.get("model"),
                                   **usage, "app.request_id": rid}), "status": status}
    return [agent, chat_span]


def _lines(rows: Iterable[dict], prompt: str | None) -> Iterable[str]:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        key = (row.get("model"), row.get("version"), row.get("environment"))
        spans = groups.setdefault(key, [])
        spans.extend(_spans(row, prompt))
        if len(spans) >= 2 * BATCH:
            yield _line(key, groups.pop(key))
    for key, spans in groups.items():
        yield _line(key, spans)


def _line(key: tuple, spans: list[dict]) -> str:
    model, version, environment = key
    resource = {"service.name": model, "service.version": version, "deployment.environment.name": environment}
    return json.dumps({"resourceSpans": [{"resource": {"attributes": _attrs(resource)}, "scopeSpans": [{
        "scope": {"name": "opentelemetry.instrumentation.openai_v2", "version": "2.1b0"}, "spans": spans}]}]},
        separators=(",", ":"))


def otlp_text(rows: Iterable[dict], *, prompt: str | None = None) -> tuple[str, int]:
    """The rows as OTLP/JSON lines (each ending in a newline) and how many lines that is; `prompt` names the
    registry prompt the calls were made with (`gen_ai.prompt.name`) where a row does not."""
    lines = list(_lines(rows, prompt))
    return "".join(line + "\n" for line in lines), len(lines)


def write_otlp(rows: Iterable[dict], path: str | Path, *, append: bool = False, prompt: str | None = None) -> int:
    """Write (or append, in one write, so a tailer never meets half a batch) the rows as OTLP/JSON lines;
    returns the number of lines written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text, n = otlp_text(rows, prompt=prompt)
    with open(path, "a" if append else "w", encoding="utf-8") as fh:
        fh.write(text)
    return n
