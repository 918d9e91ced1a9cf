"""The rollup command run headless, and rows per hour as its rollups and a hand count see them: the oracles the
rollup tests compare (one definition, where four test files each spelled them)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
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


def rows_of(rng, start: datetime, seconds: int, n: int, tag: str) -> list[dict]:
    """`n` rows of model m at random seconds in [start, start + seconds), sorted, ids `{tag}-{i}`."""
    ts = [start + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, seconds, n))]
    return [{"ts": t.isoformat(), "model": "m", "version": "1", "request_id": f"{tag}-{i}", "latency_ms": 20.0,
             "prediction": "1", "x": float(x)} for i, (t, x) in enumerate(zip(ts, rng.normal(0, 1, n)))]


def write_rows(path: Path, rows: list[dict], mode: str = "w") -> None:
    with path.open(mode, encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in rows))


def one_log_config(root: Path, log: str) -> Path:
    """A workspace reading one predictions log of model m, rollups read at any row count."""
    config = root / "console.toml"
    config.write_text(f'[store]\npath = "store"\n[rollups]\nmin_rows = 0\n[[logs]]\nkind = "predictions"\n'
                      f'path = "{log}"\n[models.m]\ntask = "classification"\n', encoding="utf-8")
    return config
