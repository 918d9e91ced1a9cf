"""The names and types of the log contract's fields, in plain Python.

Kept below every layer so that the configuration can check a `[logs.fields]` table against the contract
(`config`) with the same names the readers and the store use (`sources.contract` re-exports them).
"""

from __future__ import annotations

# What the store keeps for each prediction, after conforming. Readers may hand any subset (missing ones
# are NULL, and the conform step fills defaults), with the raw `status` (HTTP code or word) instead of
# `is_error` where they have one. Every other column is a feature or segment, kept with its own type.
# Types are written as Arrow's names for them: PREDICTION, LABEL, DEPLOYMENT, PROVENANCE and CONTRACT (the same
# as Arrow types) are made on first use, so that opening the store and the TUI's first look, which need only
# the names, do not import PyArrow (and NumPy with it: 0.2 s of a first frame).
FIELDS = {
    "predictions": {
        "ts": "timestamp[us]", "model": "string", "version": "string", "request_id": "string",
        "environment": "string", "variant": "string", "prediction": "string",
        "prediction_num": "double", "score": "double", "latency_ms": "double", "is_error": "bool",
        "error": "string", "input_tokens": "int64", "output_tokens": "int64", "cost_usd": "double",
    },
    "labels": {"request_id": "string", "label": "string", "label_num": "double", "ts": "timestamp[us]"},
    "deployments": {
        "ts": "timestamp[us]", "model": "string", "version": "string", "environment": "string",
        "strategy": "string", "traffic_pct": "double", "action": "string", "actor": "string",
        "reason": "string",
    },
}
# Fields a reader may give that the conform step turns into the columns above: the raw status (into
# `is_error`), and the latency in seconds (`latency_ms` is taken from it, times 1000, where a row has no
# `latency_ms`: a service timing itself with `time.perf_counter()` logs seconds).
PREDICTION_RAW_ONLY = ("status", "latency_s")
# An `error` field written as a flag, not a message (a Parquet `error: bool`, a CSV 0/1 column), lowered and trimmed:
# these say no error, ERROR_FLAGS say an error with no message. Any other text is the error's message.
# `queries/conform_predictions.sql` spells the same lists.
NO_ERROR_FLAGS = ("", "false", "0", "0.0", "no", "none", "null", "f", "n")
ERROR_FLAGS = ("true", "1", "1.0", "yes", "t", "y")
# Provenance, on every row a reader returns: the file (or URI) and the line or row number in it.
PROVENANCE_FIELDS = {"source": "string", "loc": "int64"}


def mappable(kind: str) -> tuple[str, ...]:
    """The fields of `kind` a log may give under a name of its own (`[logs.fields]`); for predictions also the
    object holding the features (`features`, one column per member)."""
    return (*FIELDS[kind], *((*PREDICTION_RAW_ONLY, "features") if kind == "predictions" else ()))
