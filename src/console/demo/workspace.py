"""`mlops-console demo`: a self-contained workspace that looks like a real fleet with real trouble.

The config file is written last, so a build that died half way is not mistaken for a finished one.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Callable

from console.demo import fleet as F
from console.demo.registry_seed import seed_registry

CONFIG_NAME = "mlops-console.toml"
DEMO_MARK = ".mlops-console-demo"  # written first by a build; with the demo's own config, what `_clear` removes

CONFIG = """\
# The demo workspace written by `mlops-console demo`; see tour.json for the planted incidents.
[workspace]
name = "mlops-demo"

[registry]
tracking_uri = "sqlite:///mlflow.db"

[console]
refresh_seconds = 2

[[logs]]
kind = "predictions"
path = "logs/predictions/*.jsonl"
format = "jsonl"

[[logs]]
kind = "predictions"
path = "logs/predictions/delivery-eta.parquet"
format = "parquet"

# The support assistant logs OpenTelemetry GenAI spans (an OTel Collector's file exporter: one OTLP/JSON
# TracesData per line). Model, version and environment come from the resource; tokens, latency and status
# from the model-call spans; the app's own fields (channel, language, prompt_version...) from `app.*`.
[[logs]]
kind = "predictions"
path = "{otlp_log}"
format = "otlp"

[logs.options]
feature_prefix = "app."

[[logs]]
kind = "labels"
path = "logs/labels.csv"
format = "csv"

[[logs]]
kind = "deployments"
path = "logs/deployments.jsonl"
format = "jsonl"

[environments.production]
production = true

[environments.staging]

[models.fraud-detector]
task = "classification"
reference = "reference/fraud-detector.parquet"
features = {fraud_features}
segments = ["channel", "age_band"]
sensitive = ["age_band"]
positive_label = "1"
budget_usd_month = 1500

[models.fraud-detector.prices]
replica_hour_usd = 0.42
replicas = 4

[models.fraud-detector.slo]
p95_ms = 60
error_rate = 0.005

# Hour of day drifts in any window shorter than a day: seasonal, not a sign of trouble.
[models.fraud-detector.drift.hour]
ignore = true

[models.delivery-eta]
task = "regression"
reference = "reference/delivery-eta.parquet"
features = {eta_features}
segments = ["zone", "weather"]
budget_usd_month = 1200

[models.delivery-eta.prices]
replica_hour_usd = 0.38
replicas = 3

[models.delivery-eta.slo]
p95_ms = 250
error_rate = 0.01

[models.delivery-eta.drift.hour]
ignore = true

[models.support-assistant]
task = "llm"
reference = "reference/support-assistant.parquet"
features = {llm_features}
segments = ["channel", "language", "prompt_version"]
# v2 with its 100 % shadow (v4) costs ~$34 a day (~$1,000 a month); prompt v3 doubles that: over budget.
budget_usd_month = 1500

[models.support-assistant.prices]
input_per_1m = {price_in}
output_per_1m = {price_out}

[models.support-assistant.slo]
p95_ms = 4500
error_rate = 0.02

[thresholds]
drift_share = 0.5

[rollout]
canary_steps = [10, 25, 50, 100]

[audit]
path = "audit.jsonl"

[[alerts]]
name = "feature drift"
metric = "drift_share"
op = ">"
threshold = 0.3
window = "6h"
severity = "warning"

[[alerts]]
name = "delivery latency"
metric = "p95_ms"
op = ">"
threshold = 250
model = "delivery-eta"
window = "1h"
severity = "critical"

[[alerts]]
name = "error budget burn"
metric = "burn_rate"
op = ">"
threshold = 6
window = "1h"
severity = "critical"

[[alerts]]
name = "errors"
metric = "error_rate"
op = ">"
threshold = 0.02
window = "1h"
severity = "warning"

[[alerts]]
name = "fraud accuracy"
metric = "accuracy_drop"
op = ">"
threshold = 0.03
model = "fraud-detector"
window = "24h"
severity = "critical"

