"""What a headless report says when it has nothing to show: `drift` over a window with no rows says "no data" (its
text said "dataset drift: no" while its JSON said "no data"), and `fairness` for a model with no segment or sensitive
column configured says so (text and JSON were empty tables with no reason; the Fairness screen explained it)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import polars as pl

from console.cli import main

AT = datetime(2026, 11, 30, 12, 0)


def _workspace(tmp_path) -> str:
    with (tmp_path / "p.jsonl").open("w") as f:
        for i in range(600):
            ts = AT - timedelta(hours=10) + timedelta(minutes=i)
            f.write(json.dumps({"ts": f"{ts:%Y-%m-%dT%H:%M:%SZ}", "model": "m", "version": "1", "request_id": f"r{i}",
                                "latency_ms": 10, "x": i % 17}) + "\n")
    pl.DataFrame({"x": [float(i % 13) for i in range(400)]}).write_parquet(tmp_path / "ref.parquet")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "store"}"\n[[logs]]\nkind = "predictions"\n'
                   f'path = "{tmp_path / "p.jsonl"}"\n[models.m]\ntask = "regression"\n'
                   f'reference = "{tmp_path / "ref.parquet"}"\nfeatures = ["x"]\n', encoding="utf-8")
    return str(cfg)


def test_drift_over_an_empty_window_says_no_data(tmp_path, capsys):
    cfg = _workspace(tmp_path)
    assert main(["--config", cfg, "--at", "2026-11-01T00:00Z", "drift", "m"]) == 2
    line = next(t for t in capsys.readouterr().out.splitlines() if "dataset drift:" in t)
    assert "dataset drift: no data" in line, line


def test_fairness_with_nothing_configured_says_why(tmp_path, capsys):
    cfg = _workspace(tmp_path)
    assert main(["--config", cfg, "--at", AT.isoformat(), "fairness", "m", "--format", "json"]) == 0
    assert "no segment or sensitive columns configured" in json.loads(capsys.readouterr().out)["note"]
    assert main(["--config", cfg, "--at", AT.isoformat(), "fairness", "m"]) == 0
    assert "no segment or sensitive columns configured" in capsys.readouterr().out
    # segments but no sensitive column: the segments show, and the empty gaps say why
    text = open(cfg).read().replace('features = ["x"]', 'features = ["x"]\nsegments = ["x"]')
    open(cfg, "w").write(text)
    assert main(["--config", cfg, "--at", AT.isoformat(), "fairness", "m", "--format", "json"]) == 0
    assert "no sensitive columns configured" in json.loads(capsys.readouterr().out)["note"]


def test_quality_names_its_window_as_the_command_does(tmp_path, capsys):
    """`quality --window 31d`: the summary's window is "31d", as the command's own `window`; it was 2678400.0
    seconds (text: window=2678400)."""
    cfg = _workspace(tmp_path)
    assert main(["--config", cfg, "--at", AT.isoformat(), "quality", "m", "--window", "31d", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["window"] == out["now"]["window"] == "31d", (out["window"], out["now"]["window"])


def test_wide_characters_keep_the_text_tables_columns(tmp_path, capsys):
    """An emoji or CJK model name takes two cells a character: the snapshot's columns stayed aligned only for names
    of one-cell characters (ENV started 3 cells late on the row of `🤖-robot-模型`)."""
    from rich.cells import cell_len

    with (tmp_path / "p.jsonl").open("w") as f:
        for i, name in enumerate(["m", "🤖-robot-模型", "plain-name"] * 20):
            ts = AT - timedelta(minutes=i)
            f.write(json.dumps({"ts": f"{ts:%Y-%m-%dT%H:%M:%SZ}", "model": name, "version": "1",
                                "request_id": f"r{i}", "latency_ms": 10}) + "\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "store"}"\n[[logs]]\nkind = "predictions"\n'
                   f'path = "{tmp_path / "p.jsonl"}"\n', encoding="utf-8")
    assert main(["--config", str(cfg), "--at", AT.isoformat(), "snapshot"]) == 0
    lines = [t for t in capsys.readouterr().out.splitlines() if "production" in t or t.startswith("MODEL")]
    assert len(lines) == 4, lines
    starts = {cell_len(t[:t.index("production" if "production" in t else "ENV")]) for t in lines}
    assert len(starts) == 1, lines
    main(["--config", str(cfg), "--at", AT.isoformat(), "check", "--all"])  # its incident lines too
    lines = [t for t in capsys.readouterr().out.splitlines() if "default: SLO burn" in t]
    assert len(lines) == 3 and len({cell_len(t[:t.index("default: SLO burn")]) for t in lines}) == 1, lines
