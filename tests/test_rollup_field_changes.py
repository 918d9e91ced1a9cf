"""The rollup over Parquet files that disagree on their fields: a feature logged as numbers one day and as text the
next, and a feature first logged in a later file. The local engine builds every hour (it refused the type change:
"Failed to parse string 'seven' as a scalar of type double"), sketches the numbers of the text column, and the
later feature is summarised (the first file's schema had left it out)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from console import rollup_engine
from console import rollup_sources as src
from console import store_rollups as ro
from console.analytics import sketches as sk

SPECS = {"m": ro.ModelSpec.of({"numeric": ["x", "tenure"], "categorical": []})}


def _write(root, day: str, xs: pa.Array, **extra) -> None:
    folder = root / f"date={day}"
    folder.mkdir(parents=True)
    start, n = datetime.fromisoformat(day), len(xs)
    pq.write_table(pa.table({"ts": [start + timedelta(minutes=i) for i in range(n)], "model": ["m"] * n,
                             "version": ["1"] * n, "request_id": [f"{day}-{i}" for i in range(n)],
                             "latency_ms": [10.0] * n, "x": xs, **extra}), folder / "part-0.parquet")


def test_a_type_change_and_a_later_field_are_rolled_up(tmp_path):
    _write(tmp_path, "2026-11-28", pa.array([1.0, 2.0] * 30))
    _write(tmp_path, "2026-11-29", pa.array(["7", "seven"] * 20), tenure=pa.array([3] * 40))
    start = datetime(2026, 11, 28)
    built = rollup_engine.local_builder(src.dataset([str(tmp_path)]), None, SPECS)(start, start + timedelta(days=2))
    t = built["m"].to_pylist()
    whole = [r for r in t if r["segment"] is None]
    assert sum(r["rows"] for r in whole) == 100

    def n(col: str, day: int) -> int:
        return sum(sk.deserialize(r[col]).n for r in whole if r[col] and r["hour"].day == day)

    assert (n("num__x", 28), n("num__x", 29)) == (60, 20)  # day two's 20 "7"s; its "seven"s are not numbers
    assert (n("num__tenure", 28), n("num__tenure", 29)) == (0, 40)
