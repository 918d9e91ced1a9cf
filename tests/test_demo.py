"""The demo workspace: a real registry, a week of logs that agree with the deployment history,
and incidents that really show in the data where tour.json says they are."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from mlflow import MlflowClient

from console.config import parse_file
from console.demo import fleet as F
from console.demo.live import LiveWriter
from console.demo.workspace import build_workspace
from console.sources.readers import otlp
from console.warehouse import Warehouse

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
SEED = 7


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    calls = []
    config = build_workspace(tmp_path_factory.mktemp("demo") / "mlops-demo", seed=SEED, now=NOW,
                             progress=lambda message, fraction: calls.append((message, fraction)))
    return config, calls


@pytest.fixture(scope="module")
def ws(built) -> Path:
    return built[0].parent


@pytest.fixture(scope="module")
def tour(ws) -> dict:
    return json.loads((ws / "tour.json").read_text())


def _ts(col: str = "ts") -> pl.Expr:
    return pl.col(col).str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ", time_zone="UTC")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _jsonl(path: Path, skip: set[int] = frozenset()) -> pl.DataFrame:
    lines = path.read_bytes().split(b"\n")
    kept = b"\n".join(line for i, line in enumerate(lines, 1) if line and i not in skip)
    return pl.read_ndjson(kept, infer_schema_length=None).with_columns(t=_ts())


def _otlp(path: Path) -> pl.DataFrame:
    """The LLM's OpenTelemetry spans through the console's own OTLP reader, as the config reads them."""
    out = otlp.parse(path.read_bytes(), source=str(path), first_line=1, options={"feature_prefix": "app."})
    assert not out.rejected
    return pl.from_arrow(out.predictions).with_columns(t=pl.col("ts").dt.replace_time_zone("UTC"))


@pytest.fixture(scope="module")
def logs(ws, tour):
    bad = {m["line"] for m in tour["malformed"]}
    pred = ws / "logs" / "predictions"
    return {
        F.FRAUD: _jsonl(pred / "fraud-detector.jsonl", bad).unnest("features"),
        F.LLM: _otlp(ws / F.OTLP_LOG),
        F.ETA: pl.read_parquet(pred / "delivery-eta.parquet").with_columns(t=_ts()),
        "labels": pl.read_csv(ws / "logs" / "labels.csv", schema_overrides={"label": pl.String})
        .with_columns(lt=_ts()),
        "deployments": [json.loads(line) for line in (ws / "logs" / "deployments.jsonl").read_text().splitlines()],
    }


def _incident(tour, kind):
    return next(i for i in tour["incidents"] if i["kind"] == kind)


def _deploy_ts(logs, model, action, version, env="production") -> datetime:
    return next(_at(e["ts"]) for e in logs["deployments"]
                if (e["model"], e["action"], e["version"], e["environment"]) == (model, action, version, env))


# --------------------------------------------------------------------------- the build


def test_generator_is_deterministic_for_a_seed_and_now(tmp_path, ws):
    a, b = F.generate(SEED, NOW), F.generate(SEED, NOW)
    assert {k: len(v) for k, v in a.predictions.items()} == {k: len(v) for k, v in b.predictions.items()}
    for model in F.VERSIONS:
        assert a.predictions[model].hash_rows().sum() == b.predictions[model].hash_rows().sum()
    b.labels.write_csv(tmp_path / "labels.csv")
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(tmp_path / "labels.csv") == digest(ws / "logs" / "labels.csv")
    other = F.generate(SEED + 1, NOW)
    assert other.predictions[F.FRAUD].hash_rows().sum() != a.predictions[F.FRAUD].hash_rows().sum()


def test_progress_and_rebuild_rules(built, ws):
    config, calls = built
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(calls) >= 5
    stamp = (ws / "mlflow.db").stat().st_mtime_ns
    assert build_workspace(ws) == config
    assert (ws / "mlflow.db").stat().st_mtime_ns == stamp


def test_reset_refuses_a_folder_that_is_not_a_workspace(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        build_workspace(tmp_path, reset=True, now=NOW)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("marker", ["mlflow.db", "tour.json"])
@pytest.mark.parametrize("reset", [False, True])
def test_a_folder_holding_an_mlflow_db_is_not_taken_for_a_demo(tmp_path, marker, reset):
    """`mlflow.db` is every local MLflow registry's default name: a folder holding one (or a tour.json) with the
    operator's other files was wiped and a demo written in its place, with or without --reset (CLI probe)."""
    (tmp_path / marker).write_text("mine")
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "run1.txt").write_text("precious")
    with pytest.raises(FileExistsError):
        build_workspace(tmp_path, reset=reset, now=NOW)
    assert (tmp_path / "experiments" / "run1.txt").read_text() == "precious"
    assert (tmp_path / marker).read_text() == "mine"


