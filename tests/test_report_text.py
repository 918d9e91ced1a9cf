"""The text reports' numbers read as numbers: a day's window in seconds, a month's dollars (qa: `quality` printed
`window=8.64e+04`), with small ratios kept to four significant digits."""

from console.cli_monitor import render_text


def test_large_numbers_are_not_in_exponent_notation():
    text = render_text({"now": {"window": 86400.0, "usd": 12345.678, "accuracy": 0.852143, "n": 13559}})
    line = next(t for t in text.splitlines() if t.startswith("now:"))
    fields = dict(f.split("=") for f in line.removeprefix("now:").strip().split(", "))
    assert fields == {"window": "86400", "usd": "12345.7", "accuracy": "0.8521", "n": "13559"}, line
