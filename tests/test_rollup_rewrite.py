"""A prediction log rewritten in place (a corrected export, a re-run of the job that writes an hour's file) with the
same number of rows: the rollups of the hours it covers are rebuilt, so the window scored from them is the one scipy
scores on the rows as they are now, in a new process (the catch-up's kept record) and in a running one.

The catch-up compared each hour's row count with the store's, which a same-size rewrite leaves equal: the hour kept
the sketches and category counts of the rows that were replaced (qa8: a day's `mcc` said 0.018 "ok" from the
rollups while `--exact` said 0.109 "drift"). Labels corrected in place the same way (as many labels, other values)
left quality from the rollups on the old labels (qa8: October's accuracy 0.734 from rollups, 0.529 read raw).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from scipy import stats
from scipy.spatial import distance

from console.cli import main
from console.config import parse_file
from console.service import Service

START = datetime(2026, 5, 1)
HOUR = datetime(2026, 5, 2, 10)  # the hour whose file is rewritten
CATS = ("a", "b", "c")


def _f32(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32).astype(np.float64)


def _write(path: Path, ts, x, c, tag: str) -> None:
    n = len(ts)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({
        "ts": pa.array(ts, pa.timestamp("us")), "model": ["m"] * n, "version": ["1"] * n,
        "environment": ["production"] * n, "request_id": [f"{tag}-{i}" for i in range(n)],
        "latency_ms": np.full(n, 20.0), "prediction": ["1"] * n, "x": x, "c": c}), path)


@pytest.fixture
def ws(tmp_path):
    """(config, rows by file: {path: (ts, x, c)}, reference): two days by day file, and the hour's own file."""
    rng = np.random.default_rng(3)
    files = {}
    for day in range(2):
        n = 2400
        ts = [START + timedelta(days=day, seconds=int(s)) for s in np.sort(rng.integers(0, 86400, n))]
        files[tmp_path / "logs" / f"day-{day}.parquet"] = (ts, _f32(rng.normal(0, 1, n)),
                                                           rng.choice(CATS, n, p=[0.5, 0.3, 0.2]))
    n = 300
    files[tmp_path / "logs" / "hour.parquet"] = ([HOUR + timedelta(seconds=int(s)) for s in
                                                 np.sort(rng.integers(0, 3600, n))],
                                                _f32(rng.normal(0, 1, n)), rng.choice(CATS, n, p=[0.5, 0.3, 0.2]))
    for i, (path, (ts, x, c)) in enumerate(files.items()):
        _write(path, ts, x, c, f"f{i}")
    ref = {"x": _f32(rng.normal(0, 1, 3000)), "c": rng.choice(CATS, 3000, p=[0.5, 0.3, 0.2])}
    pq.write_table(pa.table(ref), tmp_path / "reference.parquet")
    ids = [f"f{i}-{j}" for i, (ts, _, _) in enumerate(files.values()) for j in range(len(ts))]
    first = [t for ts, _, _ in files.values() for t in ts]
    _labels(tmp_path, ids, [t + timedelta(hours=1) for t in first], rng.choice(["0", "1"], len(ids), p=[0.3, 0.7]))
    config = tmp_path / "console.toml"
    config.write_text('[store]\npath = "store"\n[rollups]\nmin_rows = 0\n'
                      '[[logs]]\nkind = "predictions"\npath = "logs/*.parquet"\nformat = "parquet"\n'
                      '[[logs]]\nkind = "labels"\npath = "labels.parquet"\nformat = "parquet"\n'
                      '[models.m]\ntask = "classification"\nreference = "reference.parquet"\nfeatures = ["x", "c"]\n'
                      '[models.m.drift.x]\ntest = "ks"\n', encoding="utf-8")
    return config, files, ref


def _labels(root: Path, ids, ts, label) -> None:
    pq.write_table(pa.table({"request_id": ids, "ts": pa.array(ts, pa.timestamp("us")), "label": label}),
                   root / "labels.parquet")


