"""Every reader's output goes through the store's own conform queries: what the store keeps, what it refuses.

Rows a reader maps must type cleanly under `queries/conform_*.sql`; the only refusals left are the fields a
format does not carry (a time, a version), which the store or the config must supply.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from console.sources.readers import READERS
from console.sql import load_query

FIX = Path(__file__).parent / "fixtures" / "formats"
CASES = [  # (format, fixture, options, predictions kept, labels kept, conform refusals)
    ("sagemaker-capture", "sagemaker/capture/fraud-ep/AllTraffic/2026/11/30/10/capture-0001.jsonl",
     {"features": ["amount", "age", "country"], "threshold": 0.5}, 7, 0, []),
    # 5 labels and line 7's two for ev-0006 (a one-row capture: the store's event check sets that record aside)
    ("sagemaker-ground-truth", "sagemaker/groundtruth/fraud-ep/2026/11/30/12/labels-0001.jsonl", {}, 0, 7, []),
    ("databricks-inference", "databricks/payload.jsonl", {"threshold": 0.5}, 10, 0, []),
    ("databricks-inference", "databricks/gateway.jsonl", {}, 3, 0, []),
    ("databricks-inference", "databricks/labels.jsonl", {}, 0, 3, []),
    ("otlp", "otlp/traces.jsonl", {"feature_prefix": "app."}, 6, 3, []),
    # the HTTP 400 line names no model and its file two: the reader sets it aside asking for options.model
    ("openai-batch", "openai/batch_output.jsonl", {}, 4, 0, []),
    ("openai-batch", "openai/batch_output.jsonl", {"batch_time": "2026-11-30T07:59:00Z", "model": "router"}, 5, 0, []),
    ("openai-batch", "openai/batch_errors.jsonl", {"batch_time": "2026-11-30T07:59:00Z", "model": "router"}, 1, 0, []),
    ("openai-batch", "openai/labels.jsonl", {}, 0, 1, ["missing ts", "missing ts"]),  # the team's file has no time
    ("kserve-cloudevents", "kserve/events.jsonl", {}, 6, 1, []),  # k-4 pairs within the whole file
    ("kserve-cloudevents", "kserve/blob_records.jsonl", {}, 0, 0, ["missing ts"]),  # the blob logger records no time
    ("mlflow-traces", "mlflow/traces_export.jsonl", {"model_versions": {"m-7f3a": "4"}}, 1, 2, ["missing version"]),
]


def _conform(kind: str, table) -> tuple[int, list[str]]:
    con = duckdb.connect()
    con.execute(load_query("skeletons"))
    con.execute(load_query("log_instant"))  # how the conform queries read ts
    con.register("chunk", table)
    sql = load_query(f"conform_{kind}")
    out = con.sql(sql, params={"max_ts": datetime(2030, 1, 1)} if "$max_ts" in sql else {}).fetchall()
    cols = [d[0] for d in con.sql(sql, params={"max_ts": datetime(2030, 1, 1)} if "$max_ts" in sql else {}).description]
    reasons = [row[cols.index("_reject")] for row in out]
    return sum(r is None for r in reasons), sorted(r for r in reasons if r is not None)


@pytest.mark.parametrize(("fmt", "fixture", "options", "n_pred", "n_label", "refused"), CASES,
                         ids=[f"{c[0]}:{Path(c[1]).name}:{i}" for i, c in enumerate(CASES)])
def test_store_conform_keeps_what_the_reader_mapped(fmt, fixture, options, n_pred, n_label, refused):
    path = FIX / fixture
    out = READERS[fmt].parse(path.read_bytes(), source=str(path), first_line=1, options=options)
    kept_p, refused_p = _conform("predictions", out.predictions) if out.predictions is not None else (0, [])
    kept_l, refused_l = _conform("labels", out.labels) if out.labels is not None else (0, [])
    assert (kept_p, kept_l, sorted(refused_p + refused_l)) == (n_pred, n_label, refused)
