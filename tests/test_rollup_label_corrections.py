"""Labels corrected by a later row of the labels log (the store keeps the latest label per request id), for an hour
the rollups already built: the hour is rebuilt, so quality over a long window from the rollups is the raw path's and
a pandas count's on the labels as they are now.

The catch-up compared per hour only the count of labelled rows and the sum of the labels' numbers, so text labels
(spam/ham add nothing to the sum) and a 0/1 swap inside one hour (one 0->1, one 1->0: same count, same sum) were never
noticed: `quality txt --window 48h` said accuracy 0.8985 from the rollups, 0.8960 read raw and in pandas, for good.
The `rollup` command rebuilt only the hours of labels logged after the newest label it had seen, and a correction
logged with an earlier time (23:30 while the labels of the last hour's predictions were logged at 00:59) was missed.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from console.cli import main

START = datetime(2026, 11, 27, tzinfo=timezone.utc)
AT = "2026-11-29T23:59Z"
HOUR = "2026-11-28T10"  # the predictions' hour whose labels are corrected
FIXED = "2026-11-29T23:30:00Z"  # when the corrections are logged: before the newest label (2026-11-30T00:59)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _logs(root: Path, kind: str) -> None:
    """3 days x 60 predictions an hour, each labelled an hour later: spam/ham (`text`) or 0/1 (`binary`)."""
    rng = np.random.default_rng(1)
    classes = ("spam", "ham") if kind == "text" else ("1", "0")
    preds, labels = [], []
    for i in range(3 * 24 * 60):
        t = START + timedelta(seconds=i * 60 + 1)
        y = classes[0] if rng.random() < 0.3 else classes[1]
        p = y if rng.random() < 0.9 else classes[1] if y == classes[0] else classes[0]
        preds.append({"ts": _iso(t), "model": "m", "version": "1", "request_id": f"r{i}",
                      "features": {"x": float(rng.normal())}, "prediction": p, "latency_ms": 10.0})
        labels.append({"request_id": f"r{i}", "label": y, "ts": _iso(t + timedelta(hours=1))})
    (root / "logs").mkdir(parents=True, exist_ok=True)
    (root / "logs" / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in preds))
    (root / "logs" / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labels))


def _correct(root: Path, kind: str) -> None:
    """Appended to the labels log: `text` flips 10 labels of the hour's predictions; `binary` swaps two of them (a
    0 whose prediction was 0 becomes 1, a 1 whose prediction was 1 becomes 0: the hour's count and sum stay)."""
    preds = {r["request_id"]: r for r in map(json.loads, (root / "logs" / "preds.jsonl").open())}
    labels = {r["request_id"]: r for r in map(json.loads, (root / "logs" / "labels.jsonl").open())}
    hour = [rid for rid, r in preds.items() if r["ts"].startswith(HOUR)]
    if kind == "text":
        fixed = {rid: "ham" if labels[rid]["label"] == "spam" else "spam" for rid in hour[:10]}
    else:
        one = next(rid for rid in hour if labels[rid]["label"] == "1" and preds[rid]["prediction"] == "1")
        zero = next(rid for rid in hour if labels[rid]["label"] == "0" and preds[rid]["prediction"] == "0")
        fixed = {one: "0", zero: "1"}
    with (root / "logs" / "labels.jsonl").open("a") as f:
        for rid, label in fixed.items():
            f.write(json.dumps({"request_id": rid, "label": label, "ts": FIXED}) + "\n")


def _config(root: Path, name: str, min_rows: int, kind: str) -> Path:
    path = root / f"{name}.toml"
    path.write_text(f'[store]\npath = "store-{name}"\n[rollups]\nmin_rows = {min_rows}\npath = "rollups-{name}"\n'
                    '[[logs]]\nkind = "predictions"\npath = "logs/preds.jsonl"\n'
                    '[[logs]]\nkind = "labels"\npath = "logs/labels.jsonl"\n'
                    f'[models.m]\ntask = "classification"\npositive_label = "{"spam" if kind == "text" else "1"}"\n',
                    encoding="utf-8")
    return path