def _exact(files: dict, ref: dict, lo: datetime, hi: datetime) -> dict:
    """scipy on the rows of [lo, hi) as the files hold them now."""
    ts = np.concatenate([np.array(t, dtype="datetime64[us]") for t, _, _ in files.values()])
    keep = (ts >= np.datetime64(lo)) & (ts < np.datetime64(hi))
    x = np.concatenate([v[1] for v in files.values()])[keep]
    c = np.concatenate([v[2] for v in files.values()])[keep]
    shares = [np.array([np.sum(s == k) for k in CATS]) / len(s) for s in (ref["c"], c)]
    return {"n": int(keep.sum()), "ks": stats.ks_2samp(ref["x"], x).statistic, "js": distance.jensenshannon(*shares)}


def _rewrite(files: dict) -> None:
    """The hour's file written again, as many rows, corrected values: x moved by 2, every c 'c'."""
    path = next(p for p in files if p.name == "hour.parquet")
    ts, x, c = files[path]
    files[path] = (ts, _f32(x + 2.0), np.array(["c"] * len(c)))
    _write(path, *files[path], "f2")


def _drift(config: Path, capsys) -> dict:
    assert main(["drift", "m", "--config", str(config), "--window", "2026-05-02", "--format", "json"]) == 0
    return {c["column"]: c for c in json.loads(capsys.readouterr().out)["features"]}


def _agrees(got: dict, exact: dict) -> None:
    assert {c["method"] for c in got.values()} == {"sketch"}
    assert got["c"]["n_cur"] == exact["n"] and got["c"]["bound"] == 0
    assert got["c"]["score"] == pytest.approx(exact["js"], rel=1e-9)  # category counts are exact
    assert abs(got["x"]["stats"]["statistic"] - exact["ks"]) <= got["x"]["bound"] + 1e-12


def test_a_log_rewritten_with_as_many_rows_rebuilds_its_hours_in_a_new_process(ws, capsys):
    config, files, ref = ws
    day = (datetime(2026, 5, 2), datetime(2026, 5, 3))
    _agrees(_drift(config, capsys), _exact(files, ref, *day))  # builds the rollups
    _rewrite(files)
    after = _exact(files, ref, *day)
    got = _drift(config, capsys)
    _agrees(got, after)
    assert got["c"]["drifted"] == (after["js"] >= 0.1)


def test_a_log_rewritten_under_a_running_console_rebuilds_its_hours(ws):
    config, files, ref = ws
    at = datetime(2026, 5, 3)
    svc = Service(parse_file(config), clock=lambda: at)
    try:
        svc.refresh()
        svc.drift("m", "24h", series=False)
        _rewrite(files)
        svc.refresh()
        report = svc.drift("m", "24h", series=False)
        assert (svc.monitor.sketch_drift.built[-1][1:]) == (HOUR, HOUR + timedelta(hours=1))
    finally:
        svc.close()
    cols = {c.column: c for c in report.dataset.columns}
    exact = _exact(files, ref, at - timedelta(hours=24), at)
    assert cols["c"].n_cur == exact["n"] and cols["c"].score == pytest.approx(exact["js"], rel=1e-9)
    assert abs(cols["x"].stats["statistic"] - exact["ks"]) <= cols["x"].bound + 1e-12


def test_labels_corrected_in_place_rebuild_the_hours_quality_reads(ws, capsys):
    """Every prediction is labelled an hour later; the label file is written again with as many labels, those of
    one hour's requests flipped: accuracy from the rollups is sklearn's on the labels as they are now."""
    from sklearn.metrics import accuracy_score

    config, files, _ = ws
    root = config.parent

    def quality() -> dict:
        assert main(["quality", "m", "--config", str(config), "--at", "2026-05-03T12:00Z", "--window", "36h",
                     "--format", "json"]) == 0
        return json.loads(capsys.readouterr().out)

    def exact() -> tuple[int, float]:
        lab = pq.read_table(root / "labels.parquet").to_pydict()
        truth = dict(zip(lab["request_id"], lab["label"]))
        ids = [f"f{i}-{j}" for i, (ts, _, _) in enumerate(files.values()) for j, t in enumerate(ts)
               if datetime(2026, 5, 2) < t <= datetime(2026, 5, 3, 12)]
        return len(ids), accuracy_score([truth[r] for r in ids], ["1"] * len(ids))  # every prediction is "1"

    first = quality()
    assert first.get("source") == "rollups" and (first["now"]["n_labelled"], first["now"]["metrics"]["accuracy"]) \
        == pytest.approx(exact(), rel=1e-12)
    lab = pq.read_table(root / "labels.parquet").to_pydict()
    hour_ids = {f"f2-{j}" for j in range(len(files[root / "logs" / "hour.parquet"][0]))}
    flipped = [("1" if v == "0" else "0") if r in hour_ids else v for r, v in zip(lab["request_id"], lab["label"])]
    _labels(root, lab["request_id"], lab["ts"], flipped)
    after = quality()
    assert after.get("source") == "rollups"
    assert (after["now"]["n_labelled"], after["now"]["metrics"]["accuracy"]) == pytest.approx(exact(), rel=1e-12)
    assert after["now"]["metrics"]["accuracy"] != first["now"]["metrics"]["accuracy"]


