"""MLflow traces, written through MLflow's own tracing API to the real tracking server, then read back."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import mlflow
import pytest
from mlflow.entities import AssessmentSource

from console.sources.readers import READERS, mlflow_traces as mt

FIX = Path(__file__).parent / "fixtures" / "formats" / "mlflow" / "traces_export.jsonl"


@pytest.fixture(scope="module")
def written(mlflow_server):
    """Three traces: an LLM call with token usage and a client id, a failed call, a plain function."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(mlflow_server)
    try:
        exp = mlflow.set_experiment("readers-mlflow-traces").experiment_id
        start_ms = int(time.time() * 1000) - 1

        @mlflow.trace(name="answer", span_type="LLM")
        def answer(q):
            span = mlflow.get_current_active_span()
            span.set_attribute("mlflow.chat.tokenUsage", {"input_tokens": 120, "output_tokens": 30, "total_tokens": 150})
            mlflow.update_current_trace(client_request_id="ticket-77")
            return "refund"

        @mlflow.trace(name="answer", span_type="LLM")
        def broken(q):
            raise RuntimeError("upstream timeout")

        @mlflow.trace(name="classify")
        def classify(x):
            return x > 0

        answer("where is my money?")
        ok_id = mlflow.get_last_active_trace_id()
        with pytest.raises(RuntimeError):
            broken("?")
        err_id = mlflow.get_last_active_trace_id()
        classify(3)
        plain_id = mlflow.get_last_active_trace_id()
        mlflow.flush_trace_async_logging()
        human = AssessmentSource(source_type="HUMAN", source_id="agent@example.com")
        mlflow.log_expectation(trace_id=ok_id, name="expected_intent", value="refund", source=human)
        mlflow.log_feedback(trace_id=plain_id, name="correct", value=False, source=human)
        yield {"uri": mlflow_server, "exp": exp, "start": start_ms, "ok": ok_id, "err": err_id, "plain": plain_id}
    finally:
        mlflow.set_tracking_uri(previous)


def test_registry():
    assert READERS["mlflow-traces"] is mt


def test_fetch_and_map_the_traces(written):
    records = mt.fetch(written["uri"], [written["exp"]], written["start"])
    assert {r["trace_id"] for r in records} == {written["ok"], written["err"], written["plain"]}
    out = mt.parse_records(records, source=f"{written['uri']}#{written['exp']}")
    rows = {r["request_id"]: r for r in out.predictions.to_pylist()}
    ok, err, plain = rows[written["ok"]], rows[written["err"]], rows[written["plain"]]
    assert (ok["input_tokens"], ok["output_tokens"], ok["status"]) == (120, 30, "OK")
    assert ok["model"] == "answer" and ok["version"] is None  # trace name when no model is configured; no LoggedModel
    assert {r["client_request_id"] for r in records if r["trace_id"] == written["ok"]} == {"ticket-77"}
    assert err["status"] == "ERROR" and plain["model"] == "classify"
    assert ok["latency_ms"] >= 0 and abs(ok["ts"] - datetime.utcnow()) < timedelta(minutes=5)
    assert not out.rejected


def test_assessments_become_labels_on_trace_id(written):
    out = mt.parse_records(mt.fetch(written["uri"], [written["exp"]], written["start"]), source="s")
    labels = {r["request_id"]: (r["label"], r["label_num"]) for r in out.labels.to_pylist()}
    assert labels == {written["ok"]: ("refund", None), written["plain"]: ("false", 0.0)}
    assert set(labels) <= set(out.predictions["request_id"].to_pylist())
    only = mt.parse_records(mt.fetch(written["uri"], [written["exp"]], written["start"]), source="s",
                            options={"assessment": "correct"})
    assert only.labels["request_id"].to_pylist() == [written["plain"]]