def test_a_demo_cut_short_is_still_a_demo_to_rebuild(tmp_path):
    """The build marks its folder first: one interrupted before its config was written is rebuilt, not refused."""
    from console.demo.workspace import DEMO_MARK

    (tmp_path / DEMO_MARK).write_text("a demo")
    (tmp_path / "mlflow.db").write_text("half")
    config = build_workspace(tmp_path, now=NOW)
    assert config.is_file() and (tmp_path / DEMO_MARK).is_file()


def test_the_assistant_logs_opentelemetry_spans_the_store_reads_as_generated(built, ws, tmp_path):
    """The LLM's log is a vendor shape (OTLP/JSON GenAI spans, agent + chat span per request); through the
    config's `format = "otlp"` source the store holds exactly the rows the generator made, field for field."""
    cfg = parse_file(built[0])
    (source,) = [s for s in cfg.logs if s.format == "otlp"]
    assert source.path == str(ws / F.OTLP_LOG) and source.options == {"feature_prefix": "app."}
    lines = (ws / F.OTLP_LOG).read_text().splitlines()
    assert lines and all("resourceSpans" in json.loads(line) for line in lines)
    assert not list((ws / "logs" / "predictions").glob("support-assistant*"))  # no contract-shaped copy
    wh = Warehouse(cfg, database=tmp_path / "store")
    try:
        wh.refresh()
        cols = ["request_id", "variant", "ts", "version", "environment", "latency_ms", "is_error", "error",
                "input_tokens", "output_tokens", "cost_usd", "prediction", "score", "channel", "language",
                "conversation_turns", "prompt_version", "refused", "guardrail_blocked", "factuality"]
        with wh.cursor() as cur:
            got = cur.sql(f"SELECT {', '.join(cols)} FROM predictions WHERE model = ? "  # noqa: S608
                          "ORDER BY request_id, variant", params=[F.LLM]).to_arrow_table()
            assert cur.execute("SELECT count(*) FROM malformed WHERE source = ?", [source.path]).fetchone()[0] == 0
    finally:
        wh.close()
    want = (F.generate(SEED, NOW).predictions[F.LLM]
            .with_columns(ts=pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ", time_unit="us"),
                          is_error=pl.col("status") == "error")
            .select(cols).sort("request_id", "variant"))
    got = pl.from_arrow(got)
    assert got.height == want.height > 20_000
    assert got.with_columns(pl.col("ts").dt.replace_time_zone(None)).equals(want), "store rows differ"


def test_config_parses_and_points_at_real_files(built, ws):
    cfg = parse_file(built[0])
    assert cfg.tracking_uri == f"sqlite:///{ws / 'mlflow.db'}"
    assert set(cfg.models) == {F.FRAUD, F.ETA, F.LLM}
    assert cfg.environments["production"].production and "staging" in cfg.environments
    assert {s.kind for s in cfg.logs} == {"predictions", "labels", "deployments"}
    for source in cfg.logs:
        assert list(Path("/").glob(source.path.lstrip("/"))), source.path
    assert cfg.models[F.FRAUD].sensitive == ("age_band",) and cfg.models[F.LLM].prices.input_per_1m > 0
    assert cfg.audit_path == ws / "audit.jsonl"
    assert {a.metric for a in cfg.alerts} >= {"drift_share", "p95_ms", "accuracy_drop", "cost_spike"}
    for name, model in cfg.models.items():
        ref = pl.read_parquet(model.reference)
        assert 5_000 <= len(ref) <= 20_000 and set(model.features) <= set(ref.columns), name


# --------------------------------------------------------------------------- the registry


