"""A real MLflow registry for the demo fleet: training runs, registered versions, aliases, a prompt.

Runs are created with `MlflowClient` and batched writes because the SQLite store pays a commit
per call; the fluent API would start and end runs and multiply that cost.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl

from console.demo import fleet as F

PROMPTS = [
    ("You are a support assistant for Parcelly. Answer the customer's question: {{question}}",
     "v1: first prompt"),
    ("You are Parcelly's support assistant. Be concise, cite the help-centre article you used, and refuse "
     "requests about other customers' accounts.\nCustomer ({{language}}): {{question}}",
     "v2: citations and refusal policy"),
    ("You are Parcelly's support assistant. Be concise, cite the help-centre article you used, and refuse "
     "requests about other customers' accounts.\nOrder history:\n{{order_history}}\n"
     "Customer ({{language}}): {{question}}",
     "v3: adds the customer's order history as context"),
]

TRAINING = {
    F.FRAUD: {
        "params": {"algorithm": ["logistic_regression", "xgboost", "lightgbm", "lightgbm"],
                   "n_estimators": ["-", "300", "600", "800"], "max_depth": ["-", "6", "8", "8"],
                   "learning_rate": ["-", "0.1", "0.05", "0.04"], "threshold": ["0.5"] * 4,
                   "feature_set": ["base", "base", "base+velocity", "base+velocity+device"]},
        "metrics": {"auc": [.902, .921, .937, .944], "f1": [.61, .66, .71, .73], "precision": [.66, .7, .75, .77],
                    "recall": [.57, .63, .68, .7], "accuracy": [.936, .941, .946, .949]},
        "target": "is_fraud",
    },
    F.ETA: {
        "params": {"algorithm": ["linear", "random_forest", "lightgbm", "lightgbm", "lightgbm"],
                   "n_estimators": ["-", "200", "500", "700", "700"], "loss": ["l2", "l2", "l1", "l1", "huber"],
                   "routing_graph": ["2023-10", "2024-02", "2024-02", "2024-06", "2024-09"]},
        "metrics": {"mae": [6.9, 5.4, 4.6, 4.1, 3.9], "rmse": [9.1, 7.2, 6.1, 5.5, 5.2],
                    "mape": [.27, .21, .18, .16, .15]},
        "target": "actual_minutes",
    },
    F.LLM: {
        "params": {"base_model": ["llama-3.1-8b-instruct", "llama-3.1-8b-instruct-ft", "llama-3.1-8b-instruct-ft",
                                  "distil-support-3b", "llama-3.1-8b-instruct-tools"],
                   "temperature": ["0.3", "0.2", "0.2", "0.2", "0.1"], "max_tokens": ["512"] * 5,
                   "prompt_version": ["1", "2", "2", "2", "3"], "retrieval_k": ["3", "5", "8", "5", "5"]},
        "metrics": {"factuality": [.82, .88, .83, .91, .9], "refusal_rate": [.05, .035, .13, .02, .03],
                    "intent_accuracy": [.86, .9, .9, .89, .92]},
        "target": "intent",
    },
}
DESCRIPTIONS = {
    F.FRAUD: "Card-not-present fraud scoring; positive label 1 = fraud.",
    F.ETA: "Minutes from order to doorstep for the courier app.",
    F.LLM: "Customer support assistant (intent + answer), served with support-assistant-prompt.",
}


@contextlib.contextmanager
def quiet():
    """MLflow logs Alembic migrations and warnings on every new store: keep the progress bar clean."""
    names = ["mlflow", "alembic", "sqlalchemy"]
    old = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            for n, level in old.items():
                logging.getLogger(n).setLevel(level)


def tracking_uri(directory: Path) -> str:
    return f"sqlite:///{(directory / 'mlflow.db').resolve()}"


def _sha(*parts) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def first_deploys(events: list[dict]) -> dict[tuple[str, str], datetime]:
    out = {}
    for e in events:
        key = (e["model"], e["version"])
        out.setdefault(key, datetime.fromisoformat(e["ts"].replace("Z", "+00:00")))
    return out


def seed_registry(directory: Path, fleet: F.Fleet,
                  progress: Callable[[str, float], None] | None = None) -> str:
    """Creates mlflow.db and mlruns/ under `directory`; returns the tracking URI."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    report = progress or (lambda message, fraction: None)
    uri = tracking_uri(directory)
    artifacts = (directory / "mlruns").resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([fleet.seed, 2])
    deployed = first_deploys(fleet.deployments)
    final = F.final_serving(fleet.deployments)
    with quiet():
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        report("creating the MLflow registry", 0.0)
        total = sum(F.VERSIONS.values())
        done = 0
        for model, spec in TRAINING.items():
            exp_id = client.create_experiment(model, artifact_location=artifacts.joinpath(model).as_uri(),
                                              tags={"team": _team(model)})
            client.create_registered_model(model, tags={"task": _task(model), "team": _team(model)},
                                           description=DESCRIPTIONS[model])
            ref = fleet.references[model]
            for i in range(F.VERSIONS[model]):
                version = str(i + 1)
                when = deployed.get((model, version), fleet.now - timedelta(days=1)) - timedelta(days=2, hours=3)
                commit = _sha(model, version, fleet.seed)
                run = client.create_run(exp_id, start_time=_ms(when), run_name=f"{model}-train-v{version}",
                                        tags={"mlflow.source.git.commit": commit,
                                              "mlflow.source.name": f"train/{model.replace('-', '_')}.py",
                                              "mlflow.source.type": "JOB", "mlflow.user": "ci-bot"})
                run_id = run.info.run_id
                params = [Param(k, v[i]) for k, v in spec["params"].items()]
                metrics = [Metric(k, float(v[i]), _ms(when) + 600_000, 0) for k, v in spec["metrics"].items()]
                client.log_batch(run_id, metrics=metrics, params=params,
                                 tags=[RunTag("version", version)])
                client.log_inputs(run_id, [_dataset_input(ref, model, version, when, spec["target"], rng)])
                client.log_text(run_id, f"{model} v{version}\ncommit {commit}\n", "model/MLmodel")
                client.set_terminated(run_id, "FINISHED", end_time=_ms(when) + 1_800_000)
                client.create_model_version(
                    model, source=f"{artifacts.joinpath(model).as_uri()}/{run_id}/artifacts/model", run_id=run_id,
                    tags={"git_commit": commit[:12], "validation": "passed"},
                    description=f"trained {when:%Y-%m-%d} from commit {commit[:7]}")
                done += 1
                report(f"registered {model} v{version}", 0.9 * done / total)
            for env in F.ENVIRONMENTS:
                for alias, version in final.get((model, env), F.Serving()).aliases(env).items():
                    client.set_registered_model_alias(model, alias, version)
        _register_prompt(uri, client)
        report("registry ready", 1.0)
    return uri