def _quality(config: Path, capsys) -> tuple[str, int, float]:
    assert main(["quality", "m", "--config", str(config), "--window", "48h", "--at", AT, "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    return got.get("source"), got["now"]["n_labelled"], got["now"]["metrics"]["accuracy"]


def _truth(root: Path) -> tuple[int, float]:
    """pandas: the window's predictions joined to the latest label per request id logged by then."""
    p = pd.read_json(root / "logs" / "preds.jsonl", lines=True, dtype={"prediction": str})
    lab = pd.read_json(root / "logs" / "labels.jsonl", lines=True, dtype={"label": str})
    p["ts"], lab["ts"] = pd.to_datetime(p.ts, utc=True), pd.to_datetime(lab.ts, utc=True)
    hi = pd.Timestamp(AT)
    d = p[(p.ts > hi - pd.Timedelta(hours=48)) & (p.ts <= hi)]
    latest = lab[lab.ts <= hi].sort_values("ts", kind="stable").drop_duplicates("request_id", keep="last")
    m = d.merge(latest[["request_id", "label"]], on="request_id")
    return len(m), float((m.prediction.astype(str) == m.label.astype(str)).mean())


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_corrected_labels_rebuild_the_hour_the_console_reads(tmp_path, capsys, kind):
    _logs(tmp_path, kind)
    rolled, raw = _config(tmp_path, "rolled", 0, kind), _config(tmp_path, "raw", 10**12, kind)
    source, n, acc = _quality(rolled, capsys)
    assert source == "rollups" and (n, acc) == pytest.approx(_truth(tmp_path), rel=1e-12)
    _correct(tmp_path, kind)
    truth = _truth(tmp_path)
    assert truth[1] != acc  # the corrections move the window's accuracy
    got_raw = _quality(raw, capsys)
    assert got_raw[0] != "rollups" and got_raw[1:] == pytest.approx(truth, rel=1e-12)
    source, n, acc = _quality(rolled, capsys)
    assert source == "rollups" and (n, acc) == pytest.approx(truth, rel=1e-12)


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_corrected_labels_rebuild_the_hour_in_the_rollup_command(tmp_path, capsys, kind):
    """The `rollup` command alone: the corrected hour is rebuilt in the folder, whose counts are then pandas'."""
    import polars as pl

    from console import store_rollups as ro

    _logs(tmp_path, kind)
    config = _config(tmp_path, "rolled", 0, kind)

    def rollup() -> dict:
        assert main(["rollup", "--config", str(config), "--until", "2026-11-30T00:00Z", "--no-ready",
                     "--format", "json"]) == 0
        return json.loads(capsys.readouterr().out)

    def hour_counts() -> tuple[int, int]:
        t = datetime.fromisoformat(HOUR + ":00")
        df = pl.from_arrow(ro.read_table(tmp_path / "rollups-rolled", "m", t, t + timedelta(hours=1),
                                         columns=["segment", "labelled", "cls_correct"]))
        df = df.filter(pl.col("segment").is_null())
        return int(df["labelled"].sum()), int(df["cls_correct"].sum())

    def truth() -> tuple[int, int]:
        p = pd.read_json(tmp_path / "logs" / "preds.jsonl", lines=True, dtype={"prediction": str})
        lab = pd.read_json(tmp_path / "logs" / "labels.jsonl", lines=True, dtype={"label": str})
        p = p[pd.to_datetime(p.ts, utc=True).dt.strftime("%Y-%m-%dT%H") == HOUR]
        lab["ts"] = pd.to_datetime(lab.ts, utc=True)
        latest = lab.sort_values("ts", kind="stable").drop_duplicates("request_id", keep="last")
        m = p.merge(latest[["request_id", "label"]], on="request_id")
        return len(m), int((m.prediction.astype(str) == m.label.astype(str)).sum())

    rollup()
    assert hour_counts() == truth()
    _correct(tmp_path, kind)
    before = hour_counts()
    assert before != truth()
    out = rollup()
    assert out["late_label_hours_rebuilt"] >= 1
    assert hour_counts() == truth()
