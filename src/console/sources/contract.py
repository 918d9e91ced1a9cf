"""The log contract every reader maps onto, and what a reader hands to the store.

Readers (one per format, `sources/readers/`) only map fields; the store's `queries/conform_*.sql`
types and validates them with one set of rules for every format, so a field that is missing, of
the wrong type or not finite is rejected the same way whatever the format it came in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

# What the store keeps for each prediction, after conforming. Readers may hand any subset (missing ones
# are NULL, and the conform step fills defaults), with the raw `status` (HTTP code or word) instead of
# `is_error` where they have one. Every other column is a feature or segment, kept with its own type.
PREDICTION = {
    "ts": pa.timestamp("us"), "model": pa.string(), "version": pa.string(), "request_id": pa.string(),
    "environment": pa.string(), "variant": pa.string(), "prediction": pa.string(),
    "prediction_num": pa.float64(), "score": pa.float64(), "latency_ms": pa.float64(), "is_error": pa.bool_(),
    "error": pa.string(), "input_tokens": pa.int64(), "output_tokens": pa.int64(), "cost_usd": pa.float64(),
}
# Fields a reader may give that the conform step turns into the columns above.
PREDICTION_RAW_ONLY = ("status",)
LABEL = {"request_id": pa.string(), "label": pa.string(), "label_num": pa.float64(), "ts": pa.timestamp("us")}
DEPLOYMENT = {
    "ts": pa.timestamp("us"), "model": pa.string(), "version": pa.string(), "environment": pa.string(),
    "strategy": pa.string(), "traffic_pct": pa.float64(), "action": pa.string(), "actor": pa.string(),
    "reason": pa.string(),
}
# Provenance, on every row a reader returns: the file (or URI) and the line or row number in it.
PROVENANCE = {"source": pa.string(), "loc": pa.int64()}
CONTRACT = {"predictions": PREDICTION, "labels": LABEL, "deployments": DEPLOYMENT}


@dataclass(frozen=True)
class Rejected:
    loc: int  # line (text formats) or row (tabular formats), 1-based; 0 for the whole file
    reason: str
    raw: str = ""  # the record as text, cut to a few hundred characters


@dataclass
class Parsed:
    """What a reader returns for one chunk of one source: rows by kind, and what it could not map.

    `carry` is small JSON-able state the reader wants back with the next chunk of the same file
    (an event waiting for its pair); the store commits it with the cursor, in the same transaction.
    """

    predictions: pa.Table | None = None
    labels: pa.Table | None = None
    deployments: pa.Table | None = None
    rejected: list[Rejected] = field(default_factory=list)
    carry: object = None
    notes: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pa.Table]:
        return {k: t for k, t in (("predictions", self.predictions), ("labels", self.labels),
                                  ("deployments", self.deployments)) if t is not None and t.num_rows}