def test_incremental_poll_and_a_late_label(written):
    first = mt.fetch(written["uri"], [written["exp"]], written["start"])
    cursor = max(int(r["request_time"]) if str(r["request_time"]).isdigit()
                 else int(datetime.fromisoformat(r["request_time"].replace("Z", "+00:00")).timestamp() * 1000)
                 for r in first)
    assert mt.fetch(written["uri"], [written["exp"]], cursor) == []  # nothing new
    mlflow.set_tracking_uri(written["uri"])
    mlflow.log_feedback(trace_id=written["err"], name="correct", value=True,
                        source=AssessmentSource(source_type="HUMAN", source_id="agent@example.com"))
    again = mt.fetch(written["uri"], [written["exp"]], cursor, label_lookback_ms=10 * 60 * 1000)
    out = mt.parse_records(again, source="s", predictions_since_ms=cursor)
    assert out.predictions is None  # no trace is read twice
    assert (written["err"], "true") in {(r["request_id"], r["label"]) for r in out.labels.to_pylist()}


def test_unreachable_server_fails_fast_with_one_line():
    with pytest.raises(mt.TraceFetchError, match="cannot search traces at http://127.0.0.1:9"):
        mt.fetch("http://127.0.0.1:9", ["0"], 0)


def test_exported_json_in_mlflow_3_and_2_names():
    out = mt.parse(FIX.read_bytes(), source=str(FIX), first_line=1,
                   options={"models": {"m-7f3a": "support-assistant"}, "model_versions": {"m-7f3a": "4"},
                            "input_per_1m": 1.0, "output_per_1m": 2.0})
    rows = {r["request_id"]: r for r in out.predictions.to_pylist()}
    v3, v2 = rows["tr-0a1b"], rows["tr-legacy-9"]
    assert (v3["model"], v3["version"], v3["ts"], v3["latency_ms"]) == ("support-assistant", "4", datetime(2026, 11, 30, 9, 30), 1250.0)
    assert (v3["input_tokens"], v3["output_tokens"], v3["cost_usd"]) == (200, 50, 0.0031)  # recorded cost wins
    assert (v2["ts"], v2["latency_ms"], v2["status"], v2["input_tokens"]) == (datetime(2026, 11, 30, 9, 31), 800.0, "OK", 10)
    assert v2["cost_usd"] == pytest.approx((10 * 1.0 + 4 * 2.0) / 1e6)
    labels = {(r["request_id"], r["label"]) for r in out.labels.to_pylist()}
    assert labels == {("tr-0a1b", "refund"), ("tr-0a1b", "0.8")}  # the overridden assessment is skipped
    assert [(r.loc, r.reason) for r in out.rejected] == [(3, "no trace_id (MLflow 3) or request_id (MLflow 2)")]


def test_a_trace_in_progress_waits_and_holds_the_cursor():
    base = 1796031000000
    records = [{"trace_id": "t-1", "request_time": base, "state": "OK", "execution_duration": 5},
               {"trace_id": "t-2", "request_time": base + 1000, "state": "IN_PROGRESS"},
               {"trace_id": "t-3", "request_time": base + 2000, "state": "OK", "execution_duration": 7}]
    first = mt.parse_records(records, source="s", options={"version": "1"}, predictions_since_ms=base - 5)
    assert first.predictions["request_id"].to_pylist() == ["t-1"]  # t-3 waits behind t-2
    assert first.notes == ["1 traces still in progress: read when they end",
                           "1 finished traces wait behind one in progress, to be read once"]
    cursor = mt.next_cursor(records, base - 5)
    assert cursor == base + 999
    records[1]["state"] = "OK"  # the next poll reads t-2 and t-3 again, now both finished
    second = mt.parse_records(records[1:], source="s", options={"version": "1"}, predictions_since_ms=cursor)
    assert second.predictions["request_id"].to_pylist() == ["t-2", "t-3"]
    assert mt.next_cursor(records[1:], cursor) == base + 2000
    # an exported file (no cursor) gives every finished trace
    assert mt.parse_records(records, source="s", options={"version": "1"}).predictions.num_rows == 3
