"""Records per second for each format reader, parsing one large chunk of good records built from the fixtures.

Not a test: prints figures. `PYTHONPATH=src python3 benchmarks/bench_readers.py [--records 50000]`.
CPU seconds are this process's own, so a busy machine inflates wall time more than them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from console.sources.readers import READERS

FIX = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "formats"
SOURCES = {  # format: (fixture, good line numbers, options, source name)
    "sagemaker-capture": ("sagemaker/capture/fraud-ep/AllTraffic/2026/11/30/10/capture-0001.jsonl", [1, 2, 4, 5, 6],
                          {"features": ["amount", "age", "country"], "threshold": 0.5}, "x/ep/AllTraffic/2026/11/30/10/f"),
    "databricks-inference": ("databricks/payload.jsonl", [1, 2, 3, 4, 5, 6], {"threshold": 0.5}, "payload"),
    "otlp": ("otlp/traces.jsonl", [1, 2, 3, 4], {"feature_prefix": "app."}, "traces"),
    "openai-batch": ("openai/batch_output.jsonl", [1, 2, 3, 4, 5], {"input_per_1m": 1, "output_per_1m": 2}, "out"),
    "mlflow-traces": ("mlflow/traces_export.jsonl", [1, 2], {}, "export"),
}


def _body(fixture: str, good: list[int], n: int) -> bytes:
    lines = (FIX / fixture).read_bytes().splitlines()
    picked = [lines[i - 1] for i in good]
    return b"\n".join(picked[i % len(picked)] for i in range(n)) + b"\n"


def _kserve(n: int) -> bytes:
    out = []
    for i in range(n // 2):
        t = f"2026-11-30T10:{(i // 60) % 60:02d}:{i % 60:02d}"
        common = {"specversion": "1.0", "id": f"k-{i}", "source": "s", "inferenceservicename": "iris", "endpoint": "default"}
        out.append(json.dumps({**common, "type": "org.kubeflow.serving.inference.request", "time": t + ".000Z",
                               "data": {"instances": [[5.1, 3.5, 1.4, 0.2]]}}))
        out.append(json.dumps({**common, "type": "org.kubeflow.serving.inference.response", "time": t + ".020Z",
                               "data": {"predictions": [0]}}))
    return ("\n".join(out) + "\n").encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=50_000)
    n = ap.parse_args().records
    print(f"{'format':22} {'records':>8} {'predictions':>12} {'wall s':>7} {'cpu s':>7} {'records/cpu-s':>14}")
    cases = {f: (_body(fx, good, n), opts, src) for f, (fx, good, opts, src) in SOURCES.items()}
    cases["kserve-cloudevents"] = (_kserve(n), {"pair_timeout_s": 10**9}, "events")
    for fmt, (body, opts, src) in cases.items():  # warm-up: first-use imports (pyarrow loads pandas) are not timed
        READERS[fmt].parse(body[:body.index(b"\n") + 1], source=src, first_line=1, options=opts)
    for fmt, (body, opts, src) in cases.items():
        t0, c0 = time.perf_counter(), time.process_time()
        out = READERS[fmt].parse(body, source=src, first_line=1, options=opts)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        preds = out.predictions.num_rows if out.predictions is not None else 0
        print(f"{fmt:22} {n:8d} {preds:12d} {dt:7.2f} {cpu:7.2f} {n / cpu:14.0f}")


if __name__ == "__main__":
    main()
