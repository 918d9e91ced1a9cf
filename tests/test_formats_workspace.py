"""A workspace with one source per vendor format: `snapshot --format json` lists every model with its traffic
(hand-counted from the fixtures), and `quality` has labels joined where the format carries them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
FIX = Path(__file__).parent / "fixtures" / "formats"

# (format, fixture, options, kind): the fixture's models and their prediction counts are counted by hand below
SOURCES = [
    ("sagemaker-capture", "sagemaker/capture", {"features": ["amount", "age", "country"], "threshold": 0.5,
                                                "model": "fraud-ep"}, "predictions"),
    ("sagemaker-ground-truth", "sagemaker/groundtruth", {}, "labels"),
    ("otlp", "otlp/traces.jsonl", {"feature_prefix": "app."}, "predictions"),
    ("openai-batch", "openai/batch_output.jsonl", {"batch_time": "2026-11-30T07:59:00Z", "model": "router"},
     "predictions"),
    ("kserve-cloudevents", "kserve/events.jsonl", {}, "predictions"),
]


def toml_value(v) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(v)


def test_snapshot_over_one_model_per_format(tmp_path):
    parts = []
    for fmt, fixture, options, kind in SOURCES:
        src = FIX / fixture
        dest = tmp_path / "logs" / fmt
        if src.is_dir():
            shutil.copytree(src, dest)
            pattern = str(dest / "**" / "*.jsonl")
        else:
            dest.mkdir(parents=True)
            shutil.copy(src, dest / src.name)
            pattern = str(dest / src.name)
        opts = "".join(f"{k} = {toml_value(v)}\n" for k, v in options.items())
        parts.append(f'[[logs]]\nkind = "{kind}"\npath = "{pattern}"\nformat = "{fmt}"\n'
                     + (f"[logs.options]\n{opts}" if opts else ""))
    (tmp_path / "mlops-console.toml").write_text("\n".join(parts))
    env = {**os.environ, "PYTHONPATH": SRC, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "console", "--config", str(tmp_path / "mlops-console.toml"),
                           "snapshot", "--format", "json", "--at", "2026-11-30T12:00Z", "--window", "7d"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    seen = {m["name"] for m in data["models"]}
    # one model (at least) from each prediction format, each with traffic in the window
    from console.sources.readers import READERS

    for fmt, fixture, options, kind in SOURCES:
        if kind != "predictions":
            continue
        path = FIX / fixture
        files = sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
        names = set()
        for f in files:
            out = READERS[fmt].parse(f.read_bytes(), source=str(f), first_line=1, options=options)
            if out.predictions is not None:
                names |= set(out.predictions.column("model").to_pylist())
        assert names and names <= seen, (fmt, names, seen)
    # hand counts of the fixtures (tests/test_readers_conform.py lists them per file): 7 captured requests,
    # 6 model-call spans, 5 batch lines, 6 paired CloudEvents; labels: 5 ground truth, 3 span evaluations,
    # 1 Seldon feedback
    assert data["counts"]["predictions"] == 7 + 6 + 5 + 6
    assert data["counts"]["labels"] == 5 + 3 + 1
    assert sum(m["requests"] for m in data["models"]) == 7 + 6 + 5 + 6
