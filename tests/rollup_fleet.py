"""A small generated fleet as Hive-partitioned Parquet, for the rollup tests (and its oracles)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

START = datetime(2026, 7, 1)
MODELS = {"fraud": "classification", "eta": "regression"}
NUMERIC = ["amount", "age", "speed"]
CATEGORICAL = ["country", "channel"]


def fleet(hours: int = 6, per_hour: int = 400, seed: int = 11) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(predictions, labels): two models, two versions, a drift in `amount` after half the hours."""
    rng = np.random.default_rng(seed)
    frames, labels = [], []
    for m_i, (model, task) in enumerate(MODELS.items()):
        n = hours * per_hour
        ts = START + pl.Series(np.sort(rng.integers(0, hours * 3600 * 10**6, n))).cast(pl.Duration("us"))
        late = np.arange(n) >= n // 2
        amount = np.where(late, rng.lognormal(3.3, 0.9, n), rng.lognormal(3.0, 0.8, n))
        score = np.round(rng.beta(2, 5, n), 4)
        truth = rng.random(n) < score
        pred_num = rng.normal(20, 5, n)
        df = pl.DataFrame({
            "ts": ts, "model": model, "version": rng.choice(["1", "2"], n),
            "request_id": [f"{model}-{i}" for i in range(n)],
            "environment": "production", "variant": rng.choice(["a", "b"], n, p=[0.8, 0.2]),
            "prediction": np.where(score >= 0.5, "1", "0") if task == "classification" else pred_num.astype(str),
            "prediction_num": pred_num if task == "regression" else None,
            "score": score, "latency_ms": np.round(rng.lognormal(3, 0.5, n), 1),
            "status": rng.choice(["ok", "ok", "ok", "timeout", "500"], n, p=[.9, .05, .02, .02, .01]),
            "input_tokens": rng.integers(10, 100, n), "cost_usd": rng.random(n) / 100,
            "amount": amount, "age": rng.integers(18, 90, n).astype(np.int64),
            "speed": rng.normal(50, 10, n),
            "country": rng.choice(["US", "DE", "FR", "BR"], n),
            "channel": np.where(late & (rng.random(n) < 0.3), "api", rng.choice(["web", "app"], n)),
        })
        df = df.with_columns(pl.col("prediction_num").cast(pl.Float64))
        frames.append(df)
        labelled = rng.random(n) < 0.7
        lab = pl.DataFrame({
            "request_id": df["request_id"].filter(pl.Series(labelled)),
            "label": (np.where(truth, "1", "0") if task == "classification"
                      else (pred_num + rng.normal(0, 2, n)).astype(str))[labelled],
            "ts": (df["ts"] + timedelta(minutes=30)).filter(pl.Series(labelled)),
        })
        labels.append(lab)
    return pl.concat(frames), pl.concat(labels)


def write_hive(preds: pl.DataFrame, root: Path) -> Path:
    """logs/date=YYYY-MM-DD/hour=HH/part-0.parquet"""
    out = root / "logs"
    for (day, hour), part in preds.with_columns(pl.col("ts").dt.strftime("%Y-%m-%d").alias("_d"),
                                                pl.col("ts").dt.strftime("%H").alias("_h")).partition_by(
            "_d", "_h", as_dict=True).items():
        d = out / f"date={day}" / f"hour={hour}"
        d.mkdir(parents=True, exist_ok=True)
        part.drop("_d", "_h").write_parquet(d / "part-0.parquet")
    return out
