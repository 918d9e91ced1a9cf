"""The rollup command run headless, and rows per hour as its rollups and a hand count see them: the oracles the
rollup tests compare (one definition, where four test files each spelled them)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl

from console import store_rollups as ro
from console.cli import main


def rollup(config: Path, capsys, *extra: str) -> dict:
    """`rollup --format json --no-ready` on `config`: its report."""
    assert main(["rollup", "--config", str(config), "--format", "json", "--no-ready", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def rolled(folder: Path, start: datetime, end: datetime, model: str = "m") -> dict[datetime, int]:
    """Rows per hour in [start, end) from the rollups in `folder` (the whole-model rows, hours holding rows)."""
    t = ro.read_table(folder, model, start, end, columns=["segment", "rows"])
    df = pl.from_arrow(t).filter(pl.col("segment").is_null())
    return {h: n for h, n in df.group_by("hour").agg(pl.col("rows").sum()).iter_rows() if n}


def counted(rows: list[dict]) -> dict[datetime, int]:
    """Rows per hour of written rows (dicts with an ISO `ts`), counted by hand."""
    out: dict[datetime, int] = {}
    for r in rows:
        h = datetime.fromisoformat(r["ts"]).replace(minute=0, second=0, microsecond=0)
        out[h] = out.get(h, 0) + 1
    return out
