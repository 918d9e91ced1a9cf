"""MLflow traces name the prompt versions they used (tag `mlflow.linkedPrompts`): a prompt change is seen by prompt
version and is the incident's suspect, as an OTLP span's `gen_ai.prompt.version` is."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import polars as pl

from console.analytics import incidents as inc
from console.sources.readers import mlflow_traces

T0 = datetime(2026, 12, 5, 6, 0)


def _trace(i: int, linked) -> dict:
    tags = {"mlflow.traceName": "support-assistant"}
    if linked is not None:
        tags["mlflow.linkedPrompts"] = linked if isinstance(linked, str) else json.dumps(linked)
    ms = int((T0 + timedelta(minutes=i)).replace(tzinfo=timezone.utc).timestamp() * 1000)
    return {"trace_id": f"tr-{i:04d}", "client_request_id": None, "request_time": ms,
            "state": "OK", "execution_duration_ms": 640, "trace_metadata": {
                "mlflow.modelId": "m-7f3a", "mlflow.trace.tokenUsage": json.dumps(
                    {"input_tokens": 900, "output_tokens": 80, "total_tokens": 980})}, "tags": tags, "assessments": []}


def _parse(records: list[dict]) -> pl.DataFrame:
    body = "\n".join(json.dumps(r) for r in records).encode()
    out = mlflow_traces.parse(body, source="traces.jsonl", first_line=1, options={"model_versions": {"m-7f3a": "4"}})
    assert not out.rejected
    return pl.from_arrow(out.predictions)


def test_linked_prompt_versions_are_read_and_a_change_is_a_suspect():
    records = [_trace(i, [{"name": "support", "version": 1 if i < 60 else 2}]) for i in range(90)]
    rows = _parse(records)
    assert rows["prompt_name"].unique().to_list() == ["support"]
    assert rows.group_by("prompt_version").len().sort("prompt_version").rows() == [("1", 60), ("2", 30)]
    [s] = inc.prompt_suspects(rows, "support-assistant", T0 + timedelta(minutes=89))
    assert (s.kind, s.ts) == ("prompt", T0 + timedelta(minutes=60))
    assert s.detail == "prompt_version 2 first served (100% of requests since then)"


def test_several_or_unreadable_links():
    rows = _parse([_trace(0, [{"name": "router", "version": "3"}, {"name": "answer", "version": "7"}]),
                   _trace(1, "not json"), _trace(2, None)]).sort("request_id")
    assert rows["prompt_version"].to_list() == ["answer/7+router/3", None, None]  # a bad tag costs only itself
