"""OpenAI Batch API output (and error) files: one JSON object per line, in no guaranteed order.

`{id, custom_id, response: {status_code, request_id, body}, error}`; the error file has `response: null` and
`error: {code, message}`. The body is a Chat Completions (`model`, `created`, `choices`, `usage` with
`prompt_tokens` / `completion_tokens` and their `_details`), Responses (`created_at`, `output`, `usage` with
`input_tokens` / `output_tokens`) or Embeddings object. Cached and reasoning tokens are already inside the
input / output counts and are not added; the cached share (`prompt_tokens_details` / `input_tokens_details`
`.cached_tokens`) is kept as `cached_tokens`, so the model's `cached_per_1m` prices it (OpenAI bills it at a
discount: read as full-price input, a cache-heavy app's cost was overstated). Cost = tokens x
`options.input_per_1m` / `output_per_1m`, cache hits x `options.cached_per_1m` (unset: the input price) (the batch
prices the team pays; the lead may pass the model's configured prices here).

model = `options.model`, else the body's `model`; version = `options.version`, else the body's dated `model`
(e.g. gpt-4o-mini-2024-07-18, so a provider's model update reads as a new version), also kept as `llm_model`.
A failed line names no model: it is the batch's (a Batch runs one model, so the one snapshot its file's answered
lines name, carried across the file's chunks), else `options.model`'s under version "unknown" (a note says so),
else set aside saying `options.model` is needed. A failed or Embeddings line has no `created`: pass the batch's
time as `options.batch_time` (the Batch object's `created_at`), or the store refuses it as "missing ts".
prediction = the first choice's text (Chat) or the output text (Responses). `refused` = the model declined: the
message's `refusal` (Chat) or a `refusal` content part (Responses) is set; an answered line is `refused` false, so
the Cost screen's refusal rate and a `refusal_rate` rule read these logs (they were never counted).

LABEL_KEY `request_id` <- `custom_id`. Labels are lines `{custom_id, label}` (the team's graded answers),
read by this same reader from their own file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from console.sources.contract import Parsed
from console.sources.readers._common import (
    PRICE_OPTIONS, BadRecord, cleaned, count, integer, json_lines, label_row, parse_time, parsed, priced, reason,
    reject, text_of,
)

FORMAT = "openai-batch"
LINE_BASED = True
LABEL_KEY = "request_id"
# The [logs.options] this reader reads; any other is named in a note (a typo costs only itself).
OPTIONS = PRICE_OPTIONS | {"model", "version", "environment", "batch_time"}


@cleaned
def parse(body: bytes, *, source: str, first_line: int, options: Mapping[str, Any],
          carry: object = None) -> Parsed:
    rejected: list = []
    preds: list[dict] = []
    labels: list[dict] = []
    for loc, obj, raw in json_lines(body, first_line, rejected):
        try:
            key = obj.get("custom_id")
            if not isinstance(key, str) or not key:
                raise BadRecord("no custom_id")
            if "label" in obj and "response" not in obj:
                if obj["label"] is None:
                    raise BadRecord("label line with an empty label")
                labels.append(label_row(loc, key, obj["label"], parse_time(obj.get("ts"))))
            else:
                preds.append({**_output(loc, key, obj, options), "_raw": raw})
        except Exception as exc:  # noqa: BLE001 - a bad record costs only itself
            reject(rejected, loc, reason(exc), raw)
    seen = _snapshots(preds, carry, source)
    batch_model = seen[0] if len(seen) == 1 else None
    preds, notes = _attribute_failures(preds, batch_model, options, rejected)
    rejected.sort(key=lambda r: r.loc)
    return parsed(preds, labels, rejected, source, carry={"snapshots": seen, "file": source} if seen else None,
                  notes=notes)


def _snapshots(preds: list[dict], carry: object, source: str) -> list[str]:
    """The model snapshots this file's answered lines name so far (two at most: more than one is already no single
    batch model). A Batch runs one model, so its failures are that model's. Only this file's: the store hands a
    source's carry on to its next file (a rotated log's pending state), and each Batch output file is its own batch
    (another batch's snapshot was charged with this one's failures)."""
    mine = isinstance(carry, dict) and carry.get("file") == source
    seen = set(carry.get("snapshots") or []) if mine else set()
    seen.update(r["llm_model"] for r in preds if isinstance(r.get("llm_model"), str) and r["llm_model"])
    return sorted(seen)[:2]


def _attribute_failures(preds: list[dict], batch_model: str | None, options: Mapping[str, Any],
                        rejected: list) -> tuple[list[dict], list[str]]:
    """A failed line names no model: it is `options.model`'s, else its batch's; its version is `options.version`,
    else the batch's snapshot, else "unknown" (said in a note). With no model at all it is set aside saying why."""
    kept, unknown = [], 0
    for row in preds:
        raw = row.pop("_raw")
        if row.get("llm_model") or not row.get("error"):
            kept.append(row)
            continue
        row["model"] = options.get("model") or batch_model
        if not row["model"]:
            reject(rejected, row["loc"], "failed line names no model (OpenAI's error lines carry none) and its file no "
                   "single batch model: set options.model to count this source's failures", raw)
            continue
        row["version"] = options.get("version") or batch_model or "unknown"
        unknown += row["version"] == "unknown"
        kept.append(row)
    notes = [f"{unknown} failed line(s) name no model snapshot: counted under version \"unknown\" of "
             f"{options.get('model')} (set options.version to name it)"] if unknown else []
    return kept, notes


