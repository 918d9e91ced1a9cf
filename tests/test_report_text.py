"""The text reports' numbers read as numbers: a day's window in seconds, a month's dollars (qa: `quality` printed
`window=8.64e+04`), with small ratios kept to four significant digits."""

from console.cli_monitor import render_text


def test_large_numbers_are_not_in_exponent_notation():
    text = render_text({"now": {"window": 86400.0, "usd": 12345.678, "accuracy": 0.852143, "n": 13559}})
    line = next(t for t in text.splitlines() if t.startswith("now:"))
    fields = dict(f.split("=") for f in line.removeprefix("now:").strip().split(", "))
    assert fields == {"window": "86400", "usd": "12345.68", "accuracy": "0.8521", "n": "13559"}, line


def test_a_half_open_windows_from_is_the_instant_given():
    """`--from 10:00:00.5Z --to 11:00Z` is [10:00:00.5, 11:00), held as (10:00:00.499999, 10:59:59.999999]: its
    "from" is the instant asked for (qa7: it said 10:00:00.499999); a span ending at `--at` is from the first instant
    after its exclusive start (it printed that start, as `--from` it would have been, and counted a row there)."""
    from datetime import datetime, timedelta

    from console.analytics.windows import window_fields

    us = timedelta(microseconds=1)
    start, end = datetime(2026, 12, 1, 10, 0, 0, 500000), datetime(2026, 12, 1, 11)
    w = window_fields(end - us, end - start)
    assert (w["from"], w["to"]) == ("2026-12-01T10:00:00.500000Z", "2026-12-01T10:59:59.999999Z")
    w = window_fields(datetime(2026, 12, 1, 11, 0, 0, 250000), timedelta(hours=1))  # a live span from now
    assert w["from"] == "2026-12-01T10:00:00.250001Z"


def test_a_record_of_records_is_printed_not_dropped():
    """fairness' `gaps` (one record per sensitive column, each with its groups' table) printed `gaps: ` and
    nothing (thirty-first session's TUI probe); the JSON and the Fairness screen had the numbers."""
    gaps = {"age_band": {"column": "age_band", "groups": [{"group": "18-25", "n": 10, "true_positive_rate": 0.75},
                                                          {"group": "60+", "n": 7, "true_positive_rate": 0.8}],
                         "tpr_difference": 0.05, "selection_rate_ratio": 0.9351}}
    lines = render_text({"model": "m", "gaps": gaps}).splitlines()
    assert lines[:4] == ["model: m", "gaps:", "  age_band:", "    column: age_band"]
    assert "    tpr_difference: 0.05" in lines and "    selection_rate_ratio: 0.9351" in lines
    table = lines[lines.index("    groups:") + 1:lines.index("    groups:") + 4]
    assert [row.split() for row in table] == [["GROUP", "N", "TRUE_POSITIVE_RATE"], ["18-25", "10", "0.75"],
                                              ["60+", "7", "0.8"]]
