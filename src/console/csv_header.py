"""How a CSV file's header says its delimiter, in plain Python.

One reading for the tailer, the store's parser and the rollup (`sources.csv_records` re-exports it) and for the
configuration's and the drift engine's reading of a reference CSV, which sit below and beside the sources.
"""

from __future__ import annotations

DELIMITERS = ",\t;|"  # a comma first: it wins a tie, and a header of one field is read with it


def delimiter_of(header: str | None) -> str:
    """The delimiter a CSV log's fields are split by, read from its header: of a comma, a tab (a `.tsv` log), a
    semicolon (a spreadsheet's CSV where the comma is the decimal mark) and a bar, the one that splits the header
    into the most fields. One reading for the tailer, the store's parser and the rollup, which all take the
    header line."""
    import csv

    if not header:
        return ","
    return max(DELIMITERS, key=lambda d: (len(next(csv.reader([header], delimiter=d), [])), -DELIMITERS.index(d)))


def fields_of(header: str) -> list[str]:
    """The header's field names, split by its delimiter (`delimiter_of`)."""
    import csv

    return next(csv.reader([header], delimiter=delimiter_of(header)), [])
