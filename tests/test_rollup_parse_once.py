"""A build parses each text log once (issue 8, "a row is parsed once"): `mlops-console rollup` scans its sources about
nine times per build (the rows' span, each day's chunk, the chunk's label ids, the rows left past its end), and each
scan of a JSONL or CSV log parsed it again (a 1M-row JSONL log: 143 s). The pieces of a file's first read are kept
for the build's later scans (`rollup_text.parsed_once`). Here: every text file goes through the tailer once per build,
and the rollups built equal hand counts of the rows written (rows, errors, labelled per model and hour), with the
log cut into many small pieces spanning day boundaries, so the pieces a day's scan skips on their `ts` span are
exercised too."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rollup_fleet import START, fleet  # noqa: E402


def _text_logs(tmp: Path) -> tuple[list[str], list[str], pl.DataFrame, pl.DataFrame]:
    """Three days of two models: the first two days in one JSONL file (with one line that is no JSON), the third in
    a CSV file; the labels in JSONL."""
    preds, labels = fleet(hours=72, per_hour=60, seed=3)
    preds = preds.sort("ts")
    text = preds.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    cut = START + timedelta(days=2)
    text.filter(pl.col("ts") < f"{cut:%Y-%m-%d}").write_ndjson(tmp / "before.jsonl")
    lines = (tmp / "before.jsonl").read_bytes().split(b"\n")
    lines.insert(len(lines) // 3, b'{"ts": "2026-07-01T20:00:00Z", "model": "fraud", ')
    (tmp / "before.jsonl").write_bytes(b"\n".join(lines))
    text.filter(pl.col("ts") >= f"{cut:%Y-%m-%d}").write_csv(tmp / "then.csv")
    labels.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")).write_ndjson(tmp / "labels.jsonl")
    return ([str(tmp / "before.jsonl"), str(tmp / "then.csv")], [str(tmp / "labels.jsonl")], preds, labels)


def test_a_build_parses_each_text_log_once_and_counts_every_row(tmp_path, monkeypatch):
    from console import rollup_engine, rollup_text
    from console import store_rollups as ro
    from console.sources import files

    monkeypatch.setattr(rollup_text, "PIECE_BYTES", 64 << 10)  # many pieces a file, each within a few hours
    scanned: Counter = Counter()
    real_scan = files.Tailer.scan

    def counted(self, patterns):  # the tailer's real scan, counted: each call is one parse of the files named
        scanned.update(patterns)
        yield from real_scan(self, patterns)

    monkeypatch.setattr(files.Tailer, "scan", counted)
    preds_paths, label_paths, preds, labels = _text_logs(tmp_path)
    out_dir = tmp_path / "rollups"
    end = START + timedelta(days=3)
    got = rollup_engine.catch_up(preds_paths, label_paths, out_dir, now=end + timedelta(minutes=5),
                                 models={"fraud": None, "eta": None})

    assert scanned == Counter({p: 1 for p in [*preds_paths, *label_paths]}), scanned
    assert got.set_aside == {"invalid JSON": 1}
    assert got.rows == preds.height and not got.left

    labelled = preds.join(labels.select("request_id"), on="request_id", how="semi").select("request_id")
    hand = (preds.with_columns(pl.col("ts").dt.truncate("1h").alias("hour"),
                               pl.col("status").is_in(["timeout", "500"]).alias("err"),
                               pl.col("request_id").is_in(labelled["request_id"].implode()).alias("lab"))
            .group_by("model", "hour").agg(pl.len().alias("rows"), pl.col("err").sum().alias("errors"),
                                           pl.col("lab").sum().alias("labelled")))
    for model in ("fraud", "eta"):
        table = pl.from_arrow(ro.read_table(out_dir, model, START, end, columns=["segment", "rows", "errors",
                                                                                 "labelled"]))
        built = (table.filter(pl.col("segment").is_null()).group_by("hour")
                 .agg(pl.col("rows").sum(), pl.col("errors").sum(), pl.col("labelled").sum()).sort("hour"))
        want = (hand.filter(pl.col("model") == model).drop("model").sort("hour")
                .with_columns(pl.col("rows", "errors", "labelled").cast(pl.Int64)))
        assert built.height == 72
        assert built.to_dicts() == want.to_dicts()


def test_a_file_changed_during_a_build_is_parsed_again(tmp_path):
    """The kept pieces are the file's as it was when read: a later read of a file that grew since parses it again,
    so a scan never misses rows a plain parse would have read."""
    from console import rollup_text

    path = tmp_path / "p.jsonl"
    path.write_text('{"ts": "2026-07-01T00:00:00Z", "model": "m"}\n')
    f = rollup_text.TextFile(str(path), "json")
    with rollup_text.parsed_once():
        assert sum(t.num_rows for t in f.read()) == 1
        assert sum(t.num_rows for t in f.read()) == 1  # from the kept piece
        with path.open("a") as out:
            out.write('{"ts": "2026-07-02T00:00:00Z", "model": "m"}\n')
        assert sum(t.num_rows for t in f.read()) == 2
