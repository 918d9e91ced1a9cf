"""OpenTelemetry traces as the Collector's file exporter writes them: one OTLP/JSON `TracesData` per line.

`resourceSpans[].resource.attributes`, `resourceSpans[].scopeSpans[].spans[]`; attributes are
`{key, value: {stringValue|intValue|doubleValue|boolValue|arrayValue|kvlistValue|bytesValue}}`, 64-bit
integers (times, intValue) as strings, ids as hex, `status.code` 2 = error.

Only model-call spans become predictions: GenAI semconv `gen_ai.operation.name` chat / text_completion /
generate_content / embeddings, or OpenInference `openinference.span.kind` LLM / EMBEDDING; a span with neither
is one in the conventions before 1.27 (OpenLLMetry) when it has `llm.request.type` chat / completion / embedding,
or `gen_ai.system` with `gen_ai.request.model` or `gen_ai.usage.*` (never a `traceloop.span.kind` span). A model-call
span that has a model-call descendant (a framework wrapper repeating its child's usage) is skipped, so an
agent's tokens are the sum over its real model calls, each counted once. Parents end after their children,
so a wrapper is often exported in a later batch: the ids of not-yet-seen ancestors of model calls wait in
`carry` for `options.wrapper_window_s` (default 600) of span time.

Read in current and older names: provider `gen_ai.provider.name` / `gen_ai.system` / `llm.provider`;
tokens `gen_ai.usage.input_tokens` / `gen_ai.usage.prompt_tokens` / `llm.token_count.prompt` (cache-read
tokens are already inside input tokens and are never added: they are kept as `cached_tokens`, from
`gen_ai.usage.cache_read.input_tokens` / `llm.token_count.prompt_details.cache_read`), output likewise (`output_tokens`,
`completion_tokens`, `llm.token_count.completion`); `gen_ai.response.model` / `gen_ai.request.model` /
`llm.model_name`; `gen_ai.response.finish_reasons`; `error.type`; `gen_ai.prompt.name` and
`llm.prompt_template.version` (a prompt change is a suspect); cost `llm.cost.total`, else tokens times
`options.input_per_1m` / `output_per_1m`.

model = `options.model`, else resource `service.name`; version = `options.version`, else resource
`service.version`, else the prompt version, else the requested model (`gen_ai.request.model`, which failed calls
carry too; the served snapshot is `llm_model`); environment = resource `deployment.environment.name` (or the
older `deployment.environment`). Latency is end minus start. Attributes under `options.feature_prefix`
(e.g. "app.") become feature columns without the prefix; `<prefix>request_id`, `<prefix>variant`,
`<prefix>prediction` and `<prefix>score` fill those contract fields instead.

LABEL_KEY `request_id` <- the span's `<prefix>request_id` when it carries one, else its `spanId`.
Evaluations become labels on the span they grade: `gen_ai.evaluation.result` span events
(`gen_ai.evaluation.name`, `.score.value`, `.score.label`), spans carrying `gen_ai.evaluation.*`
attributes (graded span = their parent), and OpenInference/Phoenix span annotation lines
(`{span_id, name, result: {label, score}}`). `options.evaluation` keeps only the named evaluation.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from console.sources.contract import Parsed
from console.sources.readers._common import (
    PRICE_OPTIONS, BadRecord, cleaned, count, integer, json_lines, number, option_number, parse_time, parsed,
    priced, reason, reject, text_of,
)

FORMAT = "otlp"
LINE_BASED = True
LABEL_KEY = "request_id"
# The [logs.options] this reader reads; any other is named in a note (a typo costs only itself).
OPTIONS = PRICE_OPTIONS | {"model", "version", "environment", "evaluation", "feature_prefix", "wrapper_window_s"}

MODEL_OPERATIONS = {"chat", "text_completion", "generate_content", "embeddings"}
MODEL_KINDS = {"LLM", "EMBEDDING"}
OLDER_REQUEST_TYPES = {"chat", "completion", "embedding"}
_INPUT = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
# the cache-read share of the input tokens (inside them), priced at the model's `cached_per_1m`
_CACHED = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
           "llm.token_count.prompt_details.cache_read")
_OUTPUT = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion")
_LLM_MODEL = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name")
# The version fallback: the model asked for, which a failed call carries too (the response model exists only when
# there was a response), so a call's errors and answers land on one version.
_ASKED_MODEL = ("gen_ai.request.model", "llm.model_name", "gen_ai.response.model")
_PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
_APP_CONTRACT = {"request_id", "variant", "prediction", "score"}
# Columns the reader derives from GenAI attributes; an app attribute of the same name fills one the span left empty.
_DERIVED = {"prompt_name", "prompt_version", "llm_model", "provider", "finish_reason", "operation"}
EVALUATION_EVENT = "gen_ai.evaluation.result"


def value_of(v: Any) -> Any:
    """One OTLP AnyValue as a Python value."""
    if not isinstance(v, dict):
        return None
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return integer(v["intValue"])
    if "doubleValue" in v:
        return number(v["doubleValue"])
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "arrayValue" in v:
        return [value_of(x) for x in (v["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in v:
        return attributes((v["kvlistValue"] or {}).get("values", []))
    if "bytesValue" in v:
        try:
            return base64.b64decode(v["bytesValue"]).hex()
        except ValueError:
            return None
    return None


def attributes(kvs: Any) -> dict[str, Any]:
    if not isinstance(kvs, list):
        return {}
    return {kv["key"]: value_of(kv.get("value")) for kv in kvs if isinstance(kv, dict) and "key" in kv}


def _first(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if attrs.get(k) is not None:
            return attrs[k]
    return None


def is_model_call(attrs: Mapping[str, Any]) -> bool:
    if "gen_ai.operation.name" in attrs or "openinference.span.kind" in attrs:
        return attrs.get("gen_ai.operation.name") in MODEL_OPERATIONS or \
            str(attrs.get("openinference.span.kind", "")).upper() in MODEL_KINDS
    return _older_model_call(attrs)


def _older_model_call(attrs: Mapping[str, Any]) -> bool:
    """A model call in the GenAI conventions before 1.27, which had no `gen_ai.operation.name` (OpenLLMetry):
    `llm.request.type` chat / completion / embedding, or `gen_ai.system` with a requested model or token usage.
    A Traceloop workflow / task / agent / tool span is not one, whatever it carries."""
    if "traceloop.span.kind" in attrs:
        return False
    if "llm.request.type" in attrs:
        return attrs["llm.request.type"] in OLDER_REQUEST_TYPES
    return "gen_ai.system" in attrs and ("gen_ai.request.model" in attrs
                                         or any(k.startswith("gen_ai.usage.") for k in attrs))


@cleaned
def parse(body: bytes, *, source: str, first_line: int, options: Mapping[str, Any],
          carry: object = None) -> Parsed:
    rejected: list = []
    preds: list[dict] = []
    labels: list[dict] = []
    skipped = 0
    state = carry if isinstance(carry, dict) else {}
    pending: dict[str, int] = dict(state.get("pending") or {})  # ancestors of model calls not yet seen
    newest = [int(state.get("newest") or 0)]  # the latest span end seen, which ages the wait
    for loc, obj, raw in json_lines(body, first_line, rejected):
        try:
            if "resourceSpans" in obj:
                bad: list[str] = []
                p, lab, s = _traces(loc, obj, options, bad, pending, newest)
                preds.extend(p)
                labels.extend(lab)
                skipped += s
                for why in bad:  # a bad span costs only itself, not its line
                    reject(rejected, loc, why, raw)
            elif "span_id" in obj and isinstance(obj.get("result"), dict):
                lab = _annotation(loc, obj, options)
                if lab:
                    labels.append(lab)
            else:
                raise BadRecord("not a TracesData line (no resourceSpans)")
        except Exception as exc:  # noqa: BLE001 - a bad record costs only itself
            reject(rejected, loc, reason(exc), raw)
    notes = [f"{skipped} model-call spans skipped: they wrap a model call whose usage they repeat"] if skipped else []
    if pending:  # a parent ends after its children: wait for it a while, by span time, not forever
        horizon = newest[0] - int(option_number(options, "wrapper_window_s", 600) * 1e9)
        pending = {k: v for k, v in pending.items() if v >= horizon}
    carry_out = {"pending": pending, "newest": newest[0]} if pending else None
    return parsed(preds, labels, rejected, source, carry=carry_out, notes=notes)


def _traces(loc: int, obj: dict, options: Mapping[str, Any], bad: list[str], pending: dict[str, int],
            newest: list[int]) -> tuple[list[dict], list[dict], int]:
    spans: list[tuple[dict, dict, dict]] = []  # (span, its attributes, resource attributes)
    resource_spans = obj["resourceSpans"]
    if not isinstance(resource_spans, list):
        raise BadRecord("resourceSpans is not a list")
    for rs in resource_spans:
        if not isinstance(rs, dict):
            raise BadRecord("resourceSpans entry is not an object")
        resource = attributes((rs.get("resource") or {}).get("attributes"))
        for ss in rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or []:
            for span in (ss or {}).get("spans") or []:
                if not isinstance(span, dict) or not span.get("spanId"):
                    bad.append("a span without spanId")  # set aside alone: the line's other spans are kept
                    continue
                spans.append((span, attributes(span.get("attributes")), resource))
    by_id = {s["spanId"]: (s, a) for s, a, _ in spans}
    newest[0] = max([newest[0]] + [integer(s.get("endTimeUnixNano")) or 0 for s, _, _ in spans])
    # Spans above a model call: in this line by walking up, and across lines through `pending` (parents
    # end, and so are exported, after their children). A model call above a model call is a wrapper.
    above: set[str] = set()  # spans with a model call somewhere below them

    def climb(span: dict) -> None:
        parent, end = span.get("parentSpanId"), integer(span.get("endTimeUnixNano")) or 0
        while parent and parent not in above:
            if parent not in by_id:
                pending[parent] = max(pending.get(parent, 0), end)
                return
            above.add(parent)
            parent = by_id[parent][0].get("parentSpanId")

    for span, _, _ in spans:
        if span["spanId"] in pending:  # a model call sat below it in an earlier line
            del pending[span["spanId"]]
            above.add(span["spanId"])
    for span, attrs, _ in spans:
        if is_model_call(attrs) or span["spanId"] in above:
            climb(span)
    wrappers = {sid for sid in above if is_model_call(by_id[sid][1])}
    prefix = options.get("feature_prefix")
    keys = {s["spanId"]: _key(s, a, prefix) for s, a, _ in spans}
    preds, labels = [], []
    for span, attrs, resource in spans:
        try:
            for event in span.get("events") or []:
                if isinstance(event, dict) and event.get("name") == EVALUATION_EVENT:
                    lab = _evaluation(loc, keys[span["spanId"]], attributes(event.get("attributes")),
                                      event.get("timeUnixNano"), options)
                    if lab:
                        labels.append(lab)
            if "gen_ai.evaluation.name" in attrs and span.get("parentSpanId"):
                parent = span["parentSpanId"]  # the graded span, maybe in an earlier line
                own = attrs.get(f"{prefix}request_id") if prefix else None
                target = keys.get(parent) or (str(own) if own is not None else str(parent))
                lab = _evaluation(loc, target, attrs, span.get("endTimeUnixNano"), options)
                if lab:
                    labels.append(lab)
            if is_model_call(attrs) and span["spanId"] not in wrappers:
                preds.append(_prediction(loc, span, attrs, resource, keys[span["spanId"]], options))
        except Exception as exc:  # noqa: BLE001 - a bad span costs only itself
            bad.append(reason(exc))
    return preds, labels, len(wrappers)


def _key(span: dict, attrs: Mapping[str, Any], prefix: str | None) -> str:
    if prefix and attrs.get(f"{prefix}request_id") is not None:
        return str(attrs[f"{prefix}request_id"])
    return str(span["spanId"])


def _prediction(loc: int, span: dict, attrs: dict, resource: dict, key: str, options: Mapping[str, Any]) -> dict:
    start, end = integer(span.get("startTimeUnixNano")), integer(span.get("endTimeUnixNano"))
    if start is None:
        raise BadRecord(f"span {span['spanId']}: no startTimeUnixNano")
    status = span.get("status") or {}
    code = status.get("code")
    word = {2: "ERROR", "STATUS_CODE_ERROR": "ERROR", 1: "OK", "STATUS_CODE_OK": "OK"}.get(code, "UNSET")
    error = attrs.get("error.type") or status.get("message") if word == "ERROR" else None
    in_tok, out_tok = count(_first(attrs, _INPUT), "input_tokens"), count(_first(attrs, _OUTPUT), "output_tokens")
    cached = count(_first(attrs, _CACHED), "cached_tokens")
    cost = number(attrs.get("llm.cost.total"))
    if cost is None:
        cost = priced(in_tok, out_tok, options, cached)
    prompt_name = attrs.get("gen_ai.prompt.name") or attrs.get("llm.prompt_template.name")
    prompt_version = attrs.get("gen_ai.prompt.version") or attrs.get("llm.prompt_template.version")
    reasons = attrs.get("gen_ai.response.finish_reasons")
    row: dict[str, Any] = {
        "loc": loc, "ts": parse_time(start), "request_id": key,
        "model": options.get("model") or resource.get("service.name"),
        "version": options.get("version") or resource.get("service.version")
        or (None if prompt_version is None else text_of(prompt_version)) or _first(attrs, _ASKED_MODEL),
        "environment": options.get("environment") or resource.get("deployment.environment.name")
        or resource.get("deployment.environment"),
        "latency_ms": (end - start) / 1e6 if end is not None and end >= start else None,
        "status": word, "error": None if error is None else text_of(error),
        "input_tokens": in_tok, "output_tokens": out_tok, "cost_usd": cost,
        "cached_tokens": cached,
        "operation": attrs.get("gen_ai.operation.name")
        or str(attrs.get("openinference.span.kind", "")).lower() or attrs.get("llm.request.type") or None,
        "llm_model": _first(attrs, _LLM_MODEL), "provider": _first(attrs, _PROVIDER),
        "finish_reason": reasons[0] if isinstance(reasons, list) and reasons else reasons,
        "prompt_name": prompt_name, "prompt_version": None if prompt_version is None else text_of(prompt_version),
    }
    prefix = options.get("feature_prefix")
    if prefix:
        for k, v in attrs.items():
            if k.startswith(prefix):
                name = k[len(prefix):]
                if name == "request_id":
                    continue
                if name in _APP_CONTRACT:
                    row[name] = number(v) if name == "score" else v
                elif name in row and row[name] is None and name in _DERIVED:
                    row[name] = text_of(v)  # the app names what the span's conventions left empty
                else:
                    row[name if name not in row else f"feature_{name}"] = v
    return row


def _evaluation(loc: int, key: str, attrs: Mapping[str, Any], when: Any, options: Mapping[str, Any]) -> dict | None:
    name = attrs.get("gen_ai.evaluation.name")
    if options.get("evaluation") and name != options["evaluation"]:
        return None
    score, label = number(attrs.get("gen_ai.evaluation.score.value")), attrs.get("gen_ai.evaluation.score.label")
    if score is None and label is None:
        raise BadRecord(f"evaluation {name!r} without score.value or score.label")
    return {"loc": loc, "request_id": key, "label": text_of(label if label is not None else score),
            "label_num": score, "ts": parse_time(integer(when)) if when is not None else None}


def _annotation(loc: int, obj: dict, options: Mapping[str, Any]) -> dict | None:
    if options.get("evaluation") and obj.get("name") != options["evaluation"]:
        return None
    result = obj["result"]
    score, label = number(result.get("score")), result.get("label")
    if score is None and label is None:
        raise BadRecord(f"annotation {obj.get('name')!r} without label or score")
    return {"loc": loc, "request_id": str(obj["span_id"]), "label": text_of(label if label is not None else score),
            "label_num": score, "ts": parse_time(obj.get("updated_at") or obj.get("created_at"))}
