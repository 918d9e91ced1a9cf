"""Same numbers as Evidently? Runs Evidently's DataDriftPreset and the console's engine on the same data
(sizes on the command line; the default covers both test regimes, <= 1,000 and > 1,000 reference rows) and
prints, per column, both scores, the method and the largest difference.

Evidently is not a dependency; in a separate venv: pip install evidently 'pandas<3' polars pyarrow scipy
then: PYTHONPATH=src python benchmarks/compare_evidently.py [ROWS ...]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_drift import make_frame  # noqa: E402

from console.analytics.drift import Reference, dataset_drift  # noqa: E402


def compare(n: int) -> float:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    ref, cur = make_frame(n, 1), make_frame(n, 2, shift=0.05)
    snap = Report([DataDriftPreset()]).run(current_data=cur.to_pandas(), reference_data=ref.to_pandas())
    theirs = {}
    for m in snap.dict()["metrics"]:
        hit = re.match(r"ValueDrift\(column=([^,]+),method=([^,]+),", m["metric_name"])
        if hit:
            theirs[hit.group(1)] = (hit.group(2), float(m["value"]))
    ours = {c.column: c for c in dataset_drift(Reference(ref), cur).columns}
    worst = 0.0
    print(f"{n:,} rows per side")
    for col, (method, value) in sorted(theirs.items()):
        mine = ours[col]
        diff = abs(mine.score - value)
        worst = max(worst, diff)
        print(f"  {col:<8} evidently {method:<32} {value:.12g}   console {mine.test:<14} {mine.score:.12g}   diff {diff:.2e}")
    print(f"  largest difference: {worst:.2e}")
    return worst


if __name__ == "__main__":
    for rows in [int(a) for a in sys.argv[1:]] or [800, 100_000]:
        compare(rows)