[[alerts]]
name = "eta accuracy"
metric = "mae_increase"
op = ">"
threshold = 0.5
model = "delivery-eta"
window = "6h"
severity = "warning"

[[alerts]]
name = "llm cost spike"
metric = "cost_spike"
op = ">"
threshold = 1.5
model = "support-assistant"
window = "24h"
severity = "warning"

[[alerts]]
name = "llm budget"
metric = "cost_budget_share"
op = ">"
threshold = 1.0
model = "support-assistant"
window = "30d"
severity = "warning"

[[alerts]]
name = "llm refusals"
metric = "refusal_rate"
op = ">"
threshold = 0.08
model = "support-assistant"
window = "1h"
severity = "warning"
"""


def config_text() -> str:
    def toml_list(items):
        return "[" + ", ".join(f'"{x}"' for x in items) + "]"
    return CONFIG.format(fraud_features=toml_list(F.FEATURES[F.FRAUD]), eta_features=toml_list(F.FEATURES[F.ETA]),
                         llm_features=toml_list(F.FEATURES[F.LLM]), otlp_log=F.OTLP_LOG, price_in=F.LLM_PRICES[0],
                         price_out=F.LLM_PRICES[1])


def build_workspace(directory: Path, *, reset: bool = False, seed: int = 7, now: datetime | None = None,
                    progress: Callable[[str, float], None] | None = None) -> Path:
    """Builds (once; again with reset) the demo workspace; returns the path of its mlops-console.toml."""
    directory = Path(directory).expanduser().resolve()
    config = directory / CONFIG_NAME
    if config.is_file() and not reset:
        return config
    report = progress or (lambda message, fraction: None)
    if directory.is_dir() and not _is_demo(directory) and any(directory.iterdir()):
        raise FileExistsError(f"{directory} is not empty and not a demo workspace; choose another folder")
    if config.is_file():  # a rebuilt demo writes new logs under the same names: its old store must go too
        from console.config import parse_file
        from console.warehouse import store_path

        try:
            old = store_path(parse_file(config))
        except Exception:  # noqa: BLE001 - an unreadable old config has no store worth keeping
            old = None
        if old is not None and (old / "manifest.json").exists():
            shutil.rmtree(old, ignore_errors=True)
    _clear(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / DEMO_MARK).write_text("a demo workspace: `mlops-console demo --reset` may remove this folder\n",
                                       encoding="utf-8")  # first: a build cut short is still known as the demo's
    report("generating a week of traffic", 0.02)
    fleet = F.generate(seed=seed, now=now)
    report(f"writing {fleet.rows:,} predictions and {len(fleet.labels):,} labels", 0.25)
    F.write(fleet, directory)
    seed_registry(directory, fleet, lambda m, f: report(m, 0.45 + 0.5 * f))
    config.write_text(config_text(), encoding="utf-8")
    report("workspace ready", 1.0)
    return config


def _is_demo(directory: Path) -> bool:
    """Whether the folder is a demo workspace: its mark, or the config a demo writes (a build before the mark).
    An `mlflow.db` or a `tour.json` is no proof: `mlflow.db` is every local MLflow registry's default name, and a
    folder holding one was wiped, the operator's other files with it."""
    if (directory / DEMO_MARK).is_file():
        return True
    try:
        with open(directory / CONFIG_NAME, encoding="utf-8") as fh:
            return fh.readline() == CONFIG.splitlines(keepends=True)[0]
    except (OSError, UnicodeDecodeError):
        return False


def _clear(directory: Path) -> None:
    """Removes a previous build; refuses to wipe a folder that is not a demo workspace."""
    if not directory.exists():
        return
    if not directory.is_dir():
        raise FileExistsError(f"{directory} exists and is not a folder")
    if _is_demo(directory):
        shutil.rmtree(directory)
    elif any(directory.iterdir()):
        raise FileExistsError(f"{directory} is not empty and not a demo workspace; choose another folder")
