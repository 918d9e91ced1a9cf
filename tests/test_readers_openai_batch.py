"""OpenAI Batch API output and error files, in no guaranteed order; labels joined on custom_id."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from console.sources.readers import READERS, openai_batch

FIX = Path(__file__).parent / "fixtures" / "formats" / "openai"
OPTIONS = {"model": "ticket-router", "input_per_1m": 0.075, "output_per_1m": 0.30}


def _read(name, options=OPTIONS):
    path = FIX / name
    return openai_batch.parse(path.read_bytes(), source=str(path), first_line=1, options=options)


def test_registry():
    assert READERS["openai-batch"] is openai_batch


def test_output_file_maps_chat_and_responses_bodies():
    out = _read("batch_output.jsonl")
    rows = {r["request_id"]: r for r in out.predictions.to_pylist()}
    assert sorted(rows) == ["ticket-1", "ticket-2", "ticket-3", "ticket-4", "ticket-5"]
    assert {r["model"] for r in rows.values()} == {"ticket-router"}
    t1, t3, t4, t5 = rows["ticket-1"], rows["ticket-3"], rows["ticket-4"], rows["ticket-5"]
    assert (t1["prediction"], t1["status"], t1["finish_reason"]) == ("billing", "200", "stop")
    assert t1["ts"] == datetime(2026, 11, 30, 8, 0, 1) and t3["ts"] == datetime(2026, 11, 30, 8, 0, 3)
    assert (t3["input_tokens"], t3["output_tokens"]) == (410, 2)  # the 256 cached tokens are inside the 410
    assert t3["cost_usd"] == pytest.approx((410 * 0.075 + 2 * 0.30) / 1e6)
    # Responses API names; the 128 reasoning tokens are inside the 150 output tokens
    assert (t4["prediction"], t4["input_tokens"], t4["output_tokens"], t4["llm_model"]) == ("shipping", 300, 150, "o4-mini-2025-04-16")
    assert t4["ts"] == datetime(2026, 11, 30, 8, 0, 4)
    assert (t5["status"], t5["error"], t5["prediction"]) == ("400", "Invalid 'messages[0].content': string too long.", None)
    assert out.predictions["loc"].to_pylist() == [1, 2, 3, 4, 5]  # file order kept; request order not assumed
    assert [(r.loc, r.reason) for r in out.rejected][1:] == [
        (7, "no custom_id"), (8, "response.status_code is not an HTTP code: 'ok'")]
    assert out.rejected[0].loc == 6 and out.rejected[0].reason.startswith("not JSON")


def test_error_file_has_null_response():
    out = _read("batch_errors.jsonl", {**OPTIONS, "batch_time": "2026-11-30T07:59:00Z"})
    (row,) = out.predictions.to_pylist()
    assert (row["request_id"], row["status"], row["ts"]) == ("ticket-9", "batch_expired", datetime(2026, 11, 30, 7, 59))
    assert row["error"].startswith("This request could not be executed")


def test_labels_join_on_custom_id():
    preds = set(_read("batch_output.jsonl").predictions["request_id"].to_pylist())
    out = _read("labels.jsonl", {})
    labels = out.labels.to_pylist()
    assert [(r["request_id"], r["label"]) for r in labels] == [("ticket-1", "billing"), ("ticket-3", "cancel"), ("ticket-4", "shipping")]
    assert {r["request_id"] for r in labels} <= preds
    assert labels[1]["ts"] == datetime(2026, 12, 2, 9)  # graded two days later
    assert [(r.loc, r.reason) for r in out.rejected] == [(4, "neither response nor error")]