def test_registry_has_models_versions_aliases_and_lineage(built):
    uri = parse_file(built[0]).tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    names = {m.name for m in client.search_registered_models()}
    assert {F.FRAUD, F.ETA, F.LLM} <= names
    expected = {F.FRAUD: {"champion": "3", "canary": "4", "staging-champion": "4"},
                F.ETA: {"champion": "5", "blue": "4", "green": "5", "staging-champion": "5"},
                F.LLM: {"champion": "2", "shadow": "4", "staging-champion": "5"}}
    metrics = {F.FRAUD: {"auc", "f1", "precision", "recall", "accuracy"}, F.ETA: {"mae", "rmse", "mape"},
               F.LLM: {"factuality", "refusal_rate"}}
    for name, aliases in expected.items():
        versions = client.search_model_versions(f"name='{name}'")
        assert 3 <= len(versions) <= 5
        for alias, version in aliases.items():
            assert str(client.get_model_version_by_alias(name, alias).version) == version
        for mv in versions:
            run = client.get_run(mv.run_id)
            assert run.data.params and metrics[name] <= set(run.data.metrics)
            assert re.fullmatch(r"[0-9a-f]{40}", run.data.tags["mlflow.source.git.commit"])
            inputs = run.inputs.dataset_inputs
            assert inputs and inputs[0].dataset.name and inputs[0].dataset.digest
            assert {t.key: t.value for t in inputs[0].tags}["mlflow.data.context"] == "training"
    prompt = client.get_prompt_version_by_alias(F.PROMPT, "champion")
    assert int(prompt.version) == 3 and "order_history" in prompt.template


# --------------------------------------------------------------------------- the logs


def test_a_week_of_traffic_with_daily_seasonality(logs):
    frames = [logs[m] for m in F.VERSIONS]
    assert sum(len(f) for f in frames) >= 200_000
    first = min(f["t"].min() for f in frames)
    last = max(f["t"].max() for f in frames)
    assert last <= NOW and NOW - first >= timedelta(days=7)
    by_hour = logs[F.FRAUD].group_by(pl.col("t").dt.hour().alias("h")).len()
    assert by_hour["len"].max() > 3 * by_hour["len"].min()
    for m in F.VERSIONS:
        assert logs[m]["request_id"].null_count() == 0 and logs[m]["version"].dtype == pl.String


def test_malformed_lines_are_where_the_tour_says(ws, tour):
    lines = (ws / "logs" / "predictions" / "fraud-detector.jsonl").read_text().split("\n")
    found = {}
    for item in tour["malformed"]:
        raw = lines[item["line"] - 1]
        try:
            row = json.loads(raw)
            found["type" if isinstance(row.get("latency_ms"), str) else "missing" if "request_id" not in row
                  else "ok"] = item["line"]
        except ValueError:
            found["json"] = item["line"]
    assert set(found) == {"json", "type", "missing"}


def test_labels_land_late_and_only_when_due(logs):
    lab = logs["labels"]
    assert lab["lt"].max() <= NOW
    fraud = logs[F.FRAUD].join(lab, on="request_id")
    delay = (fraud["lt"] - fraud["t"]).dt.total_hours()
    assert delay.min() >= 6 and delay.max() <= 48
    assert fraud.filter(pl.col("t") > NOW - timedelta(hours=6)).is_empty()
    eta = logs[F.ETA].join(lab, on="request_id")
    minutes = (eta["lt"] - eta["t"]).dt.total_seconds() / 60
    assert ((minutes - eta["label"].cast(pl.Float64)).abs() < 0.1).all()


