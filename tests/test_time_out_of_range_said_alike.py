"""A time out of the range a view may take is said in one wording by every read command, whichever option and form
carried it. A probe found three: `--window 9999-12` said "year 10000 is out of range" (datetime's own words, no
range), `--from 9999-12-01` "'9999-12-01' is out of range: a view ends between 1970 and 8999", `--window 9999-W52`
"out of range: a view ends between...", and `--window 10000-01` "expected a window such as 5m" (a month, read as a
malformed duration)."""

from __future__ import annotations

from datetime import datetime

import pytest

from console.analytics.windows import resolve_view
from console.cli import main

COMMANDS = [("snapshot",), ("check",), ("health", "m"), ("quality", "m"), ("cost", "m"), ("drift", "m"),
            ("fairness", "m")]
OPTIONS = [("--window", "9999-12"), ("--from", "9999-12-01"), ("--window", "9999-W52"), ("--window", "9999-12-31"),
           ("--window", "10000-01"), ("--at", "10000-01-01"), ("--since", "9999-12-01"), ("--window", "1969-12"),
           ("--at", "0001-01-01T00:00Z")]


@pytest.fixture
def config(tmp_path):
    (tmp_path / "p.jsonl").write_text('{"ts": "2026-11-30T10:00:00Z", "model": "m", "version": "1", '
                                      '"request_id": "a", "latency_ms": 5}\n', encoding="utf-8")
    path = tmp_path / "c.toml"
    path.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n', encoding="utf-8")
    return path


def test_every_read_command_says_a_time_out_of_range_the_same_way(config, capsys):
    reasons = set()
    for command in COMMANDS:
        for option, value in OPTIONS:
            assert main(["--config", str(config), *command, option, value]) == 2, (command, option, value)
            err = capsys.readouterr().err
            [line] = err.strip().splitlines()
            prefix = f"mlops-console: {option} {value!r}: "
            assert line.startswith(prefix), (command, line)
            reasons.add(line.removeprefix(prefix))
    [reason] = reasons  # one wording for all of them
    assert "out of range" in reason and "1970" in reason and "8999" in reason, reason


def test_to_may_be_the_first_instant_after_the_last_month():
    """`--from T --to U` is the calendar period it spans (README): `--window 8999-12` was accepted and its own
    range `--from 8999-12-01 --to 9000-01-01` refused, its end being out of range although the view stops before it."""
    now = datetime(2026, 12, 6)
    month = resolve_view(now=now, latest=None, window="8999-12")
    span = resolve_view(now=now, latest=None, start="8999-12-01", end="9000-01-01")
    assert (span.end, span.span) == (month.end, month.span) == (datetime(8999, 12, 31, 23, 59, 59, 999999),
                                                                 datetime(9000, 1, 1) - datetime(8999, 12, 1))
