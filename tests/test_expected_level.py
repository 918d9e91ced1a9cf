"""The expected quality level the accuracy rule compares against follows the champion: after a rollback the
new champion's registry metric is used (once the minute it is kept has passed), and a registry that failed
once is asked again later instead of leaving the quality rules without a level for the whole session."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from console.config import parse_file
from console.service import Service
from demo_copy import demo_at
from fixed_time import DEMO_NOW

MODEL = "fraud-detector"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    config = demo_at(tmp_path_factory.mktemp("expected") / "ws")
    svc = Service(parse_file(config), clock=lambda: DEMO_NOW)
    uri = f"sqlite:///{config.parent / 'mlflow.db'}"
    yield svc, MlflowClient(tracking_uri=uri, registry_uri=uri)
    svc.close()


def run_accuracy(client: MlflowClient, version: str) -> float:
    run = client.get_run(client.get_model_version(MODEL, version).run_id)
    return float(run.data.metrics["accuracy"])


def test_the_expected_level_follows_the_champion(demo):
    svc, client = demo
    champion = client.get_model_version_by_alias(MODEL, "champion").version
    assert svc.monitor.expected(MODEL) == {"accuracy": run_accuracy(client, champion)}
    other = next(v.version for v in client.search_model_versions(f"name='{MODEL}'")
                 if v.version != champion and run_accuracy(client, v.version) != run_accuracy(client, champion))
    client.set_registered_model_alias(MODEL, "champion", other)
    try:
        assert svc.monitor.expected(MODEL) == {"accuracy": run_accuracy(client, champion)}  # kept a while
        svc.monitor.EXPECTED_TTL_S = 0.0  # the minute has passed
        svc.monitor._expected.clear()
        assert svc.monitor.expected(MODEL) == {"accuracy": run_accuracy(client, other)}
    finally:
        client.set_registered_model_alias(MODEL, "champion", champion)


def test_a_failed_registry_read_is_retried(demo):
    svc, client = demo
    mon = svc.monitor
    mon._expected.clear()
    real = mon.expected_levels

    def down(model):
        raise ConnectionError("registry unreachable")

    mon.expected_levels = down
    try:
        assert mon.expected(MODEL) == {}
    finally:
        mon.expected_levels = real
    assert mon.expected(MODEL) == {}  # not asked again at once: one failure costs one timeout per retry period
    mon.EXPECTED_RETRY_S = 0.0
    mon._expected.clear()
    champion = client.get_model_version_by_alias(MODEL, "champion").version
    assert mon.expected(MODEL) == {"accuracy": run_accuracy(client, champion)}
