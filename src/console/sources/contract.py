"""The log contract every reader maps onto, and what a reader hands to the store.

Readers (one per format, `sources/readers/`) only map fields; the store's `queries/conform_*.sql`
types and validates them with one set of rules for every format, so a field that is missing, of
the wrong type or not finite is rejected the same way whatever the format it came in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from console.contract_fields import FIELDS, PREDICTION_RAW_ONLY, PROVENANCE_FIELDS  # noqa: F401 - re-exported

if TYPE_CHECKING:
    import pyarrow as pa

# The CSV cells read as missing: an empty one and the other spellings pyarrow reads as null by default, but not
# NaN's ("NaN", "nan", "-nan", "-NaN"), which pyarrow also reads as null: a non-finite number is a malformed
# value in every format, counted with its reason, as JSONL's NaN and CSV's inf are (issue 8).
CSV_NULLS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN", "N/A", "NA", "NULL", "n/a",
             "null")

# Columns a label reader adds when one record labels a whole event, whose prediction rows only the store can count
# (a SageMaker ground-truth record for a multi-row capture): the event's id, how many labels the record holds, the
# record's text. The store checks the count against the event's predictions, then drops them (`label_events`).
EVENT_ID, EVENT_ROWS, EVENT_RAW = "_event_id", "_event_rows", "_event_raw"

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
    (an event waiting for its pair); the store commits it with the cursor, in the same transaction. A reader
    with `SOURCE_CARRY` gets it back with the next chunk of any file of the source (see `readers`).
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
