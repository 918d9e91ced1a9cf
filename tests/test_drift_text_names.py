"""`drift`'s text table names each feature whole, in terminal cells. Security probe (thirty-first session),
finding 8: names were cut to 21 characters (`transaction_amount_usd_raw` and `transaction_amount_usd_log` both
printed as `transaction_amount_us`: which one drifted?), an escaped name mid-escape, and a wide character shifted
the later columns."""

from __future__ import annotations

import json

import numpy as np

from console.cli import main
from console.safe_text import cells

NAMES = ["transaction_amount_usd_raw", "transaction_amount_usd_log", "金额", "f\x1b[31m"]


def test_drift_text_names_every_feature_whole_and_aligned(tmp_path, capsys):
    rng = np.random.default_rng(5)
    ref = rng.normal(0, 1, (400, len(NAMES)))
    cur = rng.normal(0, 1, (600, len(NAMES)))
    cur[:, 0] += 2  # the raw amount moved, its log did not
    header = ",".join(NAMES)
    lines = [f"2026-11-20T{i // 60:02d}:{i % 60:02d}:00Z,m,1,r{i}," + ",".join(f"{x:.4f}" for x in r)
             for i, r in enumerate(cur)]
    (tmp_path / "p.csv").write_text("ts,model,version,request_id," + header + "\n" + "\n".join(lines) + "\n")
    (tmp_path / "mlops-console.toml").write_text(
        '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "p.csv"\n'
        '[models.m]\nreference = "ref.parquet"\nfeatures = [' + ", ".join(json.dumps(n) for n in NAMES) + ']\n')
    import pandas as pd

    pd.DataFrame(ref, columns=NAMES).to_parquet(tmp_path / "ref.parquet")
    code = main(["--config", str(tmp_path / "mlops-console.toml"), "drift", "m", "--at", "latest", "--window", "12h"])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("FEATURE"))
    table = lines[head:head + 1 + len(NAMES)]
    kind_at = {cells(row[:row.index("numeric")]) for row in table[1:]} | {cells(table[0][:table[0].index("KIND")])}
    assert len(kind_at) == 1, table  # KIND starts at one cell on every row
    shown = [row.split()[0] for row in table[1:]]
    assert sorted(shown) == sorted(["transaction_amount_usd_raw", "transaction_amount_usd_log", "金额", "f\\x1b[31m"])
    raw = next(row for row in table if row.startswith("transaction_amount_usd_raw"))
    assert "DRIFT" in raw and "DRIFT" not in next(r for r in table if r.startswith("transaction_amount_usd_log"))
