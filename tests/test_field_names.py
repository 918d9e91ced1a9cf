"""A log whose fields have names of its own (`[logs.fields]`): `timestamp`, `model_name`, `latency`, a label file's
`id` and `truth`. Before, every such row was set aside ("missing ts") and a team had to rewrite its logs. Now the
store's ingest and the rollup (both engines, local files and S3 objects) rename a parsed piece before anything
reads it: the counts, errors, labels and set-aside rows equal a hand count of the log as written."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from console import __version__
from console.config import Config, ConfigError, LogSource, S3Storage, parse, parse_file
from console.service import Service
from console.sources.field_names import rename
from console.store.place import store_path
from console.warehouse import Warehouse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rollup_fleet import START, fleet  # noqa: E402
from s3_server import s3_server  # noqa: E402,F401  (session fixture)
from test_operator_pass2 import _cli  # noqa: E402

OWN = {"ts": "timestamp", "model": "model_name", "version": "model_version", "request_id": "id",
       "latency_ms": "latency", "status": "http_status"}
LABELS = {"request_id": "id", "label": "truth", "ts": "labelled_at"}
FIELDS = tuple(sorted(OWN.items()))


def _as_written(preds: pl.DataFrame) -> pl.DataFrame:
    """The fleet's rows as a team's own service logs them: its names, ISO text times, and a `ts` column of its
    own (the ingest time, as text) that is not the contract's ts; `_write` adds a `model` object (its owner)."""
    out = preds.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    out = out.rename(OWN)
    return out.with_columns(pl.lit("ingested later").alias("ts"))


def _write(tmp: Path, hours: int = 4) -> tuple[pl.DataFrame, pl.DataFrame, Path]:
    """JSONL predictions and CSV labels under their own names, one prediction with no model name (set aside)."""
    preds, labels = fleet(hours=hours, per_hour=150, seed=3)
    text = _as_written(preds)
    # the log's own `model` is an object (who owns it): a name only under `model_name`, so it is not refused
    lines = [json.dumps({**r, "model": {"team": "risk"}}) for r in text.to_dicts()]
    bad = dict(text.row(5, named=True))
    bad.pop("model_name")
    bad["id"] = "no-model"
    lines.insert(10, json.dumps(bad))
    (tmp / "preds.jsonl").write_text("\n".join(lines) + "\n")
    (labels.select(pl.col("request_id").alias("id"), pl.col("label").cast(pl.Utf8).alias("truth"),
                   pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("labelled_at"))
     .write_csv(tmp / "labels.csv"))
    return preds, labels, tmp / "preds.jsonl"


def _toml(fields: dict[str, str]) -> str:
    return "".join(f'{k} = "{v}"\n' for k, v in fields.items())


def test_rename_puts_contract_names_and_drops_a_column_the_mapping_overrides():
    t = pa.table({"timestamp": ["2026-07-01T00:00:00Z"], "ts": ["junk"], "model_name": ["a"], "x": [1.5],
                  "source": ["f"], "loc": [1]})
    out = rename(t, (("model", "model_name"), ("ts", "timestamp")))
    assert out.column_names == ["ts", "model", "x", "source", "loc"]
    assert out.column("ts").to_pylist() == ["2026-07-01T00:00:00Z"] and out.column("model").to_pylist() == ["a"]
    assert rename(t, ()) is t


@pytest.mark.parametrize(("entry", "key", "says"), [
    ('format = "jsonl"\n[logs.fields]\ntimestmp = "t"\n', "logs[0].fields.timestmp", "not a field of predictions"),
    ('format = "jsonl"\n[logs.fields]\nts = "loc"\n', "logs[0].fields.ts", "other than source and loc"),
    ('format = "jsonl"\n[logs.fields]\nts = "t"\nmodel = "t"\n', "logs[0].fields", "'t' is named for more than one"),
    ('format = "otlp"\n[logs.fields]\nts = "t"\n', "logs[0].fields", "format 'otlp' is read by its own reader"),
    ('[logs.fields]\nts = "t"\n', "logs[0].fields", 'set `format = "jsonl"`'),
])
def test_a_mapping_the_store_cannot_apply_is_refused_naming_its_key(tmp_path, entry, key, says):
    import tomllib

    text = f'[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n{entry}'
    with pytest.raises(ConfigError) as err:
        parse(tomllib.loads(text), tmp_path)
    assert err.value.key == key and says in err.value.message, str(err.value)


def test_the_cli_says_which_key_is_wrong(tmp_path):
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "labels"\npath = "l.csv"\nformat = "csv"\n[logs.fields]\nscore = "s"\n')
    res = _cli(cfg, "snapshot", "--format", "json")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "logs[0].fields.score: not a field of labels" in res.stderr and "Traceback" not in res.stderr


