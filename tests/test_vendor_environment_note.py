"""A vendor log names its own environment (OTLP's resource `deployment.environment.name = "prod"`, as OpenTelemetry
SDKs are often configured); `cost`, `health`, `quality` read "production" unless told. Their note said "the logs hold
no rows for assistant" over the model's spans, which `snapshot` counted: found by the vendor-formats probe. The
note now names the environments the model's rows are in and the option that reads them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from console.cli import main

AT = datetime(2026, 11, 30, 12, 0)


def _span(i: int) -> dict:
    start = int((AT - timedelta(hours=2, minutes=i) - datetime(1970, 1, 1)).total_seconds()) * 10**9
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 100,
             "gen_ai.usage.output_tokens": 10}
    span = {"traceId": f"{i:032x}", "spanId": f"{i + 1:016x}", "name": "chat gpt-4o", "kind": 3,
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 300_000_000), "status": {},
            "attributes": [{"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
                           for k, v in attrs.items()]}
    resource = [{"key": "service.name", "value": {"stringValue": "assistant"}},
                {"key": "deployment.environment.name", "value": {"stringValue": "prod"}}]
    return {"resourceSpans": [{"resource": {"attributes": resource}, "scopeSpans": [{"spans": [span]}]}]}


def test_a_model_whose_rows_are_all_in_another_environment_is_told_where(tmp_path, capsys):
    (tmp_path / "spans.jsonl").write_text("".join(json.dumps(_span(i)) + "\n" for i in range(3)))
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "store"}"\n[[logs]]\nkind = "predictions"\n'
                   f'path = "{tmp_path / "spans.jsonl"}"\nformat = "otlp"\n', encoding="utf-8")
    args = ["--config", str(cfg), "--at", AT.isoformat(), "cost", "assistant", "--window", "1d", "--format", "json"]
    assert main(args) == 0
    note = json.loads(capsys.readouterr().out)["note"]
    assert "hold no rows for assistant" not in note
    assert "'prod'" in note and "--environment prod" in note, note
    assert main([*args, "--environment", "prod"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert "note" not in got
    assert (got["window_spend"]["requests"], got["tokens"]) == (3, {"input_tokens": 300, "output_tokens": 30})
