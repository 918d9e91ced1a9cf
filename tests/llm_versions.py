"""A workspace of one priced LLM whose version 2 triples its input tokens, at the times a test gives: the cost-spike
tests' log (each counts its expected onset or detection by hand from the same times)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path


def llm_workspace(folder: Path, stamps: list[datetime], first_v2: datetime, rollups: bool) -> str:
    """The config's path; a row at each of `stamps`, version 2 from `first_v2` on; `rollups`: read from them."""
    rows = [{"ts": t.isoformat() + "Z", "model": "llm", "version": "2" if t >= first_v2 else "1", "request_id": f"r{i}",
             "prediction": "ok", "latency_ms": 100.0, "input_tokens": 3000 if t >= first_v2 else 1000,
             "output_tokens": 200} for i, t in enumerate(stamps)]
    (folder / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = ('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
              '[models.llm]\ntask = "llm"\n[models.llm.prices]\ninput_per_1m = 3.0\noutput_per_1m = 15.0\n')
    if rollups:
        config += "[rollups]\nmin_rows = 10\n"
    (folder / "mlops-console.toml").write_text(config, encoding="utf-8")
    return str(folder / "mlops-console.toml")
