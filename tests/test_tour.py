"""Every incident planted in the demo (tour.json) is found: right model, feature or segment, onset within
one window of the planted time, and the change before it listed as a suspect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from console.config import parse_file
from demo_copy import demo_at
from console.service import Service

SRC = str(Path(__file__).resolve().parents[1] / "src")
WINDOW = {"feature_drift": timedelta(hours=3), "latency_regression": timedelta(hours=1),
          "cost_spike": timedelta(hours=1), "accuracy_drop": timedelta(hours=6)}
KIND = {"feature_drift": {"drift_share", "feature_drift"}, "latency_regression": {"p95_ms", "burn_rate"},
        "cost_spike": {"cost_spike", "cost_budget_share"}, "accuracy_drop": {"accuracy_drop"},
        "segment_underperformance": {"segment"}}


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    config = demo_at(tmp_path_factory.mktemp("tour") / "ws")
    tour = json.loads((config.parent / "tour.json").read_text())
    now = ts(tour["now"])
    svc = Service(parse_file(config), clock=lambda: now)
    svc.refresh()
    return config, tour, svc.findings(max_age_s=0)


def planted():
    return ["feature_drift", "latency_regression", "cost_spike", "accuracy_drop", "segment_underperformance"]


@pytest.mark.parametrize("kind", planted())
def test_each_planted_incident_is_found(demo, kind):
    _, tour, findings = demo
    incidents = [i for i in tour["incidents"] if i["kind"] == kind]
    assert incidents, f"the tour plants no {kind}"
    for inc in incidents:
        mine = [f for f in findings if f.model == inc["model"] and f.kind in KIND[kind]]
        assert mine, f"no finding for {inc['id']}"
        if kind == "segment_underperformance":
            assert any(f.segment == {"column": inc["segment"]["column"], "value": str(inc["segment"]["value"])}
                       for f in mine)
            continue
        start = ts(inc["start"])
        near = [f for f in mine if abs(f.onset - start) <= WINDOW[kind]]
        assert near, f"{inc['id']}: onsets {[str(f.onset) for f in mine]} not within {WINDOW[kind]} of {start}"
        if kind == "feature_drift":
            wanted = set(inc.get("features") or [inc["feature"]])
            assert any(wanted & set(f.first_drifted) for f in near), [f.first_drifted for f in near]
        change = inc.get("change")
        if change:
            suspects = [s for f in near for s in f.suspects]
            want = "prompt" if change["kind"] == "prompt_change" else None
            assert any((want is None or s.kind == want) and s.ts <= start + WINDOW[kind] for s in suspects), suspects
            if change["kind"] == "deployment":
                assert any(f"v{change['version']}" in s.detail for s in suspects)


# The signals each planted incident may raise: its own, and the consequences the tour describes (the
# festival's MAE as its delivery times land, the prompt's input-token drift and budget forecast).
SIGNALS = {"feature_drift": {"drift_share", "feature_drift", "mae_increase"},
           "latency_regression": {"p95_ms", "burn_rate", "error_rate"},
           "cost_spike": {"cost_spike", "cost_budget_share", "drift_share", "feature_drift"},
           "accuracy_drop": {"accuracy_drop"}, "segment_underperformance": {"segment"},
           "refusal_spike": {"refusal_rate"}}
SLACK = timedelta(hours=6)  # an evaluation window may end this long after the planted change


def _explains(inc: dict, f, now: datetime) -> bool:
    if f.model != inc["model"] or f.kind not in SIGNALS[inc["kind"]]:
        return False
    if inc.get("segment") and f.kind == "segment":
        return f.segment == {"column": inc["segment"]["column"], "value": str(inc["segment"]["value"])}
    if f.kind in DRIFT_KINDS and inc["kind"] == "cost_spike" and not set(f.first_drifted) & set(inc["features"]):
        return False
    start, end = ts(inc["start"]), ts(inc["end"]) if inc["end"] else now
    return start - SLACK <= f.onset <= end + SLACK and (f.end is None or f.end >= start)


DRIFT_KINDS = {"drift_share", "feature_drift"}


def test_the_demo_raises_exactly_the_planted_incidents(demo):
    """No incident where nothing was planted, and every planted one found: each finding (a rule's state
    other than "insufficient data") is explained by one planted incident, and each planted incident explains
    at least one finding."""
    _, tour, findings = demo
    now = ts(tour["now"])
    incidents = [f for f in findings if f.state != "insufficient data"]
    unexplained = [(f.model, f.kind, str(f.onset), f.segment, f.first_drifted[:2]) for f in incidents
                   if not any(_explains(i, f, now) for i in tour["incidents"])]
    assert unexplained == []
    found = {i["id"] for i in tour["incidents"] if any(_explains(i, f, now) for f in incidents)}
    assert found == {i["id"] for i in tour["incidents"]}


def test_check_exits_1_on_the_demo(demo):
    config, tour, _ = demo
    proc = subprocess.run([sys.executable, "-m", "console", "--config", str(config), "check", "--format", "json",
                           "--at", tour["now"]],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC})
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["firing"] >= 1 and all(i["firing"] for i in data["incidents"])


def test_snapshot_json_lists_the_fleet(demo):
    config, tour, _ = demo
    proc = subprocess.run([sys.executable, "-m", "console", "--config", str(config), "snapshot", "--format", "json",
                           "--at", "latest"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["registry"]["status"] == "ok"
    assert data["malformed"] == len(tour.get("malformed", [])) > 0
    prod = {m["name"]: m for m in data["models"] if m["environment"] == "production"}
    assert set(prod) >= {"fraud-detector", "delivery-eta", "support-assistant"}
    for name, m in prod.items():
        assert m["champion"] == tour["models"][name]["aliases"]["champion"]
        assert m["requests"] > 0
        for key in ("name", "environment", "champion", "aliases", "requests", "p95_latency_ms", "error_rate", "cost_usd"):
            assert key in m


def test_drift_command_prints_the_table(demo):
    config, _, _ = demo
    proc = subprocess.run([sys.executable, "-m", "console", "--config", str(config), "drift", "delivery-eta",
                           "--window", "7d", "--format", "json", "--at", "latest"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {f["column"] for f in data["features"]} >= {"demand_index", "distance_km"}
    assert all("direction" in f and "threshold" in f for f in data["features"])


def test_registry_alone_without_a_config_file(demo, tmp_path):
    config, tour, _ = demo
    env = {**os.environ, "PYTHONPATH": SRC, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    env.pop("MLOPS_CONSOLE_CONFIG", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    uri = f"sqlite:///{config.parent / 'mlflow.db'}"
    proc = subprocess.run([sys.executable, "-m", "console", "--registry", uri, "snapshot", "--format", "json"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["logs_configured"] is False and data["registry"]["status"] == "ok"
    champions = {m["name"]: m["champion"] for m in data["models"] if m["environment"] == "production"}
    assert champions == {n: i["aliases"]["champion"] for n, i in tour["models"].items()}
    env["MLFLOW_TRACKING_URI"] = uri  # as MLflow's own tools honour it
    proc = subprocess.run([sys.executable, "-m", "console", "snapshot"], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 0 and "no logs are configured" in proc.stdout


def test_prediction_and_label_drift_against_the_baseline_window(demo):
    config, tour, _ = demo
    svc = Service(parse_file(config), clock=lambda: ts(tour["now"]))
    svc.refresh()
    report = svc.drift("fraud-detector", "24h").to_dict()
    assert report["prediction"]["column"] == "prediction_num" and report["prediction"]["n_cur"] > 0
    assert report["label"]["n_cur"] > 0 and report["label"]["test"]
    # without the trend, the window in hand and the baseline days alone are read: the same two verdicts
    narrow = svc.drift("fraud-detector", "24h", series=False).to_dict()
    assert (narrow["prediction"], narrow["label"]) == (report["prediction"], report["label"])
    status = svc.monitor.overview_status("fraud-detector")[0]
    svc.monitor.narrow_after = 1  # a large window: its features and targets alone, not the shared wide read
    svc.monitor._frames.clear()
    assert svc.monitor.overview_status("fraud-detector")[0] == status != "no data"
    svc.monitor._frames.clear()
    projected = svc.drift("fraud-detector", "24h", series=False).to_dict()
    assert {k: projected[k] for k in ("dataset", "features", "prediction", "label")} == \
        {k: narrow[k] for k in ("dataset", "features", "prediction", "label")}
    assert not svc.monitor._frames  # not kept for other screens


@pytest.mark.parametrize("chunk_rows", [1_000_000, 700])
def test_a_large_history_is_read_without_the_week_of_features_and_finds_the_same(demo, monkeypatch, chunk_rows):
    """Past `narrow_after` rows a model's rules read the history without its drift features, and the drift
    rules stream those alone (in time-ordered chunks when the history is long): the same incidents, onsets,
    evidence and suspects as one wide read."""
    import console.incident_rules as incident_rules

    config, tour, wide = demo
    now = ts(tour["now"])
    monkeypatch.setattr(incident_rules, "FOLD_CHUNK_ROWS", chunk_rows)
    svc = Service(parse_file(config), clock=lambda: now)
    svc.monitor.narrow_after = 0  # every model's history counts as large
    cut = incident_rules._chunks(svc.monitor.incident_rules._rule_rows("fraud-detector", svc.monitor.history_start(now), now)[0]["ts"],
                             svc.monitor.history_start(now), now, chunk_rows)
    assert (len(cut) > 5) == (chunk_rows < 1000)
    narrow = svc.findings(max_age_s=0)
    mon = svc.monitor
    rows, was_narrow = mon.incident_rules._rule_rows("fraud-detector", mon.history_start(now), now)
    only_drift = set(mon.drift_features("fraud-detector")) - set(mon.model_config("fraud-detector").segments)
    assert was_narrow and only_drift and not only_drift & set(rows.columns)
    assert len(narrow) == len(wide) >= 6
    assert [f.to_dict() for f in narrow] == [f.to_dict() for f in wide]


def _plain(value):
    """A screen's result as comparable data: frames as rows, results as dicts, floats to 10 digits."""
    import polars as pl

    if isinstance(value, pl.DataFrame):
        return value.sort(value.columns).to_dicts() if value.height else value.columns
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "joined"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "to_dict"):
        return _plain(value.to_dict())
    return float(f"{value:.10g}") if isinstance(value, float) else value  # sums in another order differ in the last bits


def test_health_quality_fairness_and_cost_read_narrow_past_the_limit_and_say_the_same(demo):
    config, tour, _ = demo
    now = ts(tour["now"])
    wide, narrow = (Service(parse_file(config), clock=lambda: now) for _ in range(2))
    narrow.monitor.narrow_after = 0
    for model in wide.monitor.models():
        for name, call in (("health 30d", lambda s: s.health(model, "30d")), ("health", lambda s: s.health(model)),
                           ("quality", lambda s: s.quality(model)), ("fairness", lambda s: s.fairness(model)),
                           ("cost", lambda s: s.cost(model))):
            assert _plain(call(narrow)) == _plain(call(wide)), (model, name)
    assert not narrow.monitor._frames  # none of them read (or kept) a frame with the drift-only features