def test_a_delta_partition_overwritten_with_as_many_rows_rebuilds_its_day(ws, capsys):
    """The same rows as a Delta table partitioned by date; a day overwritten (`predicate`, as a correction job does
    it: new data files, the old ones removed from the table) with as many rows: the day's hours are rebuilt."""
    from deltalake import write_deltalake

    _, files, ref = ws
    root = next(iter(files)).parents[1]

    def table(which: dict) -> pa.Table:
        ts = [t for t, _, _ in which.values() for t in t]
        n = len(ts)
        return pa.table({"ts": pa.array(ts, pa.timestamp("us")), "model": ["m"] * n, "version": ["1"] * n,
                         "environment": ["production"] * n, "latency_ms": np.full(n, 20.0), "prediction": ["1"] * n,
                         "request_id": [f"f{i}-{j}" for i, (t, _, _) in enumerate(which.values()) for j in range(len(t))],
                         "x": np.concatenate([x for _, x, _ in which.values()]),
                         "c": np.concatenate([c for _, _, c in which.values()]).astype(str),
                         "date": [f"{t:%Y-%m-%d}" for t in ts]})

    write_deltalake(str(root / "preds"), table(files), partition_by=["date"])
    config = root / "delta.toml"
    config.write_text('[store]\npath = "store-delta"\n[rollups]\nmin_rows = 0\n'
                      '[[logs]]\nkind = "predictions"\npath = "preds"\nformat = "delta"\n'
                      '[models.m]\ntask = "classification"\nreference = "reference.parquet"\nfeatures = ["x", "c"]\n'
                      '[models.m.drift.x]\ntest = "ks"\n', encoding="utf-8")
    day = (datetime(2026, 5, 2), datetime(2026, 5, 3))
    _agrees(_drift(config, capsys), _exact(files, ref, *day))  # builds the rollups
    _rewrite(files)
    changed = table({p: v for p, v in files.items() if p.name != "day-0.parquet"})
    write_deltalake(str(root / "preds"), changed.filter(pc.equal(changed["date"], "2026-05-02")),
                    partition_by=["date"], mode="overwrite", predicate="date = '2026-05-02'")
    after = _exact(files, ref, *day)
    got = _drift(config, capsys)
    _agrees(got, after)
    # rows of the rewritten hour arriving late, written under the day they arrived (a table partitioned by arrival
    # date): the file's ts statistics, not its partition, say which hour to count
    rng = np.random.default_rng(8)
    late = root / "logs" / "late.parquet"  # in `files` for the oracle only; the Delta table gets them below
    files[late] = ([HOUR + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 3600, 40))],
                   _f32(rng.normal(4, 1, 40)), np.array(["a"] * 40))
    rows = table({late: files[late]})
    rows = rows.set_column(rows.schema.get_field_index("date"), "date", pa.array(["2026-05-04"] * 40))
    rows = rows.set_column(rows.schema.get_field_index("request_id"), "request_id",
                           pa.array([f"late-{i}" for i in range(40)]))
    write_deltalake(str(root / "preds"), rows, partition_by=["date"], mode="append")
    _agrees(_drift(config, capsys), _exact(files, ref, *day))