def test_store_cli_and_rollup_count_a_log_written_under_its_own_names(tmp_path):
    preds, labels, _ = _write(tmp_path)
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text('[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\nformat = "jsonl"\n[logs.fields]\n'
                   + _toml(OWN) + '[[logs]]\nkind = "labels"\npath = "labels.csv"\nformat = "csv"\n[logs.fields]\n'
                   + _toml(LABELS) + '[store]\npath = "store"\n[audit]\npath = "a.jsonl"\n'
                   '[rollups]\npath = "rollups"\nmin_rows = 100\n')
    at = (START + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    res = _cli(cfg, "snapshot", "--at", at, "--format", "json")
    assert res.returncode == 0, res.stderr
    snap = json.loads(res.stdout)
    assert snap["counts"]["predictions"] == preds.height and snap["counts"]["labels"] == labels.height
    assert [(m["reason"], m["n"], m["first_location"]) for m in snap["malformed_by"]] == [
        ("missing model (`model_name` in this log)", 1, "11")]
    errors = preds.group_by("model").agg(pl.col("status").is_in(["timeout", "500"]).sum().alias("e"), pl.len())
    for model, e, n in errors.iter_rows():
        out = _cli(cfg, "health", model, "--at", at, "--window", "4h", "--format", "json")
        assert out.returncode == 0, out.stderr
        table = json.loads(out.stdout)["table"]
        assert (sum(r["requests"] for r in table), sum(r["errors"] for r in table)) == (n, e)
    # each stored time is its row's `timestamp`, not the log's own `ts`
    wh = Warehouse(parse_file(cfg))
    try:
        with wh.cursor() as cur:
            stored = dict(cur.execute("SELECT request_id, ts FROM predictions").fetchall())
    finally:
        wh.close()
    assert stored == dict(zip(preds["request_id"], preds["ts"]))
    built = _cli(cfg, "rollup", "--no-ready", "--format", "json")
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["rows"] == preds.height


def _rows_by_model(tables) -> dict[str, int]:
    return {m: int(pl.from_arrow(t).filter(pl.col("segment").is_null())["rows"].sum()) for m, t in tables.items()}


def test_both_rollup_engines_read_the_log_under_its_own_names(tmp_path):
    """Spark's tasks scan through the same `rollup_sources` datasets: both engines build every good row."""
    from console import rollup_engine, rollup_text
    from console import store_rollups as ro
    from console.rollup_sources import Source

    preds, _, path = _write(tmp_path, hours=3)
    source = Source(str(path), "jsonl", fields=FIELDS)
    specs = {m: ro.ModelSpec() for m in ("fraud", "eta")}
    hand = {m: n for m, n in preds.group_by("model").len().iter_rows()}
    end = START + timedelta(hours=3)
    rollup_text.forget()
    local = rollup_engine.local_builder([source], None, specs)(START, end)
    assert _rows_by_model(local) == hand
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from console.spark import rollup_job

    spark = rollup_job.builder([source], None, specs, master="local[1]")(START, end)
    assert _rows_by_model(spark) == hand


def test_jsonl_objects_in_s3_under_their_own_names(s3_server, tmp_path):  # noqa: F811
    preds, _, path = _write(tmp_path, hours=2)
    client = s3_server.client()
    client.create_bucket(Bucket="own-names")
    client.put_object(Bucket="own-names", Key="logs/2026/07/01/part-0.jsonl", Body=path.read_bytes())
    storage = S3Storage(endpoint_url=s3_server.endpoint, region="us-east-1", access_key_id=s3_server.access_key_id,
                        secret_access_key=s3_server.secret_access_key)
    cfg = Config(source=None, root=tmp_path, s3=storage,
                 logs=(LogSource("predictions", "s3://own-names/logs/**/*.jsonl", "jsonl", fields=FIELDS),))
    svc = Service(cfg, clock=lambda: START + timedelta(hours=2))
    try:
        got = svc.refresh()
    finally:
        svc.close()
    assert got.rows == {"predictions": preds.height} and got.malformed == 1


def test_a_changed_mapping_reads_the_log_again_and_a_config_without_one_keeps_its_store(tmp_path):
    from console.store.place import _sources_fingerprint

    rows = [{"timestamp": f"2026-07-01T00:{i:02d}:00Z", "model": "a", "version": "1", "request_id": f"r{i}",
             "latency": 10.0 + i, "latency_p50": 5.0 + i} for i in range(30)]
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "mlops-console.toml"
    plain = '[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\nformat = "jsonl"\n[store]\npath = "store"\n'
    cfg.write_text(plain)
    spec = [("predictions", str(tmp_path / "preds.jsonl"), "jsonl")]
    assert _sources_fingerprint(parse_file(cfg)) == hashlib.sha1(json.dumps([spec, __version__]).encode()).hexdigest()[:16]
    for column in ("latency", "latency_p50"):
        cfg.write_text(plain.replace("[store]", f'[logs.fields]\nts = "timestamp"\nlatency_ms = "{column}"\n[store]'))
        wh = Warehouse(parse_file(cfg))
        try:
            stats = wh.refresh()
            with wh.cursor() as cur:
                got = dict(cur.execute("SELECT request_id, latency_ms FROM predictions").fetchall())
        finally:
            wh.close()
        assert got == {r["request_id"]: r[column] for r in rows}  # every row once, with the newly named column
        assert (column == "latency_p50") == any("sources changed" in n for n in stats.notes), stats.notes


def test_the_stores_own_rollups_follow_a_changed_mapping(tmp_path):
    """Hours built from the rows read under the old names are dropped with them: as many rows an hour, so counting
    them again would have kept the old latencies in every closed hour of a long window."""
    rows = [{"timestamp": f"2026-07-01T{i // 30:02d}:{i % 30 * 2:02d}:00Z", "model": "a", "version": "1",
             "request_id": f"r{i}", "latency": 10.0 + i % 7, "latency_p50": 500.0 + i % 11} for i in range(240)]
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "mlops-console.toml"

    def health(column: str, store: str) -> tuple[str, list]:
        cfg.write_text(f'[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\nformat = "jsonl"\n[logs.fields]\n'
                       f'ts = "timestamp"\nlatency_ms = "{column}"\n[store]\npath = "{store}"\n[rollups]\nmin_rows = 10\n')
        res = _cli(cfg, "health", "a", "--at", "2026-07-01T08:00:00Z", "--window", "7d", "--format", "json")
        assert res.returncode == 0, res.stderr
        out = json.loads(res.stdout)
        return out["note"], [(r["requests"], r["p50_ms"], r["p95_ms"]) for r in out["table"]]

    note, before = health("latency", "store")
    assert "rollups" in note and (tmp_path / "store" / "rollups").is_dir()
    _, after = health("latency_p50", "store")
    _, fresh = health("latency_p50", "fresh-store")
    assert after == fresh and after != before and after[0][0] == 240


def test_the_rollup_command_rebuilds_a_folder_after_the_mapping_changed(tmp_path):
    rows = [{"timestamp": f"2026-07-01T{i // 30:02d}:{i % 30 * 2:02d}:00Z", "model": "a", "version": "1",
             "request_id": f"r{i}", "latency": 10.0 + i % 7, "latency_p50": 500.0 + i % 11} for i in range(240)]
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "mlops-console.toml"
    got = {}
    for column, rollups in (("latency", "shared"), ("latency_p50", "shared"), ("latency_p50", "fresh")):
        cfg.write_text(f'[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\nformat = "jsonl"\n[logs.fields]\n'
                       f'ts = "timestamp"\nlatency_ms = "{column}"\n[store]\npath = "store-{rollups}"\n'
                       f'[rollups]\npath = "{rollups}"\nmin_rows = 10\n')
        built = _cli(cfg, "rollup", "--no-ready", "--format", "json")
        assert built.returncode == 0, built.stderr
        res = _cli(cfg, "health", "a", "--at", "2026-07-01T08:00:00Z", "--window", "7d", "--format", "json")
        out = json.loads(res.stdout)
        assert "rollups" in out["note"]
        got[(column, rollups)] = ([(r["requests"], r["p50_ms"], r["p95_ms"]) for r in out["table"]],
                                  json.loads(built.stdout)["source_hours_rebuilt"])
    assert got[("latency_p50", "shared")][0] == got[("latency_p50", "fresh")][0] != got[("latency", "shared")][0]
    assert got[("latency_p50", "shared")][1] == 8  # every hour built under the old names


def _nested(i: int) -> dict:
    return {"timestamp": f"2026-07-01T{i // 60:02d}:{i % 60:02d}:00Z", "model": {"name": "fraud", "version": "3"},
            "request": {"id": f"r{i}", "inputs": {"amount": 10.0 + i, "country": "ab"[i % 2]}},
            "response": {"latency_ms": 5.0 + i % 13, "status": 503 if i % 17 == 0 else 200}}


def stored_nested(wh: Warehouse) -> tuple[list[tuple], int]:
    """The stored values of a `_nested` log's fields and features, and how many rows were set aside."""
    with wh.cursor() as cur:
        got = cur.execute("SELECT request_id, model, version, latency_ms, is_error, amount, country "
                          "FROM predictions ORDER BY ts").fetchall()
        return got, cur.execute("SELECT count(*) FROM malformed").fetchone()[0]


def nested_rows(n: int) -> list[tuple]:
    """What `stored_nested` gives for the first `n` rows of `_nested`."""
    return [(f"r{i}", "fraud", "3", 5.0 + i % 13, i % 17 == 0, 10.0 + i, "ab"[i % 2]) for i in range(n)]


NESTED = '''[logs.fields]
ts = "timestamp"
model = "model.name"
version = "model.version"
request_id = "request.id"
features = "request.inputs"
latency_ms = "response.latency_ms"
status = "response.status"
'''


@pytest.mark.parametrize("first", [400, 3])  # a piece read natively, and one of a few lines (read line by line)
def test_dotted_names_reach_into_nested_objects(tmp_path, first):
    """A service that nests its log (`model.name`, `request.inputs`, `response.latency_ms`): each field is read
    from where the mapping points, the features object is one column per feature, and a few appended lines
    (parsed one by one) read as a large piece does."""
    log = tmp_path / "preds.jsonl"
    log.write_text("".join(json.dumps(_nested(i)) + "\n" for i in range(first)))
    cfg = tmp_path / "mlops-console.toml"
    cfg.write_text(f'[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\nformat = "jsonl"\n{NESTED}'
                   '[models.fraud]\nfeatures = ["amount", "country"]\n[store]\npath = "store"\n')
    wh = Warehouse(parse_file(cfg))
    try:
        wh.refresh()
        with log.open("a") as f:
            f.write("".join(json.dumps(_nested(i)) + "\n" for i in range(first, first + 4)))
        wh.refresh()
        got = stored_nested(wh)
    finally:
        wh.close()
    assert got == (nested_rows(first + 4), 0)


def test_a_mapped_text_field_keeps_its_decimal_comma_in_a_semicolon_csv(tmp_path):
    """A semicolon CSV's decimal commas are read as numbers, but not in a contract text field under the log's own
    name (a version `2,1` stays that version)."""
    lines = [f"2026-07-01T{i // 60:02d}:{i % 60:02d}:00Z;m;2,{i % 2};r{i};{i},5" for i in range(80)]
    (tmp_path / "p.csv").write_text("when;model;ver;request_id;lat\n" + "\n".join(lines) + "\n")
    (tmp_path / "mlops-console.toml").write_text('[[logs]]\nkind = "predictions"\npath = "p.csv"\nformat = "csv"\n'
                                                 '[logs.fields]\nts = "when"\nversion = "ver"\nlatency_ms = "lat"\n')
    wh = Warehouse(parse_file(tmp_path / "mlops-console.toml"), tmp_path / "store")
    try:
        wh.refresh()
        with wh.cursor() as cur:
            got = cur.execute("SELECT version, latency_ms FROM predictions ORDER BY ts").fetchall()
    finally:
        wh.close()
    assert got == [(f"2,{i % 2}", i + 0.5) for i in range(80)]


def test_a_source_added_keeps_the_stores_own_rollups_and_a_mapping_changed_drops_them(tmp_path):
    """Only another reading of the same rows (`[logs.fields]` changed) drops the store's own rollups: a source added
    moves the counts of its hours, which are rebuilt, and the other hours are kept (a rebuild of a big store's
    every hour would cost minutes)."""
    rows = [{"timestamp": f"2026-07-01T{i // 30:02d}:{i % 30 * 2:02d}:00Z", "model": "a", "version": "1",
             "request_id": f"r{i}", "latency": 10.0 + i % 7, "latency_p50": 500.0 + i % 11} for i in range(240)]
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    more = [{**r, "request_id": f"b{i}"} for i, r in enumerate(rows[:60])]
    (tmp_path / "more.jsonl").write_text("".join(json.dumps(r) + "\n" for r in more))
    cfg = tmp_path / "mlops-console.toml"
    entry = '[[logs]]\nkind = "predictions"\npath = "{}"\nformat = "jsonl"\n[logs.fields]\nts = "timestamp"\n' \
            'latency_ms = "{}"\n'

    def health(*logs: tuple[str, str], store: str = "store") -> list:
        cfg.write_text("".join(entry.format(*log) for log in logs) + f'[store]\npath = "{store}"\n'
                       '[rollups]\nmin_rows = 10\n')
        res = _cli(cfg, "health", "a", "--at", "2026-07-01T08:00:00Z", "--window", "7d", "--format", "json")
        assert res.returncode == 0, res.stderr
        out = json.loads(res.stdout)
        assert "rollups" in out["note"]
        return [(r["requests"], r["p50_ms"], r["p95_ms"]) for r in out["table"]]

    health(("preds.jsonl", "latency"))
    sentinel = tmp_path / "store" / "rollups" / "kept-by-this-test"
    sentinel.write_text("")
    both = health(("preds.jsonl", "latency"), ("more.jsonl", "latency"))
    assert both == health(("preds.jsonl", "latency"), ("more.jsonl", "latency"), store="fresh")
    assert both[0][0] == 300 and sentinel.exists()
    health(("preds.jsonl", "latency_p50"), ("more.jsonl", "latency"))
    assert not sentinel.exists()
