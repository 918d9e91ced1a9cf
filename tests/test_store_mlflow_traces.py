"""MLflow traces as a live store source: `[[logs]] format = "mlflow-traces"`, `path = "mlflow://EXPERIMENT"`.

Traces are written through MLflow's own tracing API to the real tracking server the tests start; the store
polls it, and each trace (and each assessment) is stored once however many polls re-read it."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import mlflow
import pytest
from mlflow.entities import AssessmentSource

from console.config import parse_file
from console.warehouse import Warehouse

HUMAN = AssessmentSource(source_type="HUMAN", source_id="agent@example.com")


@pytest.fixture()
def tracing(mlflow_server):
    """An experiment of its own on the shared server, and a function that logs one trace into it."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(mlflow_server)
    name = f"store-traces-{uuid.uuid4().hex[:8]}"
    exp = mlflow.set_experiment(name).experiment_id

    def log(tokens_in: int, tokens_out: int, fail: bool = False, start_ns: int | None = None) -> str:
        if start_ns is not None:  # a call that started earlier and reaches the server only now
            span = mlflow.start_span_no_context("answer", span_type="LLM", experiment_id=exp, start_time_ns=start_ns)
            span.set_attribute("mlflow.chat.tokenUsage", {"input_tokens": tokens_in, "output_tokens": tokens_out,
                                                          "total_tokens": tokens_in + tokens_out})
            span.end()
            mlflow.flush_trace_async_logging()
            return span.trace_id

        @mlflow.trace(name="answer", span_type="LLM")
        def answer(question):
            mlflow.get_current_active_span().set_attribute(
                "mlflow.chat.tokenUsage", {"input_tokens": tokens_in, "output_tokens": tokens_out,
                                           "total_tokens": tokens_in + tokens_out})
            if fail:
                raise RuntimeError("upstream timeout")
            return "refund"

        try:
            answer("where is my money?")
        except RuntimeError:
            pass
        mlflow.flush_trace_async_logging()
        return mlflow.get_last_active_trace_id()

    try:
        yield {"uri": mlflow_server, "name": name, "exp": exp, "log": log}
    finally:
        mlflow.set_tracking_uri(previous)


