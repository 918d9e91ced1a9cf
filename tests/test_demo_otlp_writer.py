"""The demo's LLM assistant written as OTLP spans reads back, through the OTLP reader, as the rows it came from."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from console.demo import fleet
from console.demo.otlp_writer import write_otlp
from console.sources.readers import otlp


def _rows(n: int = 230) -> list[dict]:
    rng = np.random.default_rng(11)
    start = fleet.us(datetime(2026, 3, 9, 6, tzinfo=timezone.utc))
    ts = np.sort(rng.integers(start, start + 86_400_000_000, n))
    version = np.where(np.arange(n) % 3 == 0, "3", "4").astype(object)
    inputs = fleet.llm_inputs(rng, ts, ts > start + 43_200_000_000)
    df = fleet.llm_rows(rng, ts, version, np.full(n, "champion", object), np.full(n, "production", object), inputs)
    return df.to_dicts()


def test_round_trip_through_the_reader(tmp_path):
    rows = _rows()
    rows[5]["label"] = "billing"
    path = tmp_path / "logs" / "support-assistant.otlp.jsonl"
    lines = write_otlp(rows, path, prompt=fleet.PROMPT)
    assert lines == 6  # two resources (versions 3 and 4), 50 requests a line: ceil(77/50) + ceil(153/50)
    out = otlp.parse(path.read_bytes(), source=str(path), first_line=1, options={"feature_prefix": "app."})
    assert not out.rejected
    got = {r["request_id"]: r for r in out.predictions.to_pylist()}
    assert len(got) == len(rows)  # one prediction per request: the agent spans are not model calls
    for row in rows:
        g = got[row["request_id"]]
        assert g["ts"] == datetime.fromisoformat(row["ts"].replace("Z", ""))
        assert (g["model"], g["version"], g["environment"], g["variant"]) == (
            row["model"], row["version"], row["environment"], row["variant"])
        assert g["latency_ms"] == pytest.approx(row["latency_ms"], abs=1e-6)
        assert (g["input_tokens"], g["output_tokens"]) == (row["input_tokens"], row["output_tokens"])
        assert g["cost_usd"] == row["cost_usd"]
        assert (g["status"] == "ERROR") == (row["status"] == "error")
        assert g["error"] == row["error"]
        assert (g["prediction"], g["score"]) == (row["prediction"], row["score"])
        assert (g["channel"], g["language"], g["conversation_turns"]) == (row["channel"], row["language"], row["conversation_turns"])
        assert g["factuality"] == row["factuality"] and g["refused"] == row["refused"]
        # the app's prompt_version fills the column the span's GenAI attributes leave empty (no feature_ copy)
        assert (g["prompt_name"], g["prompt_version"]) == (fleet.PROMPT, row["prompt_version"])
        assert "feature_prompt_version" not in g
    assert sum(g["input_tokens"] for g in got.values()) == sum(r["input_tokens"] for r in rows)  # not doubled
    (label,) = out.labels.to_pylist()
    assert (label["request_id"], label["label"]) == (rows[5]["request_id"], "billing")


def test_append_adds_lines(tmp_path):
    rows = _rows(10)
    path = tmp_path / "a.jsonl"
    write_otlp(rows[:4], path)
    write_otlp(rows[4:], path, append=True)
    out = otlp.parse(path.read_bytes(), source=str(path), first_line=1, options={"feature_prefix": "app."})
    assert out.predictions.num_rows == 10
