"""The log contract every reader maps onto, and what a reader hands to the store.

Readers (one per format, `sources/readers/`) only map fields; the store's `queries/conform_*.sql`
types and validates them with one set of rules for every format, so a field that is missing, of
the wrong type or not finite is rejected the same way whatever the format it came in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

# The CSV cells read as missing: an empty one and the other spellings pyarrow reads as null by default, but not
# NaN's ("NaN", "nan", "-nan", "-NaN"), which pyarrow also reads as null: a non-finite number is a malformed
# value in every format, counted with its reason, as JSONL's NaN and CSV's inf are (issue 8).
CSV_NULLS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN", "N/A", "NA", "NULL", "n/a",
             "null")

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
# Fields a reader may give that the conform step turns into the columns above.
PREDICTION_RAW_ONLY = ("status",)
# Provenance, on every row a reader returns: the file (or URI) and the line or row number in it.
PROVENANCE_FIELDS = {"source": "string", "loc": "int64"}
_ARROW = {"PREDICTION": "predictions", "LABEL": "labels", "DEPLOYMENT": "deployments"}


def __getattr__(name: str):
    """PREDICTION, LABEL, DEPLOYMENT, PROVENANCE, CONTRACT: the fields above as Arrow types, made once."""
    if name not in (*_ARROW, "PROVENANCE", "CONTRACT"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import pyarrow as pa

    def arrow(fields: dict[str, str]) -> dict:
        return {n: pa.type_for_alias(t) for n, t in fields.items()}

    made = {k: arrow(FIELDS[kind]) for k, kind in _ARROW.items()}
    made["PROVENANCE"] = arrow(PROVENANCE_FIELDS)
    made["CONTRACT"] = {kind: made[k] for k, kind in _ARROW.items()}
    globals().update(made)
    return made[name]


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