def _dataset_input(ref: pl.DataFrame, model: str, version: str, when: datetime, target: str, rng):
    """What `mlflow.log_input(from_pandas(...), context="training")` logs, without an active run."""
    import mlflow.data
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    sample = ref.sample(400, seed=int(version)).to_pandas()
    if target == "is_fraud":
        sample[target] = (rng.random(len(sample)) < .05).astype(int)
    elif target == "actual_minutes":
        sample[target] = np.round(9 + 2.4 * sample["distance_km"] + rng.normal(0, 4, len(sample)), 1)
    else:
        sample[target] = rng.choice(F.INTENTS, len(sample))
    ds = mlflow.data.from_pandas(sample, name=f"{model}-train-{when:%Y%m%d}", targets=target,
                                 source=f"s3://parcelly-ml/datasets/{model}/{when:%Y-%m-%d}/train.parquet")
    return DatasetInput(dataset=ds._to_mlflow_entity(), tags=[InputTag(key=MLFLOW_DATASET_CONTEXT, value="training")])


def _register_prompt(uri: str, client) -> None:
    """MLflow 3 prompt with three versions; falls back to a tagged registered model."""
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_env = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    saved = (tracking_utils._tracking_uri, registry_utils._registry_uri)
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        for template, message in PROMPTS:
            mlflow.genai.register_prompt(name=F.PROMPT, template=template, commit_message=message,
                                         tags={"model": F.LLM})
        mlflow.genai.set_prompt_alias(F.PROMPT, alias="champion", version=len(PROMPTS))
    except Exception:  # a store without prompt support: keep the demo working
        client.create_registered_model(F.PROMPT, tags={"mlflow.prompt.is_prompt": "true"})
    finally:  # the global URIs belong to the caller
        mlflow.set_tracking_uri(saved[0])
        registry_utils._registry_uri = saved[1]
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _task(model: str) -> str:
    return {F.FRAUD: "classification", F.ETA: "regression", F.LLM: "llm"}[model]


def _team(model: str) -> str:
    return {F.FRAUD: "risk-ml", F.ETA: "logistics-ml", F.LLM: "support-ai"}[model]
