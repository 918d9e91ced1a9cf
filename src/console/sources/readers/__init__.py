"""One reader per log format, by the name `[[logs]] format = "..."` gives.

Each module exposes FORMAT, LINE_BASED, LABEL_KEY and `parse(body, *, source, first_line, options, carry)`
returning a `contract.Parsed`; tabular ones also `parse_table(table, *, source, first_row, options)`.
One whose pairs may span a source's files sets `SOURCE_CARRY` and has `parse(..., age=False)`, `settle(carry, *,
options, final)` and `merged(carries)`: the store keeps one carry per source and ages it once all files are read.
See docs/FORMATS.md for how each format's fields map onto the contract and how its labels join.
"""

from __future__ import annotations

import importlib
from types import ModuleType

MODULES = ("sagemaker_capture", "sagemaker_ground_truth", "databricks_inference", "otlp", "mlflow_traces",
           "openai_batch", "kserve_cloudevents")

READERS: dict[str, ModuleType] = {}
for _name in MODULES:
    _module = importlib.import_module(f"{__name__}.{_name}")
    READERS[_module.FORMAT] = _module
