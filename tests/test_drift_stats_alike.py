"""A feature's drift stats name the same counts whichever path scored it: `stats.dropped` (the window's rows the
test could not use) was in the exact output always, 0 included, and in the sketch output (the rollups') only when
it was not 0, so a script reading `stats["dropped"]` of a clean window failed on one path alone. Checked against a
hand count: a window of clean rows but for `n_missing` rows without `x`."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console.config import parse_file
from console.service import Service

AT = datetime(2026, 11, 30)
ROWS, N_MISSING = 720, 40


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    root = tmp_path_factory.mktemp("stats-alike")
    (root / "logs").mkdir()
    ts = [AT - timedelta(minutes=2 * i + 1) for i in range(ROWS)]  # the last 24 h, one row every 2 min
    xs = [None if i < N_MISSING else float(i % 7) for i in range(ROWS)]
    pq.write_table(pa.table({"ts": ts, "model": ["m"] * ROWS, "version": ["1"] * ROWS,
                             "request_id": [f"r{i}" for i in range(ROWS)], "prediction": ["1"] * ROWS,
                             "latency_ms": [10.0] * ROWS, "x": pa.array(xs, pa.float64()),
                             "c": ["abc"[i % 3] for i in range(ROWS)]}), root / "logs" / "p.parquet")
    pq.write_table(pa.table({"x": [float(i % 7) for i in range(300)], "c": ["abc"[i % 3] for i in range(300)]}),
                   root / "ref.parquet")
    (root / "c.toml").write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "logs"\n'
                                 'format = "parquet"\n[models.m]\nfeatures = ["x", "c"]\nreference = "ref.parquet"\n',
                                 encoding="utf-8")
    s = Service(parse_file(root / "c.toml"), clock=lambda: AT)
    s.refresh()
    yield s
    s.close()


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "sketch"])
def test_dropped_is_counted_on_both_paths(svc, exact):
    report = svc.drift("m", "24h", series=False, exact=exact, target=False)
    cols = {c.column: c for c in report.dataset.columns}
    assert {c.method for c in cols.values()} == {"exact" if exact else "sketch"}
    assert (cols["x"].n_cur, cols["x"].stats["dropped"]) == (ROWS - N_MISSING, N_MISSING)
    assert (cols["c"].n_cur, cols["c"].stats["dropped"]) == (ROWS, 0)  # a clean feature: 0, said on both paths