def test_rows_agree_with_the_deployment_log(logs):
    prod = pl.col("environment") == "production"
    fraud = logs[F.FRAUD].filter(prod)
    canary_at = _deploy_ts(logs, F.FRAUD, "deploy", "4")
    step_at = _deploy_ts(logs, F.FRAUD, "canary-step", "4")
    canary = fraud.filter(pl.col("variant") == "canary")
    assert set(canary["version"]) == {"4"} and canary["t"].min() >= canary_at
    assert set(fraud.filter(pl.col("variant") == "champion")["version"]) == {"3"}
    share = lambda df: (df["variant"] == "canary").mean()  # noqa: E731
    assert 0.07 < share(fraud.filter((pl.col("t") >= canary_at) & (pl.col("t") < step_at))) < 0.13
    assert 0.21 < share(fraud.filter(pl.col("t") >= step_at)) < 0.29

    eta = logs[F.ETA].filter(prod)
    switch = _deploy_ts(logs, F.ETA, "switch", "5")
    assert set(eta.filter(pl.col("t") < switch).select("version", "variant").unique().rows()) == {("4", "blue")}
    assert set(eta.filter(pl.col("t") >= switch).select("version", "variant").unique().rows()) == {("5", "green")}

    llm = logs[F.LLM].filter(prod)
    v3_at, back_at = _deploy_ts(logs, F.LLM, "deploy", "3"), _deploy_ts(logs, F.LLM, "rollback", "2")
    v3 = llm.filter(pl.col("version") == "3")
    assert v3["t"].min() >= v3_at and v3["t"].max() < back_at
    assert v3["refused"].mean() > 3 * llm.filter(pl.col("version") == "2")["refused"].mean()
    shadow = llm.filter(pl.col("variant") == "shadow")
    assert set(shadow["version"]) == {"4"} and shadow["t"].min() >= _deploy_ts(logs, F.LLM, "shadow-start", "4")
    assert set(shadow["request_id"]) <= set(llm.filter(pl.col("variant") == "champion")["request_id"])


# --------------------------------------------------------------------------- the incidents


def test_tour_lists_the_six_incidents(tour):
    kinds = {i["kind"] for i in tour["incidents"]}
    assert kinds == {"feature_drift", "latency_regression", "cost_spike", "accuracy_drop",
                     "segment_underperformance", "refusal_spike"}
    assert tour["now"] == "2025-06-10T12:00:00Z" and tour["seed"] == SEED
    assert set(tour["models"]) == {F.FRAUD, F.ETA, F.LLM}
    for item in tour["incidents"]:
        assert {"id", "model", "environment", "kind", "start", "end", "description"} <= set(item)


def test_latency_regression_starts_with_the_switch(logs, tour):
    inc = _incident(tour, "latency_regression")
    at = _at(inc["change"]["ts"])
    assert at == _deploy_ts(logs, F.ETA, "switch", inc["version"])
    eta = logs[F.ETA].filter(pl.col("environment") == "production")
    before = eta.filter(pl.col("t") < at)["latency_ms"].quantile(0.95)
    after = eta.filter(pl.col("t") >= at)["latency_ms"].quantile(0.95)
    assert after > 2 * before and 90 < before < 160 and 350 < after < 550


def test_cost_spike_follows_the_prompt_change(logs, tour):
    inc = _incident(tour, "cost_spike")
    at = _at(inc["change"]["ts"])
    assert inc["change"]["kind"] == "prompt_change"
    assert any("prompt v3" in e["reason"] and _at(e["ts"]) == at for e in logs["deployments"])
    llm = logs[F.LLM].filter((pl.col("environment") == "production") & (pl.col("variant") != "shadow"))
    before, after = llm.filter(pl.col("t") < at), llm.filter(pl.col("t") >= at)
    assert after["input_tokens"].mean() > 2 * before["input_tokens"].mean()
    assert after["cost_usd"].mean() > 1.8 * before["cost_usd"].mean()


def _errors(logs) -> pl.DataFrame:
    return (logs[F.FRAUD].filter(pl.col("environment") == "production")
            .join(logs["labels"], on="request_id").with_columns(wrong=pl.col("prediction") != pl.col("label")))


def test_fraud_partner_api_segment_underperforms(logs, tour):
    seg = _incident(tour, "segment_underperformance")["segment"]
    rows = _errors(logs)
    inside = rows.filter(pl.col(seg["column"]) == seg["value"])["wrong"].mean()
    outside = rows.filter(pl.col(seg["column"]) != seg["value"])["wrong"].mean()
    assert inside > 2 * outside


def test_fraud_accuracy_drops_once_labels_land(logs, tour):
    start = _at(_incident(tour, "accuracy_drop")["start"])
    rows = _errors(logs).filter(pl.col("channel") != "partner_api")
    before = rows.filter(pl.col("t") < start)["wrong"].mean()
    after = rows.filter(pl.col("t") >= start)["wrong"].mean()
    assert after > before + 0.03


