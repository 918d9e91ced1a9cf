"""The workspace the accuracy-rule tests share: `p.jsonl` predictions and `l.jsonl` labels of one classifier `m`
in `tmp_path`, its reference `ref.parquet` (feature `x`), and `[rollups] min_rows` choosing raw or rollups."""

from __future__ import annotations

from pathlib import Path


def labelled_config(tmp_path: Path, min_rows: int) -> Path:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "store"}"\n[rollups]\nmin_rows = {min_rows}\n'
                   f'[[logs]]\nkind = "predictions"\npath = "{tmp_path / "p.jsonl"}"\n'
                   f'[[logs]]\nkind = "labels"\npath = "{tmp_path / "l.jsonl"}"\n'
                   f'[models.m]\ntask = "classification"\nreference = "{tmp_path / "ref.parquet"}"\n'
                   'features = ["x"]\n', encoding="utf-8")
    return cfg
