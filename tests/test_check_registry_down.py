"""`check` with the registry down does not give an all clear on the quality rules it could not evaluate: the
expected accuracy lives on the champion's registry run, so the model is named as not evaluated (stderr, JSON
`could_not_evaluate`, exit 2), its rule's note says the registry did not answer instead of advising to log a
metric that is logged.

Found by the twenty-fifth session's CLI probe (finding 4): the demo's firing accuracy incident became
"insufficient data: no expected accuracy: log it on the registry run ...", and `check` exited 0 when it was the
only one firing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from demo_copy import demo_at
from fixed_time import DEMO_NOW

SRC = str(Path(__file__).resolve().parents[1] / "src")
AT = DEMO_NOW.isoformat() + "Z"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_at(tmp_path_factory.mktemp("regdown") / "ws")


def _check(config: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "console", "--config", str(config), *extra, "check", "--format",
                           "json", "--all", "--at", AT], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": SRC})


def test_a_quality_rule_the_registry_holds_the_level_of_is_not_an_all_clear(demo):
    up = _check(demo)
    assert up.returncode == 1, up.stderr
    got = json.loads(up.stdout)
    accuracy = [i for i in got["incidents"] if i["kind"] == "accuracy_drop" and i["firing"]]
    assert accuracy and got["could_not_evaluate"] == []
    model = accuracy[0]["model"]

    down = _check(demo, "--registry", "http://127.0.0.1:1")  # nothing listens there
    assert down.returncode == 2, (down.returncode, down.stderr)
    data = json.loads(down.stdout)
    assert model in data["could_not_evaluate"]
    rule = next(i for i in data["incidents"] if i["model"] == model and i["kind"] == "accuracy_drop")
    assert rule["state"] == "insufficient data" and "the registry did not answer" in rule["detail"]
    assert "log it on the registry run" not in rule["detail"]
    assert f"check could not evaluate {model}" in down.stderr and "registry did not answer" in down.stderr