def test_festival_drifts_delivery_features(logs, tour):
    inc = _incident(tour, "feature_drift")
    start, end = _at(inc["start"]), _at(inc["end"])
    assert timedelta(hours=10) <= end - start <= timedelta(hours=14)
    assert timedelta(days=2) <= NOW - start <= timedelta(days=3)
    eta = logs[F.ETA].filter(pl.col("environment") == "production")
    window = eta.filter((pl.col("t") >= start) & (pl.col("t") < end))
    rest = eta.filter((pl.col("t") < start) | (pl.col("t") >= end))
    assert window["is_festival"].min() == 1 and rest["is_festival"].max() == 0
    for feature in (inc["feature"], "distance_km"):
        assert window[feature].mean() > 1.5 * rest[feature].mean()
    # traffic x2-3 against the same hours one day earlier
    day_before = eta.filter((pl.col("t") >= start - timedelta(days=1)) & (pl.col("t") < end - timedelta(days=1)))
    assert 2 <= len(window) / len(day_before) <= 3.2


# --------------------------------------------------------------------------- the live writer


def test_serving_follows_the_events_the_console_appends():
    start = F.Serving(champion="3")
    canary = start.apply({"action": "deploy", "strategy": "canary", "version": "4", "traffic_pct": 10})
    assert (canary.champion, canary.canary, canary.canary_pct) == ("3", "4", 10)
    stepped = canary.apply({"action": "canary-step", "strategy": "canary", "version": "4", "traffic_pct": 50})
    assert stepped.canary_pct == 50
    promoted = stepped.apply({"action": "promote", "strategy": "canary", "version": "4", "traffic_pct": 100})
    assert (promoted.champion, promoted.canary) == ("4", None)
    assert stepped.apply({"action": "abort", "strategy": "canary", "version": "4"}).canary is None
    back = stepped.apply({"action": "rollback", "strategy": "direct", "version": "2", "traffic_pct": 100})
    assert (back.champion, back.canary, back.canary_pct) == ("2", None, None)  # a rollback ends the canary
    green = start.apply({"action": "switch", "strategy": "blue-green", "version": "4", "traffic_pct": 100})
    assert (green.champion, green.champion_variant, dict(green.colors)) == ("4", "green", {"blue": "3", "green": "4"})
    blue = green.apply({"action": "switch", "strategy": "blue-green", "version": "3", "traffic_pct": 100})
    assert (blue.champion, blue.champion_variant) == ("3", "blue")
    shadow = start.apply({"action": "shadow-start", "strategy": "shadow", "version": "5", "traffic_pct": 0})
    assert shadow.shadow == "5" and shadow.apply({"action": "shadow-stop", "version": "5"}).shadow is None