def _config(root: Path, *, experiment: str, tracking_uri: str) -> Path:
    """One polled trace source, and one local JSON Lines log of another model (two rows)."""
    (root / "logs").mkdir(parents=True, exist_ok=True)
    rows = [{"ts": "2026-11-30T10:00:00Z", "model": "fraud", "version": "1", "request_id": f"f-{i}",
             "prediction": "0", "latency_ms": 10} for i in range(2)]
    (root / "logs" / "fraud.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = root / "mlops-console.toml"
    config.write_text(
        f'[registry]\ntracking_uri = "{tracking_uri}"\n\n'
        '[[logs]]\nkind = "predictions"\npath = "logs/fraud.jsonl"\n\n'
        f'[[logs]]\nkind = "predictions"\npath = "mlflow://{experiment}"\nformat = "mlflow-traces"\n'
        '[logs.options]\nmodel = "support-bot"\nversion = "1"\nlookback = "15m"\n')
    return config


def _counts(wh: Warehouse) -> dict:
    with wh.cursor() as cur:
        preds = cur.sql("SELECT model, count(*), count(DISTINCT request_id), sum(input_tokens), "
                        "sum(output_tokens), sum(is_error::INT) FROM predictions GROUP BY model").fetchall()
        labels = cur.sql("SELECT request_id, label FROM labels ORDER BY request_id, label").fetchall()
        bad = cur.sql("SELECT count(*) FROM malformed").fetchall()[0][0]
    return {"predictions": {r[0]: r[1:] for r in preds}, "labels": labels, "malformed": bad}


def test_traces_are_polled_once_each_and_late_ones_are_not_lost(tracing, tmp_path):
    ok = tracing["log"](120, 30)
    failed = tracing["log"](80, 0, fail=True)
    third = tracing["log"](200, 50)
    mlflow.log_expectation(trace_id=ok, name="expected_intent", value="refund", source=HUMAN)
    cfg = parse_file(_config(tmp_path, experiment=tracing["name"], tracking_uri=tracing["uri"]))
    wh = Warehouse(cfg, database=tmp_path / "store")
    try:
        stats = wh.refresh()
        first = _counts(wh)
        # 3 traces: distinct, tokens 120+80+200 in, 30+0+50 out, one failed; 1 expectation; 2 local rows
        assert first["predictions"]["support-bot"] == (3, 3, 400, 80, 1)
        assert first["predictions"]["fraud"][0] == 2
        assert first["labels"] == [(ok, "refund")] and first["malformed"] == 0
        assert stats.rows == {"predictions": 5, "labels": 1}

        assert wh.refresh().rows == {}  # a poll that re-reads the same window adds nothing
        assert _counts(wh) == first

        late = tracing["log"](7, 3, start_ns=time.time_ns() - 120 * 10**9)  # started 2 min ago, logged now
        fourth = tracing["log"](10, 5)
        mlflow.log_feedback(trace_id=failed, name="correct", value=False, source=HUMAN)  # a label lands late
        mlflow.log_feedback(trace_id=third, name="correct", value=True, source=HUMAN)
        assert wh.refresh().rows == {"predictions": 2, "labels": 2}
        second = _counts(wh)
        assert second["predictions"]["support-bot"] == (5, 5, 417, 88, 1)
        assert second["labels"] == sorted([(ok, "refund"), (failed, "false"), (third, "true")])
        with wh.cursor() as cur:
            stored = {r[0] for r in cur.sql("SELECT request_id FROM predictions WHERE model = 'support-bot'").fetchall()}
        assert stored == {ok, failed, third, late, fourth}
    finally:
        wh.close()
    again = Warehouse(cfg, database=tmp_path / "store")  # another process: the cursor was committed
    try:
        assert again.refresh().rows == {}
        assert _counts(again) == second
    finally:
        again.close()


def test_an_unreachable_tracking_server_is_a_note_and_the_other_logs_still_read(tmp_path):
    cfg = parse_file(_config(tmp_path, experiment="support", tracking_uri="http://bob:secret@127.0.0.1:9"))
    wh = Warehouse(cfg, database=tmp_path / "store")
    try:
        stats = wh.refresh()
        assert stats.rows == {"predictions": 2}
        (note,) = [n for n in stats.notes if n.startswith("mlflow://support")]
        assert "127.0.0.1:9" in note and "secret" not in note
        assert _counts(wh)["predictions"] == {"fraud": (2, 2, None, None, 0)}
        assert wh.manifest.cursors.get("predictions|mlflow-traces|mlflow://support") in (None, {})
    finally:
        wh.close()


def test_an_experiment_that_does_not_exist_is_a_note(tracing, tmp_path):
    cfg = parse_file(_config(tmp_path, experiment="no-such-experiment", tracking_uri=tracing["uri"]))
    wh = Warehouse(cfg, database=tmp_path / "store")
    try:
        stats = wh.refresh()
        assert stats.rows == {"predictions": 2}
        assert any("no experiment 'no-such-experiment'" in n for n in stats.notes), stats.notes
    finally:
        wh.close()


def test_a_variable_in_the_options_tracking_uri_is_expanded_and_never_said(tmp_path, monkeypatch):
    """Security probe (thirty-first session), finding 11: `[logs.options] tracking_uri` with a `${VAR}` was sent as
    written (Basic auth `bob:${TRPW}`, a path `/${TRPW}/`). Expanded as every secret of the config is; the note of
    an unreachable server names neither the password nor the path's secret; an unset variable is a note."""
    monkeypatch.setenv("TRPW", "trsecret42")
    config = _config(tmp_path, experiment="support", tracking_uri="sqlite:///unused.db")
    text = config.read_text().replace('lookback = "15m"\n', 'lookback = "15m"\n'
                                      'tracking_uri = "http://bob:${TRPW}@127.0.0.1:9/${TRPW}/mlflow"\n')
    config.write_text(text)
    wh = Warehouse(parse_file(config), database=tmp_path / "store")
    try:
        (note,) = [n for n in wh.refresh().notes if n.startswith("mlflow://support")]
        assert "127.0.0.1:9" in note and "trsecret42" not in note and "${TRPW}" not in note, note
    finally:
        wh.close()
    monkeypatch.delenv("TRPW")
    wh = Warehouse(parse_file(config), database=tmp_path / "store2")
    try:
        (note,) = [n for n in wh.refresh().notes if n.startswith("mlflow://support")]
        assert "TRPW" in note and "not set" in note, note
    finally:
        wh.close()
