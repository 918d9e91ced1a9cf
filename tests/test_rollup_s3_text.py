"""A bad row in a JSONL or CSV object on S3 costs only itself in `mlops-console rollup` (issue 8, "a bad row costs
only itself"): `s3://` text sources went through Arrow's dataset readers, which refuse a whole object for one bad
row, so one line that was no JSON failed the build of every hour (exit 2). They are now read as the store reads
them (`rollup_text`, `store.parse.whole_object`): every good row is built, the bad one is counted as set aside with
its reason. Against a real S3 server (moto, tests/s3_server.py); counts are hand counts of the rows written."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl

from console.cli import main
from rollup_fleet import START, fleet
from s3_server import s3_server  # noqa: F401  (session fixture)

HOURS = 6


def _put(client, key: str, body: bytes, bad: bytes) -> None:
    """The object with `bad` inserted as a line in its middle."""
    lines = body.split(b"\n")
    lines.insert(len(lines) // 2, bad)
    client.put_object(Bucket="rolltext", Key=key, Body=b"\n".join(lines))


def test_rollup_builds_every_good_row_of_s3_jsonl_and_csv_and_sets_the_bad_ones_aside(s3_server, tmp_path,  # noqa: F811
                                                                                       capsys):
    preds, _ = fleet(hours=HOURS, per_hour=50, seed=8)
    text = preds.sort("ts").with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    half = START + timedelta(hours=HOURS // 2)
    client = s3_server.client()
    client.create_bucket(Bucket="rolltext")
    _put(client, "jsonl/date=2026-07-01/part-0.jsonl",
         text.filter(pl.col("ts") < f"{half:%Y-%m-%dT%H}").write_ndjson().encode(),
         b'{"ts": "2026-07-01T01:00:00Z", "model": "fraud", ')
    _put(client, "csv/date=2026-07-01/part-0.csv",
         text.filter(pl.col("ts") >= f"{half:%Y-%m-%dT%H}").write_csv().encode(),
         b"2026-07-01T04:00:00.000000Z,fraud,1")
    cfg = tmp_path / "console.toml"
    cfg.write_text(f"""
{s3_server.toml}
[[logs]]
kind = "predictions"
path = "s3://rolltext/jsonl/"
format = "jsonl"

[[logs]]
kind = "predictions"
path = "s3://rolltext/csv/"
format = "csv"

[models.fraud]
task = "classification"

[models.eta]
task = "regression"
""", encoding="utf-8")
    out = tmp_path / "rollups"
    until = START + timedelta(hours=HOURS)
    rc = main(["rollup", "--config", str(cfg), "--path", str(out), "--until", until.isoformat(), "--no-ready",
               "--format", "json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["rows"] == preds.height, summary
    assert summary["rows_set_aside"] == {"invalid JSON": 1, f"CSV row has 3 fields, expected {preds.width}": 1}, \
        summary

    from console import store_rollups as ro

    hand = (preds.with_columns(pl.col("ts").dt.truncate("1h").alias("hour"),
                               pl.col("status").is_in(["timeout", "500"]).alias("err"))
            .group_by("model", "hour").agg(pl.len().cast(pl.Int64).alias("rows"),
                                           pl.col("err").sum().cast(pl.Int64).alias("errors")))
    for model in ("fraud", "eta"):
        table = pl.from_arrow(ro.read_table(out, model, START, START + timedelta(hours=HOURS),
                                            columns=["segment", "rows", "errors"]))
        built = (table.filter(pl.col("segment").is_null()).group_by("hour")
                 .agg(pl.col("rows").sum(), pl.col("errors").sum()).sort("hour"))
        assert built.to_dicts() == hand.filter(pl.col("model") == model).drop("model").sort("hour").to_dicts()