def test_live_writer_follows_the_deployment_log(ws, tmp_path):
    for name in ("mlops-console.toml", "tour.json"):
        shutil.copy(ws / name, tmp_path / name)
    (tmp_path / "logs" / "predictions").mkdir(parents=True)
    shutil.copy(ws / "logs" / "deployments.jsonl", tmp_path / "logs" / "deployments.jsonl")
    live_path = tmp_path / "logs" / "predictions" / "live.jsonl"
    writer = LiveWriter(tmp_path / "mlops-console.toml", rate_per_s=20.0, seed=3)
    now = NOW + timedelta(minutes=1)

    def batch(minutes_later: int) -> pl.DataFrame:
        before = live_path.stat().st_size if live_path.exists() else 0
        assert writer.write_batch(60.0, now + timedelta(minutes=minutes_later)) > 0
        data = live_path.read_bytes()
        assert data.endswith(b"\n")
        return pl.read_ndjson(data[before:], infer_schema_length=None)

    def fraud_share(df):
        fraud = df.filter((pl.col("model") == F.FRAUD) & (pl.col("environment") == "production"))
        return (fraud["variant"] == "canary").mean(), set(fraud.filter(pl.col("variant") == "canary")["version"])

    first = batch(0)
    share, versions = fraud_share(first)
    assert 0.12 < share < 0.40 and versions == {"4"}
    assert set(first.filter(pl.col("model") == F.ETA)["version"]) == {"5"}

    deployments = tmp_path / "logs" / "deployments.jsonl"
    step = {"ts": "2025-06-10T12:01:30Z", "model": F.FRAUD, "version": "4", "environment": "production",
            "strategy": "canary", "traffic_pct": 50, "action": "canary-step", "actor": "test", "reason": "step"}
    switch_back = json.dumps({"ts": "2025-06-10T12:01:40Z", "model": F.ETA, "version": "4",
                              "environment": "production", "strategy": "blue-green", "traffic_pct": 100,
                              "action": "switch", "actor": "test", "reason": "latency"})
    with open(deployments, "a") as fh:
        fh.write(json.dumps(step) + "\n" + switch_back[:30])  # the second event is still being written
    later = pl.concat([batch(i) for i in (1, 2, 3)], how="diagonal_relaxed")
    share, _ = fraud_share(later)
    assert 0.42 < share < 0.58
    assert set(later.filter(pl.col("model") == F.ETA)["version"]) == {"5"}

    with open(deployments, "a") as fh:
        fh.write(switch_back[30:] + "\n")
    after = batch(4)
    eta = after.filter((pl.col("model") == F.ETA) & (pl.col("environment") == "production"))
    assert set(eta.select("version", "variant").unique().rows()) == {("4", "blue")}
    assert eta["latency_ms"].quantile(0.95) < 200

    writer.write_batch(1.0, now + timedelta(minutes=10))
    labels = pl.read_csv(tmp_path / "logs" / "labels.csv", schema_overrides={"label": pl.String})
    live_ids = set(pl.read_ndjson(live_path, infer_schema_length=None)["request_id"])
    assert len(labels) > 100 and set(labels["request_id"]) <= live_ids


def test_live_writer_appends_the_assistant_as_spans_the_store_reads_once(ws, tmp_path):
    for name in ("mlops-console.toml", "tour.json"):
        shutil.copy(ws / name, tmp_path / name)
    (tmp_path / "logs" / "predictions").mkdir(parents=True)
    shutil.copy(ws / "logs" / "deployments.jsonl", tmp_path / "logs" / "deployments.jsonl")
    cfg = parse_file(tmp_path / "mlops-console.toml")
    spans, live = tmp_path / F.OTLP_LOG, tmp_path / "logs" / "predictions" / "live.jsonl"
    writer = LiveWriter(tmp_path / "mlops-console.toml", rate_per_s=20.0, seed=5)
    assert writer.otlp_path == spans
    wh = Warehouse(cfg, database=tmp_path / "store")
    try:
        for minute in (1, 2, 3):
            writer.write_batch(60.0, NOW + timedelta(minutes=minute))
            wh.refresh()
            written = _otlp(spans)
            assert set(written["model"]) == {F.LLM} and written.height > 100
            assert written["prompt_name"].unique().to_list() == [F.PROMPT]
            with wh.cursor() as cur:
                stored = cur.sql("SELECT count(*), sum(input_tokens), count(DISTINCT request_id || variant) "
                                 "FROM predictions WHERE model = ?", params=[F.LLM]).fetchall()[0]
            assert stored == (written.height, written["input_tokens"].sum(), written.height)  # each once
    finally:
        wh.close()
    assert F.LLM not in set(pl.read_ndjson(live, infer_schema_length=None)["model"])


def test_live_writer_thread_starts_and_stops(ws, tmp_path):
    for name in ("mlops-console.toml", "tour.json"):
        shutil.copy(ws / name, tmp_path / name)
    (tmp_path / "logs" / "predictions").mkdir(parents=True)
    shutil.copy(ws / "logs" / "deployments.jsonl", tmp_path / "logs" / "deployments.jsonl")
    live_path = tmp_path / "logs" / "predictions" / "live.jsonl"
    writer = LiveWriter(tmp_path / "mlops-console.toml", rate_per_s=200.0)
    writer.start()
    try:
        deadline = time.monotonic() + 30
        while not live_path.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        writer.stop()
    assert writer._thread is None
    assert live_path.stat().st_size > 0 and live_path.read_bytes().endswith(b"\n")
    assert all(json.loads(line)["request_id"] for line in live_path.read_text().splitlines())