def _output(loc: int, key: str, obj: dict, options: Mapping[str, Any]) -> dict:
    if "response" not in obj and "error" not in obj:
        raise BadRecord("neither response nor error")
    response, error = obj.get("response"), obj.get("error")
    row: dict[str, Any] = {"loc": loc, "request_id": key, "environment": options.get("environment"),
                           "ts": parse_time(options.get("batch_time"))}
    if response is None:
        if not isinstance(error, dict):
            raise BadRecord("response is null and error is not an object")
        row.update(status=str(error.get("code") or "error"), error=text_of(error.get("message") or error.get("code")))
        return row
    if not isinstance(response, dict):
        raise BadRecord("response is not an object")
    status = response.get("status_code")
    if integer(status) is None:
        raise BadRecord(f"response.status_code is not an HTTP code: {status!r}")
    body = response.get("body")
    if not isinstance(body, dict):
        raise BadRecord("response.body is not an object")
    row["status"] = str(status)
    created = body.get("created", body.get("created_at"))
    if created is not None:
        row["ts"] = parse_time(created)
    if integer(status) != 200:
        err = body.get("error") if isinstance(body.get("error"), dict) else {}
        row["error"] = text_of(err.get("message") or err.get("code") or f"HTTP {status}")
    row["model"] = options.get("model") or body.get("model")
    row["version"] = options.get("version") or body.get("model") or (None if row.get("error") else "unknown")
    row["llm_model"] = body.get("model")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    in_tok = count(usage.get("prompt_tokens", usage.get("input_tokens")), "input_tokens")
    out_tok = count(usage.get("completion_tokens", usage.get("output_tokens")), "output_tokens")
    details = usage.get("prompt_tokens_details", usage.get("input_tokens_details"))
    cached = count(details.get("cached_tokens"), "cached_tokens") if isinstance(details, dict) else None
    row["input_tokens"], row["output_tokens"], row["cached_tokens"] = in_tok, out_tok, cached
    row["cost_usd"] = priced(in_tok, out_tok, options, cached)
    text, finish, refused = _answer(body)
    row["prediction"], row["finish_reason"], row["refused"] = text, finish, refused
    return row


def _answer(body: dict) -> tuple[str | None, str | None, bool | None]:
    """(text, finish reason, refused): refused is None where the body has no answer to judge (Embeddings)."""
    choices = body.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        c = choices[0]
        msg = c.get("message") if isinstance(c.get("message"), dict) else {}
        content = msg.get("content") if msg else c.get("text")
        return ((None if content is None else str(content).strip()), c.get("finish_reason"),
                bool(msg.get("refusal")) if msg else None)
    parts = [p for item in body.get("output") or [] if isinstance(item, dict) and item.get("type") == "message"
             for p in item.get("content") or [] if isinstance(p, dict)]
    refused = any(p.get("type") == "refusal" for p in parts) if parts else None
    if isinstance(body.get("output_text"), str):
        return body["output_text"].strip(), body.get("status"), refused
    texts = [p.get("text", "") for p in parts if p.get("type") == "output_text"]
    return ("".join(texts).strip() or None), body.get("status"), refused
