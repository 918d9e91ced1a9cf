"""A time option finer than a microsecond (`--from 2026-07-04T00:00:00.0000005Z`) was truncated without a word:
a row's time is kept to the microsecond (its finer digits dropped as it is read), so no bound between two
microseconds can say which rows at its microsecond are in. It is refused, naming the option (exit 2); a seventh
digit that is 0 is an exact microsecond and is read as one."""

from __future__ import annotations

import json
from datetime import datetime

from console import exit_codes
from console.cli import main

TIMES = ["2026-07-04T00:00:00Z", "2026-07-04T00:00:00.000001Z", "2026-07-04T00:00:00.000002Z", "2026-07-04T01:00:00Z"]


def _config(tmp_path):
    rows = [{"ts": t, "model": "m", "version": "1", "request_id": f"r{i}", "latency_ms": 5}
            for i, t in enumerate(TIMES)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n', encoding="utf-8")
    return config


def _health(config, *window):
    return main(["--config", str(config), "health", "m", *window, "--format", "json"])


def test_a_bound_finer_than_a_microsecond_is_refused_by_name(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = _config(tmp_path)
    for option, window in (("--from", ["--from", "2026-07-04T00:00:00.0000005Z", "--to", "2026-07-04T02:00Z"]),
                           ("--to", ["--from", "2026-07-04T00:00Z", "--to", "2026-07-04T00:00:00.0000015Z"]),
                           ("--at", ["--at", "2026-07-04T00:00:00.123456789Z"])):
        assert _health(config, *window) == exit_codes.USAGE
        out, err = capsys.readouterr()
        assert out == "" and f"{option} '" in err and "finer than a microsecond" in err, err


def test_a_seventh_digit_of_zero_is_the_microsecond_it_says(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = _config(tmp_path)
    assert _health(config, "--from", "2026-07-04T00:00:00.0000010Z", "--to", "2026-07-04T02:00Z") == exit_codes.OK
    said = json.loads(capsys.readouterr().out)
    # [from, to): the rows at .000001 (exactly at --from: in), .000002 and 01:00; not the one at 00:00:00
    assert said["from"] == "2026-07-04T00:00:00.000001Z"
    at = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in TIMES]
    assert sum(r["requests"] for r in said["table"]) == sum(t >= at[1] for t in at) == 3
